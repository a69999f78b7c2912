//! The `gateway` block: addresses, routing of unclaimed hosts, upstream trust, limits.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::reader::{Blocks, Settings};
use super::{ConfigError, parse_duration};
use crate::net::{Cidr, HostPattern, Resolve};

const SETTINGS: &str = "listen, admin, admin_hosts, unknown_host, resolve, dial_private, upstream_ca, upstream_roots, \
    max_connections, max_header_bytes, header_read_timeout, idle_timeout, connect_timeout, shutdown_grace, \
    max_upstream_requests, max_requests_per_agent, response_timeout, min_body_rate, body_memory_mb, \
    audit_log, audit_rotate_mb, audit_keep, audit_failure, audit_buffer_kb, grant_window, max_pending_per_agent";

/// Gateway-wide settings; every field has a default, so the block is optional.
#[derive(Debug, Clone)]
pub struct Gateway {
    /// Where agents connect (`HTTPS_PROXY`).
    pub listen: SocketAddr,
    /// Where the admin server (dashboard, API, metrics, health) listens.
    pub admin: SocketAddr,
    /// Host names the admin server answers to besides loopback, `localhost`
    /// and its own address (`admin_hosts`); any other `Host` is refused.
    pub admin_hosts: Vec<HostPattern>,
    /// What to do with a host no endpoint claims.
    pub unknown_host: UnknownHost,
    /// Where to dial hosts instead of asking DNS; these addresses may be
    /// special-purpose ones (loopback, private), never metadata.
    pub resolve: Resolve,
    /// Special-purpose ranges (private, loopback, CGNAT, ...) dialled even
    /// when DNS or the agent names them (`dial_private`); metadata,
    /// link-local and clawgate's own listeners stay refused.
    pub dial_private: Vec<Cidr>,
    /// A PEM file of extra CA certificates trusted for upstream connections.
    pub upstream_ca: Option<PathBuf>,
    /// Which built-in roots upstream certificates are checked against.
    pub upstream_roots: UpstreamRoots,
    /// Timeouts and size limits.
    pub limits: Limits,
    /// Where audit records go.
    pub audit: AuditSettings,
    /// How held requests are admitted and limited.
    pub approvals: ApprovalSettings,
}

/// Where the audit log is written, when it is rotated, and what happens
/// while it cannot be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSettings {
    /// The JSON Lines file (`audit_log`); `None` means the command line's default.
    pub path: Option<PathBuf>,
    /// The size past which the file is rotated, in bytes (`audit_rotate_mb`).
    pub rotate_bytes: u64,
    /// How many rotated files are kept (`audit_keep`).
    pub keep: usize,
    /// Whether requests are served while records cannot be written (`audit_failure`).
    pub on_failure: AuditFailure,
    /// How many bytes of records wait in memory, at most, for the log to be
    /// written (`audit_buffer_kb`); past it records are dropped and counted.
    pub buffer_bytes: usize,
}

impl Default for AuditSettings {
    fn default() -> AuditSettings {
        AuditSettings {
            path: None,
            rotate_bytes: 64 << 20,
            keep: 5,
            on_failure: AuditFailure::Deny,
            buffer_bytes: 16 << 20,
        }
    }
}

/// What clawgate does with new requests while audit records cannot be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditFailure {
    /// Refuse them with a retryable 503 until records can be written (the default).
    Deny,
    /// Serve them, dropping (and counting) the records the buffer cannot hold.
    Allow,
}

/// How held requests are admitted and limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApprovalSettings {
    /// How long an approval also admits identical requests (`grant_window`).
    pub grant_window: Duration,
    /// Holds one agent may have pending at once (`max_pending_per_agent`).
    pub max_pending_per_agent: usize,
}

impl Default for ApprovalSettings {
    fn default() -> ApprovalSettings {
        ApprovalSettings {
            grant_window: Duration::from_secs(300),
            max_pending_per_agent: 20,
        }
    }
}

impl Default for Gateway {
    fn default() -> Gateway {
        Gateway {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            admin: SocketAddr::from(([127, 0, 0, 1], 8081)),
            admin_hosts: Vec::new(),
            unknown_host: UnknownHost::Deny,
            resolve: Resolve::default(),
            dial_private: Vec::new(),
            upstream_ca: None,
            upstream_roots: UpstreamRoots::Webpki,
            limits: Limits::default(),
            audit: AuditSettings::default(),
            approvals: ApprovalSettings::default(),
        }
    }
}

/// The fate of a CONNECT to a host that no endpoint claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownHost {
    /// Refuse the CONNECT with 403 (the default).
    Deny,
    /// Relay the bytes without interception or rules.
    Tunnel,
}

/// The trust anchors for upstream TLS, besides `upstream_ca`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamRoots {
    /// Mozilla's root program, compiled in (`webpki-roots`).
    Webpki,
    /// The operating system's certificate store.
    Native,
}

/// Timeouts and size limits that protect the gateway from slow or hostile clients.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Connections served at once; more are answered 503 and closed.
    pub max_connections: usize,
    /// Largest request head (request line and headers) accepted, in bytes.
    pub max_header_bytes: usize,
    /// How long a client may take to send a request head.
    pub header_read_timeout: Duration,
    /// How long a connection may sit with no request in flight and no bytes moving.
    pub idle_timeout: Duration,
    /// How long dialling an upstream may take, its TLS handshake included.
    pub connect_timeout: Duration,
    /// How long shutdown waits for in-flight requests.
    pub shutdown_grace: Duration,
    /// Requests in flight at once across all agents (HTTP/2 streams count one each).
    pub max_upstream_requests: usize,
    /// Requests one agent may have in flight at once, held ones included.
    pub max_requests_per_agent: usize,
    /// How long the upstream may take to send its response head once the request is sent.
    pub response_timeout: Duration,
    /// The slowest a request body may arrive, in bytes per second on average
    /// (after [`BODY_GRACE`]); 0 lets any pace through.
    pub min_body_rate: u64,
    /// Bytes of request bodies all requests together may hold in memory
    /// while they are decided and re-signed.
    pub body_memory: usize,
}

/// How long a body may lag behind `min_body_rate` before it is cut off.
pub const BODY_GRACE: Duration = Duration::from_secs(10);

/// The most HTTP/2 streams one agent connection may open at once.
const MAX_STREAMS: usize = 128;

impl Limits {
    /// HTTP/2 streams one agent connection may open at once: no more than
    /// its agent may have in flight.
    pub fn streams_per_connection(&self) -> u32 {
        u32::try_from(self.max_requests_per_agent.min(MAX_STREAMS)).unwrap_or(1)
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 10_000,
            max_header_bytes: 64 * 1024,
            header_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(300),
            connect_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(30),
            max_upstream_requests: 2048,
            max_requests_per_agent: 256,
            response_timeout: Duration::from_secs(300),
            min_body_rate: 1024,
            body_memory: 128 << 20,
        }
    }
}

/// Reads the (single, optional) `gateway` block.
pub(super) fn read(blocks: &Blocks<'_>, errors: &mut Vec<ConfigError>) -> Gateway {
    let mut gateway = Gateway::default();
    let Some(item) = blocks.gateway.first() else {
        return gateway;
    };
    for extra in &blocks.gateway[1..] {
        errors.push(ConfigError::Duplicate {
            at: extra.location(),
            what: "the `gateway` block".to_string(),
            first: item.location(),
        });
    }
    if !item.labels().is_empty() {
        errors.push(ConfigError::Labels {
            at: item.location(),
            block: "gateway".to_string(),
            expected: "no labels",
            example: "gateway {",
        });
    }
    let s = Settings::new(item, "gateway".to_string(), SETTINGS, errors);
    let address = |t: &str| {
        t.parse::<SocketAddr>()
            .map_err(|_| format!("`{t}` is not an address; write ip:port, e.g. \"127.0.0.1:8080\""))
    };
    let limits = &mut gateway.limits;
    if let Some(a) = s.parsed("listen", errors, address) {
        gateway.listen = a;
    }
    if let Some(a) = s.parsed("admin", errors, address) {
        gateway.admin = a;
    }
    if let Some(hosts) = s.parsed_list("admin_hosts", errors, HostPattern::parse) {
        gateway.admin_hosts = hosts;
    }
    if let Some(ranges) = s.parsed_list("dial_private", errors, str::parse::<Cidr>) {
        gateway.dial_private = ranges;
    }
    if let Some(u) = s.parsed("unknown_host", errors, |t| match t {
        "deny" => Ok(UnknownHost::Deny),
        "tunnel" => Ok(UnknownHost::Tunnel),
        _ => Err(format!("`{t}` is not a choice; write \"deny\" or \"tunnel\"")),
    }) {
        gateway.unknown_host = u;
    }
    if let Some(f) = s.parsed("audit_failure", errors, |t| match t {
        "deny" => Ok(AuditFailure::Deny),
        "allow" => Ok(AuditFailure::Allow),
        _ => Err(format!("`{t}` is not a choice; write \"deny\" or \"allow\"")),
    }) {
        gateway.audit.on_failure = f;
    }
    if let Some(r) = s.parsed("upstream_roots", errors, |t| match t {
        "webpki" => Ok(UpstreamRoots::Webpki),
        "native" => Ok(UpstreamRoots::Native),
        _ => Err(format!("`{t}` is not a choice; write \"webpki\" or \"native\"")),
    }) {
        gateway.upstream_roots = r;
    }
    gateway.upstream_ca = s.parsed("upstream_ca", errors, |t| {
        let path = item.source_dir().join(t);
        if path.is_file() {
            Ok(path)
        } else {
            Err(format!(
                "no file at `{}`; write the path of a PEM file of CA certificates",
                path.display()
            ))
        }
    });
    gateway.audit.path = s.text("audit_log", errors).map(|t| item.source_dir().join(t));
    for (key, field) in [
        ("grant_window", &mut gateway.approvals.grant_window),
        ("header_read_timeout", &mut limits.header_read_timeout),
        ("idle_timeout", &mut limits.idle_timeout),
        ("connect_timeout", &mut limits.connect_timeout),
        ("shutdown_grace", &mut limits.shutdown_grace),
        ("response_timeout", &mut limits.response_timeout),
    ] {
        if let Some(d) = s.parsed(key, errors, parse_duration) {
            *field = d;
        }
    }
    let mut rotate_mb = usize::try_from(gateway.audit.rotate_bytes >> 20).unwrap_or(usize::MAX);
    let mut body_mb = limits.body_memory >> 20;
    let mut buffer_kb = gateway.audit.buffer_bytes >> 10;
    for (key, field, least) in [
        ("max_connections", &mut limits.max_connections, 1),
        ("max_upstream_requests", &mut limits.max_upstream_requests, 1),
        ("max_requests_per_agent", &mut limits.max_requests_per_agent, 1),
        ("body_memory_mb", &mut body_mb, 16),
        ("max_header_bytes", &mut limits.max_header_bytes, 1024),
        ("audit_rotate_mb", &mut rotate_mb, 1),
        ("audit_keep", &mut gateway.audit.keep, 1),
        ("audit_buffer_kb", &mut buffer_kb, 64),
        ("max_pending_per_agent", &mut gateway.approvals.max_pending_per_agent, 1),
    ] {
        match s.integer(key, errors).map(usize::try_from) {
            Some(Ok(n)) if n >= least => *field = n,
            Some(_) => errors.extend(s.get(key).map(|a| s.invalid(a, format!("must be at least {least}")))),
            None => {}
        }
    }
    gateway.audit.rotate_bytes = (rotate_mb as u64).saturating_mul(1 << 20);
    limits.body_memory = body_mb.saturating_mul(1 << 20);
    if let Some(rate) = s.integer("min_body_rate", errors) {
        limits.min_body_rate = rate;
    }
    gateway.audit.buffer_bytes = buffer_kb.saturating_mul(1 << 10);
    if let Some(entries) = s.string_map("resolve", errors) {
        let mut resolve = Vec::new();
        for (pattern, addr, at) in entries {
            let parsed = HostPattern::parse(&pattern)
                .map_err(|e| e.to_string())
                .and_then(|p| Ok((p, address(&addr)?)));
            match parsed {
                Ok(entry) => resolve.push(entry),
                Err(problem) => errors.push(ConfigError::InvalidValue {
                    at,
                    name: "resolve".to_string(),
                    problem,
                }),
            }
        }
        gateway.resolve = Resolve::new(resolve);
    }
    gateway
}
