//! What happens to a request's query text before the schema runs it, and the metrics after:
//! parse once (cached by text, so the frontends' few dozen queries are parsed once per
//! replica), refuse fragment cycles and queries nested deeper than `MAX_DEPTH` or larger than
//! `MAX_NODES` once expanded (`document`, linear in the text), and name the root fields for the
//! per-operation metrics and the never-kept rule.
//!
//! This is done here and not as async-graphql extensions on purpose: with any extension
//! installed, every field of every answer goes through the extension chain (a boxed future and
//! a type look-up per field), which made a 50-row page several times dearer.
use super::document;
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Response, ServerError, Value};
use lru::LruCache;
use std::collections::HashSet;
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
    max_nodes: usize,
    known_fields: HashSet<String>,
    cache: Mutex<LruCache<String, Arc<Prepared>>>,
}

impl Operations {
    pub fn new(max_depth: usize, max_nodes: usize, known_fields: HashSet<String>) -> Self {
        Operations {
            max_depth,
            max_nodes,
            known_fields,
            cache: Mutex::new(LruCache::new(NonZeroUsize::new(CACHE_ENTRIES).expect("non-zero"))),
        }
    }

    /// The parsed query, from the cache or freshly parsed; a parse error, a fragment cycle, a
    /// query nested too deep or too large once its fragments are expanded is refused
    /// (`VALIDATION`) before anything else walks it (see `document`).
    pub fn prepare(&self, query: &str) -> Result<Arc<Prepared>, ServerError> {
        if let Some(hit) = self.cache.lock().ok().and_then(|mut c| c.get(query).cloned()) {
            return Ok(hit);
        }
        let doc = async_graphql::parser::parse_query(query).map_err(syntax_error)?;
        let shape = document::measure(&doc, self.max_depth, self.max_nodes)
            .map_err(|refusal| validation(refusal.message(), None))?;
        let fields = shape
            .root_fields
            .into_iter()
            .filter(|(name, _)| self.known_fields.contains(name))
            .collect();
        let prepared = Arc::new(Prepared {
            doc,
            fields,
            read_only: shape.read_only,
        });
        if query.len() <= CACHE_MAX_TEXT
            && let Ok(mut c) = self.cache.lock()
        {
            c.put(query.to_owned(), prepared.clone());
        }
        Ok(prepared)
    }
}

/// A `VALIDATION` error with a zh-CN message and, optionally, the parser's own words.
fn validation(message: String, detail: Option<String>) -> ServerError {
    let mut e = ServerError::new(message, None);
    let mut ext = async_graphql::ErrorExtensionValues::default();
    ext.set("code", "VALIDATION");
    if let Some(d) = detail {
        ext.set("detail", d);
    }
    e.extensions = Some(ext);
    e
}

/// A query that does not parse: where, in zh-CN; what the parser expected, in `detail`.
fn syntax_error(e: async_graphql::parser::Error) -> ServerError {
    let at = e.positions().next();
    let mut err = validation(
        match at {
            Some(p) => format!("GraphQL 查询语法错误（第 {} 行第 {} 列）", p.line, p.column),
            None => "GraphQL 查询语法错误".to_string(),
        },
        Some(e.to_string()),
    );
    err.locations = at.into_iter().collect();
    err
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
        Operations::new(3, 100, ["campaign".to_string(), "login".to_string()].into())
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
    fn fragment_cycles_and_bombs_are_validation_errors() {
        let code = |q: &str| {
            let e = ops().prepare(q).err().expect("refused");
            let ext = e.extensions.expect("extensions");
            (ext.get("code").cloned(), e.message)
        };
        let (c, m) =
            code("query { ...F0 } fragment F0 on Query { ...F1 ...F1 } fragment F1 on Query { ...F0 ...F0 }");
        assert_eq!(c, Some(Value::from("VALIDATION")));
        assert!(m.contains("循环引用"), "{m}");
        let mut chain = String::from("query { ...F0 }");
        for i in 0..30 {
            chain.push_str(&format!(
                " fragment F{i} on Query {{ ...F{j} ...F{j} }}",
                j = i + 1
            ));
        }
        chain.push_str(" fragment F30 on Query { campaign(id:1) { name } }");
        let (c, m) = code(&chain);
        assert_eq!(c, Some(Value::from("VALIDATION")));
        assert!(m.contains("查询过大"), "{m}");
    }

    #[test]
    fn parse_errors_are_refused_in_chinese_with_the_parser_detail() {
        let e = ops().prepare("{\n  campaign(").err().unwrap();
        assert_eq!(e.message, "GraphQL 查询语法错误（第 2 行第 12 列）");
        let ext = e.extensions.unwrap();
        assert_eq!(ext.get("code"), Some(&Value::from("VALIDATION")));
        assert!(ext.get("detail").is_some());
        assert_eq!(e.locations.len(), 1);
    }
}
