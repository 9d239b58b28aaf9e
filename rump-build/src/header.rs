//! The host's exported hypercalls, read from our own `rumpuser/include/rumpuser.h`.
//!
//! The header is the single source of truth for what the host exports (docs/contract.md §1, §9).
//! This module finds every function declared at file scope whose name begins with `rumpuser_` or
//! `rumpcomp_`, without a C parser: comments and preprocessor lines are dropped, the rest is cut
//! into top-level declarations at `;`, and a declaration names a function when the identifier is
//! directly followed by `(` (so the `(*name)(...)` of a function pointer is not one). `typedef`s and the
//! members of `struct`/`enum` bodies are ignored. It must not guess at anything else in C.

use std::collections::BTreeSet;
use std::path::Path;

use crate::error::Error;

/// The header as this crate was compiled against it (the workspace's `rumpuser` crate owns it).
const BUILTIN_HEADER: &str = include_str!("../../rumpuser/include/rumpuser.h");

/// The set of hypercall names the host exports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostExports {
    names: BTreeSet<String>,
}

impl HostExports {
    /// The exports declared by the workspace's `rumpuser/include/rumpuser.h`, embedded at
    /// compile time (cargo rebuilds this crate when the header changes).
    pub fn builtin() -> HostExports {
        HostExports::from_header_text(BUILTIN_HEADER)
    }

    /// Reads a header file; fails if it declares no `rumpuser_*` function at all.
    pub fn from_header_file(path: &Path) -> Result<HostExports, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let exports = HostExports::from_header_text(&text);
        if !exports
            .names
            .iter()
            .any(|name| name.starts_with("rumpuser_"))
        {
            return Err(Error::EmptyHeader(path.to_path_buf()));
        }
        Ok(exports)
    }

    /// Scans header text for `rumpuser_*` / `rumpcomp_*` function declarations.
    pub fn from_header_text(text: &str) -> HostExports {
        let code = strip_comments_and_directives(text);
        let names = top_level_declarations(&code)
            .iter()
            .filter(|declaration| !starts_with_word(declaration, "typedef"))
            .filter_map(|declaration| declared_function(declaration))
            .collect();
        HostExports { names }
    }

    /// A set given by name (for tests and for hosts without a header).
    pub fn from_names<I: IntoIterator<Item = S>, S: Into<String>>(names: I) -> HostExports {
        HostExports {
            names: names.into_iter().map(Into::into).collect(),
        }
    }

    /// Whether the host exports `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.names.contains(name)
    }

    /// All exported names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }

    /// How many functions the host exports.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether no function was found.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// Removes `/* */` and `//` comments, string-literal contents and preprocessor lines (with
/// their `\` continuations), keeping line structure irrelevant: the result is one code stream.
fn strip_comments_and_directives(text: &str) -> String {
    let mut without_comments = String::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1)) {
            (b'/', Some(b'*')) => {
                let end = text[i + 2..]
                    .find("*/")
                    .map_or(bytes.len(), |e| i + 2 + e + 2);
                without_comments.push(' ');
                i = end;
            }
            (b'/', Some(b'/')) => {
                i = text[i..].find('\n').map_or(bytes.len(), |e| i + e);
            }
            (b'"', _) => {
                // Keep the quotes (so `extern "C"` stays recognisable), drop the contents.
                let mut j = i + 1;
                while j < bytes.len() && bytes[j] != b'"' {
                    j += if bytes[j] == b'\\' { 2 } else { 1 };
                }
                without_comments.push_str("\"\"");
                i = (j + 1).min(bytes.len());
            }
            _ => {
                let ch = text[i..]
                    .chars()
                    .next()
                    .expect("index is on a char boundary");
                without_comments.push(ch);
                i += ch.len_utf8();
            }
        }
    }
    let mut code = String::with_capacity(without_comments.len());
    let mut in_directive = false;
    for line in without_comments.lines() {
        let directive = in_directive || line.trim_start().starts_with('#');
        in_directive = directive && line.trim_end().ends_with('\\');
        if !directive {
            code.push_str(line);
            code.push('\n');
        }
    }
    code
}

/// Cuts code into declarations ending in `;` at file scope. Bodies of `struct`/`enum`/`union`
/// are skipped; the braces of an `extern "C" { ... }` block are transparent.
fn top_level_declarations(code: &str) -> Vec<String> {
    let mut declarations = Vec::new();
    let mut current = String::new();
    // One entry per open brace: true when it is a transparent `extern "C"` brace.
    let mut braces: Vec<bool> = Vec::new();
    for ch in code.chars() {
        let in_body = braces.iter().any(|transparent| !transparent);
        match ch {
            '{' => {
                let transparent = !in_body && current.trim_end().ends_with("extern \"\"");
                if transparent {
                    current.clear();
                }
                braces.push(transparent);
            }
            '}' => {
                braces.pop();
            }
            ';' if !in_body => {
                declarations.push(std::mem::take(&mut current));
            }
            _ if !in_body => current.push(ch),
            _ => {}
        }
    }
    declarations
}

fn starts_with_word(text: &str, word: &str) -> bool {
    text.split(|c: char| !is_identifier_char(c))
        .find(|token| !token.is_empty())
        == Some(word)
}

fn is_identifier_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The hypercall a declaration declares, if any: the first `rumpuser_`/`rumpcomp_` identifier
/// directly followed by `(` (in `(*name)(...)` a `)` follows the name).
fn declared_function(declaration: &str) -> Option<String> {
    let chars: Vec<char> = declaration.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if !is_identifier_char(chars[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && is_identifier_char(chars[i]) {
            i += 1;
        }
        let name: String = chars[start..i].iter().collect();
        if !(name.starts_with("rumpuser_") || name.starts_with("rumpcomp_")) {
            continue;
        }
        // `name(` declares a function; a function pointer reads `(*name)(`.
        let after = chars[i..].iter().find(|c| !c.is_whitespace());
        if after == Some(&'(') {
            return Some(name);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scanner_finds_functions_and_skips_pointers_typedefs_and_bodies() {
        let text = r#"
            #define RUMPUSER_X(a) rumpuser_not_a_function(a)
            #ifdef __cplusplus
            extern "C" {
            #endif
            /* int rumpuser_commented(void); */
            struct rumpuser_hyperup { void (*hyp_schedule)(void); int (*rumpuser_field)(int); };
            typedef void (*rumpuser_thread_fn)(void *);
            int rumpuser_init(int version,
                              const struct rumpuser_hyperup *hyp);
            struct lwp *rumpuser_curlwp(void);
            void *rumpcomp_pci_map_ptr;
            void rumpuser_exit(int value) __attribute__((__noreturn__));
            void *rumpcomp_pci_map(unsigned long addr, unsigned long len);
            extern "C" { int rumpuser_inside_block(void); }
            // int rumpuser_line_comment(void);
        "#;
        let exports = HostExports::from_header_text(text);
        let names: Vec<&str> = exports.names().collect();
        assert_eq!(
            names,
            [
                "rumpcomp_pci_map",
                "rumpuser_curlwp",
                "rumpuser_exit",
                "rumpuser_init",
                "rumpuser_inside_block"
            ]
        );
    }

    #[test]
    fn builtin_header_declares_the_full_interface() {
        let exports = HostExports::builtin();
        for name in [
            "rumpuser_init",
            "rumpuser_malloc",
            "rumpuser_syncfd",
            "rumpuser_dl_bootstrap",
            "rumpuser_sp_fini",
            "rumpcomp_pci_iospace_init",
            "rumpcomp_pci_dmafree",
        ] {
            assert!(
                exports.contains(name),
                "{name} missing from the builtin header"
            );
        }
        assert!(!exports.contains("rumpuser_thread_fn"));
        // 60 rumpuser_* functions (contract §1) and 10 rumpcomp_pci_* (contract §9).
        assert_eq!(
            exports
                .names()
                .filter(|n| n.starts_with("rumpuser_"))
                .count(),
            60
        );
        assert_eq!(
            exports
                .names()
                .filter(|n| n.starts_with("rumpcomp_pci_"))
                .count(),
            10
        );
    }
}
