//! docs/userspace.md's system-call table says exactly what the kernel's dispatch table
//! (`kernel/src/process/syscalls/mod.rs`) implements, with the same numbers and completeness,
//! and every partial entry says what is missing.

use std::collections::BTreeMap;
use std::path::Path;

fn repository() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// (name, implemented?) from the dispatch table's `(nr::NAME, module::handler, Full|Partial)`.
fn dispatch_table() -> BTreeMap<String, bool> {
    let source = std::fs::read_to_string(repository().join("kernel/src/process/syscalls/mod.rs"))
        .expect("dispatch table source");
    let mut table = BTreeMap::new();
    for line in source.lines() {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("(nr::") else {
            continue;
        };
        let name = rest.split(',').next().unwrap().to_lowercase();
        let full = line.ends_with("Full),");
        assert!(
            full || line.ends_with("Partial),"),
            "unexpected table line: {line}"
        );
        assert!(
            table.insert(name.clone(), full).is_none(),
            "{name} twice in the dispatch table"
        );
    }
    assert!(
        table.len() > 100,
        "dispatch table not found ({} entries)",
        table.len()
    );
    table
}

#[test]
fn documented_table_matches_the_dispatch_table() {
    let numbers: BTreeMap<&str, usize> = linux_abi::syscall::ALL
        .iter()
        .map(|&(n, name)| (name, n))
        .collect();
    let docs =
        std::fs::read_to_string(repository().join("docs/userspace.md")).expect("docs/userspace.md");
    let mut documented = BTreeMap::new();
    for line in docs.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let name = cells[1].trim_matches('`').to_string();
        let number: usize = cells[2].parse().expect("a number column");
        assert_eq!(
            numbers.get(name.as_str()),
            Some(&number),
            "{name}: wrong number in the docs"
        );
        let implemented = match cells[3] {
            "implemented" => true,
            "partial" => {
                assert!(
                    !cells[4].is_empty(),
                    "{name} is partial but the docs do not say what is missing"
                );
                false
            }
            other => panic!("{name}: unknown status {other}"),
        };
        assert!(
            documented.insert(name.clone(), implemented).is_none(),
            "{name} twice in the docs"
        );
    }
    let table = dispatch_table();
    for (name, full) in &table {
        match documented.get(name) {
            None => panic!("{name} is in the dispatch table but not in docs/userspace.md"),
            Some(d) if d != full => panic!(
                "{name}: the docs say {} but the table says {}",
                status(*d),
                status(*full)
            ),
            _ => {}
        }
    }
    for name in documented.keys() {
        assert!(
            table.contains_key(name),
            "{name} is documented but not in the dispatch table"
        );
    }
}

fn status(full: bool) -> &'static str {
    if full {
        "implemented"
    } else {
        "partial"
    }
}
