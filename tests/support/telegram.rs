//! A fake Telegram Bot API on loopback: records every call, and hands out
//! the updates a test queues through `getUpdates` (answering at once when
//! there are none, as a short long-poll).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;

#[derive(Default)]
struct State {
    calls: Vec<(String, Value)>,
    updates: Vec<Value>,
    next_update: i64,
    next_message: i64,
}

/// The fake Bot API.
pub struct FakeBotApi {
    /// Where it listens (`api_url = "http://ADDR"`).
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl FakeBotApi {
    /// Starts serving; `token` is the only bot token it accepts.
    pub async fn start(token: &'static str) -> FakeBotApi {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = Arc::clone(&shared);
                tokio::spawn(async move {
                    let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                        let state = Arc::clone(&state);
                        async move {
                            let path = request.uri().path().to_string();
                            let body = request.into_body().collect().await.unwrap().to_bytes();
                            let answer = answer(&state, token, &path, &body).await;
                            Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from(answer.to_string()))))
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        FakeBotApi { addr, state }
    }

    /// The base URL for clawgate's `api_url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every call so far: the method and its JSON body.
    pub fn calls(&self) -> Vec<(String, Value)> {
        self.state.lock().unwrap().calls.clone()
    }

    /// Waits for the `n`th (from 1) call of `method` and returns its body.
    pub async fn wait_for(&self, method: &str, n: usize) -> Value {
        for _ in 0..200 {
            let found: Vec<Value> = self
                .calls()
                .into_iter()
                .filter(|(m, _)| m == method)
                .map(|(_, body)| body)
                .collect();
            if let Some(body) = found.get(n - 1) {
                return body.clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no call #{n} of {method}; calls: {:#?}", self.calls());
    }

    /// Queues a button press by user `from` in `chat` with `data`; returns its callback id.
    pub fn press(&self, from: i64, chat: i64, data: &str) -> String {
        let mut state = self.state.lock().unwrap();
        state.next_update += 1;
        let id = format!("press-{}", state.next_update);
        let update = json!({
            "update_id": state.next_update,
            "callback_query": {
                "id": id,
                "from": { "id": from, "is_bot": false, "first_name": "Tester", "username": format!("user{from}") },
                "message": { "message_id": 1, "chat": { "id": chat, "type": "supergroup" } },
                "chat_instance": "1",
                "data": data,
            }
        });
        state.updates.push(update);
        id
    }
}

async fn answer(state: &Mutex<State>, token: &str, path: &str, body: &[u8]) -> Value {
    let Some(method) = path.strip_prefix(&format!("/bot{token}/")) else {
        return json!({ "ok": false, "error_code": 401, "description": "Unauthorized" });
    };
    let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    if method == "getUpdates" {
        let offset = body["offset"].as_i64().unwrap_or(0);
        let fresh: Vec<Value> = {
            let state = state.lock().unwrap();
            let fresh = state.updates.iter();
            fresh
                .filter(|u| u["update_id"].as_i64().unwrap() >= offset)
                .cloned()
                .collect()
        };
        if fresh.is_empty() {
            // A short long-poll: the gateway asks again at once.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        return json!({ "ok": true, "result": fresh });
    }
    let mut state = state.lock().unwrap();
    state.calls.push((method.to_string(), body.clone()));
    match method {
        "sendMessage" => {
            state.next_message += 1;
            json!({ "ok": true, "result": { "message_id": state.next_message, "chat": { "id": body["chat_id"] }, "text": body["text"] } })
        }
        _ => json!({ "ok": true, "result": true }),
    }
}
