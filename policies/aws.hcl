# The AWS organisation agents reach through clawgate. Agents hold placeholder
# keys; clawgate assumes `role` in the account they target and re-signs.

# The base key: entered on the dashboard or through the admin API, or from the
# environment with
#   access_key_id     = env("CLAWGATE_BASE_ACCESS_KEY_ID")
#   secret_access_key = env("CLAWGATE_BASE_SECRET_ACCESS_KEY")
credential "aws_account" "base" {}

endpoint "aws_api" "org" {
  hosts      = ["*.amazonaws.com"]
  role       = "clawgate-agent" # assumed in each member account
  region     = "us-east-1"
  credential = aws_account.base
  accounts = [ # the accounts agents may reach, with their names
    "111111111111=prod",
    "222222222222=staging",
  ]
  # Hosts under AWS domains that customers own (an API Gateway API, a load
  # balancer) get no credentials unless listed here, by exact name:
  # signed_hosts = ["abc123.execute-api.us-east-1.amazonaws.com"]
  # S3 requests expect the target account to own the bucket (and a copy's
  # source); list other owners agents may reach, or turn the check off:
  # bucket_owners = ["333333333333"]   # or "off"
}

human "oncall" {
  timeout = "10m" # no answer in time: denied
}
