# `clawgate policy test policies` runs these; CI does too.

test "reading an object in prod is allowed" {
  agent = "ci-bot"
  request {
    method = "GET"
    url    = "https://my-bucket.s3.amazonaws.com/reports/q3.csv"
  }
  facets {
    aws = { service = "s3", action = "GetObject", iam_action = "s3:GetObject", account = "111111111111", account_name = "prod" }
  }
  expect = "allow"
  rule   = "reads ok"
}

test "writing to prod is denied" {
  request {
    method = "PUT"
    url    = "https://my-bucket.s3.amazonaws.com/reports/q3.csv"
  }
  facets {
    aws = { service = "s3", action = "PutObject", iam_action = "s3:PutObject", account = "111111111111", account_name = "prod" }
  }
  expect = "deny"
  rule   = "prod is read-only"
}

test "a DynamoDB write in staging waits for on-call" {
  request {
    method  = "POST"
    url     = "https://dynamodb.us-east-1.amazonaws.com/"
    headers = { "x-amz-target" = "DynamoDB_20120810.PutItem" }
  }
  facets {
    aws = { service = "dynamodb", action = "PutItem", iam_action = "dynamodb:PutItem", account = "222222222222", account_name = "staging" }
  }
  expect = "approve"
  rule   = "staging changes need approval"
}

test "a request whose action is unknown is denied" {
  request {
    method = "POST"
    url    = "https://ec2.us-east-1.amazonaws.com/"
  }
  facets {
    aws = { service = "ec2", account = "111111111111", account_name = "prod" }
  }
  expect = "deny"
}

# The same decisions with the facets derived from the request, as the proxy does.
test "an S3 read in prod, as the AWS CLI sends it" {
  request {
    method  = "GET"
    url     = "https://my-bucket.s3.amazonaws.com/reports/q3.csv"
    headers = { authorization = "AWS4-HMAC-SHA256 Credential=AKIA111111111111XXXX/20261123/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=0" }
  }
  expect = "allow"
  rule   = "reads ok"
}

test "a DynamoDB write in staging, as boto3 sends it" {
  request {
    method = "POST"
    url    = "https://dynamodb.us-east-1.amazonaws.com/"
    headers = {
      authorization  = "AWS4-HMAC-SHA256 Credential=AKIA222222222222XXXX/20261123/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-target, Signature=0"
      "x-amz-target" = "DynamoDB_20120810.PutItem"
    }
    body = "{\"TableName\": \"orders\", \"Item\": {}}"
  }
  expect = "approve"
  rule   = "staging changes need approval"
}

test "an EC2 terminate dressed up as a describe is refused" {
  request {
    method = "POST"
    url    = "https://ec2.us-east-1.amazonaws.com/"
    headers = {
      authorization  = "AWS4-HMAC-SHA256 Credential=AKIA111111111111XXXX/20261123/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0"
      "x-amz-target" = "x.DescribeInstances"
    }
    body = "Action=TerminateInstances&Version=2016-11-15&InstanceId.1=i-0123"
  }
  expect = "deny"
}

test "an account the endpoint does not list is refused" {
  request {
    method  = "POST"
    url     = "https://sts.us-east-1.amazonaws.com/"
    headers = { authorization = "AWS4-HMAC-SHA256 Credential=AKIA333333333333XXXX/20261123/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0" }
    body    = "Action=GetCallerIdentity&Version=2011-06-15"
  }
  expect = "deny"
}
