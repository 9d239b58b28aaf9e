//! `execve`: loads a static ELF executable (or a `#!` script's interpreter) into a fresh
//! address space with the System V initial stack. Everything that can fail happens in
//! [`prepare`], before the old image is touched; [`commit`] cannot fail.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use elf_loader::stack;

use super::memory::{AreaKind, Memory, Protection, STACK_SIZE, STACK_TOP};
use super::{Errno, Process};
use crate::arch::traps::TrapFrame;
use crate::vfs;

/// Where a position-independent executable is placed (Linux's choice for PIE without ASLR).
const PIE_BASE: u64 = 0x5555_5555_4000;
/// Largest executable accepted (the whole file is read into memory to load it).
const MAX_EXECUTABLE: u64 = 256 << 20;
/// `#!` interpreters followed before giving up (Linux allows a few levels).
const MAX_INTERPRETER_DEPTH: usize = 4;

/// A loaded image, ready to replace the caller's.
pub struct Prepared {
    memory: Memory,
    entry: u64,
    stack_pointer: u64,
    command_line: Vec<u8>,
    executable: String,
}

/// Resolves `path` against `cwd` into an absolute, normalised path.
pub fn absolute(path: &str, cwd: &str) -> Result<String, Errno> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    let joined = if path.starts_with('/') {
        String::from(path)
    } else {
        vfs::path::join(cwd, path)
    };
    vfs::path::normalise(&joined).map_err(|e| Errno::from_vfs(&e))
}

fn read_executable(path: &str) -> Result<Vec<u8>, (Errno, String)> {
    let stat = vfs::ops::stat(path).map_err(|e| (Errno::from_vfs(&e), format!("{path}: {e}")))?;
    match stat.kind {
        vfs::ops::Kind::File => {}
        vfs::ops::Kind::Directory => return Err((Errno::EACCES, format!("{path} is a directory"))),
        _ => return Err((Errno::EACCES, format!("{path} is not a regular file"))),
    }
    if stat.mode & 0o111 == 0 {
        return Err((Errno::EACCES, format!("{path} is not executable")));
    }
    if stat.size > MAX_EXECUTABLE {
        return Err((
            Errno::ENOMEM,
            format!("{path} is larger than {MAX_EXECUTABLE} bytes"),
        ));
    }
    let mut bytes = alloc::vec![0u8; stat.size as usize];
    let read = vfs::ops::read_at(path, 0, &mut bytes)
        .map_err(|e| (Errno::from_vfs(&e), format!("{path}: {e}")))?;
    bytes.truncate(read);
    Ok(bytes)
}

fn random_bytes() -> [u8; 16] {
    let mut out = [0u8; 16];
    crate::arch::cpu::random_fill(&mut out);
    out
}

/// Loads `path` with `argv` and `envp`, resolving relative paths against `cwd`.
pub fn prepare(
    path: &str,
    mut argv: Vec<Vec<u8>>,
    envp: Vec<Vec<u8>>,
    cwd: &str,
) -> Result<Prepared, (Errno, String)> {
    let mut path = absolute(path, cwd).map_err(|e| (e, format!("{path}: bad path")))?;
    let execfn = path.clone();
    let mut bytes = read_executable(&path)?;
    for depth in 0.. {
        let Some(shebang) = elf_loader::parse_shebang(&bytes) else {
            break;
        };
        if depth >= MAX_INTERPRETER_DEPTH {
            return Err((Errno::ELOOP, format!("{path}: too many #! interpreters")));
        }
        let shebang = shebang.map_err(|e| (Errno::ENOEXEC, format!("{path}: {e}")))?;
        // argv becomes: interpreter, [argument], script path, original argv[1..].
        let mut new_argv = Vec::with_capacity(argv.len() + 2);
        new_argv.push(shebang.interpreter.clone().into_bytes());
        if let Some(argument) = &shebang.argument {
            new_argv.push(argument.clone().into_bytes());
        }
        new_argv.push(path.clone().into_bytes());
        new_argv.extend(argv.into_iter().skip(1));
        argv = new_argv;
        path = absolute(&shebang.interpreter, cwd)
            .map_err(|e| (e, format!("{}: bad interpreter path", shebang.interpreter)))?;
        bytes = read_executable(&path)?;
    }
    let image = elf_loader::parse(&bytes).map_err(|e| (Errno::ENOEXEC, format!("{path}: {e}")))?;
    let bias = image.bias_for(PIE_BASE);

    let mut memory =
        Memory::new().map_err(|_| (Errno::ENOMEM, String::from("no memory for page tables")))?;
    let oom = |_| {
        (
            Errno::ENOMEM,
            format!("{path}: out of memory while loading"),
        )
    };
    let mut highest = 0;
    for segment in &image.segments {
        let start = (segment.vaddr + bias) & !0xfff;
        let end = (segment.vaddr + bias + segment.mem_size + 0xfff) & !0xfff;
        let protection = Protection {
            read: segment.permissions.read,
            write: segment.permissions.write,
            execute: segment.permissions.execute,
        };
        // Segments sharing a page get the union of their rights.
        let protection = match memory.area_at(start) {
            Some((_, area)) if area.kind == AreaKind::File => Protection {
                read: protection.read || area.protection.read,
                write: protection.write || area.protection.write,
                execute: protection.execute || area.protection.execute,
            },
            _ => protection,
        };
        memory.add_area(start, end, protection, AreaKind::File);
        memory.populate(start, end).map_err(oom)?;
        let offset = segment.file_offset as usize;
        let data = &bytes[offset..offset + segment.file_size as usize];
        memory.write(segment.vaddr + bias, data).map_err(oom)?;
        highest = highest.max(end);
    }
    memory.heap_start = highest;
    memory.heap_end = highest;

    memory.add_area(
        STACK_TOP - STACK_SIZE,
        STACK_TOP,
        Protection::READ_WRITE,
        AreaKind::Stack,
    );
    let auxv = [
        (stack::AT_PHDR, image.phdr_vaddr.map_or(0, |p| p + bias)),
        (stack::AT_PHENT, u64::from(image.phdr_entry_size)),
        (stack::AT_PHNUM, u64::from(image.phdr_count)),
        (stack::AT_PAGESZ, 4096),
        (stack::AT_BASE, 0),
        (stack::AT_FLAGS, 0),
        (stack::AT_ENTRY, image.entry + bias),
        (stack::AT_UID, 0),
        (stack::AT_EUID, 0),
        (stack::AT_GID, 0),
        (stack::AT_EGID, 0),
        (stack::AT_SECURE, 0),
        (stack::AT_CLKTCK, 100),
        (
            stack::AT_HWCAP,
            u64::from(core::arch::x86_64::__cpuid(1).edx),
        ),
        (stack::AT_MINSIGSTKSZ, 2048),
    ];
    let argv_refs: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
    let envp_refs: Vec<&[u8]> = envp.iter().map(|a| a.as_slice()).collect();
    let built = stack::build(
        STACK_TOP,
        &argv_refs,
        &envp_refs,
        execfn.as_bytes(),
        &auxv,
        random_bytes(),
    )
    .map_err(|e| (Errno::E2BIG, format!("{path}: {e:?}")))?;
    memory.write(built.sp, &built.bytes).map_err(oom)?;

    let mut command_line = Vec::new();
    for argument in &argv {
        command_line.extend_from_slice(argument);
        command_line.push(0);
    }
    Ok(Prepared {
        memory,
        entry: image.entry + bias,
        stack_pointer: built.sp,
        command_line,
        executable: path,
    })
}

/// Replaces the current process's image with `prepared` and points `frame` at its entry.
pub fn commit(process: &Process, prepared: Prepared, frame: &mut TrapFrame) {
    process.replace_memory(prepared.memory);
    let closed = process.files.lock().close_on_exec();
    drop(closed);
    process.signals.lock().reset_for_exec();
    *process.command_line.lock() = prepared.command_line;
    *process.executable.lock() = prepared.executable;
    if let Some(user) = &crate::sched::current_thread().user {
        user.fs_base.store(0, Ordering::Relaxed);
    }
    crate::arch::user::set_fs_base(0);
    *frame = super::blank_frame();
    frame.rip = prepared.entry;
    frame.rsp = prepared.stack_pointer;
    process.release_vfork_parent();
}
