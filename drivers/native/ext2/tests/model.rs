//! Model-based property test: random write operations go to the driver and to an in-memory
//! model; after unmount e2fsck -fn must call the image clean and debugfs must see the model.

mod common;

use std::collections::BTreeMap;

use common::{debugfs_snapshot, e2fsck, make_image, ImageOptions, TempDir};
use ext2::{FileDevice, FileSystem, FileType, MountOptions, Owner};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const PAGE: u64 = 4096;

/// Type, permissions, size, link count and data (contents or symlink target) of a path.
type Expected = (FileType, u16, u64, u16, Option<Vec<u8>>);

#[derive(Clone, Debug)]
enum Kind {
    File {
        size: u64,
        pages: BTreeMap<u64, Vec<u8>>,
    },
    Directory(BTreeMap<String, u32>),
    Symlink(Vec<u8>),
}

#[derive(Clone, Debug)]
struct ModelNode {
    kind: Kind,
    permissions: u16,
}

/// The expected file system, keyed by the driver's inode numbers.
#[derive(Default)]
struct Model {
    nodes: BTreeMap<u32, ModelNode>,
}

impl Model {
    fn children(&self, directory: u32) -> &BTreeMap<String, u32> {
        match &self.nodes[&directory].kind {
            Kind::Directory(children) => children,
            _ => unreachable!("not a directory"),
        }
    }

    fn children_mut(&mut self, directory: u32) -> &mut BTreeMap<String, u32> {
        match &mut self.nodes.get_mut(&directory).unwrap().kind {
            Kind::Directory(children) => children,
            _ => unreachable!("not a directory"),
        }
    }

    /// (parent, name, inode) of every entry, in a stable order.
    fn entries(&self) -> Vec<(u32, String, u32)> {
        let mut out = Vec::new();
        let mut pending = vec![2u32];
        while let Some(directory) = pending.pop() {
            for (name, &child) in self.children(directory) {
                out.push((directory, name.clone(), child));
                if matches!(self.nodes[&child].kind, Kind::Directory(_)) {
                    pending.push(child);
                }
            }
        }
        out
    }

    fn directories(&self) -> Vec<u32> {
        let mut out = vec![2];
        out.extend(self.entries().into_iter().filter_map(|(_, _, child)| {
            matches!(self.nodes[&child].kind, Kind::Directory(_)).then_some(child)
        }));
        out
    }

    fn is_below(&self, node: u32, ancestor: u32) -> bool {
        // Directories have one parent: walk the entries upward.
        let parents: BTreeMap<u32, u32> = self
            .entries()
            .into_iter()
            .filter(|(_, _, child)| matches!(self.nodes[child].kind, Kind::Directory(_)))
            .map(|(parent, _, child)| (child, parent))
            .collect();
        let mut current = node;
        loop {
            if current == ancestor {
                return true;
            }
            match parents.get(&current) {
                Some(&parent) => current = parent,
                None => return false,
            }
        }
    }

    fn expected(&self) -> BTreeMap<String, Expected> {
        let mut links: BTreeMap<u32, u16> = BTreeMap::new();
        for (_, _, child) in self.entries() {
            *links.entry(child).or_default() += 1;
        }
        for directory in self.directories() {
            let subdirectories = self
                .children(directory)
                .values()
                .filter(|child| matches!(self.nodes[child].kind, Kind::Directory(_)))
                .count() as u16;
            links.insert(directory, 2 + subdirectories);
        }
        let mut paths: BTreeMap<u32, String> = BTreeMap::from([(2, String::new())]);
        let mut out = BTreeMap::new();
        let mut pending = vec![2u32];
        while let Some(directory) = pending.pop() {
            for (name, &child) in self.children(directory) {
                let path = format!("{}/{name}", paths[&directory]);
                let node = &self.nodes[&child];
                let (kind, size, data) = match &node.kind {
                    Kind::File { size, pages } => {
                        let mut data = vec![0u8; *size as usize];
                        for (page, bytes) in pages {
                            let start = (page * PAGE) as usize;
                            let end = (start + PAGE as usize).min(data.len());
                            if start < end {
                                data[start..end].copy_from_slice(&bytes[..end - start]);
                            }
                        }
                        (FileType::Regular, *size, Some(data))
                    }
                    Kind::Directory(_) => {
                        paths.insert(child, path.clone());
                        pending.push(child);
                        (FileType::Directory, 0, None)
                    }
                    Kind::Symlink(target) => {
                        (FileType::Symlink, target.len() as u64, Some(target.clone()))
                    }
                };
                out.insert(path, (kind, node.permissions, size, links[&child], data));
            }
        }
        out
    }
}

fn write_pages(pages: &mut BTreeMap<u64, Vec<u8>>, offset: u64, data: &[u8]) {
    for (index, byte) in data.iter().enumerate() {
        let position = offset + index as u64;
        pages
            .entry(position / PAGE)
            .or_insert_with(|| vec![0; PAGE as usize])[(position % PAGE) as usize] = *byte;
    }
}

fn truncate_pages(pages: &mut BTreeMap<u64, Vec<u8>>, size: u64) {
    pages.retain(|page, _| page * PAGE < size);
    if let Some(last) = pages.get_mut(&(size / PAGE)) {
        last[(size % PAGE) as usize..].fill(0);
    }
}

#[derive(Clone, Debug)]
enum Op {
    Create {
        directory: usize,
        name: u8,
    },
    Write {
        file: usize,
        offset: u64,
        length: u16,
        seed: u8,
    },
    Truncate {
        file: usize,
        size: u64,
    },
    Unlink {
        entry: usize,
    },
    Mkdir {
        directory: usize,
        name: u8,
    },
    Rmdir {
        entry: usize,
    },
    Rename {
        entry: usize,
        directory: usize,
        name: u8,
    },
    Link {
        entry: usize,
        directory: usize,
        name: u8,
    },
    Symlink {
        directory: usize,
        name: u8,
        length: u8,
    },
    Chmod {
        entry: usize,
        permissions: u16,
    },
}

fn offset_strategy() -> impl Strategy<Value = u64> {
    prop_oneof![
        8 => 0u64..20_000,
        4 => 0u64..400_000,
        2 => 0u64..3_000_000,
        1 => (64u64 << 20)..(64u64 << 20) + 70_000,
    ]
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let index = 0usize..64;
    let name = 0u8..10;
    prop_oneof![
        4 => (index.clone(), name.clone()).prop_map(|(directory, name)| Op::Create { directory, name }),
        6 => (index.clone(), offset_strategy(), 0u16..9000, any::<u8>())
            .prop_map(|(file, offset, length, seed)| Op::Write { file, offset, length, seed }),
        2 => (index.clone(), offset_strategy()).prop_map(|(file, size)| Op::Truncate { file, size }),
        2 => index.clone().prop_map(|entry| Op::Unlink { entry }),
        3 => (index.clone(), name.clone()).prop_map(|(directory, name)| Op::Mkdir { directory, name }),
        1 => index.clone().prop_map(|entry| Op::Rmdir { entry }),
        3 => (index.clone(), index.clone(), name.clone())
            .prop_map(|(entry, directory, name)| Op::Rename { entry, directory, name }),
        1 => (index.clone(), index.clone(), name.clone())
            .prop_map(|(entry, directory, name)| Op::Link { entry, directory, name }),
        2 => (index.clone(), name.clone(), 1u8..200)
            .prop_map(|(directory, name, length)| Op::Symlink { directory, name, length }),
        1 => (index, 0u16..0o7777).prop_map(|(entry, permissions)| Op::Chmod { entry, permissions }),
    ]
}

type Driver = FileSystem<FileDevice>;

/// Applies `op` to both; returns a description of any disagreement.
fn apply(fs: &mut Driver, model: &mut Model, op: &Op) -> Result<(), String> {
    let owner = Owner { uid: 0, gid: 0 };
    let directories = model.directories();
    let entries: Vec<(u32, String, u32)> = model
        .entries()
        .into_iter()
        .filter(|(parent, name, _)| !(*parent == 2 && name == "lost+found"))
        .collect();
    let files: Vec<u32> = entries
        .iter()
        .filter(|(_, _, child)| matches!(model.nodes[child].kind, Kind::File { .. }))
        .map(|(_, _, child)| *child)
        .collect();
    let pick = |count: usize, index: usize| (count > 0).then(|| index % count);
    let check = |what: &str, ok: bool, result: ext2::Result<()>| -> Result<(), String> {
        match (ok, result) {
            (true, Ok(())) | (false, Err(_)) => Ok(()),
            (true, Err(error)) => Err(format!("{what}: driver failed: {error}")),
            (false, Ok(())) => Err(format!("{what}: driver accepted an invalid operation")),
        }
    };
    match *op {
        Op::Create { directory, name }
        | Op::Mkdir { directory, name }
        | Op::Symlink {
            directory, name, ..
        } => {
            let parent = directories[directory % directories.len()];
            let name = format!("n{name}");
            let exists = model.children(parent).contains_key(&name);
            let result = match *op {
                Op::Create { .. } => fs.create(parent, name.as_bytes(), 0o644, owner),
                Op::Mkdir { .. } => fs.mkdir(parent, name.as_bytes(), 0o755, owner),
                Op::Symlink { length, .. } => {
                    let target: Vec<u8> = (0..length).map(|i| b'a' + i % 26).collect();
                    fs.symlink(parent, name.as_bytes(), &target, owner)
                }
                _ => unreachable!(),
            };
            match (exists, result) {
                (false, Ok(inode)) => {
                    let (kind, permissions) = match *op {
                        Op::Create { .. } => (
                            Kind::File {
                                size: 0,
                                pages: BTreeMap::new(),
                            },
                            0o644,
                        ),
                        Op::Mkdir { .. } => (Kind::Directory(BTreeMap::new()), 0o755),
                        Op::Symlink { length, .. } => (
                            Kind::Symlink((0..length).map(|i| b'a' + i % 26).collect()),
                            0o777,
                        ),
                        _ => unreachable!(),
                    };
                    model.nodes.insert(inode, ModelNode { kind, permissions });
                    model.children_mut(parent).insert(name, inode);
                    Ok(())
                }
                (exists, result) => check("create", !exists, result.map(|_| ())),
            }
        }
        Op::Write {
            file,
            offset,
            length,
            seed,
        } => {
            let Some(index) = pick(files.len(), file) else {
                return Ok(());
            };
            let inode = files[index];
            let data: Vec<u8> = (0..length)
                .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
                .collect();
            let written = fs
                .write(inode, offset, &data)
                .map_err(|error| format!("write: {error}"))?;
            if written != data.len() {
                return Err(format!("short write {written}"));
            }
            if let Kind::File { size, pages } = &mut model.nodes.get_mut(&inode).unwrap().kind {
                write_pages(pages, offset, &data);
                if !data.is_empty() {
                    *size = (*size).max(offset + data.len() as u64);
                }
            }
            Ok(())
        }
        Op::Truncate {
            file,
            size: new_size,
        } => {
            let Some(index) = pick(files.len(), file) else {
                return Ok(());
            };
            let inode = files[index];
            fs.truncate(inode, new_size)
                .map_err(|error| format!("truncate: {error}"))?;
            if let Kind::File { size, pages } = &mut model.nodes.get_mut(&inode).unwrap().kind {
                truncate_pages(pages, new_size);
                *size = new_size;
            }
            Ok(())
        }
        Op::Unlink { entry } | Op::Rmdir { entry } => {
            let Some(index) = pick(entries.len(), entry) else {
                return Ok(());
            };
            let (parent, name, child) = entries[index].clone();
            let is_directory = matches!(model.nodes[&child].kind, Kind::Directory(_));
            let ok = match op {
                Op::Unlink { .. } => !is_directory,
                _ => is_directory && model.children(child).is_empty(),
            };
            let result = match op {
                Op::Unlink { .. } => fs.unlink(parent, name.as_bytes()),
                _ => fs.rmdir(parent, name.as_bytes()),
            };
            check("remove", ok, result)?;
            if ok {
                model.children_mut(parent).remove(&name);
                if !model.entries().iter().any(|(_, _, other)| *other == child) {
                    model.nodes.remove(&child);
                }
            }
            Ok(())
        }
        Op::Rename {
            entry,
            directory,
            name,
        } => {
            let Some(index) = pick(entries.len(), entry) else {
                return Ok(());
            };
            let (parent, old_name, source) = entries[index].clone();
            let new_parent = directories[directory % directories.len()];
            let new_name = format!("n{name}");
            let target = model.children(new_parent).get(&new_name).copied();
            let source_is_directory = matches!(model.nodes[&source].kind, Kind::Directory(_));
            let ok = if target == Some(source) {
                true
            } else if source_is_directory && model.is_below(new_parent, source) {
                false
            } else {
                match target {
                    None => true,
                    Some(target) => match &model.nodes[&target].kind {
                        Kind::Directory(children) => source_is_directory && children.is_empty(),
                        _ => !source_is_directory,
                    },
                }
            };
            check(
                "rename",
                ok,
                fs.rename(parent, old_name.as_bytes(), new_parent, new_name.as_bytes()),
            )?;
            if ok && target != Some(source) {
                model.children_mut(parent).remove(&old_name);
                model.children_mut(new_parent).insert(new_name, source);
                if let Some(target) = target {
                    if !model.entries().iter().any(|(_, _, other)| *other == target) {
                        model.nodes.remove(&target);
                    }
                }
            }
            Ok(())
        }
        Op::Link {
            entry,
            directory,
            name,
        } => {
            let Some(index) = pick(entries.len(), entry) else {
                return Ok(());
            };
            let source = entries[index].2;
            let parent = directories[directory % directories.len()];
            let name = format!("n{name}");
            let ok = !matches!(model.nodes[&source].kind, Kind::Directory(_))
                && !model.children(parent).contains_key(&name);
            check("link", ok, fs.link(source, parent, name.as_bytes()))?;
            if ok {
                model.children_mut(parent).insert(name, source);
            }
            Ok(())
        }
        Op::Chmod { entry, permissions } => {
            let Some(index) = pick(entries.len(), entry) else {
                return Ok(());
            };
            let inode = entries[index].2;
            check("chmod", true, fs.chmod(inode, permissions))?;
            model.nodes.get_mut(&inode).unwrap().permissions = permissions;
            Ok(())
        }
    }
}

fn configuration(index: usize) -> ImageOptions {
    let mut options = match index % 4 {
        0 => {
            let mut options = ImageOptions::new(1024, 1, 256);
            options.blocks_per_group = Some(2048);
            options
        }
        1 => ImageOptions::new(1024, 0, 128),
        2 => {
            let mut options = ImageOptions::new(2048, 1, 128);
            options.filetype = false;
            options
        }
        _ => ImageOptions::new(4096, 1, 256),
    };
    options.size_mib = 16;
    options
}

fn run_case(config: usize, ops: &[Op], cache_blocks: usize) -> Result<(), TestCaseError> {
    let scratch = TempDir::new("model");
    let image = make_image(scratch.path(), None, &configuration(config));
    let device = FileDevice::open(&image, true).expect("open");
    let options = MountOptions {
        cache_blocks,
        ..MountOptions::default()
    };
    let mut fs = FileSystem::mount(device, options)
        .map_err(|error| TestCaseError::fail(error.to_string()))?;
    let mut model = Model::default();
    let lost_found = fs.lookup(2, b"lost+found").expect("lost+found");
    model.nodes.insert(
        2,
        ModelNode {
            kind: Kind::Directory(BTreeMap::new()),
            permissions: 0o755,
        },
    );
    model.nodes.insert(
        lost_found,
        ModelNode {
            kind: Kind::Directory(BTreeMap::new()),
            permissions: 0o700,
        },
    );
    model
        .children_mut(2)
        .insert("lost+found".into(), lost_found);
    for (step, op) in ops.iter().enumerate() {
        apply(&mut fs, &mut model, op)
            .map_err(|error| TestCaseError::fail(format!("step {step} {op:?}: {error}")))?;
        if step % 16 == 15 {
            fs.sync()
                .map_err(|error| TestCaseError::fail(error.to_string()))?;
        }
    }
    fs.sync()
        .map_err(|error| TestCaseError::fail(error.to_string()))?;
    fs.unmount()
        .map_err(|error| TestCaseError::fail(error.to_string()))?;
    e2fsck(&image).map_err(TestCaseError::fail)?;
    let seen = debugfs_snapshot(&image, scratch.path());
    let expected = model.expected();
    let seen_paths: Vec<&String> = seen.keys().collect();
    let expected_paths: Vec<&String> = expected.keys().collect();
    prop_assert_eq!(seen_paths, expected_paths);
    for (path, (kind, permissions, size, links, data)) in expected {
        let node = &seen[&path];
        prop_assert_eq!(node.kind, kind, "type of {}", path);
        prop_assert_eq!(node.permissions, permissions, "mode of {}", path);
        if kind != FileType::Directory {
            prop_assert_eq!(node.size, size, "size of {}", path);
        }
        prop_assert_eq!(node.links, links, "links of {}", path);
        prop_assert!(node.data == data, "data of {} differs", path);
    }
    Ok(())
}

#[test]
fn random_operations_match_the_model_and_stay_fsck_clean() {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(32);
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 200,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let strategy = (
        0usize..4,
        proptest::collection::vec(op_strategy(), 1..60),
        prop_oneof![Just(16usize), Just(4096)],
    );
    runner
        .run(&strategy, |(config, ops, cache_blocks)| {
            run_case(config, &ops, cache_blocks)
        })
        .unwrap_or_else(|failure| panic!("{failure}"));
}
