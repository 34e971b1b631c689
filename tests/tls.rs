//! TLS listeners with real rustls: a self-signed certificate made with the `openssl` CLI,
//! a real HTTPS client trusting it, plaintext refused, `tls_min_version = "tls13"`
//! refusing a TLS 1.2-only client, and certificates reloaded on SIGHUP without dropping
//! open connections.

mod common;

use std::path::Path;
use std::process::Command;

use common::TestServer;

/// A CA (`ca.pem`) and a server certificate for 127.0.0.1 signed by it (`cert.pem`,
/// `key.pem`), made with the openssl CLI.
fn make_certificate(dir: &Path) -> bool {
    let run = |args: &[&str]| {
        Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stderr(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n",
    )
    .unwrap();
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=cofre-test-ca",
        "-keyout",
        "ca-key.pem",
        "-out",
        "ca.pem",
    ]) && run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "key.pem",
        "-out",
        "server.csr",
    ]) && run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca-key.pem",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
        "-out",
        "cert.pem",
    ])
}

async fn tls_server(min_version: &str) -> Option<TestServer> {
    let mut server = TestServer::prepare();
    if !make_certificate(&server.dir) {
        assert!(
            std::env::var("COFRE_REQUIRE_SERVICES").is_err(),
            "openssl is required to make test certificates"
        );
        eprintln!("*** SKIPPING TLS test: no openssl CLI ***");
        return None;
    }
    server.listener_extra = format!(
        "  tls_cert_file = \"{}\"\n  tls_key_file = \"{}\"\n  tls_min_version = \"{min_version}\"\n",
        server.dir.join("cert.pem").display(),
        server.dir.join("key.pem").display()
    );
    server.api.addr = format!("https://127.0.0.1:{}", server.port);
    server.spawn().await;
    Some(server)
}

fn client(server: &TestServer, max: Option<reqwest::tls::Version>) -> reqwest::Client {
    let ca = std::fs::read(server.dir.join("ca.pem")).unwrap();
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap());
    if let Some(max) = max {
        builder = builder.max_tls_version(max);
    }
    builder.build().unwrap()
}

#[tokio::test]
async fn https_works_and_plain_http_does_not() {
    let Some(server) = tls_server("tls12").await else {
        return;
    };
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
    let Some(server) = tls_server("tls13").await else {
        return;
    };
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
    let ca = std::fs::read(ca_file).unwrap();
    reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .build()
        .unwrap()
}

#[tokio::test]
async fn sighup_reloads_the_certificate_for_new_connections_only() {
    let Some(mut server) = tls_server("tls12").await else {
        return;
    };
    let url = format!("https://127.0.0.1:{}/v1/sys/seal-status", server.port);
    // Trusts only the first CA; keeps its connection open across the reload.
    let old = client_trusting(&server.dir.join("ca.pem"));
    assert_eq!(
        old.get(&url).send().await.expect("first cert").status(),
        200
    );

    let next = server.dir.join("next");
    std::fs::create_dir_all(&next).unwrap();
    assert!(
        make_certificate(&next),
        "openssl made the second certificate"
    );
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
