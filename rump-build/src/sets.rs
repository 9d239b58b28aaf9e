//! The component sets the kernel knows how to use, and which archives each needs: a directory
//! that holds part of a set is told what it lacks by archive name (the symbol check alone would
//! only name the missing symbols).

/// A use of the rump kernel and the archives it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ComponentSet {
    /// What the set brings.
    pub name: &'static str,
    /// Archives whose presence means the directory aims at this set.
    pub markers: &'static [&'static str],
    /// Every archive the set needs, with why.
    pub needs: &'static [(&'static str, &'static str)],
}

const BASE: [(&str, &str); 3] = [
    ("librump.a", "the rump kernel"),
    (
        "librumpvfs.a",
        "the VFS every rump kernel with devices needs",
    ),
    (
        "librumpdev.a",
        "autoconf, the device tree drivers attach to",
    ),
];

/// The sets the kernel's commands and tests use.
pub const SETS: &[ComponentSet] = &[
    ComponentSet {
        name: "network (NetBSD TCP/IP on wm(4))",
        markers: &[
            "librumpdev_pci_if_wm.a",
            "librumpnet_netinet.a",
            "librumpnet_net.a",
        ],
        needs: &[
            BASE[0],
            BASE[1],
            BASE[2],
            ("librumpdev_pci.a", "the PCI bus wm(4) attaches on"),
            ("librumpdev_pci_if_wm.a", "wm(4), the e1000 driver"),
            ("librumpdev_miiphy.a", "the PHY drivers wm(4) attaches"),
            ("librumpnet.a", "the network core (sockets, mbufs)"),
            ("librumpnet_net.a", "interfaces, routing, IPv4, TCP, UDP"),
            ("librumpnet_netinet.a", "the IPv4 domain's registration"),
            (
                "librumpnet_config.a",
                "netconfig, the rump kernel's interface set-up calls",
            ),
        ],
    },
    ComponentSet {
        name: "USB mass storage",
        markers: &["librumpdev_pci_usbhc.a", "librumpdev_umass.a"],
        needs: &[
            BASE[0],
            BASE[1],
            BASE[2],
            (
                "librumpdev_pci.a",
                "the PCI bus the host controllers attach on",
            ),
            ("librumpdev_pci_usbhc.a", "EHCI, OHCI and UHCI"),
            ("librumpdev_usb.a", "the USB stack"),
            ("librumpdev_umass.a", "umass(4)"),
            ("librumpdev_scsipi.a", "sd(4) over SCSI"),
            ("librumpdev_disk.a", "the disk layer"),
        ],
    },
    ComponentSet {
        name: "ext2",
        markers: &["librumpfs_ext2fs.a"],
        needs: &[
            BASE[0],
            BASE[1],
            ("librumpfs_ext2fs.a", "NetBSD's ext2fs"),
            ("librumpfs_ffs.a", "ffs, whose inode code ext2fs shares"),
            ("librumpdev_disk.a", "the disk layer"),
        ],
    },
];

/// Each set the directory aims at (it holds a marker) with the archives it lacks and why.
pub fn incomplete_sets(
    present: impl Fn(&str) -> bool,
) -> Vec<(&'static ComponentSet, Vec<(&'static str, &'static str)>)> {
    SETS.iter()
        .filter(|set| set.markers.iter().any(|m| present(m)))
        .map(|set| {
            let missing = set
                .needs
                .iter()
                .filter(|(archive, _)| !present(archive))
                .copied()
                .collect();
            (set, missing)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_network_set_names_what_it_lacks() {
        let have = [
            "librump.a",
            "librumpvfs.a",
            "librumpdev.a",
            "librumpdev_pci_if_wm.a",
        ];
        let found = incomplete_sets(|name| have.contains(&name));
        assert_eq!(found.len(), 1);
        let (set, missing) = &found[0];
        assert!(set.name.starts_with("network"));
        let names: Vec<_> = missing.iter().map(|(archive, _)| *archive).collect();
        assert!(names.contains(&"librumpdev_miiphy.a"));
        assert!(names.contains(&"librumpnet_netinet.a"));
        assert!(!names.contains(&"librump.a"));
    }

    #[test]
    fn a_directory_without_markers_aims_at_no_set() {
        assert!(incomplete_sets(|name| name == "librump.a").is_empty());
    }
}
