//! VFS path rules: absolute, `/`-separated, normalised lexically before any lookup.
//!
//! A path without a leading `/` is taken from the root (the shell has no working directory).
//! Empty components and `.` are dropped; `..` removes the previous component (at the root it
//! stays at the root). `..` is therefore lexical: `/mnt/link/..` is `/mnt` whatever `link` is.

use alloc::string::String;
use alloc::vec::Vec;

use super::error::{Result, VfsError};

/// Longest path accepted (bytes, after normalisation).
pub const PATH_MAX: usize = 4096;

/// The normalised absolute form of `path` (`/` for the root, never a trailing `/`).
pub fn normalise(path: &str) -> Result<String> {
    if path.contains('\0') {
        return Err(VfsError::InvalidArgument("path contains a NUL byte"));
    }
    let mut parts: Vec<&str> = Vec::new();
    for component in path.split('/') {
        match component {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            name => parts.push(name),
        }
    }
    let mut out = String::with_capacity(path.len() + 1);
    for part in &parts {
        out.push('/');
        out.push_str(part);
    }
    if out.is_empty() {
        out.push('/');
    }
    if out.len() > PATH_MAX {
        return Err(VfsError::InvalidArgument("path longer than 4096 bytes"));
    }
    Ok(out)
}

/// If normalised `path` is `prefix` or lies below it, the rest relative to `prefix` (no leading
/// `/`; empty for `prefix` itself).
pub fn strip<'p>(path: &'p str, prefix: &str) -> Option<&'p str> {
    if prefix == "/" {
        return Some(path.trim_start_matches('/'));
    }
    let rest = path.strip_prefix(prefix)?;
    if rest.is_empty() {
        Some(rest)
    } else {
        rest.strip_prefix('/')
    }
}

/// Splits a normalised path into its parent and last name (`None` for the root).
pub fn split(path: &str) -> Option<(&str, &str)> {
    let slash = path.rfind('/')?;
    let name = &path[slash + 1..];
    if name.is_empty() {
        return None;
    }
    Some((if slash == 0 { "/" } else { &path[..slash] }, name))
}

/// `directory` + `/` + `name`, for normalised `directory`.
pub fn join(directory: &str, name: &str) -> String {
    let mut out = String::from(directory);
    if !out.ends_with('/') {
        out.push('/');
    }
    out.push_str(name);
    out
}
