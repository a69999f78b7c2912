//! AWS specifics: account ids, the operation table generated from botocore's
//! service models; STS and SigV4 re-signing come later.

mod account;
pub mod models;
pub mod profiles;
pub mod template;

pub use account::AccountId;
pub use models::{MODELS, Models, Operation, Protocol, Service};
