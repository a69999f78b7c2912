//! The base key: the one long-lived AWS key clawgate holds, from the rule
//! file or from a credentials file read afresh each time it is needed.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, PoisonError, RwLock};

use super::AwsCredentials;
use crate::config::{AwsKey, Credential, KeySource};
use crate::secret::Secret;

/// Why the base key is not available.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BaseKeyError {
    /// No key has been given yet.
    #[error("the base credential `aws_account.{0}` has no key yet; set it in the rule file or through the admin API")]
    Missing(String),
    /// The credentials file could not be read.
    #[error("the base credential `aws_account.{name}` could not be read from `{path}`: {reason}")]
    File {
        /// The credential's name.
        name: String,
        /// The file.
        path: String,
        /// What was wrong (never the file's contents).
        reason: FileProblem,
    },
}

/// What is wrong with a credentials file; never says what it holds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileProblem {
    /// It could not be read.
    #[error("{0}")]
    Unreadable(String),
    /// It starts like JSON but is not.
    #[error("the file is not valid JSON")]
    NotJson,
    /// Its JSON is not an object.
    #[error("the JSON is not an object")]
    NotAnObject,
    /// The ini file has no section for the profile.
    #[error("it has no [{0}] section")]
    NoProfile(String),
    /// No access key id.
    #[error("it has no access key id")]
    NoAccessKeyId,
    /// No secret access key.
    #[error("it has no secret access key")]
    NoSecretAccessKey,
}

/// Base keys entered at run time (through the admin API), by credential name.
#[derive(Debug, Default, Clone)]
pub struct RuntimeKeys(Arc<RwLock<HashMap<String, AwsKey>>>);

impl RuntimeKeys {
    /// Puts `key` in force for the credential `name`.
    pub fn set(&self, name: &str, key: AwsKey) {
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.to_string(), key);
    }

    /// Whether a key has been set for the credential `name`.
    pub fn is_set(&self, name: &str) -> bool {
        self.0.read().unwrap_or_else(PoisonError::into_inner).contains_key(name)
    }

    fn get(&self, name: &str) -> Option<AwsKey> {
        self.0.read().unwrap_or_else(PoisonError::into_inner).get(name).cloned()
    }
}

/// What stands in for the base key right now.
#[derive(Debug, Clone)]
pub enum Base {
    /// The key itself.
    Key(AwsCredentials),
    /// A web identity to exchange for it (through the credential cache).
    WebIdentity {
        /// The role to assume.
        role_arn: String,
        /// The token file.
        token_file: std::path::PathBuf,
    },
}

/// The base key of `credential`, as it stands now; `runtime` holds keys
/// entered through the admin API for credentials whose source is run time.
pub fn load(credential: &Credential, runtime: &RuntimeKeys) -> Result<Base, BaseKeyError> {
    match &credential.source {
        KeySource::WebIdentity { role_arn, token_file } => Ok(Base::WebIdentity {
            role_arn: role_arn.clone(),
            token_file: token_file.clone(),
        }),
        KeySource::Inline(key) => Ok(Base::Key(AwsCredentials {
            access_key_id: key.access_key_id.clone(),
            secret_access_key: key.secret_access_key.clone(),
            session_token: key.session_token.clone(),
            expires: None,
        })),
        KeySource::File { path, profile } => {
            from_file(path, profile)
                .map(Base::Key)
                .map_err(|reason| BaseKeyError::File {
                    name: credential.name.clone(),
                    path: path.display().to_string(),
                    reason,
                })
        }
        KeySource::Runtime => match runtime.get(&credential.name) {
            Some(key) => Ok(Base::Key(AwsCredentials {
                access_key_id: key.access_key_id,
                secret_access_key: key.secret_access_key,
                session_token: key.session_token,
                expires: None,
            })),
            None => Err(BaseKeyError::Missing(credential.name.clone())),
        },
    }
}

/// Reads an AWS ini credentials file (section `profile`) or a JSON file in
/// `credential_process` form.
fn from_file(path: &Path, profile: &str) -> Result<AwsCredentials, FileProblem> {
    let text =
        zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|e| FileProblem::Unreadable(e.to_string()))?);
    let fields: Vec<(String, Secret)> = if text.trim_start().starts_with('{') {
        let json: serde_json::Value = serde_json::from_str(&text).map_err(|_| FileProblem::NotJson)?;
        let object = json.as_object().ok_or(FileProblem::NotAnObject)?;
        object
            .iter()
            .filter_map(|(k, v)| Some((k.to_ascii_lowercase(), Secret::new(v.as_str()?.to_string()))))
            .collect()
    } else {
        ini_section(&text, profile).ok_or_else(|| FileProblem::NoProfile(profile.to_string()))?
    };
    let get = |names: &[&str]| {
        fields
            .iter()
            .find(|(k, _)| names.contains(&k.as_str()))
            .map(|(_, v)| v.clone())
    };
    Ok(AwsCredentials {
        access_key_id: get(&["aws_access_key_id", "accesskeyid"]).ok_or(FileProblem::NoAccessKeyId)?,
        secret_access_key: get(&["aws_secret_access_key", "secretaccesskey"]).ok_or(FileProblem::NoSecretAccessKey)?,
        session_token: get(&["aws_session_token", "sessiontoken"]),
        expires: None,
    })
}

/// The `key = value` lines of `[profile]` (keys lower-case).
fn ini_section(text: &str, profile: &str) -> Option<Vec<(String, Secret)>> {
    let mut in_section = false;
    let mut found = false;
    let mut fields = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_section = name.trim() == profile;
            found |= in_section;
        } else if in_section && let Some((key, value)) = line.split_once('=') {
            fields.push((key.trim().to_ascii_lowercase(), Secret::new(value.trim().to_string())));
        }
    }
    found.then_some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_credential(text: &str, profile: &str) -> (tempfile::TempDir, Credential) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials");
        std::fs::write(&path, text).unwrap();
        let credential = Credential {
            name: "base".into(),
            source: KeySource::File {
                path,
                profile: profile.into(),
            },
        };
        (dir, credential)
    }

    #[test]
    fn ini_and_json_files_are_read_afresh() {
        let (dir, credential) = file_credential(
            "[other]\naws_access_key_id = X\n[base]\naws_access_key_id = AKIAONE\naws_secret_access_key = one\n",
            "base",
        );
        let key = |c: &Credential| match load(c, &RuntimeKeys::default()).unwrap() {
            Base::Key(key) => key,
            Base::WebIdentity { .. } => panic!("a key"),
        };
        assert_eq!(key(&credential).access_key_id.expose(), "AKIAONE");
        // Rotated in place (as External Secrets Operator does): the next read sees it.
        std::fs::write(
            dir.path().join("credentials"),
            r#"{"AccessKeyId": "AKIATWO", "SecretAccessKey": "two", "SessionToken": "t"}"#,
        )
        .unwrap();
        let rotated = key(&credential);
        assert_eq!(
            (rotated.access_key_id.expose(), rotated.session_token.unwrap().expose()),
            ("AKIATWO", "t")
        );
    }

    #[test]
    fn errors_name_the_file_but_never_its_contents() {
        let (_dir, credential) = file_credential("[base]\naws_access_key_id = AKIASECRETISH\n", "base");
        let error = load(&credential, &RuntimeKeys::default()).unwrap_err().to_string();
        assert!(
            error.contains("has no secret access key") && !error.contains("AKIASECRETISH"),
            "{error}"
        );
        let missing = Credential {
            name: "base".into(),
            source: KeySource::Runtime,
        };
        let runtime = RuntimeKeys::default();
        assert!(
            load(&missing, &runtime)
                .unwrap_err()
                .to_string()
                .contains("has no key yet")
        );
        runtime.set(
            "base",
            AwsKey {
                access_key_id: Secret::new("AKIARUN".into()),
                secret_access_key: Secret::new("r".into()),
                session_token: None,
            },
        );
        assert!(matches!(load(&missing, &runtime), Ok(Base::Key(k)) if k.access_key_id.expose() == "AKIARUN"));
    }
}
