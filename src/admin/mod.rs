//! The admin server: the dashboard page, the JSON API (held requests, recent
//! decisions, live events, base keys), `/metrics` and `/healthz`. Everything
//! under `/api/` needs the bearer token made at first run. It answers only
//! for its own host names, and marks every answer `nosniff`.

mod api;
mod events;
mod host;
mod token;

pub use host::AdminHosts;
pub use token::load_or_create as admin_token;

use std::convert::Infallible;
use std::sync::Arc;

use http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, HOST, HeaderValue, X_CONTENT_TYPE_OPTIONS};
use http::{Method, Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::approval::{Approvals, Choice};
use crate::audit::Audit;
use crate::aws::base::RuntimeKeys;
use crate::config::TokenHash;
use crate::gate::Gate;
use crate::ids::HoldId;

/// The body of every admin response: whole, or a stream of events.
type AdminBody = UnsyncBoxBody<Bytes, Infallible>;

/// The dashboard: one page, its style and its script, served as written.
const DASHBOARD: [(&str, &str, &str); 3] = [
    ("/", "text/html; charset=utf-8", include_str!("dashboard/index.html")),
    (
        "/dashboard.css",
        "text/css; charset=utf-8",
        include_str!("dashboard/dashboard.css"),
    ),
    (
        "/dashboard.js",
        "text/javascript; charset=utf-8",
        include_str!("dashboard/dashboard.js"),
    ),
];

/// What the admin server needs.
pub struct Admin {
    /// The hash of the bearer token API calls must present.
    pub token: TokenHash,
    /// Where keys set through the API go.
    pub runtime_keys: RuntimeKeys,
    /// The requests held for people.
    pub approvals: Arc<Approvals>,
    /// The audit records and metrics.
    pub audit: Arc<Audit>,
    /// The gate, for the rules in force.
    pub gate: Arc<Gate>,
    /// The host names it answers for.
    pub hosts: AdminHosts,
}

/// Serves admin requests on `listener` until `shutdown` is cancelled.
pub async fn serve(listener: TcpListener, admin: Arc<Admin>, shutdown: CancellationToken) {
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "admin: cannot accept a connection");
                    continue;
                }
            },
            () = shutdown.cancelled() => return,
        };
        let admin = Arc::clone(&admin);
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let admin = Arc::clone(&admin);
                let shutdown = shutdown.clone();
                async move { Ok::<_, Infallible>(answer(&admin, request, shutdown).await) }
            });
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, "admin connection ended with an error");
            }
        });
    }
}

/// The response for one admin request: refused unless it names a host the
/// admin server answers for; marked `nosniff` whatever it is.
async fn answer(admin: &Admin, request: Request<Incoming>, shutdown: CancellationToken) -> Response<AdminBody> {
    let mut response = match misdirected(admin, &request) {
        Some(refusal) => refusal,
        None => route(admin, request, shutdown).await,
    };
    response
        .headers_mut()
        .insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// A 421 for a request whose `Host` (or absolute URI) names a host the admin
/// server does not answer for, or that names none.
fn misdirected(admin: &Admin, request: &Request<Incoming>) -> Option<Response<AdminBody>> {
    let header = request.headers().get(HOST).map(|v| v.to_str().unwrap_or_default());
    let named: Vec<&str> = request
        .uri()
        .authority()
        .map(|a| a.as_str())
        .into_iter()
        .chain(header)
        .collect();
    let problem = match named.iter().find(|host| !admin.hosts.allows(host)) {
        Some(host) => {
            tracing::warn!(host, "admin: refused a request for another host (DNS rebinding?)");
            format!(
                "the admin server does not answer for `{host}`: open it by its own address or `localhost`, \
                 or add the name to the gateway's `admin_hosts`"
            )
        }
        None if named.is_empty() => "send a `Host` header naming the admin server".to_string(),
        None => return None,
    };
    Some(reply(StatusCode::MISDIRECTED_REQUEST, &problem))
}

/// The response for one admin request.
async fn route(admin: &Admin, request: Request<Incoming>, shutdown: CancellationToken) -> Response<AdminBody> {
    let path = request.uri().path().to_string();
    if request.method() == Method::GET {
        if let Some((_, content_type, text)) = DASHBOARD.iter().find(|(p, _, _)| *p == path) {
            let mut response = whole(StatusCode::OK, *text);
            let headers = response.headers_mut();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            // Only its own script and style, and no framing of the Allow buttons.
            headers.insert(
                http::header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"),
            );
            return response;
        }
        match path.as_str() {
            "/healthz" => {
                return match admin.audit.health() {
                    Ok(()) => reply(StatusCode::OK, "ok"),
                    Err(unwritable) => reply(StatusCode::SERVICE_UNAVAILABLE, &format!("not ok: {unwritable}")),
                };
            }
            "/metrics" => {
                let mut response = whole(StatusCode::OK, admin.audit.metrics().render());
                response.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
                );
                return response;
            }
            _ => {}
        }
    }
    let Some(api_path) = path.strip_prefix("/api/") else {
        return reply(StatusCode::NOT_FOUND, "not found; the dashboard is at /");
    };
    if !authorized(admin, &request) {
        return reply(
            StatusCode::UNAUTHORIZED,
            "send the admin token (printed at first run) as `Authorization: Bearer TOKEN`",
        );
    }
    let parts: Vec<&str> = api_path.split('/').collect();
    match (request.method().clone(), parts.as_slice()) {
        (Method::GET, ["holds"]) => json(&admin.approvals.pending()),
        (Method::POST, ["holds", id, verb @ ("allow" | "deny")]) => match id.parse::<HoldId>() {
            Ok(id) => {
                let choice = if *verb == "allow" { Choice::Allow } else { Choice::Deny };
                api::decide(admin, id, choice, request).await
            }
            Err(problem) => reply(StatusCode::NOT_FOUND, &problem.to_string()),
        },
        (Method::GET, ["decisions"]) => api::decisions(admin, request.uri().query()),
        (Method::GET, ["events"]) => events::stream(admin, shutdown),
        (Method::GET, ["credentials"]) => api::credentials(admin),
        (Method::PUT, ["credentials", name]) => {
            let name = name.to_string();
            api::set_credential(admin, &name, request).await
        }
        _ => reply(StatusCode::NOT_FOUND, "no such API; see the README's admin API section"),
    }
}

/// Whether the request carries the admin token (compared in constant time).
fn authorized(admin: &Admin, request: &Request<Incoming>) -> bool {
    let presented = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let hash = TokenHash::of(presented.unwrap_or("").trim().as_bytes());
    presented.is_some() && bool::from(hash.as_bytes().ct_eq(admin.token.as_bytes()))
}

/// A response with `body` whole.
fn whole(status: StatusCode, body: impl Into<Bytes>) -> Response<AdminBody> {
    let mut response = Response::new(Full::new(body.into()).boxed_unsync());
    *response.status_mut() = status;
    response
}

/// A JSON response.
fn json<T: serde::Serialize>(value: &T) -> Response<AdminBody> {
    match serde_json::to_vec(value) {
        Ok(body) => {
            let mut response = whole(StatusCode::OK, body);
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
        Err(e) => reply(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// A plain-text response (a line), or an empty one.
fn reply(status: StatusCode, text: &str) -> Response<AdminBody> {
    let body = if text.is_empty() {
        Bytes::new()
    } else {
        Bytes::from(format!("{text}\n"))
    };
    let mut response = whole(status, body);
    if !text.is_empty() {
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    }
    response
}
