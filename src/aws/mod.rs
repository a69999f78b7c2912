//! AWS specifics: account ids, the operation table generated from botocore's
//! service models; STS and SigV4 re-signing come later.

mod account;
pub mod base;
pub mod chunks;
mod credentials;
mod error_code;
pub mod models;
pub mod profiles;
pub mod sessions;
pub mod sigv4;
pub mod sts;
pub mod template;

pub use account::AccountId;
pub use credentials::AwsCredentials;
pub use error_code::error_code;
pub use models::{MODELS, Models, Operation, Protocol, Service};
