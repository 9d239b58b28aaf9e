//! Native ext2 file system driver (filled by its issue).
#![no_std]
