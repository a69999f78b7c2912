//! `matches()` with compiled regexes: the cel crate's own compiles the
//! pattern on every call, so clawgate provides it, compiling every literal
//! pattern once at load and caching (a bounded number of) others.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use cel::common::types::{CelBool, CelString};
use cel::common::value::CowVal;
use cel::{Context, ExecutionError, FunctionContext};
use regex::Regex;

/// Patterns computed at run time that are cached, at most.
const DYNAMIC_LIMIT: usize = 256;

/// Compiled patterns by source text.
#[derive(Debug, Default, Clone)]
pub(super) struct RegexCache(Arc<RwLock<HashMap<String, Arc<Regex>>>>);

type Function =
    Box<dyn for<'c, 'k> Fn(&mut FunctionContext<'c, 'k>) -> Result<CowVal<'c, 'k>, ExecutionError> + Send + Sync>;

impl RegexCache {
    /// A cache holding `patterns`, which are known to compile.
    pub(super) fn with(patterns: Vec<String>) -> RegexCache {
        let compiled = patterns
            .into_iter()
            .filter_map(|p| Regex::new(&p).ok().map(|r| (p, Arc::new(r))))
            .collect();
        RegexCache(Arc::new(RwLock::new(compiled)))
    }

    /// Registers `matches` (as `s.matches(re)` and `matches(s, re)`) on `root`.
    pub(super) fn install(self, root: &mut Context<'static, 'static>) {
        let function: Function = Box::new(move |ftx| {
            let (text, pattern) = match &ftx.this {
                Some(this) => (this.clone(), ftx.args.first().cloned()),
                None => (
                    ftx.args
                        .first()
                        .cloned()
                        .unwrap_or_else(|| CowVal::owned(CelString::from(""))),
                    ftx.args.get(1).cloned(),
                ),
            };
            let text = text.downcast_ref::<CelString>().map(|s| s.inner().to_string());
            let pattern = pattern
                .as_ref()
                .and_then(|p| p.downcast_ref::<CelString>().map(|s| s.inner().to_string()));
            let (Some(text), Some(pattern)) = (text, pattern) else {
                return Err(ExecutionError::function_error(
                    "matches",
                    "expects a string and a pattern string",
                ));
            };
            let regex = self
                .get(&pattern)
                .map_err(|e| ExecutionError::function_error("matches", e))?;
            Ok(CowVal::owned(CelBool::from(regex.is_match(&text))))
        });
        // `matches` is not otherwise declared (the cel crate's `regex` feature is off).
        let _ = root.add_function("matches", function);
    }

    fn get(&self, pattern: &str) -> Result<Arc<Regex>, regex::Error> {
        if let Some(found) = self.0.read().unwrap_or_else(PoisonError::into_inner).get(pattern) {
            return Ok(Arc::clone(found));
        }
        let regex = Arc::new(Regex::new(pattern)?);
        let mut cache = self.0.write().unwrap_or_else(PoisonError::into_inner);
        if cache.len() < DYNAMIC_LIMIT {
            cache.insert(pattern.to_string(), Arc::clone(&regex));
        }
        Ok(regex)
    }
}
