//! Physical frame allocator: one bit per 4 KiB frame, with contiguous and address-limited runs.
//!
//! A bitmap (rather than a free list) is what makes physically contiguous DMA allocations and
//! "below 4 GiB" requests cheap to serve. Single frames use a next-fit cursor so the common case
//! does not rescan the low, mostly used part of memory. The bitmap logic is plain data and is
//! tested on the host.

/// Size of a frame.
pub const FRAME_SIZE: u64 = 4096;

/// Errors of the frame allocator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// The frame was not allocated (double free or foreign address).
    NotAllocated(u64),
    /// The address is outside the managed range or not frame aligned.
    BadAddress(u64),
}

impl core::fmt::Display for FrameError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FrameError::NotAllocated(a) => write!(f, "frame {a:#x} freed but not allocated"),
            FrameError::BadAddress(a) => {
                write!(f, "frame address {a:#x} is not a managed, aligned frame")
            }
        }
    }
}

/// A bitmap over frames `0..frame_count`: bit set = used.
pub struct FrameBitmap<'a> {
    bits: &'a mut [u64],
    frame_count: u64,
    free: u64,
    cursor: u64,
}

impl<'a> FrameBitmap<'a> {
    /// Number of `u64` words needed to track `frame_count` frames.
    pub const fn words_for(frame_count: u64) -> usize {
        frame_count.div_ceil(64) as usize
    }

    /// Wraps `bits` (at least `words_for(frame_count)` words) with every frame marked used.
    pub fn new(bits: &'a mut [u64], frame_count: u64) -> Self {
        let words = Self::words_for(frame_count).min(bits.len());
        bits[..words].fill(u64::MAX);
        let frame_count = frame_count.min(words as u64 * 64);
        Self {
            bits,
            frame_count,
            free: 0,
            cursor: 0,
        }
    }

    fn is_used(&self, frame: u64) -> bool {
        self.bits[(frame / 64) as usize] & (1 << (frame % 64)) != 0
    }

    fn set(&mut self, frame: u64, used: bool) {
        let word = &mut self.bits[(frame / 64) as usize];
        if used {
            *word |= 1 << (frame % 64);
        } else {
            *word &= !(1 << (frame % 64));
        }
    }

    /// Marks `[start, end)` (physical bytes, shrunk inward to whole frames) free.
    pub fn add_free_range(&mut self, start: u64, end: u64) {
        let first = start.div_ceil(FRAME_SIZE);
        let last = (end / FRAME_SIZE).min(self.frame_count);
        for frame in first..last {
            if self.is_used(frame) {
                self.set(frame, false);
                self.free += 1;
            }
        }
    }

    /// Marks `[start, end)` (grown outward to whole frames) used, e.g. the kernel image.
    pub fn reserve_range(&mut self, start: u64, end: u64) {
        let first = start / FRAME_SIZE;
        let last = end.div_ceil(FRAME_SIZE).min(self.frame_count);
        for frame in first..last {
            if !self.is_used(frame) {
                self.set(frame, true);
                self.free -= 1;
            }
        }
    }

    /// Allocates `count` contiguous frames whose first frame is aligned to `align` frames and
    /// whose last byte lies below `limit` (physical). Returns the physical address.
    pub fn allocate(&mut self, count: u64, align: u64, limit: u64) -> Option<u64> {
        if count == 0 || count > self.free {
            return None;
        }
        let align = align.max(1);
        let end_frame = (limit / FRAME_SIZE).min(self.frame_count);
        let start = if count == 1 && align == 1 {
            self.cursor.min(end_frame)
        } else {
            0
        };
        let found = self.find_run(start, end_frame, count, align).or_else(|| {
            if start > 0 {
                self.find_run(0, end_frame.min(start + count), count, align)
            } else {
                None
            }
        })?;
        for frame in found..found + count {
            self.set(frame, true);
        }
        self.free -= count;
        if count == 1 {
            self.cursor = found + 1;
        }
        Some(found * FRAME_SIZE)
    }

    fn find_run(&self, from: u64, to: u64, count: u64, align: u64) -> Option<u64> {
        let mut candidate = from.div_ceil(align) * align;
        while candidate + count <= to {
            // Skip whole used words quickly.
            if candidate.is_multiple_of(64) && self.bits[(candidate / 64) as usize] == u64::MAX {
                candidate = (candidate + 64).div_ceil(align) * align;
                continue;
            }
            match (candidate..candidate + count).find(|&f| self.is_used(f)) {
                None => return Some(candidate),
                Some(used) => candidate = (used + 1).div_ceil(align) * align,
            }
        }
        None
    }

    /// Frees `count` frames starting at physical `address`; refuses double frees.
    pub fn free(&mut self, address: u64, count: u64) -> Result<(), FrameError> {
        if !address.is_multiple_of(FRAME_SIZE) || address / FRAME_SIZE + count > self.frame_count {
            return Err(FrameError::BadAddress(address));
        }
        let first = address / FRAME_SIZE;
        if let Some(frame) = (first..first + count).find(|&f| !self.is_used(f)) {
            return Err(FrameError::NotAllocated(frame * FRAME_SIZE));
        }
        for frame in first..first + count {
            self.set(frame, false);
        }
        self.free += count;
        if first < self.cursor {
            self.cursor = first;
        }
        Ok(())
    }

    /// Frames currently free.
    pub fn free_frames(&self) -> u64 {
        self.free
    }

    /// Frames tracked (used or free).
    pub fn frame_count(&self) -> u64 {
        self.frame_count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::collections::HashSet;
    use std::vec;

    fn bitmap(storage: &mut [u64], frames: u64) -> FrameBitmap<'_> {
        let mut b = FrameBitmap::new(storage, frames);
        b.add_free_range(FRAME_SIZE, frames * FRAME_SIZE);
        b
    }

    #[test]
    fn no_double_handout_and_all_frames_return() {
        let mut storage = vec![0u64; 16];
        let mut b = bitmap(&mut storage, 1000);
        let before = b.free_frames();
        let mut seen = HashSet::new();
        while let Some(a) = b.allocate(1, 1, u64::MAX) {
            assert!(seen.insert(a), "frame {a:#x} handed out twice");
            assert_ne!(a, 0, "frame 0 was never freed");
        }
        assert_eq!(seen.len() as u64, before);
        for a in &seen {
            b.free(*a, 1).unwrap();
        }
        assert_eq!(b.free_frames(), before);
    }

    #[test]
    fn double_free_is_refused() {
        let mut storage = vec![0u64; 2];
        let mut b = bitmap(&mut storage, 100);
        let a = b.allocate(1, 1, u64::MAX).unwrap();
        b.free(a, 1).unwrap();
        assert_eq!(b.free(a, 1), Err(FrameError::NotAllocated(a)));
        assert_eq!(b.free(123, 1), Err(FrameError::BadAddress(123)));
    }

    #[test]
    fn contiguous_aligned_and_limited() {
        let mut storage = vec![0u64; 64];
        let mut b = bitmap(&mut storage, 4096);
        b.reserve_range(40 * FRAME_SIZE, 41 * FRAME_SIZE);
        let a = b.allocate(64, 16, u64::MAX).unwrap();
        assert_eq!(a % (16 * FRAME_SIZE), 0);
        assert!(!(a / FRAME_SIZE..a / FRAME_SIZE + 64).contains(&40));
        let low = b.allocate(8, 1, 100 * FRAME_SIZE).unwrap();
        assert!(low + 8 * FRAME_SIZE <= 100 * FRAME_SIZE);
        assert_eq!(b.allocate(5000, 1, u64::MAX), None);
        assert_eq!(b.allocate(200, 1, 150 * FRAME_SIZE), None);
    }

    #[test]
    fn ranges_shrink_inward_and_reserve_outward() {
        let mut storage = vec![0u64; 1];
        let mut b = FrameBitmap::new(&mut storage, 64);
        b.add_free_range(100, 10 * FRAME_SIZE + 5);
        assert_eq!(b.free_frames(), 9); // frames 1..10
        b.reserve_range(2 * FRAME_SIZE + 1, 3 * FRAME_SIZE + 1);
        assert_eq!(b.free_frames(), 7);
    }

    #[test]
    fn model_based_random_operations() {
        // A tiny xorshift keeps the test deterministic without extra crates.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut storage = vec![0u64; 8];
        let mut b = bitmap(&mut storage, 512);
        let mut live: std::vec::Vec<(u64, u64)> = std::vec::Vec::new();
        let mut model = [false; 512];
        for _ in 0..5000 {
            if next() % 3 != 0 || live.is_empty() {
                let count = next() % 8 + 1;
                let align = 1 << (next() % 4);
                if let Some(a) = b.allocate(count, align, u64::MAX) {
                    let f = a / FRAME_SIZE;
                    assert_eq!(f % align, 0);
                    for i in f..f + count {
                        assert!(!model[i as usize], "overlap at frame {i}");
                        model[i as usize] = true;
                    }
                    live.push((a, count));
                }
            } else {
                let (a, count) = live.swap_remove((next() % live.len() as u64) as usize);
                b.free(a, count).unwrap();
                for i in a / FRAME_SIZE..a / FRAME_SIZE + count {
                    model[i as usize] = false;
                }
            }
            let used = model.iter().filter(|u| **u).count() as u64;
            assert_eq!(b.free_frames(), 511 - used);
        }
    }
}
