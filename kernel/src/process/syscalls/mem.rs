//! Memory system calls: mmap, munmap, mprotect, brk, mremap, madvise.

use linux_abi::mman as m;

use super::{Call, Errno, SysResult};
use crate::process::files::FileKind;
use crate::process::memory::{AreaKind, Protection};

pub fn mmap(call: &mut Call<'_>) -> SysResult {
    let (hint, length, prot, flags, fd, offset) = (
        call.arg(0),
        call.arg(1),
        call.arg(2),
        call.arg(3) as u32,
        call.int(4),
        call.arg(5),
    );
    if length == 0 || offset % 4096 != 0 {
        return Err(Errno::EINVAL);
    }
    let map_type = flags & m::MAP_TYPE;
    if map_type != m::MAP_PRIVATE && map_type != m::MAP_SHARED && map_type != m::MAP_SHARED_VALIDATE
    {
        return Err(Errno::EINVAL);
    }
    let protection = Protection::from_prot(prot);
    let fixed = flags & (m::MAP_FIXED | m::MAP_FIXED_NOREPLACE) != 0;
    let no_replace = flags & m::MAP_FIXED_NOREPLACE != 0;
    if flags & m::MAP_ANONYMOUS != 0 {
        let kind = if flags & m::MAP_GROWSDOWN != 0 {
            AreaKind::Stack
        } else {
            AreaKind::Anonymous
        };
        let memory = call.process.memory();
        let address = memory
            .lock()
            .map_anonymous(hint, length, protection, fixed, no_replace, kind)?;
        return Ok(address);
    }
    // A file: its bytes are copied in now (private and shared mappings alike; writes to a
    // shared mapping do not reach the file).
    let file = call.process.files.lock().get(fd)?;
    let FileKind::Regular { path, .. } = &file.kind else {
        return Err(Errno::ENODEV);
    };
    if !file.readable() {
        return Err(Errno::EACCES);
    }
    let size = crate::vfs::ops::stat(path)
        .map_err(|e| Errno::from_vfs(&e))?
        .size;
    let wanted = length.min(size.saturating_sub(offset)) as usize;
    let mut data = alloc::vec![0u8; wanted];
    let got = crate::vfs::ops::read_at(path, offset, &mut data).map_err(|e| Errno::from_vfs(&e))?;
    data.truncate(got);
    let memory = call.process.memory();
    let mut memory = memory.lock();
    let address =
        memory.map_anonymous(hint, length, protection, fixed, no_replace, AreaKind::File)?;
    if let Err(error) = memory.write(address, &data) {
        memory.unmap(address, address + length);
        return Err(error);
    }
    Ok(address)
}

pub fn munmap(call: &mut Call<'_>) -> SysResult {
    let (start, length) = (call.arg(0), call.arg(1));
    if start % 4096 != 0 || length == 0 {
        return Err(Errno::EINVAL);
    }
    let end = start
        .checked_add(length.next_multiple_of(4096))
        .filter(|&e| e <= crate::arch::user::USER_END)
        .ok_or(Errno::EINVAL)?;
    call.process.memory().lock().unmap(start, end);
    Ok(0)
}

pub fn mprotect(call: &mut Call<'_>) -> SysResult {
    let protection = Protection::from_prot(call.arg(2));
    call.process
        .memory()
        .lock()
        .protect(call.arg(0), call.arg(1), protection)?;
    Ok(0)
}

pub fn brk(call: &mut Call<'_>) -> SysResult {
    Ok(call.process.memory().lock().set_break(call.arg(0)))
}

pub fn mremap(call: &mut Call<'_>) -> SysResult {
    let flags = call.arg(3) as u32;
    if flags & m::MREMAP_FIXED != 0 {
        return Err(Errno::EINVAL);
    }
    call.process.memory().lock().remap(
        call.arg(0),
        call.arg(1),
        call.arg(2),
        flags & m::MREMAP_MAYMOVE != 0,
    )
}

pub fn madvise(call: &mut Call<'_>) -> SysResult {
    let (start, length, advice) = (call.arg(0), call.arg(1), call.arg(2) as u32);
    if start % 4096 != 0 {
        return Err(Errno::EINVAL);
    }
    if advice == m::MADV_DONTNEED {
        // Anonymous pages read back as zeros afterwards: drop them (the area stays).
        let memory = call.process.memory();
        let mut memory = memory.lock();
        let end = start.saturating_add(length.next_multiple_of(4096));
        memory.discard_pages(start, end);
    }
    Ok(0)
}
