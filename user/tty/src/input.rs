//! Receiving: input translation, signal characters, flow control, canonical line editing and
//! echo, in the order Linux's `N_TTY` applies them.

use linux_abi::termios::{
    ECHO, ECHOCTL, ECHOE, ECHOK, ECHOKE, ECHONL, ICRNL, IEXTEN, IGNCR, INLCR, ISIG, ISTRIP, IUTF8,
    IXANY, IXON, NOFLSH, VEOF, VEOL, VEOL2, VERASE, VINTR, VKILL, VLNEXT, VQUIT, VREPRINT, VSTART,
    VSTOP, VSUSP, VWERASE,
};

use crate::discipline::{Flow, Input, LineDiscipline, Signal, BUFFER_SIZE};
use crate::output::{echo_width, is_control};

/// Which kind of erase an editing character asks for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Erase {
    Character,
    Word,
    Line,
}

impl LineDiscipline {
    /// Takes one byte from the device and says what the kernel must do about it.
    pub fn receive(&mut self, byte: u8) -> Input {
        let mut input = Input::default();
        let readable_before = self.read_ready();
        let byte = if self.input_mode(ISTRIP) {
            byte & 0x7f
        } else {
            byte
        };
        if self.literal_next {
            // VLNEXT: the byte goes into the line as it is, skipping every special meaning.
            self.literal_next = false;
            self.restart_on_any(&mut input);
            self.store(byte, &mut input, true);
        } else {
            self.special(byte, &mut input);
        }
        input.wake_readers = !readable_before && self.read_ready();
        input
    }

    fn special(&mut self, byte: u8, input: &mut Input) {
        if self.input_mode(IXON) && self.flow_control(byte, input) {
            return;
        }
        if self.local(ISIG) {
            let signal = [
                (VINTR, Signal::Interrupt),
                (VQUIT, Signal::Quit),
                (VSUSP, Signal::Suspend),
            ]
            .into_iter()
            .find(|(index, _)| self.is_special(byte, *index));
            if let Some((_, signal)) = signal {
                self.signal(byte, signal, input);
                return;
            }
        }
        self.restart_on_any(input);
        let mut byte = byte;
        // A newline made from a carriage return is echoed as a newline even in raw mode,
        // where a newline typed as ^J shows as "^J" under ECHOCTL.
        let mut translated = false;
        if byte == b'\r' {
            if self.input_mode(IGNCR) {
                return;
            }
            if self.input_mode(ICRNL) {
                byte = b'\n';
                translated = true;
            }
        } else if byte == b'\n' && self.input_mode(INLCR) {
            byte = b'\r';
        }
        if self.canonical() && self.canonical_special(byte, input) {
            return;
        }
        self.store(byte, input, !translated);
    }

    /// ^S and ^Q under `IXON`; true if the byte was consumed.
    fn flow_control(&mut self, byte: u8, input: &mut Input) -> bool {
        if self.is_special(byte, VSTOP) {
            // With VSTART equal to VSTOP the one character toggles.
            if self.output_stopped && self.is_special(byte, VSTART) {
                self.set_flow(Flow::Start, input);
            } else {
                self.set_flow(Flow::Stop, input);
            }
            return true;
        }
        if self.is_special(byte, VSTART) {
            self.set_flow(Flow::Start, input);
            return true;
        }
        false
    }

    /// `IXANY`: any other character restarts stopped output.
    fn restart_on_any(&mut self, input: &mut Input) {
        if self.output_stopped && self.input_mode(IXON) && self.input_mode(IXANY) {
            self.set_flow(Flow::Start, input);
        }
    }

    fn set_flow(&mut self, flow: Flow, input: &mut Input) {
        let stop = flow == Flow::Stop;
        if self.output_stopped != stop {
            self.output_stopped = stop;
            input.flow = Some(flow);
        }
    }

    fn signal(&mut self, byte: u8, signal: Signal, input: &mut Input) {
        input.signal = Some(signal);
        if !self.local(NOFLSH) {
            self.flush_input();
            input.flushed = true;
        }
        if self.input_mode(IXON) {
            self.set_flow(Flow::Start, input);
        }
        if self.local(ECHO) {
            self.echo(byte, &mut input.echo);
        }
    }

    /// The editing and line-ending characters of canonical mode; true if `byte` was one.
    fn canonical_special(&mut self, byte: u8, input: &mut Input) -> bool {
        let extended = self.local(IEXTEN);
        if self.is_special(byte, VERASE) {
            self.erase(Erase::Character, byte, &mut input.echo);
        } else if self.is_special(byte, VKILL) {
            self.erase(Erase::Line, byte, &mut input.echo);
        } else if extended && self.is_special(byte, VWERASE) {
            self.erase(Erase::Word, byte, &mut input.echo);
        } else if extended && self.is_special(byte, VLNEXT) {
            self.literal_next = true;
            if self.local(ECHO) && self.local(ECHOCTL) {
                // A caret the next character's echo overwrites.
                input.echo.extend_from_slice(b"^\x08");
            }
        } else if extended && self.is_special(byte, VREPRINT) && self.local(ECHO) {
            self.echo(byte, &mut input.echo);
            input.echo.push(b'\n');
            for index in 0..self.editing.len() {
                let byte = self.editing[index];
                self.echo(byte, &mut input.echo);
            }
        } else if byte == b'\n' {
            if self.local(ECHO) || self.local(ECHONL) {
                input.echo.push(b'\n');
            }
            self.end_line(Some(byte));
        } else if self.is_special(byte, VEOF) {
            // Not echoed and not stored: it only ends the line, empty or not.
            self.end_line(None);
        } else if self.is_special(byte, VEOL) || (extended && self.is_special(byte, VEOL2)) {
            if self.local(ECHO) {
                self.note_line_start();
                self.echo(byte, &mut input.echo);
            }
            self.end_line(Some(byte));
        } else {
            return false;
        }
        true
    }

    /// Makes the edited line readable, ended by `terminator` (kept in the data) or by `VEOF`.
    fn end_line(&mut self, terminator: Option<u8>) {
        if self.held() >= BUFFER_SIZE {
            return;
        }
        self.editing.extend(terminator);
        self.line_lengths.push_back(self.editing.len());
        self.ready.extend(self.editing.drain(..));
    }

    /// An ordinary byte: echoed and added to the line (canonical) or made readable (raw).
    /// With `echo_newline_as_control` false a newline echoes as a newline, not "^J".
    fn store(&mut self, byte: u8, input: &mut Input, echo_newline_as_control: bool) {
        // One byte of the buffer stays free: in canonical mode for the line's end, and when
        // even that is reached the newest byte replaces the line's last, as Linux does.
        let full = self.held() >= BUFFER_SIZE - 1;
        if full && (!self.canonical() || self.editing.pop().is_none()) {
            return;
        }
        if self.local(ECHO) {
            if byte == b'\n' && !echo_newline_as_control {
                input.echo.push(b'\n');
            } else {
                self.note_line_start();
                self.echo(byte, &mut input.echo);
            }
        }
        if self.canonical() {
            self.editing.push(byte);
        } else {
            self.ready.push_back(byte);
        }
    }

    /// Remembers where the line's echo starts, for erasing tabs.
    fn note_line_start(&mut self) {
        if self.editing.is_empty() {
            self.line_start_column = self.column.get();
        }
    }

    /// Echoes `byte`, as "^X" for a control character under `ECHOCTL` (tabs excepted).
    pub(crate) fn echo(&self, byte: u8, echo: &mut alloc::vec::Vec<u8>) {
        if self.local(ECHOCTL) && is_control(byte) && byte != b'\t' {
            echo.extend_from_slice(&[b'^', byte ^ 0x40]);
        } else {
            echo.push(byte);
        }
    }

    fn erase(&mut self, kind: Erase, byte: u8, echo: &mut alloc::vec::Vec<u8>) {
        if self.editing.is_empty() {
            return;
        }
        if kind == Erase::Line {
            if !self.local(ECHO) {
                self.editing.clear();
                return;
            }
            if !(self.local(ECHOK) && self.local(ECHOKE) && self.local(ECHOE)) {
                // Without visual erase: show the kill character, then a newline under ECHOK.
                self.editing.clear();
                self.echo(byte, echo);
                if self.local(ECHOK) {
                    echo.push(b'\n');
                }
                return;
            }
        }
        let mut seen_word = false;
        while !self.editing.is_empty() {
            let start = self.character_start();
            let first = self.editing[start];
            if kind == Erase::Word {
                // A word is letters, digits and '_'; what follows the last word goes with it.
                if first.is_ascii_alphanumeric() || first == b'_' {
                    seen_word = true;
                } else if seen_word {
                    break;
                }
            }
            let column_before = self.line_column(self.editing.len());
            self.editing.truncate(start);
            if self.local(ECHO) {
                self.echo_erase(first, column_before, byte, kind, echo);
            }
            if kind == Erase::Character {
                break;
            }
        }
    }

    /// Index of the first byte of the last character (a UTF-8 sequence under `IUTF8`).
    fn character_start(&self) -> usize {
        let mut start = self.editing.len() - 1;
        if self.input_mode(IUTF8) {
            while start > 0 && (self.editing[start] & 0xc0) == 0x80 {
                start -= 1;
            }
        }
        start
    }

    /// The column after echoing the first `length` bytes of the line.
    fn line_column(&self, length: usize) -> usize {
        let echo_control = self.local(ECHOCTL);
        let utf8 = self.input_mode(IUTF8);
        self.editing[..length]
            .iter()
            .fold(self.line_start_column, |column, &byte| {
                if byte == b'\t' {
                    (column | 7) + 1
                } else {
                    column + echo_width(byte, echo_control, utf8)
                }
            })
    }

    fn echo_erase(
        &self,
        erased: u8,
        column_before: usize,
        erase_byte: u8,
        kind: Erase,
        echo: &mut alloc::vec::Vec<u8>,
    ) {
        if kind == Erase::Character && !self.local(ECHOE) {
            self.echo(erase_byte, echo);
        } else if erased == b'\t' {
            // Back up over the spaces the tab advanced; nothing to blank.
            let column_after = self.line_column(self.editing.len());
            let width = column_before.saturating_sub(column_after);
            echo.extend(core::iter::repeat_n(b'\x08', width));
        } else {
            let width = if is_control(erased) {
                if self.local(ECHOCTL) {
                    2
                } else {
                    0
                }
            } else {
                1
            };
            for _ in 0..width {
                echo.extend_from_slice(b"\x08 \x08");
            }
        }
    }
}
