//! The layering rules of docs/architecture.md, checked on the source: every top-level module of
//! `kernel/src` says in its first doc comment what it may import, imports nothing else, the
//! modules import each other without a circle, and `unsafe` appears only where the document
//! allows it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn source_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file below `directory`.
fn rust_files(directory: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![directory.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).expect("readable source directory") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The top-level modules: name → (file holding its doc, all its files).
fn modules() -> BTreeMap<String, (PathBuf, Vec<PathBuf>)> {
    let root = source_root();
    let mut modules = BTreeMap::new();
    for entry in std::fs::read_dir(&root).expect("kernel/src") {
        let path = entry.expect("entry").path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            modules.insert(name, (path.join("mod.rs"), rust_files(&path)));
        } else if name != "lib" && name != "main" {
            modules.insert(name, (path.clone(), vec![path]));
        }
    }
    modules
}

/// Source text without `//` comments (doc comments included), so prose does not count.
fn code_of(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Modules a file uses: `crate::NAME` paths, and the macros that expand into other modules.
fn imports_of(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let name: String = code[at + 7..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        found.insert(name);
    }
    for (mac, module) in [
        ("println!", "console"),
        ("print!", "console"),
        ("kernel_test!", "testing"),
        ("check!", "testing"),
    ] {
        if code.contains(mac) {
            found.insert(module.to_string());
        }
    }
    found
}

/// What a module's doc says it may import (`None` = the line is missing).
fn declared_imports(doc_file: &Path, all: &BTreeSet<String>) -> Option<BTreeSet<String>> {
    let text = std::fs::read_to_string(doc_file).ok()?;
    let doc: String = text
        .lines()
        .take_while(|l| l.starts_with("//!"))
        .map(|l| l.trim_start_matches("//!").trim())
        .collect::<Vec<_>>()
        .join(" ");
    let start = doc.find("May import:")? + "May import:".len();
    let sentence = &doc[start..];
    let sentence = &sentence[..sentence.find(". ").unwrap_or(sentence.len())];
    let named: BTreeSet<String> = sentence
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    let sentence = sentence.trim();
    Some(if sentence.starts_with("everything except") {
        all.difference(&named).cloned().collect()
    } else if sentence.starts_with("everything") {
        all.clone()
    } else {
        named
    })
}

#[test]
fn every_module_says_what_it_may_import_and_keeps_to_it() {
    let modules = modules();
    let all: BTreeSet<String> = modules.keys().cloned().collect();
    let mut problems = Vec::new();
    for (name, (doc_file, files)) in &modules {
        let Some(allowed) = declared_imports(doc_file, &all) else {
            problems.push(format!(
                "{}: the first doc comment has no 'May import:' line",
                doc_file.display()
            ));
            continue;
        };
        for file in files {
            let code = code_of(&std::fs::read_to_string(file).unwrap());
            for used in imports_of(&code) {
                if used != *name && all.contains(&used) && !allowed.contains(&used) {
                    problems.push(format!(
                        "{} uses `{used}`, which module `{name}` may not import",
                        file.display()
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn modules_import_each_other_without_a_circle() {
    let modules = modules();
    let all: BTreeSet<String> = modules.keys().cloned().collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, (_, files)) in &modules {
        let targets = edges.entry(name.clone()).or_default();
        for file in files {
            let code = code_of(&std::fs::read_to_string(file).unwrap());
            targets.extend(
                imports_of(&code)
                    .into_iter()
                    .filter(|used| used != name && all.contains(used)),
            );
        }
    }
    // Depth-first search; a grey node reached again closes a circle.
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        colour: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        colour.insert(node.to_string(), 1);
        path.push(node.to_string());
        for next in &edges[node] {
            match colour.get(next).copied().unwrap_or(0) {
                1 => {
                    let start = path.iter().position(|n| n == next).unwrap();
                    let mut circle = path[start..].to_vec();
                    circle.push(next.clone());
                    return Some(circle);
                }
                0 => {
                    if let Some(circle) = visit(next, edges, colour, path) {
                        return Some(circle);
                    }
                }
                _ => {}
            }
        }
        path.pop();
        colour.insert(node.to_string(), 2);
        None
    }
    let mut colour = BTreeMap::new();
    for node in edges.keys() {
        if colour.get(node).copied().unwrap_or(0) == 0 {
            if let Some(circle) = visit(node, &edges, &mut colour, &mut Vec::new()) {
                panic!("import circle: {}", circle.join(" -> "));
            }
        }
    }
}

/// The places docs/architecture.md allows `unsafe` in (its "Where unsafe may live" list).
fn allowed_unsafe_places() -> Vec<String> {
    let document = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/architecture.md");
    let text = std::fs::read_to_string(&document).expect("docs/architecture.md");
    let section = text
        .split("\n## ")
        .find(|s| s.starts_with("Where unsafe may live"))
        .expect("docs/architecture.md has a 'Where unsafe may live' section");
    section
        .lines()
        .filter_map(|l| l.strip_prefix("- `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_string)
        .collect()
}

#[test]
fn unsafe_lives_only_where_the_architecture_allows_it() {
    let allowed = allowed_unsafe_places();
    assert!(!allowed.is_empty());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut offenders = Vec::new();
    for file in rust_files(&source_root()) {
        let code = code_of(&std::fs::read_to_string(&file).unwrap());
        let uses_unsafe = code
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .any(|word| word == "unsafe");
        let relative = file
            .strip_prefix(workspace)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if uses_unsafe
            && !allowed
                .iter()
                .any(|place| relative.starts_with(place.as_str()))
        {
            offenders.push(relative);
        }
    }
    assert!(
        offenders.is_empty(),
        "unsafe outside the places docs/architecture.md allows:\n{}",
        offenders.join("\n")
    );
}
