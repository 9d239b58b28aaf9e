//! Fuzz target: the whole initrd parser (format detection, LZ4 frames, tar) and every lookup.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // A small limit keeps LZ4 bombs from dominating the run; the limit path is tested too.
    let Ok((initrd, diagnostics)) = initrd::Initrd::parse_with_limit(data, 8 << 20) else {
        return;
    };
    for diagnostic in &diagnostics {
        let _ = diagnostic.to_string();
    }
    let mut buffer = [0u8; 32];
    for (_, node) in initrd.walk() {
        let path = node.path();
        let _ = node.stat();
        let _ = node.read(3, &mut buffer);
        // Sparse files: the tail and the middle, where holes and regions meet.
        let end = node.stat().size;
        let _ = node.read(end.saturating_sub(20), &mut buffer);
        let _ = node.read(end / 2, &mut buffer);
        let _ = initrd.resolve(&path);
        let _ = initrd.read_dir(&path).map(Iterator::count);
        assert!(initrd.lookup(&path).is_some());
    }
});
