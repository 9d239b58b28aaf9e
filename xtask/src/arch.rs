//! Which architecture the xtask commands build and boot: x86_64 (the default) or aarch64, chosen
//! once per invocation with `--arch NAME`. Everything that differs per architecture (the Rust
//! target, the QEMU binary and machine, how the image is made) asks here.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};

/// A target architecture of the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Aarch64,
}

static CHOSEN: AtomicU8 = AtomicU8::new(0);

impl Arch {
    /// The architecture `--arch` named, or x86_64.
    pub fn current() -> Arch {
        match CHOSEN.load(Ordering::Relaxed) {
            1 => Arch::Aarch64,
            _ => Arch::X86_64,
        }
    }

    /// Makes `self` the architecture later builds and boots use (the aarch64 benchmark switches
    /// to x86_64 and back to print both side by side).
    pub fn select(self) {
        CHOSEN.store(self as u8, Ordering::Relaxed);
    }

    /// The name used on the command line and in messages.
    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }

    /// The Rust target the kernel is built for. aarch64 uses the soft-float target so that
    /// kernel code never touches FP/SIMD registers (only threads that ask get that state).
    pub fn rust_target(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64-unknown-none",
            Arch::Aarch64 => "aarch64-unknown-none-softfloat",
        }
    }
}

/// Removes `--arch NAME` from `arguments` and records the choice.
pub fn take_arch_option(arguments: &mut Vec<String>) -> Result<Arch, String> {
    let mut chosen = Arch::X86_64;
    if let Some(position) = arguments.iter().position(|a| a == "--arch") {
        let name = arguments
            .get(position + 1)
            .cloned()
            .ok_or("--arch needs x86_64 or aarch64")?;
        chosen = match name.as_str() {
            "x86_64" | "x86-64" | "amd64" => Arch::X86_64,
            "aarch64" | "arm64" => Arch::Aarch64,
            other => {
                return Err(format!(
                    "unknown architecture '{other}' (x86_64 or aarch64)"
                ))
            }
        };
        arguments.drain(position..position + 2);
    }
    chosen.select();
    Ok(chosen)
}

/// Turns the aarch64 kernel ELF into an arm64 `Image` (the loadable segments laid out from the
/// lowest physical address, BSS left out): what QEMU's `-kernel` boots as Linux, passing the
/// device tree in x0 and loading `-initrd`. The kernel's own header (boot.S) leads the image.
pub fn make_arm64_image(elf: &Path) -> Result<PathBuf, String> {
    let bytes = std::fs::read(elf).map_err(|e| format!("{}: {e}", elf.display()))?;
    let image = arm64_image_from_elf(&bytes)?;
    let path = elf.with_extension("img");
    std::fs::write(&path, image).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

fn field(bytes: &[u8], offset: usize, size: usize) -> Result<u64, String> {
    let slice = bytes
        .get(offset..offset + size)
        .ok_or("the kernel ELF is truncated")?;
    let mut value = [0u8; 8];
    value[..size].copy_from_slice(slice);
    Ok(u64::from_le_bytes(value))
}

/// The flat image of an ELF64 little-endian executable's PT_LOAD segments (file bytes only),
/// placed by physical address.
pub fn arm64_image_from_elf(bytes: &[u8]) -> Result<Vec<u8>, String> {
    if bytes.get(..4) != Some(b"\x7fELF") || bytes.get(4) != Some(&2) || bytes.get(5) != Some(&1) {
        return Err("the kernel is not a 64-bit little-endian ELF file".into());
    }
    let program_headers = field(bytes, 0x20, 8)? as usize;
    let entry_size = field(bytes, 0x36, 2)? as usize;
    let count = field(bytes, 0x38, 2)? as usize;
    let mut segments = Vec::new();
    for i in 0..count {
        let header = program_headers + i * entry_size;
        if field(bytes, header, 4)? != 1 {
            continue; // not PT_LOAD
        }
        let offset = field(bytes, header + 0x08, 8)? as usize;
        let physical = field(bytes, header + 0x18, 8)?;
        let file_size = field(bytes, header + 0x20, 8)? as usize;
        if file_size > 0 {
            let data = bytes
                .get(offset..offset + file_size)
                .ok_or("a segment lies outside the kernel ELF")?;
            segments.push((physical, data));
        }
    }
    let base = segments
        .iter()
        .map(|s| s.0)
        .min()
        .ok_or("the kernel ELF has no loadable segment")?;
    let end = segments
        .iter()
        .map(|(p, d)| p + d.len() as u64)
        .max()
        .unwrap_or(base);
    if end - base > 256 << 20 {
        return Err("the kernel's segments span more than 256 MiB".into());
    }
    let mut image = vec![0u8; (end - base) as usize];
    for (physical, data) in segments {
        let at = (physical - base) as usize;
        image[at..at + data.len()].copy_from_slice(data);
    }
    if image.get(0x38..0x3c) != Some(b"ARM\x64") {
        return Err("the kernel image lacks the arm64 Image header (boot.S)".into());
    }
    Ok(image)
}
