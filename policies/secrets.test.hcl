test "reading a secret is denied even in staging" {
  endpoint = aws_api.org
  facets {
    aws = { service = "secretsmanager", action = "GetSecretValue", iam_action = "secretsmanager:GetSecretValue", account = "222222222222", account_name = "staging" }
  }
  expect = "deny"
  rule   = "no secrets"
}

test "decrypting parameters is denied" {
  endpoint = aws_api.org
  facets {
    aws = {
      service = "ssm", action = "GetParametersByPath", iam_action = "ssm:GetParametersByPath",
      account = "111111111111", account_name = "prod",
      params = { Path = "/app", WithDecryption = true }
    }
  }
  expect = "deny"
  rule   = "no secrets"
}

test "reading parameters without decryption is allowed" {
  endpoint = aws_api.org
  facets {
    aws = {
      service = "ssm", action = "GetParameter", iam_action = "ssm:GetParameter",
      account = "111111111111", account_name = "prod",
      params = { Name = "/app/region" }
    }
  }
  expect = "allow"
  rule   = "reads ok"
}

test "kms decrypt is denied" {
  endpoint = aws_api.org
  facets {
    aws = { service = "kms", action = "Decrypt", iam_action = "kms:Decrypt", account = "222222222222", account_name = "staging" }
  }
  expect = "deny"
  rule   = "no secrets"
}
