//! `credential` blocks: the base keys clawgate signs with (never the agents').

use super::environment::Environment;
use super::reader::{Blocks, Settings};
use super::{ConfigError, Location};
use crate::secret::Secret;

/// A base credential, by name.
#[derive(Debug, Clone)]
pub struct Credential {
    /// The credential's name: `credential "aws_account" "base"` is `base`.
    pub name: String,
    /// Where the key comes from.
    pub source: KeySource,
}

/// Where a base key comes from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// Written in the rule file (literally, `env("…")` or `file("…")`).
    Inline(AwsKey),
    /// An AWS credentials file (ini, a `profile` section) or a JSON file
    /// (`AccessKeyId`, `SecretAccessKey`, `SessionToken`), read afresh each
    /// time a role is assumed, so a rotated key needs no restart.
    File {
        /// The file.
        path: std::path::PathBuf,
        /// The ini section to read.
        profile: String,
    },
    /// Obtained with a web identity token (EKS IRSA, pod identity): the
    /// role in `AWS_ROLE_ARN`, the token in the file
    /// `AWS_WEB_IDENTITY_TOKEN_FILE` (re-read at each call).
    WebIdentity {
        /// The role to assume.
        role_arn: String,
        /// The token file.
        token_file: std::path::PathBuf,
    },
    /// Entered at run time (dashboard or admin API); until then requests
    /// that need it fail closed.
    Runtime,
}

/// An AWS access key.
#[derive(Debug, Clone)]
pub struct AwsKey {
    /// The access key id (`AKIA…`).
    pub access_key_id: Secret,
    /// The secret access key.
    pub secret_access_key: Secret,
    /// A session token, for temporary keys.
    pub session_token: Option<Secret>,
}

const SETTINGS: &str = "access_key_id, secret_access_key, session_token, credentials_file, profile, web_identity";

/// Reads every `credential` block.
pub(super) fn read_all(blocks: &Blocks<'_>, env: &dyn Environment, errors: &mut Vec<ConfigError>) -> Vec<Credential> {
    let mut credentials: Vec<(Credential, Location)> = Vec::new();
    for item in &blocks.credential {
        let at = item.location();
        let labels = item.labels();
        let ["aws_account", name] = labels.as_slice() else {
            errors.push(ConfigError::Labels {
                at,
                block: "credential".to_string(),
                expected: "two labels, its kind (\"aws_account\") and its name",
                example: r#"credential "aws_account" "base" {"#,
            });
            continue;
        };
        let s = Settings::new(item, format!("credential \"aws_account\" \"{name}\""), SETTINGS, errors);
        let written: Vec<&str> = ["access_key_id", "secret_access_key"]
            .into_iter()
            .filter(|k| s.get(k).is_some())
            .collect();
        if written.len() == 1 {
            let (missing, example) = if written[0] == "access_key_id" {
                (
                    "secret_access_key",
                    r#"secret_access_key = env("CLAWGATE_BASE_SECRET_ACCESS_KEY")"#,
                )
            } else {
                ("access_key_id", r#"access_key_id = env("CLAWGATE_BASE_ACCESS_KEY_ID")"#)
            };
            errors.push(s.missing(at.clone(), missing, example));
        }
        let id = s.secret("access_key_id", env, errors);
        let secret = s.secret("secret_access_key", env, errors);
        let session_token = s.secret("session_token", env, errors);
        let inline = id.zip(secret).map(|(access_key_id, secret_access_key)| AwsKey {
            access_key_id,
            secret_access_key,
            session_token,
        });
        let file = s.text("credentials_file", errors).map(|t| item.source_dir().join(t));
        let profile = s.text("profile", errors).unwrap_or_else(|| "default".to_string());
        let web_identity = s.boolean("web_identity", errors).unwrap_or(false).then(|| {
            let var = |name: &'static str| {
                env.var(name)
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| errors_for_env(&s, name))
            };
            (var("AWS_ROLE_ARN"), var("AWS_WEB_IDENTITY_TOKEN_FILE"))
        });
        let web_identity = match web_identity {
            Some((Ok(role_arn), Ok(token_file))) => Some(KeySource::WebIdentity {
                role_arn,
                token_file: token_file.into(),
            }),
            Some((role, token)) => {
                errors.extend(role.err().into_iter().chain(token.err()));
                None
            }
            None => None,
        };
        let sources = usize::from(inline.is_some()) + usize::from(file.is_some()) + usize::from(web_identity.is_some());
        let source = match (inline, file, web_identity) {
            _ if sources > 1 => {
                errors.push(s.invalid_block(
                    "give the key one way: inline (access_key_id, secret_access_key), credentials_file, or web_identity",
                ));
                KeySource::Runtime
            }
            (Some(key), _, _) => KeySource::Inline(key),
            (_, Some(path), _) => KeySource::File { path, profile },
            (_, _, Some(web)) => web,
            (None, None, None) => KeySource::Runtime,
        };
        if let Some((_, first)) = credentials.iter().find(|(c, _)| c.name == *name) {
            errors.push(ConfigError::Duplicate {
                at,
                what: format!("credential aws_account.{name}"),
                first: first.clone(),
            });
            continue;
        }
        credentials.push((
            Credential {
                name: name.to_string(),
                source,
            },
            at,
        ));
    }
    credentials.into_iter().map(|(c, _)| c).collect()
}

/// The error for a `web_identity = true` whose environment variable is unset.
fn errors_for_env(s: &Settings<'_>, name: &str) -> ConfigError {
    match s.get("web_identity") {
        Some(attr) => s.invalid(
            attr,
            format!("environment variable `{name}` is not set; web identity needs AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE"),
        ),
        None => s.missing(s.block_location(), "web_identity", "web_identity = true"),
    }
}
