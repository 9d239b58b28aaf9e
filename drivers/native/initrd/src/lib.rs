//! Initrd archive reader (filled by its issue).
#![no_std]
