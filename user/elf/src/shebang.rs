//! `#!` lines: which interpreter runs a script, with Linux's reading of the line.
//!
//! The interpreter is the first word after `#!`; everything after it on the line, with the
//! spaces and tabs around it removed, is one optional argument, never split further (so
//! `#!/usr/bin/env -S a b` passes `-S a b` as one argument). Only spaces and tabs separate;
//! a carriage return is part of the text, as on Linux.

use alloc::string::String;

use crate::{ElfError, MAX_SHEBANG_LINE};

/// The interpreter a `#!` line names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shebang {
    /// The interpreter's path, as written (not resolved).
    pub interpreter: String,
    /// The rest of the line, if any: one argument passed before the script's path.
    pub argument: Option<String>,
}

/// `None` unless `bytes` start with `#!`; then the interpreter and optional argument, or why
/// the line is refused (longer than [`MAX_SHEBANG_LINE`] bytes with its newline, no
/// interpreter, a NUL byte, or not UTF-8). A file without a newline is one line.
pub fn parse_shebang(bytes: &[u8]) -> Option<Result<Shebang, ElfError>> {
    let rest = bytes.strip_prefix(b"#!")?;
    Some(read_line(bytes).and_then(|()| split(rest)))
}

/// Checks the length of the first line.
fn read_line(bytes: &[u8]) -> Result<(), ElfError> {
    let window = &bytes[..bytes.len().min(MAX_SHEBANG_LINE)];
    if window.contains(&b'\n') || bytes.len() < MAX_SHEBANG_LINE {
        Ok(())
    } else {
        Err(ElfError::ShebangTooLong)
    }
}

/// Splits the line after `#!` into interpreter and argument.
fn split(after_marker: &[u8]) -> Result<Shebang, ElfError> {
    let line = match after_marker.iter().position(|&byte| byte == b'\n') {
        Some(end) => &after_marker[..end],
        None => after_marker,
    };
    if line.contains(&0) {
        return Err(ElfError::ShebangNul);
    }
    let line = trim_blanks(line);
    let interpreter_end = line
        .iter()
        .position(|&byte| is_blank(byte))
        .unwrap_or(line.len());
    let (interpreter, argument) = line.split_at(interpreter_end);
    if interpreter.is_empty() {
        return Err(ElfError::ShebangWithoutInterpreter);
    }
    let argument = trim_blanks(argument);
    let text = |bytes: &[u8]| {
        core::str::from_utf8(bytes)
            .map(String::from)
            .map_err(|_| ElfError::ShebangNotUtf8)
    };
    Ok(Shebang {
        interpreter: text(interpreter)?,
        argument: if argument.is_empty() {
            None
        } else {
            Some(text(argument)?)
        },
    })
}

fn is_blank(byte: u8) -> bool {
    byte == b' ' || byte == b'\t'
}

fn trim_blanks(mut bytes: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = bytes {
        if !is_blank(*first) {
            break;
        }
        bytes = rest;
    }
    while let [rest @ .., last] = bytes {
        if !is_blank(*last) {
            break;
        }
        bytes = rest;
    }
    bytes
}
