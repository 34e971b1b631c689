//! Test certificates made in the test with rcgen: a CA, a server certificate for
//! 127.0.0.1 and localhost, and a client certificate, all signed by the CA, written as PEM.

use std::path::Path;

use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair};

/// Writes `ca.pem`, `cert.pem` + `key.pem` (server) and `client.pem` + `client-key.pem`
/// into `dir`, under a new CA whose common name is `ca_name`.
pub fn write_set(dir: &Path, ca_name: &str) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, ca_name);
    let ca_key = KeyPair::generate().expect("CA key");
    let ca = ca_params.self_signed(&ca_key).expect("CA certificate");

    let leaf = |names: Vec<String>, purpose: ExtendedKeyUsagePurpose, cn: &str| {
        let mut params = CertificateParams::new(names).expect("leaf params");
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = vec![purpose];
        let key = KeyPair::generate().expect("leaf key");
        let cert = params
            .signed_by(&key, &ca, &ca_key)
            .expect("leaf certificate");
        (cert.pem(), key.serialize_pem())
    };
    let (server, server_key) = leaf(
        vec!["127.0.0.1".into(), "localhost".into()],
        ExtendedKeyUsagePurpose::ServerAuth,
        "127.0.0.1",
    );
    let (client, client_key) = leaf(Vec::new(), ExtendedKeyUsagePurpose::ClientAuth, "app");
    for (file, pem) in [
        ("ca.pem", ca.pem()),
        ("cert.pem", server),
        ("key.pem", server_key),
        ("client.pem", client),
        ("client-key.pem", client_key),
    ] {
        std::fs::write(dir.join(file), pem).expect("write a PEM file");
    }
}
