//! Fuzz target: arbitrary image bytes through mount, lookup (hits and misses), readdir, read
//! and readlink.
#![no_main]

use ext2::{FileSystem, FileType, MemoryDevice, MountOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let options = MountOptions {
        read_only: true,
        cache_blocks: 64,
        ..MountOptions::default()
    };
    let Ok(mut fs) = FileSystem::mount(MemoryDevice::new(data.to_vec()), options) else {
        return;
    };
    let mut pending = vec![(fs.root(), 0u32)];
    let mut visited = 0;
    let mut buffer = vec![0u8; 4096];
    while let Some((directory, depth)) = pending.pop() {
        let Ok(entries) = fs.read_dir(directory) else {
            continue;
        };
        // A miss in an indexed directory runs the whole-index check.
        let _ = fs.lookup(directory, b"not-a-listed-name");
        for entry in entries {
            visited += 1;
            if visited > 1000 || entry.name == b"." || entry.name == b".." {
                continue;
            }
            let _ = fs.lookup(directory, &entry.name);
            match entry.file_type {
                FileType::Directory if depth < 8 => pending.push((entry.inode, depth + 1)),
                FileType::Symlink => {
                    let _ = fs.read_link(entry.inode);
                }
                _ => {
                    let _ = fs.read(entry.inode, 0, &mut buffer);
                    let _ = fs.read(entry.inode, 300_000, &mut buffer);
                }
            }
            let _ = fs.metadata(entry.inode);
        }
    }
    let _ = fs.resolve(b"/a/b/../c", true);
    let _ = fs.unmount();
});
