//! Typed reads of the values rule files hold beyond plain strings: secrets
//! (`env("…")`, `file("…")`), references (`aws_api.org`), booleans, signed
//! numbers and CEL conditions.

use std::fmt;

use hcl_edit::Span;
use hcl_edit::expr::{Expression, TraversalOperator, UnaryOperator};

use super::environment::Environment;
use super::reader::Settings;
use super::{ConfigError, Location};
use crate::secret::Secret;

/// A reference to a named block, as `kind.name`: `aws_api.org`, `human.oncall`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The block's kind: an endpoint kind, `human`, or a credential kind.
    pub kind: String,
    /// The block's name.
    pub name: String,
    /// Where the reference is written.
    pub at: Location,
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.kind, self.name)
    }
}

/// A CEL condition's text and where its first character is in the rule file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionText {
    /// The expression.
    pub text: String,
    /// The position of its first character.
    pub at: Location,
}

impl Settings<'_> {
    /// A secret: a quoted string, `env("NAME")` or `file("path")` (relative to
    /// the rule file, trailing newline removed).
    pub fn secret(&self, key: &str, env: &dyn Environment, errors: &mut Vec<ConfigError>) -> Option<Secret> {
        let attr = self.get(key)?;
        let Expression::FuncCall(call) = &attr.value else {
            return self.string_value(attr, &attr.value, errors).map(Secret::new);
        };
        let function = call.name.name.as_str();
        let argument = match call.args.iter().collect::<Vec<_>>().as_slice() {
            [Expression::String(s)] => s.value().clone(),
            _ => {
                errors.push(self.invalid(
                    attr,
                    format!(r#"`{function}` takes one quoted string, e.g. {function}("NAME")"#),
                ));
                return None;
            }
        };
        let value = match function {
            "env" => env.var(&argument).ok_or_else(|| {
                format!("environment variable `{argument}` is not set; set it before starting clawgate")
            }),
            "file" => {
                let path = self.source.dir().join(&argument);
                std::fs::read_to_string(&path)
                    .map(|text| text.trim_end_matches(['\n', '\r']).to_string())
                    .map_err(|e| format!("cannot read `{}`: {e}", path.display()))
            }
            other => Err(format!(
                r#"`{other}()` is not a function here; write env("NAME") or file("path")"#
            )),
        };
        value
            .map(Secret::new)
            .map_err(|p| errors.push(self.invalid(attr, p)))
            .ok()
    }

    /// A reference such as `aws_account.base`.
    pub fn reference(&self, key: &str, errors: &mut Vec<ConfigError>) -> Option<Reference> {
        let attr = self.get(key)?;
        self.reference_value(attr.key.as_str(), &attr.value, errors)
    }

    /// A list of references such as `[aws_api.org, https.github]`.
    pub fn references(&self, key: &str, errors: &mut Vec<ConfigError>) -> Option<Vec<Reference>> {
        let attr = self.get(key)?;
        let Expression::Array(array) = &attr.value else {
            errors.push(self.invalid(attr, "expected a list of references, e.g. [aws_api.org]"));
            return None;
        };
        Some(
            array
                .iter()
                .filter_map(|e| self.reference_value(key, e, errors))
                .collect(),
        )
    }

    fn reference_value(&self, key: &str, expr: &Expression, errors: &mut Vec<ConfigError>) -> Option<Reference> {
        let at = self.source.locate(expr.span());
        let parts = match expr {
            Expression::Traversal(t) => match (&t.expr, t.operators.as_slice()) {
                (Expression::Variable(kind), [op]) => match op.value() {
                    TraversalOperator::GetAttr(name) => Some((kind.as_str(), name.as_str())),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        };
        match parts {
            Some((kind, name)) => Some(Reference {
                kind: kind.to_string(),
                name: name.to_string(),
                at,
            }),
            None => {
                errors.push(ConfigError::InvalidValue {
                    at,
                    name: key.to_string(),
                    problem: "expected a reference to a block, written kind.name without quotes, e.g. aws_api.org or human.oncall".to_string(),
                });
                None
            }
        }
    }

    /// `true` or `false`.
    pub fn boolean(&self, key: &str, errors: &mut Vec<ConfigError>) -> Option<bool> {
        let attr = self.get(key)?;
        match &attr.value {
            Expression::Bool(b) => Some(*b.value()),
            _ => {
                errors.push(self.invalid(attr, "expected true or false"));
                None
            }
        }
    }

    /// A whole number that may be negative.
    pub fn signed(&self, key: &str, errors: &mut Vec<ConfigError>) -> Option<i64> {
        let attr = self.get(key)?;
        let value = match &attr.value {
            Expression::Number(n) => n.value().as_i64(),
            Expression::UnaryOp(op) if *op.operator.value() == UnaryOperator::Neg => match &op.expr {
                Expression::Number(n) => n.value().as_i64().map(|n| -n),
                _ => None,
            },
            _ => None,
        };
        if value.is_none() {
            errors.push(self.invalid(attr, "expected a whole number, e.g. 10 or -5"));
        }
        value
    }

    /// A CEL condition written under any of `keys` (quoted, heredoc, or
    /// unquoted); two spellings at once is an error.
    pub fn condition(&self, keys: [&'static str; 2], errors: &mut Vec<ConfigError>) -> Option<ConditionText> {
        let written: Vec<_> = keys.iter().filter_map(|k| self.get(k)).collect();
        let attr = match written.as_slice() {
            [] => return None,
            [attr] => *attr,
            [_, second, ..] => {
                errors.push(self.invalid(second, format!("write either `{}` or `{}`, not both", keys[0], keys[1])));
                return None;
            }
        };
        let span = attr.value.span();
        let (text, at) = match &attr.value {
            Expression::String(s) => {
                let at = self.source.unquoted_at(span.clone()).unwrap_or_else(|| {
                    let quote = self.source.locate(span);
                    Location {
                        column: quote.column + 1,
                        ..quote
                    }
                });
                (s.value().clone(), at)
            }
            Expression::HeredocTemplate(heredoc) => {
                let text = heredoc.template.to_string();
                let opener = self.source.locate(span);
                (
                    text,
                    Location {
                        line: opener.line + 1,
                        column: 1,
                        ..opener
                    },
                )
            }
            _ => {
                errors.push(self.invalid(attr, "expected a CEL expression, e.g. aws.action.startsWith(\"Get\")"));
                return None;
            }
        };
        if text.trim().is_empty() {
            errors.push(self.invalid(attr, "the condition is empty; write a CEL expression, or `true`"));
            return None;
        }
        Some(ConditionText { text, at })
    }
}
