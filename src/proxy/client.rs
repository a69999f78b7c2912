//! One agent connection: who is on the other end and what it is doing,
//! shared by everything that serves it.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::OwnedSemaphorePermit;

use super::Proxy;
use super::activity::Activity;

/// One agent connection.
pub(super) struct Client {
    pub proxy: Arc<Proxy>,
    pub peer: SocketAddr,
    pub activity: Arc<Activity>,
    /// Held until the connection and everything it spawned are done.
    _permit: OwnedSemaphorePermit,
}

impl Client {
    /// A connection just accepted from `peer`, counted against the limit by `permit`.
    pub fn new(proxy: Arc<Proxy>, peer: SocketAddr, permit: OwnedSemaphorePermit) -> Client {
        Client {
            proxy,
            peer,
            activity: Activity::new(),
            _permit: permit,
        }
    }
}
