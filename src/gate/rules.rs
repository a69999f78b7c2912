//! The rules in force: one load of the rule directory, with what requests
//! look up in it prepared once (agents' token hashes, each endpoint's name
//! and its AWS settings with the base credential they name).

use std::sync::Arc;

use super::auth::Agents;
use crate::config::{AwsApi, Config, Credential, EndpointId, EndpointKind};
use crate::policy::Policy;

/// One load of the rule directory, replaced whole on reload.
#[derive(Debug)]
pub struct Rules {
    /// The compiled rules and the configuration they came from.
    pub policy: Policy,
    /// Who may use the proxy.
    pub agents: Agents,
    /// Every endpoint, by [`EndpointId`].
    routes: Vec<Route>,
}

/// An endpoint as requests use it.
#[derive(Debug)]
pub struct Route {
    /// Its id, which rules name.
    pub id: EndpointId,
    /// `kind.name`, as records and errors name it.
    pub name: String,
    /// Its AWS settings, for an `aws_api` endpoint.
    pub aws: Option<AwsRoute>,
}

/// An `aws_api` endpoint's settings, with its base credential looked up.
#[derive(Debug)]
pub struct AwsRoute {
    /// The endpoint's settings.
    pub api: AwsApi,
    /// The `credential "aws_account"` block it names, if it names one.
    pub credential: Option<Credential>,
}

impl Rules {
    /// The rules of `policy`, ready for requests.
    pub fn new(policy: Policy) -> Rules {
        let config = policy.config();
        let routes = config
            .endpoints
            .iter()
            .enumerate()
            .map(|(index, endpoint)| Route {
                id: EndpointId(index),
                name: endpoint.to_string(),
                aws: match &endpoint.kind {
                    EndpointKind::AwsApi(api) => Some(AwsRoute {
                        api: api.as_ref().clone(),
                        credential: api
                            .credential
                            .as_deref()
                            .and_then(|name| config.credentials.iter().find(|c| c.name == name))
                            .cloned(),
                    }),
                    EndpointKind::Https => None,
                },
            })
            .collect();
        Rules {
            agents: Agents::new(&config.agents),
            routes,
            policy,
        }
    }

    /// The endpoint that claims `host` (lower-case, no port), if one does.
    pub fn route(&self, host: &str) -> Option<&Route> {
        self.routes.get(self.policy.config().route(host)?.0)
    }

    /// The configuration the rules came from.
    pub fn config(&self) -> &Arc<Config> {
        self.policy.config()
    }
}
