//! FPU/SSE/AVX state of threads that use it, saved with XSAVE (or FXSAVE without it).

use alloc::alloc::{alloc_zeroed, dealloc, Layout};
use core::sync::atomic::{AtomicUsize, Ordering};

static AREA_SIZE: AtomicUsize = AtomicUsize::new(512);
static USE_XSAVE: AtomicUsize = AtomicUsize::new(0);

/// Records the save-area size for the features enabled in XCR0; call once on the boot CPU
/// after `enable_vector_state`.
pub fn init(features: &super::cpu::Features) {
    if features.xsave {
        let size = core::arch::x86_64::__cpuid_count(0xd, 0).ebx as usize;
        AREA_SIZE.store(size.max(576), Ordering::Relaxed);
        USE_XSAVE.store(1, Ordering::Relaxed);
    }
}

/// A 64-byte aligned save area.
pub struct FpuState {
    area: *mut u8,
    layout: Layout,
}

// SAFETY: the area is owned by one thread and only touched while switching that thread.
unsafe impl Send for FpuState {}
// SAFETY: as above.
unsafe impl Sync for FpuState {}

impl FpuState {
    /// A save area holding the initial state (x87 control word 0x37f, MXCSR 0x1f80).
    pub fn new() -> Self {
        let layout =
            Layout::from_size_align(AREA_SIZE.load(Ordering::Relaxed), 64).expect("valid layout");
        // SAFETY: non-zero size.
        let area = unsafe { alloc_zeroed(layout) };
        if area.is_null() {
            alloc::alloc::handle_alloc_error(layout);
        }
        // SAFETY: the area is at least 512 bytes; FCW at 0, MXCSR at 24 (FXSAVE layout).
        unsafe {
            (area as *mut u16).write(0x037f);
            (area.add(24) as *mut u32).write(0x1f80);
        }
        Self { area, layout }
    }

    /// Saves the CPU's vector state here.
    pub fn save(&self) {
        // SAFETY: the area is large enough and 64-byte aligned for XSAVE/FXSAVE.
        unsafe {
            if USE_XSAVE.load(Ordering::Relaxed) == 1 {
                core::arch::asm!("xsave64 [{}]", in(reg) self.area, in("eax") u32::MAX, in("edx") u32::MAX, options(nostack));
            } else {
                core::arch::asm!("fxsave64 [{}]", in(reg) self.area, options(nostack));
            }
        }
    }

    /// Loads the vector state saved here.
    pub fn restore(&self) {
        // SAFETY: the area holds a valid image written by `save` or `new`.
        unsafe {
            if USE_XSAVE.load(Ordering::Relaxed) == 1 {
                core::arch::asm!("xrstor64 [{}]", in(reg) self.area, in("eax") u32::MAX, in("edx") u32::MAX, options(nostack));
            } else {
                core::arch::asm!("fxrstor64 [{}]", in(reg) self.area, options(nostack));
            }
        }
    }
}

impl Default for FpuState {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for FpuState {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { dealloc(self.area, self.layout) };
    }
}

/// The legacy (FXSAVE) image of x87 and SSE state, as Linux puts it in a signal frame.
#[repr(C, align(16))]
pub struct LegacyImage(pub [u8; 512]);

/// Saves the running context's x87/SSE state.
pub fn save_legacy(image: &mut LegacyImage) {
    // SAFETY: the image is 512 bytes, 16-byte aligned, as FXSAVE requires.
    unsafe { core::arch::asm!("fxsave64 [{}]", in(reg) image.0.as_mut_ptr(), options(nostack)) };
}

/// Loads x87/SSE state from an image that may come from user memory: MXCSR's reserved bits are
/// cleared first, so a forged image cannot fault in the kernel.
pub fn restore_legacy(image: &mut LegacyImage) {
    let mut mxcsr = u32::from_le_bytes([image.0[24], image.0[25], image.0[26], image.0[27]]);
    mxcsr &= 0xffff;
    image.0[24..28].copy_from_slice(&mxcsr.to_le_bytes());
    // SAFETY: as in `save_legacy`; the only field FXRSTOR rejects (MXCSR reserved bits) is clean.
    unsafe { core::arch::asm!("fxrstor64 [{}]", in(reg) image.0.as_ptr(), options(nostack)) };
}
