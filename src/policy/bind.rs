//! Facts as CEL sees them: a variable resolver over [`Facts`] that borrows
//! instead of copying, so binding a request costs next to nothing.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

use cel::common::traits::Indexer;
use cel::common::types::{CelString, Type};
use cel::common::value::{CowVal, Val};
use cel::context::VariableResolver;
use cel::{ExecutionError, Value};

use crate::facet::Facts;

/// The type CEL reports for a facet object.
static FACET_TYPE: Type = Type::new_unspecified_type("clawgate.facet");

/// Which facet a [`FacetVal`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Facet {
    Agent,
    Http,
    Aws,
}

/// One request's facts, bound for evaluation.
pub(super) struct Bound<'a> {
    facts: &'a Facts,
    agent: FacetVal<'a>,
    http: FacetVal<'a>,
    aws: FacetVal<'a>,
    query: OnceLock<Box<dyn Val>>,
    headers: OnceLock<Box<dyn Val>>,
    params: OnceLock<Option<Box<dyn Val>>>,
}

impl<'a> Bound<'a> {
    /// Binds `facts`.
    pub(super) fn new(facts: &'a Facts) -> Bound<'a> {
        let val = |facet| FacetVal { facts, facet };
        Bound {
            facts,
            agent: val(Facet::Agent),
            http: val(Facet::Http),
            aws: val(Facet::Aws),
            query: OnceLock::new(),
            headers: OnceLock::new(),
            params: OnceLock::new(),
        }
    }
}

impl VariableResolver for Bound<'_> {
    fn resolve<'b>(&'b self, name: &str) -> Option<CowVal<'b, 'b>> {
        let facts = self.facts;
        let aws = facts.aws.as_ref();
        let value = match name {
            "agent" => CowVal::Borrowed(&self.agent),
            "http" => CowVal::Borrowed(&self.http),
            "aws" => CowVal::Borrowed(aws.map(|_| &self.aws)?),
            "http.query" => CowVal::Borrowed(self.query.get_or_init(|| multi(&facts.http.query)).as_ref()),
            "http.headers" => CowVal::Borrowed(self.headers.get_or_init(|| multi(&facts.http.headers)).as_ref()),
            "aws.params" => CowVal::Borrowed(
                self.params
                    .get_or_init(|| aws?.params.as_ref().map(params))
                    .as_deref()?,
            ),
            _ => {
                let (facet, field) = name.split_once('.')?;
                match facts.list(facet, field) {
                    Some(items) => CowVal::Owned(list(items)),
                    None => CowVal::owned(CelString::from(facts.text(facet, field)?)),
                }
            }
        };
        Some(value)
    }
}

/// A facet as an object, for `has(aws.bucket)` and for reaching its fields
/// when the resolver's fast path did not.
#[derive(Debug, Clone)]
struct FacetVal<'a> {
    facts: &'a Facts,
    facet: Facet,
}

impl Val for FacetVal<'_> {
    fn get_type(&self) -> &Type {
        &FACET_TYPE
    }

    fn cel_type() -> &'static Type {
        &FACET_TYPE
    }

    fn as_indexer<'b, 'v>(&'b self) -> Option<&'b (dyn Indexer + 'v)>
    where
        Self: 'v,
    {
        Some(self)
    }

    fn clone_as_boxed<'v>(&self) -> Box<dyn Val + 'v>
    where
        Self: 'v,
    {
        Box::new(self.clone())
    }
}

impl Indexer for FacetVal<'_> {
    fn get<'b, 'v>(&'b self, index: &dyn Val) -> Result<CowVal<'b, 'v>, ExecutionError>
    where
        Self: 'v,
    {
        let field = index.downcast_ref::<CelString>().map(|s| s.inner()).unwrap_or("?");
        let prefix = match self.facet {
            Facet::Agent => "agent",
            Facet::Http => "http",
            Facet::Aws => "aws",
        };
        let facts = self.facts;
        let value: Option<Box<dyn Val>> = match (self.facet, field) {
            (Facet::Http, "query") => Some(multi(&facts.http.query)),
            (Facet::Http, "headers") => Some(multi(&facts.http.headers)),
            (Facet::Aws, "params") => facts.aws.as_ref().and_then(|a| a.params.as_ref()).map(params),
            _ => match facts.list(prefix, field) {
                Some(items) => Some(list(items)),
                None => facts
                    .text(prefix, field)
                    .map(|s| Box::new(CelString::from(s.to_string())) as Box<dyn Val>),
            },
        };
        value
            .map(CowVal::Owned)
            .ok_or_else(|| ExecutionError::no_such_key(field))
    }

    fn steal<'v>(self: Box<Self>, index: &dyn Val) -> Result<Box<dyn Val + 'v>, ExecutionError>
    where
        Self: 'v,
    {
        self.get(index).map(CowVal::into_owned)
    }
}

/// A list of strings as a CEL value.
fn list(items: &[String]) -> Box<dyn Val> {
    to_val(strings(items))
}

fn strings(items: &[String]) -> Value {
    Value::List(Arc::new(items.iter().map(|v| Value::from(v.as_str())).collect()))
}

/// A map of lists of strings as a CEL value.
fn multi(map: &BTreeMap<String, Vec<String>>) -> Box<dyn Val> {
    let value: HashMap<String, Value> = map.iter().map(|(k, vs)| (k.clone(), strings(vs))).collect();
    to_val(Value::from(value))
}

/// JSON parameters as a CEL value.
fn params(map: &serde_json::Map<String, serde_json::Value>) -> Box<dyn Val> {
    to_val(Value::from(
        map.iter()
            .map(|(k, v)| (k.clone(), json(v)))
            .collect::<HashMap<String, Value>>(),
    ))
}

fn json(value: &serde_json::Value) -> Value {
    match value {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => n
            .as_i64()
            .map(Value::Int)
            .unwrap_or_else(|| Value::Float(n.as_f64().unwrap_or(f64::NAN))),
        serde_json::Value::String(s) => Value::from(s.as_str()),
        serde_json::Value::Array(items) => Value::List(Arc::new(items.iter().map(json).collect())),
        serde_json::Value::Object(map) => Value::from(
            map.iter()
                .map(|(k, v)| (k.clone(), json(v)))
                .collect::<HashMap<String, Value>>(),
        ),
    }
}

fn to_val(value: Value) -> Box<dyn Val> {
    Box::<dyn Val>::try_from(value).unwrap_or_else(|_| Box::new(CelString::from(String::new())))
}
