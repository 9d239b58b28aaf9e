//! Real programs against readelf: static and static-PIE links made by the host's gcc at test
//! time, and Debian's busybox-static and bash-static when installed. Every fact `parse`
//! reports is compared with what `readelf -lW` prints for the same file.

mod common;

use std::path::Path;

use common::{compile, have, invariants::check_image, readelf};
use elf_loader::{parse, ElfError, Kind, Permissions, Segment, PAGE_SIZE};

/// Parses `path` and checks it against readelf; returns the image for further checks.
fn compare_with_readelf(path: &Path) -> elf_loader::Image {
    let bytes = std::fs::read(path).unwrap();
    let image = parse(&bytes).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    check_image(&image, bytes.len() as u64);
    let view = readelf(path);

    let kind = match view.file_type.as_str() {
        "EXEC" => Kind::Executable,
        "DYN" => Kind::PositionIndependent,
        other => panic!("readelf says {other}"),
    };
    assert_eq!(image.kind, kind);
    assert_eq!(image.entry, view.entry);
    assert_eq!(image.phdr_count, view.count);
    assert_eq!(image.phdr_entry_size, 56);

    let mut loads: Vec<Segment> = view
        .headers
        .iter()
        .filter(|header| header.kind == "LOAD" && header.mem_size > 0)
        .map(|header| Segment {
            vaddr: header.vaddr,
            mem_size: header.mem_size,
            file_offset: header.offset,
            file_size: header.file_size,
            permissions: Permissions {
                read: header.flags.contains('R'),
                write: header.flags.contains('W'),
                execute: header.flags.contains('E'),
            },
        })
        .collect();
    loads.sort_by_key(|segment| segment.vaddr);
    assert!(!loads.is_empty());
    assert_eq!(image.segments, loads, "{}", path.display());

    let last = loads.last().unwrap();
    let span_end = (last.vaddr + last.mem_size).next_multiple_of(PAGE_SIZE);
    assert_eq!(
        image.span,
        (loads[0].vaddr / PAGE_SIZE * PAGE_SIZE, span_end)
    );

    let table_size = u64::from(view.count) * 56;
    let expected_phdr = match view.headers.iter().find(|header| header.kind == "PHDR") {
        Some(header) => Some(header.vaddr),
        None => loads
            .iter()
            .find(|segment| {
                segment.file_offset <= view.table_offset
                    && view.table_offset + table_size <= segment.file_offset + segment.file_size
            })
            .map(|segment| segment.vaddr + view.table_offset - segment.file_offset),
    };
    assert!(
        expected_phdr.is_some(),
        "a static glibc program needs AT_PHDR"
    );
    assert_eq!(image.phdr_vaddr, expected_phdr);

    let stack = view
        .headers
        .iter()
        .find(|header| header.kind == "GNU_STACK");
    assert_eq!(
        image.stack_executable,
        stack.is_some_and(|header| header.flags.contains('E'))
    );
    image
}

#[test]
fn gcc_static_executable() {
    let Some(path) = compile("static", &["-static"]) else {
        return;
    };
    if !have("readelf", "gcc_static_executable") {
        return;
    }
    let image = compare_with_readelf(&path);
    assert_eq!(image.kind, Kind::Executable);
    assert!(!image.stack_executable);
    assert!(image.segments.iter().any(|s| s.mem_size > s.file_size));
}

#[test]
fn gcc_static_pie() {
    let Some(path) = compile("static-pie", &["-static-pie", "-fPIE"]) else {
        return;
    };
    if !have("readelf", "gcc_static_pie") {
        return;
    }
    let image = compare_with_readelf(&path);
    assert_eq!(image.kind, Kind::PositionIndependent);
    assert_eq!(image.span.0, 0);
    assert_eq!(image.bias_for(0x5555_5555_4000), 0x5555_5555_4000);
    assert_eq!(image.bias_for(0x5555_5555_4abc), 0x5555_5555_4000);
}

#[test]
fn gcc_static_executable_stack_and_shared_pages() {
    // An executable stack, and text and data packed without page separation.
    let Some(path) = compile(
        "static-execstack",
        &["-static", "-z", "execstack", "-Wl,-z,noseparate-code"],
    ) else {
        return;
    };
    if !have("readelf", "gcc_static_executable_stack_and_shared_pages") {
        return;
    }
    let image = compare_with_readelf(&path);
    assert!(image.stack_executable);
}

#[test]
fn gcc_dynamic_program_names_its_interpreter() {
    let Some(path) = compile("dynamic", &[]) else {
        return;
    };
    if !have("readelf", "gcc_dynamic_program_names_its_interpreter") {
        return;
    }
    let interpreter = readelf(&path)
        .interpreter
        .expect("a dynamic program has PT_INTERP");
    let error = parse(&std::fs::read(&path).unwrap()).unwrap_err();
    assert_eq!(error, ElfError::NeedsInterpreter(interpreter.clone()));
    assert_eq!(
        error.to_string(),
        format!(
            "needs an interpreter ({interpreter}): dynamically linked programs are not supported"
        )
    );
}

#[test]
fn gcc_relocatable_object_is_not_executable() {
    let Some(path) = compile("object.o", &["-c"]) else {
        return;
    };
    assert_eq!(
        parse(&std::fs::read(path).unwrap()).unwrap_err(),
        ElfError::NotExecutable(1)
    );
}

/// Debian's static programs, the ones the kernel is meant to run.
fn debian_static(paths: &[&str], package: &str) {
    let Some(path) = paths.iter().map(Path::new).find(|path| path.exists()) else {
        println!("SKIPPED: {package} is not installed ({})", paths.join(", "));
        return;
    };
    if !have("readelf", package) {
        return;
    }
    let image = compare_with_readelf(path);
    assert!(image.segments.iter().any(|s| s.permissions.execute));
}

#[test]
fn debian_busybox_static() {
    debian_static(&["/bin/busybox", "/usr/bin/busybox"], "busybox-static");
}

#[test]
fn debian_bash_static() {
    debian_static(&["/bin/bash-static", "/usr/bin/bash-static"], "bash-static");
}

#[test]
fn host_shell_scripts_have_shebangs() {
    // ldd is a shell script on Debian; if present its first line must parse.
    let Ok(bytes) = std::fs::read("/usr/bin/ldd") else {
        println!("SKIPPED: /usr/bin/ldd is not installed");
        return;
    };
    let shebang = elf_loader::parse_shebang(&bytes)
        .expect("ldd starts with #!")
        .unwrap();
    assert!(shebang.interpreter.starts_with('/'), "{shebang:?}");
}
