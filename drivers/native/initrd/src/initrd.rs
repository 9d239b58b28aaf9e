//! The initrd itself: format detection, index building and path lookup.
//!
//! `Initrd::parse` detects the format by magic, decompresses LZ4 if needed, reads the tar stream
//! and builds the node table. For plain tar the nodes point into the caller's slice; for LZ4
//! the decompressed vector is the backing store. Damage never fails the parse: the entries read
//! before it are kept and the damage is returned as one diagnostic.

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use crate::error::{Diagnostic, DiagnosticKind, Error, FsError};
use crate::lz4::{self, Start};
use crate::node::{Content, Meta, Node, NodeId, NodeKind, NodeRef, Stat, ROOT};
use crate::path::{components, normalise};
use crate::tar::{self, lossy, Entry, Reader};

/// Decompressed size limit used by [`Initrd::parse`]: 1 GiB.
pub const DEFAULT_MAX_DECOMPRESSED: usize = 1 << 30;
/// How many symlinks one path resolution may follow before failing with `TooManySymlinks`.
pub const MAX_SYMLINK_HOPS: usize = 40;
/// Mode of directories that no archive entry names (created as parents).
const IMPLICIT_DIRECTORY_MODE: u32 = 0o755;

/// The container format an initrd was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// An uncompressed tar archive; file data is borrowed from the input.
    Tar,
    /// LZ4 frames holding a tar archive; file data lives in the decompressed buffer.
    Lz4Tar,
}

enum Backing<'a> {
    Borrowed(&'a [u8]),
    Owned(Vec<u8>),
}

/// A parsed, read-only initrd file system.
pub struct Initrd<'a> {
    backing: Backing<'a>,
    nodes: Vec<Node>,
    format: Format,
}

impl core::fmt::Debug for Initrd<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Initrd")
            .field("format", &self.format)
            .field("nodes", &self.nodes.len())
            .field("bytes", &self.bytes().len())
            .finish()
    }
}

impl<'a> Initrd<'a> {
    /// Parses an LZ4-compressed or plain tar initrd, decompressing at most
    /// [`DEFAULT_MAX_DECOMPRESSED`] bytes.
    ///
    /// Fails only if the format is not recognised or the archive is empty. Damage (truncation,
    /// bad checksums, corrupt LZ4) keeps the entries before it and is reported in the returned
    /// diagnostics, along with skipped or replaced entries.
    pub fn parse(bytes: &'a [u8]) -> Result<(Self, Vec<Diagnostic>), Error> {
        Self::parse_with_limit(bytes, DEFAULT_MAX_DECOMPRESSED)
    }

    /// Like [`Initrd::parse`], with a limit on the decompressed size of an LZ4 initrd.
    pub fn parse_with_limit(
        bytes: &'a [u8],
        max_decompressed: usize,
    ) -> Result<(Self, Vec<Diagnostic>), Error> {
        if bytes.is_empty() {
            return Err(Error::Empty);
        }
        match lz4::classify(bytes) {
            Start::Lz4 => {}
            Start::Legacy => return Err(Error::Lz4Legacy),
            Start::Zstd => return Err(Error::Zstd),
            Start::NoFrame { offset, found } => {
                return Err(Error::NoFrameAfterSkippable {
                    offset: offset as u64,
                    found,
                })
            }
            Start::NotFramed if tar::looks_like_tar(bytes) => {
                return Ok(Self::build(Backing::Borrowed(bytes), Format::Tar, None))
            }
            Start::NotFramed => {
                return Err(Error::UnknownFormat {
                    first_bytes: leading_bytes(bytes),
                })
            }
        }
        let decoded = lz4::decompress(bytes, max_decompressed);
        let recognised = tar::looks_like_tar(&decoded.data);
        match decoded.damage {
            None if decoded.data.is_empty() => Err(Error::Empty),
            None if !recognised => Err(Error::UnknownCompressedFormat {
                first_bytes: leading_bytes(&decoded.data),
            }),
            damage => {
                // Damaged before the first header: an empty tree plus the diagnostic.
                let data = if recognised { decoded.data } else { Vec::new() };
                Ok(Self::build(Backing::Owned(data), Format::Lz4Tar, damage))
            }
        }
    }

    fn build(
        backing: Backing<'a>,
        format: Format,
        lz4_damage: Option<Diagnostic>,
    ) -> (Self, Vec<Diagnostic>) {
        let bytes = match &backing {
            Backing::Borrowed(bytes) => bytes,
            Backing::Owned(data) => data.as_slice(),
        };
        let mut builder = Builder::new();
        let mut reader = Reader::new(bytes);
        let mut tar_damage = None;
        while let Some(item) = reader.next_entry() {
            match item {
                Ok(entry) => builder.add(entry),
                Err(damage) => tar_damage = Some(damage),
            }
        }
        let mut diagnostics = builder.diagnostics;
        match (lz4_damage, tar_damage) {
            // The tar stream ran out because decompression stopped: one diagnostic, naming
            // the entry that was cut.
            (Some(mut lz4), Some(tar)) if tar.kind.is_truncation() => {
                lz4.entry = tar.entry;
                diagnostics.push(lz4);
            }
            (lz4, tar) => diagnostics.extend(tar.into_iter().chain(lz4)),
        }
        let initrd = Self {
            backing,
            nodes: builder.nodes,
            format,
        };
        (initrd, diagnostics)
    }

    fn bytes(&self) -> &[u8] {
        match &self.backing {
            Backing::Borrowed(bytes) => bytes,
            Backing::Owned(data) => data,
        }
    }

    fn view(&self, id: usize) -> NodeRef<'_> {
        NodeRef {
            nodes: &self.nodes,
            bytes: self.bytes(),
            id,
        }
    }

    /// The format the initrd was read from.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Number of nodes, the root included.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The root directory.
    pub fn root(&self) -> NodeRef<'_> {
        self.view(ROOT)
    }

    /// The node behind a handle obtained from [`NodeRef::id`].
    pub fn node(&self, id: NodeId) -> Option<NodeRef<'_>> {
        (id.0 < self.nodes.len()).then(|| self.view(id.0))
    }

    /// Finds a path exactly as stored, following no symlinks; `..` moves to the parent
    /// (the root's parent is the root) and a leading `/` is optional.
    pub fn lookup(&self, path: &str) -> Option<NodeRef<'_>> {
        let mut node = self.root();
        for component in components(path) {
            node = if component == ".." {
                node.parent()
            } else {
                node.child(component)?
            };
        }
        Some(node)
    }

    /// Finds a path, following symlinks everywhere (absolute targets start at the initrd root).
    pub fn resolve(&self, path: &str) -> Result<NodeRef<'_>, FsError> {
        self.resolve_inner(path, true)
    }

    /// Finds a path, following symlinks except in the last component (like `lstat`).
    pub fn resolve_nofollow(&self, path: &str) -> Result<NodeRef<'_>, FsError> {
        self.resolve_inner(path, false)
    }

    fn resolve_inner(&self, path: &str, follow_last: bool) -> Result<NodeRef<'_>, FsError> {
        // Components still to visit, last one on top.
        let mut pending: Vec<&str> = components(path).collect();
        pending.reverse();
        let mut node = self.root();
        let mut hops = 0;
        while let Some(component) = pending.pop() {
            if node.kind() != NodeKind::Directory {
                return Err(FsError::NotADirectory);
            }
            if component == ".." {
                node = node.parent();
                continue;
            }
            let child = node.child(component).ok_or(FsError::NotFound)?;
            match child.link_target() {
                Some(target) if follow_last || !pending.is_empty() => {
                    hops += 1;
                    if hops > MAX_SYMLINK_HOPS {
                        return Err(FsError::TooManySymlinks);
                    }
                    if target.starts_with('/') {
                        node = self.root();
                    }
                    let before = pending.len();
                    pending.extend(components(target));
                    pending[before..].reverse();
                }
                _ => node = child,
            }
        }
        Ok(node)
    }

    /// `stat` of a path, following symlinks.
    pub fn stat(&self, path: &str) -> Result<Stat<'_>, FsError> {
        Ok(self.resolve(path)?.stat())
    }

    /// The entries of the directory at `path`, following symlinks.
    pub fn read_dir(&self, path: &str) -> Result<crate::ReadDir<'_>, FsError> {
        self.resolve(path)?.children()
    }

    /// The whole content of the regular file at `path`, following symlinks.
    ///
    /// A sparse file has no contiguous content to lend (its holes are not stored): for one,
    /// this fails with [`FsError::IsASymlink`] (EINVAL) like for any node that is not plain
    /// data; [`Initrd::read`] serves it, holes as zeros.
    pub fn data(&self, path: &str) -> Result<&[u8], FsError> {
        let node = self.resolve(path)?;
        match node.kind() {
            NodeKind::Directory => Err(FsError::IsADirectory),
            _ => node.data().ok_or(FsError::IsASymlink),
        }
    }

    /// Reads from the regular file at `path`; see [`NodeRef::read`].
    pub fn read(&self, path: &str, offset: u64, buffer: &mut [u8]) -> Result<usize, FsError> {
        self.resolve(path)?.read(offset, buffer)
    }

    /// Every node, depth first from the root, for a `tree` listing.
    pub fn walk(&self) -> crate::Walk<'_> {
        self.root().walk()
    }
}

fn leading_bytes(bytes: &[u8]) -> [u8; 4] {
    let mut first = [0; 4];
    let count = bytes.len().min(4);
    first[..count].copy_from_slice(&bytes[..count]);
    first
}

/// Builds the node table from tar entries, collecting per-entry diagnostics.
struct Builder {
    nodes: Vec<Node>,
    diagnostics: Vec<Diagnostic>,
}

impl Builder {
    fn new() -> Self {
        let root = Node {
            name: String::new(),
            parent: ROOT,
            meta: Meta {
                mode: IMPLICIT_DIRECTORY_MODE,
                uid: 0,
                gid: 0,
                mtime: 0,
            },
            content: Content::Directory(BTreeMap::new()),
            explicit: false,
        };
        Self {
            nodes: vec![root],
            diagnostics: Vec::new(),
        }
    }

    fn note(&mut self, entry: &Entry<'_>, kind: DiagnosticKind) {
        self.diagnostics.push(Diagnostic::new(
            entry.offset,
            Some(lossy(&entry.path)),
            kind,
        ));
    }

    fn add(&mut self, mut entry: Entry<'_>) {
        for kind in core::mem::take(&mut entry.notes) {
            self.note(&entry, kind);
        }
        let path = match normalise(&entry.path) {
            Ok(path) => path,
            Err(kind) => return self.note(&entry, kind),
        };
        if path.was_absolute {
            self.note(&entry, DiagnosticKind::AbsolutePathStripped);
        }
        let mut meta = Meta {
            mode: entry.mode,
            uid: entry.uid,
            gid: entry.gid,
            mtime: entry.mtime,
        };
        let content = match entry.typeflag {
            // '7' is a contiguous file, an ordinary file to every reader; a trailing '/' on
            // a regular file marks a directory in pre-POSIX archives.
            b'0' | 0 | b'7' if entry.path.ends_with(b"/") => Content::Directory(BTreeMap::new()),
            // `S` is an old GNU sparse file; pax sparse files are `0` with a map.
            b'0' | 0 | b'7' | b'S' => match entry.sparse.take() {
                None => Content::File(entry.data.clone()),
                Some(Ok(file)) => Content::Sparse(Arc::new(file)),
                Some(Err(error)) => return self.note(&entry, DiagnosticKind::BadSparseMap(error)),
            },
            b'5' | b'D' => Content::Directory(BTreeMap::new()),
            b'2' => match core::str::from_utf8(entry.link) {
                Ok(target) => Content::Symlink(target.to_string()),
                Err(_) => return self.note(&entry, DiagnosticKind::NonUtf8Name),
            },
            b'1' => match self.hard_link_target(&entry) {
                Ok((content, target_meta)) => {
                    // A hard link shares its target's inode, so its metadata too.
                    meta = target_meta;
                    content
                }
                Err(kind) => return self.note(&entry, kind),
            },
            b'V' => return, // GNU volume label: not a file
            typeflag => return self.note(&entry, DiagnosticKind::UnsupportedType { typeflag }),
        };
        if let Some(kind) = self.insert(&path.path, content, meta) {
            self.note(&entry, kind);
        }
    }

    fn hard_link_target(&self, entry: &Entry<'_>) -> Result<(Content, Meta), DiagnosticKind> {
        let target = normalise(entry.link)?;
        let mut id = ROOT;
        for component in components(&target.path) {
            id = match &self.nodes[id].content {
                Content::Directory(children) => children.get(component).copied(),
                _ => None,
            }
            .ok_or_else(|| DiagnosticKind::HardLinkTargetMissing {
                target: target.path.clone(),
            })?;
        }
        let node = &self.nodes[id];
        match &node.content {
            Content::File(range) => Ok((Content::File(range.clone()), node.meta)),
            Content::Sparse(file) => Ok((Content::Sparse(file.clone()), node.meta)),
            Content::Symlink(link) => Ok((Content::Symlink(link.clone()), node.meta)),
            Content::Directory(_) => Err(DiagnosticKind::HardLinkToDirectory),
        }
    }

    /// Places a node at `path`, creating parents; a later entry replaces an earlier one.
    /// Returns what to report about the entry, if anything.
    fn insert(&mut self, path: &str, content: Content, meta: Meta) -> Option<DiagnosticKind> {
        let mut parts = components(path);
        let mut directory = ROOT;
        let Some(mut name) = parts.next() else {
            // The root itself (`./`): only a directory may describe it.
            return match content {
                Content::Directory(_) => {
                    self.nodes[ROOT].meta = meta;
                    self.nodes[ROOT].explicit = true;
                    None
                }
                _ => Some(DiagnosticKind::RootNotDirectory),
            };
        };
        for next in parts {
            directory = match self.child(directory, name) {
                Some(id) if self.nodes[id].content.kind() == NodeKind::Directory => id,
                Some(_) => return Some(DiagnosticKind::ParentNotDirectory),
                None => {
                    let implicit = Meta {
                        mode: IMPLICIT_DIRECTORY_MODE,
                        uid: 0,
                        gid: 0,
                        ..meta
                    };
                    let content = Content::Directory(BTreeMap::new());
                    self.push(directory, name, implicit, content, false)
                }
            };
            name = next;
        }
        let Some(existing) = self.child(directory, name) else {
            self.push(directory, name, meta, content, true);
            return None;
        };
        let node = &mut self.nodes[existing];
        let replaced = node.content.kind();
        let was_explicit = node.explicit;
        node.meta = meta;
        node.explicit = true;
        if matches!(
            (&node.content, &content),
            (Content::Directory(_), Content::Directory(_))
        ) {
            // Re-stating a directory only updates its metadata, as extraction would.
            return None;
        }
        node.content = content;
        // Replacing an implicit parent directory drops what was under it: worth a report too.
        (was_explicit || replaced == NodeKind::Directory)
            .then_some(DiagnosticKind::Duplicate { replaced })
    }

    fn child(&self, directory: usize, name: &str) -> Option<usize> {
        match &self.nodes[directory].content {
            Content::Directory(children) => children.get(name).copied(),
            _ => None,
        }
    }

    fn push(
        &mut self,
        parent: usize,
        name: &str,
        meta: Meta,
        content: Content,
        explicit: bool,
    ) -> usize {
        let id = self.nodes.len();
        self.nodes.push(Node {
            name: name.to_string(),
            parent,
            meta,
            content,
            explicit,
        });
        if let Content::Directory(children) = &mut self.nodes[parent].content {
            children.insert(name.to_string(), id);
        }
        id
    }
}
