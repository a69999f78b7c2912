//! The admin API, as a test's operator: list holds, wait for them, decide.

use std::time::Duration;

use serde_json::Value;

use super::gateway::Gateway;

/// The admin API of one gateway, with its token.
pub struct Operator {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Operator {
    /// The operator of `gateway`.
    pub fn of(gateway: &Gateway) -> Operator {
        Operator {
            client: reqwest::Client::builder().no_proxy().build().unwrap(),
            base: format!("http://{}", gateway.admin),
            token: gateway.admin_token.clone(),
        }
    }

    /// `GET path` with the token.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
    }

    /// The pending holds.
    pub async fn holds(&self) -> Vec<Value> {
        self.get("/api/holds").await.json::<Vec<Value>>().await.unwrap()
    }

    /// Waits until `n` holds are pending.
    pub async fn wait_for_holds(&self, n: usize) -> Vec<Value> {
        for _ in 0..400 {
            let holds = self.holds().await;
            if holds.len() >= n {
                return holds;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{n} holds never became pending; there are {}", self.holds().await.len());
    }

    /// `POST /api/holds/ID/VERB` (`allow` or `deny`) as `by`, saying `reason`.
    pub async fn decide(&self, id: u64, verb: &str, by: &str, reason: &str) -> reqwest::Response {
        self.client
            .post(format!("{}/api/holds/{id}/{verb}", self.base))
            .bearer_auth(&self.token)
            .json(&serde_json::json!({"by": by, "reason": reason}))
            .send()
            .await
            .unwrap()
    }
}
