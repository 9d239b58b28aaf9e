//! Every section sign (U+00A7) in the repository is a reference into docs/contract.md, and it
//! resolves.
//!
//! The test walks the repository's text files and checks each reference written as the sign
//! followed by `N` or `N.M`:
//! * the section exists: docs/contract.md has a `## N.` or `### N.M` heading for it;
//! * outside docs/contract.md, the line says where it points: "contract" appears on the line
//!   before the sign (contract 2.4, docs/contract.md 2.4, contract 1.11-1.13, each number with
//!   the sign in front).
//!
//! Other specifications are cited as "section N" (virtio 1.x section 5.2), never with the sign.
//! The sign followed by a capital letter (N, X.Y) is a placeholder in the text that explains the
//! convention and is not checked. This file spells the sign as an escape so that it passes its
//! own check.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// The section sign.
const SIGN: char = '\u{a7}';

const CONTRACT: &str = "docs/contract.md";

/// Directories that are not the project's own text: build output, VCS data, the (never
/// initialised) upstream submodule.
const SKIPPED_DIRECTORIES: &[&str] = &["target", "netbsd-src", ".git"];

/// Files larger than this are images or archives, not text.
const MAX_TEXT_FILE: u64 = 1 << 20;

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Section numbers of docs/contract.md ("0", "0.1", ...) from its `##`/`###` headings.
fn contract_sections(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|line| line.starts_with("## ") || line.starts_with("### "))
        .filter_map(|line| {
            let number = line.trim_start_matches('#').split_whitespace().next()?;
            let number = number.trim_end_matches('.');
            number
                .starts_with(|c: char| c.is_ascii_digit())
                .then(|| number.to_string())
        })
        .collect()
}

/// The section number at the start of `text`: digits and dots, without a final dot.
fn number_after(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    text[..end].trim_end_matches('.')
}

/// Checks one file's references; returns one message per problem.
fn check_file(relative: &str, text: &str, sections: &BTreeSet<String>) -> Vec<String> {
    let mut problems = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let place = format!("{relative}:{}", index + 1);
        for (position, _) in line.match_indices(SIGN) {
            let rest = &line[position + SIGN.len_utf8()..];
            if rest.starts_with(|c: char| c.is_ascii_uppercase()) {
                continue;
            }
            let number = number_after(rest);
            if number.is_empty() {
                problems.push(format!("{place}: {SIGN} without a section number: {line}"));
                continue;
            }
            if !sections.contains(number) {
                problems.push(format!(
                    "{place}: {SIGN}{number} is not a heading of {CONTRACT}"
                ));
            }
            // A range may name its end without a second sign: 10.2-10.4.
            if let Some(end) = rest[number.len()..].strip_prefix('-') {
                let end = number_after(end);
                if !end.is_empty() && !sections.contains(end) {
                    problems.push(format!(
                        "{place}: {SIGN}{end} is not a heading of {CONTRACT}"
                    ));
                }
            }
            if relative != CONTRACT && !line[..position].to_lowercase().contains("contract") {
                problems.push(format!(
                    "{place}: say where {SIGN}{number} points (\"contract {SIGN}{number}\", \
                     \"contract\" meaning {CONTRACT}); other specifications are cited as \
                     \"section {number}\": {line}"
                ));
            }
        }
    }
    problems
}

/// All text files under `directory`, as (path relative to `root` with `/` separators, text).
fn text_files(root: &Path, directory: &Path, found: &mut Vec<(String, String)>) {
    let entries = fs::read_dir(directory)
        .unwrap_or_else(|error| panic!("reading {}: {error}", directory.display()));
    for entry in entries {
        let entry = entry.expect("directory entry");
        let path = entry.path();
        let kind = entry.file_type().expect("file type");
        if kind.is_dir() {
            let name = entry.file_name();
            if !SKIPPED_DIRECTORIES.iter().any(|skipped| name == *skipped) {
                text_files(root, &path, found);
            }
            continue;
        }
        if !kind.is_file() || entry.metadata().map_or(true, |m| m.len() > MAX_TEXT_FILE) {
            continue;
        }
        let Ok(text) = fs::read_to_string(&path) else {
            continue; // not UTF-8: not a text file
        };
        let relative = path.strip_prefix(root).expect("under the root");
        let relative = relative
            .components()
            .map(|part| part.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        found.push((relative, text));
    }
}

#[test]
fn contract_keeps_its_section_numbers() {
    let text = fs::read_to_string(repository_root().join(CONTRACT)).expect("docs/contract.md");
    let sections = contract_sections(&text);
    for expected in [
        "0", "0.2", "1.18", "2.4", "2.5", "5.3", "9.7", "10.4", "12.5", "13",
    ] {
        assert!(
            sections.contains(expected),
            "{CONTRACT} lost its section {expected}"
        );
    }
}

#[test]
fn every_section_sign_names_a_contract_heading() {
    let root = repository_root();
    let contract = fs::read_to_string(root.join(CONTRACT)).expect("docs/contract.md");
    let sections = contract_sections(&contract);

    let mut files = Vec::new();
    text_files(&root, &root, &mut files);
    assert!(
        files
            .iter()
            .any(|(path, _)| path == "rumpuser/include/rumpuser.h"),
        "the walk did not reach the repository's files"
    );

    let mut references = 0;
    let mut problems = Vec::new();
    for (relative, text) in &files {
        references += text.matches(SIGN).count();
        problems.extend(check_file(relative, text, &sections));
    }
    assert!(references > 0, "no {SIGN} reference found at all");
    assert!(
        problems.is_empty(),
        "{} bad {SIGN} reference(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn the_checker_rejects_what_it_should() {
    let sections = contract_sections("## 2. Scheduling\n### 2.4 Unscheduling\n");
    let check = |path: &str, line: &str| check_file(path, &line.replace('@', "\u{a7}"), &sections);
    assert!(check("a.rs", "// contract @2.4, @2").is_empty());
    assert!(check("a.rs", "// docs/contract.md @2.4").is_empty());
    assert!(check("a.rs", "// \"contract @N\" means section N").is_empty());
    // A section that does not exist, an unanchored one, an external specification, a bare sign.
    assert_eq!(check("a.rs", "// contract @2.5").len(), 1);
    assert_eq!(check("a.rs", "// see @2.4").len(), 1);
    assert_eq!(check("a.rs", "// virtio 1.x @5.2").len(), 2);
    assert_eq!(check("a.md", "(@) refers to it").len(), 1);
    // A range checks both ends.
    assert_eq!(check("a.rs", "// contract @2.4-2.9").len(), 1);
    // Inside the contract itself, references need no "contract".
    assert!(check(CONTRACT, "see @2.4").is_empty());
}
