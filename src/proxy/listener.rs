//! Accepting agents' connections and serving their first HTTP/1 exchange.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use super::activity::{self, Tracked};
use super::client::Client;
use super::{Proxy, front};
use crate::gate::{ErrorFormat, GateError, respond};

/// Accepts connections until the proxy shuts down.
pub(super) async fn accept_loop(proxy: Arc<Proxy>, listener: TcpListener) {
    let max = proxy.limits.max_connections;
    let permits = Arc::new(Semaphore::new(max));
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = proxy.shutdown.cancelled() => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: back off, keep serving.
                tracing::warn!(error = %e, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(%peer, error = %e, "cannot set TCP_NODELAY");
        }
        match Arc::clone(&permits).try_acquire_owned() {
            Ok(permit) => {
                let client = Arc::new(Client::new(Arc::clone(&proxy), peer, permit));
                proxy.tasks.spawn(serve(client, stream));
            }
            Err(_) => {
                tracing::warn!(%peer, max, "connection limit reached; refusing a connection");
                proxy.tasks.spawn(refuse(stream, max));
            }
        }
    }
}

/// Serves an agent's connection: CONNECTs and plain-HTTP requests.
async fn serve(client: Arc<Client>, stream: TcpStream) {
    let proxy = Arc::clone(&client.proxy);
    let limits = &proxy.limits;
    let activity = Arc::clone(&client.activity);
    let io = TokioIo::new(Tracked::new(stream, Arc::clone(&activity)));
    let peer = client.peer;
    let service = service_fn(move |request| {
        let client = Arc::clone(&client);
        async move { Ok::<_, Infallible>(front::handle(client, request).await) }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_header_size(limits.max_header_bytes)
        .serve_connection(io, service)
        .with_upgrades();
    let done = activity::drive(
        conn,
        |c| c.graceful_shutdown(),
        &activity,
        limits.idle_timeout,
        &proxy.shutdown,
    );
    if let Err(e) = done.await {
        tracing::debug!(%peer, error = %e, "agent connection ended with an error");
    }
}

/// Answers one request with 503 and closes: the connection limit is reached.
async fn refuse(stream: TcpStream, max: usize) {
    let service =
        service_fn(
            move |_request| async move { Ok::<_, Infallible>(respond(&GateError::Busy(max), ErrorFormat::Text)) },
        );
    let conn = http1::Builder::new()
        .keep_alive(false)
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(5))
        .serve_connection(TokioIo::new(stream), service);
    if let Err(e) = conn.await {
        tracing::debug!(error = %e, "refused connection ended with an error");
    }
}
