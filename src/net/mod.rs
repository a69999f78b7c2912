//! Transport pieces every room may use, below all of them: the host and
//! port a request is for, address classes and the dial rules (which
//! addresses clawgate dials), body plumbing (a memory budget, a minimum
//! pace, hop-by-hop headers), the pooled upstream client, clawgate's own
//! outgoing calls, and percent-decoding.

pub mod address;
pub mod body;
pub mod budget;
pub mod cidr;
pub mod dial;
pub mod dial_rules;
pub mod hop;
pub mod host_pattern;
pub mod pace;
pub mod query;
pub mod target;
pub mod transport;
pub mod upstream;

pub use body::{Body, BodyError, ReadError};
pub use budget::{Budget, OverBudget, Reservation};
pub use cidr::{Cidr, CidrError};
pub use dial::{DialError, Dialer, Resolve};
pub use dial_rules::{DialRules, Listener};
pub use host_pattern::{HostPattern, HostPatternError};
pub use target::{Target, TargetError, default_port};
pub use transport::{Transport, TransportError};
pub use upstream::{Timeouts, Upstream, UpstreamError};
