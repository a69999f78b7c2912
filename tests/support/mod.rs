//! Test support shared by the integration tests and `examples/bench_upstream.rs`:
//! a throwaway CA and an origin server.
#![allow(dead_code)]
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "test support: a setup that fails should fail the test loudly"
)]

pub mod agent;
pub mod gateway;
pub mod moto;
pub mod operator;
pub mod origin;
pub mod telegram;
pub mod test_ca;
pub mod upstream;
