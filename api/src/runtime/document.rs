//! The shape of a parsed query document, measured before anything else walks it: fragment
//! cycles, nesting depth, the size the document has once every fragment is expanded, and the
//! root fields of each operation.
//!
//! Every walk here is linear in the size of the document as sent. A fragment is measured once
//! (in dependency order, memoised), never once per spread: `F0 {...F1 ...F1}`, `F1 {...F2
//! ...F2}` … doubles the expanded size per level with a few bytes each, so following spreads
//! is exponential, and a cycle (`F0 {...F1}`, `F1 {...F0}`) never ends. async-graphql's own
//! passes (its depth check and its validation, which inline fragments) do follow spreads, so
//! they may only run on a document this module has found acyclic and small once expanded.
use async_graphql::Name;
use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};
use std::collections::{HashMap, HashSet};

/// Why a document is refused before validation (messages are the client's, in zh-CN).
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A fragment spreads itself, directly or through others.
    Cycle(String),
    /// Nested deeper than the limit (introspection exempt).
    TooDeep(usize),
    /// More selections than the limit once fragments are expanded.
    TooLarge(usize),
}

impl Refusal {
    pub fn message(&self) -> String {
        match self {
            Refusal::Cycle(name) => format!("片段 {name} 循环引用了自身"),
            Refusal::TooDeep(max) => format!("查询嵌套层级过深（最多 {max} 层）"),
            Refusal::TooLarge(max) => format!("查询过大：展开片段后超过 {max} 个选择项"),
        }
    }
}

/// What the request path needs to know of a document.
#[derive(Debug)]
pub struct Shape {
    /// (root field, "query" | "mutation") of every operation, in order of first appearance,
    /// through fragments and inline fragments at any nesting.
    pub root_fields: Vec<(String, &'static str)>,
    /// Every operation is a query.
    pub read_only: bool,
}

/// Size and depth of a selection set with its fragments expanded.
#[derive(Clone, Copy, Default)]
struct Measure {
    depth: usize,
    nodes: usize,
}

/// Measures a document; `max_depth` and `max_nodes` are the limits it must stay within.
pub fn measure(doc: &ExecutableDocument, max_depth: usize, max_nodes: usize) -> Result<Shape, Refusal> {
    let order = fragment_order(doc)?;
    // Each fragment measured once, after the fragments it spreads.
    let mut measured: HashMap<&Name, Measure> = HashMap::with_capacity(order.len());
    for name in order {
        let m = measure_set(&doc.fragments[name].node.selection_set.node, &measured);
        measured.insert(name, m);
    }
    let mut root_fields = Vec::new();
    let mut read_only = true;
    // In document order: several named operations are kept in a hash map.
    let mut operations: Vec<_> = doc.operations.iter().map(|(_, op)| op).collect();
    operations.sort_by_key(|op| (op.pos.line, op.pos.column));
    for op in operations {
        let m = measure_set(&op.node.selection_set.node, &measured);
        if m.depth > max_depth {
            return Err(Refusal::TooDeep(max_depth));
        }
        if m.nodes > max_nodes {
            return Err(Refusal::TooLarge(max_nodes));
        }
        let kind = match op.node.ty {
            OperationType::Query => "query",
            OperationType::Mutation => "mutation",
            OperationType::Subscription => "subscription",
        };
        read_only &= op.node.ty == OperationType::Query;
        collect_root_fields(doc, &op.node.selection_set.node, kind, &mut root_fields);
    }
    Ok(Shape {
        root_fields,
        read_only,
    })
}

/// The fragments spread directly inside a selection set (through fields and inline
/// fragments, not through other fragments).
fn spreads_in<'a>(set: &'a SelectionSet, out: &mut Vec<&'a Name>) {
    for item in &set.items {
        match &item.node {
            Selection::Field(f) => spreads_in(&f.node.selection_set.node, out),
            Selection::FragmentSpread(sp) => out.push(&sp.node.fragment_name.node),
            Selection::InlineFragment(i) => spreads_in(&i.node.selection_set.node, out),
        }
    }
}

/// The document's fragments, each after every fragment it spreads (post-order of a
/// depth-first walk with an explicit stack: a chain of thousands of fragments does not grow
/// the thread's stack); a cycle is refused. Spreads of unknown fragments are skipped here
/// (validation names them).
fn fragment_order(doc: &ExecutableDocument) -> Result<Vec<&Name>, Refusal> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    let mut edges: HashMap<&Name, Vec<&Name>> = HashMap::with_capacity(doc.fragments.len());
    for (name, def) in &doc.fragments {
        let mut out = Vec::new();
        spreads_in(&def.node.selection_set.node, &mut out);
        out.retain(|n| doc.fragments.contains_key(*n));
        out.sort_unstable();
        out.dedup();
        edges.insert(name, out);
    }
    let mut marks: HashMap<&Name, Mark> = HashMap::with_capacity(doc.fragments.len());
    let mut order = Vec::with_capacity(doc.fragments.len());
    // Sorted roots: the same document always reports the same cycle.
    let mut roots: Vec<&Name> = doc.fragments.keys().collect();
    roots.sort_unstable();
    for root in roots {
        if marks.contains_key(root) {
            continue;
        }
        // (fragment, index of the next edge to follow)
        let mut stack: Vec<(&Name, usize)> = vec![(root, 0)];
        marks.insert(root, Mark::Open);
        while let Some((name, next)) = stack.last_mut() {
            let targets = &edges[*name];
            if let Some(&target) = targets.get(*next) {
                *next += 1;
                match marks.get(target) {
                    Some(Mark::Open) => return Err(Refusal::Cycle(target.to_string())),
                    Some(Mark::Done) => {}
                    None => {
                        marks.insert(target, Mark::Open);
                        stack.push((target, 0));
                    }
                }
            } else {
                marks.insert(*name, Mark::Done);
                order.push(*name);
                stack.pop();
            }
        }
    }
    Ok(order)
}

/// Depth and expanded size of a selection set, with the fragments it spreads already measured.
/// Depth does not count `__schema`/`__type` subtrees (GraphiQL and code generators introspect
/// deeper than any real query); size counts everything. Recursion here follows only the
/// nesting written in the text, which the parser bounds.
fn measure_set(set: &SelectionSet, fragments: &HashMap<&Name, Measure>) -> Measure {
    let mut total = Measure::default();
    for item in &set.items {
        let m = match &item.node {
            Selection::Field(f) => {
                let inner = measure_set(&f.node.selection_set.node, fragments);
                let name = f.node.name.node.as_str();
                let depth = if name == "__schema" || name == "__type" {
                    0
                } else {
                    1 + inner.depth
                };
                Measure {
                    depth,
                    nodes: inner.nodes.saturating_add(1),
                }
            }
            Selection::FragmentSpread(sp) => {
                let m = fragments
                    .get(&sp.node.fragment_name.node)
                    .copied()
                    .unwrap_or_default();
                Measure {
                    depth: m.depth,
                    nodes: m.nodes.saturating_add(1),
                }
            }
            Selection::InlineFragment(i) => {
                let m = measure_set(&i.node.selection_set.node, fragments);
                Measure {
                    depth: m.depth,
                    nodes: m.nodes.saturating_add(1),
                }
            }
        };
        total.depth = total.depth.max(m.depth);
        total.nodes = total.nodes.saturating_add(m.nodes);
    }
    total
}

/// The fields asked at the root of an operation: every field of its selection set and of the
/// fragments and inline fragments spread there, however nested. Each fragment is entered once.
fn collect_root_fields(
    doc: &ExecutableDocument,
    set: &SelectionSet,
    kind: &'static str,
    out: &mut Vec<(String, &'static str)>,
) {
    let mut seen: HashSet<&Name> = HashSet::new();
    // A stack of the selection lists being read, so fields come out in document order and a
    // long chain of fragments does not grow the thread's stack.
    let mut reading = vec![set.items.iter()];
    while let Some(items) = reading.last_mut() {
        let Some(item) = items.next() else {
            reading.pop();
            continue;
        };
        match &item.node {
            Selection::Field(f) => {
                let name = f.node.name.node.as_str();
                if !out.iter().any(|(n, k)| n == name && *k == kind) {
                    out.push((name.to_string(), kind));
                }
            }
            Selection::FragmentSpread(sp) => {
                let name = &sp.node.fragment_name.node;
                if let Some(def) = doc.fragments.get(name)
                    && seen.insert(name)
                {
                    reading.push(def.node.selection_set.node.items.iter());
                }
            }
            Selection::InlineFragment(i) => reading.push(i.node.selection_set.node.items.iter()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;

    fn shape(q: &str) -> Result<Shape, Refusal> {
        measure(&parse_query(q).unwrap(), 10, 2000)
    }

    /// `F0` spreads `F1` twice, … `F{n-1}` selects one field: 2^n fields once expanded.
    fn doubling_chain(n: usize) -> String {
        let mut q = String::from("query { ...F0 }");
        for i in 0..n {
            q.push_str(&format!(
                " fragment F{i} on Query {{ ...F{j} ...F{j} }}",
                j = i + 1
            ));
        }
        q.push_str(&format!(" fragment F{n} on Query {{ __typename }}"));
        q
    }

    #[test]
    fn cycles_are_refused_by_name() {
        let q = "query { ...F0 } fragment F0 on Query { ...F1 ...F1 } fragment F1 on Query { ...F0 ...F0 }";
        assert!(matches!(shape(q), Err(Refusal::Cycle(_))));
        let q = "query { ...A } fragment A on Query { campaign(id:1) { ... on Campaign { ...A } } }";
        assert_eq!(shape(q).unwrap_err(), Refusal::Cycle("A".into()));
        // A fragment used twice is not a cycle.
        let q = "query { ...A ...B } fragment A on Query { ...C } fragment B on Query { ...C } fragment C on Query { x }";
        assert!(shape(q).is_ok());
    }

    #[test]
    fn a_doubling_chain_is_measured_not_expanded() {
        // Chain of 9: 512 fields and 1022 spreads expanded, plus the root spread: 1535.
        let doc = parse_query(doubling_chain(9)).unwrap();
        let m = measure(&doc, 10, 1535).unwrap();
        assert_eq!(m.root_fields, vec![("__typename".to_string(), "query")]);
        assert_eq!(measure(&doc, 10, 1534).unwrap_err(), Refusal::TooLarge(1534));
        assert!(shape(&doubling_chain(9)).is_ok());
        assert_eq!(shape(&doubling_chain(10)).unwrap_err(), Refusal::TooLarge(2000));
        // 2^200 fields: refused as quickly as the text is read (saturating counts).
        assert_eq!(shape(&doubling_chain(200)).unwrap_err(), Refusal::TooLarge(2000));
    }

    #[test]
    fn a_long_chain_of_fragments_does_not_recurse() {
        // 20,000 fragments in a line: the order is found with an explicit stack.
        let n = 20_000;
        let mut q = String::from("query { ...F0 }");
        for i in 0..n {
            q.push_str(&format!(" fragment F{i} on Query {{ ...F{} }}", i + 1));
        }
        q.push_str(&format!(" fragment F{n} on Query {{ x }}"));
        let doc = parse_query(&q).unwrap();
        assert_eq!(measure(&doc, 10, 100_000).unwrap().root_fields.len(), 1);
        assert_eq!(measure(&doc, 10, 1000).unwrap_err(), Refusal::TooLarge(1000));
    }

    #[test]
    fn depth_spares_introspection_and_follows_fragments() {
        let deep = "query{a{b{c{d{e{f{g{h{i{j{k}}}}}}}}}}}";
        assert_eq!(shape(deep).unwrap_err(), Refusal::TooDeep(10));
        let via_fragment = "query{a{...F}} fragment F on A{b{c{d{e{f{g{h{i{j{k}}}}}}}}}}";
        assert_eq!(shape(via_fragment).unwrap_err(), Refusal::TooDeep(10));
        assert!(
            shape("{__schema{types{fields{type{ofType{ofType{ofType{ofType{ofType{ofType{name}}}}}}}}}}}")
                .is_ok()
        );
    }

    #[test]
    fn root_fields_are_found_however_deeply_wrapped() {
        let mut q = String::from("query {");
        for _ in 0..40 {
            q.push_str(" ... on Query {");
        }
        q.push_str(" verifyAuditChain { ok }");
        q.push_str(&" }".repeat(40));
        q.push_str(" }");
        let s = shape(&q).unwrap();
        assert_eq!(s.root_fields, vec![("verifyAuditChain".to_string(), "query")]);
        let s = shape("query { ...A } fragment A on Query { ... on Query { ...B } } fragment B on Query { auditLog { totalCount } }").unwrap();
        assert_eq!(s.root_fields, vec![("auditLog".to_string(), "query")]);
        assert!(s.read_only);
        let s = shape("query A { x } mutation B { login }").unwrap();
        assert!(!s.read_only);
        assert_eq!(
            s.root_fields,
            vec![("x".to_string(), "query"), ("login".to_string(), "mutation")]
        );
    }
}
