//! JWT verification shared by the `kubernetes` and `jwt` auth methods: parsing a compact
//! JWS (bounded size, no `alg: none`, no HMAC), public keys from PEM (SPKI, PKCS#1 or an
//! X.509 certificate) and from JWKS entries, signature checks with `ring::signature`
//! (RS256/384/512, ES256/384), the time claims with leeways, and `*` globs for bindings.
//!
//! Why not `jsonwebtoken`: its 10.x releases offer only aws-lc-rs or RustCrypto backends
//! (we keep ring as the one crypto provider), and 9.x pulls `simple_asn1`, `num-bigint`,
//! `time` and `pem` for what is here a few hundred lines over ring, which we already link.
//! It would not fetch JWKS for us either.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde_json::{Map, Value};

/// Tokens longer than this are refused before any parsing.
pub const MAX_JWT_BYTES: usize = 16 * 1024;

/// Why a token or key was refused. Messages never contain the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("the JWT is larger than {MAX_JWT_BYTES} bytes")]
    TooLarge,
    #[error("malformed JWT: {0}")]
    Malformed(&'static str),
    #[error("unsigned JWTs (alg \"none\") are not accepted")]
    Unsigned,
    #[error("JWTs signed with {0} (a shared secret) are not accepted: sign with RS256 or ES256")]
    SharedSecret(String),
    #[error("unsupported JWT signing algorithm {0:?}: use RS256, RS384, RS512, ES256 or ES384")]
    Algorithm(String),
    #[error("no key with the token's key ID {0:?}")]
    UnknownKey(String),
    #[error("failed to verify the JWT signature")]
    Signature,
    #[error("the JWT has expired (exp claim)")]
    Expired,
    #[error("the JWT has no exp claim")]
    MissingExpiry,
    #[error("the JWT is not valid yet (nbf claim)")]
    NotYetValid,
    #[error("the JWT was issued in the future (iat claim)")]
    IssuedInFuture,
    #[error("invalid {0} claim")]
    BadClaim(&'static str),
    #[error("invalid public key: {0}")]
    Key(String),
}

/// A signing algorithm we verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Rs256,
    Rs384,
    Rs512,
    Es256,
    Es384,
}

impl Algorithm {
    /// The JOSE name (`RS256`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Rs384 => "RS384",
            Self::Rs512 => "RS512",
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
        }
    }

    fn parse(name: &str) -> Result<Self, JwtError> {
        match name {
            "RS256" => Ok(Self::Rs256),
            "RS384" => Ok(Self::Rs384),
            "RS512" => Ok(Self::Rs512),
            "ES256" => Ok(Self::Es256),
            "ES384" => Ok(Self::Es384),
            "none" | "None" | "NONE" | "" => Err(JwtError::Unsigned),
            hmac if hmac.starts_with("HS") => Err(JwtError::SharedSecret(hmac.to_string())),
            other => Err(JwtError::Algorithm(other.to_string())),
        }
    }
}

/// A parsed, not yet verified, compact JWS.
#[derive(Debug, Clone)]
pub struct Jwt {
    pub algorithm: Algorithm,
    pub key_id: Option<String>,
    pub claims: Map<String, Value>,
    signing_input: String,
    signature: Vec<u8>,
}

impl Jwt {
    /// Splits and decodes `text`; the signature is checked later by [`Jwt::verify`].
    pub fn parse(text: &str) -> Result<Self, JwtError> {
        if text.len() > MAX_JWT_BYTES {
            return Err(JwtError::TooLarge);
        }
        let text = text.trim();
        let mut parts = text.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwtError::Malformed("expected three dot-separated parts"));
        };
        let header: Map<String, Value> = decode_json(header, "the header")?;
        let claims: Map<String, Value> = decode_json(payload, "the claims")?;
        let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
        let algorithm = Algorithm::parse(alg)?;
        let signature = b64url(signature).ok_or(JwtError::Malformed("the signature"))?;
        let key_id = header
            .get("kid")
            .and_then(Value::as_str)
            .map(str::to_string);
        let signing_input = text[..header_len(text)].to_string();
        Ok(Self {
            algorithm,
            key_id,
            claims,
            signing_input,
            signature,
        })
    }

    /// Checks the signature with a key of `keys`: those with the token's key ID when it
    /// names one (else [`JwtError::UnknownKey`]), every key otherwise.
    pub fn verify(&self, keys: &[PublicKey]) -> Result<(), JwtError> {
        let candidates: Vec<&PublicKey> = match &self.key_id {
            Some(kid) if keys.iter().any(|k| k.key_id.is_some()) => {
                let named: Vec<&PublicKey> = keys
                    .iter()
                    .filter(|k| k.key_id.as_deref() == Some(kid.as_str()))
                    .collect();
                if named.is_empty() {
                    return Err(JwtError::UnknownKey(kid.clone()));
                }
                named
            }
            _ => keys.iter().collect(),
        };
        let message = self.signing_input.as_bytes();
        if candidates
            .iter()
            .any(|key| key.verifies(self.algorithm, message, &self.signature))
        {
            Ok(())
        } else {
            Err(JwtError::Signature)
        }
    }

    /// A string claim.
    pub fn str_claim(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// The `aud` claim as a list (a single string counts as one).
    pub fn audiences(&self) -> Vec<String> {
        match self.claims.get("aud") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Checks `exp`, `nbf` and `iat` against `now` (Unix seconds) with `leeway`.
    pub fn check_times(&self, now: i64, leeway: &Leeway) -> Result<(), JwtError> {
        let time = |name: &'static str| -> Result<Option<i64>, JwtError> {
            match self.claims.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(n)) => n
                    .as_i64()
                    .or_else(|| n.as_f64().map(|f| f as i64))
                    .map(Some)
                    .ok_or(JwtError::BadClaim(name)),
                Some(_) => Err(JwtError::BadClaim(name)),
            }
        };
        match time("exp")? {
            Some(exp) if now > exp.saturating_add(leeway.expiry + leeway.clock_skew) => {
                return Err(JwtError::Expired)
            }
            None if leeway.require_expiry => return Err(JwtError::MissingExpiry),
            _ => {}
        }
        if let Some(nbf) = time("nbf")? {
            if now.saturating_add(leeway.not_before + leeway.clock_skew) < nbf {
                return Err(JwtError::NotYetValid);
            }
        }
        if let Some(iat) = time("iat")? {
            if iat > now.saturating_add(leeway.clock_skew) {
                return Err(JwtError::IssuedInFuture);
            }
        }
        Ok(())
    }
}

/// Seconds of tolerance for the time claims.
#[derive(Debug, Clone, Default)]
pub struct Leeway {
    pub clock_skew: i64,
    pub expiry: i64,
    pub not_before: i64,
    pub require_expiry: bool,
}

/// The byte length of `header.payload` in a token already known to have three parts.
fn header_len(text: &str) -> usize {
    text.rfind('.').unwrap_or(text.len())
}

fn b64url(part: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()
}

fn decode_json(part: &str, what: &'static str) -> Result<Map<String, Value>, JwtError> {
    let bytes = b64url(part).ok_or(JwtError::Malformed(what))?;
    serde_json::from_slice(&bytes).map_err(|_| JwtError::Malformed(what))
}

/// The current Unix time in seconds.
pub fn now() -> i64 {
    i64::try_from(crate::core::now_unix()).unwrap_or(i64::MAX)
}

/// A verification key, with the key ID a JWKS gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub key_id: Option<String>,
    material: KeyMaterial,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum KeyMaterial {
    /// Big-endian modulus and exponent, without leading zeros.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// An uncompressed point (0x04 ‖ x ‖ y) on P-256 or P-384.
    Ec { p384: bool, point: Vec<u8> },
}

impl PublicKey {
    fn verifies(&self, algorithm: Algorithm, message: &[u8], sig: &[u8]) -> bool {
        use Algorithm::*;
        match (&self.material, algorithm) {
            (KeyMaterial::Rsa { n, e }, Rs256 | Rs384 | Rs512) => {
                let params = match algorithm {
                    Rs256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                    Rs384 => &signature::RSA_PKCS1_2048_8192_SHA384,
                    _ => &signature::RSA_PKCS1_2048_8192_SHA512,
                };
                RsaPublicKeyComponents { n, e }
                    .verify(params, message, sig)
                    .is_ok()
            }
            (KeyMaterial::Ec { p384: false, point }, Es256) => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(message, sig)
                    .is_ok()
            }
            (KeyMaterial::Ec { p384: true, point }, Es384) => {
                UnparsedPublicKey::new(&signature::ECDSA_P384_SHA384_FIXED, point)
                    .verify(message, sig)
                    .is_ok()
            }
            _ => false,
        }
    }

    /// Every key in a PEM text: `PUBLIC KEY`, `RSA PUBLIC KEY` or `CERTIFICATE` blocks.
    pub fn from_pem(text: &str) -> Result<Vec<Self>, JwtError> {
        let blocks = pem_blocks(text)?;
        if blocks.is_empty() {
            return Err(JwtError::Key("no PEM block found".into()));
        }
        blocks
            .iter()
            .map(|(label, der)| {
                let material = match label.as_str() {
                    "PUBLIC KEY" => spki(der),
                    "RSA PUBLIC KEY" => pkcs1(der),
                    "CERTIFICATE" => certificate_spki(der).and_then(spki),
                    other => Err(JwtError::Key(format!("unsupported PEM block {other:?}"))),
                }?;
                Ok(Self {
                    key_id: None,
                    material,
                })
            })
            .collect()
    }

    /// The signing keys of a JWKS document (`{"keys": [...]}`); entries of other types or
    /// uses are skipped.
    pub fn from_jwks(jwks: &Value) -> Result<Vec<Self>, JwtError> {
        let keys = jwks
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| JwtError::Key("the JWKS has no \"keys\" list".into()))?;
        Ok(keys.iter().filter_map(Self::from_jwk).collect())
    }

    fn from_jwk(jwk: &Value) -> Option<Self> {
        let field = |name: &str| jwk.get(name).and_then(Value::as_str);
        if field("use").is_some_and(|u| u != "sig") {
            return None;
        }
        let bytes = |name: &str| field(name).and_then(b64url);
        let material = match (field("kty")?, field("crv")) {
            ("RSA", _) => KeyMaterial::Rsa {
                n: strip_zeros(bytes("n")?),
                e: strip_zeros(bytes("e")?),
            },
            ("EC", Some(curve @ ("P-256" | "P-384"))) => {
                let mut point = vec![0x04];
                point.extend(bytes("x")?);
                point.extend(bytes("y")?);
                KeyMaterial::Ec {
                    p384: curve == "P-384",
                    point,
                }
            }
            _ => return None,
        };
        Some(Self {
            key_id: field("kid").map(str::to_string),
            material,
        })
    }
}

/// `(label, DER)` for each PEM block of `text`.
fn pem_blocks(text: &str) -> Result<Vec<(String, Vec<u8>)>, JwtError> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + 11..];
        let label_end = after
            .find("-----")
            .ok_or_else(|| JwtError::Key("unterminated PEM header".into()))?;
        let label = &after[..label_end];
        let body = &after[label_end + 5..];
        let end_marker = format!("-----END {label}-----");
        let end = body
            .find(&end_marker)
            .ok_or_else(|| JwtError::Key(format!("missing {end_marker:?}")))?;
        let b64: String = body[..end].chars().filter(|c| !c.is_whitespace()).collect();
        let der = STANDARD
            .decode(b64)
            .map_err(|_| JwtError::Key(format!("bad base64 in the {label} block")))?;
        blocks.push((label.to_string(), der));
        rest = &body[end + end_marker.len()..];
    }
    Ok(blocks)
}

/// One DER element: (tag, content, rest).
fn der(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let len = rest[..count]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[count..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

fn bad_der(what: &str) -> JwtError {
    JwtError::Key(format!("malformed {what}"))
}

const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];

/// SubjectPublicKeyInfo → key material (RSA or EC P-256/P-384).
fn spki(input: &[u8]) -> Result<KeyMaterial, JwtError> {
    let bad = || bad_der("SubjectPublicKeyInfo");
    let (0x30, body, _) = der(input).ok_or_else(bad)? else {
        return Err(bad());
    };
    let (0x30, algorithm, rest) = der(body).ok_or_else(bad)? else {
        return Err(bad());
    };
    let (0x03, bits, _) = der(rest).ok_or_else(bad)? else {
        return Err(bad());
    };
    let key = bits.strip_prefix(&[0]).ok_or_else(bad)?;
    let (0x06, oid, params) = der(algorithm).ok_or_else(bad)? else {
        return Err(bad());
    };
    match oid {
        OID_RSA => pkcs1(key),
        OID_EC => match der(params) {
            Some((0x06, OID_P256, _)) => Ok(KeyMaterial::Ec {
                p384: false,
                point: key.to_vec(),
            }),
            Some((0x06, OID_P384, _)) => Ok(KeyMaterial::Ec {
                p384: true,
                point: key.to_vec(),
            }),
            _ => Err(JwtError::Key(
                "unsupported elliptic curve: use P-256 or P-384".into(),
            )),
        },
        _ => Err(JwtError::Key(
            "unsupported key type: use RSA or ECDSA".into(),
        )),
    }
}

/// PKCS#1 RSAPublicKey → modulus and exponent.
fn pkcs1(input: &[u8]) -> Result<KeyMaterial, JwtError> {
    let bad = || bad_der("RSA public key");
    let (0x30, body, _) = der(input).ok_or_else(bad)? else {
        return Err(bad());
    };
    let (0x02, n, rest) = der(body).ok_or_else(bad)? else {
        return Err(bad());
    };
    let (0x02, e, _) = der(rest).ok_or_else(bad)? else {
        return Err(bad());
    };
    Ok(KeyMaterial::Rsa {
        n: strip_zeros(n.to_vec()),
        e: strip_zeros(e.to_vec()),
    })
}

/// The SubjectPublicKeyInfo element (with its header) inside an X.509 certificate.
fn certificate_spki(input: &[u8]) -> Result<&[u8], JwtError> {
    let bad = || bad_der("certificate");
    let (0x30, cert, _) = der(input).ok_or_else(bad)? else {
        return Err(bad());
    };
    let (0x30, mut tbs, _) = der(cert).ok_or_else(bad)? else {
        return Err(bad());
    };
    if tbs.first() == Some(&0xa0) {
        tbs = der(tbs).ok_or_else(bad)?.2;
    }
    // serial, signature algorithm, issuer, validity, subject
    for _ in 0..5 {
        tbs = der(tbs).ok_or_else(bad)?.2;
    }
    let (_, content, rest) = der(tbs).ok_or_else(bad)?;
    let header = tbs.len() - rest.len() - content.len();
    Ok(&tbs[..header + content.len()])
}

fn strip_zeros(mut bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    bytes.drain(..zeros);
    bytes
}

/// Whether `value` matches `pattern`, where each `*` matches any run of characters.
pub fn glob_match(pattern: &str, value: &str) -> bool {
    let Some((first, rest)) = pattern.split_once('*') else {
        return pattern == value;
    };
    let Some(mut remaining) = value.strip_prefix(first) else {
        return false;
    };
    let mut pieces: Vec<&str> = rest.split('*').collect();
    let last = pieces.pop().unwrap_or("");
    for piece in pieces {
        match remaining.find(piece) {
            Some(at) => remaining = &remaining[at + piece.len()..],
            None => return false,
        }
    }
    remaining.len() >= last.len() && remaining.ends_with(last)
}

/// Whether any pattern of `patterns` matches `value`.
pub fn any_glob_matches(patterns: &[String], value: &str) -> bool {
    patterns.iter().any(|p| glob_match(p, value))
}

#[cfg(test)]
pub(crate) mod testkeys;

#[cfg(test)]
mod tests;
