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
