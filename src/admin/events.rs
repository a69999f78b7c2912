//! `GET /api/events`: server-sent events for the dashboard. `hold` (a hold
//! is new or has progressed), `settled` (it ended) and `decision` (a request
//! was recorded). A subscriber that falls behind on holds is disconnected,
//! so that it reconnects and reloads rather than showing a stale picture; one
//! that falls behind on decisions skips some (they are all in the log).

use std::convert::Infallible;
use std::time::Duration;

use futures_util::stream;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use http::{Response, StatusCode};
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Bytes;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use super::{Admin, AdminBody};
use crate::approval::HoldEvent;

/// How often an idle stream sends a comment, so proxies and browsers keep it open.
const PING: Duration = Duration::from_secs(15);

/// The event stream, until the client goes away, falls behind, or the server shuts down.
pub(super) fn stream(admin: &Admin, shutdown: CancellationToken) -> Response<AdminBody> {
    let holds = admin.approvals.subscribe();
    let records = admin.audit.follow();
    let mut ping = tokio::time::interval(PING);
    ping.reset();
    let events = stream::unfold(
        (holds, records, ping, shutdown),
        |(mut holds, mut records, mut ping, shutdown)| async move {
            let chunk = tokio::select! {
                event = holds.recv() => match event {
                    Ok(HoldEvent::Pending(view)) => event_text("hold", &view),
                    Ok(HoldEvent::Settled { id, outcome }) => {
                        event_text("settled", &serde_json::json!({ "id": id, "outcome": outcome.word() }))
                    }
                    Err(RecvError::Lagged(_) | RecvError::Closed) => return None,
                },
                record = records.recv() => match record {
                    Ok(record) => event_text("decision", &*record),
                    // The feed is a sample under load; /api/decisions has the rest.
                    Err(RecvError::Lagged(missed)) => format!(": {missed} decisions skipped\n\n"),
                    Err(RecvError::Closed) => return None,
                },
                _ = ping.tick() => ": ping\n\n".to_string(),
                () = shutdown.cancelled() => return None,
            };
            Some((
                Ok::<_, Infallible>(Frame::data(Bytes::from(chunk))),
                (holds, records, ping, shutdown),
            ))
        },
    );
    // Tell the client at once that the stream is open.
    let opened = stream::once(async { Ok::<_, Infallible>(Frame::data(Bytes::from_static(b": open\n\n"))) });
    let mut response = Response::new(StreamBody::new(futures_util::StreamExt::chain(opened, events)).boxed_unsync());
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// One event: its name and its data as one line of JSON.
fn event_text<T: serde::Serialize + ?Sized>(name: &str, data: &T) -> String {
    match serde_json::to_string(data) {
        Ok(json) => format!("event: {name}\ndata: {json}\n\n"),
        Err(e) => {
            tracing::error!(error = %e, "cannot serialise an event");
            String::new()
        }
    }
}
