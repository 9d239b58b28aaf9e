//! Reading and writing the current process's memory from system calls. Every access goes
//! through the arch layer's fault-safe copy: a bad pointer is `EFAULT`, never a kernel fault.

use alloc::vec::Vec;

use crate::arch::user::{copy_from_user, copy_to_user};

use super::Errno;

/// Longest path accepted (Linux's PATH_MAX).
pub const PATH_MAX: usize = 4096;
/// Most argv/envp entries accepted by exec.
pub const MAX_ARGUMENTS: usize = 0x20000;

pub fn read_bytes(address: u64, length: usize) -> Result<Vec<u8>, Errno> {
    let mut buffer = alloc::vec![0u8; length];
    copy_from_user(&mut buffer, address).map_err(|_| Errno::EFAULT)?;
    Ok(buffer)
}

pub fn read_into(address: u64, buffer: &mut [u8]) -> Result<(), Errno> {
    copy_from_user(buffer, address).map_err(|_| Errno::EFAULT)
}

pub fn write_bytes(address: u64, data: &[u8]) -> Result<(), Errno> {
    copy_to_user(address, data).map_err(|_| Errno::EFAULT)
}

pub fn read_u64(address: u64) -> Result<u64, Errno> {
    let mut bytes = [0u8; 8];
    read_into(address, &mut bytes)?;
    Ok(u64::from_le_bytes(bytes))
}

pub fn read_u32(address: u64) -> Result<u32, Errno> {
    let mut bytes = [0u8; 4];
    read_into(address, &mut bytes)?;
    Ok(u32::from_le_bytes(bytes))
}

pub fn write_u64(address: u64, value: u64) -> Result<(), Errno> {
    write_bytes(address, &value.to_le_bytes())
}

pub fn write_u32(address: u64, value: u32) -> Result<(), Errno> {
    write_bytes(address, &value.to_le_bytes())
}

pub fn write_i32(address: u64, value: i32) -> Result<(), Errno> {
    write_bytes(address, &value.to_le_bytes())
}

/// A NUL-terminated string of at most `limit` bytes (without the NUL).
pub fn read_c_string(address: u64, limit: usize) -> Result<Vec<u8>, Errno> {
    let mut out = Vec::new();
    let mut cursor = address;
    loop {
        // Up to the end of the page, so a string ending just before an unmapped page reads.
        let chunk = (4096 - (cursor % 4096)) as usize;
        let mut buffer = [0u8; 4096];
        read_into(cursor, &mut buffer[..chunk])?;
        if let Some(end) = buffer[..chunk].iter().position(|&b| b == 0) {
            out.extend_from_slice(&buffer[..end]);
            if out.len() > limit {
                return Err(Errno::ENAMETOOLONG);
            }
            return Ok(out);
        }
        out.extend_from_slice(&buffer[..chunk]);
        if out.len() > limit {
            return Err(Errno::ENAMETOOLONG);
        }
        cursor += chunk as u64;
    }
}

/// A path argument as text.
pub fn read_path(address: u64) -> Result<alloc::string::String, Errno> {
    if address == 0 {
        return Err(Errno::EFAULT);
    }
    let bytes = read_c_string(address, PATH_MAX - 1)?;
    alloc::string::String::from_utf8(bytes).map_err(|_| Errno::EINVAL)
}

/// A NULL-terminated array of string pointers (argv, envp); a NULL array is empty.
pub fn read_string_array(address: u64, total_limit: usize) -> Result<Vec<Vec<u8>>, Errno> {
    let mut out = Vec::new();
    if address == 0 {
        return Ok(out);
    }
    let mut total = 0usize;
    for index in 0..MAX_ARGUMENTS {
        let pointer = read_u64(address + 8 * index as u64)?;
        if pointer == 0 {
            return Ok(out);
        }
        let string = read_c_string(pointer, total_limit).map_err(|e| {
            if e == Errno::ENAMETOOLONG {
                Errno::E2BIG
            } else {
                e
            }
        })?;
        total += string.len() + 1 + 8;
        if total > total_limit {
            return Err(Errno::E2BIG);
        }
        out.push(string);
    }
    Err(Errno::E2BIG)
}

/// Checks, before any side effect, that `[address, address + length)` is user memory the
/// process may read (or write): every byte lies in an area with that right. Linux fails such
/// calls with EFAULT before consuming input, and so do we.
pub fn check_range(address: u64, length: u64, write: bool) -> Result<(), Errno> {
    if length == 0 {
        return Ok(());
    }
    let end = address
        .checked_add(length)
        .filter(|&e| e <= crate::arch::user::USER_END)
        .ok_or(Errno::EFAULT)?;
    let process = super::current().ok_or(Errno::EFAULT)?;
    let memory = process.memory();
    let memory = memory.lock();
    let mut cursor = address;
    while cursor < end {
        let (_, area) = memory.area_at(cursor).ok_or(Errno::EFAULT)?;
        let allowed = if write {
            area.protection.write
        } else {
            area.protection.read || area.protection.write || area.protection.execute
        };
        if !allowed {
            return Err(Errno::EFAULT);
        }
        cursor = area.end;
    }
    Ok(())
}
