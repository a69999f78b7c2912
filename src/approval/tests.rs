//! Holds: deciding, joining retries, grants, limits, timeouts.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::*;
use crate::config::ApprovalSettings;
use crate::ids::{AgentName, RuleName};

fn request(fingerprint: &str, approvers: &[&str], timeout: Duration) -> HoldRequest {
    HoldRequest {
        fingerprint: fingerprint.to_string(),
        agent: AgentName::parse("ci-bot").unwrap(),
        rule: RuleName::new("writes need approval"),
        summary: "PutObject s3 b/k".to_string(),
        approvers: approvers.iter().map(|a| a.to_string()).collect(),
        timeout,
        facets: BTreeMap::from([("http.method".to_string(), "PUT".to_string())]),
    }
}

fn decider<'a>(by: &'a str, approver: Option<&'a str>) -> Decider<'a> {
    Decider {
        by,
        reason: None,
        approver,
    }
}

async fn first_pending(approvals: &Approvals) -> HoldId {
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
    let approvals = Arc::new(Approvals::new(ApprovalSettings::default()));
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
    assert_eq!(
        approvals.decide(id, Choice::Allow, decider("Bob B.", Some("bob"))),
        Err(ApprovalError::NotYourTurn {
            id,
            waiting_for: "alice".into()
        }),
        "a channel speaking for bob cannot allow before alice"
    );
    assert!(
        matches!(
            approvals.decide(id, Choice::Allow, decider("bob", None)),
            Err(ApprovalError::NotYourTurn { .. })
        ),
        "naming an approver counts as that approver"
    );
    approvals
        .decide(id, Choice::Allow, decider("alice", Some("alice")))
        .unwrap();
    assert_eq!(
        approvals.decide(id, Choice::Allow, decider("Alice", None)),
        Err(ApprovalError::AlreadyAllowed { id, by: "Alice".into() }),
        "one person cannot count twice"
    );
    assert_eq!(approvals.pending()[0].waiting_for, ["bob"]);
    assert_eq!(approvals.pending()[0].allowed_by, ["alice"]);
    approvals.decide(id, Choice::Allow, decider("bob", None)).unwrap();
    let consent = |by: &str| Consent {
        by: by.into(),
        reason: None,
    };
    let allowed = Outcome::Allowed {
        by: vec![consent("alice"), consent("bob")],
    };
    assert_eq!(
        a.await.unwrap(),
        Settled {
            hold: Some(id),
            outcome: allowed.clone()
        }
    );
    assert_eq!(retry.await.unwrap().outcome, allowed);
    // The grant window admits the same request again without asking.
    let again = approvals
        .hold(request("same", &["alice", "bob"], Duration::from_secs(10)))
        .await;
    assert_eq!(again.hold, None, "admitted without a hold");
    assert!(matches!(again.outcome, Outcome::Allowed { .. }));
}

#[tokio::test]
async fn a_denial_names_who_and_a_timeout_denies() {
    let approvals = Arc::new(Approvals::new(ApprovalSettings::default()));
    let held = tokio::spawn({
        let approvals = Arc::clone(&approvals);
        async move { approvals.hold(request("x", &["alice"], Duration::from_secs(10))).await }
    });
    let id = first_pending(&approvals).await;
    approvals
        .decide(
            id,
            Choice::Deny,
            Decider {
                by: "alice",
                reason: Some("not today"),
                approver: None,
            },
        )
        .unwrap();
    assert_eq!(
        held.await.unwrap().outcome,
        Outcome::Denied {
            by: "alice".into(),
            reason: Some("not today".into())
        }
    );
    assert_eq!(
        approvals
            .hold(request("y", &["alice"], Duration::from_millis(50)))
            .await
            .outcome,
        Outcome::TimedOut
    );
    assert!(approvals.pending().is_empty(), "a timed-out hold is gone");
    assert_eq!(
        approvals.decide(HoldId(99), Choice::Deny, decider("alice", None)),
        Err(ApprovalError::NotFound(HoldId(99)))
    );
}

#[tokio::test]
async fn an_agent_past_its_limit_is_refused() {
    let limit = 3;
    let approvals = Arc::new(Approvals::new(ApprovalSettings {
        grant_window: Duration::from_secs(300),
        max_pending_per_agent: limit,
    }));
    for i in 0..limit {
        let approvals = Arc::clone(&approvals);
        tokio::spawn(async move {
            approvals
                .hold(request(&format!("r{i}"), &["a"], Duration::from_secs(10)))
                .await
        });
    }
    for _ in 0..100 {
        if approvals.pending().len() == limit {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        approvals
            .hold(request("one more", &["a"], Duration::from_secs(10)))
            .await
            .outcome,
        Outcome::TooMany { limit }
    );
}

#[tokio::test]
async fn subscribers_see_holds_open_progress_and_settle() {
    let approvals = Arc::new(Approvals::new(ApprovalSettings::default()));
    let mut events = approvals.subscribe();
    let held = tokio::spawn({
        let approvals = Arc::clone(&approvals);
        async move {
            approvals
                .hold(request("e", &["alice", "bob"], Duration::from_secs(10)))
                .await
        }
    });
    let HoldEvent::Pending(opened) = events.recv().await.unwrap() else {
        panic!("the first event is the new hold")
    };
    assert_eq!(opened.waiting_for, ["alice", "bob"]);
    assert_eq!(opened.facets["http.method"], "PUT");
    assert_eq!(opened.expires - opened.since, 10);
    approvals
        .decide(opened.id, Choice::Allow, decider("alice", None))
        .unwrap();
    let HoldEvent::Pending(progressed) = events.recv().await.unwrap() else {
        panic!("an allow that does not release it shows progress")
    };
    assert_eq!(progressed.waiting_for, ["bob"]);
    approvals.decide(opened.id, Choice::Deny, decider("bob", None)).unwrap();
    let HoldEvent::Settled { id, outcome } = events.recv().await.unwrap() else {
        panic!("then it settles")
    };
    assert_eq!((id, outcome.word()), (opened.id, "denied"));
    assert_eq!(held.await.unwrap().outcome.word(), "denied");
}

#[tokio::test]
async fn a_hold_nobody_waits_on_is_dropped_after_a_grace_unless_a_retry_joins() {
    let approvals = Arc::new(Approvals::new(ApprovalSettings::default()));
    let mut events = approvals.subscribe();
    let gone = tokio::spawn({
        let approvals = Arc::clone(&approvals);
        async move { approvals.hold(request("r", &["alice"], Duration::from_secs(600))).await }
    });
    let id = first_pending(&approvals).await;
    gone.abort();
    let _ = gone.await;
    // Within the grace, a retry joins the same hold and keeps it.
    approvals.sweep(Instant::now() + ABANDON_GRACE / 2);
    assert_eq!(approvals.count(), 1);
    let retry = tokio::spawn({
        let approvals = Arc::clone(&approvals);
        async move { approvals.hold(request("r", &["alice"], Duration::from_secs(600))).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    approvals.sweep(Instant::now() + ABANDON_GRACE * 2);
    assert_eq!(approvals.pending()[0].id, id, "a joined hold is not abandoned");
    retry.abort();
    let _ = retry.await;
    // With nobody back in time, it ends, and says so.
    approvals.sweep(Instant::now() + ABANDON_GRACE * 2);
    assert_eq!(approvals.count(), 0);
    let settled = loop {
        if let HoldEvent::Settled { id, outcome } = events.recv().await.unwrap() {
            break (id, outcome);
        }
    };
    assert_eq!(settled, (id, Outcome::Abandoned));
}

#[tokio::test]
async fn stopping_denies_every_pending_hold() {
    let approvals = Arc::new(Approvals::new(ApprovalSettings::default()));
    let held = tokio::spawn({
        let approvals = Arc::clone(&approvals);
        async move { approvals.hold(request("s", &["alice"], Duration::from_secs(600))).await }
    });
    first_pending(&approvals).await;
    approvals.deny_all("clawgate is stopping");
    assert_eq!(
        held.await.unwrap().outcome,
        Outcome::Denied {
            by: "clawgate".into(),
            reason: Some("clawgate is stopping".into())
        }
    );
}

#[tokio::test]
async fn a_channel_may_only_deny_holds_that_ask_its_approver() {
    let approvals = Arc::new(Approvals::new(ApprovalSettings::default()));
    tokio::spawn({
        let approvals = Arc::clone(&approvals);
        async move { approvals.hold(request("t", &["alice"], Duration::from_secs(600))).await }
    });
    let id = first_pending(&approvals).await;
    assert_eq!(
        approvals.decide(id, Choice::Deny, decider("@mallory", Some("bob"))),
        Err(ApprovalError::NotAsked {
            id,
            approver: "bob".into()
        })
    );
    assert_eq!(approvals.count(), 1);
}
