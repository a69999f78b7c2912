//! The second wall behind `signed_hosts` and the host checks: a response
//! whose headers (or trailers) carry the access key id or the session token
//! clawgate signed its request with loses those headers before the agent
//! sees it, and the log names each one (never its value).

use http::HeaderMap;
use http_body_util::BodyExt;

use super::AwsCredentials;
use crate::net::Body;
use crate::secret::Secret;

/// What a response to a re-signed request must not hand back.
#[derive(Debug, Clone)]
pub struct Screen {
    /// The access key id and session token the request was signed with.
    secrets: Vec<Secret>,
    /// The host the request went to, for the log.
    host: String,
}

impl Screen {
    /// Screens responses from `host` for what `credentials` would give away.
    pub fn new(credentials: &AwsCredentials, host: &str) -> Screen {
        let secrets = std::iter::once(&credentials.access_key_id)
            .chain(credentials.session_token.as_ref())
            .filter(|s| !s.expose().is_empty())
            .cloned()
            .collect();
        Screen {
            secrets,
            host: host.to_string(),
        }
    }

    /// Removes every header of `headers` whose value carries a credential.
    pub fn headers(&self, headers: &mut HeaderMap) {
        let leaking: Vec<_> = headers
            .iter()
            .filter(|(_, value)| self.carries(value.as_bytes()))
            .map(|(name, _)| name.clone())
            .collect();
        for name in leaking {
            tracing::warn!(
                header = %name,
                host = %self.host,
                "the upstream's response carried the credentials clawgate signed with; header dropped"
            );
            headers.remove(&name);
        }
    }

    /// `body`, its trailers screened as headers are.
    pub fn body(self, body: Body) -> Body {
        body.map_frame(move |frame| match frame.into_trailers() {
            Ok(mut trailers) => {
                self.headers(&mut trailers);
                http_body::Frame::trailers(trailers)
            }
            Err(frame) => frame,
        })
        .boxed_unsync()
    }

    fn carries(&self, value: &[u8]) -> bool {
        self.secrets.iter().any(|secret| {
            let secret = secret.expose().as_bytes();
            value.windows(secret.len()).any(|w| w == secret)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_carrying_the_key_id_or_token_are_dropped_and_others_kept() {
        let credentials = AwsCredentials {
            access_key_id: Secret::new("ASIATEMPKEY".into()),
            secret_access_key: Secret::new("s".into()),
            session_token: Some(Secret::new("TOKEN123".into())),
            expires: None,
        };
        let mut headers = HeaderMap::new();
        headers.insert("x-echo-token", "TOKEN123".parse().unwrap());
        headers.insert(
            "x-echo-auth",
            "AWS4-HMAC-SHA256 Credential=ASIATEMPKEY/2026".parse().unwrap(),
        );
        headers.insert("content-type", "text/plain".parse().unwrap());
        Screen::new(&credentials, "h").headers(&mut headers);
        assert_eq!(headers.len(), 1, "{headers:?}");
        assert!(headers.contains_key("content-type"));
    }
}
