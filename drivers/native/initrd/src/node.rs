//! Nodes of the read-only ramfs: the stored tree and borrowed views (`NodeRef`) into it.
//!
//! A node is a regular file (a byte range of the backing buffer, or for a sparse file its stored
//! data and region list), a directory (children sorted by name) or a symlink (its target text).
//! Views never copy data and never recurse, so walking a deep tree cannot overflow a kernel
//! stack.

use alloc::collections::btree_map;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::ops::Range;

use crate::error::FsError;
use crate::sparse::SparseFile;

/// Index of the root directory in the node table.
pub(crate) const ROOT: usize = 0;

/// A stable handle to a node, for keeping in open-file tables; see [`crate::Initrd::node`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub(crate) usize);

/// The type of a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// A regular file (hard links become regular files sharing their target's data).
    File,
    /// A directory.
    Directory,
    /// A symbolic link.
    Symlink,
}

impl fmt::Display for NodeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::File => "file",
            Self::Directory => "directory",
            Self::Symlink => "symlink",
        })
    }
}

/// Ownership and times, as recorded in the archive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Meta {
    pub(crate) mode: u32,
    pub(crate) uid: u64,
    pub(crate) gid: u64,
    pub(crate) mtime: i64,
}

pub(crate) enum Content {
    File(Range<usize>),
    /// A sparse file: shared, so that hard links to a large map cost nothing.
    Sparse(Arc<SparseFile>),
    Directory(BTreeMap<String, usize>),
    Symlink(String),
}

impl Content {
    pub(crate) fn kind(&self) -> NodeKind {
        match self {
            Self::File(_) | Self::Sparse(_) => NodeKind::File,
            Self::Directory(_) => NodeKind::Directory,
            Self::Symlink(_) => NodeKind::Symlink,
        }
    }
}

pub(crate) struct Node {
    pub(crate) name: String,
    pub(crate) parent: usize,
    pub(crate) meta: Meta,
    pub(crate) content: Content,
    /// False for a parent directory that no archive entry named.
    pub(crate) explicit: bool,
}

/// What `stat` reports about a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat<'i> {
    /// File, directory or symlink.
    pub kind: NodeKind,
    /// Data length for files (the real size for a sparse file), target length for symlinks,
    /// 0 for directories.
    pub size: u64,
    /// Permission bits (`0o7777` at most; the type is in `kind`).
    pub mode: u32,
    /// Owner user id.
    pub uid: u64,
    /// Owner group id.
    pub gid: u64,
    /// Modification time, seconds since the Unix epoch.
    pub mtime: i64,
    /// Target of a symlink.
    pub link_target: Option<&'i str>,
}

/// A borrowed view of one node of an [`crate::Initrd`].
#[derive(Clone, Copy)]
pub struct NodeRef<'i> {
    pub(crate) nodes: &'i [Node],
    pub(crate) bytes: &'i [u8],
    pub(crate) id: usize,
}

impl fmt::Debug for NodeRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeRef")
            .field("id", &self.id)
            .field("name", &self.name())
            .finish()
    }
}

impl<'i> NodeRef<'i> {
    fn node(&self) -> &'i Node {
        &self.nodes[self.id]
    }

    fn with_id(&self, id: usize) -> Self {
        Self { id, ..*self }
    }

    /// The handle of this node.
    pub fn id(&self) -> NodeId {
        NodeId(self.id)
    }

    /// The last path component; empty for the root.
    pub fn name(&self) -> &'i str {
        &self.node().name
    }

    /// The full path below the root, without a leading `/`; empty for the root.
    pub fn path(&self) -> String {
        let mut names = Vec::new();
        let mut id = self.id;
        // Parents always have smaller ids, so this ends; the bound is a second guard.
        for _ in 0..self.nodes.len() {
            if id == ROOT {
                break;
            }
            names.push(self.nodes[id].name.as_str());
            id = self.nodes[id].parent;
        }
        names.reverse();
        names.join("/")
    }

    /// The parent directory (the root is its own parent).
    pub fn parent(&self) -> NodeRef<'i> {
        self.with_id(self.node().parent)
    }

    /// File, directory or symlink.
    pub fn kind(&self) -> NodeKind {
        self.node().content.kind()
    }

    /// Type, size, mode, owner, time and link target.
    pub fn stat(&self) -> Stat<'i> {
        let node = self.node();
        let size = match &node.content {
            Content::File(range) => range.len() as u64,
            Content::Sparse(file) => file.size(),
            Content::Directory(_) => 0,
            Content::Symlink(target) => target.len() as u64,
        };
        Stat {
            kind: node.content.kind(),
            size,
            mode: node.meta.mode,
            uid: node.meta.uid,
            gid: node.meta.gid,
            mtime: node.meta.mtime,
            link_target: self.link_target(),
        }
    }

    /// The whole content of a regular file, borrowed from the backing buffer.
    ///
    /// `None` for directories, symlinks and sparse files: a sparse file's holes are not
    /// stored, so it has no contiguous bytes to lend; [`NodeRef::read`] serves it.
    pub fn data(&self) -> Option<&'i [u8]> {
        match &self.node().content {
            Content::File(range) => self.bytes.get(range.clone()),
            _ => None,
        }
    }

    /// Whether this is a sparse file, readable only through [`NodeRef::read`].
    pub fn is_sparse(&self) -> bool {
        matches!(self.node().content, Content::Sparse(_))
    }

    /// Copies file content from `offset` into `buffer`; returns the count (0 at or past the end).
    /// The holes of a sparse file read as zeros.
    pub fn read(&self, offset: u64, buffer: &mut [u8]) -> Result<usize, FsError> {
        let data = match &self.node().content {
            Content::File(_) => self.data().unwrap_or_default(),
            Content::Sparse(file) => return Ok(file.read(self.bytes, offset, buffer)),
            Content::Directory(_) => return Err(FsError::IsADirectory),
            Content::Symlink(_) => return Err(FsError::IsASymlink),
        };
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(data.len());
        let count = buffer.len().min(data.len() - start);
        buffer[..count].copy_from_slice(&data[start..start + count]);
        Ok(count)
    }

    /// The target of a symlink.
    pub fn link_target(&self) -> Option<&'i str> {
        match &self.node().content {
            Content::Symlink(target) => Some(target),
            _ => None,
        }
    }

    /// The entries of a directory, sorted by name (without `.` and `..`).
    pub fn children(&self) -> Result<ReadDir<'i>, FsError> {
        match &self.node().content {
            Content::Directory(children) => Ok(ReadDir {
                base: *self,
                inner: children.values(),
            }),
            _ => Err(FsError::NotADirectory),
        }
    }

    /// The child called `name` of a directory.
    pub fn child(&self, name: &str) -> Option<NodeRef<'i>> {
        match &self.node().content {
            Content::Directory(children) => children.get(name).map(|&id| self.with_id(id)),
            _ => None,
        }
    }

    /// Every node below (and including) this one, depth first, children in name order.
    pub fn walk(&self) -> Walk<'i> {
        Walk {
            base: *self,
            first: Some(self.id),
            stack: Vec::new(),
        }
    }
}

/// Iterator over a directory's entries; see [`NodeRef::children`].
pub struct ReadDir<'i> {
    base: NodeRef<'i>,
    inner: btree_map::Values<'i, String, usize>,
}

impl<'i> Iterator for ReadDir<'i> {
    type Item = NodeRef<'i>;

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next().map(|&id| self.base.with_id(id))
    }
}

/// Depth-first walk yielding `(depth, node)`, the start node at depth 0; see [`NodeRef::walk`].
pub struct Walk<'i> {
    base: NodeRef<'i>,
    first: Option<usize>,
    /// One iterator per open directory; its length is the depth of the next node.
    stack: Vec<btree_map::Values<'i, String, usize>>,
}

impl<'i> Walk<'i> {
    fn enter(&mut self, id: usize) {
        if let Content::Directory(children) = &self.base.nodes[id].content {
            self.stack.push(children.values());
        }
    }
}

impl<'i> Iterator for Walk<'i> {
    type Item = (usize, NodeRef<'i>);

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(id) = self.first.take() {
            self.enter(id);
            return Some((0, self.base.with_id(id)));
        }
        loop {
            let depth = self.stack.len();
            let next = self.stack.last_mut()?.next();
            match next {
                Some(&id) => {
                    self.enter(id);
                    return Some((depth, self.base.with_id(id)));
                }
                None => {
                    self.stack.pop();
                }
            }
        }
    }
}
