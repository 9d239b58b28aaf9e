//! LZ4 frame decoder: concatenated LZ4 frames in, one decompressed byte vector out.
//!
//! Implements the LZ4 frame format (version 01 of the frame descriptor): frame descriptor
//! flags, independent and linked blocks, uncompressed blocks, block and content xxHash32
//! checksums, the content size field, skippable frames and any number of concatenated frames.
//! Block decoding itself is delegated to `lz4_flex`. `classify` tells a stream by its first
//! frame that is not skippable, since zstd uses the same skippable frames: only an LZ4 frame
//! there makes the stream LZ4. Decoding stops at the first damage and keeps everything decoded
//! before it; it never panics and every loop advances through the input.

use alloc::vec::Vec;

use xxhash_rust::xxh32::{xxh32, Xxh32};

use crate::error::{Diagnostic, DiagnosticKind, Lz4Damage};

/// Magic number of an LZ4 frame (little-endian on disk).
pub(crate) const FRAME_MAGIC: u32 = 0x184D_2204;
/// Magic number of the legacy LZ4 format.
pub(crate) const LEGACY_MAGIC: u32 = 0x184C_2102;
/// Magic number of a zstd frame, which this crate does not decode.
pub(crate) const ZSTD_MAGIC: u32 = 0xFD2F_B528;
/// Skippable frames use the sixteen magics 0x184D2A50..=0x184D2A5F. zstd defines the very same
/// skippable frames (magic, 32-bit length, that many bytes), so they say nothing of the format.
const SKIPPABLE_BASE: u32 = 0x184D_2A50;
const SKIPPABLE_MASK: u32 = 0xFFFF_FFF0;
/// Linked blocks may refer back this far into earlier output of the same frame.
const WINDOW: usize = 64 * 1024;

// Frame descriptor FLG bits.
const FLAG_VERSION_SHIFT: u8 = 6;
const FLAG_BLOCK_INDEPENDENT: u8 = 1 << 5;
const FLAG_BLOCK_CHECKSUM: u8 = 1 << 4;
const FLAG_CONTENT_SIZE: u8 = 1 << 3;
const FLAG_CONTENT_CHECKSUM: u8 = 1 << 2;
const FLAG_RESERVED: u8 = 1 << 1;
const FLAG_DICTIONARY_ID: u8 = 1;
// Block size word: the high bit marks a block stored uncompressed.
const BLOCK_UNCOMPRESSED: u32 = 1 << 31;

/// What a stream is, judged by its first frame that is not a skippable frame.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Start {
    /// An LZ4 frame (after any skippable frames).
    Lz4,
    /// The legacy LZ4 format.
    Legacy,
    /// A zstd frame (after any skippable frames).
    Zstd,
    /// Skippable frames, then neither frame: the bytes found at `offset`, or `None` where the
    /// input ends (or ends inside a skippable frame, then `offset` is the input length).
    NoFrame {
        offset: usize,
        found: Option<[u8; 4]>,
    },
    /// No frame magic at the start: not a framed stream at all.
    NotFramed,
}

/// Classifies `input` by the magic of its first frame, walking over skippable frames.
pub(crate) fn classify(input: &[u8]) -> Start {
    let mut position = 0;
    loop {
        let word = |at: usize| {
            input
                .get(at..at.checked_add(4)?)
                .map(|bytes| [bytes[0], bytes[1], bytes[2], bytes[3]])
        };
        let Some(bytes) = word(position) else {
            return if position == 0 {
                Start::NotFramed
            } else {
                Start::NoFrame {
                    offset: position,
                    found: None,
                }
            };
        };
        match u32::from_le_bytes(bytes) {
            FRAME_MAGIC => return Start::Lz4,
            LEGACY_MAGIC => return Start::Legacy,
            ZSTD_MAGIC => return Start::Zstd,
            magic if magic & SKIPPABLE_MASK == SKIPPABLE_BASE => {
                let next = word(position + 4).and_then(|length| {
                    let length = usize::try_from(u32::from_le_bytes(length)).ok()?;
                    (position + 8)
                        .checked_add(length)
                        .filter(|end| *end <= input.len())
                });
                let Some(next) = next else {
                    return Start::NoFrame {
                        offset: input.len(),
                        found: None,
                    };
                };
                position = next;
            }
            _ if position == 0 => return Start::NotFramed,
            _ => {
                return Start::NoFrame {
                    offset: position,
                    found: Some(bytes),
                }
            }
        }
    }
}

/// The outcome of decoding: the content, and the damage that stopped decoding, if any.
pub(crate) struct Decoded {
    pub(crate) data: Vec<u8>,
    pub(crate) damage: Option<Diagnostic>,
}

/// Decodes every frame of `input` into one vector of at most `limit` bytes.
pub(crate) fn decompress(input: &[u8], limit: usize) -> Decoded {
    let mut decoder = Decoder {
        input,
        position: 0,
        output: Vec::new(),
        filled: 0,
        limit,
    };
    let damage = decoder
        .run()
        .err()
        .map(|(offset, damage)| Diagnostic::new(offset, None, DiagnosticKind::Lz4(damage)));
    let mut data = decoder.output;
    data.truncate(decoder.filled);
    Decoded { data, damage }
}

type Damage = (usize, Lz4Damage);

struct Decoder<'a> {
    input: &'a [u8],
    position: usize,
    /// Decoded content in `output[..filled]`; the rest is scratch room for the next block.
    output: Vec<u8>,
    filled: usize,
    limit: usize,
}

impl<'a> Decoder<'a> {
    fn run(&mut self) -> Result<(), Damage> {
        let mut frames = 0usize;
        while self.position < self.input.len() {
            let start = self.position;
            let magic = self.read_u32()?;
            if magic & SKIPPABLE_MASK == SKIPPABLE_BASE {
                let size = self.read_u32()?;
                self.take(size as usize)?;
            } else if magic == FRAME_MAGIC {
                self.frame(start)?;
                frames += 1;
            } else if frames == 0 && magic == LEGACY_MAGIC {
                // Detection rejects legacy input up front; this only guards direct callers.
                return Err((start, Lz4Damage::BadDescriptor));
            } else {
                return Err((start, Lz4Damage::TrailingData { magic }));
            }
        }
        Ok(())
    }

    fn frame(&mut self, frame_start: usize) -> Result<(), Damage> {
        let descriptor_start = self.position;
        let flags = self.read_u8()?;
        let block_descriptor = self.read_u8()?;
        if flags >> FLAG_VERSION_SHIFT != 1
            || flags & FLAG_RESERVED != 0
            || block_descriptor & 0x8F != 0
        {
            return Err((descriptor_start, Lz4Damage::BadDescriptor));
        }
        let block_max: usize = match (block_descriptor >> 4) & 0x7 {
            4 => 64 << 10,
            5 => 256 << 10,
            6 => 1 << 20,
            7 => 4 << 20,
            _ => return Err((descriptor_start, Lz4Damage::BadDescriptor)),
        };
        let content_size = if flags & FLAG_CONTENT_SIZE != 0 {
            Some(self.read_u64()?)
        } else {
            None
        };
        if flags & FLAG_DICTIONARY_ID != 0 {
            self.read_u32()?;
            return Err((descriptor_start, Lz4Damage::DictionaryRequired));
        }
        let descriptor = &self.input[descriptor_start..self.position];
        let computed = (xxh32(descriptor, 0) >> 8) as u8;
        let stored = self.read_u8()?;
        if stored != computed {
            return Err((
                self.position - 1,
                Lz4Damage::DescriptorChecksum { stored, computed },
            ));
        }

        let frame_output_start = self.filled;
        if let Some(size) = content_size {
            // Reserve once (a hint: never past the limit, and failure is not damage), so a
            // large initrd is not copied by repeated growth.
            let wanted = usize::try_from(size)
                .unwrap_or(usize::MAX)
                .min(self.limit - self.filled);
            let _ = self
                .output
                .try_reserve_exact(wanted.saturating_sub(self.output.len() - self.filled));
        }
        let mut content_hash = (flags & FLAG_CONTENT_CHECKSUM != 0).then(|| Xxh32::new(0));
        loop {
            let block_start = self.position;
            let word = self.read_u32()?;
            if word == 0 {
                break; // EndMark
            }
            let size = word & !BLOCK_UNCOMPRESSED;
            if size as usize > block_max {
                return Err((
                    block_start,
                    Lz4Damage::BlockTooLarge {
                        size,
                        max: block_max as u32,
                    },
                ));
            }
            let block = self.take(size as usize)?;
            if flags & FLAG_BLOCK_CHECKSUM != 0 {
                let stored = self.read_u32()?;
                let computed = xxh32(block, 0);
                if stored != computed {
                    return Err((block_start, Lz4Damage::BlockChecksum { stored, computed }));
                }
            }
            let independent = flags & FLAG_BLOCK_INDEPENDENT != 0;
            let decoded_start = self.filled;
            self.block(
                block,
                word & BLOCK_UNCOMPRESSED != 0,
                block_max,
                independent,
                frame_output_start,
            )
            .map_err(|damage| (block_start, damage))?;
            if let Some(hash) = content_hash.as_mut() {
                hash.update(&self.output[decoded_start..self.filled]);
            }
        }
        if let Some(hash) = content_hash {
            let checksum_offset = self.position;
            let stored = self.read_u32()?;
            let computed = hash.digest();
            if stored != computed {
                return Err((
                    checksum_offset,
                    Lz4Damage::ContentChecksum { stored, computed },
                ));
            }
        }
        let actual = (self.filled - frame_output_start) as u64;
        match content_size {
            Some(declared) if declared != actual => {
                Err((frame_start, Lz4Damage::ContentSize { declared, actual }))
            }
            _ => Ok(()),
        }
    }

    /// Decodes one block after the content already in `output[..filled]`, expecting at most
    /// `room` bytes of output (a block that decodes to more is corrupt).
    fn block(
        &mut self,
        block: &[u8],
        uncompressed: bool,
        room: usize,
        independent: bool,
        frame_output_start: usize,
    ) -> Result<(), Lz4Damage> {
        // The limit is checked on what was written, so memory may briefly exceed it by at most
        // one block.
        let room = if uncompressed { block.len() } else { room };
        let needed = self.filled + room;
        if self.output.len() < needed {
            self.output
                .try_reserve(needed - self.output.len())
                .map_err(|_| Lz4Damage::OutOfMemory)?;
            self.output.resize(needed, 0);
        }
        let (before, after) = self.output.split_at_mut(self.filled);
        let written = if uncompressed {
            after[..block.len()].copy_from_slice(block);
            block.len()
        } else if independent {
            lz4_flex::block::decompress_into(block, &mut after[..room])
                .map_err(|_| Lz4Damage::CorruptBlock)?
        } else {
            let window_start = before.len().saturating_sub(WINDOW).max(frame_output_start);
            lz4_flex::block::decompress_into_with_dict(
                block,
                &mut after[..room],
                &before[window_start..],
            )
            .map_err(|_| Lz4Damage::CorruptBlock)?
        };
        if written > self.limit - self.filled {
            return Err(Lz4Damage::TooLarge { limit: self.limit });
        }
        self.filled += written;
        Ok(())
    }

    fn take(&mut self, length: usize) -> Result<&'a [u8], Damage> {
        let input = self.input;
        let start = self.position;
        let end = start
            .checked_add(length)
            .filter(|end| *end <= self.input.len());
        match end {
            Some(end) => {
                self.position = end;
                Ok(&input[start..end])
            }
            None => Err((start, Lz4Damage::Truncated)),
        }
    }

    fn read_u8(&mut self) -> Result<u8, Damage> {
        Ok(self.take(1)?[0])
    }

    fn read_u32(&mut self) -> Result<u32, Damage> {
        let bytes = self.take(4)?;
        Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    fn read_u64(&mut self) -> Result<u64, Damage> {
        let low = u64::from(self.read_u32()?);
        let high = u64::from(self.read_u32()?);
        Ok(high << 32 | low)
    }
}
