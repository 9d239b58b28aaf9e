//! The serial console: formatted output, the `log` backend with a run-time level, and line input.
//!
//! May import: `arch`, `sync`, `time`.

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::arch::serial::Uart;
use crate::sync::spin::IrqSpinLock;

static UART: IrqSpinLock<Uart> = IrqSpinLock::new("console", Uart::com1());
static PRESENT: AtomicBool = AtomicBool::new(false);

/// Initialises COM1. Without a UART the kernel runs silently.
pub fn init() {
    let present = UART.lock().init();
    PRESENT.store(present, Ordering::Release);
}

struct Writer<'a>(&'a Uart);

impl Write for Writer<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for byte in s.bytes() {
            if byte == b'\n' {
                self.0.write_byte(b'\r');
            }
            self.0.write_byte(byte);
        }
        Ok(())
    }
}

#[doc(hidden)]
pub fn print_fmt(args: fmt::Arguments<'_>) {
    let uart = UART.lock();
    let _ = Writer(&uart).write_fmt(args);
}

/// Writes raw bytes (no newline translation: a terminal's line discipline already did it).
pub fn write_bytes(bytes: &[u8]) {
    let uart = UART.lock();
    for &byte in bytes {
        uart.write_byte(byte);
    }
}

/// Writes without taking the console lock: for panic and fault reports, which must get out even
/// if the CPU died holding the lock.
pub fn emergency_print(args: fmt::Arguments<'_>) {
    let uart = Uart::com1();
    let _ = Writer(&uart).write_fmt(args);
}

/// Reads a byte if one is waiting.
pub fn try_read_byte() -> Option<u8> {
    UART.lock().try_read_byte()
}

/// Whether a received byte waits in the UART (does not consume it).
pub fn input_pending() -> bool {
    UART.lock().has_input()
}

/// Turns on receive interrupts (the shell then sleeps in `hlt` between keys).
pub fn enable_receive_interrupt() {
    UART.lock().enable_receive_interrupt();
}

/// Prints to the serial console.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::console::print_fmt(format_args!($($arg)*)) };
}

/// Prints a line to the serial console.
#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($arg:tt)*) => { $crate::console::print_fmt(format_args!("{}\n", format_args!($($arg)*))) };
}

struct Logger;

static LEVEL: AtomicUsize = AtomicUsize::new(log::LevelFilter::Info as usize);

fn level_from_usize(value: usize) -> log::LevelFilter {
    match value {
        0 => log::LevelFilter::Off,
        1 => log::LevelFilter::Error,
        2 => log::LevelFilter::Warn,
        3 => log::LevelFilter::Info,
        4 => log::LevelFilter::Debug,
        _ => log::LevelFilter::Trace,
    }
}

impl log::Log for Logger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= level_from_usize(LEVEL.load(Ordering::Relaxed))
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let nanos = crate::time::monotonic_nanos();
            crate::println!(
                "[{:>5}.{:06}] {:<5} {}: {}",
                nanos / 1_000_000_000,
                (nanos / 1000) % 1_000_000,
                record.level(),
                record.target().trim_start_matches("kernel::"),
                record.args()
            );
        }
    }

    fn flush(&self) {}
}

static LOGGER: Logger = Logger;

/// Installs the logger with the level named on the command line (`log=debug`), default info.
/// Returns the rejected word if the level name is unknown.
pub fn init_logger(level: Option<&str>) -> Result<(), &str> {
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(log::LevelFilter::Trace);
    match level {
        None => Ok(()),
        Some(name) => set_level(name).map(|_| ()).map_err(|_| name),
    }
}

/// An unknown log-level name.
#[derive(Debug)]
pub struct UnknownLevel;

/// Sets the log level by name.
pub fn set_level(name: &str) -> Result<log::LevelFilter, UnknownLevel> {
    let level: log::LevelFilter = name.parse().map_err(|_| UnknownLevel)?;
    LEVEL.store(level as usize, Ordering::Relaxed);
    Ok(level)
}

/// The current log level.
pub fn level() -> log::LevelFilter {
    level_from_usize(LEVEL.load(Ordering::Relaxed))
}
