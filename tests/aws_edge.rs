//! The edge of what clawgate signs, through the real binary: which hosts get
//! credentials, what STS's refusals tell the agent, account-based hosts, and
//! S3 bucket-owner pinning. Against moto (signature checking on) wherever a
//! role must really be assumed; refusals that come before any role is
//! assumed need no upstream at all.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests stop at the first failure"
)]

mod support;

use std::path::Path;

use support::gateway::Gateway;
use support::moto::{Moto, agent_for};

/// clawgate in front of `moto` with the base key in files next to the rules:
/// one `aws_api` endpoint assuming `role`, with `endpoint_extra` settings,
/// dialling the hosts of `resolve_first` before `*.amazonaws.com` (moto), and
/// trusting `upstream_ca` (moto's CA, and any other the test needs).
fn gateway_for(moto: &Moto, upstream_ca: &Path, role: &str, resolve_first: &str, endpoint_extra: &str) -> Gateway {
    let rules = format!(
        r#"
gateway {{
  upstream_ca = "{ca}"
  resolve     = {{
    {resolve_first}
    "*.amazonaws.com" = "127.0.0.1:{port}"
  }}
}}
credential "aws_account" "base" {{
  access_key_id     = file("base-key-id")
  secret_access_key = file("base-secret")
}}
endpoint "aws_api" "org" {{
  hosts      = ["*.amazonaws.com"]
  role       = "{role}"
  credential = aws_account.base
  accounts   = ["111111111111=prod", "222222222222=readonly"]
  {endpoint_extra}
}}
rule "everything" {{
  match  = true
  action = "allow"
}}
"#,
        ca = upstream_ca.display(),
        port = moto.port,
    );
    let (id, secret) = (moto.base_key_id.clone(), moto.base_secret.clone());
    Gateway::start_with(&rules, move |dir| {
        std::fs::write(dir.join("base-key-id"), &id).unwrap();
        std::fs::write(dir.join("base-secret"), &secret).unwrap();
    })
}

#[test]
fn sts_refusals_reach_the_agent_as_the_code_and_the_role_only() {
    let moto = Moto::start();
    // The base user may assume only roles named clawgate-agent: STS refuses,
    // and its message names the base principal.
    let gateway = gateway_for(&moto, &moto.ca, "not-assumable", "", "");
    let agent = agent_for(&gateway);
    let refused = agent.aws_err(&["sts", "get-caller-identity", "--profile", "prod"]);
    assert!(
        refused
            .contains("STS refused to let clawgate assume arn:aws:iam::111111111111:role/not-assumable: AccessDenied"),
        "{refused}"
    );
    assert!(
        !refused.contains("clawgate-base") && !refused.contains("not authorized"),
        "STS's own text reached the agent: {refused}"
    );
    let log = gateway.log();
    assert!(
        log.contains("STS refused AssumeRole") && log.contains("clawgate-base"),
        "STS's text is in the log: {log}"
    );
    assert!(
        !log.contains(&moto.base_key_id),
        "the base key id is scrubbed from the log"
    );
}
