//! Terminals: the kernel's `struct termios` (36 bytes, what `TCGETS` copies), `struct winsize`,
//! the mode bits and the `c_cc` indices.
//!
//! The C library's `struct termios` is larger (32 control characters and two speed fields);
//! it converts in its `tcgetattr`, so the kernel only ever sees this one.

use crate::bytes::{layout, Reader, Writer};

/// Control characters in the kernel's `c_cc`.
pub const NCCS: usize = 19;

/// The kernel's `struct termios`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Termios {
    /// Input modes (`ICRNL`, `IXON`, ...).
    pub c_iflag: u32,
    /// Output modes (`OPOST`, `ONLCR`, ...).
    pub c_oflag: u32,
    /// Control modes (`CS8`, `CREAD`, the baud rate bits, ...).
    pub c_cflag: u32,
    /// Local modes (`ICANON`, `ECHO`, `ISIG`, ...).
    pub c_lflag: u32,
    /// Line discipline number (0, `N_TTY`).
    pub c_line: u8,
    /// Special characters, indexed by `VINTR`, `VEOF`, ...; 0 disables one.
    pub c_cc: [u8; NCCS],
}

impl Termios {
    /// Size in bytes.
    pub const SIZE: usize = 36;
    /// Each field's name and byte offset.
    pub const OFFSETS: &'static [(&'static str, usize)] = &[
        ("c_iflag", 0),
        ("c_oflag", 4),
        ("c_cflag", 8),
        ("c_lflag", 12),
        ("c_line", 16),
        ("c_cc", 17),
    ];

    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut bytes = [0; Self::SIZE];
        let mut writer = Writer::new(&mut bytes);
        writer.u32(0, self.c_iflag);
        writer.u32(4, self.c_oflag);
        writer.u32(8, self.c_cflag);
        writer.u32(12, self.c_lflag);
        writer.u8(16, self.c_line);
        writer.put(17, &self.c_cc);
        bytes
    }

    /// Decodes the structure; `None` if `bytes` is shorter than [`Self::SIZE`].
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let reader = Reader::new(bytes, Self::SIZE)?;
        Some(Self {
            c_iflag: reader.u32(0)?,
            c_oflag: reader.u32(4)?,
            c_cflag: reader.u32(8)?,
            c_lflag: reader.u32(12)?,
            c_line: reader.u8(16)?,
            c_cc: reader.array(17)?,
        })
    }

    /// The modes and characters Linux gives a fresh terminal (what `stty -a` shows on a new
    /// pseudo-terminal): `icrnl ixon opost onlcr isig icanon echo echoe echok echoctl echoke
    /// iexten cs8 cread` at 38400 baud, `^C ^\ ^? ^U ^D`, `min = 1`, `time = 0`.
    pub const fn linux_default() -> Self {
        let mut c_cc = [0; NCCS];
        c_cc[VINTR] = control(b'C');
        c_cc[VQUIT] = control(b'\\');
        c_cc[VERASE] = 0x7f;
        c_cc[VKILL] = control(b'U');
        c_cc[VEOF] = control(b'D');
        c_cc[VTIME] = 0;
        c_cc[VMIN] = 1;
        c_cc[VSTART] = control(b'Q');
        c_cc[VSTOP] = control(b'S');
        c_cc[VSUSP] = control(b'Z');
        c_cc[VREPRINT] = control(b'R');
        c_cc[VDISCARD] = control(b'O');
        c_cc[VWERASE] = control(b'W');
        c_cc[VLNEXT] = control(b'V');
        Self {
            c_iflag: ICRNL | IXON,
            c_oflag: OPOST | ONLCR,
            c_cflag: B38400 | CS8 | CREAD,
            c_lflag: ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN,
            c_line: N_TTY,
            c_cc,
        }
    }
}

/// The control character typed as Ctrl + `key` (`control(b'C')` is 3).
pub const fn control(key: u8) -> u8 {
    key & 0x1f
}

layout! {
    /// `struct winsize` of `TIOCGWINSZ` / `TIOCSWINSZ`.
    pub struct WindowSize: 8 bytes {
        ws_row: u16 @ 0,
        ws_col: u16 @ 2,
        ws_xpixel: u16 @ 4,
        ws_ypixel: u16 @ 6,
    }
}

/// The default line discipline.
pub const N_TTY: u8 = 0;
/// A `c_cc` value that disables the character.
pub const DISABLED: u8 = 0;

// `c_cc` indices.
pub const VINTR: usize = 0;
pub const VQUIT: usize = 1;
pub const VERASE: usize = 2;
pub const VKILL: usize = 3;
pub const VEOF: usize = 4;
pub const VTIME: usize = 5;
pub const VMIN: usize = 6;
pub const VSWTC: usize = 7;
pub const VSTART: usize = 8;
pub const VSTOP: usize = 9;
pub const VSUSP: usize = 10;
pub const VEOL: usize = 11;
pub const VREPRINT: usize = 12;
pub const VDISCARD: usize = 13;
pub const VWERASE: usize = 14;
pub const VLNEXT: usize = 15;
pub const VEOL2: usize = 16;

// `c_iflag` bits.
pub const IGNBRK: u32 = 0o1;
pub const BRKINT: u32 = 0o2;
pub const IGNPAR: u32 = 0o4;
pub const PARMRK: u32 = 0o10;
pub const INPCK: u32 = 0o20;
pub const ISTRIP: u32 = 0o40;
pub const INLCR: u32 = 0o100;
pub const IGNCR: u32 = 0o200;
pub const ICRNL: u32 = 0o400;
pub const IUCLC: u32 = 0o1000;
pub const IXON: u32 = 0o2000;
pub const IXANY: u32 = 0o4000;
pub const IXOFF: u32 = 0o10000;
pub const IMAXBEL: u32 = 0o20000;
pub const IUTF8: u32 = 0o40000;

// `c_oflag` bits.
pub const OPOST: u32 = 0o1;
pub const OLCUC: u32 = 0o2;
pub const ONLCR: u32 = 0o4;
pub const OCRNL: u32 = 0o10;
pub const ONOCR: u32 = 0o20;
pub const ONLRET: u32 = 0o40;
pub const OFILL: u32 = 0o100;
pub const OFDEL: u32 = 0o200;
pub const TABDLY: u32 = 0o14000;
/// Expand tabs to spaces (the `TABDLY` value 3).
pub const XTABS: u32 = 0o14000;

// `c_cflag` bits.
pub const CBAUD: u32 = 0o10017;
pub const B0: u32 = 0o0;
pub const B1200: u32 = 0o11;
pub const B2400: u32 = 0o13;
pub const B4800: u32 = 0o14;
pub const B9600: u32 = 0o15;
pub const B19200: u32 = 0o16;
pub const B38400: u32 = 0o17;
pub const B57600: u32 = 0o10001;
pub const B115200: u32 = 0o10002;
pub const CSIZE: u32 = 0o60;
pub const CS5: u32 = 0o0;
pub const CS6: u32 = 0o20;
pub const CS7: u32 = 0o40;
pub const CS8: u32 = 0o60;
pub const CSTOPB: u32 = 0o100;
pub const CREAD: u32 = 0o200;
pub const PARENB: u32 = 0o400;
pub const PARODD: u32 = 0o1000;
pub const HUPCL: u32 = 0o2000;
pub const CLOCAL: u32 = 0o4000;
pub const CRTSCTS: u32 = 0o20000000000;

// `c_lflag` bits.
pub const ISIG: u32 = 0o1;
pub const ICANON: u32 = 0o2;
pub const XCASE: u32 = 0o4;
pub const ECHO: u32 = 0o10;
pub const ECHOE: u32 = 0o20;
pub const ECHOK: u32 = 0o40;
pub const ECHONL: u32 = 0o100;
pub const NOFLSH: u32 = 0o200;
pub const TOSTOP: u32 = 0o400;
pub const ECHOCTL: u32 = 0o1000;
pub const ECHOPRT: u32 = 0o2000;
pub const ECHOKE: u32 = 0o4000;
pub const FLUSHO: u32 = 0o10000;
pub const PENDIN: u32 = 0o40000;
pub const IEXTEN: u32 = 0o100000;
pub const EXTPROC: u32 = 0o200000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn termios_layout() {
        let termios = Termios::linux_default();
        let bytes = termios.to_bytes();
        assert_eq!(bytes[..4], 0o2400u32.to_le_bytes());
        assert_eq!(bytes[4..8], 5u32.to_le_bytes());
        assert_eq!(bytes[8..12], 0o277u32.to_le_bytes());
        assert_eq!(bytes[12..16], 0o105073u32.to_le_bytes());
        assert_eq!(&bytes[17..24], &[3, 0x1c, 0x7f, 0x15, 4, 0, 1]);
        assert_eq!(Termios::from_bytes(&bytes), Some(termios));
        assert_eq!(Termios::from_bytes(&bytes[..35]), None);
    }

    #[test]
    fn window_size() {
        let size = WindowSize {
            ws_row: 24,
            ws_col: 80,
            ..WindowSize::default()
        };
        assert_eq!(size.to_bytes(), [24, 0, 80, 0, 0, 0, 0, 0]);
        assert_eq!(WindowSize::from_bytes(&size.to_bytes()), Some(size));
    }
}
