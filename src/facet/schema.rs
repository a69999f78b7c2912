//! The fields rules may read, checked when rules load.

/// What kind of value a facet field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// A string.
    String,
    /// A map of names to lists of strings (query parameters, headers).
    Multi,
    /// A map of parameter names to JSON-like values.
    Params,
}

/// One field of a facet, e.g. `aws.action`.
#[derive(Debug, Clone, Copy)]
pub struct FacetField {
    /// `agent`, `http` or `aws`.
    pub facet: &'static str,
    /// The field's name.
    pub name: &'static str,
    /// Its kind.
    pub kind: FieldKind,
}

const fn field(facet: &'static str, name: &'static str, kind: FieldKind) -> FacetField {
    FacetField { facet, name, kind }
}

/// Every facet field, in the order the design lists them.
pub const SCHEMA: &[FacetField] = &[
    field("agent", "name", FieldKind::String),
    field("http", "method", FieldKind::String),
    field("http", "host", FieldKind::String),
    field("http", "path", FieldKind::String),
    field("http", "query", FieldKind::Multi),
    field("http", "headers", FieldKind::Multi),
    field("aws", "service", FieldKind::String),
    field("aws", "action", FieldKind::String),
    field("aws", "iam_action", FieldKind::String),
    field("aws", "account", FieldKind::String),
    field("aws", "account_name", FieldKind::String),
    field("aws", "region", FieldKind::String),
    field("aws", "resource", FieldKind::String),
    field("aws", "bucket", FieldKind::String),
    field("aws", "key", FieldKind::String),
    field("aws", "params", FieldKind::Params),
    field("aws", "method", FieldKind::String),
    field("aws", "protocol", FieldKind::String),
];

/// The facets: `agent`, `http`, `aws`.
pub const FACETS: [&str; 3] = ["agent", "http", "aws"];

/// The field `facet.name`, if there is one.
pub fn lookup(facet: &str, name: &str) -> Option<&'static FacetField> {
    SCHEMA.iter().find(|f| f.facet == facet && f.name == name)
}
