//! Archive path normalisation: turns a member name into components below the initrd root.
//!
//! Rules (also in docs/initrd.md): empty and `.` components are dropped (so `./a//b/` is
//! `a/b`), a leading `/` is removed and reported (like GNU tar does when extracting), and any
//! `..` component rejects the path, so no entry can land outside the root.

use alloc::string::String;

use crate::error::DiagnosticKind;

/// A normalised archive path: `a/b/c`, or the empty string for the root.
pub(crate) struct Normalised {
    pub(crate) path: String,
    pub(crate) was_absolute: bool,
}

pub(crate) fn normalise(raw: &[u8]) -> Result<Normalised, DiagnosticKind> {
    let text = core::str::from_utf8(raw).map_err(|_| DiagnosticKind::NonUtf8Name)?;
    let mut path = String::with_capacity(text.len());
    for component in components(text) {
        if component == ".." {
            return Err(DiagnosticKind::UnsafePath);
        }
        if !path.is_empty() {
            path.push('/');
        }
        path.push_str(component);
    }
    Ok(Normalised {
        path,
        was_absolute: text.starts_with('/'),
    })
}

/// The meaningful components of a path: no empty and no `.` components.
pub(crate) fn components(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter(|component| !component.is_empty() && *component != ".")
}
