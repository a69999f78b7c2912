//! Re-signing: the agent's placeholder signature is replaced by one made
//! with credentials for a role in the target account (assumed through STS,
//! cached), in the same place (headers or a presigned query), and signed
//! chunk uploads get every chunk re-signed as they stream.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::HeaderMap;
use http::request::Parts;
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};

use super::AwsCredentials;
use super::base::{self, Base, BaseKeyError, RuntimeKeys};
use super::chunks::Resigned;
use super::owner::{self, ForeignOwner};
use super::screen::Screen;
use super::sessions::Sessions;
use super::signature::Signed;
use super::sigv4::{Placement, SignError, Signer};
use super::sts::{AssumeRole, StsError, WebIdentity};
use crate::config::{AwsApi, Credential};
use crate::ids::{AccountId, AgentName, Region, ServiceName};
use crate::net::Body;

/// The largest body clawgate hashes to re-sign a request that does not carry
/// its own payload hash (every AWS API but S3); larger ones are refused.
pub const MAX_SIGNED_BODY: usize = 16 << 20;

/// The streaming payloads clawgate re-signs (unsigned chunks pass through).
const KNOWN_STREAMING: [&str; 3] = [
    "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
];

/// Why a request could not be re-signed.
#[derive(Debug, thiserror::Error)]
pub enum ResignError {
    /// The endpoint names no base credential.
    #[error("this aws_api endpoint names no `credential`, so clawgate has no key to assume roles with")]
    NoCredential,
    /// The base key is not available.
    #[error(transparent)]
    BaseKey(#[from] BaseKeyError),
    /// STS did not give credentials for the target account.
    #[error(transparent)]
    Sts(#[from] StsError),
    /// The request names no account to assume a role in.
    #[error("denied: the request's account is unknown, so no role can be assumed")]
    NoAccount,
    /// Neither the signature nor the host names the service to sign for.
    #[error("denied: neither the request's signature nor its host names the AWS service, so it cannot be signed")]
    NoService,
    /// A form of signature clawgate cannot re-sign; refused rather than passed on.
    #[error("{0}")]
    Unsupported(&'static str),
    /// An S3 request names a bucket owner the endpoint does not allow.
    #[error(transparent)]
    BucketOwner(#[from] ForeignOwner),
    /// Signing failed.
    #[error("clawgate failed: {0}")]
    Sign(#[from] SignError),
}

/// Whether re-signing needs the hash of the body: the request carries no
/// `x-amz-content-sha256` to sign over.
pub fn needs_body_hash(headers: &HeaderMap) -> bool {
    !headers.contains_key("x-amz-content-sha256")
}

/// Assumes roles and re-signs; shared by every request.
#[derive(Debug, Clone)]
pub struct Resigner {
    sessions: Arc<Sessions>,
    runtime_keys: RuntimeKeys,
}

/// One request to re-sign: its endpoint, who sends it, and what its facts say.
pub struct Resign<'a> {
    /// The endpoint's settings.
    pub api: &'a AwsApi,
    /// The endpoint's base credential, if it names one.
    pub credential: Option<&'a Credential>,
    /// The agent sending it.
    pub agent: &'a AgentName,
    /// The agent's signature, as parsed for the facts.
    pub signature: &'a Signed,
    /// The account it is for (`aws.account`).
    pub account: Option<AccountId>,
    /// Its region (`aws.region`), when the signature names none.
    pub region: Option<&'a Region>,
    /// The service to sign for (`aws.signing_name`, spelt as the model spells it).
    pub service: Option<&'a str>,
    /// Whether it goes to S3's data plane, whose buckets' owners are pinned.
    pub s3: bool,
    /// The authority it goes to (`host[:port]`, port left out for 443).
    pub authority: String,
    /// The whole body, when it was read; hashed when the request carries no hash.
    pub read: Option<&'a Bytes>,
}

impl Resigner {
    /// Re-signs with roles assumed through `sessions`, with base keys that
    /// may come from `runtime_keys`.
    pub fn new(sessions: Arc<Sessions>, runtime_keys: RuntimeKeys) -> Resigner {
        Resigner { sessions, runtime_keys }
    }

    /// Replaces the signature on `parts`; returns the body to forward
    /// (re-signed chunk by chunk for signed streaming uploads) and, when
    /// credentials were used, the screen the response must pass.
    pub async fn resign(
        &self,
        job: Resign<'_>,
        parts: &mut Parts,
        body: Body,
    ) -> Result<(Body, Option<Screen>), ResignError> {
        let signed = job.signature;
        if signed.access_key_id.is_none() {
            // An operation AWS takes unsigned (the facet checked that): nothing to sign.
            return Ok((body, None));
        }
        if signed.in_form {
            return Err(ResignError::Unsupported(
                "credentials in a form body (S3 POST-policy uploads, SigV2 form requests) cannot be re-signed; \
                 use PutObject or a presigned PUT, or a SigV4 client",
            ));
        }
        if signed.presigned.is_some() && signed.service.is_none() {
            return Err(ResignError::Unsupported(
                "SigV2 presigned URLs (AWSAccessKeyId=) cannot be re-signed; presign with signature_version='s3v4'",
            ));
        }
        let payload = payload_hash(&parts.headers, job.read)?;
        let account = job.account.ok_or(ResignError::NoAccount)?;
        let service = job
            .service
            .or(signed.service.as_ref().map(ServiceName::as_str))
            .ok_or(ResignError::NoService)?;
        if job.s3 {
            owner::pin(&mut parts.headers, &job.api.bucket_owners, account)?;
        }
        let credentials = self.assumed(&job, account).await?;
        let region = signed
            .region
            .as_ref()
            .or(job.region)
            .map_or(job.api.region.as_str(), |r| r.as_str());
        let placement = match signed.presigned {
            // A presigned URL stays one, valid no longer than the agent asked
            // and than the credentials live.
            Some(presigned) => {
                let left = credentials
                    .expires
                    .and_then(|at| at.duration_since(SystemTime::now()).ok())
                    .map_or(u64::MAX, |d| d.as_secs());
                let asked = presigned.expires.unwrap_or(3600);
                Placement::Query(Duration::from_secs(asked.min(left).max(1)))
            }
            None => Placement::Headers(payload),
        };
        // Signed chunks chain from the request's signature: re-sign them too.
        let chunked = match &placement {
            Placement::Headers(p) if p == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" => Some(false),
            Placement::Headers(p) if p == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER" => Some(true),
            _ => None,
        };
        let time = SystemTime::now();
        let signer = Signer {
            credentials: &credentials,
            region,
            service,
            time,
        };
        let seed = signer.sign(parts, &job.authority, placement)?;
        let screen = Screen::new(&credentials, &job.authority);
        let body = match chunked {
            Some(trailer) => Resigned::new(body, &credentials, region, service, time, seed, trailer).boxed_unsync(),
            None => body,
        };
        Ok((body, Some(screen)))
    }

    /// Credentials for the endpoint's role in `account`, from the cache or STS.
    async fn assumed(&self, job: &Resign<'_>, account: AccountId) -> Result<AwsCredentials, ResignError> {
        let api = job.api;
        let agent = job.agent;
        let base = self.base(job).await?;
        let per_agent = api.per_agent().then(|| agent.clone());
        let ask = AssumeRole {
            account,
            role: api.role.clone(),
            region: api.region.clone(),
            session_name: match &per_agent {
                Some(name) => format!("clawgate-{name}"),
                None => "clawgate".to_string(),
            },
            duration: api.session_duration,
            external_id: api.external_id.clone(),
            policy: api.policy.clone(),
            source_identity: api.source_identity.then(|| agent.to_string()),
            tags: if api.session_tags {
                vec![("agent".to_string(), agent.to_string())]
            } else {
                Vec::new()
            },
        };
        Ok(self.sessions.credentials(&base, ask, per_agent).await?)
    }

    /// The endpoint's base key; a web identity is exchanged for it through
    /// the credential cache.
    async fn base(&self, job: &Resign<'_>) -> Result<AwsCredentials, ResignError> {
        let credential = job.credential.ok_or(ResignError::NoCredential)?;
        match base::load(credential, &self.runtime_keys)? {
            Base::Key(key) => Ok(key),
            Base::WebIdentity { role_arn, token_file } => {
                let identity = WebIdentity {
                    role_arn,
                    token_file,
                    region: job.api.region.clone(),
                };
                Ok(self.sessions.web_identity(&credential.name, identity).await?)
            }
        }
    }
}

/// What the new signature signs the payload as: the agent's own
/// `x-amz-content-sha256` (kept, so bodies stream), or the read body's hash.
fn payload_hash(headers: &HeaderMap, read: Option<&Bytes>) -> Result<String, ResignError> {
    match headers.get("x-amz-content-sha256").and_then(|v| v.to_str().ok()) {
        Some(p) if p.starts_with("STREAMING-") && !KNOWN_STREAMING.contains(&p) => Err(ResignError::Unsupported(
            "this streaming payload signature (SigV4a?) cannot be re-signed",
        )),
        Some(p) => Ok(p.to_string()),
        None => Ok(hex::encode(Sha256::digest(
            read.map(|b| b.as_ref()).unwrap_or_default(),
        ))),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use bytes::Bytes;
    use http::HeaderMap;

    use super::*;
    use crate::config::{AwsKey, KeySource};
    use crate::net::transport::{Answer, Transport};
    use crate::net::{TransportError, body};
    use crate::secret::Secret;

    /// STS that must not be called: counts the calls and refuses them.
    struct NoSts(AtomicUsize);

    impl Transport for NoSts {
        fn post<'a>(&'a self, url: String, _headers: HeaderMap, _body: Bytes) -> Answer<'a> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move { Err(TransportError::Answer(format!("{url} was not to be called"))) })
        }
    }

    #[tokio::test]
    async fn a_request_naming_no_service_is_refused_before_any_role_is_assumed() {
        let sts = Arc::new(NoSts(AtomicUsize::new(0)));
        let resigner = Resigner::new(
            Arc::new(Sessions::new(Arc::clone(&sts) as Arc<dyn Transport>)),
            RuntimeKeys::default(),
        );
        let credential = Credential {
            name: "base".into(),
            source: KeySource::Inline(AwsKey {
                access_key_id: Secret::new("AKIABASE".into()),
                secret_access_key: Secret::new("s".into()),
                session_token: None,
            }),
        };
        // SigV2 in a header names no service, and the host named none either.
        let signature = Signed {
            access_key_id: Some("AKIA111111111111CLAW".into()),
            ..Signed::default()
        };
        let api = AwsApi::default();
        let agent = AgentName::local();
        let job = Resign {
            api: &api,
            credential: Some(&credential),
            agent: &agent,
            signature: &signature,
            account: Some(AccountId::parse("111111111111").unwrap()),
            region: None,
            service: None,
            s3: false,
            authority: "example.amazonaws.com".into(),
            read: None,
        };
        let (mut parts, ()) = http::Request::get("/").body(()).unwrap().into_parts();
        let refused = resigner.resign(job, &mut parts, body::empty()).await.unwrap_err();
        assert!(matches!(refused, ResignError::NoService), "{refused}");
        assert_eq!(sts.0.load(Ordering::SeqCst), 0, "no role assumed for it");
    }
}
