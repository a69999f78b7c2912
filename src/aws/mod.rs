//! AWS specifics: account ids now; STS, SigV4 and the service model table later.

mod account;

pub use account::AccountId;
