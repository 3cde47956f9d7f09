//! The layering rule, checked on the source itself (`tests/tests/e2e/layers.rs` runs it on the
//! domain and the api crates): every `crate::…` path (and `super::…`) in the non-test code of
//! each module names a module of its own layer or a lower one, never a higher one; it names the
//! file that defines what it imports (not a folder's `mod.rs` or `lib.rs`, which are public
//! faces); and the modules' imports form no cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A crate's layers, lowest first: (name, the first segments of the module paths in it).
pub type Layers<'a> = &'a [(&'a str, &'a [&'a str])];

/// The layers of `domain/src/lib.rs`, lowest first, by the first segment of a module path.
pub const DOMAIN_LAYERS: Layers<'static> = &[
    ("core", &["core"]),
    ("people", &["people"]),
    ("campaigns", &["plan"]),
    ("recipients", &["recipients"]),
    ("funds", &["funds"]),
    ("life cycle", &["lifecycle"]),
    ("evaluation", &["evaluation"]),
    ("reports", &["reports"]),
    ("work", &["work"]),
    ("top", &["demo", "bootstrap", "campaigns"]),
];

fn layer_of(layers: Layers<'_>, module: &[String]) -> usize {
    let Some(first) = module.first() else {
        return layers.len() - 1; // lib.rs: the public face, above everything
    };
    layers
        .iter()
        .position(|(_, roots)| roots.contains(&first.as_str()))
        .unwrap_or_else(|| {
            panic!("module `{first}` has no layer: add it to the crate's layers in tests/src/layers.rs")
        })
}

struct Module {
    file: PathBuf,
    /// Whether this file is a folder's `mod.rs` or `lib.rs` (a public face, no rules).
    face: bool,
    code: String,
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Source without comments and without `#[cfg(test)]` items (test modules may reach anywhere).
fn non_test_code(src: &str) -> String {
    let mut lines = String::new();
    for l in src.lines() {
        let l = match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        };
        lines.push_str(l);
        lines.push('\n');
    }
    let mut out = String::new();
    let mut rest = lines.as_str();
    while let Some(i) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        // Skip the item: up to its `;` or its balanced `{ … }`.
        let semi = after.find(';').unwrap_or(after.len());
        let brace = after.find('{').unwrap_or(after.len());
        if semi < brace {
            rest = &after[semi + 1..];
            continue;
        }
        let mut depth = 0usize;
        let mut end = after.len();
        for (j, c) in after.char_indices().skip(brace) {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = j + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Paths of a use tree starting at `s` (just after `crate::` or a resolved `super::`).
fn use_tree(s: &str, prefix: &[String], out: &mut Vec<Vec<String>>) -> usize {
    let mut path = prefix.to_vec();
    let b = s.as_bytes();
    let mut i = 0;
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i < b.len() && b[i] == b'{' {
            i += 1;
            loop {
                while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b',') {
                    i += 1;
                }
                if i >= b.len() || b[i] == b'}' {
                    return i + 1;
                }
                i += use_tree(&s[i..], &path, out);
                // Skip `as alias` and anything up to the next `,` or `}`.
                while i < b.len() && b[i] != b',' && b[i] != b'}' {
                    i += 1;
                }
            }
        }
        let start = i;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
            i += 1;
        }
        let ident = &s[start..i];
        if !ident.is_empty() && ident != "self" {
            path.push(ident.to_string());
        }
        if s[i..].starts_with("::") {
            i += 2;
            continue;
        }
        out.push(path);
        return i;
    }
}

fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// Every `crate::…` and `super::…` path of a module's code.
fn imports(module: &[String], face: bool, code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for (i, _) in code.match_indices("crate::") {
        let before = code[..i].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        use_tree(&code[i + "crate::".len()..], &[], &mut out);
    }
    for (i, _) in code.match_indices("super::") {
        let before = code[..i].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        // `super` of a file module is its parent; of a folder's mod.rs, the folder's parent.
        let mut base = module.to_vec();
        base.pop();
        let _ = face;
        use_tree(&code[i + "super::".len()..], &base, &mut out);
    }
    out
}

/// What is wrong with the imports of the crate whose sources are in `src`: with `layers`, an
/// import of a higher layer or through a public face; always, an import cycle. Also returns
/// the number of modules that import another (a parser that reads nothing finds no fault).
pub fn check(src: &Path, layers: Option<Layers<'_>>) -> (Vec<String>, usize) {
    let mut files = Vec::new();
    collect(src, &mut files);
    let mut modules: BTreeMap<Vec<String>, Module> = BTreeMap::new();
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        if name == "tests.rs" {
            continue; // test-only files
        }
        let text = std::fs::read_to_string(&f).unwrap();
        let face = name == "mod.rs" || name == "lib.rs";
        modules.insert(
            module_path(src, &f),
            Module {
                file: f.strip_prefix(src).unwrap().to_path_buf(),
                face,
                code: non_test_code(&text),
            },
        );
    }

    let mut problems = Vec::new();
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (from, m) in &modules {
        for path in imports(from, m.face, &m.code) {
            // The module the path names: its longest prefix that is a module file.
            let Some(to) = (0..=path.len())
                .rev()
                .map(|n| path[..n].to_vec())
                .find(|p| modules.contains_key(p))
            else {
                continue;
            };
            let target = &modules[&to];
            let shown = format!("crate::{}", path.join("::"));
            if let Some(layers) = layers {
                if target.face && !m.face {
                    problems.push(format!(
                        "{}: `{shown}` goes through the public face {}; import from the file that defines it",
                        m.file.display(),
                        target.file.display()
                    ));
                }
                let (lf, lt) = (layer_of(layers, from), layer_of(layers, &to));
                if lt > lf {
                    problems.push(format!(
                        "{}: `{shown}` reaches up from layer {} ({}) to layer {} ({})",
                        m.file.display(),
                        lf,
                        layers[lf].0,
                        lt,
                        layers[lt].0
                    ));
                }
            }
            if &to != from && !m.face {
                edges.entry(from.clone()).or_default().insert(to);
            }
        }
    }

    // Cycles in the import graph (depth-first search, colouring).
    fn visit(
        n: &Vec<String>,
        edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        state: &mut BTreeMap<Vec<String>, u8>,
        stack: &mut Vec<Vec<String>>,
        cycles: &mut Vec<String>,
    ) {
        state.insert(n.clone(), 1);
        stack.push(n.clone());
        for next in edges.get(n).into_iter().flatten() {
            match state.get(next).copied().unwrap_or(0) {
                0 => visit(next, edges, state, stack, cycles),
                1 => {
                    let at = stack.iter().position(|s| s == next).unwrap();
                    let mut names: Vec<String> = stack[at..].iter().map(|s| s.join("::")).collect();
                    names.push(next.join("::"));
                    cycles.push(format!("import cycle: {}", names.join(" → ")));
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(n.clone(), 2);
    }
    let mut state = BTreeMap::new();
    for n in modules.keys() {
        if state.get(n).copied().unwrap_or(0) == 0 {
            visit(n, &edges, &mut state, &mut Vec::new(), &mut problems);
        }
    }
    (problems, edges.len())
}
