//! CPUs: the table of APIC IDs, application-processor start-up (INIT-SIPI-SIPI through a real-
//! mode trampoline at 0x8000), and TLB shootdown IPIs.

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use x86_64::structures::paging::PageTableFlags as Flags;

use crate::arch::{cpu, gdt, idt, lapic, percpu, traps};
use crate::mm::stack::KernelStack;
use crate::sync::spin::IrqSpinLock;

/// Most CPUs the kernel manages.
pub const MAX_CPUS: usize = 64;
/// Physical page the AP trampoline runs from.
const TRAMPOLINE: u64 = 0x8000;
/// Vector of the TLB-shootdown IPI.
pub const VECTOR_SHOOTDOWN: u8 = 0xe2;

static APIC_IDS: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(u32::MAX) }; MAX_CPUS];
static CPU_COUNT: AtomicUsize = AtomicUsize::new(1);
static ONLINE: AtomicUsize = AtomicUsize::new(1);
static AP_READY: AtomicBool = AtomicBool::new(false);

/// Records the firmware's CPU list; the boot CPU (`bsp_apic_id`) becomes index 0.
pub fn register_cpus(bsp_apic_id: u32, apic_ids: impl Iterator<Item = u32>) -> usize {
    APIC_IDS[0].store(bsp_apic_id, Ordering::Relaxed);
    let mut count = 1;
    for id in apic_ids.filter(|&id| id != bsp_apic_id) {
        if count == MAX_CPUS {
            log::warn!("more than {MAX_CPUS} CPUs; ignoring APIC ID {id} and above");
            break;
        }
        APIC_IDS[count].store(id, Ordering::Relaxed);
        count += 1;
    }
    CPU_COUNT.store(count, Ordering::Release);
    count
}

/// Index of the CPU with `apic_id` (0 if unknown).
pub fn index_of_apic(apic_id: u32) -> usize {
    let count = CPU_COUNT.load(Ordering::Acquire);
    APIC_IDS[..count]
        .iter()
        .position(|id| id.load(Ordering::Relaxed) == apic_id)
        .unwrap_or(0)
}

/// APIC ID of CPU `index`.
pub fn apic_id_of(index: usize) -> Option<u32> {
    (index < CPU_COUNT.load(Ordering::Acquire)).then(|| APIC_IDS[index].load(Ordering::Relaxed))
}

/// CPUs the firmware reported.
pub fn cpu_count() -> usize {
    CPU_COUNT.load(Ordering::Acquire)
}

/// CPUs running kernel code.
pub fn online_count() -> usize {
    ONLINE.load(Ordering::Acquire)
}

extern "C" {
    static ap_trampoline_start: u8;
    static ap_trampoline_end: u8;
    static ap_cr3: u8;
    static ap_stack: u8;
    static ap_entry: u8;
    static ap_argument: u8;
}

fn trampoline_offset(symbol: &u8) -> u64 {
    // SAFETY: only addresses of linker symbols are compared.
    symbol as *const u8 as u64 - unsafe { &ap_trampoline_start as *const u8 as u64 }
}

/// Starts every application processor, one at a time. Returns how many came online.
pub fn start_application_processors() -> usize {
    let count = cpu_count();
    if count == 1 {
        return 1;
    }
    // SAFETY: only addresses of linker symbols are taken.
    let (start, end) = unsafe {
        (
            &ap_trampoline_start as *const u8,
            &ap_trampoline_end as *const u8,
        )
    };
    let length = end as usize - start as usize;
    // The trampoline switches on paging while running at its physical address.
    if let Err(error) = crate::mm::paging::map_page(TRAMPOLINE, TRAMPOLINE, Flags::PRESENT) {
        log::error!("cannot identity-map the AP trampoline: {error}; running on one CPU");
        return 1;
    }
    let base = crate::mm::phys_to_virt(TRAMPOLINE) as *mut u8;
    // SAFETY: 0x8000 is below 1 MiB, never handed out by the frame allocator, direct-mapped, and
    // the trampoline is smaller than a page.
    unsafe { core::ptr::copy_nonoverlapping(start, base, length) };
    let write = |symbol: &u8, value: u64| {
        // SAFETY: the parameter slots lie inside the copied trampoline page.
        unsafe { (base.add(trampoline_offset(symbol) as usize) as *mut u64).write_volatile(value) }
    };
    // SAFETY: addresses of linker symbols only.
    let (cr3_slot, stack_slot, entry_slot, argument_slot) =
        unsafe { (&ap_cr3, &ap_stack, &ap_entry, &ap_argument) };
    write(cr3_slot, crate::mm::paging::kernel_pml4());
    write(
        entry_slot,
        application_processor_entry as *const () as usize as u64,
    );
    for index in 1..count {
        let Some(apic_id) = apic_id_of(index) else {
            continue;
        };
        let stack = match KernelStack::new(8, "ap-boot", index) {
            Ok(stack) => stack,
            Err(error) => {
                log::error!("no stack for cpu {index}: {error}");
                break;
            }
        };
        write(stack_slot, stack.top());
        write(argument_slot, index as u64);
        core::mem::forget(stack); // becomes that CPU's boot thread stack for good
        AP_READY.store(false, Ordering::Release);
        log::debug!("starting cpu {index} (APIC ID {apic_id}): INIT");
        lapic::send_ipi(apic_id, lapic::IpiKind::Init);
        crate::time::busy_wait_nanos(10_000_000);
        let mut started = false;
        for attempt in 1..=2 {
            log::debug!("cpu {index}: start-up IPI {attempt}");
            lapic::send_ipi(apic_id, lapic::IpiKind::Startup((TRAMPOLINE >> 12) as u8));
            let deadline = crate::time::monotonic_nanos() + 500_000_000;
            while crate::time::monotonic_nanos() < deadline {
                if AP_READY.load(Ordering::Acquire) {
                    started = true;
                    break;
                }
                core::hint::spin_loop();
            }
            if started {
                break;
            }
        }
        if !started {
            // Park it for good: a CPU that wakes up late must not run on parameters that the
            // next start-up overwrites.
            lapic::send_ipi(apic_id, lapic::IpiKind::Init);
            log::error!(
                "cpu {index} (APIC ID {apic_id}) did not start within 1 s; running without it"
            );
        }
    }
    let _ = crate::mm::paging::unmap_page(TRAMPOLINE);
    online_count()
}

extern "C" fn application_processor_entry(index: u64) -> ! {
    let index = index as usize;
    // The IDT first: from here on a fault is reported instead of becoming a triple fault (the
    // trampoline's GDT has the kernel's code selector, which the IDT gates name).
    idt::load_this_cpu();
    let features = cpu::features();
    cpu::enable_vector_state(&features);
    if let Err(error) = gdt::init_this_cpu(index) {
        panic!("cpu {index}: GDT/TSS: {error}");
    }
    lapic::init_this_cpu(traps::VECTOR_SPURIOUS);
    let per_cpu = percpu::init_this_cpu(index, lapic::id());
    crate::sched::init_this_cpu(per_cpu, "ap-boot");
    crate::interrupts::start_timer_this_cpu();
    ONLINE.fetch_add(1, Ordering::AcqRel);
    AP_READY.store(true, Ordering::Release);
    x86_64::instructions::interrupts::enable();
    // The boot context of an AP has nothing more to do: it becomes a parked thread.
    crate::sched::exit(0)
}

/// Name of what runs on this CPU, for reports.
pub fn current_context_name() -> crate::sched::ThreadName {
    if crate::sched::is_running() {
        crate::sched::current_name()
    } else {
        crate::sched::ThreadName::from_static("boot")
    }
}

/// Serialises shootdowns: one request is in flight at a time.
static SHOOTDOWN: IrqSpinLock<()> = IrqSpinLock::new("tlb-shootdown", ());
static SHOOTDOWN_PENDING: AtomicU64 = AtomicU64::new(0);
static SHOOTDOWN_ARGUMENTS: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

fn flush_local(start: u64, pages: u64) {
    if pages > 64 {
        x86_64::instructions::tlb::flush_all();
    } else {
        for i in 0..pages {
            x86_64::instructions::tlb::flush(x86_64::VirtAddr::new(start + i * 4096));
        }
    }
}

fn service_shootdown() {
    let bit = 1u64 << (percpu::this().index % 64);
    if SHOOTDOWN_PENDING.load(Ordering::Acquire) & bit != 0 {
        let start = SHOOTDOWN_ARGUMENTS[0].load(Ordering::Acquire);
        let pages = SHOOTDOWN_ARGUMENTS[1].load(Ordering::Acquire);
        flush_local(start, pages);
        SHOOTDOWN_PENDING.fetch_and(!bit, Ordering::AcqRel);
    }
}

/// Installs the shootdown IPI handler (once).
pub fn init_shootdown() {
    traps::set_handler(VECTOR_SHOOTDOWN, |_| service_shootdown());
}

/// Flushes `[start, start + pages * 4 KiB)` from every online CPU's TLB and waits until all
/// have done so. The caller must hold no spin lock other CPUs might wait for.
pub fn shootdown(start: u64, pages: u64) {
    // Stay on one CPU for the whole request: `me` must stay true.
    let interrupts_were_enabled = cpu::disable_interrupts();
    flush_local(start, pages);
    if online_count() < 2 || !percpu::is_initialised() {
        cpu::restore_interrupts(interrupts_were_enabled);
        return;
    }
    let me = percpu::this().index;
    // Serve incoming requests while waiting for the lock, so two senders cannot deadlock.
    let guard = loop {
        if let Some(guard) = SHOOTDOWN.try_lock() {
            break guard;
        }
        service_shootdown();
        core::hint::spin_loop();
    };
    // Only CPUs that really run (a CPU that failed to start has no per-CPU block).
    let others = || (0..cpu_count()).filter(move |&i| i != me && percpu::of(i).is_some());
    let mut targets = 0u64;
    for index in others() {
        targets |= 1 << (index % 64);
    }
    SHOOTDOWN_ARGUMENTS[0].store(start, Ordering::Release);
    SHOOTDOWN_ARGUMENTS[1].store(pages, Ordering::Release);
    SHOOTDOWN_PENDING.store(targets, Ordering::Release);
    for index in others() {
        if let Some(apic_id) = apic_id_of(index) {
            lapic::send_ipi(apic_id, lapic::IpiKind::Fixed(VECTOR_SHOOTDOWN));
        }
    }
    while SHOOTDOWN_PENDING.load(Ordering::Acquire) != 0 {
        core::hint::spin_loop();
    }
    drop(guard);
    cpu::restore_interrupts(interrupts_were_enabled);
}
