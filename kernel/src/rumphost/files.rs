//! What `rumpuser_open` can reach: block devices (`/dev/vda`, ...), initrd files (read-only)
//! and a RAM file store under `/tmp` (for scratch files and rump's etfs images).
//!
//! `rumpuser_bio` on a block device goes straight to the block layer ([`start_bio`]): the rump
//! buffer is the DMA target, split where its pages stop being physically contiguous (rump's
//! heap is contiguous, so normally one request), and the last piece's completion — in the
//! device's interrupt handler — hands the result to rumpuser, which runs `biodone` on its
//! completion thread (docs/contract.md §5.3). Everything else (misaligned edges, requests
//! reaching past the end, other files) takes rumpuser's synchronous path through [`read`] and
//! [`write`], which bounce and report short transfers.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::ffi::CStr;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use rumpuser::host::{Access, FileInfo, FileKind, OpenFlags};
use rumpuser::{BioOperation, BioRequest, Errno};

use crate::block::{BlockError, Buffer, Disk, Operation, Request};
use crate::sync::spin::IrqSpinLock;

/// Directory of the RAM store; always present.
pub const RAM_ROOT: &str = "/tmp";

enum Backing {
    Disk(Arc<Disk>),
    /// A regular initrd file (maybe sparse: read through the node, never as archive bytes).
    Initrd(initrd::NodeRef<'static>),
    Ram(Arc<IrqSpinLock<Vec<u8>>>),
    Directory,
}

struct OpenFile {
    backing: Backing,
    access: Access,
    position: AtomicU64,
}

static RAM_FILES: IrqSpinLock<BTreeMap<String, Arc<IrqSpinLock<Vec<u8>>>>> =
    IrqSpinLock::new("rump-ramfs", BTreeMap::new());
static RAM_DIRECTORIES: IrqSpinLock<Vec<String>> = IrqSpinLock::new("rump-ramfs-dirs", Vec::new());
static TABLE: IrqSpinLock<Vec<Option<Arc<OpenFile>>>> = IrqSpinLock::new("rump-fds", Vec::new());

fn is_ram_directory(path: &str) -> bool {
    path == RAM_ROOT || RAM_DIRECTORIES.lock().iter().any(|d| d == path)
}

/// Creates a directory in the RAM store (its parent must exist there).
#[cfg_attr(
    rump_components,
    expect(dead_code, reason = "only the contract suite makes scratch trees")
)]
pub fn make_ram_directory(path: &str) -> Result<(), Errno> {
    let (parent, _) = path.rsplit_once('/').ok_or(Errno::EINVAL)?;
    if !is_ram_directory(parent) {
        return Err(Errno::ENOENT);
    }
    let mut directories = RAM_DIRECTORIES.lock();
    if !directories.iter().any(|d| d == path) {
        directories.push(path.to_string());
    }
    Ok(())
}

/// Removes everything below `path` from the RAM store.
#[cfg_attr(
    rump_components,
    expect(dead_code, reason = "only the contract suite makes scratch trees")
)]
pub fn remove_ram_tree(path: &str) {
    let prefix = alloc::format!("{path}/");
    RAM_FILES
        .lock()
        .retain(|name, _| !name.starts_with(&prefix));
    RAM_DIRECTORIES
        .lock()
        .retain(|name| !name.starts_with(&prefix));
}

fn name_of(name: &CStr) -> Result<&str, Errno> {
    let name = name.to_str().map_err(|_| Errno::ENOENT)?;
    if name.is_empty() {
        return Err(Errno::ENOENT);
    }
    Ok(name.trim_end_matches('/').trim_end_matches("/.").max("/"))
}

fn lookup(name: &str) -> Option<(Backing, FileKind, u64)> {
    if let Some(device) = name.strip_prefix("/dev/") {
        return crate::block::find(device).map(|disk| {
            let size = disk.size_bytes();
            (Backing::Disk(disk), FileKind::Block, size)
        });
    }
    if let Some(file) = RAM_FILES.lock().get(name) {
        let size = file.lock().len() as u64;
        return Some((Backing::Ram(file.clone()), FileKind::Regular, size));
    }
    if is_ram_directory(name) {
        return Some((Backing::Directory, FileKind::Directory, 0));
    }
    let root = crate::rootfs::root()?;
    let stat = root.stat(name).ok()?;
    match stat.kind {
        initrd::NodeKind::Directory => Some((Backing::Directory, FileKind::Directory, 0)),
        initrd::NodeKind::File => root
            .resolve(name)
            .ok()
            .map(|node| (Backing::Initrd(node), FileKind::Regular, stat.size)),
        initrd::NodeKind::Symlink => None,
    }
}

pub fn info(name: &CStr) -> Result<FileInfo, Errno> {
    let name = name_of(name)?;
    let (_, kind, size) = lookup(name).ok_or(Errno::ENOENT)?;
    Ok(FileInfo { size, kind })
}

pub fn open(name: &CStr, flags: OpenFlags) -> Result<i32, Errno> {
    let name = name_of(name)?;
    let backing = match lookup(name) {
        Some(_) if flags.create && flags.exclusive => return Err(Errno::EEXIST),
        Some((backing, _, _)) => backing,
        None if flags.create => {
            let (parent, leaf) = name.rsplit_once('/').ok_or(Errno::ENOENT)?;
            if leaf.is_empty() || !is_ram_directory(parent) {
                return Err(
                    if crate::rootfs::root()
                        .and_then(|r| r.stat(parent).ok())
                        .is_some()
                    {
                        Errno::EROFS
                    } else {
                        Errno::ENOENT
                    },
                );
            }
            let file = Arc::new(IrqSpinLock::new("rump-ramfile", Vec::new()));
            RAM_FILES.lock().insert(name.to_string(), file.clone());
            Backing::Ram(file)
        }
        None => return Err(Errno::ENOENT),
    };
    let writes = flags.access != Access::ReadOnly;
    match &backing {
        Backing::Initrd(_) if writes => return Err(Errno::EROFS),
        Backing::Directory if writes => return Err(Errno::EISDIR),
        Backing::Disk(disk) if writes && disk.read_only() => return Err(Errno::EROFS),
        _ => {}
    }
    let file = Arc::new(OpenFile {
        backing,
        access: flags.access,
        position: AtomicU64::new(0),
    });
    let mut table = TABLE.lock();
    let fd = match table.iter().position(Option::is_none) {
        Some(free) => {
            table[free] = Some(file);
            free
        }
        None => {
            table.push(Some(file));
            table.len() - 1
        }
    };
    Ok(fd as i32)
}

fn get(fd: i32) -> Result<Arc<OpenFile>, Errno> {
    let table = TABLE.lock();
    usize::try_from(fd)
        .ok()
        .and_then(|i| table.get(i).cloned().flatten())
        .ok_or(Errno::EBADF)
}

pub fn close(fd: i32) -> Result<(), Errno> {
    let mut table = TABLE.lock();
    let slot = usize::try_from(fd)
        .ok()
        .and_then(|i| table.get_mut(i))
        .ok_or(Errno::EBADF)?;
    slot.take().map(|_| ()).ok_or(Errno::EBADF)
}

fn disk_read(disk: &Disk, offset: u64, buffer: &mut [u8]) -> Result<usize, Errno> {
    let size = disk.size_bytes();
    if offset >= size {
        return Ok(0);
    }
    let length = buffer.len().min((size - offset) as usize);
    let sector = disk.sector_size() as u64;
    let first = offset / sector;
    let last = (offset + length as u64).div_ceil(sector);
    let mut bounce = vec![0u8; ((last - first) * sector) as usize];
    disk.read(first, &mut bounce).map_err(|_| Errno::EIO)?;
    let start = (offset - first * sector) as usize;
    buffer[..length].copy_from_slice(&bounce[start..start + length]);
    Ok(length)
}

fn disk_write(disk: &Disk, offset: u64, data: &[u8]) -> Result<usize, Errno> {
    let size = disk.size_bytes();
    if offset >= size {
        return Err(Errno::ENOSPC);
    }
    let length = data.len().min((size - offset) as usize);
    let sector = disk.sector_size() as u64;
    let first = offset / sector;
    let last = (offset + length as u64).div_ceil(sector);
    let mut bounce = vec![0u8; ((last - first) * sector) as usize];
    let start = (offset - first * sector) as usize;
    if start != 0 || !length.is_multiple_of(sector as usize) {
        disk.read(first, &mut bounce).map_err(|_| Errno::EIO)?; // read-modify-write edges
    }
    bounce[start..start + length].copy_from_slice(&data[..length]);
    disk.write(first, &bounce).map_err(|_| Errno::EIO)?;
    Ok(length)
}

pub fn read(fd: i32, buffer: &mut [u8], offset: Option<u64>) -> Result<usize, Errno> {
    let file = get(fd)?;
    if file.access == Access::WriteOnly {
        return Err(Errno::EBADF);
    }
    let at = offset.unwrap_or_else(|| file.position.load(Ordering::Acquire));
    let count = match &file.backing {
        Backing::Disk(disk) => disk_read(disk, at, buffer)?,
        Backing::Initrd(node) => node.read(at, buffer).map_err(|_| Errno::EIO)?,
        Backing::Ram(data) => copy_out(&data.lock(), at, buffer),
        Backing::Directory => return Err(Errno::EISDIR),
    };
    if offset.is_none() {
        file.position.store(at + count as u64, Ordering::Release);
    }
    Ok(count)
}

fn copy_out(data: &[u8], at: u64, buffer: &mut [u8]) -> usize {
    let start = usize::try_from(at).unwrap_or(usize::MAX).min(data.len());
    let count = buffer.len().min(data.len() - start);
    buffer[..count].copy_from_slice(&data[start..start + count]);
    count
}

pub fn write(fd: i32, data: &[u8], offset: Option<u64>) -> Result<usize, Errno> {
    let file = get(fd)?;
    if file.access == Access::ReadOnly {
        return Err(Errno::EBADF);
    }
    let at = offset.unwrap_or_else(|| file.position.load(Ordering::Acquire));
    let count = match &file.backing {
        Backing::Disk(disk) => disk_write(disk, at, data)?,
        Backing::Ram(contents) => {
            let end = at.checked_add(data.len() as u64).ok_or(Errno::EFBIG)?;
            if end > 1 << 32 {
                return Err(Errno::EFBIG);
            }
            let mut contents = contents.lock();
            if (contents.len() as u64) < end {
                contents.resize(end as usize, 0);
            }
            contents[at as usize..end as usize].copy_from_slice(data);
            data.len()
        }
        Backing::Initrd(_) => return Err(Errno::EROFS),
        Backing::Directory => return Err(Errno::EISDIR),
    };
    if offset.is_none() {
        file.position.store(at + count as u64, Ordering::Release);
    }
    Ok(count)
}

pub fn sync(fd: i32) -> Result<(), Errno> {
    match &get(fd)?.backing {
        Backing::Disk(disk) => disk.flush().map_err(|_| Errno::EIO),
        _ => Ok(()),
    }
}

/// Largest block request made for one piece of a rump bio.
const BIO_PIECE_LIMIT: usize = 1 << 20;

/// One rump bio on its way through the block layer, split into pieces.
struct BioInFlight {
    disk: Arc<Disk>,
    request: IrqSpinLock<Option<BioRequest>>,
    remaining: AtomicUsize,
    /// Offset (in the request) of the earliest piece that failed; `usize::MAX` if none.
    failed_at: AtomicUsize,
    /// The cache flush of a `RUMPUSER_BIO_SYNC` write, made ready before the pieces start so
    /// that the interrupt handler only submits it.
    flush: IrqSpinLock<Option<Request>>,
}

/// Pieces of `[address, address + length)` that are physically contiguous, at most
/// [`BIO_PIECE_LIMIT`] bytes each: (offset in the buffer, length). `None` when a page is not
/// mapped.
fn contiguous_pieces(address: u64, length: usize) -> Option<Vec<(usize, usize)>> {
    let physical = |virtual_address: u64| {
        crate::mm::virt_to_phys_linear(virtual_address)
            .or_else(|| crate::mm::paging::translate(virtual_address).map(|t| t.physical))
    };
    let mut pieces: Vec<(usize, usize)> = Vec::with_capacity(1);
    let mut done = 0usize;
    let mut expected = None;
    while done < length {
        let at = address + done as u64;
        let here = physical(at)?;
        let chunk = ((4096 - (at & 0xfff)) as usize).min(length - done);
        match pieces.last_mut() {
            Some((_, piece)) if expected == Some(here) && *piece + chunk <= BIO_PIECE_LIMIT => {
                *piece += chunk
            }
            _ => pieces.push((done, chunk)),
        }
        expected = Some(here + chunk as u64);
        done += chunk;
    }
    Some(pieces)
}

/// `Host::start_bio`: a whole-sector transfer inside a block device starts on the device at
/// once, with the rump buffer as its DMA target; anything else is handed back for rumpuser's
/// synchronous path.
pub fn start_bio(request: BioRequest) -> Result<(), BioRequest> {
    let Ok(file) = get(request.fd()) else {
        return Err(request);
    };
    let Backing::Disk(disk) = &file.backing else {
        return Err(request);
    };
    let (write, sync) = match request.operation() {
        BioOperation::Read => (false, false),
        BioOperation::Write { sync } => (true, sync),
    };
    let allowed = match file.access {
        Access::ReadOnly => !write,
        Access::WriteOnly => write && !disk.read_only(),
        Access::ReadWrite => !write || !disk.read_only(),
    };
    let sector = u64::from(disk.sector_size());
    let (offset, length) = (request.offset(), request.len());
    let inside = offset
        .checked_add(length as u64)
        .is_some_and(|end| end <= disk.size_bytes());
    if !allowed
        || length == 0
        || !inside
        || !offset.is_multiple_of(sector)
        || !(length as u64).is_multiple_of(sector)
    {
        return Err(request);
    }
    let address = request.data() as u64;
    let Some(pieces) = contiguous_pieces(address, length) else {
        return Err(request);
    };
    if pieces
        .iter()
        .any(|&(_, piece)| !(piece as u64).is_multiple_of(sector))
    {
        // A page-run boundary inside a sector: the device cannot split a sector.
        return Err(request);
    }
    let state = Arc::new(BioInFlight {
        disk: Arc::clone(disk),
        request: IrqSpinLock::new("rump-bio", Some(request)),
        remaining: AtomicUsize::new(pieces.len()),
        failed_at: AtomicUsize::new(usize::MAX),
        flush: IrqSpinLock::new("rump-bio-flush", None),
    });
    if sync {
        let flushed = Arc::clone(&state);
        *state.flush.lock() = Some(Request {
            operation: Operation::Flush,
            sector: 0,
            buffer: Buffer::none(),
            done: Box::new(move |result, _| finish_bio(&flushed, result)),
        });
    }
    let operation = if write {
        Operation::Write
    } else {
        Operation::Read
    };
    for (start, piece) in pieces {
        let finished = Arc::clone(&state);
        // SAFETY: the rump kernel lends the buffer until its biodone (contract §5.3); biodone
        // runs only after the last piece's completion (the `remaining` count below), so the
        // device is done with every piece before the rump kernel gets the memory back.
        let buffer = unsafe { Buffer::borrowed((address as *mut u8).add(start), piece) };
        disk.submit(Request {
            operation,
            sector: (offset + start as u64) / sector,
            buffer,
            done: Box::new(move |result, _| piece_done(&finished, start, result)),
        });
    }
    Ok(())
}

/// A piece ended (any context): the last one submits the flush of a sync write or finishes.
fn piece_done(state: &Arc<BioInFlight>, start: usize, result: Result<(), BlockError>) {
    if result.is_err() {
        state.failed_at.fetch_min(start, Ordering::AcqRel);
    }
    if state.remaining.fetch_sub(1, Ordering::AcqRel) != 1 {
        return;
    }
    let flush = state.flush.lock().take();
    match flush {
        Some(flush) if state.failed_at.load(Ordering::Acquire) == usize::MAX => {
            state.disk.submit(flush)
        }
        _ => finish_bio(state, Ok(())),
    }
}

/// Hands the result to rumpuser (any context): the bytes before the first failed piece and
/// EIO, or everything.
fn finish_bio(state: &BioInFlight, flushed: Result<(), BlockError>) {
    let Some(request) = state.request.lock().take() else {
        return;
    };
    let failed_at = state.failed_at.load(Ordering::Acquire);
    let length = request.len();
    if failed_at != usize::MAX {
        request.complete(failed_at, Some(Errno::EIO));
    } else if flushed.is_err() && flushed != Err(BlockError::Unsupported) {
        request.complete(length, Some(Errno::EIO));
    } else {
        request.complete(length, None);
    }
}
