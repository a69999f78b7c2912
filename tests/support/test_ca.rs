//! A throwaway certificate authority for tests: a fresh ECDSA P-256 CA per call,
//! and rustls server configs presenting leaves it signed.

use std::path::Path;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Common name of every test CA, so a stray one is easy to recognise.
pub const TEST_CA_COMMON_NAME: &str = "clawgate test CA";

/// A fresh CA whose key lives only in memory.
pub struct TestCa {
    /// The CA certificate together with the key that signs leaves.
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl TestCa {
    /// Generates a new CA (ECDSA P-256, CN "clawgate test CA").
    pub fn new() -> TestCa {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("generate CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, TEST_CA_COMMON_NAME);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let issuer = CertifiedIssuer::self_signed(params, key).expect("self-sign CA");
        TestCa { issuer }
    }

    /// The CA certificate, PEM-encoded.
    pub fn cert_pem(&self) -> String {
        self.issuer.pem()
    }

    /// The CA certificate, DER-encoded.
    pub fn cert_der(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }

    /// Writes the CA certificate PEM to `path`.
    pub fn write_pem(&self, path: &Path) {
        std::fs::write(path, self.cert_pem()).unwrap_or_else(|e| panic!("write CA PEM to {}: {e}", path.display()));
    }

    /// Mints a leaf for `names` (each a DNS name or an IP address) and returns its
    /// chain (leaf, CA) and private key.
    pub fn leaf(&self, names: &[&str]) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("generate leaf key");
        let sans: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(sans).expect("leaf params");
        params.distinguished_name = DistinguishedName::new();
        if let Some(first) = names.first() {
            params.distinguished_name.push(DnType::CommonName, *first);
        }
        // Not `ExplicitNoCa`: rcgen then encodes `cA FALSE`, a DER default that
        // Python's `cryptography` (so mitmproxy) rejects as malformed.
        params.is_ca = IsCa::NoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        // OpenSSL's strict verification (Python 3.13's default) wants an AKI.
        params.use_authority_key_identifier_extension = true;
        let cert = params.signed_by(&key, &self.issuer).expect("sign leaf");
        let chain = vec![cert.der().clone(), self.cert_der()];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        (chain, key)
    }

    /// A rustls server config presenting a leaf for `names` (DNS or IP SANs), with
    /// ALPN `h2` and `http/1.1`.
    pub fn server_config(&self, names: &[&str]) -> Arc<rustls::ServerConfig> {
        let (chain, key) = self.leaf(names);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("server certificate");
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Arc::new(config)
    }
}

impl Default for TestCa {
    fn default() -> TestCa {
        TestCa::new()
    }
}
