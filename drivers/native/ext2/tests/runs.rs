//! File data in runs: random writes, truncates and reads of every size — single bytes,
//! unaligned pieces, whole-block runs up to a few MiB, far offsets that need double indirect
//! blocks and leave holes — checked byte for byte against an in-memory model after every
//! operation, with a cache small enough to evict and one large enough not to. After unmount
//! e2fsck -fn must call the image clean and debugfs must read exactly the model.
//!
//! The device underneath counts requests: a sequential read of a file written sequentially
//! must take a few large requests, not one per block (the driver maps extents and reads each
//! run of adjacent blocks at once, fetching the next indirect block with the run before it).
//!
//! `EXT2_RUN_SEEDS=N` runs N seeds per configuration (4 by default).

mod common;

use common::{debugfs, e2fsck, make_image, ImageOptions, TempDir};
use ext2::{BlockDevice, DeviceError, FileDevice, FileSystem, MountOptions, Owner};

/// xorshift64*: reproducible operations from a seed.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, limit: u64) -> u64 {
        self.next() % limit.max(1)
    }

    fn bytes(&mut self, length: usize) -> Vec<u8> {
        (0..length).map(|_| (self.next() >> 56) as u8).collect()
    }
}

/// A device that counts the read requests it is given.
struct Counting {
    inner: FileDevice,
    reads: std::rc::Rc<std::cell::Cell<u64>>,
}

impl BlockDevice for Counting {
    fn sector_size(&self) -> u32 {
        self.inner.sector_size()
    }
    fn len(&self) -> u64 {
        self.inner.len()
    }
    fn read_at(&mut self, offset: u64, buffer: &mut [u8]) -> Result<(), DeviceError> {
        self.reads.set(self.reads.get() + 1);
        self.inner.read_at(offset, buffer)
    }
    fn read_vectored_at(
        &mut self,
        offset: u64,
        buffers: &mut [&mut [u8]],
    ) -> Result<(), DeviceError> {
        // One request, scattered: count it once.
        self.reads.set(self.reads.get() + 1);
        let mut at = offset;
        for buffer in buffers.iter_mut() {
            self.inner.read_at(at, buffer)?;
            at += buffer.len() as u64;
        }
        Ok(())
    }
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
        self.inner.write_at(offset, data)
    }
    fn flush(&mut self) -> Result<(), DeviceError> {
        self.inner.flush()
    }
}

const FILES: usize = 3;

fn name(index: usize) -> String {
    format!("data-{index}.bin")
}

/// An offset: often block-aligned, sometimes not, sometimes far out (double indirect).
fn offset(random: &mut Random, block: u64, size: u64) -> u64 {
    match random.below(6) {
        0 => random.below(size + 1),
        1 => random.below(4 << 20),
        2 => (random.below(6 << 20) / block) * block,
        3 => size,
        _ => (random.below(size / block + 2)) * block,
    }
}

/// A length: a few bytes, under a block, a few blocks, or a long run.
fn length(random: &mut Random, block: u64) -> usize {
    (match random.below(5) {
        0 => 1 + random.below(40),
        1 => 1 + random.below(block),
        2 => block * (1 + random.below(8)),
        3 => block * (1 + random.below(512)) + random.below(block),
        _ => block * (1 + random.below(2048)),
    }) as usize
}

fn write_model(model: &mut Vec<u8>, offset: u64, data: &[u8]) {
    let end = offset as usize + data.len();
    if model.len() < end {
        model.resize(end, 0);
    }
    model[offset as usize..end].copy_from_slice(data);
}

fn run(options: &ImageOptions, cache_blocks: usize, seed: u64) {
    let scratch = TempDir::new("runs");
    let image = make_image(scratch.path(), None, options);
    let reads = std::rc::Rc::new(std::cell::Cell::new(0u64));
    let device = Counting {
        inner: FileDevice::open(&image, true).expect("open image"),
        reads: reads.clone(),
    };
    let mount = MountOptions {
        cache_blocks,
        ..MountOptions::default()
    };
    let mut fs = FileSystem::mount(device, mount).expect("mount");
    let block = u64::from(options.block_size);
    let mut random = Random(seed | 1);
    // On the fresh file system: a file written sequentially reads back sequentially in few
    // requests.
    let sequential = fs
        .create(2, b"sequential.bin", 0o644, Owner::default())
        .expect("create");
    let data = random.bytes(4 << 20);
    for (index, chunk) in data.chunks(128 * 1024).enumerate() {
        fs.write(sequential, (index * 128 * 1024) as u64, chunk)
            .expect("sequential write");
    }
    fs.sync().expect("sync");
    let device = fs.unmount().expect("unmount");
    let mut fs = FileSystem::mount(device, mount).expect("mount again");
    let mut buffer = vec![0u8; 128 * 1024];
    let mut read_back = Vec::new();
    let before = reads.get();
    loop {
        let got = fs
            .read(sequential, read_back.len() as u64, &mut buffer)
            .expect("sequential read");
        if got == 0 {
            break;
        }
        read_back.extend_from_slice(&buffer[..got]);
    }
    let requests = reads.get() - before;
    // 32 calls of 128 KiB; a call may split at a group's metadata or where a run ends. One
    // request per block would be 4096 / (block / 1024).
    let limit = 32 * 2 + 8;
    assert!(
        requests <= limit,
        "block {block}: {requests} read requests for a 4 MiB sequential read (at most {limit} expected)"
    );
    assert!(read_back == data, "sequential file differs");
    let mut models: Vec<Vec<u8>> = vec![Vec::new(); FILES];
    let inodes: Vec<u32> = (0..FILES)
        .map(|index| {
            fs.create(2, name(index).as_bytes(), 0o644, Owner::default())
                .expect("create")
        })
        .collect();
    let context = |step: usize, what: &str| {
        format!("block {block}, cache {cache_blocks}, seed {seed}, step {step}: {what}")
    };
    for step in 0..250 {
        let file = random.below(FILES as u64) as usize;
        let (inode, model) = (inodes[file], &mut models[file]);
        match random.below(10) {
            0..=4 => {
                let at = offset(&mut random, block, model.len() as u64);
                let count = length(&mut random, block);
                let data = random.bytes(count);
                let written = fs
                    .write(inode, at, &data)
                    .unwrap_or_else(|error| panic!("{}", context(step, &error.to_string())));
                assert_eq!(written, data.len(), "{}", context(step, "short write"));
                write_model(model, at, &data);
            }
            5 => {
                let size = offset(&mut random, block, model.len() as u64);
                fs.truncate(inode, size)
                    .unwrap_or_else(|error| panic!("{}", context(step, &error.to_string())));
                model.resize(size as usize, 0);
            }
            6 => fs
                .sync()
                .unwrap_or_else(|error| panic!("{}", context(step, &error.to_string()))),
            _ => {
                let at = offset(&mut random, block, model.len() as u64);
                let mut buffer = vec![0xa5u8; length(&mut random, block)];
                let got = fs
                    .read(inode, at, &mut buffer)
                    .unwrap_or_else(|error| panic!("{}", context(step, &error.to_string())));
                let end = (at as usize + buffer.len()).min(model.len());
                let expected = model.get(at as usize..end).unwrap_or(&[]);
                assert_eq!(got, expected.len(), "{}", context(step, "read length"));
                assert!(
                    buffer[..got] == *expected,
                    "{}",
                    context(step, &format!("read of {} at {at} differs", buffer.len()))
                );
            }
        }
    }
    // Every file reads back whole.
    for (file, model) in models.iter().enumerate() {
        let mut buffer = vec![0u8; model.len() + 7];
        let got = fs.read(inodes[file], 0, &mut buffer).expect("read whole");
        assert_eq!(got, model.len());
        assert!(buffer[..got] == model[..], "file {file} differs at the end");
    }
    let device = fs.unmount().expect("unmount");
    drop(device);

    e2fsck(&image).unwrap_or_else(|error| panic!("seed {seed}, block {block}: {error}"));
    let mut names: Vec<(String, Vec<u8>)> = models
        .iter()
        .enumerate()
        .map(|(index, model)| (name(index), model.clone()))
        .collect();
    names.push(("sequential.bin".into(), data));
    for (file, expected) in names {
        let out = scratch.path().join(format!("{file}.out"));
        debugfs(&image, &[format!("dump /{file} {}", out.display())], false);
        let seen = std::fs::read(&out).expect("debugfs dump");
        assert!(
            seen == expected,
            "seed {seed}, block {block}: debugfs reads {file} differently ({} bytes, {} expected)",
            seen.len(),
            expected.len()
        );
    }
}

#[test]
fn random_runs_match_the_model_and_stay_fsck_clean() {
    let seeds: u64 = std::env::var("EXT2_RUN_SEEDS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(4);
    let mut configurations = Vec::new();
    let mut small_groups = ImageOptions::new(1024, 1, 256);
    small_groups.blocks_per_group = Some(2048);
    configurations.push(small_groups);
    configurations.push(ImageOptions::new(2048, 1, 256));
    configurations.push(ImageOptions::new(4096, 1, 256));
    for options in &mut configurations {
        options.size_mib = 96;
    }
    for seed in 0..seeds {
        for (index, options) in configurations.iter().enumerate() {
            let cache = if seed % 2 == 0 { 16 } else { 4096 };
            run(options, cache, 0x5eed_0000 + seed * 31 + index as u64);
        }
    }
}
