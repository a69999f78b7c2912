//! The proxy: the listener agents connect to, CONNECT and agent
//! authentication, TLS interception, tunnels, and forwarding upstream.
//!
//! One client connection goes through these stages:
//! 1. [`listener`]: accept, apply the connection limit, serve HTTP/1 with upgrades;
//! 2. [`front`]: authenticate the agent, then CONNECT (intercept or tunnel)
//!    or forward an absolute-form `http://` request;
//! 3. [`intercept`]: TLS with a minted leaf, then every request inside the
//!    tunnel is checked and forwarded by [`forward`];
//! 4. errors become responses in one place, [`ProxyError::into_response`].

mod activity;
mod auth;
mod body;
mod dial;
mod error;
mod forward;
mod front;
mod intercept;
mod listener;
mod target;
mod tunnel;

pub use auth::Agents;
pub use dial::{DialError, Dialer, is_forbidden};
pub use error::ProxyError;
pub use forward::Upstream;
pub use target::Target;

use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::tls::{self, LeafCerts, TlsError};

/// Everything connections share, built once at start-up.
#[derive(Debug)]
pub struct Proxy {
    config: Arc<Config>,
    agents: Agents,
    leaves: Arc<LeafCerts>,
    tls: Arc<ServerConfig>,
    dialer: Dialer,
    upstream: Upstream,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

impl Proxy {
    /// A proxy for `config`, presenting leaves minted by `leaves`.
    pub fn new(config: Arc<Config>, leaves: Arc<LeafCerts>) -> Result<Proxy, TlsError> {
        let gateway = &config.gateway;
        let dialer = Dialer::new(gateway.resolve.clone(), gateway.limits.connect_timeout);
        let client_tls =
            tls::client_config(gateway.upstream_roots, gateway.upstream_ca.as_deref())?;
        Ok(Proxy {
            agents: Agents::new(&config.agents),
            tls: leaves.server_config()?,
            upstream: Upstream::new(dialer.clone(), client_tls),
            dialer,
            leaves,
            config,
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
        })
    }

    /// Accepts and serves agents on `listener` until [`Proxy::shutdown`].
    pub async fn serve(self: Arc<Self>, listener: TcpListener) {
        listener::accept_loop(self, listener).await;
    }

    /// Stops accepting connections and asks every open one to finish its
    /// in-flight requests and close.
    pub fn shutdown(&self) {
        self.shutdown.cancel();
        self.tasks.close();
    }

    /// Waits up to `grace` for every connection to finish; whether they all did.
    pub async fn drained(&self, grace: Duration) -> bool {
        tokio::time::timeout(grace, self.tasks.wait()).await.is_ok()
    }

    /// The leaf certificate cache, for metrics.
    pub fn leaves(&self) -> &LeafCerts {
        &self.leaves
    }
}
