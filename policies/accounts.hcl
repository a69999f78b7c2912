# Reads are fine everywhere; staging changes need a human; prod is read-only.
rule "reads ok" {
  endpoints = [aws_api.org]
  match     = aws.action.startsWith("Get") || aws.action.startsWith("List") || aws.action.startsWith("Describe") || aws.action.startsWith("Head")
  action    = "allow"
}

rule "staging changes need approval" {
  endpoints = [aws_api.org]
  match     = aws.account_name == "staging"
  action    = "approve"
  approvers = [human.oncall]
  reason    = "changes in staging are reviewed by the on-call engineer"
}

rule "prod is read-only" {
  endpoints = [aws_api.org]
  match     = aws.account_name == "prod"
  action    = "deny"
  reason    = "agents may only read in prod"
}
