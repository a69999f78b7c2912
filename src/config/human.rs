//! `human` blocks: the people who approve held requests.

use std::time::Duration;

use super::environment::Environment;
use super::reader::{Blocks, Settings};
use super::{ConfigError, Location, parse_duration};
use crate::secret::Secret;

/// How long a hold waits for an answer when the `human` block does not say.
pub const DEFAULT_APPROVAL_TIMEOUT: Duration = Duration::from_secs(600);

/// An approver.
#[derive(Debug, Clone)]
pub struct Human {
    /// The name rules refer to as `human.NAME`.
    pub name: String,
    /// How long a hold waits for this person; no answer in time denies.
    pub timeout: Duration,
    /// Where holds are also sent for this person, besides the dashboard and CLI.
    pub telegram: Option<Telegram>,
}

/// A Telegram chat that receives holds with Approve/Deny buttons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Telegram {
    /// The bot's token.
    pub bot_token: Secret,
    /// The chat to post in.
    pub chat_id: String,
    /// Telegram users whose button presses count.
    pub allowed_user_ids: Vec<i64>,
    /// The Bot API's base URL (a local fake in tests).
    pub api_url: String,
}

/// Telegram's Bot API.
pub const TELEGRAM_API: &str = "https://api.telegram.org";

const SETTINGS: &str = "timeout, telegram";
const TELEGRAM_SETTINGS: &str = "bot_token, chat_id, allowed_user_ids, api_url";

/// Reads every `human` block.
pub(super) fn read_all(blocks: &Blocks<'_>, env: &dyn Environment, errors: &mut Vec<ConfigError>) -> Vec<Human> {
    let mut humans: Vec<(Human, Location)> = Vec::new();
    for item in &blocks.human {
        let at = item.location();
        let labels = item.labels();
        let [name] = labels.as_slice() else {
            errors.push(ConfigError::Labels {
                at,
                block: "human".to_string(),
                expected: "one label, the person's or rota's name",
                example: r#"human "oncall" {"#,
            });
            continue;
        };
        let s = Settings::new(item, format!("human \"{name}\""), SETTINGS, errors);
        let timeout = s
            .parsed("timeout", errors, parse_duration)
            .unwrap_or(DEFAULT_APPROVAL_TIMEOUT);
        let telegram = s.nested("telegram", TELEGRAM_SETTINGS, errors).and_then(|t| {
            let bot_token = t.secret("bot_token", env, errors);
            let chat_id = t.text("chat_id", errors);
            let api_url = t
                .parsed("api_url", errors, |u| {
                    let uri = u.parse::<http::Uri>().ok();
                    let host = uri.as_ref().and_then(|u| u.host()).map(|h| h.trim_matches(['[', ']']));
                    let loopback = host.is_some_and(|h| {
                        h == "localhost" || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
                    });
                    match uri.as_ref().and_then(|u| u.scheme_str()) {
                        Some("https") if host.is_some() => Ok(u.trim_end_matches('/').to_string()),
                        Some("http") if loopback => Ok(u.trim_end_matches('/').to_string()),
                        Some("http") => Err(format!(
                            "`{u}` would send the bot token unencrypted; use https (plain http only to this machine)"
                        )),
                        _ => Err(format!("`{u}` is not an https URL; write e.g. \"{TELEGRAM_API}\"")),
                    }
                })
                .unwrap_or_else(|| TELEGRAM_API.to_string());
            let ids = t.get("allowed_user_ids").map(|a| match &a.value {
                hcl_edit::expr::Expression::Array(items) => items
                    .iter()
                    .map(|i| match i {
                        hcl_edit::expr::Expression::Number(n) => n.value().as_i64(),
                        _ => None,
                    })
                    .collect::<Option<Vec<i64>>>()
                    .ok_or_else(|| t.invalid(a, "expected a list of Telegram user ids, e.g. [111222333]")),
                _ => Err(t.invalid(a, "expected a list of Telegram user ids, e.g. [111222333]")),
            });
            for (key, example) in [
                ("bot_token", r#"bot_token = env("CLAWGATE_TELEGRAM_TOKEN")"#),
                ("chat_id", r#"chat_id = "-100123456""#),
            ] {
                if t.get(key).is_none() {
                    errors.push(t.missing(t.block_location(), key, example));
                }
            }
            let allowed_user_ids = match ids {
                Some(Ok(ids)) if !ids.is_empty() => ids,
                Some(Err(e)) => {
                    errors.push(e);
                    return None;
                }
                _ => {
                    errors.push(t.missing(t.block_location(), "allowed_user_ids", "allowed_user_ids = [111222333]"));
                    return None;
                }
            };
            Some(Telegram {
                bot_token: bot_token?,
                chat_id: chat_id?,
                allowed_user_ids,
                api_url,
            })
        });
        if let Some((_, first)) = humans.iter().find(|(h, _)| h.name == *name) {
            errors.push(ConfigError::Duplicate {
                at,
                what: format!("human \"{name}\""),
                first: first.clone(),
            });
            continue;
        }
        humans.push((
            Human {
                name: name.to_string(),
                timeout,
                telegram,
            },
            at,
        ));
    }
    humans.into_iter().map(|(h, _)| h).collect()
}
