//! The system call and errno tables against the host's kernel headers (linux-libc-dev).
//!
//! The host's headers may be older than the table: numbers above the host's highest are ours
//! alone, and every number the host knows must carry the same name here.

use std::collections::BTreeMap;

use linux_abi::{errno, syscall};

/// `#define PREFIX<name> <number>` lines of a header, or `None` if it is absent.
fn defines(path: &str, prefix: &str) -> Option<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut found = BTreeMap::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        if words.next() != Some("#define") {
            continue;
        }
        if let (Some(name), Some(value)) = (words.next(), words.next()) {
            if let Some(name) = name.strip_prefix(prefix) {
                found.insert(name.to_string(), value.to_string());
            }
        }
    }
    Some(found)
}

#[test]
fn syscall_table_matches_unistd_64() {
    let path = "/usr/include/x86_64-linux-gnu/asm/unistd_64.h";
    let Some(host) = defines(path, "__NR_") else {
        println!("SKIPPED: {path} is absent (install linux-libc-dev)");
        return;
    };
    let mut highest = 0;
    for (name, number) in &host {
        let number: usize = number.parse().unwrap();
        highest = highest.max(number);
        assert_eq!(
            syscall::name(number),
            Some(name.as_str()),
            "number {number}"
        );
    }
    assert!(host.len() > 350, "only {} numbers in {path}", host.len());
    // uretprobe (6.11) took a number in x86_64's own range, below older hosts' highest.
    let newer_in_gap = ["uretprobe"];
    for (number, name) in syscall::ALL {
        if *number <= highest && !newer_in_gap.contains(name) {
            assert!(
                host.contains_key(*name),
                "{name} ({number}) is not in {path}"
            );
        }
    }
    println!(
        "{} host numbers match; ours run to {}",
        host.len(),
        syscall::COUNT - 1
    );
}

#[test]
fn errno_table_matches_asm_generic() {
    let mut host = BTreeMap::new();
    for path in [
        "/usr/include/asm-generic/errno-base.h",
        "/usr/include/asm-generic/errno.h",
    ] {
        let Some(found) = defines(path, "") else {
            println!("SKIPPED: {path} is absent (install linux-libc-dev)");
            return;
        };
        host.extend(found.into_iter().filter(|(name, _)| name.starts_with('E')));
    }
    let mut numbers = 0;
    for (name, value) in &host {
        match value.parse::<i32>() {
            Ok(number) => {
                numbers += 1;
                assert_eq!(errno::name(number), name, "errno {number}");
            }
            // An alias such as `EWOULDBLOCK EAGAIN`.
            Err(_) => assert!(host.contains_key(value), "{name} aliases unknown {value}"),
        }
    }
    assert_eq!(numbers, errno::ALL.len());
    assert_eq!(errno::EWOULDBLOCK, errno::EAGAIN);
    assert_eq!(errno::EDEADLOCK, errno::EDEADLK);
}
