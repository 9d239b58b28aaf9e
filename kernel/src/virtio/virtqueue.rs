//! A split virtqueue (virtio 1.x section 2.7): descriptor table, available ring and used ring in
//! one physically contiguous DMA buffer.
//!
//! The driver owns the descriptor table and the available ring; the device owns the used ring.
//! All accesses to the shared memory are volatile; a release fence orders descriptor writes
//! before the available index that publishes them (section 2.7.13), and an acquire fence orders
//! the used index before the entries it covers (section 2.7.14). The queue itself is not locked:
//! its owner (the driver) keeps it behind its own lock.

use alloc::vec::Vec;
use core::sync::atomic::{fence, Ordering};

use crate::mm::dma::{DmaBuffer, DmaLimit};
use crate::mm::MemoryError;

const DESCRIPTOR_BYTES: usize = 16;
const FLAG_NEXT: u16 = 1;
const FLAG_WRITE: u16 = 2;

/// One buffer of a descriptor chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// Bus address.
    pub address: u64,
    pub length: u32,
    /// The device writes this buffer (reads of the disk); otherwise it reads it.
    pub device_writes: bool,
}

/// A split virtqueue of `size` descriptors.
#[derive(Debug)]
pub struct Virtqueue {
    memory: DmaBuffer,
    size: u16,
    available_offset: usize,
    used_offset: usize,
    free: Vec<u16>,
    /// Our copy of the available ring's index (the device only reads it).
    available_index: u16,
    /// How far we have consumed the used ring.
    last_used: u16,
}

impl Virtqueue {
    /// Allocates a zeroed queue of `size` descriptors (a power of two, at most 32768).
    pub fn new(size: u16) -> Result<Self, MemoryError> {
        if !size.is_power_of_two() || size > 32768 {
            return Err(MemoryError::InvalidRequest);
        }
        let count = size as usize;
        let available_offset = count * DESCRIPTOR_BYTES;
        // flags, index, ring[size], used_event
        let available_end = available_offset + 4 + 2 * count + 2;
        let used_offset = available_end.next_multiple_of(4096);
        // flags, index, ring[size] of (id, length), avail_event
        let used_end = used_offset + 4 + 8 * count + 2;
        let memory = DmaBuffer::allocate(used_end, 4096, DmaLimit::Any)?;
        Ok(Self {
            memory,
            size,
            available_offset,
            used_offset,
            free: (0..size).rev().collect(),
            available_index: 0,
            last_used: 0,
        })
    }

    /// Number of descriptors.
    pub fn size(&self) -> u16 {
        self.size
    }

    /// Descriptors not in use.
    pub fn free_count(&self) -> usize {
        self.free.len()
    }

    /// Bus address of the descriptor table.
    pub fn descriptor_table_address(&self) -> u64 {
        self.memory.physical_address()
    }

    /// Bus address of the available ring ("driver area").
    pub fn driver_area_address(&self) -> u64 {
        self.memory.physical_address() + self.available_offset as u64
    }

    /// Bus address of the used ring ("device area").
    pub fn device_area_address(&self) -> u64 {
        self.memory.physical_address() + self.used_offset as u64
    }

    fn pointer(&self, offset: usize, width: usize) -> usize {
        assert!(
            offset.is_multiple_of(width) && offset + width <= self.memory.len(),
            "virtqueue access at {offset:#x} outside its memory"
        );
        self.memory.virtual_address() as usize + offset
    }

    fn write_u16(&mut self, offset: usize, value: u16) {
        let pointer = self.pointer(offset, 2);
        // SAFETY: in bounds and aligned (checked); the queue memory is owned by `self` and
        // shared only with the device, hence volatile.
        unsafe { core::ptr::write_volatile(pointer as *mut u16, value) }
    }

    fn read_u16(&self, offset: usize) -> u16 {
        let pointer = self.pointer(offset, 2);
        // SAFETY: as for `write_u16`.
        unsafe { core::ptr::read_volatile(pointer as *const u16) }
    }

    fn write_u32(&mut self, offset: usize, value: u32) {
        let pointer = self.pointer(offset, 4);
        // SAFETY: as for `write_u16`.
        unsafe { core::ptr::write_volatile(pointer as *mut u32, value) }
    }

    fn read_u32(&self, offset: usize) -> u32 {
        let pointer = self.pointer(offset, 4);
        // SAFETY: as for `write_u16`.
        unsafe { core::ptr::read_volatile(pointer as *const u32) }
    }

    fn write_u64(&mut self, offset: usize, value: u64) {
        let pointer = self.pointer(offset, 8);
        // SAFETY: as for `write_u16`.
        unsafe { core::ptr::write_volatile(pointer as *mut u64, value) }
    }

    /// Puts a chain of `segments` on the available ring; returns its head descriptor, or `None`
    /// (nothing changed) when too few descriptors are free. The device is not notified.
    pub fn push(&mut self, segments: &[Segment]) -> Option<u16> {
        if segments.is_empty() || segments.len() > self.free.len() {
            return None;
        }
        // Built back to front so each descriptor knows its successor without a scratch list.
        let mut next: Option<u16> = None;
        for segment in segments.iter().rev() {
            let index = self.free.pop()?;
            let base = index as usize * DESCRIPTOR_BYTES;
            let mut flags = if segment.device_writes { FLAG_WRITE } else { 0 };
            if next.is_some() {
                flags |= FLAG_NEXT;
            }
            self.write_u64(base, segment.address);
            self.write_u32(base + 8, segment.length);
            self.write_u16(base + 12, flags);
            self.write_u16(base + 14, next.unwrap_or(0));
            next = Some(index);
        }
        let head = next?;
        let slot = self.available_offset + 4 + 2 * (self.available_index % self.size) as usize;
        self.write_u16(slot, head);
        self.available_index = self.available_index.wrapping_add(1);
        fence(Ordering::Release);
        let index = self.available_index;
        self.write_u16(self.available_offset + 2, index);
        // The index must be visible before the caller's notification reaches the device.
        fence(Ordering::SeqCst);
        Some(head)
    }

    /// Finished chains the device has put on the used ring that [`Self::pop_used`] has not
    /// taken yet.
    pub fn used_pending(&self) -> usize {
        self.read_u16(self.used_offset + 2)
            .wrapping_sub(self.last_used) as usize
    }

    /// Takes the next finished chain off the used ring, frees its descriptors and returns its
    /// head and the number of bytes the device wrote.
    pub fn pop_used(&mut self) -> Option<(u16, u32)> {
        let device_index = self.read_u16(self.used_offset + 2);
        if device_index == self.last_used {
            return None;
        }
        fence(Ordering::Acquire);
        let slot = self.used_offset + 4 + 8 * (self.last_used % self.size) as usize;
        let head = self.read_u32(slot) as u16;
        let written = self.read_u32(slot + 4);
        self.last_used = self.last_used.wrapping_add(1);
        let mut index = head;
        for _ in 0..self.size {
            self.free.push(index);
            let base = index as usize * DESCRIPTOR_BYTES;
            if self.read_u16(base + 12) & FLAG_NEXT == 0 {
                break;
            }
            index = self.read_u16(base + 14);
        }
        Some((head, written))
    }
}
