//! Names of the PCI vendors, devices and classes QEMU's PC machines provide, for `lspci`.
//!
//! Written from the PCI-SIG class code list and the IDs QEMU assigns; a short table on purpose:
//! anything else prints its numbers and its class name.

/// Vendor name.
pub fn vendor(vendor_id: u16) -> Option<&'static str> {
    Some(match vendor_id {
        0x8086 => "Intel",
        0x1af4 => "Red Hat (virtio)",
        0x1b36 => "Red Hat (QEMU)",
        0x1234 => "QEMU",
        0x10ec => "Realtek",
        0x1022 => "AMD",
        0x15ad => "VMware",
        _ => return None,
    })
}

/// Device name.
pub fn device(vendor_id: u16, device_id: u16) -> Option<&'static str> {
    Some(match (vendor_id, device_id) {
        (0x8086, 0x29c0) => "82G33/P35 (Q35 MCH) host bridge",
        (0x8086, 0x2918) => "ICH9 LPC bridge",
        (0x8086, 0x2922) => "ICH9 AHCI SATA controller",
        (0x8086, 0x2930) => "ICH9 SMBus controller",
        (0x8086, 0x1237) => "440FX host bridge",
        (0x8086, 0x7000) => "PIIX3 ISA bridge",
        (0x8086, 0x7010) => "PIIX3 IDE controller",
        (0x8086, 0x7113) => "PIIX4 ACPI",
        (0x8086, 0x100e) => "82540EM gigabit Ethernet (e1000)",
        (0x8086, 0x10d3) => "82574L gigabit Ethernet (e1000e)",
        (0x8086, 0x293a) => "ICH9 USB2 EHCI controller #1",
        (0x8086, 0x293c) => "ICH9 USB2 EHCI controller #2",
        (0x8086, 0x2934..=0x2939) => "ICH9 USB UHCI controller",
        (0x8086, 0x24cd) => "ICH4 USB2 EHCI controller",
        (0x8086, 0x2668) => "ICH6 high definition audio (intel-hda)",
        (0x8086, 0x293e) => "ICH9 high definition audio",
        (0x8086, 0x244e) => "82801 PCI bridge",
        (0x1af4, 0x1000) | (0x1af4, 0x1041) => "virtio network",
        (0x1af4, 0x1001) => "virtio block (transitional)",
        (0x1af4, 0x1042) => "virtio block",
        (0x1af4, 0x1002) | (0x1af4, 0x1045) => "virtio memory balloon",
        (0x1af4, 0x1003) | (0x1af4, 0x1043) => "virtio console",
        (0x1af4, 0x1004) | (0x1af4, 0x1048) => "virtio SCSI",
        (0x1af4, 0x1005) | (0x1af4, 0x1044) => "virtio entropy source",
        (0x1af4, 0x1050) => "virtio GPU",
        (0x1b36, 0x0001) => "PCI-PCI bridge",
        (0x1b36, 0x000c) => "PCIe root port",
        (0x1b36, 0x000e) => "PCIe-to-PCI bridge",
        (0x1b36, 0x000d) => "XHCI USB controller",
        (0x1b36, 0x0010) => "NVM Express controller",
        (0x1234, 0x1111) => "standard VGA",
        (0x10ec, 0x8139) => "RTL8139 Ethernet",
        _ => return None,
    })
}

/// Class name from the class and subclass codes.
pub fn class(class: u8, subclass: u8) -> &'static str {
    match (class, subclass) {
        (0x00, _) => "unclassified",
        (0x01, 0x00) => "SCSI controller",
        (0x01, 0x01) => "IDE controller",
        (0x01, 0x06) => "SATA controller",
        (0x01, 0x08) => "NVMe controller",
        (0x01, _) => "mass storage controller",
        (0x02, 0x00) => "Ethernet controller",
        (0x02, _) => "network controller",
        (0x03, 0x00) => "VGA controller",
        (0x03, _) => "display controller",
        (0x04, 0x01) => "audio device",
        (0x04, 0x03) => "audio device (HDA)",
        (0x04, _) => "multimedia controller",
        (0x05, _) => "memory controller",
        (0x06, 0x00) => "host bridge",
        (0x06, 0x01) => "ISA bridge",
        (0x06, 0x04) => "PCI bridge",
        (0x06, _) => "bridge",
        (0x07, _) => "communication controller",
        (0x08, _) => "system peripheral",
        (0x0c, 0x03) => "USB controller",
        (0x0c, 0x05) => "SMBus controller",
        (0x0c, _) => "serial bus controller",
        (0xff, _) => "vendor-specific",
        _ => "other",
    }
}
