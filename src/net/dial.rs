//! Dialling upstream hosts: `resolve` overrides, DNS, and the addresses
//! clawgate never dials.

use std::future::Future;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::HostPattern;
use super::target::default_port;

/// The instance-metadata address of EC2 over IPv6.
const METADATA_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254);

/// Host patterns dialled at a fixed address (VPC endpoints, tests); TLS still
/// verifies the real host name.
#[derive(Debug, Clone, Default)]
pub struct Resolve(Vec<(HostPattern, SocketAddr)>);

impl Resolve {
    /// Dials each pattern's hosts at its address; the first matching pattern wins.
    pub fn new(entries: Vec<(HostPattern, SocketAddr)>) -> Resolve {
        Resolve(entries)
    }

    /// The address configured for `host`, if any; the first matching pattern wins.
    pub fn lookup(&self, host: &str) -> Option<SocketAddr> {
        self.0.iter().find(|(p, _)| p.matches(host)).map(|(_, a)| *a)
    }
}

/// Why an upstream could not be dialled.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DialError {
    /// The host leads to a link-local or metadata address.
    #[error("`{host}` leads to {addr}, a link-local or instance-metadata address, which clawgate never dials")]
    Forbidden {
        /// The host asked for.
        host: String,
        /// The address it led to.
        addr: IpAddr,
    },
    /// DNS failed.
    #[error("cannot resolve `{host}`: {source}")]
    Resolve {
        /// The host.
        host: String,
        /// The resolver's error.
        source: Arc<std::io::Error>,
    },
    /// Every address refused or failed.
    #[error("cannot connect to `{host}` ({addr}): {source}")]
    Connect {
        /// The host.
        host: String,
        /// The last address tried.
        addr: SocketAddr,
        /// Why.
        source: Arc<std::io::Error>,
    },
    /// Connecting took too long.
    #[error("connecting to `{host}` timed out after {}s", after.as_secs())]
    Timeout {
        /// The host.
        host: String,
        /// The limit.
        after: Duration,
    },
    /// The URI to dial had no host.
    #[error("no host to dial in `{0}`")]
    NoHost(String),
}

/// Opens TCP connections to upstream hosts, with `TCP_NODELAY`.
#[derive(Clone, Debug)]
pub struct Dialer {
    resolve: Arc<Resolve>,
    timeout: Duration,
}

impl Dialer {
    /// A dialer that consults `resolve` before DNS and gives up after `timeout`.
    pub fn new(resolve: Resolve, timeout: Duration) -> Dialer {
        Dialer {
            resolve: Arc::new(resolve),
            timeout,
        }
    }

    /// Connects to `host:port`, refusing link-local and metadata addresses
    /// whether they come from `resolve` or from DNS.
    pub async fn dial(&self, host: &str, port: u16) -> Result<TcpStream, DialError> {
        let timed_out = || DialError::Timeout {
            host: host.to_string(),
            after: self.timeout,
        };
        tokio::time::timeout(self.timeout, self.dial_now(host, port))
            .await
            .map_err(|_| timed_out())?
    }

    async fn dial_now(&self, host: &str, port: u16) -> Result<TcpStream, DialError> {
        let addrs: Vec<SocketAddr> = match self.resolve.lookup(host) {
            Some(addr) => vec![addr],
            None => tokio::net::lookup_host((host, port))
                .await
                .map_err(|source| DialError::Resolve {
                    host: host.to_string(),
                    source: Arc::new(source),
                })?
                .collect(),
        };
        if let Some(bad) = addrs.iter().find(|a| is_forbidden(a.ip())) {
            return Err(DialError::Forbidden {
                host: host.to_string(),
                addr: bad.ip(),
            });
        }
        let mut last = None;
        for addr in addrs {
            match TcpStream::connect(addr).await {
                Ok(stream) => {
                    stream.set_nodelay(true).map_err(|source| DialError::Connect {
                        host: host.to_string(),
                        addr,
                        source: Arc::new(source),
                    })?;
                    return Ok(stream);
                }
                Err(source) => last = Some((addr, source)),
            }
        }
        Err(match last {
            Some((addr, source)) => DialError::Connect {
                host: host.to_string(),
                addr,
                source: Arc::new(source),
            },
            None => DialError::Resolve {
                host: host.to_string(),
                source: Arc::new(std::io::Error::new(std::io::ErrorKind::NotFound, "no addresses")),
            },
        })
    }
}

/// The connector interface hyper's client uses.
impl tower_service::Service<Uri> for Dialer {
    type Response = TokioIo<TcpStream>;
    type Error = DialError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, DialError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), DialError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let dialer = self.clone();
        Box::pin(async move {
            let host = uri.host().ok_or_else(|| DialError::NoHost(uri.to_string()))?;
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let default = default_port(uri.scheme().unwrap_or(&http::uri::Scheme::HTTPS));
            let stream = dialer.dial(host, uri.port_u16().unwrap_or(default)).await?;
            Ok(TokioIo::new(stream))
        })
    }
}

/// Whether `ip` is link-local (169.254.0.0/16, fe80::/10) or the IPv6
/// metadata address, also when written as an IPv4-mapped IPv6 address.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.is_link_local(),
            None => v6.is_unicast_link_local() || v6 == METADATA_V6,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_local_and_metadata_addresses_are_forbidden() {
        for ip in [
            "169.254.169.254",
            "169.254.0.1",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:169.254.169.254",
        ] {
            assert!(is_forbidden(ip.parse().unwrap()), "{ip} must be forbidden");
        }
        for ip in [
            "127.0.0.1",
            "10.0.0.1",
            "52.95.110.1",
            "::1",
            "fd00:ec2::253",
            "2600:1f18::1",
        ] {
            assert!(!is_forbidden(ip.parse().unwrap()), "{ip} must be allowed");
        }
    }

    #[tokio::test]
    async fn resolve_to_the_metadata_address_is_refused() {
        let resolve_metadata = {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(
                dir.path().join("g.hcl"),
                r#"gateway { resolve = { "*.example.com" = "169.254.169.254:80" } }"#,
            )
            .unwrap();
            crate::config::Config::load_dir(dir.path()).unwrap().gateway.resolve
        };
        let dialer = Dialer::new(resolve_metadata, Duration::from_secs(1));
        let err = dialer.dial("api.example.com", 443).await.unwrap_err();
        assert!(matches!(err, DialError::Forbidden { .. }), "{err}");
    }
}
