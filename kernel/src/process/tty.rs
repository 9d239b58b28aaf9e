//! The console terminal: the serial line under a Linux line discipline (`line-discipline`
//! crate), with a session, a foreground process group, job-control signals and the terminal
//! ioctls. While a user session owns it, a kernel thread feeds it the serial input; when the
//! session ends the kernel shell gets the line back.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use line_discipline::{LineDiscipline, ReadOutcome};
use linux_abi::ioctl as io;
use linux_abi::signal as s;
use linux_abi::termios::{Termios, WindowSize};

use super::signal::{send, wait_interruptible_until, Origin};
use super::{Errno, Process};
use crate::sched::wait::WaitQueue;
use crate::sync::spin::IrqSpinLock;

pub struct Tty {
    discipline: IrqSpinLock<LineDiscipline>,
    /// Woken when input arrives.
    readers: WaitQueue,
    session: AtomicU32,
    foreground: AtomicU32,
    reader_running: AtomicBool,
}

static CONSOLE: spin::Once<Arc<Tty>> = spin::Once::new();

/// The serial console's terminal.
pub fn console() -> Arc<Tty> {
    CONSOLE
        .call_once(|| {
            Arc::new(Tty {
                discipline: IrqSpinLock::new("tty", LineDiscipline::new()),
                readers: WaitQueue::new("tty-read"),
                session: AtomicU32::new(0),
                foreground: AtomicU32::new(0),
                reader_running: AtomicBool::new(false),
            })
        })
        .clone()
}

impl Tty {
    /// Makes `session` the terminal's session with `group` in the foreground, and starts
    /// feeding it the serial input.
    pub fn set_session(self: &Arc<Self>, session: u32, group: u32) {
        self.session.store(session, Ordering::Release);
        self.foreground.store(group, Ordering::Release);
        if !self.reader_running.swap(true, Ordering::AcqRel) {
            let tty = self.clone();
            let mut builder = crate::sched::Builder::new("tty-input");
            builder.priority = crate::sched::thread::Priority::RealTime;
            match crate::sched::spawn(builder, move || tty.feed()) {
                Ok(handle) => handle.detach(),
                Err(error) => log::error!("console terminal: no input thread: {error}"),
            }
        }
    }

    /// Gives the serial line back to the kernel (the session is over).
    pub fn release(&self) {
        self.session.store(0, Ordering::Release);
        self.foreground.store(0, Ordering::Release);
        self.reader_running.store(false, Ordering::Release);
    }

    /// A session leader that exits takes its session with it.
    pub fn process_exited(&self, process: &Process) {
        if process.pid == self.session.load(Ordering::Acquire) && process.pid != 1 {
            self.session.store(0, Ordering::Release);
        }
    }

    pub fn session(&self) -> u32 {
        self.session.load(Ordering::Acquire)
    }

    pub fn foreground(&self) -> u32 {
        self.foreground.load(Ordering::Acquire)
    }

    fn feed(&self) -> u64 {
        while self.reader_running.load(Ordering::Acquire) {
            let mut any = false;
            while let Some(byte) = crate::console::try_read_byte() {
                self.receive(byte);
                any = true;
            }
            if !any {
                crate::interrupts::wait_for_serial_input();
            }
        }
        0
    }

    /// One byte from the line.
    pub fn receive(&self, byte: u8) {
        let (echo, signal, wake) = {
            let mut discipline = self.discipline.lock();
            let input = discipline.receive(byte);
            let mut echo = Vec::new();
            if !input.echo.is_empty() {
                discipline.process_output(&input.echo, &mut echo);
            }
            (echo, input.signal, input.wake_readers)
        };
        if !echo.is_empty() {
            crate::console::write_bytes(&echo);
        }
        if let Some(signal) = signal {
            self.signal_foreground(signal.number());
        }
        if wake || signal.is_some() {
            self.readers.wake_all();
            super::poll::notify();
        }
    }

    fn signal_foreground(&self, signal: u32) {
        let group = self.foreground();
        if group == 0 {
            return;
        }
        for member in super::group_members(group) {
            send(&member, signal, Origin::Kernel);
        }
    }

    /// Background processes reading or (with TOSTOP) writing get SIGTTIN/SIGTTOU; `Err` when
    /// the call must not go on.
    fn job_control(&self, process: &Arc<Process>, signal: u32) -> Result<(), Errno> {
        let session = self.session();
        if session == 0
            || process.session() != session
            || process.process_group() == self.foreground()
        {
            return Ok(());
        }
        let (ignored, blocked) = {
            let signals = process.signals.lock();
            (
                signals.action(signal).handler == 1,
                signals.blocked & (1 << (signal - 1)) != 0,
            )
        };
        if ignored || blocked {
            // Reading from the background with SIGTTIN ignored is EIO; writing goes ahead.
            return if signal == s::SIGTTIN {
                Err(Errno::EIO)
            } else {
                Ok(())
            };
        }
        for member in super::group_members(process.process_group()) {
            send(&member, signal, Origin::Kernel);
        }
        Err(Errno(super::signal::ERESTARTSYS as i32))
    }

    pub fn read(
        &self,
        process: &Arc<Process>,
        buffer: &mut [u8],
        non_blocking: bool,
    ) -> Result<usize, Errno> {
        self.job_control(process, s::SIGTTIN)?;
        if buffer.is_empty() {
            return Ok(0);
        }
        let (vmin, vtime, canonical) = {
            let discipline = self.discipline.lock();
            (
                discipline.vmin(),
                discipline.vtime_deciseconds(),
                discipline.termios().c_lflag & linux_abi::termios::ICANON != 0,
            )
        };
        let deadline = (!canonical && vtime > 0)
            .then(|| crate::time::monotonic_nanos() + u64::from(vtime) * 100_000_000);
        loop {
            match self.discipline.lock().read(buffer) {
                ReadOutcome::Data(count) => return Ok(count),
                ReadOutcome::EndOfFile => return Ok(0),
                ReadOutcome::WouldBlock => {}
            }
            if non_blocking {
                return Err(Errno::EAGAIN);
            }
            if !canonical && vmin == 0 && vtime == 0 {
                return Ok(0);
            }
            let ready = wait_interruptible_until(process, &self.readers, deadline, || {
                self.discipline.lock().read_ready()
            })
            .map_err(|e| e.errno())?;
            if !ready {
                return Ok(0); // VTIME expired
            }
        }
    }

    pub fn write(&self, process: &Arc<Process>, data: &[u8]) -> Result<usize, Errno> {
        let tostop = self.discipline.lock().termios().c_lflag & linux_abi::termios::TOSTOP != 0;
        if tostop {
            self.job_control(process, s::SIGTTOU)?;
        }
        let mut out = Vec::with_capacity(data.len() + data.len() / 8);
        self.discipline.lock().process_output(data, &mut out);
        crate::console::write_bytes(&out);
        Ok(data.len())
    }

    /// (readable, writable) for poll.
    pub fn poll_state(&self) -> (bool, bool) {
        (self.discipline.lock().read_ready(), true)
    }

    pub fn input_available(&self) -> usize {
        self.discipline.lock().input_available()
    }

    pub fn ioctl(&self, process: &Arc<Process>, request: u32, argument: u64) -> Result<u64, Errno> {
        use super::usermem::{read_bytes, read_u32, write_bytes, write_u32};
        match request {
            io::TCGETS => {
                let termios = self.discipline.lock().termios();
                write_bytes(argument, &termios.to_bytes())?;
                Ok(0)
            }
            io::TCSETS | io::TCSETSW | io::TCSETSF => {
                if request != io::TCSETS {
                    self.job_control(process, s::SIGTTOU)?;
                }
                let bytes = read_bytes(argument, Termios::SIZE)?;
                let termios = Termios::from_bytes(&bytes).ok_or(Errno::EINVAL)?;
                let mut discipline = self.discipline.lock();
                if request == io::TCSETSF {
                    discipline.flush_input();
                }
                discipline.set_termios(termios);
                drop(discipline);
                self.readers.wake_all();
                Ok(0)
            }
            io::TIOCGWINSZ => {
                let size = self.discipline.lock().window_size();
                write_bytes(argument, &size.to_bytes())?;
                Ok(0)
            }
            io::TIOCSWINSZ => {
                let bytes = read_bytes(argument, WindowSize::SIZE)?;
                let size = WindowSize::from_bytes(&bytes).ok_or(Errno::EINVAL)?;
                if self.discipline.lock().set_window_size(size) {
                    self.signal_foreground(s::SIGWINCH);
                }
                Ok(0)
            }
            io::TIOCGPGRP => {
                write_u32(argument, self.foreground())?;
                Ok(0)
            }
            io::TIOCSPGRP => {
                if process.session() != self.session() {
                    return Err(Errno::ENOTTY);
                }
                self.job_control(process, s::SIGTTOU)?;
                let group = read_u32(argument)?;
                if group == 0 || !super::group_exists_in(group, process.session()) {
                    return Err(Errno::EPERM);
                }
                self.foreground.store(group, Ordering::Release);
                Ok(0)
            }
            io::TIOCGSID => {
                let session = self.session();
                if session == 0 {
                    return Err(Errno::ENOTTY);
                }
                write_u32(argument, session)?;
                Ok(0)
            }
            io::TIOCSCTTY => {
                if process.session() != process.pid {
                    return Err(Errno::EPERM);
                }
                self.session.store(process.session(), Ordering::Release);
                self.foreground
                    .store(process.process_group(), Ordering::Release);
                Ok(0)
            }
            io::TIOCNOTTY => {
                if process.session() == self.session() && process.session() == process.pid {
                    self.signal_foreground(s::SIGHUP);
                    self.session.store(0, Ordering::Release);
                }
                Ok(0)
            }
            io::FIONREAD => {
                write_u32(argument, self.input_available() as u32)?;
                Ok(0)
            }
            io::TCFLSH => {
                if argument == 0 || argument == 2 {
                    self.discipline.lock().flush_input();
                }
                Ok(0)
            }
            io::TCXONC | io::TCSBRK => Ok(0),
            _ => Err(Errno::ENOTTY),
        }
    }
}
