//! Loading rule directories: what loads, and how each mistake is reported.

use super::*;
use crate::ids::AgentName;

fn load(files: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    Config::load_dir(dir.path())
}

/// The errors of loading `files`, with the temporary directory left out.
fn errors(files: &[(&str, &str)]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let errors = Config::load_dir(dir.path()).unwrap_err();
    let prefix = format!("{}/", dir.path().display());
    errors
        .errors()
        .iter()
        .map(|e| e.to_string().replace(&prefix, ""))
        .collect()
}

#[test]
fn the_shipped_policies_load() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    let config = Config::load_dir(&dir).unwrap();
    assert_eq!(config.gateway.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(config.gateway.admin.to_string(), "127.0.0.1:8081");
}

#[test]
fn files_are_read_together_and_defaults_fill_the_gaps() {
    let config = load(&[
        (
            "a.hcl",
            r#"endpoint "https" "github" { hosts = ["api.github.com", "*.githubusercontent.com"] }"#,
        ),
        (
            "b.hcl",
            "gateway {\n  unknown_host = \"tunnel\"\n  idle_timeout = \"2m\"\n  audit_failure = \"allow\"\n  audit_buffer_kb = 128\n}\n",
        ),
        ("rules.test.hcl", "this is a rule test, not a rule file {"),
        ("notes.txt", "not HCL at all {"),
    ])
    .unwrap();
    assert_eq!(config.gateway.unknown_host, UnknownHost::Tunnel);
    assert_eq!(config.gateway.limits.idle_timeout.as_secs(), 120);
    assert_eq!(config.gateway.limits.max_connections, 10_000);
    assert_eq!(config.gateway.audit.on_failure, crate::config::AuditFailure::Allow);
    assert_eq!(config.gateway.audit.buffer_bytes, 128 << 10);
    assert_eq!(
        config
            .route("raw.githubusercontent.com")
            .and_then(|id| config.endpoint(id))
            .map(|e| e.name.as_str()),
        Some("github")
    );
    assert!(config.route("githubusercontent.com").is_none());
}

#[test]
fn every_error_is_reported_at_once_with_its_position() {
    let text = r#"gateway {
  listen = "localhost"
  unknown_host = "allow"
  colour = "blue"
}

endpoint "https" {
  hosts = ["a.example.com"]
}

endpoint "https" "bad" {
  hosts = ["*"]
}

bucket "x" {}
"#;
    assert_eq!(
        errors(&[("main.hcl", text)]),
        [
            "main.hcl:2:12: `listen`: `localhost` is not an address; write ip:port, e.g. \"127.0.0.1:8080\"",
            "main.hcl:3:18: `unknown_host`: `allow` is not a choice; write \"deny\" or \"tunnel\"",
            "main.hcl:4:3: `colour` is not a setting of gateway; expected one of: listen, admin, admin_hosts, \
             unknown_host, resolve, dial_private, upstream_ca, upstream_roots, max_connections, max_header_bytes, \
             header_read_timeout, idle_timeout, connect_timeout, shutdown_grace, max_upstream_requests, \
             max_requests_per_agent, response_timeout, min_body_rate, body_memory_mb, audit_log, audit_rotate_mb, \
             audit_keep, audit_failure, audit_buffer_kb, grant_window, max_pending_per_agent",
            "main.hcl:7:1: `endpoint` block needs two labels, its kind and its name, e.g. `endpoint \"https\" \"github\" {`",
            "main.hcl:12:12: `hosts`: `*` is not a host pattern; write a host name (`api.example.com`), an IP \
             address, or `*.example.com` for every subdomain",
            "main.hcl:15:1: unknown block `bucket`; expected one of: gateway, agent, endpoint, credential, human, rule, plugin",
        ]
    );
}

#[test]
fn syntax_errors_name_the_line() {
    let errors = errors(&[("broken.hcl", "gateway {\n  listen = \n}\n")]);
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with("broken.hcl:2:12: syntax error: invalid expression"),
        "{errors:?}"
    );
}

#[test]
fn duplicates_name_both_places() {
    let hash = "a".repeat(64);
    let text =
        format!("agent \"bot\" {{ token_sha256 = \"{hash}\" }}\nagent \"bot\" {{ token_sha256 = \"{hash}\" }}\n");
    let errors = errors(&[("agents.hcl", &text)]);
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with("agents.hcl:2:1: agent \"bot\" is defined twice; the first definition is at"),
        "{errors:?}"
    );
    assert!(errors[0].ends_with("agents.hcl:1:1"), "{errors:?}");
}

#[test]
fn agents_need_a_valid_name_and_hash() {
    let errors = errors(&[(
        "agents.hcl",
        "agent \"no spaces allowed\" { token_sha256 = \"abc\" }\nagent \"ok\" {}\n",
    )]);
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors[0].contains("is not an agent name"), "{errors:?}");
    assert!(
        errors[1].contains("token_sha256") && errors[1].contains("64 hex digits"),
        "{errors:?}"
    );
    assert!(errors[2].contains("agent \"ok\" needs `token_sha256`"), "{errors:?}");
}

#[test]
fn add_agent_appends_a_hash_and_refuses_a_taken_name() {
    let dir = tempfile::tempdir().unwrap();
    let name = AgentName::parse("ci-bot").unwrap();
    let added = add_agent(dir.path(), &name).unwrap();
    let config = Config::load_dir(dir.path()).unwrap();
    assert_eq!(config.agents.len(), 1);
    assert_eq!(
        config.agents[0].token_sha256,
        TokenHash::of(added.token.reveal().as_bytes())
    );
    assert!(matches!(add_agent(dir.path(), &name), Err(AddAgentError::Exists(_))));
    assert_eq!(format!("{:?}", added.token), "Token([redacted])");
}

#[test]
fn dial_private_and_admin_hosts_load_and_a_bad_range_says_what_to_write() {
    let config = load(&[(
        "g.hcl",
        "gateway {\n  dial_private = [\"10.0.0.0/8\", \"fd00::/8\", \"127.0.0.1\"]\n  admin_hosts = [\"clawgate.internal\"]\n}\n",
    )])
    .unwrap();
    let ranges: Vec<String> = config.gateway.dial_private.iter().map(ToString::to_string).collect();
    assert_eq!(ranges, ["10.0.0.0/8", "fd00::/8", "127.0.0.1/32"]);
    assert!(config.gateway.admin_hosts[0].matches("clawgate.internal"));
    assert_eq!(
        errors(&[(
            "g.hcl",
            "gateway {\n  dial_private = [\"10.0.0.1/8\", \"intranet\"]\n}\n"
        )]),
        [
            "g.hcl:2:19: `dial_private`: `10.0.0.1/8` has bits set past its prefix; write `10.0.0.0/8`",
            "g.hcl:2:33: `dial_private`: `intranet` is not an address range; write a CIDR block such as \
             \"10.0.0.0/8\" or \"fd00::/8\"",
        ]
    );
}
