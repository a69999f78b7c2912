//! Leaf certificates for intercepted hosts, minted on demand and cached.
//!
//! Every leaf shares one P-256 key made at start-up, so minting costs one
//! signature. All leaves are served from ONE rustls `ServerConfig` whose
//! certificate resolver reads the SNI; its session cache and ticketer are
//! therefore shared by every host.

use std::fmt;
use std::net::IpAddr;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use lru::LruCache;
use rcgen::{CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, KeyPair, SanType, SerialNumber};
use rustls::crypto::ring as provider;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, ServerSessionMemoryCache};
use rustls::sign::{CertifiedKey, SigningKey};
use rustls::{ServerConfig, version};

use super::{CertificateAuthority, TlsError};

/// How long a minted leaf is valid.
const LEAF_VALIDITY: time::Duration = time::Duration::days(30);
/// How long a cached leaf is served before a fresh one is minted.
const LEAF_REUSE: Duration = Duration::from_secs(7 * 24 * 3600);
/// TLS sessions remembered for resumption, across all hosts.
const SESSION_CACHE_SIZE: usize = 10_000;

/// Mints and caches leaf certificates signed by the CA.
pub struct LeafCerts {
    ca: Arc<CertificateAuthority>,
    key: KeyPair,
    signing_key: Arc<dyn SigningKey>,
    cache: Mutex<LruCache<String, (Instant, Arc<CertifiedKey>)>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// Counters of the leaf cache, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    /// Handshakes served from the cache.
    pub hits: u64,
    /// Leaves minted.
    pub misses: u64,
}

impl LeafCerts {
    /// A minter holding up to `capacity` leaves, with a fresh P-256 leaf key.
    pub fn new(ca: Arc<CertificateAuthority>, capacity: NonZeroUsize) -> Result<LeafCerts, TlsError> {
        let mint = |reason: String| TlsError::Mint {
            host: "the shared leaf key".to_string(),
            reason,
        };
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|e| mint(e.to_string()))?;
        let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let signing_key = provider::sign::any_ecdsa_type(&der)?;
        Ok(LeafCerts {
            ca,
            key,
            signing_key,
            cache: Mutex::new(LruCache::new(capacity)),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        })
    }

    /// The certificate and key for `host` (a DNS name or an IP address),
    /// from the cache or freshly minted.
    pub fn certified_key(&self, host: &str) -> Result<Arc<CertifiedKey>, TlsError> {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let cached = self
            .lock()
            .get(&host)
            .filter(|(at, _)| at.elapsed() < LEAF_REUSE)
            .map(|(_, k)| Arc::clone(k));
        if let Some(key) = cached {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(key);
        }
        // Minted outside the lock: two handshakes racing for a new host may
        // both mint, which is cheaper than making every handshake wait.
        let key = Arc::new(self.mint(&host)?);
        self.misses.fetch_add(1, Ordering::Relaxed);
        self.lock().put(host, (Instant::now(), Arc::clone(&key)));
        Ok(key)
    }

    /// The cache's counters.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }

    /// The single server configuration for intercepted connections: ALPN
    /// `h2` and `http/1.1`, leaves chosen by SNI, one shared session cache.
    pub fn server_config(self: &Arc<Self>) -> Result<Arc<ServerConfig>, TlsError> {
        let mut config = ServerConfig::builder_with_provider(Arc::new(provider::default_provider()))
            .with_protocol_versions(&[&version::TLS13, &version::TLS12])?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(self) as Arc<dyn ResolvesServerCert>);
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        config.session_storage = ServerSessionMemoryCache::new(SESSION_CACHE_SIZE);
        config.ticketer = provider::Ticketer::new()?;
        Ok(Arc::new(config))
    }

    /// A copy of `base` that always presents `host`'s leaf, for clients that
    /// send no SNI (they do not for IP addresses). It shares `base`'s session
    /// cache and ticketer.
    pub fn server_config_for(&self, base: &ServerConfig, host: &str) -> Result<Arc<ServerConfig>, TlsError> {
        let key = self.certified_key(host)?;
        let mut config = base.clone();
        config.cert_resolver = Arc::new(FixedLeaf(key));
        Ok(Arc::new(config))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<String, (Instant, Arc<CertifiedKey>)>> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Signs a new leaf for `host` with the shared key.
    fn mint(&self, host: &str) -> Result<CertifiedKey, TlsError> {
        let failed = |e: rcgen::Error| TlsError::Mint {
            host: host.to_string(),
            reason: e.to_string(),
        };
        let mut params = CertificateParams::default();
        params.subject_alt_names = vec![match host.parse::<IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName(host.try_into().map_err(failed)?),
        }];
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, host);
        params.distinguished_name = name;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let mut serial: [u8; 16] = rand::random();
        serial[0] &= 0x7f;
        params.serial_number = Some(SerialNumber::from_slice(&serial));
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::days(1);
        params.not_after = now + LEAF_VALIDITY;
        let cert = params.signed_by(&self.key, self.ca.issuer()).map_err(failed)?;
        Ok(CertifiedKey::new(
            vec![cert.der().clone()],
            Arc::clone(&self.signing_key),
        ))
    }
}

impl ResolvesServerCert for LeafCerts {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let host = hello.server_name()?;
        self.certified_key(host)
            .map_err(|e| tracing::warn!(host, error = %e, "cannot present a certificate"))
            .ok()
    }
}

/// A resolver that presents one leaf whatever the client asks for.
#[derive(Debug)]
struct FixedLeaf(Arc<CertifiedKey>);

impl ResolvesServerCert for FixedLeaf {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.0))
    }
}

impl fmt::Debug for LeafCerts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeafCerts")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves() -> Arc<LeafCerts> {
        let dir = tempfile::tempdir().unwrap();
        let ca = Arc::new(CertificateAuthority::create(dir.path()).unwrap());
        Arc::new(LeafCerts::new(ca, NonZeroUsize::new(2).unwrap()).unwrap())
    }

    #[test]
    fn caches_per_host_and_evicts_the_least_recent() {
        let leaves = leaves();
        let a = leaves.certified_key("a.example.com").unwrap();
        let again = leaves.certified_key("A.Example.com.").unwrap();
        assert!(Arc::ptr_eq(&a, &again), "same host, same leaf");
        assert_eq!(leaves.stats(), CacheStats { hits: 1, misses: 1 });
        leaves.certified_key("b.example.com").unwrap();
        leaves.certified_key("c.example.com").unwrap();
        let a2 = leaves.certified_key("a.example.com").unwrap();
        assert!(!Arc::ptr_eq(&a, &a2), "capacity 2: a was evicted and minted again");
    }

    #[test]
    fn ip_hosts_get_ip_sans() {
        let leaves = leaves();
        let key = leaves.certified_key("127.0.0.1").unwrap();
        let der = key.cert[0].as_ref();
        // The IP SAN is encoded as the four raw address bytes under tag [7].
        assert!(der.windows(6).any(|w| w == [0x87, 4, 127, 0, 0, 1]));
    }
}
