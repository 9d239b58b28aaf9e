//! 16550 UART driver for the serial console (COM1, 115200 8N1, receive interrupts).

use super::port;

/// I/O base of COM1.
pub const COM1: u16 = 0x3f8;
/// Legacy ISA IRQ line of COM1.
pub const COM1_IRQ: u8 = 4;

const DATA: u16 = 0;
const INTERRUPT_ENABLE: u16 = 1;
const FIFO_CONTROL: u16 = 2;
const LINE_CONTROL: u16 = 3;
const MODEM_CONTROL: u16 = 4;
const LINE_STATUS: u16 = 5;
const SCRATCH: u16 = 7;

const LINE_STATUS_DATA_READY: u8 = 0x01;
const LINE_STATUS_TRANSMIT_EMPTY: u8 = 0x20;

/// A 16550-compatible UART at an I/O base.
#[derive(Debug, Clone, Copy)]
pub struct Uart {
    base: u16,
}

impl Uart {
    /// The COM1 port.
    pub const fn com1() -> Self {
        Self { base: COM1 }
    }

    /// Programs 115200 baud, 8N1, FIFOs on; returns false when no UART answers at the port.
    pub fn init(&self) -> bool {
        port::write_u8(self.base + SCRATCH, 0x5a);
        if port::read_u8(self.base + SCRATCH) != 0x5a {
            return false;
        }
        port::write_u8(self.base + INTERRUPT_ENABLE, 0x00);
        port::write_u8(self.base + LINE_CONTROL, 0x80); // divisor latch
        port::write_u8(self.base + DATA, 0x01); // 115200 baud
        port::write_u8(self.base + INTERRUPT_ENABLE, 0x00);
        port::write_u8(self.base + LINE_CONTROL, 0x03); // 8N1
        port::write_u8(self.base + FIFO_CONTROL, 0xc7); // enable + clear FIFOs, 14-byte threshold
        port::write_u8(self.base + MODEM_CONTROL, 0x0b); // DTR, RTS, OUT2 (routes the IRQ)
        true
    }

    /// Enables the "received data available" interrupt.
    pub fn enable_receive_interrupt(&self) {
        port::write_u8(self.base + INTERRUPT_ENABLE, 0x01);
    }

    /// Sends one byte, waiting for the transmitter.
    pub fn write_byte(&self, byte: u8) {
        let mut spins = 0u32;
        while port::read_u8(self.base + LINE_STATUS) & LINE_STATUS_TRANSMIT_EMPTY == 0 {
            spins += 1;
            if spins > 1_000_000 {
                break; // a wedged UART must not hang a panic report
            }
            core::hint::spin_loop();
        }
        port::write_u8(self.base + DATA, byte);
    }

    /// Whether a received byte is waiting.
    pub fn has_input(&self) -> bool {
        port::read_u8(self.base + LINE_STATUS) & LINE_STATUS_DATA_READY != 0
    }

    /// Reads one byte if one is waiting.
    pub fn try_read_byte(&self) -> Option<u8> {
        if port::read_u8(self.base + LINE_STATUS) & LINE_STATUS_DATA_READY != 0 {
            Some(port::read_u8(self.base + DATA))
        } else {
            None
        }
    }
}
