//! Shared by the `kubernetes` and `jwt` end-to-end tests: JWT signers (RS256 keys made with
//! the `openssl` CLI, ES256 keys made with ring) with their public keys as PEM and JWK,
//! deliberately bad tokens (`alg: none`, HS256), TLS certificates made with openssl (as
//! `tests/tls.rs` does), and a small HTTP(S) server for the tests' fake peers.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

// The signers are the server's own unit-test signers, compiled here too.
#[path = "../../server/src/auth/jwt_verify/testkeys.rs"]
mod testkeys;
#[allow(unused_imports)] // each test binary uses part of it
pub(crate) use testkeys::{hs256, unsigned, TestSigner as Signer};

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

/// Makes `<name>-ca.pem` and a certificate for 127.0.0.1 signed by it (`<name>-cert.pem`,
/// `<name>-key.pem`) in `dir` with the openssl CLI.
pub fn make_certificate(dir: &Path, name: &str) {
    let run = |args: &[&str]| {
        let ok = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stderr(Stdio::null())
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok,
            "openssl {args:?} failed (the openssl CLI makes test certificates)"
        );
    };
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n",
    )
    .expect("write ext.cnf");
    let file = |suffix: &str| format!("{name}-{suffix}");
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        &format!("/CN={name}-ca"),
        "-keyout",
        &file("ca-key.pem"),
        "-out",
        &file("ca.pem"),
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        &file("key.pem"),
        "-out",
        &file("server.csr"),
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        &file("server.csr"),
        "-CA",
        &file("ca.pem"),
        "-CAkey",
        &file("ca-key.pem"),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
        "-out",
        &file("cert.pem"),
    ]);
}

/// Serves `app` on 127.0.0.1 (TLS with `<dir>/<name>-cert.pem` when `tls` names one) in a
/// background task; returns the base URL.
pub async fn serve(app: axum::Router, tls: Option<(&Path, &str)>) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr: SocketAddr = listener.local_addr().expect("address");
    match tls {
        None => {
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            tokio::spawn(async move { axum::serve(listener, app).await });
            format!("http://{addr}")
        }
        Some((dir, name)) => {
            use rustls::pki_types::pem::PemObject;
            use rustls::pki_types::{CertificateDer, PrivateKeyDer};
            let certs = CertificateDer::pem_file_iter(dir.join(format!("{name}-cert.pem")))
                .expect("cert file")
                .collect::<Result<Vec<_>, _>>()
                .expect("certs");
            let key =
                PrivateKeyDer::from_pem_file(dir.join(format!("{name}-key.pem"))).expect("key");
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("versions")
                .with_no_client_auth()
                .with_single_cert(certs, key)
                .expect("cert and key");
            let config = axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(config));
            let server = axum_server::from_tcp_rustls(listener, config).expect("TLS server");
            tokio::spawn(async move { server.serve(app.into_make_service()).await });
            format!("https://{addr}")
        }
    }
}
