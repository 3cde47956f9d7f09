//! What happens to a request's query text before the schema runs it, and the metrics after:
//! parse once (cached by text, so the frontends' few dozen queries are parsed once per
//! replica), refuse queries nested deeper than `MAX_DEPTH`, and name the root fields for the
//! per-operation metrics.
//!
//! This is done here and not as async-graphql extensions on purpose: with any extension
//! installed, every field of every answer goes through the extension chain (a boxed future and
//! a type look-up per field), which made a 50-row page several times dearer.
use async_graphql::parser::types::{
    ExecutableDocument, FragmentDefinition, OperationType, Selection, SelectionSet,
};
use async_graphql::{Name, Positioned, Response, ServerError, Value};
use lru::LruCache;
use std::collections::{HashMap, HashSet};
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Distinct query texts remembered per replica.
const CACHE_ENTRIES: usize = 1024;
/// Longer texts are parsed every time: no client can fill the cache with megabytes.
const CACHE_MAX_TEXT: usize = 16 * 1024;

/// A parsed, depth-checked query and the root fields it asks for.
pub struct Prepared {
    pub doc: ExecutableDocument,
    /// (root field, "query" | "mutation"), only names the schema defines.
    pub fields: Vec<(String, &'static str)>,
    /// Every operation in the document is a query: answering it changes nothing, so its answer
    /// may be kept (see `answers`).
    pub read_only: bool,
}

pub struct Operations {
    max_depth: usize,
    known_fields: HashSet<String>,
    cache: Mutex<LruCache<String, Arc<Prepared>>>,
}

impl Operations {
    pub fn new(max_depth: usize, known_fields: HashSet<String>) -> Self {
        Operations {
            max_depth,
            known_fields,
            cache: Mutex::new(LruCache::new(NonZeroUsize::new(CACHE_ENTRIES).expect("non-zero"))),
        }
    }

    /// The parsed query, from the cache or freshly parsed; a parse error or a query nested too
    /// deep is refused with the message the client sees.
    pub fn prepare(&self, query: &str) -> Result<Arc<Prepared>, ServerError> {
        if let Some(hit) = self.cache.lock().ok().and_then(|mut c| c.get(query).cloned()) {
            return Ok(hit);
        }
        let doc = async_graphql::parser::parse_query(query)?;
        for (_, op) in doc.operations.iter() {
            if depth(&op.node.selection_set.node, &doc.fragments, 64) > self.max_depth {
                let mut e = ServerError::new(format!("查询嵌套层级过深（最多 {} 层）", self.max_depth), None);
                let mut ext = async_graphql::ErrorExtensionValues::default();
                ext.set("code", "VALIDATION");
                e.extensions = Some(ext);
                return Err(e);
            }
        }
        let fields = self.root_fields(&doc);
        let read_only = doc
            .operations
            .iter()
            .all(|(_, op)| op.node.ty == OperationType::Query);
        let prepared = Arc::new(Prepared {
            doc,
            fields,
            read_only,
        });
        if query.len() <= CACHE_MAX_TEXT
            && let Ok(mut c) = self.cache.lock()
        {
            c.put(query.to_owned(), prepared.clone());
        }
        Ok(prepared)
    }

    /// The root fields of every operation, through fragments too (`{...F}` must not hide a
    /// field from the metrics or from the never-kept rule of `answers`).
    fn root_fields(&self, doc: &ExecutableDocument) -> Vec<(String, &'static str)> {
        let mut fields = Vec::new();
        for (_, op) in doc.operations.iter() {
            let kind = match op.node.ty {
                OperationType::Mutation => "mutation",
                _ => "query",
            };
            self.collect_root(&op.node.selection_set.node, &doc.fragments, kind, 16, &mut fields);
        }
        fields
    }

    fn collect_root(
        &self,
        set: &SelectionSet,
        frags: &HashMap<Name, Positioned<FragmentDefinition>>,
        kind: &'static str,
        budget: usize,
        out: &mut Vec<(String, &'static str)>,
    ) {
        if budget == 0 {
            return;
        }
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => {
                    let name = f.node.name.node.as_str();
                    if self.known_fields.contains(name) && !out.iter().any(|(n, _)| n == name) {
                        out.push((name.to_string(), kind));
                    }
                }
                Selection::FragmentSpread(sp) => {
                    if let Some(fr) = frags.get(&sp.node.fragment_name.node) {
                        self.collect_root(&fr.node.selection_set.node, frags, kind, budget - 1, out);
                    }
                }
                Selection::InlineFragment(i) => {
                    self.collect_root(&i.node.selection_set.node, frags, kind, budget - 1, out)
                }
            }
        }
    }
}

/// Depth of a selection set, not counting `__schema`/`__type` subtrees (GraphiQL and code
/// generators introspect deeper than any real query). Fragment spreads are followed with a
/// budget, so a cyclic fragment cannot recurse forever (validation rejects it afterwards).
fn depth(set: &SelectionSet, frags: &HashMap<Name, Positioned<FragmentDefinition>>, budget: usize) -> usize {
    if budget == 0 {
        return usize::MAX / 2;
    }
    set.items
        .iter()
        .map(|s| match &s.node {
            Selection::Field(f) => {
                let name = f.node.name.node.as_str();
                if name == "__schema" || name == "__type" {
                    0
                } else {
                    1 + depth(&f.node.selection_set.node, frags, budget - 1)
                }
            }
            Selection::FragmentSpread(sp) => frags
                .get(&sp.node.fragment_name.node)
                .map(|fr| depth(&fr.node.selection_set.node, frags, budget - 1))
                .unwrap_or(0),
            Selection::InlineFragment(i) => depth(&i.node.selection_set.node, frags, budget - 1),
        })
        .max()
        .unwrap_or(0)
}

/// Counts and times each root field of an answered request (labels bounded: schema names and
/// the contract's codes only).
pub fn record(fields: &[(String, &'static str)], resp: &Response, elapsed: Duration) {
    record_outcome(fields, outcome(resp), elapsed)
}

/// The outcome label of an answer: "ok" or the first error's code.
fn outcome(resp: &Response) -> &'static str {
    resp.errors
        .first()
        .map(|e| {
            e.extensions
                .as_ref()
                .and_then(|x| x.get("code"))
                .and_then(|v| match v {
                    Value::String(s) => Some(code_label(s)),
                    Value::Enum(s) => Some(code_label(s.as_str())),
                    _ => None,
                })
                .unwrap_or("error")
        })
        .unwrap_or("ok")
}

/// Counts and times each root field with a known outcome (a kept answer is "ok").
pub fn record_outcome(fields: &[(String, &'static str)], outcome: &'static str, elapsed: Duration) {
    let secs = elapsed.as_secs_f64();
    for (field, kind) in fields {
        metrics::counter!("songnuan_graphql_operations_total", "operation" => field.clone(), "kind" => *kind, "outcome" => outcome)
            .increment(1);
        metrics::histogram!("songnuan_graphql_operation_seconds", "operation" => field.clone(), "kind" => *kind)
            .record(secs);
    }
}

/// Maps a code to a static label (bounded cardinality).
fn code_label(code: &str) -> &'static str {
    const CODES: [&str; 12] = [
        "UNAUTHENTICATED",
        "FORBIDDEN",
        "NOT_FOUND",
        "VALIDATION",
        "CONFLICT",
        "DUPLICATE_RECIPIENT",
        "OVER_STANDARD",
        "BUDGET_EXCEEDED",
        "INVALID_STAGE",
        "INVALID_ID_NUMBER",
        "RATE_LIMITED",
        "INTERNAL",
    ];
    CODES.iter().find(|c| **c == code).copied().unwrap_or("error")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops() -> Operations {
        Operations::new(3, ["campaign".to_string(), "login".to_string()].into())
    }

    #[test]
    fn depth_limit_spares_introspection_and_follows_fragments() {
        let o = ops();
        assert!(o.prepare("{campaign(id:1){organization{name}}}").is_ok());
        let deep = o.prepare("{campaign(id:1){organization{parent{name}}}}");
        assert!(deep.err().unwrap().message.contains("最多 3 层"));
        let via_fragment = "query{campaign(id:1){...F}} fragment F on Campaign{organization{parent{name}}}";
        assert!(o.prepare(via_fragment).is_err());
        assert!(
            o.prepare("{__schema{types{fields{type{ofType{ofType{name}}}}}}}")
                .is_ok()
        );
    }

    #[test]
    fn root_fields_are_named_only_when_the_schema_has_them() {
        let p = ops().prepare("mutation{login(u:1){token} nope}").unwrap();
        assert_eq!(p.fields, vec![("login".to_string(), "mutation")]);
        assert!(!p.read_only);
        let p = ops()
            .prepare("query{...F ... on Query{login}} fragment F on Query{campaign(id:1){name}}")
            .unwrap();
        assert_eq!(
            p.fields,
            vec![("campaign".to_string(), "query"), ("login".to_string(), "query")]
        );
        assert!(ops().prepare("{campaign(id:1){name}}").unwrap().read_only);
        assert!(
            !ops()
                .prepare("query A{campaign(id:1){name}} mutation B{login(u:1){token}}")
                .unwrap()
                .read_only
        );
    }

    #[test]
    fn a_cached_query_is_the_same_parse_and_long_texts_are_not_kept() {
        let o = ops();
        let a = o.prepare("{campaign(id:1){name}}").unwrap();
        let b = o.prepare("{campaign(id:1){name}}").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let long = format!("{{campaign(id:1){{name}}}}{}", " ".repeat(CACHE_MAX_TEXT));
        let c = o.prepare(&long).unwrap();
        let d = o.prepare(&long).unwrap();
        assert!(!Arc::ptr_eq(&c, &d));
    }

    #[test]
    fn parse_errors_are_refused() {
        assert!(ops().prepare("{campaign(").is_err());
    }
}
