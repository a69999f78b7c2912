//! Certificates: clawgate's CA, the leaf certificates it mints for
//! intercepted hosts, and the trust settings for upstream connections.

mod ca;
mod leaf;
mod upstream;

pub use ca::CertificateAuthority;
pub use leaf::{CacheStats, LeafCerts};
pub use upstream::client_config;

use std::path::PathBuf;

/// What can go wrong with certificates and keys.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A CA file could not be read or written.
    #[error("cannot {action} `{}`: {source}", path.display())]
    Io {
        /// "read", "write" or "create".
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `ca init` would overwrite an existing CA.
    #[error("a CA already exists at `{}`; delete it first to make a new one (agents must then trust the new certificate)", path.display())]
    CaExists {
        /// The existing certificate.
        path: PathBuf,
    },
    /// Only one of the CA's two files is present.
    #[error("`{}` is missing but `{}` exists; restore it, or delete both to make a new CA", missing.display(), present.display())]
    CaIncomplete {
        /// The file that is absent.
        missing: PathBuf,
        /// The file that is there.
        present: PathBuf,
    },
    /// A PEM file did not hold what it should.
    #[error("`{}` is not a valid {what}: {reason}", path.display())]
    BadPem {
        /// The file.
        path: PathBuf,
        /// What it should hold, e.g. "CA certificate".
        what: &'static str,
        /// The parser's explanation.
        reason: String,
    },
    /// Minting or signing a certificate failed.
    #[error("cannot make a certificate for `{host}`: {reason}")]
    Mint {
        /// The host the certificate was for.
        host: String,
        /// Why.
        reason: String,
    },
    /// The TLS library refused a configuration.
    #[error("TLS setup failed: {0}")]
    Rustls(#[from] rustls::Error),
}
