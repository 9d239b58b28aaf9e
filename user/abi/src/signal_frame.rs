//! The x86_64 `rt_sigframe`: what the kernel writes on the user stack to run a signal handler.
//!
//! Layout, from the frame's lowest address (where `rsp` points when the handler starts):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | `pretcode`: the handler's return address, `sa_restorer` (calls `rt_sigreturn`) |
//! | 8 | 304 | `ucontext`: `uc_flags`, `uc_link`, `uc_stack`, `uc_mcontext` (`sigcontext`), `uc_sigmask` |
//! | 312 | 128 | `siginfo` |
//!
//! `rt_sigreturn` reads the `ucontext` back from `rsp - 8` at the time of the call (the
//! handler's `ret` popped `pretcode`), so the frame must be decoded from the same place.
//!
//! # Placing the frame and the FPU state
//!
//! The FPU/SSE state is not part of the frame: the kernel stores it separately, above the
//! frame, and points `sigcontext.fpstate` at it. With `fxsave` (no XSAVE), the steps are:
//!
//! 1. Start from the interrupted `rsp` minus the 128-byte red zone ([`RED_ZONE`]), or from the
//!    top of the alternate stack if `SA_ONSTACK` applies and the thread is not already on it.
//! 2. Reserve [`FXSAVE_SIZE`] bytes and round down to [`FPSTATE_ALIGN`] (64): that is
//!    `fpstate`, written with `fxsave64`. Bytes 464..512 (the software-reserved area) must be
//!    zero: a zero `magic1` there tells the C library no extended XSAVE state follows, and
//!    `uc_flags` then omits [`UC_FP_XSTATE`].
//! 3. Reserve [`SIZE`] bytes below `fpstate` and align so that `rsp + 8` is a multiple of 16,
//!    as right after a `call`: that address is the frame.
//!
//! [`FramePlacement::below`] computes steps 2 and 3. The handler then starts with
//! `rsp = frame`, `rip = handler`, `rdi = signal`, `rsi = frame + SIGINFO_OFFSET`,
//! `rdx = frame + UCONTEXT_OFFSET`, `rax = 0`, and the direction flag cleared.

use crate::bytes::{Reader, Writer};
use crate::signal::{SIGBUS, SIGCHLD, SIGFPE, SIGILL, SIGSEGV, SIGTRAP, SI_KERNEL};

/// Bytes below `rsp` that leaf functions may use without moving `rsp`; the frame goes below.
pub const RED_ZONE: u64 = 128;
/// Size of the `fxsave64` area that `sigcontext.fpstate` points to.
pub const FXSAVE_SIZE: u64 = 512;
/// Alignment `fxsave64` requires of the area (16), rounded up to a cache line as Linux does.
pub const FPSTATE_ALIGN: u64 = 64;

/// `uc_flags`: extended XSAVE state follows the `fxsave` area.
pub const UC_FP_XSTATE: u64 = 0x1;
/// `uc_flags`: `sigcontext.ss` holds the interrupted `ss`.
pub const UC_SIGCONTEXT_SS: u64 = 0x2;
/// `uc_flags`: `rt_sigreturn` restores `ss` exactly as saved.
pub const UC_STRICT_RESTORE_SS: u64 = 0x4;

/// Size of the whole frame.
pub const SIZE: usize = 440;
/// `pretcode`.
pub const PRETCODE_OFFSET: usize = 0;
/// Start of the `ucontext`; handlers receive this address in `rdx`.
pub const UCONTEXT_OFFSET: usize = 8;
/// Start of the `siginfo`; handlers receive this address in `rsi`.
pub const SIGINFO_OFFSET: usize = UCONTEXT_OFFSET + ucontext::SIZE;

/// Offsets inside the kernel's `struct ucontext`.
pub mod ucontext {
    pub const FLAGS: usize = 0;
    pub const LINK: usize = 8;
    /// `stack_t`: `ss_sp` (8), `ss_flags` (4, then 4 of padding), `ss_size` (8).
    pub const STACK: usize = 16;
    pub const STACK_SP: usize = STACK;
    pub const STACK_FLAGS: usize = STACK + 8;
    pub const STACK_SIZE: usize = STACK + 16;
    /// `struct sigcontext`; see [`super::sigcontext`].
    pub const MCONTEXT: usize = 40;
    /// The kernel's 8-byte signal mask (the C library's `ucontext_t` has 128 bytes here).
    pub const SIGMASK: usize = MCONTEXT + super::sigcontext::SIZE;
    pub const SIZE: usize = SIGMASK + 8;
}

/// Offsets inside `struct sigcontext` (the general registers in `mcontext_t.gregs` order).
pub mod sigcontext {
    pub const R8: usize = 0;
    pub const R9: usize = 8;
    pub const R10: usize = 16;
    pub const R11: usize = 24;
    pub const R12: usize = 32;
    pub const R13: usize = 40;
    pub const R14: usize = 48;
    pub const R15: usize = 56;
    pub const RDI: usize = 64;
    pub const RSI: usize = 72;
    pub const RBP: usize = 80;
    pub const RBX: usize = 88;
    pub const RDX: usize = 96;
    pub const RAX: usize = 104;
    pub const RCX: usize = 112;
    pub const RSP: usize = 120;
    pub const RIP: usize = 128;
    pub const EFLAGS: usize = 136;
    /// `cs`, `gs`, `fs`, `ss`: four 16-bit fields in one 8-byte slot.
    pub const CS: usize = 144;
    pub const GS: usize = 146;
    pub const FS: usize = 148;
    pub const SS: usize = 150;
    pub const ERR: usize = 152;
    pub const TRAPNO: usize = 160;
    pub const OLDMASK: usize = 168;
    pub const CR2: usize = 176;
    /// User address of the `fxsave` area, or 0 when the thread never used the FPU.
    pub const FPSTATE: usize = 184;
    /// Eight reserved 64-bit words.
    pub const RESERVED: usize = 192;
    pub const SIZE: usize = 256;
}

/// Offsets inside `siginfo_t` (128 bytes; the union starts at 16).
pub mod siginfo {
    pub const SIGNO: usize = 0;
    pub const ERRNO: usize = 4;
    pub const CODE: usize = 8;
    /// `kill` and `sigchld`: sender's process id.
    pub const PID: usize = 16;
    /// `kill` and `sigchld`: sender's real user id.
    pub const UID: usize = 20;
    /// `sigchld`: exit code or signal.
    pub const STATUS: usize = 24;
    /// `sigchld`: user time in clock ticks.
    pub const UTIME: usize = 32;
    /// `sigchld`: system time in clock ticks.
    pub const STIME: usize = 40;
    /// `sigfault`: the faulting address.
    pub const ADDR: usize = 16;
    pub const SIZE: usize = 128;
}

/// The general registers of the interrupted context, as `sigcontext` holds them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GeneralRegisters {
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rbp: u64,
    pub rbx: u64,
    pub rdx: u64,
    pub rax: u64,
    pub rcx: u64,
    pub rsp: u64,
    pub rip: u64,
    pub eflags: u64,
    pub cs: u16,
    pub gs: u16,
    pub fs: u16,
    pub ss: u16,
}

/// `stack_t`: the alternate signal stack in force when the signal arrived.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SignalStack {
    pub sp: u64,
    /// `SS_ONSTACK` / `SS_DISABLE`.
    pub flags: i32,
    pub size: u64,
}

/// The part of `siginfo_t` after signo, errno and code; which member applies depends on them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigInfoFields {
    /// Sent by a process (`kill`, `tkill`) or by the kernel without details.
    Kill { pid: i32, uid: u32 },
    /// `SIGCHLD` about a child's state change.
    Child {
        pid: i32,
        uid: u32,
        status: i32,
        user_time: i64,
        system_time: i64,
    },
    /// A hardware fault (`SIGSEGV`, `SIGBUS`, `SIGILL`, `SIGFPE`, `SIGTRAP`).
    Fault { address: u64 },
}

/// `siginfo_t`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigInfo {
    pub signal: u32,
    pub errno: i32,
    /// An `SI_*`, `CLD_*`, `SEGV_*`, ... value.
    pub code: i32,
    pub fields: SigInfoFields,
}

impl SigInfo {
    pub fn to_bytes(&self) -> [u8; siginfo::SIZE] {
        let mut bytes = [0; siginfo::SIZE];
        self.write(&mut Writer::new(&mut bytes), 0);
        bytes
    }

    /// Decodes a `siginfo_t`, choosing the union member from signal and code as Linux does.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        Self::read(Reader::new(bytes, siginfo::SIZE)?, 0)
    }

    fn write(&self, writer: &mut Writer<'_>, base: usize) {
        writer.u32(base + siginfo::SIGNO, self.signal);
        writer.i32(base + siginfo::ERRNO, self.errno);
        writer.i32(base + siginfo::CODE, self.code);
        match self.fields {
            SigInfoFields::Kill { pid, uid } => {
                writer.i32(base + siginfo::PID, pid);
                writer.u32(base + siginfo::UID, uid);
            }
            SigInfoFields::Child {
                pid,
                uid,
                status,
                user_time,
                system_time,
            } => {
                writer.i32(base + siginfo::PID, pid);
                writer.u32(base + siginfo::UID, uid);
                writer.i32(base + siginfo::STATUS, status);
                writer.i64(base + siginfo::UTIME, user_time);
                writer.i64(base + siginfo::STIME, system_time);
            }
            SigInfoFields::Fault { address } => writer.u64(base + siginfo::ADDR, address),
        }
    }

    fn read(reader: Reader<'_>, base: usize) -> Option<Self> {
        let signal = reader.u32(base + siginfo::SIGNO)?;
        let code = reader.i32(base + siginfo::CODE)?;
        // Positive codes other than SI_KERNEL are the kernel's own, with per-signal meaning.
        let from_kernel = code > 0 && code != SI_KERNEL;
        let fields = match signal {
            SIGCHLD if from_kernel => SigInfoFields::Child {
                pid: reader.i32(base + siginfo::PID)?,
                uid: reader.u32(base + siginfo::UID)?,
                status: reader.i32(base + siginfo::STATUS)?,
                user_time: reader.i64(base + siginfo::UTIME)?,
                system_time: reader.i64(base + siginfo::STIME)?,
            },
            SIGSEGV | SIGBUS | SIGILL | SIGFPE | SIGTRAP if from_kernel => SigInfoFields::Fault {
                address: reader.u64(base + siginfo::ADDR)?,
            },
            _ => SigInfoFields::Kill {
                pid: reader.i32(base + siginfo::PID)?,
                uid: reader.u32(base + siginfo::UID)?,
            },
        };
        Some(Self {
            signal,
            errno: reader.i32(base + siginfo::ERRNO)?,
            code,
            fields,
        })
    }
}

/// Everything in an `rt_sigframe`, as plain values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignalFrame {
    /// `pretcode`: the handler's return address (`sa_restorer`).
    pub return_address: u64,
    /// `uc_flags`: `UC_*` bits.
    pub flags: u64,
    /// `uc_link`: always 0 from the kernel.
    pub link: u64,
    pub stack: SignalStack,
    pub registers: GeneralRegisters,
    /// Hardware error code of the fault (`err`).
    pub error_code: u64,
    /// Exception vector of the fault (`trapno`).
    pub trap_number: u64,
    /// Low word of the blocked mask (`oldmask`), kept for old programs.
    pub old_mask: u64,
    /// Faulting address (`cr2`).
    pub fault_address: u64,
    /// User address of the `fxsave` area, or 0.
    pub fpstate: u64,
    /// Signals blocked before delivery; `rt_sigreturn` restores this mask.
    pub blocked: u64,
    pub info: SigInfo,
}

impl SignalFrame {
    /// Encodes the frame exactly as it goes on the user stack.
    pub fn to_bytes(&self) -> [u8; SIZE] {
        let mut bytes = [0; SIZE];
        let mut writer = Writer::new(&mut bytes);
        writer.u64(PRETCODE_OFFSET, self.return_address);
        let uc = UCONTEXT_OFFSET;
        writer.u64(uc + ucontext::FLAGS, self.flags);
        writer.u64(uc + ucontext::LINK, self.link);
        writer.u64(uc + ucontext::STACK_SP, self.stack.sp);
        writer.i32(uc + ucontext::STACK_FLAGS, self.stack.flags);
        writer.u64(uc + ucontext::STACK_SIZE, self.stack.size);
        let mc = uc + ucontext::MCONTEXT;
        for (offset, value) in register_slots(&self.registers) {
            writer.u64(mc + offset, value);
        }
        writer.u16(mc + sigcontext::CS, self.registers.cs);
        writer.u16(mc + sigcontext::GS, self.registers.gs);
        writer.u16(mc + sigcontext::FS, self.registers.fs);
        writer.u16(mc + sigcontext::SS, self.registers.ss);
        writer.u64(mc + sigcontext::ERR, self.error_code);
        writer.u64(mc + sigcontext::TRAPNO, self.trap_number);
        writer.u64(mc + sigcontext::OLDMASK, self.old_mask);
        writer.u64(mc + sigcontext::CR2, self.fault_address);
        writer.u64(mc + sigcontext::FPSTATE, self.fpstate);
        writer.u64(uc + ucontext::SIGMASK, self.blocked);
        self.info.write(&mut writer, SIGINFO_OFFSET);
        bytes
    }

    /// Decodes a frame read back from user memory (for `rt_sigreturn`, which trusts only the
    /// `ucontext` but reads the whole frame). `None` if `bytes` is shorter than [`SIZE`].
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let reader = Reader::new(bytes, SIZE)?;
        let uc = UCONTEXT_OFFSET;
        let mc = uc + ucontext::MCONTEXT;
        let register = |offset: usize| reader.u64(mc + offset);
        let registers = GeneralRegisters {
            r8: register(sigcontext::R8)?,
            r9: register(sigcontext::R9)?,
            r10: register(sigcontext::R10)?,
            r11: register(sigcontext::R11)?,
            r12: register(sigcontext::R12)?,
            r13: register(sigcontext::R13)?,
            r14: register(sigcontext::R14)?,
            r15: register(sigcontext::R15)?,
            rdi: register(sigcontext::RDI)?,
            rsi: register(sigcontext::RSI)?,
            rbp: register(sigcontext::RBP)?,
            rbx: register(sigcontext::RBX)?,
            rdx: register(sigcontext::RDX)?,
            rax: register(sigcontext::RAX)?,
            rcx: register(sigcontext::RCX)?,
            rsp: register(sigcontext::RSP)?,
            rip: register(sigcontext::RIP)?,
            eflags: register(sigcontext::EFLAGS)?,
            cs: reader.u16(mc + sigcontext::CS)?,
            gs: reader.u16(mc + sigcontext::GS)?,
            fs: reader.u16(mc + sigcontext::FS)?,
            ss: reader.u16(mc + sigcontext::SS)?,
        };
        Some(Self {
            return_address: reader.u64(PRETCODE_OFFSET)?,
            flags: reader.u64(uc + ucontext::FLAGS)?,
            link: reader.u64(uc + ucontext::LINK)?,
            stack: SignalStack {
                sp: reader.u64(uc + ucontext::STACK_SP)?,
                flags: reader.i32(uc + ucontext::STACK_FLAGS)?,
                size: reader.u64(uc + ucontext::STACK_SIZE)?,
            },
            registers,
            error_code: register(sigcontext::ERR)?,
            trap_number: register(sigcontext::TRAPNO)?,
            old_mask: register(sigcontext::OLDMASK)?,
            fault_address: register(sigcontext::CR2)?,
            fpstate: register(sigcontext::FPSTATE)?,
            blocked: reader.u64(uc + ucontext::SIGMASK)?,
            info: SigInfo::read(reader, SIGINFO_OFFSET)?,
        })
    }
}

/// The 64-bit register slots of `sigcontext` with their values.
fn register_slots(registers: &GeneralRegisters) -> [(usize, u64); 18] {
    [
        (sigcontext::R8, registers.r8),
        (sigcontext::R9, registers.r9),
        (sigcontext::R10, registers.r10),
        (sigcontext::R11, registers.r11),
        (sigcontext::R12, registers.r12),
        (sigcontext::R13, registers.r13),
        (sigcontext::R14, registers.r14),
        (sigcontext::R15, registers.r15),
        (sigcontext::RDI, registers.rdi),
        (sigcontext::RSI, registers.rsi),
        (sigcontext::RBP, registers.rbp),
        (sigcontext::RBX, registers.rbx),
        (sigcontext::RDX, registers.rdx),
        (sigcontext::RAX, registers.rax),
        (sigcontext::RCX, registers.rcx),
        (sigcontext::RSP, registers.rsp),
        (sigcontext::RIP, registers.rip),
        (sigcontext::EFLAGS, registers.eflags),
    ]
}

/// Where the `fxsave` area and the frame go below a stack top (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FramePlacement {
    /// Address of the 512-byte `fxsave` area, 64-byte aligned.
    pub fpstate: u64,
    /// Address of the frame; the handler starts with `rsp` here.
    pub frame: u64,
}

impl FramePlacement {
    /// Places the FPU state and the frame below `stack_top` (already below the red zone, or
    /// the top of the alternate stack). `None` if the stack would wrap below address 0.
    pub fn below(stack_top: u64) -> Option<Self> {
        let fpstate = stack_top.checked_sub(FXSAVE_SIZE)? & !(FPSTATE_ALIGN - 1);
        // Align so that rsp + 8 is 16-aligned, as the ABI has it right after a call.
        let frame = (fpstate.checked_sub(SIZE as u64)?.checked_add(8)? & !15).checked_sub(8)?;
        Some(Self { fpstate, frame })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::{SEGV_MAPERR, SIGINT, SI_USER};

    fn sample() -> SignalFrame {
        let mut registers = GeneralRegisters::default();
        let slots = [
            &mut registers.r8,
            &mut registers.r9,
            &mut registers.r10,
            &mut registers.r11,
            &mut registers.r12,
            &mut registers.r13,
            &mut registers.r14,
            &mut registers.r15,
            &mut registers.rdi,
            &mut registers.rsi,
            &mut registers.rbp,
            &mut registers.rbx,
            &mut registers.rdx,
            &mut registers.rax,
            &mut registers.rcx,
            &mut registers.rsp,
            &mut registers.rip,
            &mut registers.eflags,
        ];
        for (index, slot) in slots.into_iter().enumerate() {
            *slot = 0x1000 + index as u64;
        }
        registers.cs = 0x33;
        registers.ss = 0x2b;
        SignalFrame {
            return_address: 0x40_1234,
            flags: UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS,
            link: 0,
            stack: SignalStack {
                sp: 0,
                flags: crate::signal::SS_DISABLE,
                size: 0,
            },
            registers,
            error_code: 6,
            trap_number: 14,
            old_mask: 0x2,
            fault_address: 0xdead_0000,
            fpstate: 0x7fff_f000,
            blocked: 0x2,
            info: SigInfo {
                signal: SIGSEGV,
                errno: 0,
                code: SEGV_MAPERR,
                fields: SigInfoFields::Fault {
                    address: 0xdead_0000,
                },
            },
        }
    }

    #[test]
    fn layout_constants() {
        assert_eq!(ucontext::SIGMASK, 296);
        assert_eq!(ucontext::SIZE, 304);
        assert_eq!(SIGINFO_OFFSET, 312);
        assert_eq!(SIZE, SIGINFO_OFFSET + siginfo::SIZE);
    }

    #[test]
    fn frame_round_trip_and_placement_of_fields() {
        let frame = sample();
        let bytes = frame.to_bytes();
        let at = |offset: usize| u64::from_le_bytes(bytes[offset..offset + 8].try_into().unwrap());
        let mc = UCONTEXT_OFFSET + ucontext::MCONTEXT;
        assert_eq!(at(0), 0x40_1234);
        assert_eq!(at(mc + sigcontext::R8), 0x1000);
        assert_eq!(at(mc + sigcontext::RIP), 0x1010);
        assert_eq!(at(mc + sigcontext::EFLAGS), 0x1011);
        // cs, gs, fs, ss packed into one word: 0x33, 0, 0, 0x2b.
        assert_eq!(at(mc + sigcontext::CS), 0x002b_0000_0000_0033);
        assert_eq!(at(mc + sigcontext::CR2), 0xdead_0000);
        assert_eq!(at(SIGINFO_OFFSET + siginfo::ADDR), 0xdead_0000);
        assert_eq!(SignalFrame::from_bytes(&bytes), Some(frame));
        assert_eq!(SignalFrame::from_bytes(&bytes[..SIZE - 1]), None);
    }

    #[test]
    fn siginfo_members() {
        let kill = SigInfo {
            signal: SIGINT,
            errno: 0,
            code: SI_USER,
            fields: SigInfoFields::Kill { pid: 7, uid: 0 },
        };
        assert_eq!(SigInfo::from_bytes(&kill.to_bytes()), Some(kill));
        let child = SigInfo {
            signal: SIGCHLD,
            errno: 0,
            code: crate::signal::CLD_EXITED,
            fields: SigInfoFields::Child {
                pid: 9,
                uid: 1000,
                status: 3,
                user_time: 11,
                system_time: 12,
            },
        };
        let bytes = child.to_bytes();
        assert_eq!(bytes[siginfo::STATUS], 3);
        assert_eq!(SigInfo::from_bytes(&bytes), Some(child));
        assert_eq!(SigInfo::from_bytes(&bytes[..100]), None);
    }

    #[test]
    fn placement() {
        let top = 0x7fff_ffff_e000 - RED_ZONE - 3;
        let placement = FramePlacement::below(top).unwrap();
        assert_eq!(placement.fpstate % 64, 0);
        assert!(placement.fpstate + FXSAVE_SIZE <= top);
        assert_eq!((placement.frame + 8) % 16, 0);
        assert!(placement.frame + SIZE as u64 <= placement.fpstate);
        assert!(placement.fpstate - (placement.frame + SIZE as u64) < 32);
        assert_eq!(FramePlacement::below(100), None);
    }
}
