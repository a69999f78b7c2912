//! Held requests and their channels, through the real binary: the command
//! line, Telegram (against a fake Bot API), many holds at once, and the
//! audit log and metrics they leave.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests stop at the first failure"
)]

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::agent;
use support::gateway::{Gateway, cli};
use support::operator::Operator;
use support::origin::Origin;
use support::telegram::FakeBotApi;

async fn start(rules: String) -> Gateway {
    tokio::task::spawn_blocking(move || Gateway::start(&rules))
        .await
        .unwrap()
}

fn agent_client(gateway: &Gateway) -> reqwest::Client {
    agent::client(&gateway.proxy_url(), &gateway.ca_pem(), false)
}

#[tokio::test]
async fn the_command_line_lists_allows_and_denies_holds() {
    let origin = Origin::start().await;
    let gateway = start(origin.rules_holding_posts("", r#"human "oncall" {}"#, "human.oncall")).await;
    let operator = Operator::of(&gateway);
    let client = agent_client(&gateway);
    let admin = format!("http://{}", gateway.admin);
    let approvals = |args: &[&str]| {
        let mut all = vec!["approvals", "--admin", &admin, "--token", &gateway.admin_token];
        all.extend_from_slice(args);
        cli(&all)
    };

    let (ok, out, err) = approvals(&["list"]);
    assert!(ok, "{err}");
    assert_eq!(out, "no requests are waiting for approval\n");
    let first = tokio::spawn({
        let client = client.clone();
        async move {
            client
                .post("https://upstream.test/echo/one")
                .body("1")
                .send()
                .await
                .unwrap()
        }
    });
    let second = tokio::spawn({
        let client = client.clone();
        async move {
            client
                .post("https://upstream.test/echo/two")
                .body("2")
                .send()
                .await
                .unwrap()
        }
    });
    let holds = operator.wait_for_holds(2).await;
    let id = |i: usize| {
        let path = ["/echo/one", "/echo/two"][i];
        let hold = holds.iter().find(|h| h["facets"]["http.path"] == path).unwrap();
        hold["id"].as_u64().unwrap().to_string()
    };
    let (ok, out, err) = approvals(&["list"]);
    assert!(ok, "{err}");
    assert!(out.starts_with("ID"), "{out}");
    assert!(
        out.contains("POST https://upstream.test/echo/one, by agent local — rule 'posts need a person'"),
        "{out}"
    );
    assert_eq!(out.lines().count(), 3, "{out}");

    let (ok, out, err) = approvals(&["allow", &id(0), "--as", "carol"]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), format!("allowed hold {} as carol", id(0)));
    let (ok, _, err) = approvals(&["deny", &id(1), "--as", "dave", "--reason", "not now"]);
    assert!(ok, "{err}");
    assert_eq!(first.await.unwrap().status(), 200);
    let denied = second.await.unwrap();
    assert_eq!(denied.status(), 403);
    let text = denied.text().await.unwrap();
    assert!(
        text.contains("denied by dave while rule 'posts need a person' held it for approval by oncall: not now"),
        "{text}"
    );

    let (ok, _, err) = approvals(&["allow", &id(0)]);
    assert!(!ok);
    assert!(err.contains("no pending hold"), "{err}");
    let (ok, _, err) = cli(&["approvals", "--admin", &admin, "--token", "wrong", "list"]);
    assert!(!ok);
    assert!(err.contains("refused the token"), "{err}");
    let (ok, _, err) = cli(&["approvals", "--admin", "http://127.0.0.1:1", "--token", "t", "list"]);
    assert!(!ok);
    assert!(err.contains("cannot reach the admin server"), "{err}");
}

#[tokio::test]
async fn telegram_posts_holds_and_only_allowed_users_decide() {
    let origin = Origin::start().await;
    let bot = FakeBotApi::start("123:secret-bot-token").await;
    let humans = format!(
        r#"human "oncall" {{
  timeout = "30s"
  telegram {{
    bot_token        = "123:secret-bot-token"
    chat_id          = "-100123"
    allowed_user_ids = [111]
    api_url          = "{url}"
  }}
}}
human "sleepy" {{
  timeout = "1s"
  telegram {{
    bot_token        = "123:secret-bot-token"
    chat_id          = "-100456"
    allowed_user_ids = [111]
    api_url          = "{url}"
  }}
}}
rule "puts need sleepy" {{
  priority  = 5
  match     = http.method == "PUT"
  action    = "approve"
  approvers = [human.sleepy]
}}"#,
        url = bot.url()
    );
    // The fake Bot API listens on loopback, which clawgate dials only when told to.
    let dial_bot_api = format!(r#"dial_private = ["{}"]"#, bot.addr.ip());
    let gateway = start(origin.rules_holding_posts(&dial_bot_api, &humans, "human.oncall")).await;
    let operator = Operator::of(&gateway);
    let client = agent_client(&gateway);

    let held = tokio::spawn({
        let client = client.clone();
        async move {
            client
                .post("https://upstream.test/echo/deploy")
                .body("go")
                .send()
                .await
                .unwrap()
        }
    });
    let message = bot.wait_for("sendMessage", 1).await;
    assert_eq!(message["chat_id"], "-100123");
    let text = message["text"].as_str().unwrap();
    assert!(
        text.contains("POST https://upstream.test/echo/deploy, by agent local"),
        "{text}"
    );
    let buttons = &message["reply_markup"]["inline_keyboard"][0];
    let hold = operator.holds().await[0]["id"].as_u64().unwrap();
    let approve = buttons[0]["callback_data"].as_str().unwrap();
    let deny = buttons[1]["callback_data"].as_str().unwrap();
    assert!(
        approve.starts_with("allow:") && approve.ends_with(&format!(":{hold}")),
        "{approve}"
    );
    assert!(
        deny.starts_with("deny:") && deny.ends_with(&format!(":{hold}")),
        "{deny}"
    );
    assert!(buttons[0]["text"].as_str().unwrap().contains("Approve"));
    assert!(buttons[1]["text"].as_str().unwrap().contains("Deny"));

    // A press from someone not allowed is answered and otherwise ignored.
    let stranger = bot.press(222, -100123, approve);
    let answer = bot.wait_for("answerCallbackQuery", 1).await;
    assert_eq!(answer["callback_query_id"], stranger);
    assert!(answer["text"].as_str().unwrap().contains("not allowed"), "{answer}");
    // A button left from an earlier run of clawgate decides nothing.
    bot.press(111, -100123, &format!("allow:00000000:{hold}"));
    let answer = bot.wait_for("answerCallbackQuery", 2).await;
    assert!(answer["text"].as_str().unwrap().contains("earlier run"), "{answer}");
    assert_eq!(operator.holds().await.len(), 1, "still held");
    assert!(!held.is_finished());

    // The allowed user's press releases it; the message shows the outcome.
    let press = bot.press(111, -100123, approve);
    let response = held.await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "go");
    let answer = bot.wait_for("answerCallbackQuery", 3).await;
    assert_eq!(answer["callback_query_id"], press);
    assert_eq!(answer["text"], "Approved.");
    let edit = bot.wait_for("editMessageText", 1).await;
    assert_eq!(edit["chat_id"], "-100123");
    assert_eq!(edit["message_id"], 1);
    assert!(
        edit["text"].as_str().unwrap().contains("Approved by @user111"),
        "{edit}"
    );
    assert_eq!(edit["reply_markup"]["inline_keyboard"], serde_json::json!([]));

    // A hold nobody answers times out, and its message says so.
    let timed_out = client
        .put("https://upstream.test/echo/late")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(timed_out.status(), 403);
    let posted = bot.wait_for("sendMessage", 2).await;
    assert_eq!(posted["chat_id"], "-100456");
    let edit = bot.wait_for("editMessageText", 2).await;
    assert_eq!(edit["message_id"], 2);
    assert!(
        edit["text"].as_str().unwrap().contains("Nobody decided in time"),
        "{edit}"
    );

    let log = gateway.log();
    assert!(!log.contains("secret-bot-token"), "the bot token reached the log");
    let records = gateway.audit_records();
    let approved = records.iter().find(|r| r["path"] == "/echo/deploy").unwrap();
    assert_eq!(approved["decision"], "approved");
    assert_eq!(
        approved["approval"]["allowed_by"],
        serde_json::json!(["@user111 (Telegram)"])
    );
}

#[tokio::test]
async fn with_500_holds_pending_an_allowed_request_still_completes_at_once() {
    let origin = Origin::start().await;
    let gateway = start(origin.rules_holding_posts(
        "max_pending_per_agent = 1000\n  max_requests_per_agent = 1000",
        r#"human "oncall" {
  timeout = "120s"
}"#,
        "human.oncall",
    ))
    .await;
    let operator = Operator::of(&gateway);
    // Five HTTP/2 connections, 100 held streams on each.
    let clients: Vec<reqwest::Client> = (0..5).map(|_| agent_client(&gateway)).collect();
    let mut held = Vec::new();
    for i in 0..500 {
        let client = clients[i % clients.len()].clone();
        held.push(tokio::spawn(async move {
            client
                .post(format!("https://upstream.test/echo/{i}"))
                .body("x")
                .send()
                .await
        }));
    }
    operator.wait_for_holds(500).await;
    let client = agent_client(&gateway);
    let started = Instant::now();
    let response = client.get("https://upstream.test/echo/now").send().await.unwrap();
    let took = started.elapsed();
    assert_eq!(response.status(), 200);
    println!("with 500 holds pending, an allowed request took {took:?} (new connection, TLS included)");
    // The issue's own check: "well under a second" (it takes a few ms).
    assert!(took < Duration::from_secs(1), "took {took:?}");
    let started = Instant::now();
    assert_eq!(operator.holds().await.len(), 500);
    println!("listing 500 holds took {:?}", started.elapsed());
    assert!(held.iter().all(|h| !h.is_finished()), "every hold is still waiting");
    let metrics = operator.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("clawgate_holds_pending 500"), "{metrics}");
}

#[tokio::test]
async fn every_request_leaves_one_audit_record_and_metrics_count_them() {
    let origin = Origin::start().await;
    let mut gateway = start(origin.rules_holding_posts("", r#"human "oncall" {}"#, "human.oncall")).await;
    let operator = Operator::of(&gateway);
    let client = agent_client(&gateway);

    let ok = client
        .put("https://upstream.test/echo/read")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let id = ok.headers()["x-clawgate-request-id"].to_str().unwrap().to_string();
    assert_eq!(ok.bytes().await.unwrap(), "hello");
    let denied = client.delete("https://upstream.test/echo/x").send().await.unwrap();
    assert_eq!(denied.status(), 403);
    let held = tokio::spawn({
        let client = client.clone();
        async move {
            client
                .post("https://upstream.test/echo/w")
                .body("12345")
                .send()
                .await
                .unwrap()
        }
    });
    let hold = operator.wait_for_holds(1).await[0]["id"].as_u64().unwrap();
    // Long enough to show in the record's wait.
    tokio::time::sleep(Duration::from_millis(300)).await;
    operator.decide(hold, "allow", "alice", "").await;
    assert_eq!(held.await.unwrap().text().await.unwrap(), "12345");
    let unknown = client.get("https://nowhere.test/").send().await;
    assert!(unknown.is_err(), "an unclaimed host is refused at CONNECT");

    // The feed, filtered, newest first.
    let recent: Vec<Value> = operator.get("/api/decisions?decision=deny").await.json().await.unwrap();
    assert_eq!(recent.len(), 2, "{recent:#?}");
    assert_eq!(recent[0]["host"], "nowhere.test");
    assert_eq!(recent[1]["rule"], "no deletes");
    let metrics = operator.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(r#"clawgate_requests_total{endpoint="https.test",service="",decision="allow"} 1"#),
        "{metrics}"
    );
    assert!(metrics.contains("clawgate_approval_wait_seconds_count 1"), "{metrics}");
    assert!(metrics.contains("clawgate_cert_cache_misses_total 1"), "{metrics}");
    assert!(operator.get("/metrics").await.status() == 200);

    // An agent that gives up on a held request still leaves its record.
    let impatient = client
        .post("https://upstream.test/echo/impatient")
        .body("x")
        .timeout(Duration::from_millis(500))
        .send()
        .await;
    assert!(impatient.unwrap_err().is_timeout());
    let recorded = async {
        loop {
            let recent: Vec<Value> = operator.get("/api/decisions?limit=1").await.json().await.unwrap();
            if recent.first().is_some_and(|r| r["path"] == "/echo/impatient") {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), recorded)
        .await
        .expect("the record of a request whose agent left");

    // SIGTERM: clawgate closes the idle HTTP/2 connection at once, and
    // every record is on disk when it exits.
    gateway.terminate();
    assert!(gateway.wait_exit(Duration::from_secs(5)).success(), "{}", gateway.log());
    let records = gateway.audit_records();
    assert_eq!(records.len(), 5, "one record per request: {records:#?}");
    let gave_up = records.iter().find(|r| r["path"] == "/echo/impatient").unwrap();
    assert_eq!(gave_up["status"], 499);
    assert_eq!(gave_up["decision"], "deny");
    assert!(
        gave_up["error"].as_str().unwrap().contains("the agent went away"),
        "{gave_up}"
    );
    let read = &records.iter().find(|r| r["id"] == id.as_str()).unwrap();
    assert_eq!(read["decision"], "allow");
    assert_eq!(read["rule"], "the test upstream is open");
    assert_eq!(read["endpoint"], "https.test");
    assert_eq!(read["status"], 200);
    assert_eq!(read["agent"], "local");
    assert_eq!(read["facets"]["http.path"], "/echo/read");
    assert_eq!(
        (read["bytes_in"].as_u64(), read["bytes_out"].as_u64()),
        (Some(5), Some(5))
    );
    assert!(read["upstream_ms"].is_u64());
    let delete = records.iter().find(|r| r["method"] == "DELETE").unwrap();
    assert_eq!(delete["decision"], "deny");
    assert_eq!(delete["status"], 403);
    assert!(delete["reason"].as_str().unwrap().contains("nothing is deleted here"));
    let post = records.iter().find(|r| r["method"] == "POST").unwrap();
    assert_eq!(post["decision"], "approved");
    assert_eq!(post["bytes_in"], 5);
    assert_eq!(post["bytes_out"], 5);
    assert_eq!(post["approval"]["allowed_by"], serde_json::json!(["alice"]));
    assert!(post["approval"]["waited_ms"].as_u64().unwrap() >= 300);
    let connect = records.iter().find(|r| r["host"] == "nowhere.test").unwrap();
    assert_eq!(connect["method"], "CONNECT");
    assert_eq!(connect["decision"], "deny");
    assert!(
        connect["reason"]
            .as_str()
            .unwrap()
            .contains("not claimed by any endpoint")
    );
}
