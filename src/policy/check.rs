//! Compiling a rule's condition: CEL syntax, then every facet it reads
//! checked against the schema, and every literal `matches()` pattern
//! compiled, so mistakes surface at load with their position.

use cel::Program;
use cel::common::ast::{EntryExpr, Expr, IdedExpr, LiteralValue};

use crate::config::{ConditionText, ConfigError, Location};
use crate::facet::{FACETS, FieldKind, HEAD_AWS_FIELDS, PARAMS_AWS_FIELDS, SCHEMA, lookup};

/// A condition compiled and checked, with the regex patterns it uses.
pub(super) struct Checked {
    pub program: Program,
    pub patterns: Vec<String>,
    /// Whether the condition may read `aws.params` or a field derived from
    /// it (`aws.resource`, `aws.iam_actions`, ...): it names one, or `aws` whole.
    pub reads_params: bool,
    /// Whether it may read an `aws` field that can come from the body.
    pub reads_body: bool,
}

/// Compiles `condition`. `aws_available` says whether the rule can see an
/// `aws_api` endpoint, where the `aws` facet exists.
pub(super) fn compile(
    condition: &ConditionText,
    aws_available: bool,
    errors: &mut Vec<ConfigError>,
) -> Option<Checked> {
    let text = &condition.text;
    let program = match Program::compile(text) {
        Ok(p) => p,
        Err(e) => {
            for error in e.errors {
                let (line, column) = (error.pos.0.max(1) as usize, error.pos.1.max(1) as usize);
                let message = error.msg.trim_start_matches("Syntax error: ").to_string();
                errors.push(ConfigError::Condition {
                    at: place(&condition.at, line, column),
                    message: format!("not valid CEL: {message}"),
                });
            }
            return None;
        }
    };
    let mut walk = Walk {
        condition,
        program: &program,
        aws_available,
        bound: Vec::new(),
        patterns: Vec::new(),
        reads_params: false,
        reads_body: false,
        errors: Vec::new(),
    };
    walk.expr(program.expression());
    let Walk {
        patterns,
        reads_params,
        reads_body,
        errors: found,
        ..
    } = walk;
    if found.is_empty() {
        Some(Checked {
            program,
            patterns,
            reads_params,
            reads_body,
        })
    } else {
        errors.extend(found);
        None
    }
}

/// Where `line:column` of an expression that starts at `at` is in its file.
fn place(at: &Location, line: usize, column: usize) -> Location {
    if line <= 1 {
        Location {
            column: at.column + column - 1,
            ..at.clone()
        }
    } else {
        Location {
            line: at.line + line - 1,
            column,
            ..at.clone()
        }
    }
}

struct Walk<'a> {
    condition: &'a ConditionText,
    program: &'a Program,
    aws_available: bool,
    /// Comprehension variables in scope.
    bound: Vec<String>,
    patterns: Vec<String>,
    reads_params: bool,
    reads_body: bool,
    errors: Vec<ConfigError>,
}

impl Walk<'_> {
    fn expr(&mut self, e: &IdedExpr) {
        match &e.expr {
            Expr::Ident(_) | Expr::Select(_) => self.reference(e),
            Expr::Call(call) => {
                if call.func_name == "matches" {
                    self.pattern(call.args.last());
                }
                if let Some(target) = &call.target {
                    self.expr(target);
                }
                for arg in &call.args {
                    self.expr(arg);
                }
            }
            Expr::List(list) => list.elements.iter().for_each(|x| self.expr(x)),
            Expr::Map(map) => {
                for entry in &map.entries {
                    if let EntryExpr::MapEntry(m) = &entry.expr {
                        self.expr(&m.key);
                        self.expr(&m.value);
                    }
                }
            }
            Expr::Struct(s) => {
                for entry in &s.entries {
                    if let EntryExpr::StructField(f) = &entry.expr {
                        self.expr(&f.value);
                    }
                }
            }
            Expr::Comprehension(c) => {
                self.expr(&c.iter_range);
                self.expr(&c.accu_init);
                let vars = [Some(&c.iter_var), c.iter_var2.as_ref(), Some(&c.accu_var)];
                let pushed = vars.iter().flatten().map(|v| self.bound.push((*v).clone())).count();
                self.expr(&c.loop_cond);
                self.expr(&c.loop_step);
                self.expr(&c.result);
                self.bound.truncate(self.bound.len() - pushed);
            }
            Expr::Literal(_) | Expr::Unspecified => {}
        }
    }

    /// Checks an `ident.field.field…` chain against the facet schema.
    fn reference(&mut self, e: &IdedExpr) {
        // Unwind the chain: the innermost node is the root identifier.
        let mut chain: Vec<(&str, u64)> = Vec::new();
        let mut node = e;
        loop {
            match &node.expr {
                Expr::Select(s) => {
                    chain.push((&s.field, node.id));
                    node = &s.operand;
                }
                Expr::Ident(name) => {
                    chain.push((name, node.id));
                    break;
                }
                _ => {
                    // `f(x).field`: check what the operand holds, not the chain.
                    self.expr(node);
                    return;
                }
            }
        }
        chain.reverse();
        let (root, root_id) = chain[0];
        if self.bound.iter().any(|b| b == root) {
            return;
        }
        if !FACETS.contains(&root) {
            let hint = did_you_mean(root, FACETS.iter().copied());
            self.error(
                root_id,
                0,
                format!("unknown name `{root}`; rules read the facets agent, http and aws{hint}"),
            );
            return;
        }
        if root == "aws" && chain.get(1).is_none_or(|(field, _)| PARAMS_AWS_FIELDS.contains(field)) {
            self.reads_params = true;
        }
        if root == "aws" && chain.get(1).is_none_or(|(field, _)| !HEAD_AWS_FIELDS.contains(field)) {
            self.reads_body = true;
        }
        if root == "aws" && !self.aws_available {
            self.error(
                root_id,
                0,
                "the `aws` facet exists only on aws_api endpoints, and this rule applies to none".to_string(),
            );
            return;
        }
        let Some(&(field, field_id)) = chain.get(1) else { return };
        let Some(known) = lookup(root, field) else {
            let full = format!("{root}.{field}");
            let names: Vec<String> = SCHEMA
                .iter()
                .filter(|f| f.facet == root)
                .map(|f| format!("{root}.{}", f.name))
                .collect();
            let hint = did_you_mean(&full, names.iter().map(String::as_str));
            self.error(field_id, 1, format!("`{full}` is not a facet field{hint}"));
            return;
        };
        let what = match known.kind {
            FieldKind::String => "a string",
            FieldKind::List => "a list",
            FieldKind::Multi | FieldKind::Params => return,
        };
        if let Some(&(deeper, id)) = chain.get(2) {
            self.error(id, 1, format!("`{root}.{field}` is {what}; it has no field `{deeper}`"));
        }
    }

    /// Compiles a literal `matches()` pattern now.
    fn pattern(&mut self, arg: Option<&IdedExpr>) {
        let Some(arg) = arg else { return };
        if let Expr::Literal(LiteralValue::String(pattern)) = &arg.expr {
            let pattern = pattern.inner().to_string();
            match regex::Regex::new(&pattern) {
                Ok(_) => self.patterns.push(pattern),
                Err(e) => self.error(arg.id, 0, format!("the pattern is not a valid regular expression: {e}")),
            }
        }
    }

    /// Records an error at the node `id`; `skip` 1 for a select (its offset
    /// is the dot before the field name).
    fn error(&mut self, id: u64, skip: usize, message: String) {
        let text = &self.condition.text;
        let offset = self
            .program
            .source_info()
            .offset_for(id)
            .map_or(0, |(start, _)| start as usize + skip);
        let before = &text[..text.floor_char_boundary(offset.min(text.len()))];
        let line = before.matches('\n').count() + 1;
        let column = before[before.rfind('\n').map_or(0, |i| i + 1)..].chars().count() + 1;
        self.errors.push(ConfigError::Condition {
            at: place(&self.condition.at, line, column),
            message,
        });
    }
}

/// "; did you mean `x`?" for the closest candidate, or nothing.
fn did_you_mean<'c>(name: &str, candidates: impl Iterator<Item = &'c str>) -> String {
    candidates
        .map(|c| (crate::config::edit_distance(name, c), c))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, c)| format!("; did you mean `{c}`?"))
        .unwrap_or_default()
}
