//! `rumpcheck DIR`: prints whether the kernel can host the rump component archives in DIR.
//!
//! It also names the known component sets (network, USB, ext2) the directory holds part of, and
//! the archives each lacks. Exit status: 0 when the set can be hosted and no known set is
//! incomplete, 1 when it cannot (or an archive is unreadable),
//! 2 for usage errors (no directory, no archives).

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use rump_build::{check_dir, Error};

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let dir = match (args.next(), args.next()) {
        (Some(dir), None) if dir != "-h" && dir != "--help" => PathBuf::from(dir),
        _ => {
            eprintln!("usage: rumpcheck DIR   (DIR holds the component archives, lib*.a)");
            return ExitCode::from(2);
        }
    };
    if !dir.is_dir() {
        eprintln!("rumpcheck: {}: not a directory", dir.display());
        return ExitCode::from(2);
    }
    match check_dir(&dir) {
        Ok(report) => {
            print!("{report}");
            let present = |name: &str| report.archives.iter().any(|a| a.name == name);
            let mut incomplete = false;
            for (set, missing) in rump_build::sets::incomplete_sets(present) {
                if missing.is_empty() {
                    println!("\nset: {}: complete", set.name);
                    continue;
                }
                incomplete = true;
                println!("\nset: {}: missing", set.name);
                for (archive, why) in missing {
                    println!("  {archive} ({why})");
                }
            }
            if report.is_hostable() && !incomplete {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(error @ Error::NoArchives(_)) => {
            eprintln!("rumpcheck: {error}");
            ExitCode::from(2)
        }
        Err(error) => {
            eprintln!("rumpcheck: {error}");
            ExitCode::from(1)
        }
    }
}
