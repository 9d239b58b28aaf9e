//! The initial process stack of the System V x86_64 psABI (section 3.4.1, "Initial Stack and Register
//! State"), laid out as Linux lays it out.
//!
//! From the returned stack pointer upwards:
//!
//! ```text
//! sp ->  argc
//!        argv[0] .. argv[argc-1], 0
//!        envp[0] .. envp[n-1], 0
//!        the caller's auxv pairs, AT_RANDOM, AT_PLATFORM, AT_EXECFN, then AT_NULL, 0
//!        padding (0 to 15 bytes, so that sp is 16-byte aligned)
//!        16 AT_RANDOM bytes
//!        "x86_64\0"                        (AT_PLATFORM)
//!        execfn "\0"                       (AT_EXECFN)
//!        argument strings, each NUL-terminated
//!        environment strings, each NUL-terminated
//!        8 zero bytes
//! top
//! ```
//!
//! Builds bytes and addresses only: the caller maps the stack and copies the bytes to `sp`.

use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

/// End of the auxiliary vector.
pub const AT_NULL: u64 = 0;
/// Address of the program headers in memory.
pub const AT_PHDR: u64 = 3;
/// Size of one program header.
pub const AT_PHENT: u64 = 4;
/// Number of program headers.
pub const AT_PHNUM: u64 = 5;
/// Page size.
pub const AT_PAGESZ: u64 = 6;
/// Base address of the interpreter (0 for a static program).
pub const AT_BASE: u64 = 7;
/// Flags (0).
pub const AT_FLAGS: u64 = 8;
/// The program's entry point, biased.
pub const AT_ENTRY: u64 = 9;
/// Real user id.
pub const AT_UID: u64 = 11;
/// Effective user id.
pub const AT_EUID: u64 = 12;
/// Real group id.
pub const AT_GID: u64 = 13;
/// Effective group id.
pub const AT_EGID: u64 = 14;
/// Address of the platform string.
pub const AT_PLATFORM: u64 = 15;
/// CPU feature bits (CPUID leaf 1 EDX on x86_64).
pub const AT_HWCAP: u64 = 16;
/// Clock ticks per second, for `times()`.
pub const AT_CLKTCK: u64 = 17;
/// Non-zero when the program runs with raised privileges.
pub const AT_SECURE: u64 = 23;
/// Address of 16 random bytes (glibc seeds its stack protector and pointer guard from them).
pub const AT_RANDOM: u64 = 25;
/// More CPU feature bits.
pub const AT_HWCAP2: u64 = 26;
/// Address of the path the program was executed by.
pub const AT_EXECFN: u64 = 31;
/// Minimal stack size a signal handler needs.
pub const AT_MINSIGSTKSZ: u64 = 51;

/// Most bytes the strings and their pointers may take (Linux's default `ARG_MAX` for an 8 MiB
/// stack limit): more is `E2BIG`.
pub const MAX_ARGUMENT_BYTES: usize = 2 << 20;
/// Most bytes one string may take, its NUL included (Linux's `MAX_ARG_STRLEN`).
pub const MAX_ARGUMENT_STRING: usize = 128 << 10;

/// The string `AT_PLATFORM` points at.
const PLATFORM: &[u8] = b"x86_64\0";
/// Bytes in one stack word.
const WORD: usize = 8;
/// Auxiliary entries `build` adds after the caller's: AT_RANDOM, AT_PLATFORM, AT_EXECFN,
/// AT_NULL.
const ADDED_AUXILIARY_ENTRIES: usize = 4;

/// The stack contents and where they start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackImage {
    /// To be written at `[sp, top)`: `bytes.len() == top - sp`.
    pub bytes: Vec<u8>,
    /// The initial `rsp`, 16-byte aligned, pointing at `argc`.
    pub sp: u64,
}

/// Why a stack could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StackError {
    /// The strings and pointers together exceed [`MAX_ARGUMENT_BYTES`] (`E2BIG`).
    TooLarge,
    /// One string exceeds [`MAX_ARGUMENT_STRING`] (`E2BIG`).
    ArgumentTooLong,
    /// An argument, environment string or `execfn` contains a NUL byte (`EINVAL`).
    EmbeddedNul,
    /// The caller passed an auxiliary entry `build` adds itself, or `AT_NULL` (`EINVAL`).
    ReservedAuxiliaryKey(u64),
    /// `top` is not 16-byte aligned (`EINVAL`).
    MisalignedTop,
    /// The stack would reach below address 0 (`EINVAL`).
    BelowAddressZero,
}

impl StackError {
    /// The Linux errno `execve` reports for this error: `E2BIG` (7) for the size limits,
    /// `EINVAL` (22) for the rest.
    pub const fn errno(&self) -> i32 {
        match self {
            Self::TooLarge | Self::ArgumentTooLong => 7,
            _ => 22,
        }
    }
}

impl fmt::Display for StackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge => write!(
                f,
                "arguments and environment take more than {MAX_ARGUMENT_BYTES} bytes"
            ),
            Self::ArgumentTooLong => write!(
                f,
                "an argument or environment string is longer than {MAX_ARGUMENT_STRING} bytes"
            ),
            Self::EmbeddedNul => write!(f, "an argument or environment string contains NUL"),
            Self::ReservedAuxiliaryKey(key) => {
                write!(f, "auxiliary entry {key} is added by the stack builder")
            }
            Self::MisalignedTop => write!(f, "stack top is not 16-byte aligned"),
            Self::BelowAddressZero => write!(f, "stack would reach below address 0"),
        }
    }
}

/// Builds the initial stack ending at `top` (see the module documentation for the layout).
///
/// `auxv` holds the caller's entries (`AT_PHDR`, `AT_PHENT`, `AT_PHNUM`, `AT_PAGESZ`,
/// `AT_ENTRY`, `AT_BASE`, `AT_FLAGS`, the ids, `AT_SECURE`, `AT_CLKTCK`, `AT_HWCAP`,
/// `AT_MINSIGSTKSZ`, ...), in the order they should appear; `build` appends `AT_RANDOM`,
/// `AT_PLATFORM` and `AT_EXECFN`, pointing into the strings it places, and `AT_NULL`.
pub fn build(
    top: u64,
    argv: &[&[u8]],
    envp: &[&[u8]],
    execfn: &[u8],
    auxv: &[(u64, u64)],
    random: [u8; 16],
) -> Result<StackImage, StackError> {
    if top % 16 != 0 {
        return Err(StackError::MisalignedTop);
    }
    if let Some(&(key, _)) = auxv
        .iter()
        .find(|(key, _)| matches!(*key, AT_NULL | AT_RANDOM | AT_PLATFORM | AT_EXECFN))
    {
        return Err(StackError::ReservedAuxiliaryKey(key));
    }
    let strings = || argv.iter().chain(envp).chain(core::iter::once(&execfn));
    if strings().any(|string| string.contains(&0)) {
        return Err(StackError::EmbeddedNul);
    }
    if strings().any(|string| string.len() >= MAX_ARGUMENT_STRING) {
        return Err(StackError::ArgumentTooLong);
    }
    // Each string is under 128 KiB and there are at most 2 MiB / 8 pointers before the sum
    // is refused, so the sums below stay far from overflow once the pointer count is bounded.
    let pointer_count = argv.len().saturating_add(envp.len());
    if pointer_count > MAX_ARGUMENT_BYTES / WORD {
        return Err(StackError::TooLarge);
    }
    let string_bytes: usize = strings().map(|string| string.len() + 1).sum();
    if string_bytes + pointer_count * WORD > MAX_ARGUMENT_BYTES {
        return Err(StackError::TooLarge);
    }
    if auxv.len() > MAX_ARGUMENT_BYTES / (2 * WORD) {
        return Err(StackError::TooLarge);
    }

    // Above the vectors: random bytes, platform, execfn, strings, the final zero word.
    let information_size = 16 + PLATFORM.len() + string_bytes + WORD;
    let vector_words =
        1 + argv.len() + 1 + envp.len() + 1 + 2 * (auxv.len() + ADDED_AUXILIARY_ENTRIES);
    let below = |amount: usize| top.checked_sub(amount as u64);
    let random_address = below(information_size).ok_or(StackError::BelowAddressZero)?;
    let sp = random_address
        .checked_sub((vector_words * WORD) as u64)
        .ok_or(StackError::BelowAddressZero)?
        & !15;

    let size = usize::try_from(top - sp).map_err(|_| StackError::TooLarge)?;
    let mut writer = Writer {
        bytes: vec![0; size],
        base: sp,
    };

    // Strings, from the random bytes upwards, remembering where each one went.
    let mut cursor = random_address;
    writer.put(cursor, &random);
    cursor += 16;
    let platform_address = cursor;
    writer.put(cursor, PLATFORM);
    cursor += PLATFORM.len() as u64;
    let execfn_address = writer.put_string(&mut cursor, execfn);
    let argv_addresses: Vec<u64> = argv
        .iter()
        .map(|string| writer.put_string(&mut cursor, string))
        .collect();
    let envp_addresses: Vec<u64> = envp
        .iter()
        .map(|string| writer.put_string(&mut cursor, string))
        .collect();
    debug_assert_eq!(cursor + WORD as u64, top);

    // Vectors, from sp upwards.
    let mut cursor = sp;
    writer.put_word(&mut cursor, argv.len() as u64);
    for address in argv_addresses.iter().chain([&0]) {
        writer.put_word(&mut cursor, *address);
    }
    for address in envp_addresses.iter().chain([&0]) {
        writer.put_word(&mut cursor, *address);
    }
    let added = [
        (AT_RANDOM, random_address),
        (AT_PLATFORM, platform_address),
        (AT_EXECFN, execfn_address),
        (AT_NULL, 0),
    ];
    for &(key, value) in auxv.iter().chain(&added) {
        writer.put_word(&mut cursor, key);
        writer.put_word(&mut cursor, value);
    }
    debug_assert!(cursor <= random_address);

    Ok(StackImage {
        bytes: writer.bytes,
        sp,
    })
}

/// Writes at stack addresses into the buffer that starts at `base`.
struct Writer {
    bytes: Vec<u8>,
    base: u64,
}

impl Writer {
    fn put(&mut self, address: u64, data: &[u8]) {
        let start = (address - self.base) as usize;
        self.bytes[start..start + data.len()].copy_from_slice(data);
    }

    /// Writes `string` and its NUL at `cursor`, advances it, and returns where it went.
    fn put_string(&mut self, cursor: &mut u64, string: &[u8]) -> u64 {
        let address = *cursor;
        self.put(address, string);
        // The buffer is zeroed: the NUL is already there.
        *cursor += string.len() as u64 + 1;
        address
    }

    fn put_word(&mut self, cursor: &mut u64, value: u64) {
        self.put(*cursor, &value.to_le_bytes());
        *cursor += WORD as u64;
    }
}
