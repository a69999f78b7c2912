//! STS AssumeRole: short-lived credentials for a role in the target account,
//! requested with the base key over the same dial path as all upstream traffic.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use sha2::{Digest, Sha256};

use super::AwsCredentials;
use super::sigv4::{Placement, Signer, uri_encode};
use crate::ids::AccountId;
use crate::net::Transport;
use crate::secret::Secret;

/// What to ask STS for.
#[derive(Debug, Clone)]
pub struct AssumeRole {
    /// The account whose role is assumed.
    pub account: AccountId,
    /// The role's name.
    pub role: String,
    /// The region of the STS endpoint (`sts.<region>.amazonaws.com`).
    pub region: String,
    /// `RoleSessionName`.
    pub session_name: String,
    /// `DurationSeconds`.
    pub duration: Duration,
    /// `ExternalId`, if the role requires one.
    pub external_id: Option<String>,
    /// An inline session policy (JSON) narrowing what the credentials may do.
    pub policy: Option<String>,
    /// `SourceIdentity`, the agent's name, when enabled.
    pub source_identity: Option<String>,
    /// Session tags, e.g. `agent = ci-bot`.
    pub tags: Vec<(String, String)>,
}

impl AssumeRole {
    /// `arn:<partition>:iam::<account>:role/<role>`.
    pub fn role_arn(&self) -> String {
        let partition = match self.region.as_str() {
            r if r.starts_with("cn-") => "aws-cn",
            r if r.starts_with("us-gov-") => "aws-us-gov",
            _ => "aws",
        };
        format!("arn:{partition}:iam::{}:role/{}", self.account, self.role)
    }
}

/// Why credentials could not be had. What it says reaches the agent: STS's
/// error code and the role ARN, never STS's own text (it can name the base
/// principal or quote what STS returned); that text goes to clawgate's log,
/// scrubbed, where the error is made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StsError {
    /// STS could not be reached.
    #[error("cannot reach STS to assume {role}; clawgate's log says why")]
    Unreachable {
        /// The role ARN.
        role: String,
    },
    /// STS refused.
    #[error("STS refused to let clawgate assume {role}: {code}")]
    Refused {
        /// The role ARN.
        role: String,
        /// STS's error code, e.g. `AccessDenied`, or `HTTP <status>` when it gave none.
        code: String,
    },
    /// STS answered something clawgate could not read.
    #[error("STS's answer for {role} could not be read; clawgate's log says why")]
    BadAnswer {
        /// The role ARN.
        role: String,
    },
    /// The request could not be signed.
    #[error("cannot sign the AssumeRole request: {0}")]
    Sign(String),
}

impl StsError {
    /// [`StsError::Unreachable`], with `reason` logged.
    fn unreachable(role: &str, reason: &str) -> StsError {
        tracing::warn!(role, reason, "cannot reach STS");
        StsError::Unreachable { role: role.to_string() }
    }

    /// [`StsError::BadAnswer`], with `reason` logged.
    fn bad_answer(role: &str, reason: &str) -> StsError {
        tracing::warn!(role, reason, "STS's answer could not be read");
        StsError::BadAnswer { role: role.to_string() }
    }
}

/// Calls STS AssumeRole with `base`.
pub async fn assume_role(
    transport: &dyn Transport,
    base: &AwsCredentials,
    ask: &AssumeRole,
) -> Result<AwsCredentials, StsError> {
    let role = ask.role_arn();
    let host = format!("sts.{}.amazonaws.com", ask.region);
    let body = form_body(ask, &role);
    let (mut parts, ()) = http::Request::builder()
        .method(Method::POST)
        .uri("/")
        .header(http::header::HOST, host.as_str())
        .header(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded; charset=utf-8",
        )
        .body(())
        .map_err(|e| StsError::Sign(e.to_string()))?
        .into_parts();
    let signer = Signer {
        credentials: base,
        region: &ask.region,
        service: "sts",
        time: SystemTime::now(),
    };
    let hash = hex::encode(Sha256::digest(body.as_bytes()));
    signer
        .sign(&mut parts, &host, Placement::Headers(hash))
        .map_err(|e| StsError::Sign(e.to_string()))?;
    if let Ok(length) = HeaderValue::from_str(&body.len().to_string()) {
        parts.headers.insert(http::header::CONTENT_LENGTH, length);
    }
    let (status, answer) = call_sts(transport, &host, parts.headers, Bytes::from(body), &role).await?;
    credentials_from(status, &answer, &role, Some(base.access_key_id.expose()))
}

/// The credentials in an STS answer, or STS's refusal. What STS wrote is
/// logged, never returned; `base_key` (the base key id) and every credential
/// field of the answer are scrubbed from it first.
fn credentials_from(
    status: StatusCode,
    answer: &[u8],
    role: &str,
    base_key: Option<&str>,
) -> Result<AwsCredentials, StsError> {
    let text = String::from_utf8_lossy(answer);
    let secrets: Vec<String> = CREDENTIAL_FIELDS
        .iter()
        .filter_map(|name| element(&text, name))
        .chain(base_key.map(str::to_string))
        .filter(|s| !s.is_empty())
        .collect();
    let scrub = |s: &str| {
        secrets
            .iter()
            .fold(s.to_string(), |s, secret| s.replace(secret, "[redacted]"))
    };
    if !status.is_success() {
        let code = element(&text, "Code")
            .filter(|c| is_error_code(c))
            .unwrap_or_else(|| format!("HTTP {}", status.as_u16()));
        let message = scrub(&element(&text, "Message").unwrap_or_default());
        tracing::warn!(role, code, message, "STS refused AssumeRole");
        return Err(StsError::Refused {
            role: role.to_string(),
            code,
        });
    }
    let field = |name: &str| element(&text, name).ok_or_else(|| StsError::bad_answer(role, &format!("no <{name}>")));
    let expires = field("Expiration")?;
    let expires = time::OffsetDateTime::parse(&expires, &time::format_description::well_known::Rfc3339)
        .map_err(|e| StsError::bad_answer(role, &scrub(&format!("Expiration `{expires}`: {e}"))))?;
    Ok(AwsCredentials {
        access_key_id: Secret::new(field("AccessKeyId")?),
        secret_access_key: Secret::new(field("SecretAccessKey")?),
        session_token: Some(Secret::new(field("SessionToken")?)),
        expires: Some(SystemTime::from(expires)),
    })
}

/// The fields of an STS answer that hold credentials.
const CREDENTIAL_FIELDS: [&str; 3] = ["AccessKeyId", "SecretAccessKey", "SessionToken"];

/// Whether `code` reads as an AWS error code (`AccessDenied`,
/// `RegionDisabledException`), not as text that could quote anything.
fn is_error_code(code: &str) -> bool {
    (1..=64).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.')
}

/// A web identity to exchange for the base key (`AWS_ROLE_ARN`,
/// `AWS_WEB_IDENTITY_TOKEN_FILE`).
#[derive(Debug, Clone)]
pub struct WebIdentity {
    /// The role to assume.
    pub role_arn: String,
    /// The file holding the token, re-read at each call (it is rotated).
    pub token_file: std::path::PathBuf,
    /// The region of the STS endpoint.
    pub region: String,
}

/// Calls STS AssumeRoleWithWebIdentity, which needs no signature.
pub async fn assume_role_with_web_identity(
    transport: &dyn Transport,
    identity: &WebIdentity,
) -> Result<AwsCredentials, StsError> {
    let role = identity.role_arn.clone();
    let token = zeroize::Zeroizing::new(std::fs::read_to_string(&identity.token_file).map_err(|e| {
        let reason = format!(
            "cannot read the web identity token `{}`: {e}",
            identity.token_file.display()
        );
        StsError::unreachable(&role, &reason)
    })?);
    let form = [
        ("Action", "AssumeRoleWithWebIdentity"),
        ("Version", "2011-06-15"),
        ("RoleArn", role.as_str()),
        ("RoleSessionName", "clawgate"),
        ("WebIdentityToken", token.trim()),
    ];
    let body = zeroize::Zeroizing::new(
        form.iter()
            .map(|(k, v)| format!("{}={}", uri_encode(k), uri_encode(v)))
            .collect::<Vec<_>>()
            .join("&"),
    );
    let host = format!("sts.{}.amazonaws.com", identity.region);
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(&host) {
        headers.insert(http::header::HOST, value);
    }
    let body = Bytes::from(body.as_bytes().to_vec());
    let (status, answer) = call_sts(transport, &host, headers, body, &role).await?;
    credentials_from(status, &answer, &role, None)
}

/// How long STS may take to answer.
const STS_TIMEOUT: Duration = Duration::from_secs(30);

/// POSTs `body` to STS at `host` for `role`, waiting no longer than [`STS_TIMEOUT`].
async fn call_sts(
    transport: &dyn Transport,
    host: &str,
    headers: HeaderMap,
    body: Bytes,
    role: &str,
) -> Result<(StatusCode, Bytes), StsError> {
    let call = transport.post(format!("https://{host}/"), headers, body);
    match tokio::time::timeout(STS_TIMEOUT, call).await {
        Ok(answer) => answer.map_err(|e| StsError::unreachable(role, &e.to_string())),
        Err(_) => Err(StsError::unreachable(
            role,
            &format!("no answer within {}s", STS_TIMEOUT.as_secs()),
        )),
    }
}

/// The AssumeRole form.
fn form_body(ask: &AssumeRole, role: &str) -> String {
    let mut fields = vec![
        ("Action".to_string(), "AssumeRole".to_string()),
        ("Version".to_string(), "2011-06-15".to_string()),
        ("RoleArn".to_string(), role.to_string()),
        ("RoleSessionName".to_string(), ask.session_name.clone()),
        ("DurationSeconds".to_string(), ask.duration.as_secs().to_string()),
    ];
    let optional = [
        ("ExternalId", &ask.external_id),
        ("Policy", &ask.policy),
        ("SourceIdentity", &ask.source_identity),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            fields.push((name.to_string(), value.clone()));
        }
    }
    for (i, (key, value)) in ask.tags.iter().enumerate() {
        fields.push((format!("Tags.member.{}.Key", i + 1), key.clone()));
        fields.push((format!("Tags.member.{}.Value", i + 1), value.clone()));
    }
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", uri_encode(k), uri_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The text of the first `<name>…</name>` in an XML answer, unescaped.
/// STS answers are small and flat; a leaf's text is all that is read.
fn element(xml: &str, name: &str) -> Option<String> {
    let start = xml.find(&format!("<{name}>"))? + name.len() + 2;
    let end = start + xml[start..].find(&format!("</{name}>"))?;
    Some(
        xml[start..end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::net::transport::Answer;

    struct Fake {
        status: StatusCode,
        answer: &'static str,
        seen: Mutex<Vec<String>>,
    }

    impl Transport for Fake {
        fn post<'a>(&'a self, url: String, headers: HeaderMap, body: Bytes) -> Answer<'a> {
            let auth = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            self.seen
                .lock()
                .unwrap()
                .push(format!("{url} {auth} {}", String::from_utf8_lossy(&body)));
            Box::pin(async move { Ok((self.status, Bytes::from_static(self.answer.as_bytes()))) })
        }
    }

    fn base() -> AwsCredentials {
        AwsCredentials {
            access_key_id: Secret::new("AKIABASEKEY".into()),
            secret_access_key: Secret::new("basesecret".into()),
            session_token: None,
            expires: None,
        }
    }

    fn ask() -> AssumeRole {
        AssumeRole {
            account: AccountId::parse("111111111111").unwrap(),
            role: "clawgate-agent".into(),
            region: "eu-west-1".into(),
            session_name: "clawgate-ci-bot".into(),
            duration: Duration::from_secs(3600),
            external_id: Some("ext 1".into()),
            policy: None,
            source_identity: Some("ci-bot".into()),
            tags: vec![("agent".into(), "ci-bot".into())],
        }
    }

    #[tokio::test]
    async fn reads_the_credentials_and_sends_a_signed_regional_request() {
        let fake = Fake {
            status: StatusCode::OK,
            answer: "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIATEMP</AccessKeyId>\
                     <SecretAccessKey>tempsecret</SecretAccessKey><SessionToken>tok&amp;en</SessionToken>\
                     <Expiration>2030-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>",
            seen: Mutex::new(Vec::new()),
        };
        let credentials = assume_role(&fake, &base(), &ask()).await.unwrap();
        assert_eq!(credentials.access_key_id.expose(), "ASIATEMP");
        assert_eq!(credentials.session_token.as_ref().unwrap().expose(), "tok&en");
        let seen = fake.seen.lock().unwrap()[0].clone();
        assert!(
            seen.starts_with("https://sts.eu-west-1.amazonaws.com/ AWS4-HMAC-SHA256 Credential=AKIABASEKEY/"),
            "{seen}"
        );
        assert!(seen.contains("/eu-west-1/sts/aws4_request"), "{seen}");
        assert!(
            seen.contains("RoleArn=arn%3Aaws%3Aiam%3A%3A111111111111%3Arole%2Fclawgate-agent"),
            "{seen}"
        );
        assert!(
            seen.contains(
                "ExternalId=ext%201&SourceIdentity=ci-bot&Tags.member.1.Key=agent&Tags.member.1.Value=ci-bot"
            ),
            "{seen}"
        );
    }

    #[tokio::test]
    async fn a_refusal_names_the_role_and_code_only() {
        let fake = Fake {
            status: StatusCode::FORBIDDEN,
            answer: "<ErrorResponse><Error><Code>AccessDenied</Code><Message>User: arn:aws:iam::000000000000:user/base \
                     (AKIABASEKEY) is not authorized</Message></Error></ErrorResponse>",
            seen: Mutex::new(Vec::new()),
        };
        let error = assume_role(&fake, &base(), &ask()).await.unwrap_err().to_string();
        assert_eq!(
            error,
            "STS refused to let clawgate assume arn:aws:iam::111111111111:role/clawgate-agent: AccessDenied"
        );
    }

    #[test]
    fn a_malformed_answer_says_nothing_of_what_it_held() {
        let leaky = "<Credentials><AccessKeyId>ASIATEMP</AccessKeyId><SecretAccessKey>tempsecret</SecretAccessKey>\
                     <SessionToken>tok</SessionToken><Expiration>tempsecret tok</Expiration></Credentials>";
        let error = credentials_from(StatusCode::OK, leaky.as_bytes(), "arn:aws:iam::1:role/r", None).unwrap_err();
        assert_eq!(
            error.to_string(),
            "STS's answer for arn:aws:iam::1:role/r could not be read; clawgate's log says why"
        );
        let odd = "<Error><Code>Access Denied for ASIATEMP</Code></Error>";
        let error = credentials_from(StatusCode::FORBIDDEN, odd.as_bytes(), "r", None).unwrap_err();
        assert_eq!(error.to_string(), "STS refused to let clawgate assume r: HTTP 403");
    }

    #[tokio::test]
    async fn web_identity_is_exchanged_unsigned_with_the_token_read_afresh() {
        let dir = tempfile::tempdir().unwrap();
        let token_file = dir.path().join("token");
        std::fs::write(&token_file, "eyJ.token.one\n").unwrap();
        let fake = Fake {
            status: StatusCode::OK,
            answer: "<Credentials><AccessKeyId>ASIAWEB</AccessKeyId><SecretAccessKey>w</SecretAccessKey>\
                     <SessionToken>t</SessionToken><Expiration>2030-01-01T00:00:00Z</Expiration></Credentials>",
            seen: Mutex::new(Vec::new()),
        };
        let identity = WebIdentity {
            role_arn: "arn:aws:iam::000000000000:role/clawgate-hub".into(),
            token_file: token_file.clone(),
            region: "eu-west-1".into(),
        };
        let credentials = assume_role_with_web_identity(&fake, &identity).await.unwrap();
        assert_eq!(credentials.access_key_id.expose(), "ASIAWEB");
        std::fs::write(&token_file, "eyJ.token.two").unwrap();
        assume_role_with_web_identity(&fake, &identity).await.unwrap();
        let seen = fake.seen.lock().unwrap();
        assert!(
            seen[0].starts_with("https://sts.eu-west-1.amazonaws.com/  Action=AssumeRoleWithWebIdentity"),
            "{}",
            seen[0]
        );
        assert!(
            seen[0].ends_with("WebIdentityToken=eyJ.token.one"),
            "no signature, the token trimmed: {}",
            seen[0]
        );
        assert!(
            seen[1].ends_with("WebIdentityToken=eyJ.token.two"),
            "a rotated token is read again: {}",
            seen[1]
        );
    }
}
