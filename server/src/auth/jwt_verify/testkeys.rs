//! Test-only JWT signers for the `kubernetes` and `jwt` auth methods' unit tests (and, via
//! `#[path]`, their end-to-end tests in `tests/jwt_support`): RS256
//! keys made with the `openssl` CLI (ring cannot generate RSA keys), ES256 keys made with
//! ring, their public keys as PEM and JWK, and deliberately bad tokens (`alg: none`, HS256).

use std::process::Command;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
use serde_json::{json, Value};

/// A key pair that signs test tokens.
pub(crate) enum TestSigner {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

impl TestSigner {
    /// A fresh 2048-bit RSA key (RS256).
    pub(crate) fn rsa() -> Self {
        let out = Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
            ])
            .output()
            .expect("the openssl CLI makes test RSA keys");
        let pem = String::from_utf8(out.stdout).expect("PEM is text");
        let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = STANDARD.decode(b64).expect("openssl writes valid base64");
        Self::Rsa(RsaKeyPair::from_pkcs8(&der).expect("openssl writes PKCS#8"))
    }

    /// A fresh P-256 key (ES256).
    pub(crate) fn ec() -> Self {
        let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).expect("ring makes P-256 keys");
        Self::Ec(EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).expect("valid PKCS#8"))
    }

    /// A token with these claims and, when given, this key ID.
    pub(crate) fn sign(&self, kid: Option<&str>, claims: &Value) -> String {
        let alg = match self {
            Self::Rsa(_) => "RS256",
            Self::Ec(_) => "ES256",
        };
        let mut header = json!({"alg": alg, "typ": "JWT"});
        if let Some(kid) = kid {
            header["kid"] = json!(kid);
        }
        let input = format!("{}.{}", encode(&header), encode(claims));
        let rng = SystemRandom::new();
        let sig = match self {
            Self::Rsa(key) => {
                let mut sig = vec![0; key.public().modulus_len()];
                key.sign(
                    &signature::RSA_PKCS1_SHA256,
                    &rng,
                    input.as_bytes(),
                    &mut sig,
                )
                .expect("RSA signing works");
                sig
            }
            Self::Ec(key) => key
                .sign(&rng, input.as_bytes())
                .expect("ECDSA signing works")
                .as_ref()
                .to_vec(),
        };
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    /// The public key as a `PUBLIC KEY` (SPKI) PEM block.
    pub(crate) fn public_pem(&self) -> String {
        let spki = match self {
            Self::Rsa(key) => spki(RSA_ALG, key.public().as_ref()),
            Self::Ec(key) => spki(EC_ALG, key.public_key().as_ref()),
        };
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            STANDARD.encode(spki)
        )
    }

    /// The public key as a JWKS entry.
    pub(crate) fn jwk(&self, kid: &str) -> Value {
        match self {
            Self::Rsa(key) => {
                let (n, e) = rsa_components(key.public().as_ref());
                json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
                       "n": URL_SAFE_NO_PAD.encode(n), "e": URL_SAFE_NO_PAD.encode(e)})
            }
            Self::Ec(key) => {
                let point = key.public_key().as_ref();
                json!({"kty": "EC", "kid": kid, "crv": "P-256",
                       "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                       "y": URL_SAFE_NO_PAD.encode(&point[33..])})
            }
        }
    }
}

/// `alg: none` with an empty signature.
pub(crate) fn unsigned(claims: &Value) -> String {
    format!("{}.{}.", encode(&json!({"alg": "none"})), encode(claims))
}

/// HS256 keyed with `secret` (e.g. the bytes of a public key, the classic confusion attack).
pub(crate) fn hs256(secret: &[u8], claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        encode(&json!({"alg": "HS256", "typ": "JWT"})),
        encode(claims)
    );
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    let tag = ring::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

fn encode(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

const RSA_ALG: &[u8] = &[
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
];
const EC_ALG: &[u8] = &[
    0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
    0xce, 0x3d, 0x03, 0x01, 0x07,
];

fn der_len(len: usize) -> Vec<u8> {
    match len {
        0..=0x7f => vec![len as u8],
        0x80..=0xff => vec![0x81, len as u8],
        _ => vec![0x82, (len >> 8) as u8, len as u8],
    }
}

fn spki(algorithm: &[u8], key: &[u8]) -> Vec<u8> {
    let mut bits = vec![0x03];
    bits.extend(der_len(key.len() + 1));
    bits.push(0);
    bits.extend(key);
    let mut out = vec![0x30];
    out.extend(der_len(algorithm.len() + bits.len()));
    out.extend(algorithm);
    out.extend(bits);
    out
}

/// Modulus and exponent from a PKCS#1 RSAPublicKey (two INTEGERs in a SEQUENCE).
fn rsa_components(der: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let read = |input: &[u8]| -> (Vec<u8>, usize) {
        let (len, header) = match input[1] {
            l if l < 0x80 => (usize::from(l), 2),
            0x81 => (usize::from(input[2]), 3),
            _ => ((usize::from(input[2]) << 8) | usize::from(input[3]), 4),
        };
        (input[header..header + len].to_vec(), header + len)
    };
    let (body, _) = read(der);
    let (n, used) = read(&body);
    let (e, _) = read(&body[used..]);
    let trim = |v: Vec<u8>| v.into_iter().skip_while(|b| *b == 0).collect();
    (trim(n), trim(e))
}
