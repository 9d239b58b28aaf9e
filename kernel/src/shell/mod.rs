//! The serial shell: a line editor and a handful of inspection commands.
//!
//! May import: everything except `init` and `testing`.
//!
//! The commands of each subsystem live beside this file: `files` (the VFS), `disks` (block
//! devices), `pci`, `audio` (sound through the rump kernel), `net` and `transfer` (both network
//! stacks), `bench` (storage benchmarks behind `read`, `write` and `blk`); the rump commands are
//! the rump client's own.

mod audio;
mod bench;
mod disks;
mod files;
mod net;
mod pci;
mod transfer;

use alloc::string::String;

use crate::arch::cpu;
#[cfg(target_arch = "x86_64")]
use crate::arch::port;
use crate::{print, println};

const PROMPT: &str = "kernel> ";

fn read_line(line: &mut String) {
    line.clear();
    loop {
        let byte = match crate::console::try_read_byte() {
            Some(byte) => byte,
            None => {
                crate::interrupts::wait_for_serial_input();
                continue;
            }
        };
        match byte {
            b'\r' | b'\n' => {
                println!();
                return;
            }
            0x08 | 0x7f if line.pop().is_some() => {
                print!("\x08 \x08");
            }
            0x15 => {
                // Ctrl-U: erase the line.
                for _ in 0..line.len() {
                    print!("\x08 \x08");
                }
                line.clear();
            }
            0x20..=0x7e if line.len() < 256 => {
                line.push(byte as char);
                print!("{}", byte as char);
            }
            _ => {}
        }
    }
}

struct Command {
    name: &'static str,
    help: &'static str,
    run: fn(&str),
}

const COMMANDS: &[Command] = &[
    Command {
        name: "help",
        help: "list commands",
        run: help,
    },
    Command {
        name: "mem",
        help: "physical memory, frames and heap",
        run: mem,
    },
    Command {
        name: "cpus",
        help: "CPUs reported by the firmware and their state",
        run: cpus,
    },
    Command {
        name: "uptime",
        help: "time since boot and wall-clock time",
        run: uptime,
    },
    Command {
        name: "log",
        help: "show or set the log level: log [off|error|warn|info|debug|trace]",
        run: log_level,
    },
    Command {
        name: "ls",
        help: "list a directory (initrd root and mounted disks): ls [PATH]",
        run: files::ls,
    },
    Command {
        name: "cat",
        help: "print a file: cat PATH",
        run: files::cat,
    },
    Command {
        name: "read",
        help: "read a file, print size, checksum and rate: read [--bench] PATH (compare with 'rump read'; --bench: no checksum, a bench: line) | read --chunk BYTES PATH | read --random PATH COUNT (4 KiB reads)",
        run: files::read,
    },
    Command {
        name: "stat",
        help: "type, size, mode, owner and time of a path: stat PATH",
        run: files::stat,
    },
    Command {
        name: "tree",
        help: "the tree below a directory: tree [PATH]",
        run: files::tree,
    },
    Command {
        name: "hexdump",
        help: "a file in hex: hexdump PATH [OFFSET] [LENGTH]",
        run: files::hexdump,
    },
    Command {
        name: "mount",
        help: "list mounts, or mount an ext2 disk: mount [-r] DEV PATH (e.g. mount vda /mnt)",
        run: files::mount,
    },
    Command {
        name: "umount",
        help: "sync and unmount: umount PATH",
        run: files::umount,
    },
    Command {
        name: "write",
        help: "create or replace a file with TEXT and a newline: write PATH TEXT | write --bench PATH MIB (128 KiB calls, then sync)",
        run: files::write,
    },
    Command {
        name: "mkdir",
        help: "make a directory: mkdir PATH",
        run: files::mkdir,
    },
    Command {
        name: "rm",
        help: "remove a file or an empty directory: rm PATH",
        run: files::rm,
    },
    Command {
        name: "mv",
        help: "rename within one file system: mv FROM TO",
        run: files::mv,
    },
    Command {
        name: "sync",
        help: "write every mount's cached changes to its disk",
        run: files::sync,
    },
    Command {
        name: "df",
        help: "mounted file systems: size, free blocks and inodes",
        run: files::df,
    },
    Command {
        name: "lspci",
        help: "PCI functions with their BARs and interrupts",
        run: pci::lspci,
    },
    Command {
        name: "blk",
        help: "block devices: blk | blk read DEV SECTOR | blk write DEV SECTOR TEXT | blk bench DEV read|write START_MIB MIB [DEPTH] | blk bench DEV random START_MIB MIB COUNT",
        run: disks::blk,
    },
    Command {
        name: "ifconfig",
        help: "network interfaces of both stacks: addresses, link, counters",
        run: net::ifconfig,
    },
    Command {
        name: "ping",
        help: "ICMP echo: ping [-s native|rump] [-c COUNT] [-l BYTES] HOST",
        run: net::ping,
    },
    Command {
        name: "http",
        help: "HTTP/1.0 download, prints size, checksum and rate: http get [-s native|rump] HOST:PORT PATH",
        run: transfer::http,
    },
    Command {
        name: "udp",
        help: "send a datagram and print the answer: udp send [-s native|rump] HOST:PORT TEXT",
        run: net::udp,
    },
    Command {
        name: "tcp",
        help: "serve a file or a generated stream: tcp serve [-s native|rump] PORT (FILE | --bytes N) [--connections N] [--backlog N]",
        run: transfer::tcp,
    },
    Command {
        name: "net",
        help: "both stacks' ping, download and upload figures: net bench HOST:PORT PATH SINK_HOST:PORT [BYTES]",
        run: transfer::net,
    },
    Command {
        name: "ps",
        help: "threads: id, state, CPU, priority, run time, name",
        run: ps,
    },
    Command {
        name: "rump",
        help: "rump kernel: status | mount DEV PATH [rw] | umount PATH [DEV] | ls | cat | read | write PATH TEXT | mkdir | rm | mv FROM TO | disks | devices | read --bench PATH | panic",
        run: rump_command,
    },
    Command {
        name: "tone",
        help: "play a sine through the rump kernel's audio device: tone FREQ MS [VOLUME%] [&]",
        run: audio::tone,
    },
    Command {
        name: "play",
        help: "play a PCM WAV file (initrd or disk) through the rump kernel: play PATH [&]",
        run: audio::play,
    },
    Command {
        name: "mixer",
        help: "the rump kernel's mixer controls: mixer | mixer NAME LEVEL (0..255)",
        run: audio::mixer,
    },
    Command {
        name: "reboot",
        help: "reset the machine",
        run: reboot,
    },
    Command {
        name: "poweroff",
        help: "stop the machine (leaves QEMU)",
        run: poweroff,
    },
];

/// Runs one command line; returns false for an unknown command.
pub fn execute(line: &str) -> bool {
    let line = line.trim();
    if line.is_empty() {
        return true;
    }
    let (name, arguments) = line.split_once(' ').unwrap_or((line, ""));
    match COMMANDS.iter().find(|c| c.name == name) {
        Some(command) => {
            (command.run)(arguments.trim());
            true
        }
        None => {
            println!("unknown command '{name}'; try 'help'");
            false
        }
    }
}

/// The shell loop.
pub fn run() -> ! {
    println!("type 'help' for commands");
    let mut line = String::new();
    loop {
        print!("{PROMPT}");
        read_line(&mut line);
        execute(&line);
    }
}

fn help(_: &str) {
    for command in COMMANDS {
        println!("  {:<10} {}", command.name, command.help);
    }
}

fn mem(_: &str) {
    let info = crate::boot::info();
    let ram: u64 = info
        .regions()
        .iter()
        .filter(|r| r.kind == crate::boot::RegionKind::Usable)
        .map(|r| r.length)
        .sum();
    // Firmware keeps a few hundred KiB of RAM for itself; the installed size is the usable total
    // rounded up to the 2 MiB granularity QEMU and real memory come in.
    let installed_mib = ram.next_multiple_of(2 << 20) >> 20;
    let (free_frames, managed_frames) = crate::mm::frames::statistics();
    let heap = crate::mm::heap::statistics();
    println!(
        "memory: {installed_mib} MiB installed, {} KiB usable",
        ram / 1024
    );
    println!(
        "frames: {free_frames} free of {managed_frames} ({} KiB free)",
        free_frames * 4
    );
    println!(
        "heap: {} bytes in {} allocations, {} KiB claimed",
        heap.allocated_bytes,
        heap.allocation_count,
        heap.claimed_bytes / 1024
    );
    for region in info.regions() {
        println!(
            "  {:#014x}-{:#014x} {:?}",
            region.start,
            region.end(),
            region.kind
        );
    }
}

#[cfg(target_arch = "x86_64")]
fn on(bit: bool) -> &'static str {
    if bit {
        "on"
    } else {
        "off"
    }
}

/// The CPU's identity and the protections the kernel turned on.
#[cfg(target_arch = "x86_64")]
fn cpu_identity() {
    let features = cpu::features();
    println!(
        "cpus: {} present, {} online; vendor {}",
        crate::arch::cpus::cpu_count(),
        crate::arch::cpus::online_count(),
        core::str::from_utf8(&features.vendor).unwrap_or("?")
    );
    let protections = cpu::protections();
    println!(
        "protections (CR4): SMEP {}, SMAP {}, UMIP {}",
        on(protections.smep),
        on(protections.smap),
        on(protections.umip)
    );
}

/// The CPU's identity and the protections the kernel turned on.
#[cfg(target_arch = "aarch64")]
fn cpu_identity() {
    let features = cpu::features();
    println!(
        "cpus: {} present, {} online; MIDR {:#x}",
        crate::arch::cpus::cpu_count(),
        crate::arch::cpus::online_count(),
        features.main_id
    );
    println!(
        "protections: W^X (SCTLR_EL1.WXN) on, kernel never executes user pages (PXN) on, PAN {}",
        if features.pan {
            "available, off"
        } else {
            "absent"
        }
    );
}

/// The cycle clock behind the monotonic time.
#[cfg(target_arch = "x86_64")]
fn clock_description() -> alloc::string::String {
    alloc::format!(
        "tsc {} MHz{}",
        crate::time::tsc::frequency() / 1_000_000,
        if cpu::features().invariant_tsc {
            " (invariant)"
        } else {
            ""
        }
    )
}

/// The cycle clock behind the monotonic time.
#[cfg(target_arch = "aarch64")]
fn clock_description() -> alloc::string::String {
    alloc::format!(
        "generic counter {} MHz",
        crate::time::counter::frequency() / 1_000_000
    )
}

fn cpus(_: &str) {
    cpu_identity();
    for index in 0..crate::arch::cpus::cpu_count() {
        let apic = crate::arch::cpus::apic_id_of(index).unwrap_or(u32::MAX);
        match crate::arch::percpu::of(index) {
            Some(p) => {
                use core::sync::atomic::Ordering::Relaxed;
                let mut busy = p.busy_nanos.load(Relaxed);
                let mut idle = p.idle_nanos.load(Relaxed);
                // Count the period since the last switch too.
                let ongoing = crate::time::monotonic_nanos()
                    .saturating_sub(p.last_switch_nanos.load(Relaxed));
                if p.current.load(Relaxed) == p.idle.load(Relaxed) {
                    idle += ongoing;
                } else {
                    busy += ongoing;
                }
                let load = (busy * 100).checked_div(busy + idle).unwrap_or(0);
                println!(
                    "  cpu{index}: apic id {apic}, online, load {load}%, {} queued, {} context switches, {} ticks, {} threads pulled",
                    crate::sched::queued_on(index),
                    p.context_switches.load(core::sync::atomic::Ordering::Relaxed),
                    p.ticks.load(core::sync::atomic::Ordering::Relaxed),
                    p.pulled_threads.load(core::sync::atomic::Ordering::Relaxed)
                );
            }
            None => println!("  cpu{index}: apic id {apic}, not started"),
        }
    }
    println!(
        "{}, timer {}, timer ticks {}, unexpected interrupts {}",
        clock_description(),
        crate::interrupts::timer_mode(),
        crate::interrupts::timer_ticks(),
        crate::arch::traps::unexpected_interrupts()
    );
    let storms: alloc::vec::Vec<u8> = crate::pci::irq::storming_vectors().collect();
    if !storms.is_empty() {
        println!("interrupt storms contained on vectors {storms:x?}");
    }
}

fn ps(_: &str) {
    println!(
        "{:>5} {:<9} {:>4} {:<9} {:>12}  NAME",
        "ID", "STATE", "CPU", "PRIORITY", "RUN (us)"
    );
    let mut threads = crate::sched::registry::snapshot();
    threads.sort_by_key(|t| t.id);
    for thread in threads {
        println!(
            "{:>5} {:<9} {:>4} {:<9} {:>12}  {}",
            thread.id,
            alloc::format!("{:?}", thread.state()),
            thread.cpu(),
            alloc::format!("{:?}", thread.priority),
            thread.run_nanos() / 1000,
            thread.name
        );
    }
}

fn uptime(_: &str) {
    let nanos = crate::time::monotonic_nanos();
    let (seconds, _) = crate::time::wall_clock();
    let days = seconds / 86_400;
    let (year, month, day) = civil_from_days(days as i64);
    let of_day = seconds % 86_400;
    println!(
        "up {}.{:03} s; wall clock {year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        nanos / 1_000_000_000,
        (nanos / 1_000_000) % 1000,
        of_day / 3600,
        (of_day / 60) % 60,
        of_day % 60
    );
}

fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (year_of_era + era * 400 + i64::from(month <= 2), month, day)
}

fn log_level(arguments: &str) {
    if arguments.is_empty() {
        println!("log level: {}", crate::console::level());
    } else {
        match crate::console::set_level(arguments) {
            Ok(level) => println!("log level: {level}"),
            Err(_) => println!("unknown level '{arguments}'"),
        }
    }
}

fn reboot(_: &str) {
    println!("rebooting");
    #[cfg(target_arch = "x86_64")]
    {
        if let Some((reset_port, value)) = crate::firmware::platform().reset_port {
            port::write_u8(reset_port, value);
        }
        port::write_u8(0xcf9, 0x06); // PCI reset control: full reset
        port::write_u8(0x64, 0xfe); // keyboard controller pulse
    }
    #[cfg(target_arch = "aarch64")]
    crate::arch::psci::system_reset();
    println!("reset did not happen");
}

fn poweroff(_: &str) {
    println!("powering off");
    crate::qemu::exit(crate::qemu::ExitStatus::Success);
    // ACPI S5 through PM1a; QEMU's firmware uses SLP_TYP 0 for S5.
    #[cfg(target_arch = "x86_64")]
    if let Some(pm1a) = crate::firmware::platform().pm1a_control_port {
        port::write_u16(pm1a, 1 << 13);
    }
    #[cfg(target_arch = "aarch64")]
    crate::arch::psci::system_off();
    println!("power-off did not happen");
}

/// `rump`: the client's command; the status adds what the host knows once the rump kernel halted.
fn rump_command(arguments: &str) {
    crate::rump::shell(arguments);
    if arguments.trim().is_empty() && crate::rumphost::halt::is_halted() {
        crate::println!(
            "rump threads parked: {}",
            crate::rumphost::halt::parked_threads()
        );
    }
}
