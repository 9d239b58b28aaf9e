//! The kernel's implementation of rumpuser's `Host`: rump threads are kernel threads, blocking
//! is a hashed table of wait queues keyed by address, memory is the (physically contiguous)
//! heap, files are block devices, initrd files and a small RAM file store; `rumpuser_bio` on a
//! block device goes straight to the device, several requests in flight.
//!
//! Must not: call into the rump kernel (upcalls are rumpuser's business), or block in `wake`
//! (interrupt handlers call it through `IrqLine::raise`).
//!
//! This is the host *below* the rump kernel; the kernel as a rump *client* (start-up, mounts,
//! the `rump` commands) is `crate::rump`, and the two meet only through the rump kernel.
//!
//! May import: `arch`, `sync`, `mm`, `time`, `sched`, `pci`, `block`, `rootfs`, `boot`,
//! `console`, `testing` (for the in-kernel contract suite).

#[cfg(rump_wrap_aio_biodone)]
mod aiodone;
mod blocks;
#[cfg(not(rump_components))]
mod contract;
mod files;
pub mod halt;
mod pci;
#[cfg(rump_wrap_pci_glue)]
mod pci_glue;
#[cfg(rump_wrap_bus_space_write_2)]
mod qemu_hda;

use alloc::boxed::Box;
use alloc::string::String;
use core::alloc::Layout;
use core::ffi::{c_void, CStr};
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, Ordering};
use core::time::Duration;

use rumpuser::host::{
    FileInfo, JoinToken, OpenFlags, SyncFlags, ThreadAttrs, ThreadStart, WaitOutcome,
};
use rumpuser::{BioRequest, Errno, Host};

use crate::sched::wait::{WaitQueue, WaitResult};
use crate::sched::{self, Builder, JoinHandle, Priority};

const BUCKETS: usize = 64;

/// The kernel as a rump host.
pub struct KernelHost {
    buckets: [WaitQueue; BUCKETS],
}

static HOST: KernelHost = KernelHost {
    buckets: [const { WaitQueue::new("rump-futex") }; BUCKETS],
};

/// Installs the kernel host for the hypercall layer (once, at boot).
pub fn install() {
    if rumpuser::install(&HOST).is_err() {
        log::warn!("a rumpuser host was already installed");
    }
}

fn bucket(word: &AtomicU32) -> &'static WaitQueue {
    let address = word as *const AtomicU32 as usize;
    &HOST.buckets[(address >> 2).wrapping_mul(0x9e37_79b9) % BUCKETS]
}

fn nanos(duration: Duration) -> u64 {
    duration.as_nanos().min(u64::MAX as u128) as u64
}

fn random_word() -> u64 {
    crate::arch::cpu::random_u64()
}

impl Host for KernelHost {
    fn spawn(&self, start: ThreadStart, attrs: &ThreadAttrs<'_>) -> Result<JoinToken, Errno> {
        halt::checkpoint();
        let mut builder = Builder::new(attrs.name.unwrap_or("rump"));
        builder.uses_fpu = true; // foreign C code; its build flags decide whether it uses SSE
        builder.stack_pages = 16;
        builder.priority = if attrs.priority > 0 {
            Priority::RealTime
        } else {
            Priority::Normal
        };
        let handle = sched::spawn(builder, move || {
            start.run();
            0
        })
        .map_err(|_| Errno::ENOMEM)?;
        if attrs.joinable {
            Ok(JoinToken(Box::into_raw(Box::new(handle)) as usize))
        } else {
            handle.detach();
            Ok(JoinToken(0))
        }
    }

    fn exit_thread(&self) -> ! {
        sched::exit(0)
    }

    fn join(&self, token: JoinToken) -> Result<(), Errno> {
        halt::checkpoint();
        if token.0 == 0 {
            return Err(Errno::EINVAL);
        }
        // SAFETY: joinable tokens are made by `spawn` from `Box::into_raw` and joined once
        // (docs/contract.md §4.3).
        let handle = unsafe { Box::from_raw(token.0 as *mut JoinHandle) };
        handle.join();
        halt::checkpoint();
        Ok(())
    }

    fn curlwp(&self) -> *mut c_void {
        sched::current_thread().slot()
    }

    fn set_curlwp(&self, lwp: *mut c_void) {
        sched::current_thread().set_slot(lwp);
    }

    fn set_errno(&self, errno: i32) {
        sched::current_thread()
            .foreign_errno
            .store(errno, Ordering::Relaxed);
    }

    fn wait(&self, word: &AtomicU32, expected: u32, deadline: Option<Duration>) -> WaitOutcome {
        halt::checkpoint();
        let outcome = match bucket(word).wait_once(deadline.map(nanos), || {
            word.load(Ordering::Acquire) != expected
        }) {
            WaitResult::TimedOut => WaitOutcome::TimedOut,
            WaitResult::Ready | WaitResult::Woken => WaitOutcome::Woken,
        };
        halt::checkpoint();
        outcome
    }

    fn wake(&self, word: &AtomicU32, _count: u32) {
        // Several words share a bucket: wake everyone there (spurious wake-ups are allowed).
        let woken = bucket(word).wake_all();
        rumpuser::stats::add(rumpuser::stats::Kind::Woken, woken as u64);
    }

    fn monotonic(&self) -> Duration {
        Duration::from_nanos(crate::time::monotonic_nanos())
    }

    fn wall_clock(&self) -> Duration {
        let (seconds, nanos) = crate::time::wall_clock();
        Duration::new(seconds, nanos)
    }

    fn sleep_until(&self, deadline: Duration) {
        halt::checkpoint();
        sched::sleep_until(nanos(deadline));
        halt::checkpoint();
    }

    fn timestamp(&self) -> u64 {
        crate::arch::cpu::rdtsc()
    }

    fn alloc(&self, layout: Layout) -> Option<NonNull<u8>> {
        if blocks::handles(layout) {
            return blocks::allocate(layout);
        }
        // SAFETY: rumpuser never asks for zero-sized layouts.
        NonNull::new(unsafe { alloc::alloc::alloc(layout) })
    }

    unsafe fn dealloc(&self, pointer: NonNull<u8>, layout: Layout) {
        if blocks::handles(layout) {
            return blocks::free(pointer, layout);
        }
        // SAFETY: the caller passes back a pointer from `alloc` with its layout.
        unsafe { alloc::alloc::dealloc(pointer.as_ptr(), layout) }
    }

    fn random(&self, buffer: &mut [u8]) -> Result<usize, Errno> {
        for chunk in buffer.chunks_mut(8) {
            let word = random_word().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
        Ok(buffer.len())
    }

    fn console_putc(&self, byte: u8) {
        halt::console_byte(byte);
        crate::print!("{}", byte as char);
    }

    fn ncpu(&self) -> u32 {
        crate::arch::cpus::online_count() as u32
    }

    fn hostname(&self) -> String {
        String::from("rumphost")
    }

    fn param(&self, key: &str) -> Option<String> {
        // `rump.KEY=value` on the kernel command line passes parameters through.
        let wanted = alloc::format!("rump.{key}");
        crate::boot::info().option(&wanted).map(String::from)
    }

    fn exit(&self, code: i32) -> ! {
        // A panic or halt stops the rump kernel only (contract §13.1).
        halt::halt(code)
    }

    fn open(&self, name: &CStr, flags: OpenFlags) -> Result<i32, Errno> {
        halt::checkpoint();
        files::open(name, flags)
    }

    fn close(&self, fd: i32) -> Result<(), Errno> {
        files::close(fd)
    }

    fn file_info(&self, name: &CStr) -> Result<FileInfo, Errno> {
        files::info(name)
    }

    fn read(&self, fd: i32, buffer: &mut [u8], offset: Option<u64>) -> Result<usize, Errno> {
        halt::checkpoint();
        let result = files::read(fd, buffer, offset);
        halt::checkpoint(); // a halted rump kernel gets no completion
        result
    }

    fn write(&self, fd: i32, data: &[u8], offset: Option<u64>) -> Result<usize, Errno> {
        halt::checkpoint();
        let result = files::write(fd, data, offset);
        halt::checkpoint();
        result
    }

    fn sync(&self, fd: i32, _flags: SyncFlags, _start: u64, _length: u64) -> Result<(), Errno> {
        files::sync(fd)
    }

    fn start_bio(&self, request: BioRequest) -> Result<(), BioRequest> {
        halt::checkpoint();
        files::start_bio(request)
    }

    fn checkpoint(&self) {
        halt::checkpoint()
    }

    fn wakes_run_here(&self) {
        sched::current_thread()
            .wakes_run_here
            .store(true, Ordering::Relaxed);
    }

    fn pci_config_read(
        &self,
        bus: u32,
        device: u32,
        function: u32,
        register: u32,
    ) -> Result<u32, Errno> {
        pci::config_read(bus, device, function, register)
    }

    fn pci_config_write(
        &self,
        bus: u32,
        device: u32,
        function: u32,
        register: u32,
        value: u32,
    ) -> Result<(), Errno> {
        pci::config_write(bus, device, function, register, value)
    }

    fn pci_map_mmio(&self, physical: u64, length: u64) -> Option<NonNull<c_void>> {
        pci::map_mmio(physical, length)
    }

    fn pci_irq_map(
        &self,
        bus: u32,
        device: u32,
        function: u32,
        line: i32,
        cookie: u32,
    ) -> Result<(), Errno> {
        pci::irq_map(bus, device, function, line, cookie)
    }

    fn pci_irq_attach(
        &self,
        cookie: u32,
        line: &'static rumpuser::host::IrqLine,
    ) -> Result<(), Errno> {
        pci::irq_attach(cookie, line)
    }

    fn pci_irq_done(&self, cookie: u32) {
        pci::irq_done(cookie)
    }

    fn pci_irq_detach(&self, cookie: u32) {
        pci::irq_detach(cookie)
    }

    fn dma_alloc(&self, size: usize, align: usize) -> Result<(u64, NonNull<u8>), Errno> {
        pci::dma_alloc(size, align)
    }

    unsafe fn dma_free(&self, virt: NonNull<u8>, size: usize) {
        pci::dma_free(virt, size)
    }

    fn virt_to_bus(&self, virt: *const c_void) -> u64 {
        crate::mm::virt_to_phys_linear(virt as u64)
            .or_else(|| crate::mm::paging::translate(virt as u64).map(|t| t.physical))
            .unwrap_or(0)
    }

    fn pci_iospace_init(&self) -> Result<(), Errno> {
        // Kernel threads run at CPL 0: port I/O is always allowed.
        Ok(())
    }
}
