//! The boot sequence on aarch64, in order, with the reason for each ordering constraint. The
//! layers it starts are the same as on x86_64 (`init.rs`); only the firmware (a device tree
//! instead of ACPI), the interrupt controller and the clock differ.
//!
//! May import: everything: it wires the layers together in order.

use crate::arch::{cpu, cpus, gic, percpu, psci, semihosting, serial, smp, traps};
use crate::boot::devicetree::{self, Platform, PsciMethod};
use crate::boot::{self, BootError};
use crate::mm::mmio::MmioRegion;
use crate::mm::stack::KernelStack;
use crate::mm::{self, frames, paging, MemoryError};
use crate::qemu::{self, ExitStatus};
use crate::{console, interrupts, println, time};

/// QEMU virt's PL011, used for the earliest messages when the device tree cannot be read.
const FALLBACK_UART: u64 = 0x0900_0000;
/// Device trees larger than this are refused (QEMU's are about 1 MiB at most).
const MAX_DEVICE_TREE: u64 = 2 << 20;

static PLATFORM: spin::Once<Platform> = spin::Once::new();

/// The hardware description read from the device tree at start-up.
pub fn platform() -> &'static Platform {
    PLATFORM
        .get()
        .expect("the platform is recorded first thing at start-up")
}

/// The device tree's bytes, through the boot tables' direct map of the first 2 GiB.
fn device_tree_bytes(physical: u64) -> Result<&'static [u8], BootError> {
    let header_end = physical
        .checked_add(8)
        .ok_or(BootError::Unreadable(physical))?;
    if physical == 0 || header_end > mm::BOOT_DIRECT_MAP_LIMIT || !physical.is_multiple_of(8) {
        return Err(BootError::Unreadable(physical));
    }
    // SAFETY: the header lies in RAM below the boot direct-map limit (checked above).
    let header = unsafe { core::slice::from_raw_parts(mm::phys_to_virt(physical) as *const u8, 8) };
    let size = u64::from(u32::from_be_bytes([
        header[4], header[5], header[6], header[7],
    ]));
    if !(8..=MAX_DEVICE_TREE).contains(&size) || physical + size > mm::BOOT_DIRECT_MAP_LIMIT {
        return Err(BootError::Unreadable(physical));
    }
    // SAFETY: as above for the whole tree; `frames::init` keeps it out of the allocator
    // (boot_data) and nothing writes to it.
    Ok(unsafe {
        core::slice::from_raw_parts(mm::phys_to_virt(physical) as *const u8, size as usize)
    })
}

/// Maps a device's registers for the kernel's life and returns their virtual address.
fn map_registers_for_good(physical: u64, length: u64) -> Result<usize, MemoryError> {
    let region = MmioRegion::map(physical, length as usize)?;
    let address = region.virtual_address();
    core::mem::forget(region); // interrupt controllers stay mapped
    Ok(address)
}

/// Prints why the kernel cannot continue and stops cleanly (QEMU exits with failure).
fn stop(what: &str, why: &dyn core::fmt::Display) -> ! {
    println!("fatal: {what}: {why}");
    println!("the kernel cannot continue; stopping");
    qemu::exit(ExitStatus::Panic);
    cpu::halt_forever()
}

/// Gives the calling CPU an emergency stack for reporting its own stack overflows.
fn give_emergency_stack(per_cpu: &percpu::PerCpu) {
    match KernelStack::new(4, "emergency", per_cpu.index) {
        Ok(stack) => {
            per_cpu
                .emergency_stack_top
                .store(stack.top(), core::sync::atomic::Ordering::Release);
            core::mem::forget(stack); // belongs to the CPU forever
        }
        Err(error) => log::warn!("no emergency stack for cpu {}: {error}", per_cpu.index),
    }
}

/// `count` zeroed frames aligned to `align` frames, for good: (physical, virtual).
fn zeroed_frames_for_good(count: u64, align: u64) -> Result<(u64, usize), MemoryError> {
    let physical = frames::allocate(count, align, u64::MAX)?;
    let virtual_address = mm::phys_to_virt(physical) as usize;
    // SAFETY: fresh frames, reached through the direct map, owned by the caller from now on.
    unsafe { core::ptr::write_bytes(virtual_address as *mut u8, 0, (count * 4096) as usize) };
    Ok((physical, virtual_address))
}

/// Maps the GICv3 ITS and gives it its tables (docs/aarch64.md, "Interrupts").
fn start_interrupt_translation(its: (u64, u64)) -> Result<(), alloc::string::String> {
    use crate::arch::its::{self, ItsMemory};
    const TRANSLATION_TABLES: u64 = 16;
    let registers =
        map_registers_for_good(its.0, its.1.max(0x2_0000)).map_err(|e| alloc::format!("{e}"))?;
    let memory = (|| -> Result<ItsMemory, MemoryError> {
        let tables = zeroed_frames_for_good(TRANSLATION_TABLES, 1)?;
        Ok(ItsMemory {
            configuration: zeroed_frames_for_good(2, 1)?,
            pending: zeroed_frames_for_good(16, 16)?,
            commands: zeroed_frames_for_good(1, 1)?,
            devices: zeroed_frames_for_good(1, 1)?,
            collections: zeroed_frames_for_good(1, 1)?,
            translation_tables: (tables.0, tables.1, TRANSLATION_TABLES as usize),
        })
    })()
    .map_err(|e| alloc::format!("{e}"))?;
    // SAFETY: an uncached mapping of the ITS registers kept for good, and zeroed frames that
    // belong to the ITS from now on.
    unsafe { its::init(registers, its.0, memory) }.map_err(|e| alloc::format!("{e}"))
}

/// Where each secondary CPU continues once its MMU and vectors are on.
fn secondary_processor_main(index: usize) -> ! {
    gic::init_this_cpu();
    let per_cpu = percpu::init_this_cpu(index, cpu::hardware_id());
    give_emergency_stack(per_cpu);
    crate::sched::init_this_cpu(per_cpu, "ap-boot");
    interrupts::start_timer_this_cpu();
    smp::report_online();
    cpu::enable_interrupts();
    // The boot context of a secondary CPU has nothing more to do: it becomes a parked thread.
    crate::sched::exit(0)
}

/// Starts the other CPUs through PSCI; returns how many CPUs are online.
fn start_other_cpus(platform: &Platform) -> usize {
    if platform.psci.is_none() || cpus::cpu_count() < 2 {
        return cpus::online_count();
    }
    let mut prepare = |index: usize| {
        let stack = KernelStack::new(8, "ap-boot", index).ok()?;
        let top = stack.top();
        core::mem::forget(stack); // becomes that CPU's boot thread stack for good
                                  // The block is read with the MMU on but before the kernel tables' direct map is in
                                  // TTBR0: it must sit in the boot identity map (below 2 GiB).
        let block = frames::allocate(1, 1, mm::BOOT_DIRECT_MAP_LIMIT).ok()?;
        Some((
            top,
            mm::phys_to_virt(block) as *mut smp::SecondaryStart,
            block,
        ))
    };
    let parameters = smp::StartParameters {
        page_table_root: paging::kernel_pml4(),
        kernel_virtual_offset: mm::KERNEL_VMA,
        prepare: &mut prepare,
        delay_nanos: &time::busy_wait_nanos,
        now_nanos: &time::monotonic_nanos,
        continuation: secondary_processor_main,
        late_cpu: boot::info().option("late_cpu").and_then(|v| v.parse().ok()),
    };
    // SAFETY: the kernel root maps the image at its linked addresses; each block is a fresh
    // frame used by nothing else.
    unsafe { smp::start_secondary_processors(parameters) }
}

/// Rust entry point, called by `boot.S` on the boot CPU at EL1 with the MMU on, on the boot
/// stack, with the device tree's physical address.
#[no_mangle]
pub extern "C" fn kernel_entry(device_tree: u64) -> ! {
    // 1. Vectors first (a fault is then at least caught), then the console, whose address the
    // device tree gives; then who reports exceptions.
    traps::load_vectors_this_cpu();
    // SAFETY: the boot tables map the first GiB (QEMU virt's devices) as device memory at the
    // direct-map base; the PL011 is there until the device tree says otherwise.
    unsafe { serial::set_base(mm::phys_to_virt(FALLBACK_UART) as usize) };
    let tree = device_tree_bytes(device_tree);
    let platform = tree.and_then(devicetree::platform);
    if let Ok(Platform {
        uart: Some((address, _)),
        ..
    }) = &platform
    {
        if *address < mm::BOOT_DIRECT_MAP_LIMIT {
            // SAFETY: as above, at the address the device tree names.
            unsafe { serial::set_base(mm::phys_to_virt(*address) as usize) };
        }
    }
    console::init();
    traps::set_fatal_exception_handler(crate::diagnostics::fatal_exception);
    cpu::unmask_system_errors();
    println!("\nkernel {} booting (aarch64)", env!("CARGO_PKG_VERSION"));

    // 2. Boot information and the hardware description, while the boot direct map exists.
    let info = match tree.and_then(|bytes| devicetree::parse(bytes, device_tree)) {
        Ok(info) => boot::record(info),
        Err(error) => stop("unusable device tree", &error),
    };
    let platform = match platform {
        Ok(platform) => PLATFORM.call_once(|| platform),
        Err(error) => stop("unusable device tree", &error),
    };
    if info.option("semihosting").is_some() {
        semihosting::enable();
    }
    if let Err(word) = console::init_logger(info.option("log")) {
        println!("warning: unknown log level '{word}' on the command line; using info");
    }
    log::info!(
        "boot protocol {}, command line '{}'",
        info.protocol,
        info.command_line()
    );

    // 3. Refuse CPUs without what the kernel relies on.
    let features = cpu::features();
    if let Some(missing) = features.missing_requirement() {
        stop("unsupported CPU", &format_args!("it lacks {missing}"));
    }
    log::info!(
        "CPU MIDR {:#x}, {} physical address bits, PAN {}, RNDR {}",
        features.main_id,
        features.physical_address_bits,
        features.pan,
        features.rndr
    );

    // 4. Frames, then page tables (which allocate frames), then the heap (which needs both).
    // The clock starts here so that log lines carry time from now on.
    time::counter::init();
    let kernel_range = paging::kernel_physical_range();
    let boot_data = info.boot_data.unwrap_or((0, 0));
    if let Err(error) = frames::init(info, &[kernel_range, boot_data]) {
        stop("frame allocator", &error);
    }
    let uart_page = platform.uart.map_or(FALLBACK_UART, |(address, _)| address);
    if let Err(error) = paging::init(info, &[uart_page]) {
        stop("page tables", &error);
    }
    // SAFETY: the kernel tables map the UART's page as device memory at its direct-map address.
    unsafe { serial::set_base(mm::phys_to_virt(uart_page) as usize) };
    // Nothing runs from the low half any more: the boot identity map goes (null pointers fault).
    cpu::disable_low_half();
    mm::stack::register_guard(paging::kernel_sections().boot_stack_guard, "boot", 0);

    // 5. The interrupt controller, then this CPU's per-CPU block and the CPU table.
    let Some(gic_description) = platform.gic else {
        stop("device tree", &"no GICv2 or GICv3 interrupt controller");
    };
    let distributor = map_registers_for_good(
        gic_description.distributor.0,
        gic_description.distributor.1.max(0x1_0000),
    );
    let second = map_registers_for_good(gic_description.second.0, gic_description.second.1);
    match (distributor, second) {
        // SAFETY: uncached mappings of the GIC's frames, kept for the kernel's life.
        (Ok(d), Ok(s)) => unsafe {
            gic::init(
                gic_description.version,
                d,
                s,
                gic_description.second.1 as usize,
                gic_description.second.0,
            )
        },
        (Err(error), _) | (_, Err(error)) => stop("GIC registers", &error),
    }
    // MSIs need the ITS; without it (GICv2, or a failure) devices keep their INTx lines.
    if let Some(its) = gic_description.its {
        match start_interrupt_translation(its) {
            Ok(()) => log::info!("GICv3 ITS at {:#x}: MSI and MSI-X available", its.0),
            Err(error) => log::warn!("GICv3 ITS at {:#x} unusable ({error}); INTx only", its.0),
        }
    }
    let boot_id = cpu::hardware_id();
    let cpu_count = cpus::register_cpus(boot_id, platform.cpus().iter().copied());
    let per_cpu = percpu::init_this_cpu(0, boot_id);
    give_emergency_stack(per_cpu);
    match platform.psci {
        Some(PsciMethod::SecureMonitor) => psci::set_conduit("smc"),
        Some(PsciMethod::Hypervisor) => psci::set_conduit("hvc"),
        None => {}
    }

    // 6. Time: the counter runs already; the RTC anchors the wall clock.
    if let Some(rtc) = platform.rtc {
        time::pl031::set_address(rtc);
    }
    time::init_wall_clock();
    log::info!(
        "generic counter {} MHz; GICv{}; {} CPUs in the device tree",
        time::counter::frequency() / 1_000_000,
        gic_description.version,
        cpu_count
    );

    // 7. Interrupts on: the timer tick, the serial line.
    interrupts::set_timer_interrupt(platform.virtual_timer_intid);
    let period = interrupts::start_timer_this_cpu();
    log::debug!("generic timer: {period} counter ticks per period");
    if let Some((_, intid)) = platform.uart {
        if let Err(error) = interrupts::route_serial(intid) {
            log::warn!("serial input interrupt not routed ({error}); the shell will poll");
        }
    }

    // 8. Threads: the boot context becomes the thread that runs the shell; then the other CPUs.
    crate::sched::init_this_cpu(per_cpu, "main");
    cpu::enable_interrupts();
    let online = start_other_cpus(platform);
    traps::enable_preemption(crate::sched::preempt_if_needed);
    log::info!("{online} of {cpu_count} CPUs online");

    let (free, total) = frames::statistics();
    log::info!(
        "memory: {} MiB usable, {} of {} frames free",
        info.usable_bytes() >> 20,
        free,
        total
    );

    // 9. Devices: PCI through the device tree's ECAM window, then drivers (after interrupts,
    // before the root file system).
    crate::pci::init(platform.pci.as_ref());
    crate::block::init();

    // 10. The root file system: needs the heap for its index.
    crate::rootfs::init(info);

    // 11. The rump hypercall host (threads, files and PCI are all up by now).
    crate::rumphost::install();
    crate::rumphost::halt::set_listener(crate::rump::halted);
    crate::rump::boot();

    // 12. What to run: a deliberate fault, the test suite, or the shell. User processes are an
    // x86_64 feature for now, so `init=` has nothing to start here.
    if let Some(fault) = info.option("fault") {
        crate::testing::trigger_fault(fault);
    }
    if let Some(filter) = info.option("test") {
        crate::testing::run(filter);
    }
    if let Some(path) = info
        .option("init")
        .filter(|p| !p.is_empty() && *p != "kernel")
    {
        println!("init {path}: user processes run on x86_64 only for now; kernel shell instead");
    }
    crate::shell::run()
}
