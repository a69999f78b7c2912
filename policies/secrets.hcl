# Secrets stay with the security team: no agent reads them, in any account.
# Priority 100 runs this before every ordinary rule.
rule "no secrets" {
  endpoints = [aws_api.org]
  priority  = 100
  match = aws.iam_action in ["secretsmanager:GetSecretValue", "kms:Decrypt"] ||
    (aws.iam_action.startsWith("ssm:GetParameter") && has(aws.params.WithDecryption) && aws.params.WithDecryption == true)
  action = "deny"
  reason = "secrets are not for agents"
}
