//! Application-processor start-up: INIT-SIPI-SIPI through a real-mode trampoline at 0x8000.
//!
//! The caller (the kernel's start-up code) provides what this layer cannot own: the trampoline
//! page mapped and identity-mapped, a boot stack per CPU, a clock, and the function each new CPU
//! continues in once it runs 64-bit code with its IDT loaded.

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::{cpu, cpus, idt, lapic};

/// Physical page the AP trampoline runs from (below 1 MiB, never handed out as a frame).
pub const TRAMPOLINE_PHYSICAL: u64 = 0x8000;

static AP_READY: AtomicBool = AtomicBool::new(false);
/// The continuation of a new CPU, as a `fn(usize) -> !` (set before the first start-up).
static CONTINUATION: AtomicUsize = AtomicUsize::new(0);

extern "C" {
    static ap_trampoline_start: u8;
    static ap_trampoline_end: u8;
    static ap_cr3: u8;
    static ap_stack: u8;
    static ap_entry: u8;
    static ap_argument: u8;
}

fn trampoline_offset(symbol: &u8) -> usize {
    // SAFETY: only the address of a linker symbol is taken.
    let start = unsafe { &ap_trampoline_start as *const u8 as usize };
    symbol as *const u8 as usize - start
}

/// What starting the other CPUs needs from the layers above.
pub struct StartParameters<'a> {
    /// A writable mapping of the trampoline page; the page must also be identity-mapped
    /// (virtual = physical) while start-up runs, because the trampoline enables paging there.
    pub trampoline: *mut u8,
    /// Physical address of the kernel's top-level page table.
    pub page_table_root: u64,
    /// Top of a fresh boot stack for CPU `index`; the stack is the CPU's for good.
    pub boot_stack: &'a mut dyn FnMut(usize) -> Option<u64>,
    /// Busy-waits this many nanoseconds.
    pub delay_nanos: &'a dyn Fn(u64),
    /// The monotonic clock in nanoseconds.
    pub now_nanos: &'a dyn Fn() -> u64,
    /// Where each new CPU continues (with its index) after loading the IDT; it must call
    /// [`report_online`] once the CPU can take interrupts, and never return.
    pub continuation: fn(usize) -> !,
}

/// Starts every application processor, one at a time. Returns how many CPUs are online.
///
/// # Safety
/// `parameters.trampoline` must be a writable mapping of the page at [`TRAMPOLINE_PHYSICAL`]
/// that nothing else uses, identity-mapped as described on [`StartParameters`].
pub unsafe fn start_application_processors(parameters: StartParameters<'_>) -> usize {
    let count = cpus::cpu_count();
    if count == 1 {
        return 1;
    }
    CONTINUATION.store(parameters.continuation as usize, Ordering::Release);
    // SAFETY: only addresses of linker symbols are taken.
    let (start, end) = unsafe {
        (
            &ap_trampoline_start as *const u8,
            &ap_trampoline_end as *const u8,
        )
    };
    let length = end as usize - start as usize;
    let base = parameters.trampoline;
    // SAFETY: the caller gives a writable page that nothing else uses; the trampoline is smaller
    // than a page.
    unsafe { core::ptr::copy_nonoverlapping(start, base, length) };
    let write = |symbol: &u8, value: u64| {
        // SAFETY: the parameter slots lie inside the copied trampoline page.
        unsafe { (base.add(trampoline_offset(symbol)) as *mut u64).write_volatile(value) }
    };
    // SAFETY: addresses of linker symbols only.
    let (cr3_slot, stack_slot, entry_slot, argument_slot) =
        unsafe { (&ap_cr3, &ap_stack, &ap_entry, &ap_argument) };
    write(cr3_slot, parameters.page_table_root);
    write(
        entry_slot,
        application_processor_entry as *const () as usize as u64,
    );
    for index in 1..count {
        let Some(apic_id) = cpus::apic_id_of(index) else {
            continue;
        };
        let Some(stack_top) = (parameters.boot_stack)(index) else {
            log::error!("no boot stack for cpu {index}");
            break;
        };
        write(stack_slot, stack_top);
        write(argument_slot, index as u64);
        AP_READY.store(false, Ordering::Release);
        log::debug!("starting cpu {index} (APIC ID {apic_id}): INIT");
        lapic::send_ipi(apic_id, lapic::IpiKind::Init);
        (parameters.delay_nanos)(10_000_000);
        let mut started = false;
        for attempt in 1..=2 {
            log::debug!("cpu {index}: start-up IPI {attempt}");
            lapic::send_ipi(
                apic_id,
                lapic::IpiKind::Startup((TRAMPOLINE_PHYSICAL >> 12) as u8),
            );
            let deadline = (parameters.now_nanos)() + 500_000_000;
            while (parameters.now_nanos)() < deadline {
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
    cpus::online_count()
}

/// Called by a new CPU's continuation once it takes interrupts: counts it online and lets the
/// boot CPU start the next one.
pub fn report_online() {
    cpus::count_online();
    AP_READY.store(true, Ordering::Release);
}

extern "C" fn application_processor_entry(index: u64) -> ! {
    // The IDT first: from here on a fault is reported instead of becoming a triple fault (the
    // trampoline's GDT has the kernel's code selector, which the IDT gates name).
    idt::load_this_cpu();
    cpu::enable_vector_state(&cpu::features());
    let continuation = CONTINUATION.load(Ordering::Acquire);
    // SAFETY: CONTINUATION holds the `fn(usize) -> !` stored before any CPU was started.
    let continuation = unsafe { core::mem::transmute::<usize, fn(usize) -> !>(continuation) };
    continuation(index as usize)
}
