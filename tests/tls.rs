//! TLS listeners with real rustls and certificates made in the test (rcgen,
//! `common::certs`): a real HTTPS client trusting the test CA, plaintext refused,
//! `tls_min_version = "tls13"` refusing a TLS 1.2-only client, client certificates checked
//! against `tls_client_ca_file` (and required with `tls_require_and_verify_client_cert`),
//! the `cofre` CLI and the SDK verifying the server against `-ca-cert`, and certificates
//! reloaded on SIGHUP without dropping open connections.

mod common;

use std::path::Path;

use common::{certs, TestServer};

/// A CA (`ca.pem`), a server certificate for 127.0.0.1 (`cert.pem`, `key.pem`) and a client
/// certificate (`client.pem`, `client-key.pem`) signed by it.
fn make_certificate(dir: &Path) {
    certs::write_set(dir, "cofre-test-ca");
}

async fn tls_server(min_version: &str) -> TestServer {
    tls_server_with(min_version, false).await
}

/// A TLS server; with `require_client_cert`, clients must present a certificate from
/// the test CA (`tls_client_ca_file` + `tls_require_and_verify_client_cert`).
async fn tls_server_with(min_version: &str, require_client_cert: bool) -> TestServer {
    let mut server = TestServer::prepare();
    make_certificate(&server.dir);
    let client_ca = match require_client_cert {
        true => format!(
            "  tls_client_ca_file = \"{}\"\n  tls_require_and_verify_client_cert = true\n",
            server.dir.join("ca.pem").display()
        ),
        false => String::new(),
    };
    server.listener_extra = format!(
        "  tls_cert_file = \"{}\"\n  tls_key_file = \"{}\"\n  tls_min_version = \"{min_version}\"\n{client_ca}",
        server.dir.join("cert.pem").display(),
        server.dir.join("key.pem").display()
    );
    server.api.addr = format!("https://127.0.0.1:{}", server.port);
    server.spawn().await;
    server
}

/// A client builder that trusts only the CA in `ca_file`.
fn trusting(ca_file: &Path) -> reqwest::ClientBuilder {
    let ca = std::fs::read(ca_file).unwrap();
    reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
}

fn client(server: &TestServer, max: Option<reqwest::tls::Version>) -> reqwest::Client {
    let mut builder = trusting(&server.dir.join("ca.pem"));
    if let Some(max) = max {
        builder = builder.max_tls_version(max);
    }
    builder.build().unwrap()
}

#[tokio::test]
async fn https_works_and_plain_http_does_not() {
    let server = tls_server("tls12").await;
    let resp = client(&server, None)
        .get(format!(
            "https://127.0.0.1:{}/v1/sys/seal-status",
            server.port
        ))
        .send()
        .await
        .expect("TLS handshake with the server's certificate");
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["initialized"], false);
    let plain = reqwest::get(format!(
        "http://127.0.0.1:{}/v1/sys/seal-status",
        server.port
    ))
    .await;
    assert!(
        plain.is_err() || !plain.unwrap().status().is_success(),
        "plaintext must not be served"
    );
}

#[tokio::test]
async fn min_version_tls13_refuses_tls12_clients() {
    let server = tls_server("tls13").await;
    let url = format!("https://127.0.0.1:{}/v1/sys/seal-status", server.port);
    let old = client(&server, Some(reqwest::tls::Version::TLS_1_2))
        .get(&url)
        .send()
        .await;
    assert!(old.is_err(), "a TLS 1.2-only client must be refused");
    let new = client(&server, None)
        .get(&url)
        .send()
        .await
        .expect("TLS 1.3 works");
    assert_eq!(new.status(), 200);
}

fn client_trusting(ca_file: &Path) -> reqwest::Client {
    trusting(ca_file).build().unwrap()
}

#[tokio::test]
async fn sighup_reloads_the_certificate_for_new_connections_only() {
    let mut server = tls_server("tls12").await;
    let url = format!("https://127.0.0.1:{}/v1/sys/seal-status", server.port);
    // Trusts only the first CA; keeps its connection open across the reload.
    let old = client_trusting(&server.dir.join("ca.pem"));
    assert_eq!(
        old.get(&url).send().await.expect("first cert").status(),
        200
    );

    let next = server.dir.join("next");
    std::fs::create_dir_all(&next).unwrap();
    make_certificate(&next);
    for file in ["cert.pem", "key.pem"] {
        std::fs::copy(next.join(file), server.dir.join(file)).unwrap();
    }
    // Sent before the first unseal: SIGHUP must not stop the server.
    server.hangup();
    let fresh = client_trusting(&next.join("ca.pem"));
    let mut reloaded = false;
    for _ in 0..40 {
        if fresh.get(&url).send().await.is_ok() {
            reloaded = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(reloaded, "a new connection sees the new certificate");
    assert!(server.is_running());
    let resp = old
        .get(&url)
        .send()
        .await
        .expect("the open connection survives");
    assert_eq!(resp.status(), 200);
    let stale = client_trusting(&server.dir.join("ca.pem"))
        .get(&url)
        .send()
        .await;
    assert!(
        stale.is_err(),
        "new connections no longer get the old certificate"
    );
}

/// A client trusting the server's CA that presents the client certificate in `dir`
/// (`client.pem`, `client-key.pem`).
fn client_with_identity(server: &TestServer, dir: &Path) -> reqwest::Client {
    let mut pem = std::fs::read(dir.join("client.pem")).unwrap();
    pem.extend(std::fs::read(dir.join("client-key.pem")).unwrap());
    trusting(&server.dir.join("ca.pem"))
        .identity(reqwest::Identity::from_pem(&pem).expect("client identity"))
        .build()
        .unwrap()
}

#[tokio::test]
async fn client_certificates_are_verified_and_can_be_required() {
    // The client CA is the server's own test CA: clients get certificates from it.
    let server = tls_server_with("tls12", true).await;
    let url = format!("https://127.0.0.1:{}/v1/sys/seal-status", server.port);

    let with_cert = client_with_identity(&server, &server.dir);
    let resp = with_cert
        .get(&url)
        .send()
        .await
        .expect("a client with a certificate");
    assert_eq!(resp.status(), 200);
    assert!(
        client(&server, None).get(&url).send().await.is_err(),
        "a client without a certificate is refused"
    );
    let stranger = server.dir.join("stranger");
    std::fs::create_dir_all(&stranger).unwrap();
    certs::write_set(&stranger, "another-ca");
    assert!(
        client_with_identity(&server, &stranger)
            .get(&url)
            .send()
            .await
            .is_err(),
        "a certificate from another CA is refused"
    );
}

#[tokio::test]
async fn the_cli_and_the_sdk_verify_the_server_against_ca_cert() {
    let server = tls_server("tls12").await;
    let ca = server.dir.join("ca.pem");
    let status = |extra: &[&str]| {
        let out = server
            .cofre("")
            .arg("status")
            .args(extra)
            .env_remove("COFRE_CACERT")
            .env_remove("VAULT_CACERT")
            .output()
            .expect("cofre runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (code, out) = status(&[&format!("-ca-cert={}", ca.display())]);
    // `status` exits 2 on a sealed (here: uninitialised) server, as vault's does, once
    // it got an answer; what matters is that the answer came over verified TLS.
    assert!(out.contains("Initialized"), "{code:?} {out}");
    let (code, out) = status(&[]);
    assert_eq!(code, Some(1), "an error, as vault's status: {out}");
    assert!(
        out.to_lowercase().contains("certificate"),
        "an unknown issuer is reported: {out}"
    );

    let trusting = cofre_client::Client::builder()
        .address(server.api.addr.clone())
        .ca_cert_file(&ca)
        .build()
        .expect("SDK client");
    let status = trusting.sys().seal_status().await.expect("verified TLS");
    assert!(!status.initialized);
    let untrusting = cofre_client::Client::builder()
        .address(server.api.addr.clone())
        .build()
        .expect("SDK client");
    assert!(
        untrusting.sys().seal_status().await.is_err(),
        "without the CA the SDK refuses the server"
    );
}
