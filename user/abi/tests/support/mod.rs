//! Shared by the host tests: compiling and running small C programs that print facts of the
//! host's headers.

use std::path::PathBuf;
use std::process::Command;

/// Compiles `source` with the host's C compiler and returns what the program printed, or
/// `None` (after printing `SKIPPED:` and the reason) when there is no compiler. A program that
/// fails to compile or run fails the test: the headers it needs are part of the check.
pub fn run_c(name: &str, source: &str) -> Option<String> {
    if Command::new("gcc").arg("--version").output().is_err() {
        println!("SKIPPED: {name}: no gcc on this host");
        return None;
    }
    let directory = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("linux-abi");
    std::fs::create_dir_all(&directory).unwrap();
    let source_path = directory.join(format!("{name}.c"));
    let binary_path = directory.join(name);
    std::fs::write(&source_path, source).unwrap();
    let compiled = Command::new("gcc")
        .args(["-std=gnu11", "-w", "-o"])
        .arg(&binary_path)
        .arg(&source_path)
        .output()
        .unwrap();
    assert!(
        compiled.status.success(),
        "{name}.c did not compile:\n{}",
        String::from_utf8_lossy(&compiled.stderr)
    );
    let output = Command::new(&binary_path).output().unwrap();
    assert!(output.status.success(), "{name} failed");
    Some(String::from_utf8(output.stdout).unwrap())
}

/// Parses lines of `key value` into pairs.
pub fn pairs(output: &str) -> Vec<(String, i128)> {
    output
        .lines()
        .filter_map(|line| {
            let (key, value) = line.rsplit_once(' ')?;
            Some((key.to_string(), value.parse().ok()?))
        })
        .collect()
}
