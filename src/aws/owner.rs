//! Bucket-owner pinning: an S3 request re-signed with a role's credentials
//! carries `x-amz-expected-bucket-owner` (and, for a copy, the source's
//! `x-amz-source-expected-bucket-owner`), so S3 refuses it when the bucket
//! belongs to an account the endpoint does not allow, such as one an
//! attacker owns whose bucket policy lets the role in. Added before signing,
//! so it is signed.

use http::{HeaderMap, HeaderValue};

use crate::config::BucketOwners;
use crate::ids::AccountId;

/// The owner S3 checks for the bucket a request names.
const EXPECTED: &str = "x-amz-expected-bucket-owner";
/// The owner S3 checks for a copy's source bucket.
const SOURCE: &str = "x-amz-source-expected-bucket-owner";

/// An agent's expected owner that the endpoint does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "denied: `{header}: {value}` names an owner this endpoint does not let requests reach buckets of; \
     allowed: {allowed} (the endpoint's `bucket_owners` lists them); leave the header out to mean the target account"
)]
pub struct ForeignOwner {
    /// The header.
    header: &'static str,
    /// What the agent wrote, as text.
    value: String,
    /// The accounts allowed, the target account first.
    allowed: String,
}

/// Sets the expected owners on an S3 request to `target` as `owners` says;
/// an agent's own value must name an allowed account.
pub fn pin(headers: &mut HeaderMap, owners: &BucketOwners, target: AccountId) -> Result<(), ForeignOwner> {
    let BucketOwners::Pinned(also) = owners else {
        return Ok(());
    };
    let copy = headers.contains_key("x-amz-copy-source");
    for header in [EXPECTED, SOURCE] {
        let given: Vec<&HeaderValue> = headers.get_all(header).iter().collect();
        let allowed = |value: &HeaderValue| {
            let account = value.to_str().ok().and_then(|v| AccountId::parse(v.trim()).ok());
            account.is_some_and(|a| a == target || also.contains(&a))
        };
        match given.as_slice() {
            [] if header == EXPECTED || copy => {
                // Twelve digits are always a header value; the fallback is never taken.
                let value = HeaderValue::from_str(target.as_str()).unwrap_or(HeaderValue::from_static("000000000000"));
                headers.insert(header, value);
            }
            [] => {}
            [one] if allowed(one) => {}
            _ => {
                let value: Vec<String> = given
                    .iter()
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                    .collect();
                let allowed: Vec<String> = std::iter::once(target)
                    .chain(also.iter().copied())
                    .map(|a| a.to_string())
                    .collect();
                return Err(ForeignOwner {
                    header,
                    value: value.join(", "),
                    allowed: allowed.join(", "),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(id: &str) -> AccountId {
        AccountId::parse(id).unwrap()
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn the_target_account_is_expected_unless_the_agent_names_an_allowed_one() {
        let target = account("111111111111");
        let pinned = BucketOwners::Pinned(vec![account("333333333333")]);
        let mut plain = headers(&[]);
        pin(&mut plain, &pinned, target).unwrap();
        assert_eq!(plain[EXPECTED], "111111111111");
        assert!(!plain.contains_key(SOURCE), "only copies name a source");

        let mut copy = headers(&[("x-amz-copy-source", "src/key"), (EXPECTED, "333333333333")]);
        pin(&mut copy, &pinned, target).unwrap();
        assert_eq!(
            (&copy[EXPECTED], &copy[SOURCE]),
            (
                &HeaderValue::from_static("333333333333"),
                &HeaderValue::from_static("111111111111")
            )
        );

        for foreign in [
            headers(&[(EXPECTED, "444444444444")]),
            headers(&[(EXPECTED, "not an account")]),
            headers(&[("x-amz-copy-source", "src/key"), (SOURCE, "444444444444")]),
            headers(&[(EXPECTED, "111111111111"), (EXPECTED, "444444444444")]),
        ] {
            let mut foreign = foreign;
            let refused = pin(&mut foreign, &pinned, target).unwrap_err();
            assert!(
                refused.to_string().contains("allowed: 111111111111, 333333333333"),
                "{refused}"
            );
        }

        let mut off = headers(&[(EXPECTED, "444444444444")]);
        pin(&mut off, &BucketOwners::Off, target).unwrap();
        assert_eq!(off.len(), 1, "off leaves the agent's headers alone");
    }
}
