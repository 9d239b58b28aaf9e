//! Output processing (`OPOST`): newline translation, carriage-return handling and the column
//! count that tab expansion and erasing need.

use alloc::vec::Vec;

use linux_abi::termios::{OCRNL, OLCUC, ONLCR, ONLRET, ONOCR, OPOST, TABDLY, XTABS};

use crate::discipline::LineDiscipline;

/// A control character: what `ECHOCTL` shows as "^X" (C's `iscntrl`).
pub(crate) fn is_control(byte: u8) -> bool {
    byte < 0x20 || byte == 0x7f
}

/// Columns the echo of `byte` takes (tabs are handled by the caller).
pub(crate) fn echo_width(byte: u8, echo_control: bool, utf8: bool) -> usize {
    if is_control(byte) {
        if echo_control {
            2
        } else {
            0
        }
    } else if utf8 && (byte & 0xc0) == 0x80 {
        // A UTF-8 continuation byte shares its character's column.
        0
    } else {
        1
    }
}

impl LineDiscipline {
    /// Appends to `out` what the device should send for `data` written to the terminal (by a
    /// process, or echo from [`LineDiscipline::receive`]): with `OPOST`, `ONLCR` turns "\n"
    /// into "\r\n", `OCRNL` "\r" into "\n", `ONOCR` drops "\r" in column 0, `ONLRET` takes
    /// "\n" as returning to column 0, and `XTABS` expands tabs. Without `OPOST` the bytes pass
    /// unchanged.
    pub fn process_output(&self, data: &[u8], out: &mut Vec<u8>) {
        let modes = self.termios.c_oflag;
        if modes & OPOST == 0 {
            out.extend_from_slice(data);
            return;
        }
        let utf8 = self.input_mode(linux_abi::termios::IUTF8);
        let mut column = self.column.get();
        for &byte in data {
            match byte {
                b'\n' => {
                    if modes & ONLRET != 0 {
                        column = 0;
                    }
                    if modes & ONLCR != 0 {
                        out.extend_from_slice(b"\r\n");
                        column = 0;
                    } else {
                        out.push(b'\n');
                    }
                }
                b'\r' => {
                    if modes & ONOCR != 0 && column == 0 {
                        continue;
                    }
                    if modes & OCRNL != 0 {
                        out.push(b'\n');
                        if modes & ONLRET != 0 {
                            column = 0;
                        }
                    } else {
                        out.push(b'\r');
                        column = 0;
                    }
                }
                b'\t' => {
                    let next = (column | 7) + 1;
                    if modes & TABDLY == XTABS {
                        out.extend(core::iter::repeat_n(b' ', next - column));
                    } else {
                        out.push(b'\t');
                    }
                    column = next;
                }
                b'\x08' => {
                    column = column.saturating_sub(1);
                    out.push(byte);
                }
                _ => {
                    let byte = if modes & OLCUC != 0 {
                        byte.to_ascii_uppercase()
                    } else {
                        byte
                    };
                    column += echo_width(byte, false, utf8);
                    out.push(byte);
                }
            }
        }
        self.column.set(column);
    }
}
