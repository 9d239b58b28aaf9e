//! Kernel tests of the foundation: memory, interrupts, time.

use alloc::string::String;
use alloc::vec::Vec;

use crate::mm::dma::{DmaBuffer, DmaLimit};
use crate::mm::{frames, heap, paging};
use crate::{check, kernel_test, time};

fn frame_allocator_hands_out_unique_frames_and_takes_them_back() -> Result<(), String> {
    let (free_before, _) = frames::statistics();
    let mut taken = Vec::with_capacity(4096);
    for _ in 0..4096 {
        taken.push(frames::allocate(1, 1, u64::MAX).map_err(|e| alloc::format!("{e}"))?);
    }
    let mut sorted = taken.clone();
    sorted.sort_unstable();
    sorted.dedup();
    check!(sorted.len() == taken.len(), "a frame was handed out twice");
    check!(
        sorted
            .iter()
            .all(|f| f % 4096 == 0 && *f >= crate::mm::LOW_MEMORY_END),
        "misaligned or low frame"
    );
    let (kernel_start, kernel_end) = paging::kernel_physical_range();
    check!(
        sorted
            .iter()
            .all(|f| *f + 4096 <= kernel_start || *f >= kernel_end),
        "frame inside the kernel image"
    );
    for module in crate::boot::info().modules() {
        check!(
            sorted
                .iter()
                .all(|f| *f + 4096 <= module.start || *f >= module.start + module.length),
            "frame inside a boot module"
        );
    }
    check!(
        frames::statistics().0 == free_before - 4096,
        "free count did not drop by 4096"
    );
    for f in taken {
        frames::free(f, 1);
    }
    check!(
        frames::statistics().0 == free_before,
        "frames not all returned"
    );
    Ok(())
}
kernel_test!(
    mm_frames_unique_and_returned,
    frame_allocator_hands_out_unique_frames_and_takes_them_back
);

fn heap_stress_mixed_sizes_and_alignments() -> Result<(), String> {
    use core::alloc::Layout;
    let before = heap::statistics();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut live: Vec<(*mut u8, Layout, u8)> = Vec::with_capacity(2048);
    for round in 0..20_000u32 {
        if live.len() < 1500 && (next() % 3 != 0 || live.is_empty()) {
            let size = match next() % 10 {
                0 => (next() % 65536) as usize + 1,
                1..=3 => (next() % 4096) as usize + 1,
                _ => (next() % 256) as usize + 1,
            };
            let align = 1usize << (next() % 13); // up to 4 KiB
            let layout = Layout::from_size_align(size, align).map_err(|e| alloc::format!("{e}"))?;
            // SAFETY: non-zero size layout; the pointer is freed below with the same layout.
            let pointer = unsafe { alloc::alloc::alloc(layout) };
            check!(
                !pointer.is_null(),
                "allocation of {size} bytes failed in round {round}"
            );
            check!(
                (pointer as usize).is_multiple_of(align),
                "pointer {pointer:p} not aligned to {align}"
            );
            let pattern = round as u8;
            // SAFETY: the allocation is `size` bytes long and ours.
            unsafe { core::ptr::write_bytes(pointer, pattern, size) };
            live.push((pointer, layout, pattern));
        } else {
            let index = (next() % live.len() as u64) as usize;
            let (pointer, layout, pattern) = live.swap_remove(index);
            // SAFETY: the allocation is live and `layout.size()` bytes long.
            let bytes = unsafe { core::slice::from_raw_parts(pointer, layout.size()) };
            check!(
                bytes.iter().all(|b| *b == pattern),
                "heap block {pointer:p} was overwritten"
            );
            // SAFETY: allocated above with this layout and not freed since.
            unsafe { alloc::alloc::dealloc(pointer, layout) };
        }
    }
    for (pointer, layout, _) in live {
        // SAFETY: allocated above with this layout and not freed since.
        unsafe { alloc::alloc::dealloc(pointer, layout) };
    }
    let after = heap::statistics();
    check!(
        after.allocated_bytes == before.allocated_bytes,
        "heap grew from {} to {} bytes",
        before.allocated_bytes,
        after.allocated_bytes
    );
    Ok(())
}
kernel_test!(mm_heap_stress, heap_stress_mixed_sizes_and_alignments);

fn heap_allocations_are_physically_contiguous() -> Result<(), String> {
    let buffer: Vec<u8> = alloc::vec![0u8; 256 * 1024];
    let base = buffer.as_ptr() as u64;
    let base_phys = paging::translate(base)
        .ok_or("heap address not mapped")?
        .physical;
    for offset in (0..buffer.len() as u64).step_by(4096) {
        let phys = paging::translate(base + offset)
            .ok_or("heap page not mapped")?
            .physical;
        check!(
            phys == base_phys + offset,
            "heap block not physically contiguous at offset {offset:#x}"
        );
    }
    Ok(())
}
kernel_test!(
    mm_heap_physically_contiguous,
    heap_allocations_are_physically_contiguous
);

fn dma_buffers_are_contiguous_with_right_physical_addresses() -> Result<(), String> {
    let (free_before, _) = frames::statistics();
    {
        let mut buffer = DmaBuffer::allocate(64 * 1024, 64 * 1024, DmaLimit::Below4GiB)
            .map_err(|e| alloc::format!("{e}"))?;
        let phys = buffer.physical_address();
        check!(
            phys % (64 * 1024) == 0,
            "DMA buffer at {phys:#x} not 64 KiB aligned"
        );
        check!(phys + 64 * 1024 <= 1 << 32, "DMA buffer above 4 GiB");
        check!(
            buffer.as_mut_slice().iter().all(|b| *b == 0),
            "DMA buffer not zeroed"
        );
        for offset in (0..64 * 1024u64).step_by(4096) {
            let t = paging::translate(buffer.virtual_address() as u64 + offset)
                .ok_or("DMA page not mapped")?;
            check!(
                t.physical == phys + offset,
                "DMA page {offset:#x} maps to {:#x}, expected {:#x}",
                t.physical,
                phys + offset
            );
        }
        buffer.as_mut_slice()[100] = 7;
        check!(
            DmaBuffer::allocate(0, 4096, DmaLimit::Any).is_err(),
            "zero-length DMA allowed"
        );
    }
    check!(frames::statistics().0 == free_before, "DMA frames leaked");
    Ok(())
}
kernel_test!(
    mm_dma_contiguous,
    dma_buffers_are_contiguous_with_right_physical_addresses
);

fn kernel_sections_are_mapped_write_xor_execute() -> Result<(), String> {
    let sections = paging::kernel_sections();
    // Every page of text and read-only data, through the image mapping and through its
    // direct-map alias: none may be writable, and only text may be executable.
    let read_only = [
        ("text", sections.text, true),
        ("rodata", sections.rodata, false),
    ];
    for (name, (start, end), executable) in read_only {
        let mut page = start & !0xfff;
        while page < end {
            let image =
                paging::translate(page).ok_or(alloc::format!("{name} page {page:#x} unmapped"))?;
            check!(
                !image.writable && image.executable == executable,
                "{name} page {page:#x} is mapped {}{}",
                if image.writable {
                    "writable"
                } else {
                    "read-only"
                },
                if image.executable { ", executable" } else { "" }
            );
            let alias = crate::mm::phys_to_virt(image.physical);
            if let Some(direct) = paging::translate(alias) {
                check!(
                    !direct.writable && !direct.executable,
                    "the direct-map alias {alias:#x} of {name} page {page:#x} is {}{}",
                    if direct.writable {
                        "writable"
                    } else {
                        "read-only"
                    },
                    if direct.executable {
                        ", executable"
                    } else {
                        ""
                    }
                );
            }
            page += 4096;
        }
    }
    let text = paging::translate(sections.text.0).ok_or("text not mapped")?;
    check!(text.executable && !text.writable, "text must be RX");
    let rodata = paging::translate(sections.rodata.0).ok_or("rodata not mapped")?;
    check!(!rodata.executable && !rodata.writable, "rodata must be R");
    let data = paging::translate(sections.data.0).ok_or("data not mapped")?;
    check!(!data.executable && data.writable, "data must be RW-NX");
    let direct =
        paging::translate(crate::mm::phys_to_virt(data.physical)).ok_or("direct map missing")?;
    check!(!direct.executable, "direct map must be NX");
    check!(
        paging::translate(sections.boot_stack_guard).is_none(),
        "boot stack guard page is mapped"
    );
    Ok(())
}
#[cfg(target_arch = "x86_64")]
fn cpu_protections_match_the_cpu() -> Result<(), String> {
    let features = crate::arch::cpu::features();
    let on = crate::arch::cpu::protections();
    check!(
        on.smep == features.smep && on.smap == features.smap && on.umip == features.umip,
        "CR4 has {on:?}; the CPU offers SMEP {}, SMAP {}, UMIP {}",
        features.smep,
        features.smap,
        features.umip
    );
    Ok(())
}
#[cfg(target_arch = "x86_64")]
kernel_test!(cpu_smep_smap_umip, cpu_protections_match_the_cpu);

kernel_test!(
    mm_write_xor_execute,
    kernel_sections_are_mapped_write_xor_execute
);

fn stacks_have_unmapped_guard_pages_and_are_reclaimed() -> Result<(), String> {
    // Freed stacks kept for reuse count as free here.
    let free = || frames::statistics().0 + crate::mm::stack::cached_pages() as u64;
    let free_before = free();
    for _ in 0..100 {
        let stack =
            crate::mm::stack::KernelStack::new(4, "test", 0).map_err(|e| alloc::format!("{e}"))?;
        check!(
            paging::translate(stack.guard_page()).is_none(),
            "guard page mapped"
        );
        check!(
            paging::translate(stack.bottom()).is_some(),
            "stack bottom unmapped"
        );
        check!(
            paging::translate(stack.top() - 8).is_some(),
            "stack top unmapped"
        );
    }
    check!(free() == free_before, "stack frames leaked");
    Ok(())
}
kernel_test!(
    mm_stack_guard_pages,
    stacks_have_unmapped_guard_pages_and_are_reclaimed
);

/// A device register page every machine of the architecture has, the offset of an ID register
/// in it that never reads zero, and its name: the local APIC's version register on x86_64, the
/// GIC distributor's type register on aarch64 (QEMU's virt).
#[cfg(target_arch = "x86_64")]
const KNOWN_REGISTER: (u64, usize, &str) = (0xfee0_0000, 0x30, "LAPIC version");
#[cfg(target_arch = "aarch64")]
const KNOWN_REGISTER: (u64, usize, &str) = (0x0800_0000, 0x4, "GICD_TYPER");

fn mmio_mappings_are_uncached() -> Result<(), String> {
    let (physical, offset, name) = KNOWN_REGISTER;
    let region =
        crate::mm::mmio::MmioRegion::map(physical, 4096).map_err(|e| alloc::format!("{e}"))?;
    let t = paging::translate(region.virtual_address() as u64).ok_or("MMIO not mapped")?;
    check!(
        t.cache_disabled && !t.executable,
        "MMIO must be uncached and NX"
    );
    check!(t.physical == physical, "MMIO maps the wrong frame");
    let version = region.read_u32(offset);
    check!(
        version & 0xff != 0,
        "{name} register reads zero through the mapping"
    );
    Ok(())
}
kernel_test!(mm_mmio_uncached, mmio_mappings_are_uncached);

#[cfg(target_arch = "x86_64")]
fn busy_wait_measured_by_hpet_and_tsc_agree() -> Result<(), String> {
    check!(time::hpet::available(), "no HPET");
    // Median of five 10 ms waits: one sample can be stretched by an emulator or a busy host.
    let mut errors = Vec::new();
    for _ in 0..5 {
        let hpet_start = time::hpet::nanos();
        let tsc_start = crate::arch::cpu::rdtsc();
        time::busy_wait_nanos(10_000_000);
        let tsc_ns = time::tsc::ticks_to_nanos(crate::arch::cpu::rdtsc() - tsc_start) as f64;
        let hpet_ns = (time::hpet::nanos() - hpet_start) as f64;
        check!(
            hpet_ns >= 10_000_000.0 * 0.99,
            "10 ms wait lasted only {hpet_ns} ns by the HPET"
        );
        errors.push(((tsc_ns - hpet_ns) / hpet_ns).abs());
    }
    errors.sort_by(|a, b| a.partial_cmp(b).unwrap_or(core::cmp::Ordering::Equal));
    let median = errors[2];
    check!(
        median < 0.01,
        "TSC and HPET disagree by {:.3}% over 10 ms (median of 5)",
        median * 100.0
    );
    Ok(())
}
#[cfg(target_arch = "x86_64")]
kernel_test!(
    time_tsc_matches_hpet,
    busy_wait_measured_by_hpet_and_tsc_agree
);

fn monotonic_clock_never_goes_backwards() -> Result<(), String> {
    let mut previous = time::monotonic_nanos();
    for _ in 0..200_000 {
        let now = time::monotonic_nanos();
        check!(now >= previous, "clock went back from {previous} to {now}");
        previous = now;
    }
    Ok(())
}
kernel_test!(time_monotonic, monotonic_clock_never_goes_backwards);

fn wall_clock_is_plausible() -> Result<(), String> {
    let (seconds, nanos) = time::wall_clock();
    // 2020-01-01 .. 2100-01-01
    check!(
        (1_577_836_800..4_102_444_800).contains(&seconds),
        "wall clock {seconds} s is implausible"
    );
    check!(nanos < 1_000_000_000, "nanoseconds out of range");
    check!(
        time::rtc::days_from_civil(1970, 1, 1) == 0,
        "epoch day wrong"
    );
    check!(
        time::rtc::days_from_civil(2000, 3, 1) == 11_017,
        "2000-03-01 wrong"
    );
    Ok(())
}
kernel_test!(time_wall_clock, wall_clock_is_plausible);

fn timer_interrupts_arrive() -> Result<(), String> {
    let before = crate::interrupts::timer_ticks();
    time::busy_wait_nanos(50_000_000);
    let after = crate::interrupts::timer_ticks();
    // 100 Hz: about 5 ticks in 50 ms.
    check!(
        after > before + 2,
        "only {} timer ticks in 50 ms",
        after - before
    );
    Ok(())
}
kernel_test!(irq_local_apic_timer, timer_interrupts_arrive);

/// Not a test: a fixed loop whose duration tells the host runner whether hardware acceleration
/// really runs at hardware speed (some nested set-ups make KVM far slower than emulation).
fn probe_speed() -> Result<(), String> {
    let start = time::monotonic_nanos();
    let mut x = 0u64;
    for i in 0..2_000_000u64 {
        x = core::hint::black_box(x.wrapping_add(i));
    }
    crate::println!(
        "probe: 2M-iteration loop took {} us",
        (time::monotonic_nanos() - start) / 1000
    );
    Ok(())
}
kernel_test!(probe_speed, probe_speed);

#[cfg(target_arch = "x86_64")]
fn storm_detector_trips_once_per_flood() -> Result<(), String> {
    let detector = crate::pci::irq::StormDetector::new();
    let start = 1_000_000_000u64;
    // 90 000 interrupts spread over a second: never a storm.
    let quiet = (0..90_000u64).any(|i| detector.record(start + i * 11_000));
    check!(!quiet, "a steady 90 kHz line was called a storm");
    // 150 000 in 15 ms: a storm, reported exactly once.
    let base = start + 2_000_000_000;
    let trips = (0..150_000u64)
        .filter(|i| detector.record(base + i * 100))
        .count();
    check!(trips == 1, "storm reported {trips} times");
    check!(detector.tripped(), "storm not remembered");
    Ok(())
}
#[cfg(target_arch = "x86_64")]
kernel_test!(irq_storm_detector, storm_detector_trips_once_per_flood);
