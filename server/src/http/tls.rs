//! TLS for listeners with rustls (ring provider): certificate chain and key from PEM files,
//! minimum protocol version, and optional client-certificate verification against
//! `tls_client_ca_file` (clients may present a certificate and a presented one must verify;
//! with `tls_require_and_verify_client_cert` they must present one).

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;

use crate::config::{Tls, TlsVersion};

/// A TLS setting that cannot be loaded; the message names the file and the reason.
#[derive(Debug, thiserror::Error)]
#[error("TLS: {0}")]
pub struct TlsError(String);

/// Builds the rustls server configuration of one listener.
pub fn server_config(tls: &Tls) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&tls.cert_file)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            TlsError(format!(
                "cannot read certificates from {}: {e}",
                tls.cert_file.display()
            ))
        })?;
    if certs.is_empty() {
        return Err(TlsError(format!(
            "no certificate found in {}",
            tls.cert_file.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(&tls.key_file).map_err(|e| {
        TlsError(format!(
            "cannot read the private key from {}: {e}",
            tls.key_file.display()
        ))
    })?;
    let versions: &[&rustls::SupportedProtocolVersion] = match tls.min_version {
        TlsVersion::Tls13 => &[&rustls::version::TLS13],
        _ => &[&rustls::version::TLS13, &rustls::version::TLS12],
    };
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| TlsError(e.to_string()))?;
    let builder = match &tls.client_ca_file {
        None => builder.with_no_client_auth(),
        Some(ca_file) => {
            let mut roots = rustls::RootCertStore::empty();
            let cas = CertificateDer::pem_file_iter(ca_file)
                .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
                .map_err(|e| {
                    TlsError(format!(
                        "cannot read client CA certificates from {}: {e}",
                        ca_file.display()
                    ))
                })?;
            for ca in cas {
                roots.add(ca).map_err(|e| {
                    TlsError(format!(
                        "bad client CA certificate in {}: {e}",
                        ca_file.display()
                    ))
                })?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = match tls.require_client_cert {
                true => verifier,
                false => verifier.allow_unauthenticated(),
            }
            .build()
            .map_err(|e| TlsError(e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_single_cert(certs, key).map_err(|e| {
        TlsError(format!(
            "certificate and key do not form a usable pair: {e}"
        ))
    })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
