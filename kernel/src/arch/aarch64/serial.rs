//! PL011 UART driver for the serial console (Arm DDI 0183): polled output, receive interrupts.
//!
//! The register page is reached through a virtual address set once at start-up ([`set_base`]);
//! until then output is dropped.

use core::sync::atomic::{AtomicUsize, Ordering};

const DATA: usize = 0x00;
const FLAGS: usize = 0x18;
const INTERRUPT_MASK: usize = 0x38;
const INTERRUPT_CLEAR: usize = 0x44;
const FLAG_RECEIVE_EMPTY: u32 = 1 << 4;
const FLAG_TRANSMIT_FULL: u32 = 1 << 5;
const RECEIVE_INTERRUPTS: u32 = (1 << 4) | (1 << 6); // receive and receive timeout

static BASE: AtomicUsize = AtomicUsize::new(0);

/// Uses the PL011 whose registers are mapped at `virtual_address`.
///
/// # Safety
/// The address must be an uncached (device) mapping of a PL011's register page, kept for good.
pub unsafe fn set_base(virtual_address: usize) {
    BASE.store(virtual_address, Ordering::Release);
}

/// The console UART.
#[derive(Debug, Clone, Copy)]
pub struct Uart;

impl Uart {
    /// The console port (the name matches x86_64's COM1).
    pub const fn com1() -> Self {
        Self
    }

    fn register(&self, offset: usize) -> Option<*mut u32> {
        let base = BASE.load(Ordering::Acquire);
        (base != 0).then_some((base + offset) as *mut u32)
    }

    fn read(&self, offset: usize) -> u32 {
        // SAFETY: `set_base` promised a device mapping of the PL011's page.
        self.register(offset)
            .map_or(0, |r| unsafe { core::ptr::read_volatile(r) })
    }

    fn write(&self, offset: usize, value: u32) {
        if let Some(r) = self.register(offset) {
            // SAFETY: as in `read`.
            unsafe { core::ptr::write_volatile(r, value) }
        }
    }

    /// QEMU's PL011 (and firmware-set-up ones) are ready as they are; returns whether a UART is
    /// known.
    pub fn init(&self) -> bool {
        BASE.load(Ordering::Acquire) != 0
    }

    /// Writes one byte, waiting while the transmit FIFO is full.
    pub fn write_byte(&self, byte: u8) {
        if BASE.load(Ordering::Acquire) == 0 {
            return;
        }
        while self.read(FLAGS) & FLAG_TRANSMIT_FULL != 0 {
            core::hint::spin_loop();
        }
        self.write(DATA, u32::from(byte));
    }

    /// Reads a byte if one is waiting.
    pub fn try_read_byte(&self) -> Option<u8> {
        if !self.has_input() {
            return None;
        }
        Some(self.read(DATA) as u8)
    }

    /// Whether a received byte is waiting.
    pub fn has_input(&self) -> bool {
        BASE.load(Ordering::Acquire) != 0 && self.read(FLAGS) & FLAG_RECEIVE_EMPTY == 0
    }

    /// Raises an interrupt when bytes arrive.
    pub fn enable_receive_interrupt(&self) {
        self.write(INTERRUPT_CLEAR, 0x7ff);
        self.write(INTERRUPT_MASK, RECEIVE_INTERRUPTS);
    }

    /// Stops receive interrupts (the line stays raised while bytes wait).
    pub fn mask_receive_interrupt(&self) {
        self.write(INTERRUPT_MASK, 0);
    }
}
