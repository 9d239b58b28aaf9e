//! Errors of the component checker: why a directory of archives cannot be hosted.
//!
//! Every variant's `Display` is written for a person reading a failed kernel build: it names
//! the archive, the symbol or the section and says what to change.

use std::fmt;
use std::path::PathBuf;

use crate::report::Refusal;

/// Everything that can stop [`crate::check_dir`] or [`crate::emit_cargo_link_args`].
#[derive(Debug)]
pub enum Error {
    /// The directory (or an archive, or the header) could not be read.
    Io {
        /// The file or directory being read.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The directory holds no `lib*.a` file.
    NoArchives(PathBuf),
    /// A file named like an archive is not an `ar` archive of ELF objects.
    Malformed {
        /// The archive.
        path: PathBuf,
        /// The member, if the archive itself was readable.
        member: Option<String>,
        /// What the parser reported.
        reason: String,
    },
    /// The host header declares no `rumpuser_*` function: wrong file, or the scanner broke.
    EmptyHeader(PathBuf),
    /// The archives were read, but the kernel cannot host them; each entry says why.
    Refused(Vec<Refusal>),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, source } => write!(f, "cannot read {}: {source}", path.display()),
            Error::NoArchives(dir) => write!(
                f,
                "{}: no component archives (lib*.a) found; point RUMP_COMPONENTS at the directory \
                 holding them",
                dir.display()
            ),
            Error::Malformed {
                path,
                member,
                reason,
            } => match member {
                Some(member) => write!(f, "{}({member}): {reason}", path.display()),
                None => write!(f, "{}: {reason}", path.display()),
            },
            Error::EmptyHeader(path) => write!(
                f,
                "{}: no rumpuser_* function declarations found; is this the host's rumpuser.h?",
                path.display()
            ),
            Error::Refused(refusals) => {
                writeln!(
                    f,
                    "the rump component archives cannot be hosted by this kernel ({} problem{}):",
                    refusals.len(),
                    if refusals.len() == 1 { "" } else { "s" }
                )?;
                for refusal in refusals {
                    writeln!(f, "  - {refusal}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
