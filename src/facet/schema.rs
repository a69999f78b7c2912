//! The fields rules may read, checked when rules load, and read through
//! this table when rules run, when records are made and when facts are
//! printed: one list of fields, one way to read each.

use super::{AwsFacts, Facts};

/// What kind of value a facet field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// A string.
    String,
    /// A map of names to lists of strings (query parameters, headers).
    Multi,
    /// A map of parameter names to JSON-like values.
    Params,
    /// A list of strings.
    List,
}

/// How a string field is read.
#[derive(Debug, Clone, Copy)]
pub enum ReadText {
    /// From the whole facts (`agent`, `http`).
    Facts(for<'a> fn(&'a Facts) -> Option<&'a str>),
    /// From the `aws` facts.
    Aws(for<'a> fn(&'a AwsFacts) -> Option<&'a str>),
}

/// How a list field is read (all are `aws` fields).
pub type ReadList = for<'a> fn(&'a AwsFacts) -> Option<&'a [String]>;

/// One field of a facet, e.g. `aws.action`.
#[derive(Debug, Clone, Copy)]
pub struct FacetField {
    /// `agent`, `http` or `aws`.
    pub facet: &'static str,
    /// The field's name.
    pub name: &'static str,
    /// Its kind.
    pub kind: FieldKind,
    /// Its value, for [`FieldKind::String`] fields (`None` for the others).
    pub text: Option<ReadText>,
    /// Its value, for [`FieldKind::List`] fields (`None` for the others).
    pub list: Option<ReadList>,
}

const fn text(facet: &'static str, name: &'static str, read: ReadText) -> FacetField {
    FacetField {
        text: Some(read),
        ..other(facet, name, FieldKind::String)
    }
}

const fn other(facet: &'static str, name: &'static str, kind: FieldKind) -> FacetField {
    FacetField {
        facet,
        name,
        kind,
        text: None,
        list: None,
    }
}

/// A list field of the `aws` facet.
const fn aws_list(name: &'static str, read: ReadList) -> FacetField {
    FacetField {
        list: Some(read),
        ..other("aws", name, FieldKind::List)
    }
}

/// A field of the `agent` or `http` facet.
const fn whole(facet: &'static str, name: &'static str, read: for<'a> fn(&'a Facts) -> Option<&'a str>) -> FacetField {
    text(facet, name, ReadText::Facts(read))
}

/// A string field of the `aws` facet.
const fn aws(name: &'static str, read: for<'a> fn(&'a AwsFacts) -> Option<&'a str>) -> FacetField {
    text("aws", name, ReadText::Aws(read))
}

/// Every facet field, in the order the design lists them.
pub const SCHEMA: &[FacetField] = &[
    whole("agent", "name", |f| Some(f.agent.name.as_str())),
    whole("http", "method", |f| Some(&f.http.method)),
    whole("http", "host", |f| Some(&f.http.host)),
    whole("http", "path", |f| Some(&f.http.path)),
    other("http", "query", FieldKind::Multi),
    other("http", "headers", FieldKind::Multi),
    aws("service", |a| a.service.as_ref().map(|s| s.as_str())),
    aws("endpoint_prefix", |a| a.endpoint_prefix.as_deref()),
    aws("signing_name", |a| a.signing_name.as_deref()),
    aws("action", |a| a.action.as_deref()),
    aws("iam_action", |a| a.iam_action.as_deref()),
    aws_list("iam_actions", |a| a.iam_actions.as_deref()),
    aws("account", |a| a.account.as_ref().map(|id| id.as_str())),
    aws("account_name", |a| a.account_name.as_deref()),
    aws("region", |a| a.region.as_ref().map(|r| r.as_str())),
    aws("resource", |a| a.resource.as_deref()),
    aws_list("resources", |a| a.resources.as_deref()),
    aws("bucket", |a| a.bucket.as_deref()),
    aws("key", |a| a.key.as_deref()),
    other("aws", "params", FieldKind::Params),
    aws("method", |a| a.method.as_deref()),
    aws("protocol", |a| Some(a.protocol?.name())),
];

/// The `aws` fields a request's head settles whatever its protocol (the
/// host, the signature, the method); the others may come from its body.
pub const HEAD_AWS_FIELDS: [&str; 5] = ["service", "account", "account_name", "region", "method"];

/// The `aws` fields derived from the request's parameters, which JSON
/// protocols carry in the body: a rule reading one has bodies read for them
/// (up to [`MAX_PARAMS_BODY`](super::aws::MAX_PARAMS_BODY)), as for `aws.params`.
pub const PARAMS_AWS_FIELDS: [&str; 4] = ["params", "resource", "resources", "iam_actions"];

/// The facets: `agent`, `http`, `aws`.
pub const FACETS: [&str; 3] = ["agent", "http", "aws"];

/// The field `facet.name`, if there is one.
pub fn lookup(facet: &str, name: &str) -> Option<&'static FacetField> {
    SCHEMA.iter().find(|f| f.facet == facet && f.name == name)
}

impl FacetField {
    /// This field's value in `facts`, if it is a string field the request has.
    pub fn read<'a>(&self, facts: &'a Facts) -> Option<&'a str> {
        match self.text? {
            ReadText::Facts(read) => read(facts),
            ReadText::Aws(read) => read(facts.aws.as_ref()?),
        }
    }

    /// This field's value in `facts`, if it is a list field the request has.
    pub fn read_list<'a>(&self, facts: &'a Facts) -> Option<&'a [String]> {
        (self.list?)(facts.aws.as_ref()?)
    }
}

impl Facts {
    /// The string field `facet.name`, if the request has it.
    pub fn text(&self, facet: &str, name: &str) -> Option<&str> {
        lookup(facet, name)?.read(self)
    }

    /// The list field `facet.name`, if the request has it.
    pub fn list(&self, facet: &str, name: &str) -> Option<&[String]> {
        lookup(facet, name)?.read_list(self)
    }
}

impl AwsFacts {
    /// The string field `aws.name`, if the request has it.
    pub fn text(&self, name: &str) -> Option<&str> {
        match lookup("aws", name)?.text? {
            ReadText::Aws(read) => read(self),
            ReadText::Facts(_) => None,
        }
    }

    /// Every string field the request has, in schema order (`action` → `GetObject`).
    pub fn texts(&self) -> impl Iterator<Item = (&'static str, &str)> + '_ {
        SCHEMA.iter().filter_map(move |f| match f.text? {
            ReadText::Aws(read) => Some((f.name, read(self)?)),
            ReadText::Facts(_) => None,
        })
    }

    /// The list field `aws.name`, if the request has it.
    pub fn list(&self, name: &str) -> Option<&[String]> {
        (lookup("aws", name)?.list?)(self)
    }

    /// Every list field the request has, in schema order (`resources` → the ARNs).
    pub fn lists(&self) -> impl Iterator<Item = (&'static str, &[String])> + '_ {
        SCHEMA.iter().filter_map(move |f| Some((f.name, (f.list?)(self)?)))
    }
}
