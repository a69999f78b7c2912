//! AWS keys as clawgate holds them: secret, never printed.

use std::time::SystemTime;

use crate::secret::Secret;

/// An access key, its secret and (for temporary keys) a session token and expiry.
#[derive(Debug, Clone)]
pub struct AwsCredentials {
    /// The access key id.
    pub access_key_id: Secret,
    /// The secret access key.
    pub secret_access_key: Secret,
    /// The session token of temporary credentials.
    pub session_token: Option<Secret>,
    /// When temporary credentials expire.
    pub expires: Option<SystemTime>,
}

impl AwsCredentials {
    /// The credentials as aws-sigv4 takes them.
    pub(super) fn identity(&self) -> aws_smithy_runtime_api::client::identity::Identity {
        aws_credential_types::Credentials::new(
            self.access_key_id.expose(),
            self.secret_access_key.expose(),
            self.session_token.as_ref().map(|t| t.expose().to_string()),
            self.expires,
            "clawgate",
        )
        .into()
    }
}
