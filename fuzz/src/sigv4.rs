//! SigV4 re-signing of a request head: the agent's signature (header or
//! presigned query) dropped and the request signed again with real
//! credentials.
//!
//! Input: one byte choosing the service (bit 0: `s3`, with its single
//! encoding and unnormalised paths; else `dynamodb`), then an HTTP/1
//! request head. As in the gate, only a request whose signature the facet
//! reads is re-signed, in the place the agent signed it.
//!
//! Properties: a signed request carries exactly one signature, clawgate's:
//! one `Authorization` (or none, when presigned), one of each presigned
//! parameter (however the agent spelled or encoded its own), clawgate's
//! key and session token; the facet reads it back without a conflict; and
//! signing the signed request again gives the same request.

use std::time::{Duration, UNIX_EPOCH};

use clawgate::aws::AwsCredentials;
use clawgate::aws::signature;
use clawgate::aws::sigv4::{Placement, Signer};
use clawgate::net::query::parse_query;
use clawgate::secret::Secret;
use http::request::Parts;

use crate::request;

/// The key id clawgate signs with.
const KEY: &str = "ASIAREALKEY";

/// The session token that goes with it.
const TOKEN: &str = "REALTOKEN";

/// The SHA-256 of an empty body.
const EMPTY_HASH: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Runs the target on one input.
pub fn run(data: &[u8]) {
    let [choice, head @ ..] = data else {
        return;
    };
    let Some((mut parts, _)) = request::parse(head) else {
        return;
    };
    let Ok(agent) = signature::parse(&parts.headers, &parse_query(parts.uri.query().unwrap_or("")), None) else {
        return;
    };
    let presigned = agent.presigned.is_some();
    if agent.access_key_id.is_none() || (presigned && agent.service.is_none()) {
        return; // unsigned, or SigV2 presigned: never re-signed
    }
    let service = if choice & 1 == 1 { "s3" } else { "dynamodb" };
    let placement = if presigned {
        Placement::Query(Duration::from_secs(600))
    } else {
        let payload = parts.headers.get("x-amz-content-sha256").and_then(|v| v.to_str().ok());
        Placement::Headers(payload.unwrap_or(EMPTY_HASH).to_string())
    };
    let authority = request::host(&parts)
        .unwrap_or("dynamodb.us-east-1.amazonaws.com")
        .to_string();
    let credentials = AwsCredentials {
        access_key_id: Secret::new(KEY.into()),
        secret_access_key: Secret::new("realsecret".into()),
        session_token: Some(Secret::new(TOKEN.into())),
        expires: None,
    };
    let signer = Signer {
        credentials: &credentials,
        region: "us-east-1",
        service,
        time: UNIX_EPOCH + Duration::from_secs(1_705_322_096),
    };
    if signer.sign(&mut parts, &authority, placement.clone()).is_err() {
        return;
    }
    check(&parts, presigned);
    let mut again = parts.clone();
    signer
        .sign(&mut again, &authority, placement)
        .expect("a request clawgate signed cannot be signed again");
    assert_eq!(again.uri, parts.uri, "signing twice changed the URI");
    assert_eq!(again.headers, parts.headers, "signing twice changed the headers");
}

/// A signed request carries clawgate's signature and no other.
fn check(parts: &Parts, presigned: bool) {
    let headers = &parts.headers;
    let count = |name: &str| headers.get_all(name).iter().count();
    let query = parse_query(parts.uri.query().unwrap_or(""));
    let signed = signature::parse(headers, &query, None).expect("the signed request contradicts itself");
    assert_eq!(
        signed.access_key_id.as_deref(),
        Some(KEY),
        "not signed with clawgate's key"
    );
    if presigned {
        assert_eq!(count("authorization"), 0, "a presigned request kept an Authorization");
        for name in ["X-Amz-Signature", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders"] {
            let values = query.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name));
            assert_eq!(
                values.map(|(_, v)| v.len()).sum::<usize>(),
                1,
                "{name} in {:?}",
                parts.uri
            );
        }
        assert_eq!(query.get("X-Amz-Security-Token"), Some(&vec![TOKEN.to_string()]));
    } else {
        assert_eq!(count("authorization"), 1);
        assert_eq!(count("x-amz-date"), 1);
        let tokens: Vec<_> = headers.get_all("x-amz-security-token").iter().collect();
        assert_eq!(tokens, [TOKEN], "the session token is not clawgate's alone");
    }
}
