//! The admin server: health, and the JSON API (setting a base key now; the
//! dashboard, approvals and metrics join it).

mod token;

pub use token::load_or_create as admin_token;

use std::convert::Infallible;
use std::sync::Arc;

use http::header::AUTHORIZATION;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::aws::base::RuntimeKeys;
use crate::config::{AwsKey, KeySource, TokenHash};
use crate::proxy::Proxy;
use crate::secret::Secret;

/// The largest request body the admin API reads.
const MAX_BODY: usize = 64 * 1024;

/// What the admin server needs.
pub struct Admin {
    /// The hash of the bearer token API calls must present.
    pub token: TokenHash,
    /// Where keys set through the API go.
    pub runtime_keys: RuntimeKeys,
    /// The proxy, for the rules in force.
    pub proxy: Arc<Proxy>,
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
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let admin = Arc::clone(&admin);
                async move { Ok::<_, Infallible>(route(&admin, request).await) }
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

/// The response for one admin request.
async fn route(admin: &Admin, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_string();
    match (request.method(), path.as_str()) {
        (&Method::GET, "/healthz") => reply(StatusCode::OK, "ok"),
        (&Method::PUT, p) if p.starts_with("/api/credentials/") => {
            if !authorized(admin, &request) {
                return reply(
                    StatusCode::UNAUTHORIZED,
                    "send the admin token as `Authorization: Bearer TOKEN`",
                );
            }
            let name = p.trim_start_matches("/api/credentials/").to_string();
            set_credential(admin, &name, request).await
        }
        (method, p) if p.starts_with("/api/") => {
            if !authorized(admin, &request) {
                return reply(
                    StatusCode::UNAUTHORIZED,
                    "send the admin token as `Authorization: Bearer TOKEN`",
                );
            }
            let parts: Vec<&str> = p.trim_start_matches("/api/").split('/').collect();
            match (method, parts.as_slice()) {
                (&Method::GET, ["holds"]) => json(&admin.proxy.approvals().pending()),
                (&Method::POST, ["holds", id, verb @ ("allow" | "deny")]) => {
                    let id = id.parse::<u64>().unwrap_or(0);
                    let allow = *verb == "allow";
                    decide(admin, id, allow, request).await
                }
                _ => reply(StatusCode::NOT_FOUND, "not found"),
            }
        }
        _ => reply(StatusCode::NOT_FOUND, "not found"),
    }
}

/// `POST /api/holds/ID/allow|deny` with `{"by": "alice", "reason": "…"}`.
async fn decide(admin: &Admin, id: u64, allow: bool, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let body = match Limited::new(request.into_body(), MAX_BODY).collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => return reply(StatusCode::BAD_REQUEST, "the body could not be read (at most 64 KiB)"),
    };
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    let Some(by) = json.get("by").and_then(|v| v.as_str()).filter(|v| !v.trim().is_empty()) else {
        return reply(
            StatusCode::BAD_REQUEST,
            r#"say who decides: {"by": "alice", "reason": "optional"}"#,
        );
    };
    let reason = json.get("reason").and_then(|v| v.as_str()).map(str::to_string);
    let approvals = admin.proxy.approvals();
    let done = if allow {
        approvals.allow(id, by)
    } else {
        approvals.deny(id, by, reason)
    };
    match done {
        Ok(()) => reply(StatusCode::NO_CONTENT, ""),
        Err(e) => reply(StatusCode::NOT_FOUND, &e.to_string()),
    }
}

/// A JSON response.
fn json<T: serde::Serialize>(value: &T) -> Response<Full<Bytes>> {
    match serde_json::to_vec(value) {
        Ok(body) => {
            let mut response = Response::new(Full::new(Bytes::from(body)));
            response.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
            response
        }
        Err(e) => reply(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// `PUT /api/credentials/NAME` with `{"access_key_id", "secret_access_key", "session_token"?}`:
/// the base key of a credential whose key is entered at run time.
async fn set_credential(admin: &Admin, name: &str, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let runtime = admin
        .proxy
        .config()
        .credentials
        .iter()
        .any(|c| c.name == name && matches!(c.source, KeySource::Runtime));
    if !runtime {
        return reply(
            StatusCode::NOT_FOUND,
            &format!(
                "no credential `aws_account.{name}` takes its key at run time (one without a key in the rule file)"
            ),
        );
    }
    let body = match Limited::new(request.into_body(), MAX_BODY).collect().await {
        Ok(body) => zeroize::Zeroizing::new(body.to_bytes().to_vec()),
        Err(_) => return reply(StatusCode::BAD_REQUEST, "the body could not be read (at most 64 KiB)"),
    };
    let json: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(json) => json,
        Err(_) => return reply(StatusCode::BAD_REQUEST, "the body must be JSON"),
    };
    let field = |name: &str| {
        json.get(name)
            .and_then(|v| v.as_str())
            .filter(|v| !v.is_empty())
            .map(|v| Secret::new(v.to_string()))
    };
    let (Some(access_key_id), Some(secret_access_key)) = (field("access_key_id"), field("secret_access_key")) else {
        return reply(
            StatusCode::BAD_REQUEST,
            "give access_key_id and secret_access_key (and session_token if any)",
        );
    };
    admin.runtime_keys.set(
        name,
        AwsKey {
            access_key_id,
            secret_access_key,
            session_token: field("session_token"),
        },
    );
    tracing::info!(credential = name, "base key set through the admin API");
    reply(StatusCode::NO_CONTENT, "")
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

fn reply(status: StatusCode, text: &str) -> Response<Full<Bytes>> {
    let body = if text.is_empty() {
        Bytes::new()
    } else {
        Bytes::from(format!("{text}\n"))
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
}
