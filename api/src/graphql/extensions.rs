//! Schema extensions: the depth limit (which spares introspection so GraphiQL and code
//! generators keep working) and per-operation Prometheus metrics.
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextResolve, ResolveInfo,
};
use async_graphql::parser::types::{ExecutableDocument, FragmentDefinition, Selection, SelectionSet};
use async_graphql::{Name, Positioned, ServerError, ServerResult, Value, Variables};
use std::collections::HashMap;
use std::sync::Arc;
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

pub struct Metrics;

impl ExtensionFactory for Metrics {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(MetricsExt)
    }
}

struct MetricsExt;

#[async_trait::async_trait]
impl Extension for MetricsExt {
    /// Times each root field (the operation a frontend called: `campaign`, `login`, …).
    /// Labels come from the schema's field names, so a client cannot create new series.
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        if info.path_node.parent.is_some() || info.name.starts_with("__") {
            return next.run(ctx, info).await;
        }
        let field = info.name.to_string();
        let kind = if info.parent_type == "Mutation" {
            "mutation"
        } else {
            "query"
        };
        let start = Instant::now();
        let res = next.run(ctx, info).await;
        let outcome = match &res {
            Ok(_) => "ok",
            Err(e) => e
                .extensions
                .as_ref()
                .and_then(|x| x.get("code"))
                .and_then(|v| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Enum(s) => Some(s.to_string()),
                    _ => None,
                })
                .map(|s| code_label(&s))
                .unwrap_or("error"),
        };
        metrics::counter!("songnuan_graphql_operations_total", "operation" => field.clone(), "kind" => kind, "outcome" => outcome)
            .increment(1);
        metrics::histogram!("songnuan_graphql_operation_seconds", "operation" => field, "kind" => kind)
            .record(start.elapsed().as_secs_f64());
        res
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
