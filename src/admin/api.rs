//! The JSON API's handlers: decide a hold, recent decisions, base keys.

use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::{Bytes, Incoming};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::{Admin, AdminBody, json, reply};
use crate::approval::{ApprovalError, Choice, Decider};
use crate::audit::{Filter, Verdict};
use crate::config::{AwsKey, KeySource};
use crate::ids::HoldId;
use crate::secret::Secret;

/// The largest request body the admin API reads.
const MAX_BODY: usize = 64 * 1024;
/// Recent decisions returned when the query does not say.
const DEFAULT_LIMIT: usize = 100;

/// `POST /api/holds/ID/allow|deny` with `{"by": "alice", "reason": "…"}`.
pub(super) async fn decide(
    admin: &Admin,
    id: HoldId,
    choice: Choice,
    request: Request<Incoming>,
) -> Response<AdminBody> {
    #[derive(Deserialize)]
    struct Body {
        by: Option<String>,
        reason: Option<String>,
    }
    let body = match read(request).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let body: Option<Body> = serde_json::from_slice(&body).ok();
    let Some((by, reason)) = body.and_then(|b| Some((b.by.filter(|b| !b.trim().is_empty())?, b.reason))) else {
        return reply(
            StatusCode::BAD_REQUEST,
            r#"say who decides: {"by": "alice", "reason": "optional"}"#,
        );
    };
    let decider = Decider {
        by: by.trim(),
        reason: reason.as_deref().map(str::trim).filter(|r| !r.is_empty()),
        approver: None,
    };
    match admin.approvals.decide(id, choice, decider) {
        Ok(()) => reply(StatusCode::NO_CONTENT, ""),
        Err(e @ ApprovalError::NotFound(_)) => reply(StatusCode::NOT_FOUND, &e.to_string()),
        Err(e) => reply(StatusCode::CONFLICT, &e.to_string()),
    }
}

/// `GET /api/decisions?agent=&decision=&account=&limit=`: recent records,
/// newest first.
pub(super) fn decisions(admin: &Admin, query: Option<&str>) -> Response<AdminBody> {
    let query = crate::net::query::parse_query(query.unwrap_or(""));
    let field = |name: &str| {
        query
            .get(name)
            .and_then(|v| v.first())
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let decision = match field("decision").map(|d| Verdict::parse(&d)).transpose() {
        Ok(decision) => decision,
        Err(problem) => return reply(StatusCode::BAD_REQUEST, &problem.to_string()),
    };
    let filter = Filter {
        agent: field("agent"),
        decision,
        account: field("account"),
    };
    let limit = match field("limit").map(|l| l.parse::<usize>()) {
        None => DEFAULT_LIMIT,
        Some(Ok(limit)) => limit,
        Some(Err(_)) => return reply(StatusCode::BAD_REQUEST, "`limit` must be a number"),
    };
    json(&admin.audit.recent(&filter, limit))
}

/// `GET /api/credentials`: the credentials whose key is entered at run
/// time, and whether it has been.
pub(super) fn credentials(admin: &Admin) -> Response<AdminBody> {
    #[derive(serde::Serialize)]
    struct Credential<'a> {
        name: &'a str,
        set: bool,
    }
    let config = admin.gate.config();
    let list: Vec<Credential<'_>> = config
        .credentials
        .iter()
        .filter(|c| matches!(c.source, KeySource::Runtime))
        .map(|c| Credential {
            name: &c.name,
            set: admin.runtime_keys.is_set(&c.name),
        })
        .collect();
    json(&list)
}

/// `PUT /api/credentials/NAME` with `{"access_key_id", "secret_access_key", "session_token"?}`:
/// the base key of a credential whose key is entered at run time.
pub(super) async fn set_credential(admin: &Admin, name: &str, request: Request<Incoming>) -> Response<AdminBody> {
    let runtime = admin
        .gate
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
    let body = match read(request).await {
        Ok(body) => Zeroizing::new(body.to_vec()),
        Err(response) => return response,
    };
    let json: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(json) => json,
        Err(_) => return reply(StatusCode::BAD_REQUEST, "the body must be JSON"),
    };
    let field = |name: &str| {
        json.get(name)
            .and_then(|v| v.as_str())
            .map(str::trim)
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

/// The request's body, up to [`MAX_BODY`].
async fn read(request: Request<Incoming>) -> Result<Bytes, Response<AdminBody>> {
    match Limited::new(request.into_body(), MAX_BODY).collect().await {
        Ok(body) => Ok(body.to_bytes()),
        Err(_) => Err(reply(
            StatusCode::BAD_REQUEST,
            "the body could not be read (at most 64 KiB)",
        )),
    }
}
