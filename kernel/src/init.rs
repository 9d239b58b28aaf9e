//! The boot sequence, in order, with the reason for each ordering constraint.
//!
//! May import: everything: it wires the layers together in order.

use crate::arch::{cpu, cpus, fpu, gdt, idt, ioapic, lapic, percpu, pic, smp, tlb, traps};
use crate::boot::{self, BootError, PhysicalReader};
use crate::firmware::acpi;
use crate::mm::mmio::MmioRegion;
use crate::mm::stack::KernelStack;
use crate::mm::{self, frames, paging, MemoryError};
use crate::qemu::{self, ExitStatus};
use crate::{console, interrupts, println, time};

/// Reads boot structures through the boot page tables' direct map (first GiB only).
struct EarlyPhysicalReader;

impl PhysicalReader for EarlyPhysicalReader {
    fn read(&self, address: u64, buffer: &mut [u8]) -> Result<(), BootError> {
        let end = address
            .checked_add(buffer.len() as u64)
            .ok_or(BootError::Unreadable(address))?;
        if end > mm::BOOT_DIRECT_MAP_LIMIT {
            return Err(BootError::Unreadable(address));
        }
        // SAFETY: [address, end) lies in the first GiB, which the boot page tables map at the
        // direct-map base; the loader's structures are plain bytes.
        unsafe {
            core::ptr::copy_nonoverlapping(
                mm::phys_to_virt(address) as *const u8,
                buffer.as_mut_ptr(),
                buffer.len(),
            )
        };
        Ok(())
    }
}

fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

/// Runs `path` as process 1 on the console terminal (arguments after ` -- ` on the command
/// line are its argv[1..]); returns when it exits, or at once if it cannot start.
fn run_user_init(path: &str, command_line: &str) {
    use alloc::vec::Vec;
    let mut argv: Vec<Vec<u8>> = alloc::vec![path.as_bytes().to_vec()];
    if let Some((_, rest)) = command_line.split_once(" -- ") {
        argv.extend(rest.split_ascii_whitespace().map(|a| a.as_bytes().to_vec()));
    }
    let envp: Vec<Vec<u8>> = [
        "HOME=/",
        "PATH=/sbin:/usr/sbin:/bin:/usr/bin",
        "TERM=vt100",
        "SHELL=/bin/sh",
    ]
    .iter()
    .map(|v| v.as_bytes().to_vec())
    .collect();
    match crate::process::start_init(path, argv, envp) {
        Ok(pid) => {
            log::info!("started {path} as process {pid}");
            crate::process::INIT_EXITED.wait_until(None, || crate::process::lookup(1).is_none());
            println!("init exited; kernel shell");
        }
        Err(error) => println!("init {path}: {error}; kernel shell instead"),
    }
}

/// Allocates this CPU's IST stacks (each behind a guard page, kept for good) and loads its GDT
/// and TSS.
fn load_descriptor_tables(cpu_index: usize) -> Result<u64, MemoryError> {
    let mut tops = [0u64; 3];
    for (top, name) in tops.iter_mut().zip(gdt::IST_STACK_NAMES) {
        let stack = KernelStack::new(gdt::IST_STACK_PAGES, name, cpu_index)?;
        *top = stack.top();
        core::mem::forget(stack); // IST stacks belong to the CPU forever
    }
    Ok(gdt::init_this_cpu(tops))
}

/// Maps a device's register page for the kernel's life.
fn map_registers_for_good(physical: u64) -> Result<usize, MemoryError> {
    let region = MmioRegion::map(physical, 4096)?;
    let address = region.virtual_address();
    core::mem::forget(region); // interrupt controllers stay mapped
    Ok(address)
}

/// Where each application processor continues once it runs 64-bit code with the IDT loaded.
fn application_processor_main(index: usize) -> ! {
    let tss = match load_descriptor_tables(index) {
        Ok(tss) => tss,
        Err(error) => panic!("cpu {index}: GDT/TSS: {error}"),
    };
    lapic::init_this_cpu(traps::VECTOR_SPURIOUS);
    let per_cpu = percpu::init_this_cpu(index, lapic::id());
    crate::arch::user::init_this_cpu(tss, cpu::protections().smap);
    crate::sched::init_this_cpu(per_cpu, "ap-boot");
    interrupts::start_timer_this_cpu();
    smp::report_online();
    cpu::enable_interrupts();
    // The boot context of an AP has nothing more to do: it becomes a parked thread.
    crate::sched::exit(0)
}

/// Starts the other CPUs; returns how many CPUs are online.
fn start_other_cpus() -> usize {
    use x86_64::structures::paging::PageTableFlags as Flags;
    let trampoline = smp::TRAMPOLINE_PHYSICAL;
    // The trampoline switches on paging while running at its physical address.
    if let Err(error) = paging::map_page(trampoline, trampoline, Flags::PRESENT) {
        log::error!("cannot identity-map the AP trampoline: {error}; running on one CPU");
        return 1;
    }
    let mut boot_stack = |index: usize| match KernelStack::new(8, "ap-boot", index) {
        Ok(stack) => {
            let top = stack.top();
            core::mem::forget(stack); // becomes that CPU's boot thread stack for good
            Some(top)
        }
        Err(error) => {
            log::error!("no stack for cpu {index}: {error}");
            None
        }
    };
    let parameters = smp::StartParameters {
        trampoline: mm::phys_to_virt(trampoline) as *mut u8,
        page_table_root: paging::kernel_pml4(),
        boot_stack: &mut boot_stack,
        delay_nanos: &time::busy_wait_nanos,
        now_nanos: &time::monotonic_nanos,
        continuation: application_processor_main,
        late_cpu: boot::info().option("late_cpu").and_then(|v| v.parse().ok()),
    };
    // SAFETY: the trampoline page (below 1 MiB) is never handed out by the frame allocator, is
    // direct-mapped writable and was identity-mapped just above.
    let outcome = unsafe { smp::start_application_processors(parameters) };
    // A CPU that was given up on may still be inside the trampoline: unmapping it under that
    // CPU would make it triple-fault and reset the whole machine.
    if !outcome.trampoline_in_use {
        let _ = paging::unmap_page(trampoline);
    }
    outcome.online
}

/// Prints why the kernel cannot continue and stops cleanly (QEMU exits with failure).
fn stop(what: &str, why: &dyn core::fmt::Display) -> ! {
    println!("fatal: {what}: {why}");
    println!("the kernel cannot continue; stopping");
    qemu::exit(ExitStatus::Panic);
    cpu::halt_forever()
}

/// Rust entry point, called by `boot.S` on the boot CPU in long mode on the boot stack.
#[no_mangle]
pub extern "C" fn kernel_entry(boot_information: u64, loader_magic: u64) -> ! {
    // 1. The console first: everything after may need to report a failure; then who reports
    // CPU exceptions.
    console::init();
    traps::set_fatal_exception_handler(crate::diagnostics::fatal_exception);
    println!("\nkernel {} booting", env!("CARGO_PKG_VERSION"));

    // 2. Boot information, read while the boot identity/direct map of the first GiB exists.
    let parsed = if loader_magic as u32 == boot::multiboot2::BOOTLOADER_MAGIC {
        boot::multiboot2::parse(&EarlyPhysicalReader, boot_information)
    } else {
        boot::pvh::parse(&EarlyPhysicalReader, boot_information)
    };
    let info = match parsed {
        Ok(info) => boot::record(info),
        Err(error) => stop("unusable boot information", &error),
    };
    if let Err(word) = console::init_logger(info.option("log")) {
        println!("warning: unknown log level '{word}' on the command line; using info");
    }
    log::info!(
        "boot protocol {}, command line '{}'",
        info.protocol,
        info.command_line()
    );

    // 3. Refuse CPUs without what the kernel relies on, before using any of it.
    let features = cpu::features();
    if let Some(missing) = features.missing_requirement() {
        stop("unsupported CPU", &format_args!("it lacks {missing}"));
    }
    cpu::enable_vector_state(&features);
    if features.hypervisor {
        crate::sync::spin::prefer_unfair();
    }
    let protections = cpu::enable_protections(&features);
    log::info!(
        "CPU protections: SMEP {}, SMAP {}, UMIP {}",
        on_off(protections.smep),
        on_off(protections.smap),
        on_off(protections.umip)
    );

    // 4. Frames, then page tables (which allocate frames), then the heap (which needs both).
    let kernel_range = paging::kernel_physical_range();
    let boot_data = info.boot_data.unwrap_or((0, 0));
    if let Err(error) = frames::init(info, &[kernel_range, boot_data]) {
        stop("frame allocator", &error);
    }
    if let Err(error) = paging::init(info) {
        stop("page tables", &error);
    }
    mm::stack::register_guard(paging::kernel_sections().boot_stack_guard, "boot", 0);
    if let Err(error) = mm::user::init_sharing() {
        // Without it fork fails with ENOMEM; the kernel and its own threads are unaffected.
        log::error!("no table of copy-on-write share counts: {error:?}");
    }

    // 5. Descriptor tables: the TSS's IST stacks come from the heap and stack allocator.
    let tss = match load_descriptor_tables(0) {
        Ok(tss) => tss,
        Err(error) => stop("GDT/TSS", &error),
    };
    idt::load_this_cpu();

    // 6. Firmware tables: interrupt controllers and timers are found through them.
    let platform = match acpi::discover(info.rsdp) {
        Ok(platform) => crate::firmware::record(platform),
        Err(error) => stop("ACPI", &error),
    };
    pic::disable();
    match map_registers_for_good(platform.local_apic_address) {
        // SAFETY: an uncached mapping of the LAPIC page, kept for the kernel's life.
        Ok(address) => unsafe { lapic::set_registers(address) },
        Err(error) => stop("local APIC", &error),
    }
    lapic::init_this_cpu(traps::VECTOR_SPURIOUS);
    let bsp_apic_id = lapic::id();
    let cpu_count = cpus::register_cpus(bsp_apic_id, platform.cpus.iter().map(|c| c.apic_id));
    let per_cpu = percpu::init_this_cpu(0, bsp_apic_id);
    crate::arch::user::init_this_cpu(tss, protections.smap);
    for io in &platform.ioapics {
        match map_registers_for_good(io.address) {
            Ok(address) => {
                // SAFETY: an uncached mapping of this IOAPIC's page, kept for good, used only here.
                let pins = unsafe { ioapic::add(address, io.gsi_base) };
                log::debug!(
                    "I/O APIC {} at {:#x}: GSIs {}..{}",
                    io.id,
                    io.address,
                    io.gsi_base,
                    io.gsi_base + pins
                );
            }
            Err(error) => log::error!("I/O APIC {} at {:#x} unusable: {error}", io.id, io.address),
        }
    }

    // 7. Time: HPET first, as the reference the TSC is calibrated against.
    if let Some(address) = platform.hpet_address {
        if let Err(error) = time::hpet::init(address) {
            log::warn!("HPET unusable: {error}");
        }
    }
    let (tsc_hz, reference) = time::tsc::calibrate();
    if !features.invariant_tsc {
        log::warn!("the TSC is not invariant; the monotonic clock may drift with CPU frequency");
    }
    time::init_wall_clock();
    log::info!(
        "TSC {} MHz (calibrated against {:?}); {} CPUs reported by ACPI",
        tsc_hz / 1_000_000,
        reference,
        cpu_count
    );

    // 8. Interrupts on: the timer needs the calibrated TSC; the serial line needs the IOAPIC.
    let timer_count = interrupts::start_timer_this_cpu();
    log::debug!("local APIC timer: {timer_count} ticks per period");
    if let Err(error) = interrupts::route_serial(platform, bsp_apic_id) {
        log::warn!("serial input interrupt not routed ({error}); the shell will poll");
    }
    // 9. Threads: the boot context becomes the thread that runs the shell; then the other CPUs.
    fpu::init(&features);
    tlb::init();
    crate::sched::init_this_cpu(per_cpu, "main");
    log::debug!("scheduler up on the boot CPU; enabling interrupts");
    cpu::enable_interrupts();
    let online = start_other_cpus();
    traps::enable_preemption(crate::sched::preempt_if_needed);
    log::info!("{online} of {cpu_count} CPUs online");

    let (free, total) = frames::statistics();
    log::info!(
        "memory: {} MiB usable, {} of {} frames free",
        info.usable_bytes() >> 20,
        free,
        total
    );

    // Devices: PCI enumeration and drivers (after interrupts, before the root file system).
    crate::pci::init(platform);
    crate::block::init();
    crate::net::init();

    // 10. The root file system: needs the heap for its index.
    crate::rootfs::init(info);

    // 11. The rump hypercall host (threads, files and PCI are all up by now).
    crate::rumphost::install();
    crate::rumphost::halt::set_listener(crate::rump::halted);
    crate::rump::boot();

    // 12. What to run: a deliberate fault, the test suite, or the shell.
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
        run_user_init(path, info.command_line());
    }
    crate::shell::run()
}
