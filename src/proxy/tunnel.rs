//! Tunnels: bytes relayed to a host no endpoint claims, without interception.

use std::sync::Arc;

use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::client::Client;

/// Relays bytes both ways until either side closes, the tunnel is idle for
/// the idle timeout, or the gateway shuts down.
pub(super) async fn relay(client: Arc<Client>, upgraded: Upgraded, mut upstream: TcpStream) {
    let mut agent = TokioIo::new(upgraded);
    let idle = client.proxy.limits.idle_timeout;
    tokio::select! {
        copied = tokio::io::copy_bidirectional(&mut agent, &mut upstream) => match copied {
            Ok((up, down)) => tracing::debug!(peer = %client.peer, up, down, "tunnel closed"),
            Err(e) => tracing::debug!(peer = %client.peer, error = %e, "tunnel failed"),
        },
        () = client.activity.idle(idle) => tracing::debug!(peer = %client.peer, "closing an idle tunnel"),
        () = client.proxy.shutdown.cancelled() => {}
    }
}
