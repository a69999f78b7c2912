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
mod audited;
mod auth;
mod body;
mod dial;
mod error;
mod exchange;
mod forward;
mod front;
mod intercept;
mod listener;
mod target;
mod tunnel;

pub use auth::Agents;
pub use dial::{DialError, Dialer, is_forbidden};
pub use error::{ErrorFormat, ProxyError};
pub use forward::Upstream;
pub use target::Target;

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::approval::Approvals;
use crate::audit::{Audit, Kind};
use crate::aws::base::RuntimeKeys;
use crate::aws::sessions::Sessions;
use crate::config::Gateway;
use crate::policy::Policy;
use crate::tls::{self, LeafCerts, TlsError};

/// Everything connections share, built once at start-up.
#[derive(Debug)]
pub struct Proxy {
    /// Gateway settings as at start-up (a reload does not change them).
    gateway: Gateway,
    /// The rules and agents in force; replaced whole on reload.
    current: ArcSwap<Current>,
    leaves: Arc<LeafCerts>,
    tls: Arc<ServerConfig>,
    dialer: Dialer,
    upstream: Upstream,
    /// Assumed-role credentials, per account.
    sessions: Sessions,
    /// Base keys entered through the admin API.
    runtime_keys: RuntimeKeys,
    /// Requests held for approval.
    approvals: Arc<Approvals>,
    /// Where every request's record goes.
    audit: Arc<Audit>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

/// The rules and the agents of one load of the rule directory.
#[derive(Debug)]
pub(crate) struct Current {
    policy: Policy,
    agents: Agents,
}

impl Proxy {
    /// A proxy enforcing `policy`, presenting leaves minted by `leaves`,
    /// recording every request in `audit`.
    pub fn new(
        policy: Policy,
        leaves: Arc<LeafCerts>,
        runtime_keys: RuntimeKeys,
        audit: Arc<Audit>,
    ) -> Result<Proxy, TlsError> {
        let gateway = policy.config().gateway.clone();
        let dialer = Dialer::new(gateway.resolve.clone(), gateway.limits.connect_timeout);
        let client_tls = tls::client_config(gateway.upstream_roots, gateway.upstream_ca.as_deref())?;
        let upstream = Upstream::new(dialer.clone(), client_tls);
        let sessions = Sessions::new(Arc::new(upstream.clone()));
        let approvals = Arc::new(Approvals::new(gateway.approvals));
        observe(&audit, &leaves, &sessions, &approvals);
        Ok(Proxy {
            current: ArcSwap::from_pointee(Current::new(policy)),
            tls: leaves.server_config()?,
            upstream,
            sessions,
            runtime_keys,
            approvals,
            audit,
            dialer,
            leaves,
            gateway,
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
        })
    }

    /// Puts `policy` in force for every request from now on. Gateway settings
    /// (addresses, limits, upstream trust) need a restart to change.
    pub fn reload(&self, policy: Policy) {
        let new = &policy.config().gateway;
        let old = &self.gateway;
        let restart = new.listen != old.listen
            || new.admin != old.admin
            || new.upstream_ca != old.upstream_ca
            || new.audit != old.audit
            || new.approvals != old.approvals;
        if restart {
            tracing::warn!(
                "the gateway block changed; restart clawgate to apply addresses, upstream trust, \
                 the audit log and approval limits"
            );
        }
        self.current.store(Arc::new(Current::new(policy)));
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

    /// The configuration of the rules in force.
    pub fn config(&self) -> Arc<crate::config::Config> {
        Arc::clone(self.current.load().policy.config())
    }

    /// The requests held for approval.
    pub fn approvals(&self) -> &Arc<Approvals> {
        &self.approvals
    }

    /// Where every request's record goes.
    pub fn audit(&self) -> &Arc<Audit> {
        &self.audit
    }

    /// The upstream client (Telegram's Bot API goes through it too).
    pub fn upstream(&self) -> &Upstream {
        &self.upstream
    }
}

/// Exports the counters kept by the leaf cache, the STS client and the holds.
fn observe(audit: &Audit, leaves: &Arc<LeafCerts>, sessions: &Sessions, approvals: &Arc<Approvals>) {
    let metrics = audit.metrics();
    let calls = sessions.calls();
    metrics.observe(
        "clawgate_sts_calls",
        "Calls to STS (AssumeRole, AssumeRoleWithWebIdentity)",
        Kind::Counter,
        move || calls.load(std::sync::atomic::Ordering::Relaxed),
    );
    let hits = Arc::clone(leaves);
    metrics.observe(
        "clawgate_cert_cache_hits",
        "TLS handshakes served a cached leaf certificate",
        Kind::Counter,
        move || hits.stats().hits,
    );
    let misses = Arc::clone(leaves);
    metrics.observe(
        "clawgate_cert_cache_misses",
        "Leaf certificates minted",
        Kind::Counter,
        move || misses.stats().misses,
    );
    let holds = Arc::clone(approvals);
    metrics.observe(
        "clawgate_holds_pending",
        "Requests waiting for people to decide",
        Kind::Gauge,
        move || holds.count() as u64,
    );
}

impl Current {
    fn new(policy: Policy) -> Current {
        Current {
            agents: Agents::new(&policy.config().agents),
            policy,
        }
    }
}
