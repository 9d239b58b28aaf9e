//! `#!` lines read as Linux reads them: one interpreter word and at most one argument.

use elf_loader::{parse_shebang, ElfError, Shebang, MAX_SHEBANG_LINE};

fn ok(bytes: &[u8]) -> Shebang {
    parse_shebang(bytes)
        .expect("starts with #!")
        .unwrap_or_else(|error| panic!("{:?}: {error}", String::from_utf8_lossy(bytes)))
}

fn shebang(interpreter: &str, argument: Option<&str>) -> Shebang {
    Shebang {
        interpreter: interpreter.into(),
        argument: argument.map(Into::into),
    }
}

#[test]
fn not_a_script() {
    assert_eq!(parse_shebang(b""), None);
    assert_eq!(parse_shebang(b"#"), None);
    assert_eq!(parse_shebang(b" #!/bin/sh"), None);
    assert_eq!(parse_shebang(b"\x7fELF\x02\x01\x01"), None);
}

#[test]
fn interpreter_and_argument() {
    assert_eq!(ok(b"#!/bin/sh\necho hi\n"), shebang("/bin/sh", None));
    assert_eq!(ok(b"#!/bin/sh"), shebang("/bin/sh", None));
    assert_eq!(ok(b"#! /bin/bash\n"), shebang("/bin/bash", None));
    assert_eq!(ok(b"#!\t/bin/sh \t \n"), shebang("/bin/sh", None));
    assert_eq!(ok(b"#!/bin/sh -e\n"), shebang("/bin/sh", Some("-e")));
    assert_eq!(
        ok(b"#!/usr/bin/awk  -f  \nBEGIN{}"),
        shebang("/usr/bin/awk", Some("-f"))
    );
    // The rest of the line is one argument, inner blanks kept.
    assert_eq!(
        ok(b"#!/usr/bin/env -S a  b\tc \n"),
        shebang("/usr/bin/env", Some("-S a  b\tc"))
    );
    // A carriage return is text, as on Linux.
    assert_eq!(ok(b"#!/bin/sh\r\n"), shebang("/bin/sh\r", None));
    assert_eq!(ok(b"#!/bin/sh -x\r\n"), shebang("/bin/sh", Some("-x\r")));
    // Only the first line counts.
    assert_eq!(ok(b"#!/bin/sh\n#!/bin/bash -x\n"), shebang("/bin/sh", None));
}

#[test]
fn refused_lines() {
    let error = |bytes: &[u8]| parse_shebang(bytes).expect("starts with #!").unwrap_err();
    assert_eq!(error(b"#!\n"), ElfError::ShebangWithoutInterpreter);
    assert_eq!(error(b"#!"), ElfError::ShebangWithoutInterpreter);
    assert_eq!(error(b"#!   \t \nx"), ElfError::ShebangWithoutInterpreter);
    assert_eq!(error(b"#!/bin/s\0h\n"), ElfError::ShebangNul);
    assert_eq!(error(b"#!/bin/sh \xff\n"), ElfError::ShebangNotUtf8);
    assert_eq!(error(b"#!/bin/\xc3\n"), ElfError::ShebangNotUtf8);
    // A NUL after the first line does not matter.
    assert!(parse_shebang(b"#!/bin/sh\n\0\0").unwrap().is_ok());
}

#[test]
fn line_length_limit() {
    // The longest line: 255 bytes and the newline.
    let mut line = b"#!/bin/sh ".to_vec();
    line.resize(MAX_SHEBANG_LINE - 1, b'a');
    let mut script = line.clone();
    script.extend_from_slice(b"\nmore text after the line");
    let parsed = ok(&script);
    assert_eq!(parsed.argument.unwrap().len(), MAX_SHEBANG_LINE - 1 - 10);
    // The same line with no newline, ending the file.
    assert!(parse_shebang(&line).unwrap().is_ok());

    // One byte more, with or without a newline after it, or going on.
    line.push(b'a');
    for tail in [&b""[..], b"\n", b"aaaa\n"] {
        let mut script = line.clone();
        script.extend_from_slice(tail);
        assert_eq!(
            parse_shebang(&script).unwrap().unwrap_err(),
            ElfError::ShebangTooLong,
            "{} bytes",
            script.len()
        );
    }
}
