//! Schema extensions: the depth limit (which spares introspection so GraphiQL and code
//! generators keep working) and per-operation Prometheus metrics.
use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery};
use async_graphql::parser::types::{
    ExecutableDocument, FragmentDefinition, OperationType, Selection, SelectionSet,
};
use async_graphql::{Name, Positioned, Response, ServerError, ServerResult, Value, Variables};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

pub struct DepthLimit {
    pub max: usize,
}

impl ExtensionFactory for DepthLimit {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(DepthLimitExt { max: self.max })
    }
}

struct DepthLimitExt {
    max: usize,
}

/// Depth of a selection set, not counting `__schema`/`__type` subtrees. Fragment spreads are
/// followed with a budget, so a cyclic fragment cannot recurse forever (validation rejects it
/// afterwards anyway).
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

#[async_trait::async_trait]
impl Extension for DepthLimitExt {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        for (_, op) in doc.operations.iter() {
            let d = depth(&op.node.selection_set.node, &doc.fragments, 64);
            if d > self.max {
                let mut e = ServerError::new(format!("查询嵌套层级过深（最多 {} 层）", self.max), None);
                let mut ext = async_graphql::ErrorExtensionValues::default();
                ext.set("code", "VALIDATION");
                e.extensions = Some(ext);
                return Err(e);
            }
        }
        Ok(doc)
    }
}

/// Per-operation metrics: the root fields of each request (`campaign`, `login`, …) are
/// counted and timed once per request. Only names the schema defines become labels, so a
/// client cannot create new series.
pub struct Metrics {
    pub known_fields: Arc<HashSet<String>>,
}

impl ExtensionFactory for Metrics {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(MetricsExt {
            known: self.known_fields.clone(),
            fields: Mutex::new(Vec::new()),
        })
    }
}

struct MetricsExt {
    known: Arc<HashSet<String>>,
    /// (root field, "query" | "mutation") of this request.
    fields: Mutex<Vec<(String, &'static str)>>,
}

#[async_trait::async_trait]
impl Extension for MetricsExt {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        let mut fields = Vec::new();
        for (_, op) in doc.operations.iter() {
            let kind = match op.node.ty {
                OperationType::Mutation => "mutation",
                _ => "query",
            };
            for item in &op.node.selection_set.node.items {
                if let Selection::Field(f) = &item.node {
                    let name = f.node.name.node.as_str();
                    if self.known.contains(name) {
                        fields.push((name.to_string(), kind));
                    }
                }
            }
        }
        if let Ok(mut slot) = self.fields.lock() {
            *slot = fields;
        }
        Ok(doc)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let start = Instant::now();
        let resp = next.run(ctx, operation_name).await;
        let elapsed = start.elapsed().as_secs_f64();
        let outcome = resp
            .errors
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
            .unwrap_or("ok");
        let fields = self.fields.lock().map(|f| f.clone()).unwrap_or_default();
        for (field, kind) in fields {
            metrics::counter!("songnuan_graphql_operations_total", "operation" => field.clone(), "kind" => kind, "outcome" => outcome)
                .increment(1);
            metrics::histogram!("songnuan_graphql_operation_seconds", "operation" => field, "kind" => kind)
                .record(elapsed);
        }
        resp
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
