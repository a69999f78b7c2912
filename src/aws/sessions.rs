//! Assumed-role credentials, cached per (account, role, agent when the
//! session carries the agent's identity), refreshed five minutes before they
//! expire. Concurrent misses share ONE STS call, and no lock is held while it
//! runs.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};

use super::AwsCredentials;
use super::sts::{self, AssumeRole, StsError, WebIdentity};
use crate::ids::{AccountId, AgentName};
use crate::net::Transport;

/// Credentials are replaced this long before they expire.
const REFRESH_BEFORE: Duration = Duration::from_secs(300);

/// Which credentials a cache entry holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    /// A role assumed in an account; per agent when the session carries the
    /// agent's identity (source identity, tags).
    Role {
        account: AccountId,
        role: String,
        agent: Option<AgentName>,
    },
    /// The base key of a credential obtained with a web identity token.
    WebIdentity { credential: String },
}

type Pending = Shared<BoxFuture<'static, Result<AwsCredentials, StsError>>>;

enum Entry {
    Ready(AwsCredentials),
    Pending(Pending),
}

/// The credential cache.
pub struct Sessions {
    transport: Arc<dyn Transport>,
    entries: Mutex<HashMap<Key, Entry>>,
    calls: Arc<AtomicU64>,
}

impl Sessions {
    /// A cache that calls STS through `transport`.
    pub fn new(transport: Arc<dyn Transport>) -> Sessions {
        Sessions {
            transport,
            entries: Mutex::new(HashMap::new()),
            calls: Arc::default(),
        }
    }

    /// A live count of the STS calls made, for metrics.
    pub fn calls(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.calls)
    }

    /// Credentials for `ask`, from the cache or from STS with `base`.
    /// `per_agent` keys the cache by the session's agent.
    pub async fn credentials(
        &self,
        base: &AwsCredentials,
        ask: AssumeRole,
        per_agent: Option<AgentName>,
    ) -> Result<AwsCredentials, StsError> {
        let key = Key::Role {
            account: ask.account,
            role: ask.role.clone(),
            agent: per_agent,
        };
        let transport = Arc::clone(&self.transport);
        let base = base.clone();
        self.cached(key, async move {
            tracing::info!(role = ask.role_arn(), session = ask.session_name, "assuming role");
            sts::assume_role(transport.as_ref(), &base, &ask).await
        })
        .await
    }

    /// The base key of credential `name`, obtained with a web identity token
    /// (EKS IRSA, pod identity) and cached like assumed roles.
    pub async fn web_identity(&self, name: &str, identity: WebIdentity) -> Result<AwsCredentials, StsError> {
        let key = Key::WebIdentity {
            credential: name.to_string(),
        };
        let transport = Arc::clone(&self.transport);
        self.cached(key, async move {
            tracing::info!(
                role = identity.role_arn,
                "assuming the base role with a web identity token"
            );
            sts::assume_role_with_web_identity(transport.as_ref(), &identity).await
        })
        .await
    }

    /// The cached credentials for `key` while fresh; otherwise the result of
    /// `call`, which runs once however many requests wait for it.
    async fn cached(
        &self,
        key: Key,
        call: impl Future<Output = Result<AwsCredentials, StsError>> + Send + 'static,
    ) -> Result<AwsCredentials, StsError> {
        let pending = {
            let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
            match entries.get(&key) {
                Some(Entry::Ready(credentials)) if fresh(credentials) => return Ok(credentials.clone()),
                Some(Entry::Pending(pending)) => pending.clone(),
                _ => {
                    self.calls.fetch_add(1, Ordering::Relaxed);
                    let pending = call.boxed().shared();
                    entries.insert(key.clone(), Entry::Pending(pending.clone()));
                    pending
                }
            }
        };
        // No lock is held while STS answers.
        let result = pending.await;
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        match &result {
            Ok(credentials) => {
                entries.insert(key, Entry::Ready(credentials.clone()));
            }
            Err(_) => {
                // The next request tries again.
                if matches!(entries.get(&key), Some(Entry::Pending(_))) {
                    entries.remove(&key);
                }
            }
        }
        result
    }
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cached = self.entries.lock().unwrap_or_else(PoisonError::into_inner).len();
        f.debug_struct("Sessions")
            .field("cached", &cached)
            .finish_non_exhaustive()
    }
}

/// Whether credentials are good for at least [`REFRESH_BEFORE`] more.
fn fresh(credentials: &AwsCredentials) -> bool {
    credentials.expires.is_none_or(|at| {
        at.duration_since(SystemTime::now())
            .is_ok_and(|left| left > REFRESH_BEFORE)
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use bytes::Bytes;
    use http::{HeaderMap, StatusCode};

    use super::*;
    use crate::net::transport::Answer;
    use crate::secret::Secret;

    /// STS that counts its calls and answers after a pause.
    struct CountingSts(AtomicUsize, &'static str);

    impl Transport for CountingSts {
        fn post<'a>(&'a self, _url: String, _h: HeaderMap, _b: Bytes) -> Answer<'a> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                let answer = format!(
                    "<Credentials><AccessKeyId>ASIA</AccessKeyId><SecretAccessKey>s</SecretAccessKey>\
                     <SessionToken>t</SessionToken><Expiration>{}</Expiration></Credentials>",
                    self.1
                );
                Ok((StatusCode::OK, Bytes::from(answer)))
            })
        }
    }

    fn ask(account: &str) -> AssumeRole {
        AssumeRole {
            account: AccountId::parse(account).unwrap(),
            role: "r".into(),
            region: "us-east-1".into(),
            session_name: "clawgate".into(),
            duration: Duration::from_secs(3600),
            external_id: None,
            policy: None,
            source_identity: None,
            tags: Vec::new(),
        }
    }

    fn base() -> AwsCredentials {
        AwsCredentials {
            access_key_id: Secret::new("AKIABASE".into()),
            secret_access_key: Secret::new("s".into()),
            session_token: None,
            expires: None,
        }
    }

    #[tokio::test]
    async fn concurrent_misses_make_one_call_per_account() {
        let sts = Arc::new(CountingSts(AtomicUsize::new(0), "2099-01-01T00:00:00Z"));
        let sessions = Arc::new(Sessions::new(Arc::clone(&sts) as Arc<dyn Transport>));
        let mut tasks = Vec::new();
        for i in 0..50 {
            let sessions = Arc::clone(&sessions);
            let account = if i % 2 == 0 { "111111111111" } else { "222222222222" };
            tasks.push(tokio::spawn(async move {
                sessions.credentials(&base(), ask(account), None).await
            }));
        }
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        assert_eq!(sts.0.load(Ordering::SeqCst), 2);
        sessions.credentials(&base(), ask("111111111111"), None).await.unwrap();
        assert_eq!(sts.0.load(Ordering::SeqCst), 2, "cached");
    }

    #[tokio::test]
    async fn credentials_close_to_expiry_are_refreshed() {
        let soon = time::OffsetDateTime::now_utc() + time::Duration::minutes(2);
        let soon = soon.format(&time::format_description::well_known::Rfc3339).unwrap();
        let sts = Arc::new(CountingSts(AtomicUsize::new(0), Box::leak(soon.into_boxed_str())));
        let sessions = Sessions::new(Arc::clone(&sts) as Arc<dyn Transport>);
        sessions.credentials(&base(), ask("111111111111"), None).await.unwrap();
        sessions.credentials(&base(), ask("111111111111"), None).await.unwrap();
        assert_eq!(
            sts.0.load(Ordering::SeqCst),
            2,
            "expiring within 5 minutes: asked again"
        );
    }
}
