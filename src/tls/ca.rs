//! clawgate's certificate authority: loaded from, or created in, a directory.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use sha2::{Digest, Sha256};

use super::TlsError;

const CERT_FILE: &str = "ca.pem";
const KEY_FILE: &str = "ca-key.pem";

/// The CA that signs every leaf certificate clawgate presents to agents.
/// Agents trust its certificate (`ca.pem`); its key (`ca-key.pem`, mode 0600)
/// never leaves the machine.
pub struct CertificateAuthority {
    issuer: Issuer<'static, KeyPair>,
    cert_der: CertificateDer<'static>,
    cert_path: PathBuf,
}

impl CertificateAuthority {
    /// Loads the CA in `dir`, creating one if the directory holds none.
    /// Returns the CA and whether it was created.
    pub fn load_or_create(dir: &Path) -> Result<(CertificateAuthority, bool), TlsError> {
        match CertificateAuthority::files(dir) {
            (cert, key) if !cert.exists() && !key.exists() => Ok((CertificateAuthority::create(dir)?, true)),
            _ => Ok((CertificateAuthority::load(dir)?, false)),
        }
    }

    /// Creates a new ECDSA P-256 CA in `dir`; refuses to overwrite one.
    pub fn create(dir: &Path) -> Result<CertificateAuthority, TlsError> {
        let (cert_path, key_path) = CertificateAuthority::files(dir);
        if cert_path.exists() || key_path.exists() {
            return Err(TlsError::CaExists { path: cert_path });
        }
        fs::create_dir_all(dir).map_err(|source| TlsError::Io {
            action: "create",
            path: dir.to_path_buf(),
            source,
        })?;
        let mint = |e: rcgen::Error| TlsError::Mint {
            host: "clawgate CA".to_string(),
            reason: e.to_string(),
        };
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(mint)?;
        let params = ca_params();
        let cert = params.self_signed(&key).map_err(mint)?;
        write_file(&key_path, key.serialize_pem().as_bytes(), 0o600)?;
        write_file(&cert_path, cert.pem().as_bytes(), 0o644)?;
        Ok(CertificateAuthority {
            cert_der: cert.der().clone(),
            issuer: Issuer::new(params, key),
            cert_path,
        })
    }

    /// Loads the CA in `dir`.
    pub fn load(dir: &Path) -> Result<CertificateAuthority, TlsError> {
        let (cert_path, key_path) = CertificateAuthority::files(dir);
        for (missing, present) in [(&cert_path, &key_path), (&key_path, &cert_path)] {
            if !missing.exists() && present.exists() {
                return Err(TlsError::CaIncomplete {
                    missing: missing.clone(),
                    present: present.clone(),
                });
            }
        }
        let read = |path: &Path| {
            fs::read_to_string(path).map_err(|source| TlsError::Io {
                action: "read",
                path: path.to_path_buf(),
                source,
            })
        };
        let bad = |path: &Path, what, reason: String| TlsError::BadPem {
            path: path.to_path_buf(),
            what,
            reason,
        };
        let cert_pem = read(&cert_path)?;
        let key = KeyPair::from_pem(&read(&key_path)?).map_err(|e| bad(&key_path, "private key", e.to_string()))?;
        let cert_der = CertificateDer::from_pem_slice(cert_pem.as_bytes())
            .map_err(|e| bad(&cert_path, "CA certificate", e.to_string()))?;
        let issuer =
            Issuer::from_ca_cert_der(&cert_der, key).map_err(|e| bad(&cert_path, "CA certificate", e.to_string()))?;
        Ok(CertificateAuthority {
            issuer,
            cert_der,
            cert_path,
        })
    }

    /// The paths of the certificate and the key in `dir`.
    fn files(dir: &Path) -> (PathBuf, PathBuf) {
        (dir.join(CERT_FILE), dir.join(KEY_FILE))
    }

    /// Where the CA certificate is; agents point `AWS_CA_BUNDLE` & co. here.
    pub fn cert_path(&self) -> &Path {
        &self.cert_path
    }

    /// The SHA-256 fingerprint of the certificate, as `AB:CD:…`.
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(self.cert_der.as_ref());
        let hex: Vec<String> = digest.iter().map(|b| format!("{b:02X}")).collect();
        hex.join(":")
    }

    /// The issuer that signs leaf certificates.
    pub(super) fn issuer(&self) -> &Issuer<'static, KeyPair> {
        &self.issuer
    }
}

/// The CA certificate's contents: may sign leaves, nothing else, for ten years.
fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, "clawgate CA");
    name.push(DnType::OrganizationName, "clawgate");
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(3650);
    params
}

/// Writes a new file with `mode`, failing if it exists.
fn write_file(path: &Path, contents: &[u8], mode: u32) -> Result<(), TlsError> {
    let io = |source| TlsError::Io {
        action: "write",
        path: path.to_path_buf(),
        source,
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(io)?;
    file.write_all(contents).map_err(io)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn creates_once_then_loads_the_same_ca() {
        let dir = tempfile::tempdir().unwrap();
        let (created, was_created) = CertificateAuthority::load_or_create(dir.path()).unwrap();
        assert!(was_created);
        let mode = fs::metadata(dir.path().join(KEY_FILE)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the CA key must be readable by its owner only");
        let (loaded, was_created) = CertificateAuthority::load_or_create(dir.path()).unwrap();
        assert!(!was_created);
        assert_eq!(created.fingerprint(), loaded.fingerprint());
        assert_eq!(loaded.fingerprint().len(), 32 * 3 - 1);
    }

    #[test]
    fn init_refuses_to_overwrite_and_a_lone_key_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        CertificateAuthority::create(dir.path()).unwrap();
        assert!(matches!(
            CertificateAuthority::create(dir.path()),
            Err(TlsError::CaExists { .. })
        ));
        fs::remove_file(dir.path().join(CERT_FILE)).unwrap();
        let err = CertificateAuthority::load_or_create(dir.path()).err().unwrap();
        assert!(matches!(err, TlsError::CaIncomplete { .. }), "{err}");
    }
}
