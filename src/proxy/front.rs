//! The front door: every request on the listener goes to the gate; what a
//! CONNECT opened (an intercepted or a relayed tunnel) is opened once the
//! agent has the gate's `200`.

use std::sync::Arc;

use http::{Method, Request, Response};
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;

use super::activity::Guarded;
use super::client::Client;
use super::{intercept, tunnel};
use crate::gate::{Arrival, Opened};
use crate::net::{Body, body};

/// Handles one request on an agent's connection.
pub(super) async fn handle(client: Arc<Client>, mut request: Request<Incoming>) -> Response<Body> {
    let in_flight = client.activity.begin();
    let upgrade = (request.method() == Method::CONNECT).then(|| hyper::upgrade::on(&mut request));
    let arrival = Arrival::Direct { peer: client.peer };
    let answer = client.proxy.gate.handle(arrival, request).await;
    if let (Some(opened), Some(upgrade)) = (answer.opened, upgrade) {
        open(&client, opened, upgrade);
    }
    answer.response.map(|b| body::boxed(Guarded::new(b, in_flight)))
}

/// Serves what a CONNECT opened, once the connection is upgraded.
fn open(client: &Arc<Client>, opened: Opened, upgrade: OnUpgrade) {
    let client = Arc::clone(client);
    let tasks = client.proxy.tasks.clone();
    tasks.spawn(async move {
        let upgraded = match upgrade.await {
            Ok(upgraded) => upgraded,
            Err(e) => return tracing::debug!(error = %e, "CONNECT was not upgraded"),
        };
        match opened {
            Opened::Intercept(tunnel) => intercept::serve(client, upgraded, tunnel).await,
            Opened::Relay(upstream) => tunnel::relay(client, upgraded, upstream).await,
        }
    });
}
