//! The `lspci` shell command: one line per function, then its BARs and interrupt wiring.

use crate::println;

use crate::pci::{capability, irq, names};

/// `lspci`: `BB:DD.F vendor:device class name`, then BARs, IRQ pin/line/GSI and MSI/MSI-X.
pub fn lspci(_arguments: &str) {
    let devices = crate::pci::devices();
    if devices.is_empty() {
        println!("lspci: no PCI functions found");
        return;
    }
    for device in devices {
        println!(
            "{} {:04x}:{:04x} {:02x}{:02x} {} {}",
            device.address,
            device.vendor_id,
            device.device_id,
            device.class,
            device.subclass,
            names::vendor(device.vendor_id).unwrap_or("unknown vendor"),
            device.name(),
        );
        if let Ok(command) =
            crate::pci::config::read_u16(device.address, crate::pci::config::COMMAND)
        {
            let on = |bit: u16| if command & bit != 0 { "on" } else { "off" };
            println!(
                "    control: memory {}, I/O {}, bus master {}, INTx {}",
                on(crate::pci::config::COMMAND_MEMORY),
                on(crate::pci::config::COMMAND_IO),
                on(crate::pci::config::COMMAND_BUS_MASTER),
                if command & crate::pci::config::COMMAND_INTX_DISABLE != 0 {
                    "off"
                } else {
                    "on"
                },
            );
        }
        for (index, bar) in device.bars.iter().enumerate() {
            if let Some(bar) = bar {
                println!("    BAR{index}: {bar}");
            }
        }
        if device.interrupt_pin != 0 {
            let pin = (b'A' + device.interrupt_pin.saturating_sub(1).min(3)) as char;
            match irq::intx_route(device) {
                Ok(route) => println!(
                    "    IRQ: INT{pin}#, line {}, GSI {}{} ({}-triggered, active-{})",
                    device.interrupt_line,
                    route.gsi,
                    match irq::intx_masked(route.gsi) {
                        Ok(true) => " masked",
                        _ => "",
                    },
                    if route.polarity.level_triggered {
                        "level"
                    } else {
                        "edge"
                    },
                    if route.polarity.active_low {
                        "low"
                    } else {
                        "high"
                    }
                ),
                Err(_) => println!("    IRQ: INT{pin}#, no line assigned"),
            }
        }
        let msi = device.capability(capability::ID_MSI).is_some();
        let msix = device.capability(capability::ID_MSIX).is_some();
        if msi || msix || !device.capabilities.is_empty() {
            let mut list = alloc::string::String::new();
            for c in &device.capabilities {
                if !list.is_empty() {
                    list.push_str(", ");
                }
                list.push_str(capability::name(c.id));
            }
            println!(
                "    capabilities: {list}; MSI {}, MSI-X {}",
                if msi { "yes" } else { "no" },
                if msix { "yes" } else { "no" }
            );
        }
    }
}
