test "creating a function with a role waits for on-call" {
  request {
    method = "POST"
    url    = "https://lambda.us-east-1.amazonaws.com/2015-03-31/functions"
    headers = {
      authorization  = "AWS4-HMAC-SHA256 Credential=AKIA111111111111XXXX/20261123/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=0"
      "content-type" = "application/json"
    }
    body = "{\"FunctionName\": \"resize\", \"Role\": \"arn:aws:iam::111111111111:role/resize\", \"Runtime\": \"python3.12\", \"Handler\": \"app.handler\", \"Code\": {}}"
  }
  expect = "approve"
  rule   = "passing a role needs approval"
}

test "launching an instance with a profile waits for on-call" {
  request {
    method = "POST"
    url    = "https://ec2.us-east-1.amazonaws.com/"
    headers = {
      authorization  = "AWS4-HMAC-SHA256 Credential=AKIA111111111111XXXX/20261123/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0"
      "content-type" = "application/x-www-form-urlencoded"
    }
    body = "Action=RunInstances&Version=2016-11-15&ImageId=ami-12345678&MinCount=1&MaxCount=1&IamInstanceProfile.Name=web"
  }
  expect = "approve"
  rule   = "passing a role needs approval"
}

test "launching an instance without one is allowed" {
  request {
    method = "POST"
    url    = "https://ec2.us-east-1.amazonaws.com/"
    headers = {
      authorization  = "AWS4-HMAC-SHA256 Credential=AKIA111111111111XXXX/20261123/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0"
      "content-type" = "application/x-www-form-urlencoded"
    }
    body = "Action=RunInstances&Version=2016-11-15&ImageId=ami-12345678&MinCount=1&MaxCount=1"
  }
  expect = "allow"
  rule   = "the rest is allowed"
}

test "copying a prod object out of prod is denied" {
  request {
    method = "PUT"
    url    = "https://dev-scratch.s3.amazonaws.com/q3.csv"
    headers = {
      authorization       = "AWS4-HMAC-SHA256 Credential=AKIA111111111111XXXX/20261123/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-copy-source, Signature=0"
      "x-amz-copy-source" = "prod-reports/2026/q3.csv"
    }
  }
  expect = "deny"
  rule   = "prod objects stay in prod"
}

test "copying within prod is allowed" {
  request {
    method = "PUT"
    url    = "https://prod-archive.s3.amazonaws.com/q3.csv"
    headers = {
      authorization       = "AWS4-HMAC-SHA256 Credential=AKIA111111111111XXXX/20261123/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-copy-source, Signature=0"
      "x-amz-copy-source" = "prod-reports/2026/q3.csv"
    }
  }
  expect = "allow"
  rule   = "the rest is allowed"
}

test "listing buckets names no resource and is allowed" {
  request {
    method  = "GET"
    url     = "https://s3.amazonaws.com/"
    headers = { authorization = "AWS4-HMAC-SHA256 Credential=AKIA111111111111XXXX/20261123/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0" }
  }
  expect = "allow"
  rule   = "the rest is allowed"
}

test "list facets may be given directly" {
  endpoint = aws_api.org
  facets {
    aws = {
      service = "ecs", action = "RegisterTaskDefinition", iam_action = "ecs:RegisterTaskDefinition",
      iam_actions = ["ecs:RegisterTaskDefinition", "iam:PassRole"],
    }
  }
  expect = "approve"
  rule   = "passing a role needs approval"
}
