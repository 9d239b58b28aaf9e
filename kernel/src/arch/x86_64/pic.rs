//! The legacy 8259 PIC pair: remapped away from the exception vectors, then fully masked.
//! Interrupts are delivered through the IOAPIC and the local APIC instead.

use super::port;

/// Remaps both PICs to vectors 0x20..0x2f (so a spurious one cannot look like an exception)
/// and masks every line.
pub fn disable() {
    const PIC1_COMMAND: u16 = 0x20;
    const PIC1_DATA: u16 = 0x21;
    const PIC2_COMMAND: u16 = 0xa0;
    const PIC2_DATA: u16 = 0xa1;
    port::write_u8(PIC1_COMMAND, 0x11);
    port::write_u8(PIC2_COMMAND, 0x11);
    port::write_u8(PIC1_DATA, 0x20);
    port::write_u8(PIC2_DATA, 0x28);
    port::write_u8(PIC1_DATA, 0x04);
    port::write_u8(PIC2_DATA, 0x02);
    port::write_u8(PIC1_DATA, 0x01);
    port::write_u8(PIC2_DATA, 0x01);
    port::write_u8(PIC1_DATA, 0xff);
    port::write_u8(PIC2_DATA, 0xff);
}
