//! The boot sequence, in order, with the reason for each ordering constraint.

use spin::Once;

use crate::arch::{cpu, gdt, idt, ioapic, lapic, pic, traps};
use crate::boot::{self, BootError, BootInfo, PhysicalReader};
use crate::firmware::acpi::{self, Platform};
use crate::mm::{self, frames, paging};
use crate::qemu::{self, ExitStatus};
use crate::{console, interrupts, println, smp, time};

static BOOT_INFO: Once<BootInfo> = Once::new();
static PLATFORM: Once<Platform> = Once::new();

/// The boot information (after start-up).
pub fn boot_info() -> &'static BootInfo {
    BOOT_INFO
        .get()
        .expect("boot information is recorded first thing at start-up")
}

/// The firmware's platform description (after start-up).
pub fn platform() -> &'static Platform {
    PLATFORM.get().expect("ACPI is read during start-up")
}

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
    // 1. The console first: everything after may need to report a failure.
    console::init();
    println!("\nkernel {} booting", env!("CARGO_PKG_VERSION"));

    // 2. Boot information, read while the boot identity/direct map of the first GiB exists.
    let parsed = if loader_magic as u32 == boot::multiboot2::BOOTLOADER_MAGIC {
        boot::multiboot2::parse(&EarlyPhysicalReader, boot_information)
    } else {
        boot::pvh::parse(&EarlyPhysicalReader, boot_information)
    };
    let info = match parsed {
        Ok(info) => BOOT_INFO.call_once(|| info),
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

    // 5. Descriptor tables: the TSS's IST stacks come from the heap and stack allocator.
    if let Err(error) = gdt::init_this_cpu(0) {
        stop("GDT/TSS", &error);
    }
    idt::load_this_cpu();

    // 6. Firmware tables: interrupt controllers and timers are found through them.
    let platform = match acpi::discover(info.rsdp) {
        Ok(platform) => PLATFORM.call_once(|| platform),
        Err(error) => stop("ACPI", &error),
    };
    pic::disable();
    if let Err(error) = lapic::map(platform.local_apic_address) {
        stop("local APIC", &error);
    }
    lapic::init_this_cpu(traps::VECTOR_SPURIOUS);
    let bsp_apic_id = lapic::id();
    let cpu_count = smp::register_cpus(bsp_apic_id, platform.cpus.iter().map(|c| c.apic_id));
    let per_cpu = crate::arch::percpu::init_this_cpu(0, bsp_apic_id);
    for io in &platform.ioapics {
        match ioapic::add(io.address, io.gsi_base) {
            Ok(pins) => log::debug!(
                "I/O APIC {} at {:#x}: GSIs {}..{}",
                io.id,
                io.address,
                io.gsi_base,
                io.gsi_base + pins
            ),
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
    crate::sched::fpu::init(&features);
    smp::init_shootdown();
    crate::sched::init_this_cpu(per_cpu, "main");
    log::debug!("scheduler up on the boot CPU; enabling interrupts");
    x86_64::instructions::interrupts::enable();
    let online = smp::start_application_processors();
    traps::enable_preemption();
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

    // 10. The root file system: needs the heap for its index.
    crate::rootfs::init(info);

    // 11. The rump hypercall host (threads, files and PCI are all up by now).
    crate::rumphost::install();
    crate::rumphost::components::boot();

    // 12. What to run: a deliberate fault, the test suite, or the shell.
    if let Some(fault) = info.option("fault") {
        crate::testing::trigger_fault(fault);
    }
    if let Some(filter) = info.option("test") {
        crate::testing::run(filter);
    }
    crate::shell::run()
}
