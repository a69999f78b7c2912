//! Dialling upstream hosts: `resolve` overrides, DNS, and the dial rules
//! every address is checked against before it is dialled.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::HostPattern;
use super::dial_rules::{DialRules, Refusal, Source};
use super::target::default_port;

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
    /// The host leads to an address the dial rules refuse.
    #[error("`{host}` leads to {addr}, {why}")]
    Forbidden {
        /// The host asked for.
        host: String,
        /// The address it led to.
        addr: SocketAddr,
        /// Why that address is not dialled.
        why: Refusal,
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
    rules: Arc<DialRules>,
    timeout: Duration,
}

impl Dialer {
    /// A dialer that consults `resolve` before DNS, dials only what `rules`
    /// allow, and gives up after `timeout`.
    pub fn new(resolve: Resolve, rules: DialRules, timeout: Duration) -> Dialer {
        Dialer {
            resolve: Arc::new(resolve),
            rules: Arc::new(rules),
            timeout,
        }
    }

    /// Connects to `host:port` if the dial rules allow every address it
    /// leads to, whether from `resolve` or from DNS.
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
        let (addrs, source): (Vec<SocketAddr>, _) = match self.resolve.lookup(host) {
            Some(addr) => (vec![addr], Source::Resolve),
            None => (
                tokio::net::lookup_host((host, port))
                    .await
                    .map_err(|source| DialError::Resolve {
                        host: host.to_string(),
                        source: Arc::new(source),
                    })?
                    .collect(),
                Source::Lookup,
            ),
        };
        // One refused address refuses the host: an answer mixing public and
        // internal addresses is how DNS rebinding starts.
        for &addr in &addrs {
            self.rules.check(addr, source).map_err(|why| DialError::Forbidden {
                host: host.to_string(),
                addr,
                why,
            })?;
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let dialer = Dialer::new(resolve_metadata, DialRules::default(), Duration::from_secs(1));
        let err = dialer.dial("api.example.com", 443).await.unwrap_err();
        assert!(matches!(err, DialError::Forbidden { .. }), "{err}");
    }
}
