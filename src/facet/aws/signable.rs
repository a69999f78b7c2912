//! Whether clawgate may sign for a host: only for a service endpoint AWS
//! answers itself, for a service that signs as the request's scope says, or
//! for a host the endpoint lists in `signed_hosts`. Names customers can own
//! under AWS domains (API Gateway, load balancers, EC2 public DNS, S3
//! websites, function URLs) would receive the assumed role's session token.

use super::AwsFacetError;
use super::host::{HostFacts, HostForm};
use crate::aws::signature::Signed;
use crate::config::AwsApi;

/// Refuses a signed request to `host_name` (read as `host`) unless clawgate
/// may sign for it; an unsigned one gets no credentials and passes.
pub(super) fn check(
    host_name: &str,
    host: Option<&HostFacts>,
    signed: &Signed,
    api: &AwsApi,
) -> Result<(), AwsFacetError> {
    if signed.access_key_id.is_none() || api.signed_hosts.iter().any(|listed| listed.matches(host_name)) {
        return Ok(());
    }
    let refused = || AwsFacetError::NotAServiceEndpoint {
        host: host_name.to_string(),
    };
    let service = host.filter(|h| h.form == HostForm::Service).ok_or_else(refused)?;
    let agrees = service.endpoints.iter().any(|endpoint| {
        signed.service.as_ref().is_none_or(|scope| {
            endpoint
                .signing_names
                .iter()
                .any(|n| n.eq_ignore_ascii_case(scope.as_str()))
        })
    });
    if agrees { Ok(()) } else { Err(refused()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facet::aws::host;
    use crate::ids::ServiceName;
    use crate::net::HostPattern;

    fn signed_as(service: &str) -> Signed {
        Signed {
            access_key_id: Some("AKIA111111111111CLAW".into()),
            service: Some(ServiceName::parse(service).unwrap()),
            ..Signed::default()
        }
    }

    fn signable(host_name: &str, scope: &str, api: &AwsApi) -> bool {
        check(host_name, host::parse(host_name).as_ref(), &signed_as(scope), api).is_ok()
    }

    #[test]
    fn service_endpoints_are_signed_and_names_customers_own_are_not() {
        let api = AwsApi::default();
        for (host_name, scope) in [
            ("sts.us-east-1.amazonaws.com", "sts"),
            ("sts.amazonaws.com", "sts"),
            ("iam.amazonaws.com", "iam"),
            ("bucket.s3.amazonaws.com", "s3"),
            ("dotted.bucket.s3.us-west-2.amazonaws.com", "s3"),
            ("s3-external-1.amazonaws.com", "s3"),
            ("ap-111111111111.s3-accesspoint.us-east-1.amazonaws.com", "s3"),
            ("111111111111.s3-control.us-east-1.amazonaws.com", "s3"),
            ("dynamodb.us-east-1.amazonaws.com", "dynamodb"),
            ("dynamodb-fips.us-east-1.amazonaws.com", "dynamodb"),
            ("dynamodb.us-east-1.api.aws", "dynamodb"),
            ("111111111111.ddb.us-east-1.amazonaws.com", "dynamodb"),
            ("streams.dynamodb.us-east-1.amazonaws.com", "dynamodb"),
            ("fips.batch.us-east-1.amazonaws.com", "batch"),
            ("email.eu-west-1.amazonaws.com", "ses"),
            ("api.ecr.us-east-1.amazonaws.com", "ecr"),
            ("ecr.us-east-1.amazonaws.com", "ecr"),
            ("111111111111.control-kinesis.us-east-1.amazonaws.com", "kinesis"),
            ("acm-acme.us-east-1.api.aws", "acm"),
            ("iam.global.api.aws", "iam"),
            ("s3express-control.us-east-1.amazonaws.com", "s3express"),
            ("route-1.s3-object-lambda.us-east-1.amazonaws.com", "s3-object-lambda"),
            ("data-servicediscovery.us-east-1.amazonaws.com", "servicediscovery"),
            ("stream-logs.us-east-1.amazonaws.com", "logs"),
            ("s3.cn-north-1.amazonaws.com.cn", "s3"),
            ("queue.amazonaws.com", "sqs"),
            ("eu-west-1.queue.amazonaws.com", "sqs"),
            ("111111111111.streams-ddb.us-east-1.amazonaws.com", "dynamodb"),
        ] {
            assert!(signable(host_name, scope, &api), "{host_name} signed as {scope}");
        }
        for (host_name, scope) in [
            ("abc123.execute-api.us-east-1.amazonaws.com", "execute-api"),
            ("my-alb-1234.us-east-1.elb.amazonaws.com", "elasticloadbalancing"),
            ("my-alb-1234.us-east-1.elb.amazonaws.com", "execute-api"),
            ("ec2-3-80-1-2.compute-1.amazonaws.com", "ec2"),
            ("ec2-3-80-1-2.compute-1.amazonaws.com", "compute-1"),
            ("ec2-3-80-1-2.us-west-2.compute.amazonaws.com", "ec2"),
            ("bucket.s3-website-us-east-1.amazonaws.com", "s3"),
            ("bucket.s3-website.eu-west-1.amazonaws.com", "s3-website"),
            ("abc.lambda-url.us-east-1.on.aws", "lambda"),
            ("x.us-east-1.awsapprunner.com", "apprunner"),
            ("search-logs-abc.us-east-1.es.amazonaws.com", "es"),
            ("evil.dynamodb.us-east-1.amazonaws.com", "dynamodb"),
            ("notanaccount.ddb.us-east-1.amazonaws.com", "dynamodb"),
            ("x.y.s3-control.us-east-1.amazonaws.com", "s3"),
            ("x.y.s3-accesspoint.us-east-1.amazonaws.com", "s3"),
            ("sts.us-east-1.amazonaws.com", "execute-api"),
            ("route.s3.us-east-1.amazonaws.com", "s3-object-lambda"),
        ] {
            assert!(!signable(host_name, scope, &api), "{host_name} signed as {scope}");
        }
    }

    #[test]
    fn a_listed_host_is_signed_and_an_unsigned_request_passes() {
        let api = AwsApi {
            signed_hosts: vec![HostPattern::parse("abc123.execute-api.us-east-1.amazonaws.com").unwrap()],
            ..AwsApi::default()
        };
        assert!(signable(
            "abc123.execute-api.us-east-1.amazonaws.com",
            "execute-api",
            &api
        ));
        assert!(!signable(
            "def456.execute-api.us-east-1.amazonaws.com",
            "execute-api",
            &api
        ));
        let host_name = "abc.execute-api.us-east-1.amazonaws.com";
        assert!(check(host_name, host::parse(host_name).as_ref(), &Signed::default(), &api).is_ok());
    }
}
