//! What every image `parse` returns must satisfy, whatever the input. Shared by the tests and
//! the fuzz target (`#[path]`), so both hold the parser to the same promises.

use elf_loader::{Image, Kind, PAGE_SIZE, USER_END};

/// Panics, naming the broken promise, unless `image` is consistent with a file of `file_size`
/// bytes.
pub fn check_image(image: &Image, file_size: u64) {
    assert!(!image.segments.is_empty(), "no segments: {image:?}");
    assert_eq!(image.phdr_entry_size, 56, "{image:?}");
    assert!(image.phdr_count >= 1 && image.phdr_count <= 64, "{image:?}");
    let mut previous_end = 0u64;
    for (position, segment) in image.segments.iter().enumerate() {
        assert!(segment.mem_size > 0, "empty segment {position}: {image:?}");
        assert!(
            segment.file_size <= segment.mem_size,
            "file_size > mem_size: {image:?}"
        );
        let file_end = segment
            .file_offset
            .checked_add(segment.file_size)
            .expect("file range overflows");
        assert!(
            file_end <= file_size,
            "file range beyond the file: {image:?}"
        );
        let end = segment
            .vaddr
            .checked_add(segment.mem_size)
            .expect("memory range overflows");
        assert!(end <= USER_END, "segment above the user half: {image:?}");
        assert_eq!(
            (segment.vaddr ^ segment.file_offset) % PAGE_SIZE,
            0,
            "incongruent: {image:?}"
        );
        if position > 0 {
            assert!(
                segment.vaddr >= previous_end,
                "unsorted or overlapping: {image:?}"
            );
        }
        previous_end = end;
    }
    let (low, high) = image.span;
    assert_eq!(low % PAGE_SIZE, 0, "{image:?}");
    assert_eq!(high % PAGE_SIZE, 0, "{image:?}");
    assert!(low <= image.segments[0].vaddr, "{image:?}");
    assert!(
        high >= previous_end && high - previous_end < PAGE_SIZE,
        "{image:?}"
    );
    assert!(image.segments[0].vaddr - low < PAGE_SIZE, "{image:?}");
    assert!(
        image
            .segments
            .iter()
            .any(|segment| segment.permissions.execute
                && image.entry >= segment.vaddr
                && image.entry < segment.vaddr + segment.mem_size),
        "entry outside executable memory: {image:?}"
    );
    if let Some(address) = image.phdr_vaddr {
        let size = u64::from(image.phdr_count) * 56;
        assert!(
            image.segments.iter().any(|segment| address >= segment.vaddr
                && address + size <= segment.vaddr + segment.file_size),
            "program headers not loaded from the file: {image:?}"
        );
    }
    match image.kind {
        Kind::Executable => assert_eq!(image.bias_for(0x5555_5555_5000), 0),
        Kind::PositionIndependent => {
            let bias = image.bias_for(0x5555_5555_5123);
            assert_eq!(low.wrapping_add(bias), 0x5555_5555_5000, "{image:?}");
        }
    }
}
