//! The Telegram approver: each hold waiting for a person with a `telegram`
//! block is posted to their chat with Approve and Deny buttons. clawgate
//! long-polls `getUpdates` (so it works behind NAT, with no webhook), counts
//! a button press only from the chat's allowed users, answers every press,
//! and edits the message to show how the hold ended, timeouts included.
//! One poller runs per bot token, serving every person that bot speaks for.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use http::header::{CONTENT_TYPE, HeaderValue};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

use super::{Approvals, Choice, Decider, HoldEvent, HoldView, Outcome};
use crate::config::Human;
use crate::ids::HoldId;
use crate::net::Transport;
use crate::secret::Secret;

/// How long one `getUpdates` waits for news, in seconds.
const LONG_POLL: u64 = 25;
/// The longest a Bot API call may take (a long poll included).
const CALL_TIMEOUT: Duration = Duration::from_secs(LONG_POLL + 10);
/// Telegram's limit on a message's text, less room for the outcome line.
const MAX_TEXT: usize = 3800;
/// The longest pause after a failed call to the Bot API.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Why a Bot API call failed. Never carries the bot token.
#[derive(Debug, thiserror::Error)]
pub enum TelegramError {
    /// The call did not complete.
    #[error("Telegram's Bot API could not be reached for {method}: {reason}")]
    Unreachable {
        /// The Bot API method.
        method: &'static str,
        /// Why.
        reason: String,
    },
    /// The Bot API refused the call.
    #[error("Telegram's Bot API refused {method}: {description}")]
    Refused {
        /// The Bot API method.
        method: &'static str,
        /// What it said.
        description: String,
    },
}

/// A person this bot speaks for: their chat and who may press the buttons.
#[derive(Debug, Clone)]
struct Approver {
    human: String,
    chat_id: String,
    allowed_user_ids: Vec<i64>,
}

/// One bot, and the hold events it has to show, from the moment it was made.
pub struct Telegram {
    bot: Bot,
    events: broadcast::Receiver<HoldEvent>,
}

impl std::fmt::Debug for Telegram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telegram")
            .field("api_url", &self.bot.api_url)
            .field("approvers", &self.bot.approvers)
            .finish_non_exhaustive()
    }
}

/// A bot: its token, where its API is, and the people it speaks for.
struct Bot {
    token: Secret,
    api_url: String,
    approvers: Vec<Approver>,
    transport: Arc<dyn Transport>,
    approvals: Arc<Approvals>,
    /// Marks this run's buttons: hold ids start again at 1 in every run, so
    /// a button left from an earlier run must not decide a new hold.
    run: String,
}

/// A message posted for a hold: where it is, and whose turn it announced.
#[derive(Debug, Clone)]
struct Posted {
    chat_id: String,
    message_id: i64,
    human: String,
    summary: String,
}

impl Telegram {
    /// One bot per distinct bot token among `humans`.
    pub fn bots(humans: &[Human], transport: &Arc<dyn Transport>, approvals: &Arc<Approvals>) -> Vec<Telegram> {
        let mut bots: Vec<Telegram> = Vec::new();
        for human in humans {
            let Some(telegram) = &human.telegram else { continue };
            let approver = Approver {
                human: human.name.clone(),
                chat_id: telegram.chat_id.clone(),
                allowed_user_ids: telegram.allowed_user_ids.clone(),
            };
            let same = |t: &&mut Telegram| {
                t.bot.token.expose() == telegram.bot_token.expose() && t.bot.api_url == telegram.api_url
            };
            match bots.iter_mut().find(same) {
                Some(t) => t.bot.approvers.push(approver),
                None => bots.push(Telegram {
                    bot: Bot {
                        token: telegram.bot_token.clone(),
                        api_url: telegram.api_url.clone(),
                        approvers: vec![approver],
                        transport: Arc::clone(transport),
                        approvals: Arc::clone(approvals),
                        run: format!("{:08x}", rand::random::<u32>()),
                    },
                    events: approvals.subscribe(),
                }),
            }
        }
        bots
    }

    /// Posts holds and reads button presses until the task is dropped.
    pub async fn run(self) {
        let bot = Arc::new(self.bot);
        tokio::join!(Arc::clone(&bot).post_holds(self.events), bot.read_presses());
    }
}

impl Bot {
    /// Posts each hold when it becomes one of this bot's people's turn, and
    /// edits the message when the turn passes or the hold ends.
    async fn post_holds(self: Arc<Self>, mut events: broadcast::Receiver<HoldEvent>) {
        let mut posted: HashMap<HoldId, Posted> = HashMap::new();
        loop {
            match events.recv().await {
                Ok(HoldEvent::Pending(view)) => self.pending(&view, &mut posted).await,
                Ok(HoldEvent::Settled { id, outcome }) => {
                    if let Some(message) = posted.remove(&id) {
                        let text = format!("{}\n\n{}", message.summary, settled_line(&outcome));
                        self.log(self.edit(&message, &text).await);
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(
                        missed,
                        "Telegram fell behind the holds; catching up from the pending list"
                    );
                    let pending = self.approvals.pending();
                    let gone: Vec<HoldId> = posted
                        .keys()
                        .filter(|id| !pending.iter().any(|p| p.id == **id))
                        .copied()
                        .collect();
                    for id in gone {
                        if let Some(message) = posted.remove(&id) {
                            let text = format!("{}\n\nNo longer waiting.", message.summary);
                            self.log(self.edit(&message, &text).await);
                        }
                    }
                    for view in pending {
                        self.pending(&view, &mut posted).await;
                    }
                }
                Err(RecvError::Closed) => return,
            }
        }
    }

    /// A hold is new or has progressed.
    async fn pending(&self, view: &HoldView, posted: &mut HashMap<HoldId, Posted>) {
        let next = view.waiting_for.first();
        if let Some(message) = posted.get(&view.id) {
            if Some(&message.human) == next {
                return;
            }
            // Their turn has passed: show who allowed it, without buttons.
            let text = format!(
                "{}\n\n✅ allowed by {}; now waiting for {}",
                message.summary,
                view.allowed_by.join(", "),
                view.waiting_for.join(", then ")
            );
            self.log(self.edit(message, &text).await);
            posted.remove(&view.id);
        }
        let Some(approver) = next.and_then(|n| self.approvers.iter().find(|a| &a.human == n)) else {
            return;
        };
        let text = hold_text(view);
        let body = json!({
            "chat_id": approver.chat_id,
            "text": text,
            "reply_markup": {
                "inline_keyboard": [[
                    { "text": "✅ Approve", "callback_data": format!("allow:{}:{}", self.run, view.id) },
                    { "text": "❌ Deny", "callback_data": format!("deny:{}:{}", self.run, view.id) },
                ]]
            }
        });
        match self.call("sendMessage", body).await {
            Ok(message) => match message.get("message_id").and_then(Value::as_i64) {
                Some(message_id) => {
                    posted.insert(
                        view.id,
                        Posted {
                            chat_id: approver.chat_id.clone(),
                            message_id,
                            human: approver.human.clone(),
                            summary: text,
                        },
                    );
                }
                None => tracing::warn!(hold = %view.id, "Telegram's sendMessage answer had no message_id"),
            },
            Err(e) => tracing::warn!(hold = %view.id, error = %e, "cannot post the hold to Telegram"),
        }
    }

    /// Long-polls for button presses and acts on them.
    async fn read_presses(self: Arc<Self>) {
        let mut offset: i64 = 0;
        let mut backoff = Duration::from_secs(1);
        loop {
            let body = json!({ "offset": offset, "timeout": LONG_POLL, "allowed_updates": ["callback_query"] });
            let updates = match self.call("getUpdates", body).await {
                Ok(Value::Array(updates)) => {
                    backoff = Duration::from_secs(1);
                    updates
                }
                Ok(other) => {
                    tracing::warn!(answer = %other, "Telegram getUpdates answered something other than a list");
                    tokio::time::sleep(backoff).await;
                    continue;
                }
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_secs = backoff.as_secs(), "Telegram getUpdates failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
            };
            for update in updates {
                // Past every update, even one that does not parse, so none comes back.
                if let Some(id) = update.get("update_id").and_then(Value::as_i64) {
                    offset = offset.max(id + 1);
                }
                match serde_json::from_value::<Update>(update) {
                    Ok(Update {
                        callback_query: Some(press),
                    }) => self.press(press).await,
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "ignored a Telegram update that does not parse"),
                }
            }
        }
    }

    /// One button press: counted only from an allowed user of the chat it was pressed in.
    async fn press(&self, press: CallbackQuery) {
        let chat = press.message.as_ref().map(|m| m.chat.id.to_string());
        let approver = self
            .approvers
            .iter()
            .find(|a| Some(&a.chat_id) == chat.as_ref() && a.allowed_user_ids.contains(&press.from.id));
        let answer = match approver {
            None => {
                tracing::warn!(user = press.from.id, chat = ?chat, "ignored a Telegram button press from a user not allowed to approve");
                "You are not allowed to decide on this request.".to_string()
            }
            Some(approver) => {
                let by = press.from.name();
                let data: Vec<&str> = press.data.as_deref().unwrap_or("").split(':').collect();
                let (choice, run, id) = match data.as_slice() {
                    ["allow", run, id] => (Some(Choice::Allow), *run, id.parse::<HoldId>()),
                    ["deny", run, id] => (Some(Choice::Deny), *run, id.parse::<HoldId>()),
                    _ => (None, "", "".parse::<HoldId>()),
                };
                match (choice, id) {
                    (Some(_), Ok(_)) if run != self.run => {
                        "This button is from an earlier run of clawgate; its request is gone.".to_string()
                    }
                    (Some(choice), Ok(id)) => {
                        let decider = Decider {
                            by: &by,
                            reason: Some("decided in Telegram"),
                            approver: Some(&approver.human),
                        };
                        match self.approvals.decide(id, choice, decider) {
                            Ok(()) if choice == Choice::Allow => "Approved.".to_string(),
                            Ok(()) => "Denied.".to_string(),
                            Err(e) => e.to_string(),
                        }
                    }
                    _ => "This button is not one of clawgate's.".to_string(),
                }
            }
        };
        let body = json!({ "callback_query_id": press.id, "text": answer });
        self.log(self.call("answerCallbackQuery", body).await.map(drop));
    }

    /// Replaces a posted message's text, removing its buttons.
    async fn edit(&self, message: &Posted, text: &str) -> Result<(), TelegramError> {
        let body = json!({
            "chat_id": message.chat_id,
            "message_id": message.message_id,
            "text": text,
            "reply_markup": { "inline_keyboard": [] },
        });
        self.call("editMessageText", body).await.map(drop)
    }

    /// Calls a Bot API method; its `result` on success.
    async fn call(&self, method: &'static str, body: Value) -> Result<Value, TelegramError> {
        let url = format!("{}/bot{}/{method}", self.api_url, self.token.expose());
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let unreachable = |reason: String| TelegramError::Unreachable {
            method,
            reason: reason.replace(self.token.expose(), "<bot token>"),
        };
        let call = self.transport.post(url, headers, Bytes::from(body.to_string()));
        let (_, answer) = tokio::time::timeout(CALL_TIMEOUT, call)
            .await
            .map_err(|_| unreachable(format!("no answer in {} s", CALL_TIMEOUT.as_secs())))?
            .map_err(|e| unreachable(e.to_string()))?;
        let answer: Value = serde_json::from_slice(&answer).unwrap_or(Value::Null);
        if answer.get("ok").and_then(Value::as_bool) == Some(true) {
            Ok(answer.get("result").cloned().unwrap_or(Value::Null))
        } else {
            let description = answer
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or("no description")
                .to_string();
            Err(TelegramError::Refused { method, description })
        }
    }

    fn log(&self, result: Result<(), TelegramError>) {
        if let Err(e) = result {
            tracing::warn!(error = %e, "Telegram");
        }
    }
}

/// The message for a hold.
fn hold_text(view: &HoldView) -> String {
    let mut text = format!("🔒 Approval needed (hold {})\n{}\n", view.id, view.summary);
    for (name, value) in &view.facets {
        text.push_str(&format!("\n{name}: {value}"));
    }
    if !view.allowed_by.is_empty() {
        text.push_str(&format!("\n\nallowed so far by {}", view.allowed_by.join(", ")));
    }
    if text.chars().count() > MAX_TEXT {
        text = text.chars().take(MAX_TEXT).collect::<String>() + "…";
    }
    text
}

/// The line added when a hold ends.
fn settled_line(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Allowed { by } => {
            let names: Vec<&str> = by.iter().map(|c| c.by.as_str()).collect();
            format!("✅ Approved by {}", names.join(", then "))
        }
        Outcome::Denied {
            by,
            reason: Some(reason),
        } => format!("❌ Denied by {by}: {reason}"),
        Outcome::Denied { by, reason: None } => format!("❌ Denied by {by}"),
        Outcome::TimedOut => "⌛ Nobody decided in time: denied".to_string(),
        Outcome::Abandoned => "⌛ The agent stopped waiting".to_string(),
        Outcome::TooMany { .. } => "❌ Refused: too many requests waiting".to_string(),
    }
}

/// One entry of `getUpdates` (its `update_id` is read before parsing).
#[derive(Debug, Deserialize)]
struct Update {
    callback_query: Option<CallbackQuery>,
}

/// A button press.
#[derive(Debug, Deserialize)]
struct CallbackQuery {
    id: String,
    from: User,
    message: Option<Message>,
    data: Option<String>,
}

#[derive(Debug, Deserialize)]
struct User {
    id: i64,
    first_name: Option<String>,
    username: Option<String>,
}

impl User {
    /// How the person is named in the hold's record.
    fn name(&self) -> String {
        match (&self.username, &self.first_name) {
            (Some(username), _) => format!("@{username} (Telegram)"),
            (None, Some(first)) => format!("{first} (Telegram {})", self.id),
            (None, None) => format!("Telegram user {}", self.id),
        }
    }
}

#[derive(Debug, Deserialize)]
struct Message {
    chat: Chat,
}

#[derive(Debug, Deserialize)]
struct Chat {
    id: i64,
}
