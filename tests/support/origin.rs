//! The origin most integration tests talk to: `upstream.test` (and
//! `other.test`) served over TLS by a test CA, with rules that make clawgate
//! dial it and trust that CA.

use super::gateway::Gateway;
use super::test_ca::TestCa;
use super::upstream::Upstream;

/// A test CA, an upstream serving `upstream.test` with its certificate, and
/// the file holding the CA for clawgate's `upstream_ca`.
pub struct Origin {
    /// The CA that signed the upstream's certificate.
    pub ca: TestCa,
    /// The upstream.
    pub upstream: Upstream,
    /// The CA as a PEM file.
    pub ca_file: tempfile::NamedTempFile,
}

impl Origin {
    /// Starts the upstream.
    pub async fn start() -> Origin {
        let ca = TestCa::new();
        let upstream = Upstream::start_tls(&ca, &["upstream.test", "other.test"]).await;
        let ca_file = tempfile::NamedTempFile::new().unwrap();
        ca.write_pem(ca_file.path());
        Origin { ca, upstream, ca_file }
    }

    /// Rules that intercept `upstream.test`, dial it at the local upstream,
    /// and add `gateway_extra` to the gateway block.
    pub fn rules(&self, gateway_extra: &str, resolve_extra: &str) -> String {
        format!(
            r#"
gateway {{
  upstream_ca = "{ca}"
  resolve = {{
    "upstream.test" = "{addr}"
    {resolve_extra}
  }}
  {gateway_extra}
}}
endpoint "https" "test" {{
  hosts = ["upstream.test"]
}}
rule "the test upstream is open" {{
  match  = true
  action = "allow"
}}
"#,
            ca = self.ca_file.path().display(),
            addr = self.upstream.addr,
        )
    }

    /// The same rules, also claiming `host` and dialling it at `addr`.
    pub fn rules_claiming(&self, gateway_extra: &str, host: &str, addr: impl std::fmt::Display) -> String {
        self.rules(gateway_extra, &format!(r#""{host}" = "{addr}""#)).replace(
            r#"hosts = ["upstream.test"]"#,
            &format!(r#"hosts = ["upstream.test", "{host}"]"#),
        )
    }

    /// [`Origin::rules`] where POSTs wait for `approvers` (declared by the
    /// `humans` blocks) under rule "posts need a person", and DELETEs are
    /// denied by rule "no deletes".
    pub fn rules_holding_posts(&self, gateway_extra: &str, humans: &str, approvers: &str) -> String {
        self.rules(gateway_extra, "").replace(
            "rule \"the test upstream is open\"",
            &format!(
                r#"{humans}
rule "posts need a person" {{
  priority  = 5
  match     = http.method == "POST"
  action    = "approve"
  approvers = [{approvers}]
}}
rule "no deletes" {{
  priority = 5
  match    = http.method == "DELETE"
  action   = "deny"
  reason   = "nothing is deleted here"
}}
rule "the test upstream is open""#
            ),
        )
    }

    /// clawgate with [`Origin::rules`].
    pub async fn gateway(&self) -> Gateway {
        let rules = self.rules("", "");
        tokio::task::spawn_blocking(move || Gateway::start(&rules))
            .await
            .unwrap()
    }
}
