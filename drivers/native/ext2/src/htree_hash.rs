//! Directory-index name hashes (ext2/3 htree): legacy, half-MD4 and TEA, signed and unsigned.
//!
//! Pure functions, written from the published descriptions: the legacy hash is the
//! "dx_hack_hash" recurrence; half-MD4 is the MD4 compression function cut to eight input
//! words and run once per 32 name bytes; TEA is 16 cycles of the Tiny Encryption Algorithm
//! per 16 name bytes. The signed variants treat name bytes as `i8`, as x86 `char` did when
//! the format was fixed; the superblock's unsigned-hash flag selects the `u8` variants.

/// `s_def_hash_version` / `dx_root_info.hash_version` values.
pub(crate) const LEGACY: u8 = 0;
pub(crate) const HALF_MD4: u8 = 1;
pub(crate) const TEA: u8 = 2;
/// Offset from a signed version to its unsigned twin (legacy 3, half-MD4 4, TEA 5).
pub(crate) const UNSIGNED_OFFSET: u8 = 3;

/// The seed used when `s_hash_seed` is all zeros (the MD4 initial state).
const DEFAULT_SEED: [u32; 4] = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476];

/// A name byte widened as the hash variant wants it.
fn widen(byte: u8, unsigned: bool) -> u32 {
    if unsigned {
        u32::from(byte)
    } else {
        i32::from(byte as i8) as u32
    }
}

/// The legacy hash: a two-word recurrence over the name bytes.
fn legacy(name: &[u8], unsigned: bool) -> u32 {
    let (mut current, mut previous) = (0x12A3_FE2Du32, 0x37AB_E8F9u32);
    for &byte in name {
        let mut next =
            previous.wrapping_add(current ^ widen(byte, unsigned).wrapping_mul(7_152_373));
        if next & 0x8000_0000 != 0 {
            next = next.wrapping_sub(0x7FFF_FFFF);
        }
        previous = current;
        current = next;
    }
    current << 1
}

/// Packs up to `words * 4` bytes of `rest` (the name from the current chunk on) into
/// `words`, each byte shifted in from the right; missing words are padding made of the
/// remaining length repeated in every byte (names are at most 255 bytes).
fn pack(rest: &[u8], unsigned: bool, words: &mut [u32]) {
    let pad = (rest.len() as u32 & 0xFF) * 0x0101_0101;
    let mut filled = 0;
    let mut value = pad;
    for (index, &byte) in rest.iter().take(words.len() * 4).enumerate() {
        value = widen(byte, unsigned).wrapping_add(value << 8);
        if index % 4 == 3 {
            words[filled] = value;
            filled += 1;
            value = pad;
        }
    }
    if filled < words.len() {
        words[filled] = value;
        filled += 1;
    }
    for word in &mut words[filled..] {
        *word = pad;
    }
}

/// MD4's compression function reduced to eight input words (three rounds of eight steps).
fn half_md4_transform(state: &mut [u32; 4], input: &[u32; 8]) {
    let [mut a, mut b, mut c, mut d] = *state;
    // Round constants of MD4: 0, floor(2^30 * sqrt 2), floor(2^30 * sqrt 3).
    const ROUND2: u32 = 0x5A82_7999;
    const ROUND3: u32 = 0x6ED9_EBA1;
    let f = |x: u32, y: u32, z: u32| z ^ (x & (y ^ z));
    let g = |x: u32, y: u32, z: u32| (x & y).wrapping_add((x ^ y) & z);
    let h = |x: u32, y: u32, z: u32| x ^ y ^ z;
    // Each step: (function, word index, rotation); the registers rotate a, d, c, b.
    let rounds: [(u8, [(usize, u32); 8]); 3] = [
        (
            0,
            [
                (0, 3),
                (1, 7),
                (2, 11),
                (3, 19),
                (4, 3),
                (5, 7),
                (6, 11),
                (7, 19),
            ],
        ),
        (
            1,
            [
                (1, 3),
                (3, 5),
                (5, 9),
                (7, 13),
                (0, 3),
                (2, 5),
                (4, 9),
                (6, 13),
            ],
        ),
        (
            2,
            [
                (3, 3),
                (7, 9),
                (2, 11),
                (6, 15),
                (1, 3),
                (5, 9),
                (0, 11),
                (4, 15),
            ],
        ),
    ];
    for (round, steps) in rounds {
        for (step, (word, rotation)) in steps.into_iter().enumerate() {
            let (x, y, z) = match step % 4 {
                0 => (b, c, d),
                1 => (a, b, c),
                2 => (d, a, b),
                _ => (c, d, a),
            };
            let (mix, constant) = match round {
                0 => (f(x, y, z), 0),
                1 => (g(x, y, z), ROUND2),
                _ => (h(x, y, z), ROUND3),
            };
            let target = match step % 4 {
                0 => &mut a,
                1 => &mut d,
                2 => &mut c,
                _ => &mut b,
            };
            *target = target
                .wrapping_add(mix)
                .wrapping_add(input[word].wrapping_add(constant))
                .rotate_left(rotation);
        }
    }
    state[0] = state[0].wrapping_add(a);
    state[1] = state[1].wrapping_add(b);
    state[2] = state[2].wrapping_add(c);
    state[3] = state[3].wrapping_add(d);
}

/// Sixteen TEA cycles mixing four input words into the first two state words.
fn tea_transform(state: &mut [u32; 4], input: &[u32; 4]) {
    const DELTA: u32 = 0x9E37_79B9;
    let (mut left, mut right) = (state[0], state[1]);
    let mut sum = 0u32;
    for _ in 0..16 {
        sum = sum.wrapping_add(DELTA);
        left = left.wrapping_add(
            (right << 4).wrapping_add(input[0])
                ^ right.wrapping_add(sum)
                ^ (right >> 5).wrapping_add(input[1]),
        );
        right = right.wrapping_add(
            (left << 4).wrapping_add(input[2])
                ^ left.wrapping_add(sum)
                ^ (left >> 5).wrapping_add(input[3]),
        );
    }
    state[0] = state[0].wrapping_add(left);
    state[1] = state[1].wrapping_add(right);
}

/// The major hash of `name` under `version` (0..=5) and `seed`, with bit 0 cleared as the
/// index stores it; `None` for a version this driver does not know (e.g. SipHash).
pub(crate) fn name_hash(version: u8, seed: [u32; 4], name: &[u8]) -> Option<u32> {
    if version > TEA + UNSIGNED_OFFSET {
        return None;
    }
    let unsigned = version >= UNSIGNED_OFFSET;
    let mut state = if seed == [0; 4] { DEFAULT_SEED } else { seed };
    let hash = match version % UNSIGNED_OFFSET {
        LEGACY => legacy(name, unsigned),
        HALF_MD4 => {
            for start in (0..name.len()).step_by(32) {
                let mut input = [0u32; 8];
                pack(&name[start..], unsigned, &mut input);
                half_md4_transform(&mut state, &input);
            }
            state[1]
        }
        _ => {
            for start in (0..name.len()).step_by(16) {
                let mut input = [0u32; 4];
                pack(&name[start..], unsigned, &mut input);
                tea_transform(&mut state, &input);
            }
            state[0]
        }
    };
    // The all-ones value (after clearing bit 0) marks the end of a hash walk; it moves down.
    let hash = hash & !1;
    Some(if hash == 0xFFFF_FFFE {
        0xFFFF_FFFC
    } else {
        hash
    })
}

#[cfg(test)]
mod tests {
    use super::name_hash;

    /// `debugfs -R "dx_hash -h HASHALG_N -s 5d41402a-bc4b-2a76-b971-9d911017c592 NAME"`.
    const SEED: [u32; 4] = [0x2A40_415D, 0x762A_4BBC, 0x919D_71B9, 0x92C5_1710];

    #[test]
    fn hashes_match_e2fsprogs() {
        let accented = "nééééééééééééééééééééééééééé-x".as_bytes();
        let long = [b'y'; 70];
        let cases: [(u8, &[u8], u32); 14] = [
            (0, b"a", 0xE74B_53E2),
            (0, b"some-file-name-00001", 0xF88A_F282),
            (0, accented, 0xA265_3A8E),
            (0, &long, 0xF267_E00A),
            (3, accented, 0x295E_1F8E),
            (1, b"a", 0xB8A0_66C4),
            (1, b"some-file-name-00001", 0xE87A_D5A8),
            (1, accented, 0x2497_680A),
            (1, &long, 0x2D81_0BC6),
            (4, accented, 0xBCC9_4AFC),
            (2, b"a", 0xFC0F_5AEA),
            (2, accented, 0x2C00_3C38),
            (2, &long, 0x7287_F786),
            (5, accented, 0x5F34_D4FA),
        ];
        for (version, name, expected) in cases {
            assert_eq!(
                name_hash(version, SEED, name),
                Some(expected),
                "version {version} name {:?}",
                core::str::from_utf8(name)
            );
        }
        // Without a seed (all zeros) the default one applies.
        assert_eq!(
            name_hash(1, [0; 4], b"some-file-name-00001"),
            Some(0xC5BC_B3B6)
        );
        assert_eq!(
            name_hash(2, [0; 4], b"some-file-name-00001"),
            Some(0x2637_C916)
        );
        assert_eq!(name_hash(6, SEED, b"a"), None);
    }
}
