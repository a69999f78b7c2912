# Hosts clawgate intercepts. An `https` endpoint forwards requests unchanged
# once the rules allow them.
endpoint "https" "example" {
  hosts = ["example.com", "*.example.com"]
}
