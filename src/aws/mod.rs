//! AWS specifics: the operation table generated from botocore's service
//! models, the base key, STS and its credential cache, SigV4 re-signing
//! (headers, presigned URLs, signed chunks), profiles for agents, and
//! reading AWS error codes.

pub mod base;
pub mod chunks;
mod credentials;
mod error_code;
pub mod models;
pub mod owner;
pub mod profiles;
pub mod resign;
pub mod screen;
pub mod sessions;
pub mod signature;
pub mod sigv4;
pub mod sts;
pub mod template;

pub use credentials::AwsCredentials;
pub use error_code::error_code;
pub use models::{HostPattern, Label, MODELS, Models, Operation, Partition, Protocol, Service};
