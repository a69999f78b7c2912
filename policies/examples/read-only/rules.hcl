# Read-only everywhere: agents may look, never touch.
endpoint "aws_api" "org" {
  hosts  = ["*.amazonaws.com"]
  role   = "clawgate-agent"
  region = "us-east-1"
}

rule "reads only" {
  endpoints = [aws_api.org]
  match     = aws.action.startsWith("Get") || aws.action.startsWith("List") || aws.action.startsWith("Describe") || aws.action.startsWith("Head")
  action    = "allow"
}

rule "everything else is denied" {
  endpoints = [aws_api.org]
  match     = true
  action    = "deny"
  reason    = "agents are read-only"
}
