//! Unit tests of JWT parsing and verification: RS256 and ES256 signatures with PEM and
//! JWKS keys, key IDs, refused algorithms and shapes, time claims with leeways, globs.

use serde_json::{json, Value};

use super::testkeys::{hs256, unsigned, TestSigner};
use super::*;

fn claims() -> Value {
    json!({"sub": "me", "iss": "issuer", "aud": ["a", "b"], "exp": now() + 60, "iat": now()})
}

#[test]
fn rs256_and_es256_verify_with_pem_and_jwks_keys() {
    for signer in [TestSigner::rsa(), TestSigner::ec()] {
        let token = signer.sign(Some("k1"), &claims());
        let jwt = Jwt::parse(&token).expect("parses");
        assert_eq!(jwt.key_id.as_deref(), Some("k1"));
        assert_eq!(jwt.audiences(), vec!["a".to_string(), "b".to_string()]);
        let pem = PublicKey::from_pem(&signer.public_pem()).expect("PEM key");
        assert_eq!(jwt.verify(&pem), Ok(()));
        let jwks = PublicKey::from_jwks(&json!({"keys": [signer.jwk("k1")]})).expect("JWKS");
        assert_eq!(jwt.verify(&jwks), Ok(()));
        let other = PublicKey::from_jwks(&json!({"keys": [signer.jwk("k2")]})).expect("JWKS");
        assert_eq!(jwt.verify(&other), Err(JwtError::UnknownKey("k1".into())));
        let stranger = PublicKey::from_pem(&TestSigner::ec().public_pem()).expect("PEM");
        assert_eq!(jwt.verify(&stranger), Err(JwtError::Signature));
    }
}

#[test]
fn a_tampered_payload_fails_the_signature() {
    let signer = TestSigner::ec();
    let token = signer.sign(None, &claims());
    let forged_claims = URL_SAFE_NO_PAD.encode(json!({"sub": "admin"}).to_string());
    let parts: Vec<&str> = token.split('.').collect();
    let forged = format!("{}.{forged_claims}.{}", parts[0], parts[2]);
    let keys = PublicKey::from_pem(&signer.public_pem()).expect("PEM");
    let jwt = Jwt::parse(&forged).expect("parses");
    assert_eq!(jwt.verify(&keys), Err(JwtError::Signature));
}

#[test]
fn refused_shapes_and_algorithms() {
    let signer = TestSigner::rsa();
    let pem = signer.public_pem();
    assert_eq!(
        Jwt::parse(&unsigned(&claims())).err(),
        Some(JwtError::Unsigned)
    );
    let confused = hs256(pem.as_bytes(), &claims());
    assert!(matches!(
        Jwt::parse(&confused).err(),
        Some(JwtError::SharedSecret(alg)) if alg == "HS256"
    ));
    let rs256 = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256"}"#);
    let bad_signature = format!("{rs256}.e30.%%");
    for bad in ["", "abc", "a.b", "a.b.c.d", "!!.??.xx", &bad_signature] {
        assert!(
            matches!(Jwt::parse(bad), Err(JwtError::Malformed(_))),
            "{bad:?}"
        );
    }
    let huge = "a".repeat(MAX_JWT_BYTES + 1);
    assert_eq!(Jwt::parse(&huge).err(), Some(JwtError::TooLarge));
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"PS256"}"#);
    assert!(matches!(
        Jwt::parse(&format!("{header}.e30.AA")),
        Err(JwtError::Algorithm(_))
    ));
}

#[test]
fn time_claims_with_leeways() {
    let signer = TestSigner::ec();
    let at = |claims: Value| Jwt::parse(&signer.sign(None, &claims)).expect("parses");
    let strict = Leeway {
        require_expiry: true,
        ..Leeway::default()
    };
    let t = now();
    assert_eq!(
        at(json!({"exp": t - 10})).check_times(t, &strict),
        Err(JwtError::Expired)
    );
    let lenient = Leeway {
        expiry: 30,
        ..strict.clone()
    };
    assert_eq!(at(json!({"exp": t - 10})).check_times(t, &lenient), Ok(()));
    assert_eq!(
        at(json!({})).check_times(t, &strict),
        Err(JwtError::MissingExpiry)
    );
    assert_eq!(at(json!({})).check_times(t, &Leeway::default()), Ok(()));
    assert_eq!(
        at(json!({"exp": t + 60, "nbf": t + 30})).check_times(t, &strict),
        Err(JwtError::NotYetValid)
    );
    assert_eq!(
        at(json!({"exp": t + 60, "iat": t + 30})).check_times(t, &strict),
        Err(JwtError::IssuedInFuture)
    );
    let skew = Leeway {
        clock_skew: 60,
        ..strict
    };
    assert_eq!(
        at(json!({"exp": t + 60, "iat": t + 30})).check_times(t, &skew),
        Ok(())
    );
    assert_eq!(
        at(json!({"exp": "soon"})).check_times(t, &skew),
        Err(JwtError::BadClaim("exp"))
    );
}

#[test]
fn pem_parsing_refuses_garbage_and_accepts_certificates() {
    assert!(PublicKey::from_pem("nothing here").is_err());
    assert!(
        PublicKey::from_pem("-----BEGIN PUBLIC KEY-----\n!!\n-----END PUBLIC KEY-----").is_err()
    );
    assert!(
        PublicKey::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----").is_err()
    );
    let dir = std::env::temp_dir().join(format!("cofre-jwt-cert-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-subj", "/CN=sa-signer", "-days", "1"])
        .args(["-keyout", "key.pem", "-out", "cert.pem"])
        .current_dir(&dir)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(made, "openssl makes a certificate");
    let cert = std::fs::read_to_string(dir.join("cert.pem")).expect("cert");
    let keys = PublicKey::from_pem(&cert).expect("a certificate's key");
    assert!(matches!(
        keys[0].material,
        KeyMaterial::Ec { p384: false, .. }
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn globs() {
    for (pattern, value, expected) in [
        ("*", "anything", true),
        ("app-*", "app-web", true),
        ("app-*", "app-", true),
        ("app-*", "web-app", false),
        ("*-prod", "web-prod", true),
        ("a*b*c", "aXXbYYc", true),
        ("a*b*c", "aXXcYYb", false),
        ("ab*ba", "aba", false),
        ("exact", "exact", true),
        ("exact", "exactly", false),
        (
            "repo:org/*:ref:refs/heads/main",
            "repo:org/x:ref:refs/heads/main",
            true,
        ),
    ] {
        assert_eq!(glob_match(pattern, value), expected, "{pattern} vs {value}");
    }
}
