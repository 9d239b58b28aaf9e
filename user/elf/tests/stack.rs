//! The initial stack, read back as a program's start-up code reads it: argc, the argv and
//! envp vectors, the auxiliary vector, and the strings they point at.

use elf_loader::stack::{
    build, StackError, StackImage, AT_ENTRY, AT_EXECFN, AT_NULL, AT_PAGESZ, AT_PHDR, AT_PHNUM,
    AT_PLATFORM, AT_RANDOM, AT_UID, MAX_ARGUMENT_BYTES, MAX_ARGUMENT_STRING,
};

const TOP: u64 = 0x7fff_ffff_0000;
const RANDOM: [u8; 16] = *b"0123456789abcdef";

/// The stack as a reader sees it; every read is checked to lie inside `[sp, top)`.
struct Decoded {
    argv: Vec<Vec<u8>>,
    envp: Vec<Vec<u8>>,
    auxv: Vec<(u64, u64)>,
    /// Highest address the vectors use (exclusive).
    vectors_end: u64,
}

struct Reader<'a> {
    image: &'a StackImage,
    top: u64,
}

impl Reader<'_> {
    fn offset(&self, address: u64, length: u64) -> usize {
        assert!(
            address >= self.image.sp && address + length <= self.top,
            "address {address:#x}+{length} outside [{:#x}, {:#x})",
            self.image.sp,
            self.top
        );
        (address - self.image.sp) as usize
    }

    fn word(&self, address: u64) -> u64 {
        let at = self.offset(address, 8);
        u64::from_le_bytes(self.image.bytes[at..at + 8].try_into().unwrap())
    }

    fn string(&self, address: u64) -> Vec<u8> {
        let at = self.offset(address, 1);
        let length = self.image.bytes[at..]
            .iter()
            .position(|&byte| byte == 0)
            .expect("string is NUL-terminated inside the stack");
        self.image.bytes[at..at + length].to_vec()
    }

    fn bytes(&self, address: u64, length: u64) -> &[u8] {
        let at = self.offset(address, length);
        &self.image.bytes[at..at + length as usize]
    }
}

fn decode(image: &StackImage, top: u64) -> Decoded {
    assert_eq!(image.bytes.len() as u64, top - image.sp);
    assert_eq!(image.sp % 16, 0, "sp {:#x} not 16-byte aligned", image.sp);
    let reader = Reader { image, top };
    let mut cursor = image.sp;
    let mut next = || {
        let value = reader.word(cursor);
        cursor += 8;
        value
    };
    let argc = next();
    let argv: Vec<u64> = (0..argc).map(|_| next()).collect();
    assert_eq!(next(), 0, "argv is NULL-terminated");
    let mut envp = Vec::new();
    loop {
        match next() {
            0 => break,
            pointer => envp.push(pointer),
        }
    }
    let mut auxv = Vec::new();
    loop {
        let (key, value) = (next(), next());
        if key == AT_NULL {
            assert_eq!(value, 0);
            break;
        }
        auxv.push((key, value));
    }
    Decoded {
        argv: argv.iter().map(|&pointer| reader.string(pointer)).collect(),
        envp: envp.iter().map(|&pointer| reader.string(pointer)).collect(),
        auxv,
        vectors_end: cursor,
    }
}

fn value_of(auxv: &[(u64, u64)], key: u64) -> u64 {
    let found: Vec<u64> = auxv
        .iter()
        .filter(|(k, _)| *k == key)
        .map(|(_, v)| *v)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "auxv key {key} appears {} times",
        found.len()
    );
    found[0]
}

#[test]
fn round_trip() {
    let argv: [&[u8]; 3] = [b"/bin/busybox", b"sh", b"-c echo hi"];
    let envp: [&[u8]; 2] = [b"PATH=/bin:/usr/bin", b"HOME=/"];
    let caller = [
        (AT_PHDR, 0x40_0040),
        (AT_PHNUM, 10),
        (AT_PAGESZ, 4096),
        (AT_ENTRY, 0x40_ebf0),
        (AT_UID, 0),
    ];
    let image = build(TOP, &argv, &envp, b"/bin/sh", &caller, RANDOM).unwrap();
    let decoded = decode(&image, TOP);
    assert_eq!(decoded.argv, argv.map(<[u8]>::to_vec));
    assert_eq!(decoded.envp, envp.map(<[u8]>::to_vec));
    // The caller's entries first, in order, then the three added ones.
    assert_eq!(&decoded.auxv[..caller.len()], &caller);
    assert_eq!(decoded.auxv.len(), caller.len() + 3);

    let reader = Reader {
        image: &image,
        top: TOP,
    };
    let random = value_of(&decoded.auxv, AT_RANDOM);
    assert_eq!(reader.bytes(random, 16), RANDOM);
    assert!(
        random >= decoded.vectors_end,
        "random bytes overlap the vectors"
    );
    assert_eq!(
        reader.string(value_of(&decoded.auxv, AT_PLATFORM)),
        b"x86_64"
    );
    assert_eq!(
        reader.string(value_of(&decoded.auxv, AT_EXECFN)),
        b"/bin/sh"
    );
    // Padding below the random bytes is less than 16 bytes; the last word is zero.
    assert!(random - decoded.vectors_end < 16);
    assert_eq!(reader.word(TOP - 8), 0);
}

#[test]
fn alignment_for_every_shape() {
    // Every combination of odd and even counts and string lengths keeps sp aligned and the
    // layout readable.
    let strings: Vec<Vec<u8>> = (0..9).map(|length| vec![b'x'; length]).collect();
    for argc in 0..5 {
        for envc in 0..5 {
            for auxc in 0..3 {
                for length in 0..9 {
                    let argv: Vec<&[u8]> = (0..argc).map(|_| &strings[length][..]).collect();
                    let envp: Vec<&[u8]> =
                        (0..envc).map(|i| &strings[(length + i) % 9][..]).collect();
                    let auxv: Vec<(u64, u64)> = (0..auxc).map(|i| (100 + i, i)).collect();
                    let image = build(TOP, &argv, &envp, &strings[length], &auxv, RANDOM).unwrap();
                    let decoded = decode(&image, TOP);
                    assert_eq!(decoded.argv.len(), argc);
                    assert_eq!(decoded.envp.len(), envc);
                    assert_eq!(&decoded.auxv[..auxc as usize], &auxv[..]);
                    let random = value_of(&decoded.auxv, AT_RANDOM);
                    assert!(random >= decoded.vectors_end && random - decoded.vectors_end < 16);
                }
            }
        }
    }
}

#[test]
fn argument_limits() {
    // One string of 128 KiB including its NUL is too long; one byte less is fine.
    let long = vec![b'a'; MAX_ARGUMENT_STRING];
    let fits = &long[..MAX_ARGUMENT_STRING - 1];
    assert_eq!(
        build(TOP, &[&long], &[], b"x", &[], RANDOM),
        Err(StackError::ArgumentTooLong)
    );
    assert_eq!(
        build(TOP, &[], &[&long], b"x", &[], RANDOM),
        Err(StackError::ArgumentTooLong)
    );
    assert_eq!(
        build(TOP, &[], &[], &long, &[], RANDOM),
        Err(StackError::ArgumentTooLong)
    );
    let image = build(TOP, &[fits], &[], b"x", &[], RANDOM).unwrap();
    assert_eq!(decode(&image, TOP).argv[0].len(), MAX_ARGUMENT_STRING - 1);

    // 16 strings of 128 KiB fill 2 MiB without their pointers: E2BIG.
    let many = vec![fits; 16];
    assert_eq!(
        build(TOP, &many, &[], b"x", &[], RANDOM),
        Err(StackError::TooLarge)
    );
    assert_eq!(StackError::TooLarge.errno(), 7);
    // Just under the limit: 15 such strings and the rest in small ones.
    let fifteen = vec![fits; 15];
    let image = build(TOP, &fifteen, &[], b"x", &[], RANDOM).unwrap();
    assert!(image.bytes.len() < MAX_ARGUMENT_BYTES + 4096);
    // Many empty strings: their pointers count too.
    let empty: Vec<&[u8]> = vec![b""; MAX_ARGUMENT_BYTES / 9 + 1];
    assert_eq!(
        build(TOP, &empty, &[], b"x", &[], RANDOM),
        Err(StackError::TooLarge)
    );
}

#[test]
fn refused_inputs() {
    assert_eq!(
        build(TOP, &[b"a\0b"], &[], b"x", &[], RANDOM),
        Err(StackError::EmbeddedNul)
    );
    assert_eq!(
        build(TOP, &[], &[b"A=\0"], b"x", &[], RANDOM),
        Err(StackError::EmbeddedNul)
    );
    assert_eq!(
        build(TOP, &[], &[], b"/bin/\0sh", &[], RANDOM),
        Err(StackError::EmbeddedNul)
    );
    for key in [AT_NULL, AT_RANDOM, AT_PLATFORM, AT_EXECFN] {
        assert_eq!(
            build(TOP, &[], &[], b"x", &[(AT_PAGESZ, 4096), (key, 1)], RANDOM),
            Err(StackError::ReservedAuxiliaryKey(key))
        );
    }
    assert_eq!(
        build(TOP + 8, &[], &[], b"x", &[], RANDOM),
        Err(StackError::MisalignedTop)
    );
    assert_eq!(
        build(64, &[b"some argument"], &[], b"x", &[], RANDOM),
        Err(StackError::BelowAddressZero)
    );
    for error in [
        StackError::TooLarge,
        StackError::ArgumentTooLong,
        StackError::EmbeddedNul,
        StackError::ReservedAuxiliaryKey(3),
        StackError::MisalignedTop,
        StackError::BelowAddressZero,
    ] {
        assert!(!error.to_string().contains('\n'));
    }
}
