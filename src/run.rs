//! Starting the gateway: load rules, load or create the CA, bind, serve,
//! and shut down gracefully.

use std::io::Write;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::admin::{Admin, AdminHosts};
use crate::approval::{Approvals, Telegram};
use crate::audit::{Audit, AuditLog, AuditLogError, Kind};
use crate::aws::base::RuntimeKeys;
use crate::aws::resign::Resigner;
use crate::aws::sessions::Sessions;
use crate::config::{Config, ConfigErrors, Gateway, KeySource, Limits};
use crate::gate::{self, Gate};
use crate::net::{DialRules, Dialer, Listener, Timeouts, Transport, Upstream};
use crate::policy::Policy;
use crate::proxy::Proxy;
use crate::tls::{self as tls_setup, CertificateAuthority, LeafCerts, TlsError};

/// Leaf certificates kept in memory.
const LEAF_CACHE: NonZeroUsize = match NonZeroUsize::new(10_000) {
    Some(n) => n,
    None => NonZeroUsize::MIN,
};

/// How often holds nobody waits on any more are looked for.
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// What `clawgate run` was asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// The rule directory.
    pub rules: PathBuf,
    /// Where the CA lives (created on first run).
    pub ca_dir: PathBuf,
    /// Overrides `gateway.listen`.
    pub listen: Option<SocketAddr>,
    /// Overrides `gateway.admin`.
    pub admin: Option<SocketAddr>,
    /// Overrides `gateway.audit_log`.
    pub audit_log: Option<PathBuf>,
}

/// Where the audit log goes when neither the command line nor the gateway block says.
pub const DEFAULT_AUDIT_LOG: &str = "audit/audit.jsonl";

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The rule files did not load.
    #[error("{0}")]
    Config(#[from] ConfigErrors),
    /// The CA or TLS set-up failed.
    #[error("{0}")]
    Tls(#[from] TlsError),
    /// The admin token could not be read or made.
    #[error("cannot set up the admin token in `{}`: {source}", path.display())]
    AdminToken {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The audit log could not be opened.
    #[error("{0}")]
    Audit(#[from] AuditLogError),
    /// An address could not be bound.
    #[error("cannot listen for {what} on {addr}: {source}")]
    Bind {
        /// "agents" or "the admin server".
        what: &'static str,
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// The runtime `clawgate run` serves on: `worker_threads` threads, by
/// default one less than the machine's cores (at least one). The agents
/// clawgate serves usually share its machine; and a request handed between
/// threads costs a wake-up each time, which on two cores made one thread
/// both faster and cheaper per request than two (benches/load/README.md).
pub fn runtime(worker_threads: Option<NonZeroUsize>) -> std::io::Result<tokio::runtime::Runtime> {
    let threads = worker_threads.map_or_else(
        || {
            std::thread::available_parallelism()
                .map_or(1, NonZeroUsize::get)
                .saturating_sub(1)
                .max(1)
        },
        NonZeroUsize::get,
    );
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
}

/// Runs the gateway until `stop` completes, then drains in-flight requests.
pub async fn run(options: Options, stop: impl Future<Output = ()>) -> Result<(), StartError> {
    let policy = load(&options)?;
    log_notices(&policy);
    let config = Arc::clone(policy.config());
    let limits = fit_fd_limit(&config.gateway.limits);
    let (ca, created) = CertificateAuthority::load_or_create(&options.ca_dir)?;
    if created {
        tracing::info!(path = %ca.cert_path().display(), fingerprint = ca.fingerprint(), "created a new CA; agents must trust its certificate");
    }
    let ca = Arc::new(ca);
    let leaves = Arc::new(LeafCerts::new(Arc::clone(&ca), LEAF_CACHE)?);
    let grace = config.gateway.limits.shutdown_grace;
    let proxy_listener = bind(config.gateway.listen, "agents").await?;
    let admin_listener = bind(config.gateway.admin, "the admin server").await?;
    let proxy_addr = local_addr(&proxy_listener, config.gateway.listen);
    let admin_addr = local_addr(&admin_listener, config.gateway.admin);
    let agents_configured = !config.agents.is_empty();
    let (admin_token, new_token) =
        crate::admin::admin_token(&options.ca_dir).map_err(|source| StartError::AdminToken {
            path: options.ca_dir.clone(),
            source,
        })?;
    let audit = &config.gateway.audit;
    let audit_path = audit.path.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_AUDIT_LOG));
    let audit_log = AuditLog::open(&audit_path, audit)?;
    tracing::info!("audit records go to {}", audit_path.display());
    let audit = Arc::new(Audit::new(Some(audit_log), audit.on_failure));

    // Every shared piece, built once and handed to the rooms that need it.
    let gateway = &config.gateway;
    // clawgate never dials itself: the addresses actually bound, not the configured ones.
    let own = vec![(Listener::Proxy, proxy_addr), (Listener::Admin, admin_addr)];
    let dial_rules = DialRules::new(gateway.dial_private.clone(), own);
    let dialer = Dialer::new(gateway.resolve.clone(), dial_rules, gateway.limits.connect_timeout);
    let client_tls = tls_setup::client_config(gateway.upstream_roots, gateway.upstream_ca.as_deref())?;
    let timeouts = Timeouts {
        connect: gateway.limits.connect_timeout,
        response: gateway.limits.response_timeout,
    };
    let upstream = Upstream::new(dialer.clone(), client_tls, timeouts);
    let transport: Arc<dyn Transport> = Arc::new(upstream.clone());
    let sessions = Arc::new(Sessions::new(Arc::clone(&transport)));
    let runtime_keys = RuntimeKeys::default();
    let approvals = Arc::new(Approvals::new(gateway.approvals));
    observe(&audit, &leaves, &sessions, &approvals);
    let gate = Arc::new(Gate::new(
        policy,
        gate::Shared {
            unknown_host: gateway.unknown_host,
            dialer,
            upstream,
            resigner: Resigner::new(sessions, runtime_keys.clone()),
            approvals: Arc::clone(&approvals),
            audit: Arc::clone(&audit),
            limits: limits.clone(),
        },
    ));
    let proxy = Arc::new(Proxy::new(Arc::clone(&gate), leaves, limits)?);
    if let Some(token) = new_token {
        println!(
            "admin API token (shown only now; clawgate keeps only its hash): {}",
            token.reveal()
        );
    }
    // Telegram bots follow holds from before the first request can arrive.
    let bots = Telegram::bots(&config.humans, &transport, &approvals);
    print_setup(proxy_addr, admin_addr, &ca, agents_configured);
    tracing::info!(%proxy_addr, %admin_addr, "clawgate is running");

    let admin_shutdown = CancellationToken::new();
    let admin = Arc::new(Admin {
        token: admin_token,
        runtime_keys,
        approvals: Arc::clone(&approvals),
        audit: Arc::clone(&audit),
        gate: Arc::clone(&gate),
        hosts: AdminHosts::new(gateway.admin_hosts.clone(), admin_addr),
    });
    let admin = tokio::spawn(crate::admin::serve(admin_listener, admin, admin_shutdown.clone()));
    let serving = tokio::spawn(Arc::clone(&proxy).serve(proxy_listener));
    let mut helpers: Vec<_> = bots.into_iter().map(|bot| tokio::spawn(bot.run())).collect();
    helpers.push(tokio::spawn(Arc::clone(&approvals).sweep_every(SWEEP_EVERY)));
    let reloading = tokio::spawn(reload_on_change(options, Arc::clone(&config), Arc::clone(&gate)));
    stop.await;
    reloading.abort();
    tracing::info!("shutting down: no new connections; finishing requests in flight");
    proxy.shutdown();
    // Nobody will decide on them now: deny rather than keep agents waiting.
    approvals.deny_all("clawgate is shutting down");
    if !proxy.drained(grace).await {
        tracing::warn!(
            grace_secs = grace.as_secs(),
            "requests still in flight after the grace period were cut off"
        );
    }
    admin_shutdown.cancel();
    for helper in helpers {
        helper.abort();
    }
    // Both tasks end on their own once shut down; a panic in one was already logged.
    let _ = tokio::join!(admin, serving);
    // Every response has been sent or cut off by now, so every record is queued.
    audit.close();
    tracing::info!("stopped");
    Ok(())
}

/// Loads the rule directory, with the command line's address overrides.
fn load(options: &Options) -> Result<Policy, ConfigErrors> {
    let mut config = Config::load_dir(&options.rules)?;
    config.gateway.listen = options.listen.unwrap_or(config.gateway.listen);
    config.gateway.admin = options.admin.unwrap_or(config.gateway.admin);
    if let Some(path) = &options.audit_log {
        config.gateway.audit.path = Some(path.clone());
    }
    Policy::compile(config)
}

/// The limits, fitted to the open-file limit: the soft limit is raised to
/// the hard one, and if agents' connections and the requests in flight
/// upstream (one descriptor each) could still exceed it, both are lowered
/// in proportion, with a warning, so clawgate cannot run out of
/// descriptors and lock every agent out.
fn fit_fd_limit(limits: &Limits) -> Limits {
    let mut fitted = limits.clone();
    let wanted = limits.max_connections.saturating_add(limits.max_upstream_requests);
    let files =
        match rlimit::increase_nofile_limit(u64::try_from(wanted.saturating_add(FD_RESERVE)).unwrap_or(u64::MAX)) {
            Ok(files) => usize::try_from(files).unwrap_or(usize::MAX),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read or raise the open-file limit");
                return fitted;
            }
        };
    let room = files.saturating_sub(FD_RESERVE).max(2);
    if wanted > room {
        let scaled = |n: usize| {
            usize::try_from(n as u128 * room as u128 / wanted as u128)
                .unwrap_or(1)
                .max(1)
        };
        fitted.max_connections = scaled(limits.max_connections);
        fitted.max_upstream_requests = scaled(limits.max_upstream_requests);
        tracing::warn!(
            files,
            max_connections = fitted.max_connections,
            max_upstream_requests = fitted.max_upstream_requests,
            "the open-file limit is below max_connections + max_upstream_requests; both are lowered to fit \
             (raise `ulimit -n` to serve more)"
        );
    }
    fitted
}

/// Descriptors kept for everything besides agents and upstreams: listeners,
/// the audit log, STS, Telegram, the admin server's clients.
const FD_RESERVE: usize = 256;

fn log_notices(policy: &Policy) {
    let config = policy.config();
    for notice in &config.notices {
        tracing::info!("{notice}");
    }
    for credential in &config.credentials {
        if matches!(credential.source, KeySource::Runtime) {
            tracing::warn!(
                "credential aws_account.{} has no key yet: AWS requests that need it are refused until one is set \
                 (access_key_id/secret_access_key or credentials_file in the rule file)",
                credential.name
            );
        }
    }
}

/// Reloads the rules on SIGHUP and whenever a file in the rule directory
/// changes. A directory that fails to load leaves the rules in force.
/// `started` is the configuration clawgate started with: gateway settings
/// need a restart to change.
async fn reload_on_change(options: Options, started: Arc<Config>, gate: Arc<Gate>) {
    let (tx, mut changed) = tokio::sync::mpsc::unbounded_channel();
    let on_hangup = tx.clone();
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok_and(|e| !e.kind.is_access()) {
            let _ = tx.send(());
        }
    });
    // Kept alive for as long as this task runs.
    let _watcher = match watcher {
        Ok(mut watcher) => {
            match notify::Watcher::watch(&mut watcher, &options.rules, notify::RecursiveMode::NonRecursive) {
                Ok(()) => Some(watcher),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot watch the rule directory; reload with SIGHUP");
                    None
                }
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch the rule directory; reload with SIGHUP");
            None
        }
    };
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(mut hangup) => {
            tokio::spawn(async move {
                while hangup.recv().await.is_some() {
                    if on_hangup.send(()).is_err() {
                        return;
                    }
                }
            });
        }
        Err(e) => tracing::warn!(error = %e, "cannot listen for SIGHUP"),
    }
    while changed.recv().await.is_some() {
        // Editors write in bursts: wait for the burst to end, then load once.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        while changed.try_recv().is_ok() {}
        match load(&options) {
            Ok(policy) => {
                log_notices(&policy);
                if telegram_chats(&gate.config()) != telegram_chats(policy.config()) {
                    tracing::warn!("the telegram settings changed; restart clawgate to apply them");
                }
                warn_of_restart(&started.gateway, &policy.config().gateway);
                tracing::info!(rules = policy.config().rules.len(), "rules reloaded");
                gate.reload(policy);
            }
            Err(errors) => tracing::error!("the rule files did not load, so the rules in force stay:\n{errors}"),
        }
    }
}

/// Warns when the gateway block changed in ways a reload does not apply.
fn warn_of_restart(old: &Gateway, new: &Gateway) {
    let restart = new.listen != old.listen
        || new.admin != old.admin
        || new.admin_hosts != old.admin_hosts
        || new.dial_private != old.dial_private
        || new.upstream_ca != old.upstream_ca
        || new.audit != old.audit
        || new.approvals != old.approvals;
    if restart {
        tracing::warn!(
            "the gateway block changed; restart clawgate to apply addresses, admin hosts, dial rules, \
             upstream trust, the audit log and approval limits"
        );
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

/// Who is asked in which Telegram chat, through which bot: read at start-up only.
fn telegram_chats(config: &Config) -> Vec<(&str, &crate::config::Telegram)> {
    config
        .humans
        .iter()
        .filter_map(|h| Some((h.name.as_str(), h.telegram.as_ref()?)))
        .collect()
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; stop clawgate with SIGINT");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}

async fn bind(addr: SocketAddr, what: &'static str) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { what, addr, source })
}

fn local_addr(listener: &TcpListener, configured: SocketAddr) -> SocketAddr {
    listener.local_addr().unwrap_or(configured)
}

/// Prints, on standard output, what an agent's shell needs to use clawgate.
fn print_setup(proxy: SocketAddr, admin: SocketAddr, ca: &CertificateAuthority, agents_configured: bool) {
    let ca_path = absolute(ca.cert_path());
    let ca_path = ca_path.display();
    let user = if agents_configured { "NAME:TOKEN@" } else { "" };
    let mut out = std::io::stdout().lock();
    let text = format!(
        "clawgate is running: proxy on {proxy}, admin on http://{admin}\n\
         CA certificate {ca_path} (SHA-256 {fingerprint})\n\
         For an agent's shell:\n\
         export HTTPS_PROXY=http://{user}{proxy}\n\
         export AWS_CA_BUNDLE={ca_path}\n\
         export SSL_CERT_FILE={ca_path}\n\
         export REQUESTS_CA_BUNDLE={ca_path}\n\
         export NODE_EXTRA_CA_CERTS={ca_path}\n",
        fingerprint = ca.fingerprint(),
    );
    // Standard output closed is no reason to stop serving.
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}
