//! `clawgate approvals`: the command line's way to list and decide held
//! requests, through the admin API.

use std::time::{SystemTime, UNIX_EPOCH};

use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::{Choice, HoldView};
use crate::ids::HoldId;
use crate::secret::Secret;

/// Why an admin API call from the command line failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The admin address is not a URL.
    #[error("`{0}` is not the admin server's URL; write e.g. http://127.0.0.1:8081")]
    BadUrl(String),
    /// The admin server did not answer.
    #[error("cannot reach the admin server at {url}: {reason}; is clawgate running, and is --admin right?")]
    Unreachable {
        /// Where.
        url: String,
        /// Why.
        reason: String,
    },
    /// The token was refused.
    #[error(
        "the admin server refused the token; pass the token clawgate printed at first run \
         with --token or CLAWGATE_ADMIN_TOKEN"
    )]
    Unauthorized,
    /// The admin server said no.
    #[error("{0}")]
    Refused(String),
}

/// A client of the admin API.
pub struct AdminClient {
    base: String,
    token: Secret,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl AdminClient {
    /// A client of the admin server at `base` (`http://127.0.0.1:8081`), presenting `token`.
    pub fn new(base: &str, token: Secret) -> Result<AdminClient, CliError> {
        let base = base.trim_end_matches('/');
        let with_scheme = if base.contains("://") {
            base.to_string()
        } else {
            format!("http://{base}")
        };
        match with_scheme.parse::<http::Uri>() {
            Ok(uri) if uri.scheme_str() == Some("http") && uri.host().is_some() => {}
            _ => return Err(CliError::BadUrl(base.to_string())),
        }
        Ok(AdminClient {
            base: with_scheme,
            token,
            client: Client::builder(TokioExecutor::new()).build_http(),
        })
    }

    /// The pending holds, oldest first.
    pub async fn holds(&self) -> Result<Vec<HoldView>, CliError> {
        let body = self.call(Method::GET, "/api/holds", None).await?;
        serde_json::from_slice(&body)
            .map_err(|e| CliError::Refused(format!("the admin server's answer is not a list of holds: {e}")))
    }

    /// Allows or denies hold `id` as `by`.
    pub async fn decide(&self, id: HoldId, choice: Choice, by: &str, reason: Option<&str>) -> Result<(), CliError> {
        let body = serde_json::json!({ "by": by, "reason": reason });
        self.call(
            Method::POST,
            &format!("/api/holds/{id}/{choice}"),
            Some(body.to_string()),
        )
        .await
        .map(drop)
    }

    async fn call(&self, method: Method, path: &str, body: Option<String>) -> Result<Bytes, CliError> {
        let url = format!("{}{path}", self.base);
        let request = Request::builder()
            .method(method)
            .uri(&url)
            .header(AUTHORIZATION, format!("Bearer {}", self.token.expose()))
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|_| CliError::BadUrl(self.base.clone()))?;
        let unreachable = |reason: String| CliError::Unreachable {
            url: self.base.clone(),
            reason,
        };
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| unreachable(e.to_string()))?
            .to_bytes();
        match status {
            s if s.is_success() => Ok(body),
            StatusCode::UNAUTHORIZED => Err(CliError::Unauthorized),
            _ => Err(CliError::Refused(String::from_utf8_lossy(&body).trim().to_string())),
        }
    }
}

/// What `clawgate approvals` was asked to do.
#[derive(Debug, Clone)]
pub enum Command {
    /// List the pending holds.
    List,
    /// Allow or deny one.
    Decide {
        /// The hold.
        id: HoldId,
        /// Allow or deny.
        choice: Choice,
        /// Who decides.
        by: String,
        /// Why.
        reason: Option<String>,
    },
}

/// Does what was asked; what to print.
pub async fn run(client: &AdminClient, command: Command) -> Result<String, CliError> {
    match command {
        Command::List => Ok(table(&client.holds().await?)),
        Command::Decide { id, choice, by, reason } => {
            client.decide(id, choice, &by, reason.as_deref()).await?;
            let done = match choice {
                Choice::Allow => "allowed",
                Choice::Deny => "denied",
            };
            Ok(format!("{done} hold {id} as {by}\n"))
        }
    }
}

/// The holds as a table for a terminal, or a line saying there are none.
pub fn table(holds: &[HoldView]) -> String {
    if holds.is_empty() {
        return "no requests are waiting for approval\n".to_string();
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let rows: Vec<[String; 5]> = holds
        .iter()
        .map(|h| {
            [
                h.id.to_string(),
                format!("{}s", now.saturating_sub(h.since)),
                format!("{}s", h.expires.saturating_sub(now)),
                h.waiting_for.join(", then "),
                h.summary.clone(),
            ]
        })
        .collect();
    let header = ["ID", "WAITED", "LEFT", "WAITING FOR", "REQUEST"].map(str::to_string);
    let mut widths = [0usize; 4];
    for row in std::iter::once(&header).chain(&rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        for (width, cell) in widths.iter().zip(row) {
            text.push_str(&format!("{cell:<width$}  "));
        }
        text.push_str(&row[4]);
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_aligns_columns_and_says_when_nothing_waits() {
        assert_eq!(table(&[]), "no requests are waiting for approval\n");
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
        let hold = |id, summary: &str| HoldView {
            id,
            agent: "ci-bot".into(),
            rule: "r".into(),
            summary: summary.into(),
            approvers: vec!["oncall".into()],
            allowed_by: vec![],
            waiting_for: vec!["oncall".into()],
            since: now - 5,
            expires: now + 595,
            facets: Default::default(),
        };
        let text = table(&[
            hold(HoldId(7), "PutObject s3 b/k"),
            hold(HoldId(12), "DeleteItem dynamodb"),
        ]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("ID  WAITED  LEFT"), "{text}");
        let column = lines[0].find("REQUEST").unwrap();
        assert_eq!(&lines[1][column..], "PutObject s3 b/k");
        assert_eq!(&lines[2][column..], "DeleteItem dynamodb");
        assert!(lines[1].starts_with("7   5s"), "{text}");
    }

    #[test]
    fn the_admin_address_may_omit_the_scheme_but_must_be_http() {
        assert!(AdminClient::new("127.0.0.1:8081", Secret::new("t".into())).is_ok());
        assert!(matches!(
            AdminClient::new("https://x:1", Secret::new("t".into())),
            Err(CliError::BadUrl(_))
        ));
    }
}
