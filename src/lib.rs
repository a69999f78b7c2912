//! clawgate: an intercepting TLS egress gateway for AI agents.
//!
//! Agents point `HTTPS_PROXY` at clawgate. It terminates their TLS with its own
//! CA, decides on every request, and forwards what it allows upstream. The
//! modules follow the request: [`proxy`] is the agent-facing transport and
//! hands every request to the [`gate`], which runs it through named stages:
//! [`facet`] builds the facts, [`policy`] decides, [`approval`] holds for
//! people, [`aws`] re-signs, [`net`] forwards, [`audit`] records. [`config`]
//! turns rule files into typed settings, [`tls`] owns the certificates,
//! [`admin`] serves the operator's endpoints, and [`ids`] holds the typed ids
//! they all share. [`run`] builds every shared piece once and hands each
//! room what it needs.

pub mod admin;
pub mod approval;
pub mod audit;
pub mod aws;
pub mod config;
pub mod facet;
pub mod gate;
pub mod ids;
pub mod logging;
pub mod net;
pub mod policy;
pub mod proxy;
pub mod run;
pub mod secret;
pub mod tls;
