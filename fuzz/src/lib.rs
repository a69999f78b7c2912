//! Fuzz target bodies for the parsers that read what an agent (or a rule
//! author) writes. Each module's `run` takes arbitrary bytes, drives a
//! public clawgate API with them, and panics when a property it asserts
//! fails; a parser's refusal is never a failure. `fuzz_targets/` wraps each
//! for libFuzzer, and `tests/replay.rs` runs them on stable.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "fuzz targets are test code: a broken property must stop the run"
)]

pub mod aws_facet;
pub mod chunks;
pub mod connect;
pub mod request;
pub mod rules;
pub mod sigv4;
pub mod uri_template;
