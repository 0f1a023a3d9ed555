//! Which module of a crate uses which (`crate::…` and `super::…` paths in its source), and the
//! import loops among them: a newcomer reads a module after the ones it uses, which a loop
//! makes impossible. The test at the bottom keeps every crate of the workspace free of loops.
//! A module's own `#[cfg(test)] mod tests` is left out (tests may use anything), and so are
//! edges between a module and its ancestors or descendants (that is nesting, not a loop).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module path ("" for the crate root, "sweep::grid") → the modules it uses.
pub type Graph = BTreeMap<String, BTreeSet<String>>;

/// Reads every `.rs` file under `src` (a crate's source folder).
pub fn of_crate(src: &Path) -> std::io::Result<Graph> {
    let mut files = Vec::new();
    collect(src, src, &mut files)?;
    let modules: BTreeSet<String> = files.iter().map(|(m, _)| m.clone()).collect();
    let mut graph = Graph::new();
    for (module, text) in &files {
        let body = text
            .find("#[cfg(test)]\nmod tests")
            .map_or(text.as_str(), |i| &text[..i]);
        let parent = module.rsplit_once("::").map_or("", |(p, _)| p);
        let mut used = BTreeSet::new();
        for (prefix, base) in [("crate::", ""), ("super::", parent)] {
            for path in paths_after(body, prefix) {
                let full = if base.is_empty() {
                    path
                } else {
                    format!("{base}::{path}")
                };
                if let Some(target) = resolve(&modules, &full)
                    && !nested(module, &target)
                {
                    used.insert(target);
                }
            }
        }
        graph.insert(module.clone(), used);
    }
    Ok(graph)
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.path());
    for entry in entries {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(root).unwrap_or(&path).with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if parts.last().is_some_and(|p| p == "mod") {
                parts.pop();
            }
            if parts == ["main"] || parts == ["lib"] {
                parts.clear();
            }
            out.push((parts.join("::"), std::fs::read_to_string(&path)?));
        }
    }
    Ok(())
}

/// Every path written after `prefix`: `crate::a::b` gives "a::b"; a group `crate::{a::x, b}`
/// gives "a::x" and "b" (nested groups give their leading path).
fn paths_after(text: &str, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(prefix) {
        // A longer identifier ending in the prefix (`my_crate::`) is not it.
        let glued = rest[..i]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_');
        rest = &rest[i + prefix.len()..];
        if glued {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0usize;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.push(leading_path(&item));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
            out.push(leading_path(&item));
        } else {
            out.push(leading_path(rest));
        }
    }
    out.retain(|p| !p.is_empty());
    out
}

/// "a::b::{x, y}" → "a::b"; "a::b as c" → "a::b".
fn leading_path(text: &str) -> String {
    let text = text.trim_start();
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(text.len());
    text[..end].trim_end_matches(':').to_owned()
}

/// The longest module that `path` starts with.
fn resolve(modules: &BTreeSet<String>, path: &str) -> Option<String> {
    let segments: Vec<&str> = path.split("::").collect();
    (1..=segments.len())
        .rev()
        .map(|n| segments[..n].join("::"))
        .find(|m| modules.contains(m))
}

fn nested(a: &str, b: &str) -> bool {
    a == b || a.starts_with(&format!("{b}::")) || b.starts_with(&format!("{a}::"))
}

/// The graph's loops: its strongly connected components of more than one module, each sorted.
pub fn loops(graph: &Graph) -> Vec<Vec<String>> {
    // Tarjan's algorithm, iterative over the small graphs of this workspace.
    struct State<'g> {
        graph: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'g>(s: &mut State<'g>, v: &'g str) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.graph.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.graph.contains_key(w) {
                continue;
            }
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.out.push(component);
            }
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &[&str])]) -> Graph {
        edges
            .iter()
            .map(|(m, used)| {
                (
                    (*m).to_owned(),
                    used.iter().map(|u| (*u).to_owned()).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn paths_are_read_from_plain_uses_groups_and_inline_calls() {
        let text = "use crate::a::b::C;\nuse crate::{d::E, f::{g, h}, i as j};\nlet x = crate::k::l();\nuse my_crate::m;\nuse super::{n, o::p};";
        assert_eq!(
            paths_after(text, "crate::"),
            ["a::b::C", "d::E", "f::", "i", "k::l"].map(|s| s.trim_end_matches(':').to_owned())
        );
        assert_eq!(paths_after(text, "super::"), ["n", "o::p"]);
    }

    #[test]
    fn loops_are_found_and_nesting_is_not_one() {
        let g = graph(&[
            ("", &["a"]),
            ("a", &["b"]),
            ("b", &["c"]),
            ("c", &["a"]),
            ("d", &["a"]),
        ]);
        assert_eq!(loops(&g), vec![vec!["a", "b", "c"]]);
        assert!(loops(&graph(&[("a", &["b"]), ("b", &[])])).is_empty());
        assert!(nested("a::b", "a") && nested("a", "a::b") && !nested("ab", "a"));
    }

    #[test]
    fn no_crate_of_the_workspace_has_an_import_loop() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut found = Vec::new();
        for src in [
            "src",
            "crates/engine/src",
            "crates/axis-lab/src",
            "xtask/src",
            "tests/browser/src",
        ] {
            let dir = root.join(src);
            assert!(dir.is_dir(), "{src} is gone: update this list");
            let g = of_crate(&dir).expect("readable sources");
            assert!(
                g.len() > 1 || src == "tests/browser/src",
                "{src}: no modules read"
            );
            for l in loops(&g) {
                found.push(format!("{src}: {}", l.join(" → ")));
            }
        }
        assert!(found.is_empty(), "import loops:\n{}", found.join("\n"));
    }
}
