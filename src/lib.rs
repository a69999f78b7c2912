//! clawgate: an intercepting TLS egress gateway for AI agents.
//!
//! Agents point `HTTPS_PROXY` at clawgate. It terminates their TLS with its own
//! CA, decides on every request, and forwards what it allows upstream. The
//! modules follow the request: [`proxy`] accepts and forwards, [`tls`] owns the
//! certificates, [`config`] turns rule files into typed settings, [`admin`]
//! serves the operator's endpoints, [`approval`] holds requests for people,
//! and [`audit`] records every request.

pub mod admin;
pub mod approval;
pub mod audit;
pub mod aws;
pub mod config;
pub mod facet;
pub mod logging;
pub mod policy;
pub mod proxy;
pub mod run;
pub mod secret;
pub mod tls;
pub mod transport;
