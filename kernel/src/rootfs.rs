//! The root file system: the initrd boot module, read in place from the direct map.
//!
//! May import: `boot`, `mm`.

use spin::Once;

use initrd::Initrd;

static ROOT: Once<Option<Initrd<'static>>> = Once::new();

/// Parses the first boot module as the initrd. Damage is reported entry by entry and the valid
/// part is kept; an unusable module leaves the kernel running without a root.
pub fn init(info: &crate::boot::BootInfo) {
    ROOT.call_once(|| {
        let module = match info.modules().first() {
            Some(module) => module,
            None => {
                log::warn!("no initrd module: booting without a root file system");
                return None;
            }
        };
        let bytes = crate::mm::boot_module_bytes(module);
        match Initrd::parse(bytes) {
            Ok((root, diagnostics)) => {
                for diagnostic in &diagnostics {
                    log::warn!("initrd: {diagnostic}");
                }
                log::info!(
                    "initrd: {} entries ({:?}, {} bytes)",
                    root.node_count(),
                    root.format(),
                    bytes.len()
                );
                Some(root)
            }
            Err(error) => {
                log::error!("initrd unusable ({error}); booting without a root file system");
                None
            }
        }
    });
}

/// The root file system, if there is one.
pub fn root() -> Option<&'static Initrd<'static>> {
    ROOT.get().and_then(|r| r.as_ref())
}
