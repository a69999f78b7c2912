//! The admin dashboard in a real browser: the real clawgate binary holds a
//! request, and `tests/dashboard/drive.mjs` (playwright-core driving Debian's
//! Chromium) signs in, finds the hold, takes a screenshot and allows it.
//! Needs what `scripts/setup-browser.sh` installs; `scripts/test` runs it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests stop at the first failure"
)]

mod support;

use std::path::Path;
use std::time::Duration;

use support::agent;
use support::gateway::Gateway;
use support::origin::Origin;

/// The base key the operator enters in the form.
const KEY_ID: &str = "AKIADASHBOARDTEST000";
const KEY_SECRET: &str = "dashboard-form-secret-do-not-log";

/// Where the browser is, as Debian installs it.
const CHROMIUM: &str = "/usr/bin/chromium";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_allows_a_held_request_from_the_dashboard() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let driver = root.join("tests/dashboard");
    assert!(
        driver.join("node_modules/playwright-core").is_dir() && Path::new(CHROMIUM).exists(),
        "the dashboard test needs {CHROMIUM} and playwright-core in tests/dashboard/node_modules: \
         run scripts/setup-browser.sh (scripts/test runs it)"
    );
    let screenshot = root.join("target/dashboard/dashboard.png");
    std::fs::create_dir_all(screenshot.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(&screenshot);

    // A POST waits for alice, long enough for a browser to get there.
    let origin = Origin::start().await;
    // And a credential whose base key is entered at run time, from the form.
    let extra = r#"human "alice" { timeout = "60s" }
credential "aws_account" "base" {}"#;
    let rules = origin.rules_holding_posts("", extra, "human.alice");
    let gateway = tokio::task::spawn_blocking(move || Gateway::start(&rules))
        .await
        .unwrap();
    let client = agent::client(&gateway.proxy_url(), &gateway.ca_pem(), true);
    // One request decided already, so the feed has a row to show.
    let read = client.get("https://upstream.test/echo/earlier").send().await.unwrap();
    assert_eq!(read.status(), 200);
    let held = tokio::spawn(async move {
        client
            .post("https://upstream.test/echo")
            .body("from the dashboard")
            .send()
            .await
    });

    // The operator's side, in the browser.
    let run = tokio::process::Command::new("node")
        .arg(driver.join("drive.mjs"))
        .current_dir(root)
        .env("DASHBOARD_URL", format!("http://{}/", gateway.admin))
        .env("DASHBOARD_TOKEN", &gateway.admin_token)
        .env("DASHBOARD_SCREENSHOT", &screenshot)
        .env("DASHBOARD_EXPECT", "POST https://upstream.test/echo")
        .env("DASHBOARD_KEY_ID", KEY_ID)
        .env("DASHBOARD_KEY_SECRET", KEY_SECRET)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("drive.mjs did not finish in 120 s")
        .expect("node runs (it comes with the machine; scripts/setup-browser.sh installs the rest)");
    assert!(
        output.status.success(),
        "drive.mjs failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );

    // Allowed in the browser, the agent's request went through.
    let response = tokio::time::timeout(Duration::from_secs(10), held)
        .await
        .expect("the allowed request did not complete")
        .unwrap()
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "from the dashboard");
    let size = std::fs::metadata(&screenshot).map(|m| m.len()).unwrap_or(0);
    assert!(size > 0, "no screenshot at {}", screenshot.display());

    // The key entered in the form is in force, and went nowhere else.
    let credentials: serde_json::Value = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("http://{}/api/credentials", gateway.admin))
        .bearer_auth(&gateway.admin_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(credentials, serde_json::json!([{ "name": "base", "set": true }]));
    let log = gateway.log();
    assert!(log.contains("base key set through the admin API"), "{log}");
    assert!(
        !log.contains(KEY_SECRET),
        "the secret entered in the form reached the log"
    );
}
