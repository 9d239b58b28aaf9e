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
    let slice = offset
        .checked_add(size)
        .and_then(|end| bytes.get(offset..end))
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
        let header = i
            .checked_mul(entry_size)
            .and_then(|at| at.checked_add(program_headers))
            .ok_or("the kernel ELF's program headers are out of range")?;
        if field(bytes, header, 4)? != 1 {
            continue; // not PT_LOAD
        }
        let offset = field(bytes, header + 0x08, 8)? as usize;
        let physical = field(bytes, header + 0x18, 8)?;
        let file_size = field(bytes, header + 0x20, 8)? as usize;
        if file_size > 0 {
            let data = offset
                .checked_add(file_size)
                .and_then(|end| bytes.get(offset..end))
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
        .map(|(p, d)| p.saturating_add(d.len() as u64))
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

#[cfg(test)]
mod tests {
    use super::arm64_image_from_elf;

    /// A little ELF64 file with `segments` as (type, physical address, bytes) program headers.
    fn elf(segments: &[(u32, u64, &[u8])]) -> Vec<u8> {
        let headers = 64;
        let mut data_offset = headers + 56 * segments.len();
        let mut file = vec![0u8; data_offset];
        file[..4].copy_from_slice(b"\x7fELF");
        file[4] = 2; // 64-bit
        file[5] = 1; // little endian
        file[0x20..0x28].copy_from_slice(&(headers as u64).to_le_bytes());
        file[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        file[0x38..0x3a].copy_from_slice(&(segments.len() as u16).to_le_bytes());
        for (i, (kind, physical, bytes)) in segments.iter().enumerate() {
            let header = headers + 56 * i;
            file[header..header + 4].copy_from_slice(&kind.to_le_bytes());
            file[header + 8..header + 16].copy_from_slice(&(data_offset as u64).to_le_bytes());
            file[header + 0x18..header + 0x20].copy_from_slice(&physical.to_le_bytes());
            file[header + 0x20..header + 0x28].copy_from_slice(&(bytes.len() as u64).to_le_bytes());
            file.extend_from_slice(bytes);
            data_offset += bytes.len();
        }
        file
    }

    #[test]
    fn segments_are_laid_out_by_physical_address_from_the_header() {
        let mut text = vec![0x11u8; 0x40];
        text[0x38..0x3c].copy_from_slice(b"ARM\x64");
        let data = [0x22u8; 8];
        let note = [0x33u8; 4];
        let file = elf(&[
            (1, 0x4020_0000, &text),
            (4, 0x0, &note), // PT_NOTE: not loaded
            (1, 0x4020_1000, &data),
        ]);
        let image = arm64_image_from_elf(&file).expect("a valid image");
        assert_eq!(image.len(), 0x1008);
        assert_eq!(&image[..0x40], &text[..]);
        assert!(
            image[0x40..0x1000].iter().all(|&b| b == 0),
            "the gap is zero"
        );
        assert_eq!(&image[0x1000..], &data);
    }

    #[test]
    fn files_that_are_not_the_kernel_are_refused() {
        assert!(arm64_image_from_elf(b"not an elf").is_err());
        let headerless = elf(&[(1, 0x4020_0000, &[0u8; 0x40])]);
        let error = arm64_image_from_elf(&headerless).unwrap_err();
        assert!(error.contains("arm64 Image header"), "{error}");
        let mut truncated = elf(&[(1, 0x4020_0000, &[0u8; 0x40])]);
        truncated.truncate(100);
        assert!(arm64_image_from_elf(&truncated).is_err());
        let spread = elf(&[(1, 0x4000_0000, &[1u8; 4]), (1, 0x8000_0000, &[1u8; 4])]);
        assert!(arm64_image_from_elf(&spread).is_err());
    }
}
