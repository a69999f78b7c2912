//! Holds: deciding, joining retries, grants, limits, timeouts.

use std::sync::Arc;

use super::*;

fn request(fingerprint: &str, approvers: &[&str], timeout: Duration) -> HoldRequest {
    HoldRequest {
        fingerprint: fingerprint.to_string(),
        agent: "ci-bot".to_string(),
        rule: "writes need approval".to_string(),
        summary: "PutObject s3 b/k".to_string(),
        approvers: approvers.iter().map(|a| a.to_string()).collect(),
        timeout,
    }
}

async fn first_pending(approvals: &Approvals) -> u64 {
    for _ in 0..100 {
        if let Some(view) = approvals.pending().first() {
            return view.id;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("nothing was held");
}

#[tokio::test]
async fn each_approver_in_order_must_allow_and_a_retry_joins_the_hold() {
    let approvals = Arc::new(Approvals::default());
    let a = tokio::spawn({
        let approvals = Arc::clone(&approvals);
        async move {
            approvals
                .hold(request("same", &["alice", "bob"], Duration::from_secs(10)))
                .await
        }
    });
    let id = first_pending(&approvals).await;
    let retry = tokio::spawn({
        let approvals = Arc::clone(&approvals);
        async move {
            approvals
                .hold(request("same", &["alice", "bob"], Duration::from_secs(10)))
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(approvals.pending().len(), 1, "the retry joined the same hold");
    approvals.allow(id, "alice").unwrap();
    assert_eq!(approvals.pending()[0].waiting_for, ["bob"]);
    approvals.allow(id, "bob").unwrap();
    let allowed = Outcome::Allowed {
        by: vec!["alice".into(), "bob".into()],
    };
    assert_eq!(a.await.unwrap(), allowed);
    assert_eq!(retry.await.unwrap(), allowed);
    // The grant window admits the same request again without asking.
    let again = approvals
        .hold(request("same", &["alice", "bob"], Duration::from_secs(10)))
        .await;
    assert!(matches!(again, Outcome::Allowed { .. }));
}

#[tokio::test]
async fn a_denial_names_who_and_a_timeout_denies() {
    let approvals = Arc::new(Approvals::default());
    let held = tokio::spawn({
        let approvals = Arc::clone(&approvals);
        async move { approvals.hold(request("x", &["alice"], Duration::from_secs(10))).await }
    });
    let id = first_pending(&approvals).await;
    approvals.deny(id, "alice", Some("not today".into())).unwrap();
    assert_eq!(
        held.await.unwrap(),
        Outcome::Denied {
            by: "alice".into(),
            reason: Some("not today".into())
        }
    );
    assert_eq!(
        approvals
            .hold(request("y", &["alice"], Duration::from_millis(50)))
            .await,
        Outcome::TimedOut
    );
    assert!(approvals.pending().is_empty(), "a timed-out hold is gone");
    assert_eq!(approvals.deny(99, "alice", None), Err(ApprovalError::NotFound(99)));
}

#[tokio::test]
async fn an_agent_past_its_limit_is_refused() {
    let approvals = Arc::new(Approvals::default());
    for i in 0..PER_AGENT_LIMIT {
        let approvals = Arc::clone(&approvals);
        tokio::spawn(async move {
            approvals
                .hold(request(&format!("r{i}"), &["a"], Duration::from_secs(10)))
                .await
        });
    }
    for _ in 0..100 {
        if approvals.pending().len() == PER_AGENT_LIMIT {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        approvals
            .hold(request("one more", &["a"], Duration::from_secs(10)))
            .await,
        Outcome::TooMany
    );
}
