//! `clawgate profiles`: AWS CLI/SDK profiles whose placeholder keys name the
//! account, so an agent switches accounts with `--profile staging`.

use std::fmt::Write;
use std::path::Path;

use crate::config::{Config, EndpointKind};

/// The secret every placeholder key carries: it signs nothing that matters,
/// since clawgate replaces the signature.
pub const PLACEHOLDER_SECRET: &str = "clawgate-placeholder-not-a-secret";

/// The placeholder access key id for `account`: `AKIA`, the twelve digits,
/// and four letters (so the digits stay a run of exactly twelve).
pub fn placeholder_key(account: &str) -> String {
    format!("AKIA{account}CLAW")
}

/// The `~/.aws/config` and `~/.aws/credentials` entries for every account
/// of every `aws_api` endpoint, trusting clawgate's CA at `ca_path`.
pub fn render(config: &Config, ca_path: &Path) -> String {
    let mut profiles = Vec::new();
    for endpoint in &config.endpoints {
        if let EndpointKind::AwsApi(api) = &endpoint.kind {
            for (id, name) in &api.accounts {
                profiles.push((name.clone(), id.to_string(), api.region.clone()));
            }
        }
    }
    if profiles.is_empty() {
        return "# no aws_api endpoint lists `accounts`; a profile needs an account id: \
                add accounts = [\"111111111111=prod\"] to the endpoint\n"
            .to_string();
    }
    let mut text = String::from("# ~/.aws/config\n");
    for (name, _, region) in &profiles {
        let _ = write!(
            text,
            "[profile {name}]\nregion = {region}\nca_bundle = {}\n\n",
            ca_path.display()
        );
    }
    text.push_str("# ~/.aws/credentials (placeholders: clawgate signs with real, short-lived keys)\n");
    for (name, account, _) in &profiles {
        let _ = write!(
            text,
            "[{name}]\naws_access_key_id = {}\naws_secret_access_key = {PLACEHOLDER_SECRET}\n\n",
            placeholder_key(account)
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::signature::account_of;

    #[test]
    fn one_profile_per_account_with_a_key_that_names_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("aws.hcl"),
            r#"endpoint "aws_api" "org" {
  hosts    = ["*.amazonaws.com"]
  role     = "clawgate-agent"
  region   = "eu-west-1"
  accounts = ["111111111111=prod", "222222222222=staging"]
}"#,
        )
        .unwrap();
        let config = Config::load_dir(dir.path()).unwrap();
        let text = render(&config, Path::new("/certs/ca.pem"));
        assert!(
            text.contains("[profile staging]\nregion = eu-west-1\nca_bundle = /certs/ca.pem\n"),
            "{text}"
        );
        assert!(
            text.contains("[prod]\naws_access_key_id = AKIA111111111111CLAW\n"),
            "{text}"
        );
        assert_eq!(
            account_of(&placeholder_key("222222222222")).unwrap().as_str(),
            "222222222222"
        );
    }
}
