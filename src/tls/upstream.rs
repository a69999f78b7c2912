//! TLS settings for clawgate's own connections to upstream servers.

use std::path::Path;
use std::sync::Arc;

use rustls::crypto::ring as provider;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, RootCertStore};

use super::TlsError;
use crate::config::UpstreamRoots;

/// The client configuration for upstream TLS: the chosen built-in roots plus
/// the certificates in `extra_ca`, if given. ALPN is set by the connector.
pub fn client_config(roots: UpstreamRoots, extra_ca: Option<&Path>) -> Result<ClientConfig, TlsError> {
    let mut store = RootCertStore::empty();
    match roots {
        UpstreamRoots::Webpki => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        UpstreamRoots::Native => {
            let found = rustls_native_certs::load_native_certs();
            for e in &found.errors {
                tracing::warn!(error = %e, "skipping a system root certificate");
            }
            store.add_parsable_certificates(found.certs);
        }
    }
    if let Some(path) = extra_ca {
        let bad = |reason: String| TlsError::BadPem {
            path: path.to_path_buf(),
            what: "PEM file of CA certificates",
            reason,
        };
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| bad(e.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(e.to_string()))?;
        if certs.is_empty() {
            return Err(bad("it holds no certificate".to_string()));
        }
        for cert in certs {
            store.add(cert).map_err(|e| bad(e.to_string()))?;
        }
    }
    Ok(
        ClientConfig::builder_with_provider(Arc::new(provider::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(store)
            .with_no_client_auth(),
    )
}
