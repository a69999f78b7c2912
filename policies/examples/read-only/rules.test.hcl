test "describing instances is allowed" {
  endpoint = aws_api.org
  facets {
    aws = { service = "ec2", action = "DescribeInstances", account = "111111111111" }
  }
  expect = "allow"
  rule   = "reads only"
}

test "terminating instances is denied" {
  endpoint = aws_api.org
  facets {
    aws = { service = "ec2", action = "TerminateInstances", account = "111111111111" }
  }
  expect = "deny"
  rule   = "everything else is denied"
}
