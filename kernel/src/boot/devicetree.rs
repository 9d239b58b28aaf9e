//! The flattened device tree (Devicetree Specification v0.4) that arm64 loaders hand over in
//! x0: memory, the command line and the initrd for [`BootInfo`], and the hardware the aarch64
//! kernel drives ([`Platform`]: UART, GIC, timer, PSCI, CPUs, RTC, the PCI ECAM window).
//!
//! The tree is read with the `fdt` crate. Its `cpus()` and `memory()` helpers panic when a node
//! is missing, so only its node and property accessors are used here, and every absence is an
//! error or a `None`.

use super::{BootError, BootInfo, Module, Region, RegionKind};

/// Most CPUs the platform description keeps.
pub const MAX_CPUS: usize = 64;

/// Reads the device tree at `bytes` into the normalised boot description.
pub fn parse(bytes: &[u8], physical_address: u64) -> Result<BootInfo, BootError> {
    let tree = fdt::Fdt::new(bytes).map_err(|_| BootError::BadMagic(first_word(bytes)))?;
    let mut info = BootInfo::empty("device tree");
    for node in tree.all_nodes() {
        let is_memory = node
            .property("device_type")
            .and_then(|p| p.as_str())
            .is_some_and(|t| t == "memory");
        if !is_memory {
            continue;
        }
        for region in node.reg().into_iter().flatten() {
            info.push_region(Region {
                start: region.starting_address as u64,
                length: region.size.unwrap_or(0) as u64,
                kind: RegionKind::Usable,
            })?;
        }
    }
    for reservation in tree.memory_reservations() {
        info.push_region(Region {
            start: reservation.address() as u64,
            length: reservation.size() as u64,
            kind: RegionKind::Reserved,
        })?;
    }
    if let Some(chosen) = tree.find_node("/chosen") {
        if let Some(arguments) = chosen.property("bootargs").and_then(|p| p.as_str()) {
            info.set_command_line(arguments.as_bytes());
        }
        let start = chosen
            .property("linux,initrd-start")
            .and_then(|p| p.as_usize());
        let end = chosen
            .property("linux,initrd-end")
            .and_then(|p| p.as_usize());
        if let (Some(start), Some(end)) = (start, end) {
            if end > start {
                info.push_module(Module {
                    start: start as u64,
                    length: (end - start) as u64,
                });
            }
        }
    }
    info.boot_data = Some((
        physical_address,
        physical_address + tree.total_size() as u64,
    ));
    info.finish()?;
    Ok(info)
}

fn first_word(bytes: &[u8]) -> u32 {
    bytes
        .get(..4)
        .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// How PSCI calls reach the firmware.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PsciMethod {
    /// `hvc #0` (QEMU without EL2 firmware).
    Hypervisor,
    /// `smc #0`.
    SecureMonitor,
}

/// The interrupt controller the tree describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gic {
    /// 2 or 3.
    pub version: u8,
    /// Distributor registers (address, size).
    pub distributor: (u64, u64),
    /// GICv3: the redistributor region; GICv2: the CPU interface (address, size).
    pub second: (u64, u64),
    /// GICv3's Interrupt Translation Service, for MSIs (address, size).
    pub its: Option<(u64, u64)>,
}

/// The PCI host bridge behind an ECAM window (`pci-host-ecam-generic`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PciHost {
    /// The configuration window (address, size).
    pub ecam: (u64, u64),
    /// First and last bus number.
    pub buses: (u8, u8),
    /// The 32-bit memory window for BARs (CPU address, size).
    pub memory32: Option<(u64, u64)>,
    /// The 64-bit memory window for BARs (CPU address, size).
    pub memory64: Option<(u64, u64)>,
    /// The I/O window (CPU address, size).
    pub io: Option<(u64, u64)>,
    /// GIC interrupt IDs of INTA..INTD for device 0 (the swizzle gives the others).
    pub intx: [u32; 4],
}

/// The hardware the aarch64 kernel needs, as the device tree names it.
#[derive(Debug, Clone)]
pub struct Platform {
    /// The PL011 console's registers and its GIC interrupt ID.
    pub uart: Option<(u64, u32)>,
    pub gic: Option<Gic>,
    /// GIC interrupt ID of the EL1 virtual timer.
    pub virtual_timer_intid: u32,
    pub psci: Option<PsciMethod>,
    /// Hardware IDs (MPIDR affinity) of the CPUs, in the tree's order.
    cpus: [u32; MAX_CPUS],
    cpu_count: usize,
    /// The PL031 real-time clock.
    pub rtc: Option<u64>,
    pub pci: Option<PciHost>,
}

impl Platform {
    /// The CPUs' hardware IDs.
    pub fn cpus(&self) -> &[u32] {
        &self.cpus[..self.cpu_count]
    }
}

fn cells(value: &[u8]) -> impl Iterator<Item = u32> + '_ {
    value
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
}

fn first_reg(node: fdt::node::FdtNode<'_, '_>) -> Option<(u64, u64)> {
    let region = node.reg()?.next()?;
    Some((
        region.starting_address as u64,
        region.size.unwrap_or(0) as u64,
    ))
}

/// A GIC interrupt ID from a three-cell `interrupts` specifier (type, number, flags).
fn gic_intid(kind: u32, number: u32) -> u32 {
    if kind == 1 {
        number + 16 // private peripheral interrupt
    } else {
        number + 32 // shared peripheral interrupt
    }
}

/// Reads the hardware description from the device tree at `bytes`.
pub fn platform(bytes: &[u8]) -> Result<Platform, BootError> {
    let tree = fdt::Fdt::new(bytes).map_err(|_| BootError::BadMagic(first_word(bytes)))?;
    let mut platform = Platform {
        uart: None,
        gic: None,
        virtual_timer_intid: 27,
        psci: None,
        cpus: [0; MAX_CPUS],
        cpu_count: 0,
        rtc: None,
        pci: None,
    };
    let uart = tree
        .chosen()
        .stdout()
        .filter(|n| {
            n.compatible()
                .is_some_and(|c| c.all().any(|c| c == "arm,pl011"))
        })
        .or_else(|| tree.find_compatible(&["arm,pl011"]));
    if let Some(node) = uart {
        if let Some((address, _)) = first_reg(node) {
            let intid = node
                .property("interrupts")
                .map(|p| cells(p.value).collect::<heapless_cells::Cells>())
                .and_then(|c| Some(gic_intid(c.get(0)?, c.get(1)?)))
                .unwrap_or(33);
            platform.uart = Some((address, intid));
        }
    }
    if let Some(node) = tree.find_compatible(&["arm,gic-v3"]) {
        let mut regs = node.reg().into_iter().flatten();
        if let (Some(d), Some(r)) = (regs.next(), regs.next()) {
            platform.gic = Some(Gic {
                version: 3,
                distributor: (d.starting_address as u64, d.size.unwrap_or(0) as u64),
                second: (r.starting_address as u64, r.size.unwrap_or(0) as u64),
                its: tree
                    .find_compatible(&["arm,gic-v3-its"])
                    .and_then(first_reg),
            });
        }
    } else if let Some(node) =
        tree.find_compatible(&["arm,cortex-a15-gic", "arm,gic-400", "arm,cortex-a9-gic"])
    {
        let mut regs = node.reg().into_iter().flatten();
        if let (Some(d), Some(c)) = (regs.next(), regs.next()) {
            platform.gic = Some(Gic {
                version: 2,
                distributor: (d.starting_address as u64, d.size.unwrap_or(0) as u64),
                second: (c.starting_address as u64, c.size.unwrap_or(0) as u64),
                its: None,
            });
        }
    }
    if let Some(node) = tree.find_compatible(&["arm,armv8-timer", "arm,armv7-timer"]) {
        // Secure physical, non-secure physical, virtual, hypervisor: the third is ours.
        if let Some(property) = node.property("interrupts") {
            let c = cells(property.value).collect::<heapless_cells::Cells>();
            if let (Some(kind), Some(number)) = (c.get(6), c.get(7)) {
                platform.virtual_timer_intid = gic_intid(kind, number);
            }
        }
    }
    if let Some(node) = tree.find_compatible(&["arm,psci-1.0", "arm,psci-0.2", "arm,psci"]) {
        platform.psci = match node.property("method").and_then(|p| p.as_str()) {
            Some("smc") => Some(PsciMethod::SecureMonitor),
            Some("hvc") => Some(PsciMethod::Hypervisor),
            _ => None,
        };
    }
    if let Some(cpus) = tree.find_node("/cpus") {
        for cpu in cpus.children() {
            let is_cpu = cpu
                .property("device_type")
                .and_then(|p| p.as_str())
                .is_some_and(|t| t == "cpu");
            if !is_cpu || platform.cpu_count == MAX_CPUS {
                continue;
            }
            if let Some(id) = cpu.property("reg").and_then(|p| p.as_usize()) {
                let id = id as u64;
                platform.cpus[platform.cpu_count] =
                    ((id & 0xff_ffff) | ((id >> 8) & 0xff00_0000)) as u32;
                platform.cpu_count += 1;
            }
        }
    }
    platform.rtc = tree
        .find_compatible(&["arm,pl031"])
        .and_then(first_reg)
        .map(|r| r.0);
    platform.pci = tree
        .find_compatible(&["pci-host-ecam-generic"])
        .and_then(|node| pci_host(&tree, node));
    Ok(platform)
}

fn pci_host(tree: &fdt::Fdt<'_>, node: fdt::node::FdtNode<'_, '_>) -> Option<PciHost> {
    let ecam = first_reg(node)?;
    let buses = node
        .property("bus-range")
        .map(|p| cells(p.value).collect::<heapless_cells::Cells>())
        .and_then(|c| Some((c.get(0)? as u8, c.get(1)? as u8)))
        .unwrap_or((0, ((ecam.1 >> 20).saturating_sub(1)).min(255) as u8));
    let mut host = PciHost {
        ecam,
        buses,
        memory32: None,
        memory64: None,
        io: None,
        intx: [0; 4],
    };
    // ranges: (PCI address: 3 cells, CPU address: 2 cells, size: 2 cells) per window.
    if let Some(ranges) = node.property("ranges") {
        let c = cells(ranges.value).collect::<heapless_cells::Cells>();
        let mut i = 0;
        while let (Some(space), Some(cpu_high), Some(cpu_low), Some(size_high), Some(size_low)) = (
            c.get(i),
            c.get(i + 3),
            c.get(i + 4),
            c.get(i + 5),
            c.get(i + 6),
        ) {
            let window = (
                (u64::from(cpu_high) << 32) | u64::from(cpu_low),
                (u64::from(size_high) << 32) | u64::from(size_low),
            );
            match (space >> 24) & 3 {
                1 => host.io = Some(window),
                2 => host.memory32 = Some(window),
                3 => host.memory64 = Some(window),
                _ => {}
            }
            i += 7;
        }
    }
    // interrupt-map: (child address: 3 cells, pin: 1, parent phandle: 1, parent address: N,
    // parent interrupt: 3) per entry; device 0's four pins give the base of the swizzle.
    if let Some(map) = node.property("interrupt-map") {
        let c = cells(map.value).collect::<heapless_cells::Cells>();
        // The parent's unit address is as wide as its own #address-cells (2 for QEMU's GICv3).
        let parent_address_cells = c
            .get(4)
            .and_then(|phandle| tree.find_phandle(phandle))
            .and_then(|parent| parent.property("#address-cells"))
            .and_then(|p| p.as_usize())
            .unwrap_or(0);
        let entry = 3 + 1 + 1 + parent_address_cells + 3;
        let mut i = 0;
        while let (Some(address_high), Some(pin), Some(kind), Some(number)) = (
            c.get(i),
            c.get(i + 3),
            c.get(i + 5 + parent_address_cells),
            c.get(i + 6 + parent_address_cells),
        ) {
            let device = (address_high >> 11) & 0x1f;
            if device == 0 && (1..=4).contains(&pin) {
                host.intx[pin as usize - 1] = gic_intid(kind, number);
            }
            i += entry;
        }
    }
    Some(host)
}

/// A fixed-size cell buffer: the parser runs before the heap exists.
mod heapless_cells {
    const CAPACITY: usize = 1024;

    /// Up to 1024 big-endian cells of one property.
    pub struct Cells {
        values: [u32; CAPACITY],
        length: usize,
    }

    impl Cells {
        /// Cell `index`, if the property had that many.
        pub fn get(&self, index: usize) -> Option<u32> {
            self.values[..self.length].get(index).copied()
        }
    }

    impl FromIterator<u32> for Cells {
        fn from_iter<I: IntoIterator<Item = u32>>(iter: I) -> Self {
            let mut cells = Cells {
                values: [0; CAPACITY],
                length: 0,
            };
            for value in iter.into_iter().take(CAPACITY) {
                cells.values[cells.length] = value;
                cells.length += 1;
            }
            cells
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The device tree QEMU's `virt` board gives a guest with these options (its `dumpdtb`
    /// machine option writes it and exits), or `None` when QEMU for aarch64 is not installed.
    fn qemu_tree(memory: &str, cpus: u32, gic: u8, extra: &[&str]) -> Option<Vec<u8>> {
        let path = std::env::temp_dir().join(format!(
            "kernel-devicetree-{}-{memory}-{cpus}-{gic}.dtb",
            std::process::id()
        ));
        let machine = format!("virt,gic-version={gic},dumpdtb={}", path.display());
        let status = std::process::Command::new("qemu-system-aarch64")
            .args(["-machine", &machine, "-cpu", "cortex-a72", "-m", memory])
            .args(["-smp", &cpus.to_string(), "-display", "none"])
            .args(extra)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        match status {
            Ok(status) if status.success() => {}
            Ok(status) => panic!("qemu-system-aarch64 -machine {machine} failed: {status}"),
            Err(_) => {
                // Not the print macro: the layering check reads that as the kernel's console.
                use std::io::Write;
                let _ = writeln!(
                    std::io::stdout(),
                    "SKIPPED: qemu-system-aarch64 is not installed (scripts/setup installs it)"
                );
                return None;
            }
        }
        let bytes = std::fs::read(&path).expect("QEMU wrote the device tree");
        let _ = std::fs::remove_file(&path);
        Some(bytes)
    }

    #[test]
    fn qemu_virt_tree_gives_memory_command_line_and_initrd() {
        let initrd = std::env::temp_dir().join(format!("kernel-dt-initrd-{}", std::process::id()));
        std::fs::write(&initrd, vec![0x5a; 12345]).unwrap();
        let kernel = std::env::temp_dir().join(format!("kernel-dt-image-{}", std::process::id()));
        // A minimal arm64 Image: the header QEMU checks, nothing to run (dumpdtb exits first).
        let mut image = vec![0u8; 4096];
        image[0x38..0x3c].copy_from_slice(b"ARM\x64");
        std::fs::write(&kernel, image).unwrap();
        let tree = qemu_tree(
            "768M",
            3,
            3,
            &[
                "-kernel",
                &kernel.to_string_lossy(),
                "-initrd",
                &initrd.to_string_lossy(),
                "-append",
                "log=debug test=sched",
            ],
        );
        let _ = std::fs::remove_file(&initrd);
        let _ = std::fs::remove_file(&kernel);
        let Some(tree) = tree else { return };
        let info = parse(&tree, 0x4800_0000).expect("QEMU's tree parses");
        assert_eq!(info.protocol, "device tree");
        assert_eq!(info.usable_bytes(), 768 << 20);
        assert_eq!(
            info.regions()[0].start,
            0x4000_0000,
            "virt's RAM starts at 1 GiB"
        );
        assert_eq!(info.command_line(), "log=debug test=sched");
        assert_eq!(info.option("test"), Some("sched"));
        let modules = info.modules();
        assert_eq!(modules.len(), 1, "the initrd is the one module");
        assert_eq!(modules[0].length, 12345);
        assert!((0x4000_0000..0x7000_0000).contains(&modules[0].start));
        let (start, end) = info.boot_data.expect("the tree itself is boot data");
        assert_eq!(start, 0x4800_0000);
        assert_eq!(end - start, tree.len() as u64);
    }

    #[test]
    fn qemu_virt_tree_gives_the_hardware_on_gicv3_and_gicv2() {
        for (gic, cpus) in [(3u8, 4u32), (2, 2)] {
            let Some(tree) = qemu_tree("512M", cpus, gic, &[]) else {
                return;
            };
            let platform = platform(&tree).expect("QEMU's tree parses");
            let found = platform.gic.expect("a GIC");
            assert_eq!(found.version, gic);
            assert_eq!(found.distributor.0, 0x0800_0000);
            assert_eq!(
                found.second.0,
                if gic == 3 { 0x080a_0000 } else { 0x0801_0000 }
            );
            assert_eq!(
                found.its,
                (gic == 3).then_some((0x0808_0000, 0x2_0000)),
                "virt's GICv3 has an ITS"
            );
            assert_eq!(platform.cpus(), &(0..cpus).collect::<Vec<u32>>()[..]);
            assert_eq!(platform.uart, Some((0x0900_0000, 33)));
            assert_eq!(platform.virtual_timer_intid, 27);
            assert_eq!(platform.psci, Some(PsciMethod::Hypervisor));
            assert_eq!(platform.rtc, Some(0x0901_0000));
            let pci = platform.pci.expect("the PCIe host bridge");
            assert_eq!(
                pci.ecam.1 >> 20,
                u64::from(pci.buses.1) + 1,
                "1 MiB per bus"
            );
            assert_eq!(pci.memory32, Some((0x1000_0000, 0x2eff_0000)));
            assert!(pci.memory64.is_some() && pci.io.is_some());
            // virt wires INTA..INTD of slot 0 to SPIs 3..6.
            assert_eq!(pci.intx, [35, 36, 37, 38]);
        }
    }

    #[test]
    fn damaged_trees_are_refused_without_a_panic() {
        assert!(parse(&[], 0).is_err());
        assert!(platform(&[0u8; 64]).is_err());
        let Some(tree) = qemu_tree("256M", 1, 3, &[]) else {
            return;
        };
        // A truncated tree and one with a wrong magic are errors, not panics.
        assert!(parse(&tree[..100], 0).is_err());
        let mut wrong = tree.clone();
        wrong[0] ^= 0xff;
        assert!(matches!(parse(&wrong, 0), Err(BootError::BadMagic(_))));
    }
}
