//! The proxy: the agent-facing transport only. It accepts connections,
//! serves their first HTTP/1 exchange, intercepts the tunnels the gate
//! opens (TLS with a minted leaf, HTTP/1.1 or HTTP/2 inside), relays the
//! tunnels it does not intercept, and closes connections when idle or at
//! shutdown. Every request it reads goes to [`Gate::handle`].
//!
//! One client connection goes through:
//! 1. [`listener`]: accept, apply the connection limit, serve HTTP/1 with upgrades;
//! 2. [`front`]: hand each request to the gate, then open what a CONNECT opened;
//! 3. [`intercept`] (TLS, then every request in the tunnel to the gate) or
//!    [`tunnel`] (bytes relayed untouched);
//! 4. [`activity`]: when bytes last moved and what is in flight, for idle
//!    and graceful closing.

mod activity;
mod client;
mod front;
mod intercept;
mod listener;
mod tunnel;

use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Limits;
use crate::gate::Gate;
use crate::tls::{LeafCerts, TlsError};

/// Everything connections share, built once at start-up.
#[derive(Debug)]
pub struct Proxy {
    /// Where every request goes.
    gate: Arc<Gate>,
    /// Timeouts and limits, as at start-up.
    limits: Limits,
    leaves: Arc<LeafCerts>,
    tls: Arc<ServerConfig>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

impl Proxy {
    /// A proxy that hands every request to `gate` and presents leaves minted by `leaves`.
    pub fn new(gate: Arc<Gate>, leaves: Arc<LeafCerts>, limits: Limits) -> Result<Proxy, TlsError> {
        Ok(Proxy {
            gate,
            limits,
            tls: leaves.server_config()?,
            leaves,
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
}
