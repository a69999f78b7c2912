# What a call needs besides its own action. `aws.iam_actions` lists every IAM
# action it needs (`iam:PassRole` when a role is handed to a service,
# `s3:GetObject` on a copy's source, `kms:GenerateDataKey` for SSE-KMS);
# `aws.resources` every ARN it names, the one IAM checks first.
endpoint "aws_api" "org" {
  hosts  = ["*.amazonaws.com"]
  role   = "clawgate-agent"
  region = "us-east-1"
}

human "oncall" {}

# A role handed to a service (a function's role, an instance profile, a
# stack's role) acts with its own permissions, whatever the agent's are.
rule "passing a role needs approval" {
  endpoints = [aws_api.org]
  priority  = 10
  match     = "iam:PassRole" in aws.iam_actions
  action    = "approve"
  approvers = [human.oncall]
  reason    = "a role handed to a service lends it the role's permissions"
}

# Objects in prod buckets stay there: no copy out of them.
rule "prod objects stay in prod" {
  endpoints = [aws_api.org]
  priority  = 10
  match = aws.service == "s3" && has(aws.resources) && !aws.resource.startsWith("arn:aws:s3:::prod-") &&
    aws.resources.exists(r, r.startsWith("arn:aws:s3:::prod-"))
  action = "deny"
  reason = "prod data is not copied out of prod buckets"
}

rule "the rest is allowed" {
  endpoints = [aws_api.org]
  match     = true
  action    = "allow"
}
