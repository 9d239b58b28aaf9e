//! The discipline's state, its modes, and reading.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::cell::Cell;

use linux_abi::signal::{SIGINT, SIGQUIT, SIGTSTP};
use linux_abi::termios::{self, Termios, WindowSize, ICANON, VMIN, VTIME};

/// Bytes of input the discipline holds, as Linux's `N_TTY_BUF_SIZE`.
pub const BUFFER_SIZE: usize = 4096;

/// A signal a special character asks the kernel to send to the terminal's foreground group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// `VINTR` (^C): `SIGINT`.
    Interrupt,
    /// `VQUIT` (^\): `SIGQUIT`.
    Quit,
    /// `VSUSP` (^Z): `SIGTSTP`.
    Suspend,
}

impl Signal {
    /// The signal number.
    pub fn number(self) -> u32 {
        match self {
            Signal::Interrupt => SIGINT,
            Signal::Quit => SIGQUIT,
            Signal::Suspend => SIGTSTP,
        }
    }
}

/// A change of output flow asked for with `IXON` (^S and ^Q).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Hold output until started again.
    Stop,
    /// Resume output.
    Start,
}

/// What the kernel must do after one received byte.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Input {
    /// Bytes to echo, to be written through [`LineDiscipline::process_output`].
    pub echo: Vec<u8>,
    /// A signal for the foreground process group.
    pub signal: Option<Signal>,
    /// Pending input was discarded (a signal character without `NOFLSH`); the kernel should
    /// also drop output still queued for the device.
    pub flushed: bool,
    /// Output was stopped or started.
    pub flow: Option<Flow>,
    /// A blocked reader (or `poll`) can now make progress.
    pub wake_readers: bool,
}

/// The result of [`LineDiscipline::read`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadOutcome {
    /// This many bytes were copied.
    Data(usize),
    /// `VEOF` at the start of a line: this read returns 0, the next one waits again.
    EndOfFile,
    /// Nothing to read yet: block, or fail with `EAGAIN` under `O_NONBLOCK`.
    WouldBlock,
}

/// One terminal's line discipline.
#[derive(Debug)]
pub struct LineDiscipline {
    pub(crate) termios: Termios,
    window_size: WindowSize,
    /// Readable bytes: completed lines in canonical mode, everything in raw mode.
    pub(crate) ready: VecDeque<u8>,
    /// Canonical mode: the length of each completed line in `ready`; 0 marks an end of file.
    pub(crate) line_lengths: VecDeque<usize>,
    /// Canonical mode: the line being edited, not yet readable.
    pub(crate) editing: Vec<u8>,
    /// The previous byte was `VLNEXT`: take this one literally.
    pub(crate) literal_next: bool,
    pub(crate) output_stopped: bool,
    /// Output column, kept by `process_output` for tabs, `ONOCR` and erasing tabs.
    pub(crate) column: Cell<usize>,
    /// Column where the echo of the line being edited began.
    pub(crate) line_start_column: usize,
}

impl Default for LineDiscipline {
    fn default() -> Self {
        Self::new()
    }
}

impl LineDiscipline {
    /// A discipline with the modes Linux gives a new terminal (see
    /// [`Termios::linux_default`]) and a 0×0 window.
    pub fn new() -> Self {
        Self {
            termios: Termios::linux_default(),
            window_size: WindowSize::default(),
            ready: VecDeque::new(),
            line_lengths: VecDeque::new(),
            editing: Vec::new(),
            literal_next: false,
            output_stopped: false,
            column: Cell::new(0),
            line_start_column: 0,
        }
    }

    /// The modes (`TCGETS`).
    pub fn termios(&self) -> Termios {
        self.termios
    }

    /// Changes the modes (`TCSETS`; for `TCSETSF` call [`Self::flush_input`] first).
    ///
    /// Leaving canonical mode makes the line being edited readable; entering it with unread
    /// input turns that input into one completed line, as Linux does.
    pub fn set_termios(&mut self, termios: Termios) {
        let was_canonical = self.canonical();
        self.termios = termios;
        match (was_canonical, self.canonical()) {
            (true, false) => {
                self.line_lengths.clear();
                self.ready.extend(self.editing.drain(..));
            }
            (false, true) if !self.ready.is_empty() => {
                self.line_lengths.clear();
                self.line_lengths.push_back(self.ready.len());
            }
            _ => {}
        }
        if !self.canonical() {
            self.literal_next = false;
        }
    }

    /// The window size (`TIOCGWINSZ`).
    pub fn window_size(&self) -> WindowSize {
        self.window_size
    }

    /// Sets the window size (`TIOCSWINSZ`); true if it changed, when the kernel sends
    /// `SIGWINCH` to the foreground group.
    pub fn set_window_size(&mut self, window_size: WindowSize) -> bool {
        let changed = self.window_size != window_size;
        self.window_size = window_size;
        changed
    }

    /// Whether output is held by `VSTOP` (^S) under `IXON`.
    pub fn output_stopped(&self) -> bool {
        self.output_stopped
    }

    /// Discards all pending input, completed or being edited (`TCFLSH` with `TCIFLUSH`).
    pub fn flush_input(&mut self) {
        self.ready.clear();
        self.line_lengths.clear();
        self.editing.clear();
        self.literal_next = false;
    }

    /// Bytes a read could return now (`FIONREAD`): completed lines in canonical mode.
    pub fn input_available(&self) -> usize {
        self.ready.len()
    }

    /// `VMIN`: raw-mode reads wait for this many bytes.
    pub fn vmin(&self) -> u8 {
        self.termios.c_cc[VMIN]
    }

    /// `VTIME`: the raw-mode read timer, in tenths of a second (0: none).
    pub fn vtime_deciseconds(&self) -> u8 {
        self.termios.c_cc[VTIME]
    }

    /// Whether a read would find input (and `poll` reports `POLLIN`): a completed line or end
    /// of file in canonical mode; in raw mode at least `VMIN` bytes when `VTIME` is 0 and
    /// `VMIN` is not, otherwise at least one byte. The kernel runs the `VTIME` timer.
    pub fn read_ready(&self) -> bool {
        if self.canonical() {
            return !self.line_lengths.is_empty();
        }
        let needed = match (self.vmin(), self.vtime_deciseconds()) {
            (minimum @ 1.., 0) => usize::from(minimum),
            _ => 1,
        };
        self.ready.len() >= needed
    }

    /// Copies input into `out`: in canonical mode at most one line (the rest of a long line
    /// stays for the next read), in raw mode whatever is there, up to `out.len()`. In raw mode
    /// with `VMIN` and `VTIME` both 0 an empty buffer reads as `Data(0)`, as on Linux; with
    /// `VTIME` set, the kernel waits up to `VTIME` for `WouldBlock` and then returns 0.
    pub fn read(&mut self, out: &mut [u8]) -> ReadOutcome {
        let limit = if self.canonical() {
            match self.line_lengths.front() {
                None => return ReadOutcome::WouldBlock,
                Some(0) => {
                    self.line_lengths.pop_front();
                    return ReadOutcome::EndOfFile;
                }
                Some(&length) => length,
            }
        } else if self.ready.is_empty() {
            // VMIN 0 and VTIME 0 is a polling read: it returns 0 at once.
            if self.vmin() == 0 && self.vtime_deciseconds() == 0 {
                return ReadOutcome::Data(0);
            }
            return ReadOutcome::WouldBlock;
        } else {
            self.ready.len()
        };
        let count = limit.min(out.len());
        for (slot, byte) in out.iter_mut().zip(self.ready.drain(..count)) {
            *slot = byte;
        }
        if let Some(length) = self.line_lengths.front_mut() {
            *length -= count;
            if *length == 0 {
                self.line_lengths.pop_front();
            }
        }
        ReadOutcome::Data(count)
    }

    pub(crate) fn canonical(&self) -> bool {
        self.termios.c_lflag & ICANON != 0
    }

    pub(crate) fn local(&self, flag: u32) -> bool {
        self.termios.c_lflag & flag != 0
    }

    pub(crate) fn input_mode(&self, flag: u32) -> bool {
        self.termios.c_iflag & flag != 0
    }

    /// Whether `byte` is the special character at `index` (a 0 entry is disabled).
    pub(crate) fn is_special(&self, byte: u8, index: usize) -> bool {
        let special = self.termios.c_cc[index];
        special != termios::DISABLED && byte == special
    }

    /// Bytes held in total, readable or being edited.
    pub(crate) fn held(&self) -> usize {
        self.ready.len() + self.editing.len()
    }
}
