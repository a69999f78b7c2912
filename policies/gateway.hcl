# Where clawgate listens, what it does with hosts no endpoint claims, and
# whether it serves requests it cannot record.
gateway {
  listen       = "127.0.0.1:8080" # agents: HTTPS_PROXY=http://127.0.0.1:8080
  admin        = "127.0.0.1:8081" # dashboard, API, metrics, /healthz
  unknown_host = "deny"           # or "tunnel": relay without interception or rules
  # admin_hosts  = ["clawgate.internal"]  # names the admin server answers to, besides loopback
  # dial_private = ["10.0.0.0/8"]         # private ranges dialled without `resolve`; never metadata
  # While audit records cannot be written (a full disk): "deny" refuses new requests
  # with a retryable 503 until they can; "allow" serves on and counts lost records.
  audit_failure = "deny"
  # Limits a hostile agent meets (defaults shown; past one, a retryable 503):
  # max_requests_per_agent = 256   # in flight at once, HTTP/2 streams and held requests included
  # max_upstream_requests  = 2048  # in flight at once, all agents
  # body_memory_mb         = 128   # request bodies held in memory; one agent at most a quarter
  # min_body_rate          = 1024  # bytes/s a request body must average after 10 s
  # response_timeout       = "5m"  # from the request's last byte to the response head
}
