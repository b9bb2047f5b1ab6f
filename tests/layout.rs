//! The crate's modules import each other without circles: every `crate::…` path in a
//! module's non-test code is an edge, at the level of modules and of top-level modules
//! (folders), and neither graph has a cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module path (`files::store`) → file, for every `.rs` file under `src/` but `lib.rs`.
fn modules() -> BTreeMap<String, PathBuf> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(root).unwrap().with_extension("");
                let mut parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                if parts.last().is_some_and(|p| p == "mod") {
                    parts.pop();
                }
                if parts != ["lib"] {
                    out.insert(parts.join("::"), path);
                }
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    walk(&root, &root, &mut out);
    out
}

/// The longest module that `path` (`a::b::C`) starts with.
fn resolve<'a>(path: &str, names: &'a BTreeMap<String, PathBuf>) -> Option<&'a String> {
    let segments: Vec<&str> = path.split("::").collect();
    (1..=segments.len()).rev().find_map(|k| {
        names
            .get_key_value(&segments[..k].join("::"))
            .map(|(n, _)| n)
    })
}

fn edges(names: &BTreeMap<String, PathBuf>) -> BTreeMap<String, BTreeSet<String>> {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, file) in names {
        let text = std::fs::read_to_string(file).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let mut targets = Vec::new();
        for (at, _) in code.match_indices("crate::") {
            let rest = &code[at + "crate::".len()..];
            if let Some(list) = rest.strip_prefix('{') {
                // `use crate::{a, b::c}`
                let list = &list[..list.find('}').unwrap_or(0)];
                targets.extend(list.split(',').map(|s| s.trim().to_owned()));
            } else {
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                    .unwrap_or(rest.len());
                targets.push(rest[..end].trim_end_matches(':').to_owned());
            }
        }
        for target in targets {
            if let Some(target) = resolve(&target, names) {
                let nested = module.starts_with(&format!("{target}::"))
                    || target.starts_with(&format!("{module}::"));
                if target != module && !nested {
                    edges
                        .entry(module.clone())
                        .or_default()
                        .insert(target.clone());
                }
            }
        }
    }
    edges
}

/// A cycle in the graph, if there is one (depth-first search).
fn cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_owned(), 1);
        stack.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            match state.get(next.as_str()) {
                Some(1) => {
                    let from = stack.iter().position(|n| n == next).unwrap();
                    let mut found = stack[from..].to_vec();
                    found.push(next.clone());
                    return Some(found);
                }
                Some(_) => {}
                None => {
                    if let Some(found) = visit(next, edges, state, stack) {
                        return Some(found);
                    }
                }
            }
        }
        stack.pop();
        state.insert(node.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in edges.keys() {
        if !state.contains_key(node.as_str()) {
            if let Some(found) = visit(node, edges, &mut state, &mut Vec::new()) {
                return Some(found);
            }
        }
    }
    None
}

#[test]
fn no_import_circles() {
    let names = modules();
    assert!(names.contains_key("call::run") && names.contains_key("files::store"));
    let edges = edges(&names);
    assert!(edges["router"].contains("routes"), "{edges:?}");
    assert!(edges["routes::call"].contains("call"), "{edges:?}");
    if let Some(found) = cycle(&edges) {
        panic!(
            "modules import each other in a circle: {}",
            found.join(" -> ")
        );
    }
    let mut top: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, targets) in &edges {
        let from_top = from.split("::").next().unwrap().to_owned();
        for target in targets {
            let target_top = target.split("::").next().unwrap().to_owned();
            if target_top != from_top {
                top.entry(from_top.clone()).or_default().insert(target_top);
            }
        }
    }
    if let Some(found) = cycle(&top) {
        panic!(
            "folders import each other in a circle: {}",
            found.join(" -> ")
        );
    }
}

#[test]
fn no_route_imports_another_route() {
    let names = modules();
    let edges = edges(&names);
    for (from, targets) in &edges {
        if from.starts_with("routes::") {
            let routes: Vec<_> = targets.iter().filter(|t| t.starts_with("routes")).collect();
            assert!(routes.is_empty(), "{from} imports {routes:?}");
        }
    }
}

/// The check finds a planted circle.
#[test]
fn a_circle_is_found() {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    edges.entry("a".into()).or_default().insert("b".into());
    edges.entry("b".into()).or_default().insert("c".into());
    assert!(cycle(&edges).is_none());
    edges.entry("c".into()).or_default().insert("a".into());
    assert_eq!(cycle(&edges).unwrap(), ["a", "b", "c", "a"]);
}
