//! Parsed HCL blocks, and typed reads of their settings with located errors.

use hcl_edit::Span;
use hcl_edit::expr::{Expression, ObjectKey};
use hcl_edit::structure::{Attribute, Block, BlockLabel, Body, Structure};

use super::source::Source;
use super::{ConfigError, Location};

/// The block types clawgate reads, as listed in error messages.
const BLOCK_TYPES: &str = "gateway, agent, endpoint, credential, human, rule, plugin";

/// A block together with the file it came from.
pub(super) struct Item<'s> {
    pub source: &'s Source,
    pub block: Block,
}

impl Item<'_> {
    /// Where the block starts.
    pub fn location(&self) -> Location {
        self.source.locate(self.block.span())
    }

    /// The directory of the block's file, against which relative paths are read.
    pub fn source_dir(&self) -> &std::path::Path {
        self.source.dir()
    }

    /// The block's labels as plain strings.
    pub fn labels(&self) -> Vec<&str> {
        self.block
            .labels
            .iter()
            .map(|l| match l {
                BlockLabel::Ident(i) => i.as_str(),
                BlockLabel::String(s) => s.as_str(),
            })
            .collect()
    }
}

/// Every block of every rule file, grouped by type, in file order.
#[derive(Default)]
pub(super) struct Blocks<'s> {
    pub gateway: Vec<Item<'s>>,
    pub agent: Vec<Item<'s>>,
    pub endpoint: Vec<Item<'s>>,
    pub credential: Vec<Item<'s>>,
    pub human: Vec<Item<'s>>,
    pub rule: Vec<Item<'s>>,
    pub plugin: Vec<Item<'s>>,
}

impl<'s> Blocks<'s> {
    /// Parses `source` and files its blocks; problems go to `errors`.
    pub fn collect(&mut self, source: &'s Source, errors: &mut Vec<ConfigError>) {
        let body = match hcl_edit::parser::parse_body(source.text()) {
            Ok(body) => body,
            Err(e) => {
                let at = source.at(e.location().line(), e.location().column());
                errors.push(ConfigError::Syntax {
                    at,
                    message: e.message().to_string(),
                });
                return;
            }
        };
        for structure in body.into_iter() {
            match structure {
                Structure::Attribute(attr) => errors.push(ConfigError::UnknownBlock {
                    at: source.locate(attr.span()),
                    name: format!("{} = …", attr.key.as_str()),
                    expected: BLOCK_TYPES,
                }),
                Structure::Block(block) => {
                    let list = match block.ident.as_str() {
                        "gateway" => &mut self.gateway,
                        "agent" => &mut self.agent,
                        "endpoint" => &mut self.endpoint,
                        "credential" => &mut self.credential,
                        "human" => &mut self.human,
                        "rule" => &mut self.rule,
                        "plugin" => &mut self.plugin,
                        other => {
                            errors.push(ConfigError::UnknownBlock {
                                at: source.locate(block.span()),
                                name: other.to_string(),
                                expected: BLOCK_TYPES,
                            });
                            continue;
                        }
                    };
                    list.push(Item { source, block });
                }
            }
        }
    }
}

/// Typed reads of one block's attributes.
pub(super) struct Settings<'a> {
    pub(super) source: &'a Source,
    body: &'a Body,
    /// How the block is named in messages, e.g. `endpoint "https" "github"`.
    block: String,
    /// Where the block starts.
    at: Location,
}

impl<'a> Settings<'a> {
    /// Reads `item`'s body. `allowed` lists its settings (comma-separated, for
    /// messages); anything else in the body is reported to `errors`.
    pub fn new(
        item: &'a Item<'_>,
        block: String,
        allowed: &'static str,
        errors: &mut Vec<ConfigError>,
    ) -> Settings<'a> {
        Settings::of_body(item.source, &item.block.body, item.location(), block, allowed, errors)
    }

    /// Reads a body: a block's, or a nested block's. Nested blocks are
    /// allowed when `allowed` names them.
    pub fn of_body(
        source: &'a Source,
        body: &'a Body,
        at: Location,
        block: String,
        allowed: &'static str,
        errors: &mut Vec<ConfigError>,
    ) -> Settings<'a> {
        let settings = Settings {
            source,
            body,
            block,
            at,
        };
        let known: Vec<&str> = allowed.split(", ").collect();
        for structure in settings.body.iter() {
            let (name, span) = match structure {
                Structure::Attribute(a) => (a.key.as_str(), a.span()),
                Structure::Block(b) => (b.ident.as_str(), b.span()),
            };
            if !known.contains(&name) {
                errors.push(ConfigError::UnknownAttribute {
                    at: settings.source.locate(span),
                    block: settings.block.clone(),
                    name: name.to_string(),
                    expected: allowed,
                });
            }
        }
        settings
    }

    /// The nested block named `name`, as settings of its own.
    pub fn nested(&self, name: &'a str, allowed: &'static str, errors: &mut Vec<ConfigError>) -> Option<Settings<'a>> {
        let block = self.body.get_blocks(name).next()?;
        let describe = format!("{} {name}", self.block);
        let at = self.source.locate(block.span());
        Some(Settings::of_body(
            self.source,
            &block.body,
            at,
            describe,
            allowed,
            errors,
        ))
    }

    /// Where the block starts.
    pub fn block_location(&self) -> Location {
        self.at.clone()
    }

    /// The attribute named `key`, if written.
    pub fn get(&self, key: &str) -> Option<&'a Attribute> {
        self.body.get_attribute(key)
    }

    /// Where `attr`'s value starts.
    pub fn location(&self, attr: &Attribute) -> Location {
        self.source.locate(attr.value.span().or_else(|| attr.span()))
    }

    /// An error about `attr`'s value.
    pub fn invalid(&self, attr: &Attribute, problem: impl Into<String>) -> ConfigError {
        ConfigError::InvalidValue {
            at: self.location(attr),
            name: attr.key.as_str().to_string(),
            problem: problem.into(),
        }
    }

    /// An error about the block as a whole.
    pub fn invalid_block(&self, problem: &str) -> ConfigError {
        ConfigError::InvalidValue {
            at: self.at.clone(),
            name: self.block.clone(),
            problem: problem.to_string(),
        }
    }

    /// An error for a required attribute that is absent.
    pub fn missing(&self, at: Location, name: &'static str, example: &'static str) -> ConfigError {
        ConfigError::MissingAttribute {
            at,
            block: self.block.clone(),
            name,
            example,
        }
    }

    /// A string attribute as written; `None` when absent or not a string.
    pub fn text(&self, key: &str, errors: &mut Vec<ConfigError>) -> Option<String> {
        let attr = self.get(key)?;
        self.string_value(attr, &attr.value, errors)
    }

    /// A string attribute, parsed by `parse`; `None` when absent or invalid.
    pub fn parsed<T, E: std::fmt::Display>(
        &self,
        key: &str,
        errors: &mut Vec<ConfigError>,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        let attr = self.get(key)?;
        let text = self.string_value(attr, &attr.value, errors)?;
        parse(&text)
            .map_err(|p| errors.push(self.invalid(attr, p.to_string())))
            .ok()
    }

    /// A list-of-strings attribute, each string with its location.
    pub fn strings(&self, key: &str, errors: &mut Vec<ConfigError>) -> Option<Vec<(String, Location)>> {
        let attr = self.get(key)?;
        let Expression::Array(array) = &attr.value else {
            errors.push(self.invalid(attr, r#"expected a list of strings, e.g. ["a", "b"]"#));
            return None;
        };
        let values = array
            .iter()
            .filter_map(|e| {
                let text = self.string_value(attr, e, errors)?;
                Some((text, self.source.locate(e.span())))
            })
            .collect();
        Some(values)
    }

    /// A list-of-strings attribute, each string read by `parse`; a string it
    /// refuses is reported at its own position and left out.
    pub fn parsed_list<T, E: std::fmt::Display>(
        &self,
        key: &str,
        errors: &mut Vec<ConfigError>,
        parse: impl Fn(&str) -> Result<T, E>,
    ) -> Option<Vec<T>> {
        let values = self.strings(key, errors)?;
        let parsed = values
            .into_iter()
            .filter_map(|(text, at)| {
                parse(&text)
                    .map_err(|problem| {
                        errors.push(ConfigError::InvalidValue {
                            at,
                            name: key.to_string(),
                            problem: problem.to_string(),
                        });
                    })
                    .ok()
            })
            .collect();
        Some(parsed)
    }

    /// An object attribute of string keys and string values.
    pub fn string_map(&self, key: &str, errors: &mut Vec<ConfigError>) -> Option<Vec<(String, String, Location)>> {
        let attr = self.get(key)?;
        let Expression::Object(object) = &attr.value else {
            errors.push(self.invalid(attr, r#"expected a map, e.g. { "*.example.com" = "10.0.0.7:443" }"#));
            return None;
        };
        let entries = object
            .iter()
            .filter_map(|(k, v)| {
                let key = match k {
                    ObjectKey::Ident(i) => Some(i.as_str().to_string()),
                    ObjectKey::Expression(e) => self.string_value(attr, e, errors),
                }?;
                let value = self.string_value(attr, v.expr(), errors)?;
                Some((key, value, self.source.locate(v.expr().span())))
            })
            .collect();
        Some(entries)
    }

    /// A whole-number attribute.
    pub fn integer(&self, key: &str, errors: &mut Vec<ConfigError>) -> Option<u64> {
        let attr = self.get(key)?;
        match &attr.value {
            Expression::Number(n) => n.value().as_u64().or_else(|| {
                errors.push(self.invalid(attr, "expected a whole number of at least 0"));
                None
            }),
            _ => {
                errors.push(self.invalid(attr, "expected a whole number, e.g. 1000"));
                None
            }
        }
    }

    /// The text of a string literal within `attr`.
    pub(super) fn string_value(
        &self,
        attr: &Attribute,
        expr: &Expression,
        errors: &mut Vec<ConfigError>,
    ) -> Option<String> {
        match expr {
            Expression::String(s) => Some(s.value().clone()),
            Expression::HeredocTemplate(heredoc) => Some(heredoc.template.to_string()),
            _ => {
                errors.push(ConfigError::InvalidValue {
                    at: self.source.locate(expr.span()),
                    name: attr.key.as_str().to_string(),
                    problem: "expected a quoted string".to_string(),
                });
                None
            }
        }
    }
}
