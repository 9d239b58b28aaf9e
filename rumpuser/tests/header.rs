//! `header_matches_rust`: every prototype in `include/rumpuser.h` equals the Rust export.
//!
//! The header is written one declaration per line; this test tokenises each prototype,
//! drops parameter names, and compares the C types with the types recorded by
//! `rumpuser::abi_table::ABI_TABLE` (which is itself checked against the exports at compile
//! time). Struct layouts are checked by `c/abi_check.c` and by `const` asserts in `abi.rs`.

use rumpuser::abi_table::ABI_TABLE;

/// C spelling of one Rust type from the table.
fn c_type(rust: &str) -> String {
    let rust = rust.trim();
    if let Some(rest) = rust.strip_prefix("*mut ") {
        return format!("{} *", c_type(rest));
    }
    if let Some(rest) = rust.strip_prefix("*const ") {
        let inner = c_type(rest);
        return if inner.ends_with('*') {
            format!("{inner} const *")
        } else {
            format!("const {inner} *")
        };
    }
    match rust {
        "c_int" => "int",
        "c_uint" => "unsigned int",
        "c_long" => "long",
        "c_ulong" => "unsigned long",
        "c_char" => "char",
        "c_void" => "void",
        "usize" => "size_t",
        "i64" => "int64_t",
        "u64" => "uint64_t",
        "!" => "void",
        "" => "void",
        "Lwp" => "struct lwp",
        "RumpuserHyperup" => "struct rumpuser_hyperup",
        "RumpuserIovec" => "struct rumpuser_iovec",
        "RumpcompPciDmaseg" => "struct rumpcomp_pci_dmaseg",
        "RumpuserMtx" => "struct rumpuser_mtx",
        "RumpuserRw" => "struct rumpuser_rw",
        "RumpuserCv" => "struct rumpuser_cv",
        "RumpBiodoneFn" => "rump_biodone_fn",
        "RumpuserThreadFn" => "rumpuser_thread_fn",
        "RumpcompPciIntrFn" => "rumpcomp_pci_intr_fn",
        "RumpModinitFn" => "rump_modinit_fn",
        "RumpSymloadFn" => "rump_symload_fn",
        "RumpComploadFn" => "rump_compload_fn",
        other => panic!("no C spelling for Rust type {other}"),
    }
    .to_string()
}

fn tokens(text: &str) -> Vec<String> {
    text.replace('*', " * ")
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// Normalised type of a C parameter declaration ("const char *name" -> "const char *").
fn param_type(decl: &str) -> String {
    let mut t = tokens(decl);
    let is_type_word = |w: &str| {
        matches!(
            w,
            "int"
                | "long"
                | "char"
                | "void"
                | "unsigned"
                | "size_t"
                | "int64_t"
                | "uint64_t"
                | "*"
                | "const"
        ) || w.ends_with("_fn")
    };
    if t.len() > 1 && !is_type_word(t.last().unwrap()) {
        t.pop();
    }
    // "unsigned" alone means "unsigned int".
    let joined = t.join(" ");
    if joined == "unsigned" {
        "unsigned int".into()
    } else {
        joined
    }
}

fn normal(text: &str) -> String {
    tokens(text).join(" ")
}

/// (name, return type, parameter types) for every function prototype in the header.
fn header_prototypes() -> Vec<(String, String, Vec<String>)> {
    let header = include_str!("../include/rumpuser.h");
    let mut out = Vec::new();
    for line in header.lines() {
        let line = line.trim();
        let Some(open) = line.find('(') else { continue };
        if line.starts_with('#')
            || line.starts_with("typedef")
            || line.starts_with('/')
            || !line.ends_with(';')
        {
            continue;
        }
        let head = &line[..open];
        let Some(name_start) = head
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
            .map(|i| i + 1)
            .or(Some(0))
        else {
            continue;
        };
        let name = &head[name_start..];
        if !(name.starts_with("rumpuser_") || name.starts_with("rumpcomp_")) {
            continue;
        }
        let ret = normal(&head[..name_start]);
        let close = line
            .rfind(')')
            .expect("prototype has a closing parenthesis");
        let close = line[..close + 1]
            .find(')')
            .filter(|_| !line[open..].contains("__attribute__"))
            .unwrap_or_else(|| {
                line[open..]
                    .find(')')
                    .map(|i| i + open)
                    .expect("closing parenthesis")
            });
        let params = &line[open + 1..close];
        let params: Vec<String> = if params.trim() == "void" {
            Vec::new()
        } else {
            params.split(',').map(param_type).collect()
        };
        out.push((name.to_string(), ret, params));
    }
    out
}

#[test]
fn header_matches_rust() {
    let header = header_prototypes();
    let mut mismatches = Vec::new();
    for entry in ABI_TABLE {
        let Some((_, ret, params)) = header.iter().find(|(name, ..)| name == entry.name) else {
            mismatches.push(format!(
                "{}: exported by Rust but not declared in the header",
                entry.name
            ));
            continue;
        };
        let rust_ret = normal(&c_type(entry.ret));
        let rust_params: Vec<String> = entry.args.iter().map(|a| normal(&c_type(a))).collect();
        if &rust_ret != ret || &rust_params != params {
            mismatches.push(format!(
                "{}: header {ret} ({}) vs Rust {rust_ret} ({})",
                entry.name,
                params.join(", "),
                rust_params.join(", ")
            ));
        }
    }
    for (name, ..) in &header {
        if name != "rumpuser_dprintf" && !ABI_TABLE.iter().any(|e| e.name == name) {
            mismatches.push(format!(
                "{name}: declared in the header but not in the Rust table"
            ));
        }
    }
    assert!(
        header.len() >= 70,
        "parsed only {} prototypes",
        header.len()
    );
    assert!(
        mismatches.is_empty(),
        "header and Rust disagree:\n{}",
        mismatches.join("\n")
    );
}
