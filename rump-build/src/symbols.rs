//! Classifies the symbols a set of archives leaves undefined.
//!
//! After the rump build's renaming (docs/contract.md §7.4) only names beginning with `rump`,
//! `RUMP` or `__` stay unprefixed; everything else becomes `rumpns_*`. An undefined plain
//! `memcpy` is therefore a symbol from a user-space build, not something the host should provide.

/// What kind of symbol an unresolved import is.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SymbolClass {
    /// `rumpuser_*` or `rumpcomp_*`: must be exported by the host (checked against the header).
    Hypercall,
    /// `__start_link_set_X` / `__stop_link_set_X`: defined by the kernel's linker script.
    LinkSetBracket {
        /// The set name `X`.
        set: String,
    },
    /// Defined by the static linker itself (`_GLOBAL_OFFSET_TABLE_`): a sign of a PIC build,
    /// harmless.
    LinkerProvided,
    /// A libc / user-space run-time symbol: stack protector, TLS, profiling, or any name the
    /// rump renaming would have prefixed with `rumpns_`.
    UserSpace,
    /// Anything else, usually a `rumpns_*` symbol of a component that is not in the directory.
    Other,
}

/// Imports whose presence says the archives were built for user space, with why.
pub const USER_SPACE_MARKERS: &[(&str, &str)] = &[
    ("__stack_chk_fail", "stack protector"),
    ("__stack_chk_guard", "stack protector"),
    ("__tls_get_addr", "dynamic TLS model"),
    ("__errno_location", "libc errno"),
    ("__gmon_start__", "profiling start-up hook"),
    ("mcount", "profiling (-pg)"),
    ("__fentry__", "profiling (-pg -mfentry)"),
    ("__cyg_profile_func_enter", "-finstrument-functions"),
    ("__assert_fail", "libc assert"),
    ("__cxa_atexit", "C++/atexit run time"),
    ("_Unwind_Resume", "unwinder"),
];

/// Classifies one unresolved import.
pub fn classify(name: &str) -> SymbolClass {
    if name.starts_with("rumpuser_") || name.starts_with("rumpcomp_") {
        return SymbolClass::Hypercall;
    }
    if let Some(set) = link_set_name(name) {
        return SymbolClass::LinkSetBracket {
            set: set.to_string(),
        };
    }
    if name == "_GLOBAL_OFFSET_TABLE_" {
        return SymbolClass::LinkerProvided;
    }
    if USER_SPACE_MARKERS.iter().any(|(marker, _)| *marker == name) {
        return SymbolClass::UserSpace;
    }
    let renamed_away =
        !(name.starts_with("rump") || name.starts_with("RUMP") || name.starts_with("__"));
    if renamed_away {
        return SymbolClass::UserSpace;
    }
    SymbolClass::Other
}

/// The set name `X` of `__start_link_set_X` or `__stop_link_set_X`.
pub fn link_set_name(name: &str) -> Option<&str> {
    name.strip_prefix("__start_link_set_")
        .or_else(|| name.strip_prefix("__stop_link_set_"))
        .filter(|set| !set.is_empty())
}

/// Why a known user-space symbol is there (stack protector, profiling, ...), for messages;
/// `None` for a plain libc name.
pub fn user_space_reason(name: &str) -> Option<&'static str> {
    USER_SPACE_MARKERS
        .iter()
        .find(|(marker, _)| *marker == name)
        .map(|(_, why)| *why)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert_eq!(classify("rumpuser_malloc"), SymbolClass::Hypercall);
        assert_eq!(classify("rumpcomp_pci_map"), SymbolClass::Hypercall);
        assert_eq!(
            classify("__stop_link_set_modules"),
            SymbolClass::LinkSetBracket {
                set: "modules".into()
            }
        );
        assert_eq!(
            classify("_GLOBAL_OFFSET_TABLE_"),
            SymbolClass::LinkerProvided
        );
        assert_eq!(classify("__stack_chk_fail"), SymbolClass::UserSpace);
        assert_eq!(classify("__tls_get_addr"), SymbolClass::UserSpace);
        assert_eq!(classify("memcpy"), SymbolClass::UserSpace);
        assert_eq!(classify("rumpns_memcpy"), SymbolClass::Other);
        assert_eq!(classify("rumpns_ufs_lookup"), SymbolClass::Other);
        assert_eq!(classify("__start_link_set_"), SymbolClass::Other);
    }
}
