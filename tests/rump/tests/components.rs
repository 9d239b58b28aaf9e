//! Real rump components over the hosted backend: boot, etfs, mount ext2, list, read.
//!
//! Runs only when the build found the ext2 archive set in `RUMP_COMPONENTS` (see build.rs
//! and COMPONENTS.md); otherwise it prints `SKIPPED: ...` and passes. docs/contract.md §10 gives
//! the public rump API used here and the exact linker symbols of the system calls.

#[cfg(not(rump_components))]
#[test]
fn ext2_image_through_rump() {
    match std::env::var("RUMP_COMPONENTS") {
        Err(_) => println!("SKIPPED: RUMP_COMPONENTS not set (point it at a directory with librump.a, librumpvfs.a, librumpfs_ext2fs.a, librumpfs_ffs.a, librumpdev.a, librumpdev_disk.a)"),
        Ok(dir) => println!("SKIPPED: RUMP_COMPONENTS={dir} lacks part of the ext2 archive set (see the build warning)"),
    }
}

#[cfg(rump_components)]
mod with_components {
    use core::ffi::{c_char, c_int, c_void, CStr};
    use std::path::Path;
    use std::process::Command;

    // Links the component archives (they are native libraries of the rump-tests crate).
    use rump_tests as _;
    use rumpuser::hosted::HostedHost;

    use rump_api::*;

    fn check(what: &str, rv: isize) -> isize {
        assert!(
            rv >= 0,
            "{what} failed: rump errno {}",
            HostedHost::last_errno()
        );
        rv
    }

    /// Reads a whole rump file.
    fn read_file(path: &CStr) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        // SAFETY: valid C strings and buffers; the calling thread is in state N (contract §10).
        unsafe {
            let fd = check(
                "open",
                rump___sysimpl_open(path.as_ptr(), O_RDONLY, 0) as isize,
            ) as c_int;
            loop {
                let n = check(
                    "read",
                    rump___sysimpl_read(fd, buf.as_mut_ptr().cast(), buf.len()),
                );
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&buf[..n as usize]);
            }
            rump___sysimpl_close(fd);
        }
        out
    }

    /// Names in a rump directory (NetBSD dirent: reclen at 8, namlen at 10, name at 13).
    fn list(path: &CStr) -> Vec<String> {
        let mut names = Vec::new();
        let mut buf = vec![0u8; 8192];
        // SAFETY: valid C strings and buffers; state N.
        unsafe {
            let fd = check(
                "open dir",
                rump___sysimpl_open(path.as_ptr(), O_RDONLY | O_DIRECTORY, 0) as isize,
            ) as c_int;
            loop {
                let n = check(
                    "getdents",
                    rump___sysimpl_getdents30(fd, buf.as_mut_ptr().cast(), buf.len()) as isize,
                ) as usize;
                if n == 0 {
                    break;
                }
                let mut at = 0;
                while at < n {
                    let reclen = u16::from_ne_bytes([buf[at + 8], buf[at + 9]]) as usize;
                    let namlen = u16::from_ne_bytes([buf[at + 10], buf[at + 11]]) as usize;
                    names.push(
                        String::from_utf8_lossy(&buf[at + 13..at + 13 + namlen]).into_owned(),
                    );
                    at += reclen;
                }
            }
            rump___sysimpl_close(fd);
        }
        names
    }

    #[test]
    fn ext2_image_through_rump() {
        let work = std::env::temp_dir().join(format!("rump-components-{}", std::process::id()));
        let tree = work.join("tree");
        std::fs::create_dir_all(tree.join("sub")).unwrap();
        let hello = b"hello from an ext2 image, read through NetBSD's ext2fs\n".to_vec();
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
        std::fs::write(tree.join("hello.txt"), &hello).unwrap();
        std::fs::write(tree.join("sub/data.bin"), &data).unwrap();
        let image = work.join("ext2.img");
        let made = Command::new("mke2fs")
            .args(["-q", "-F", "-t", "ext2", "-d"])
            .arg(&tree)
            .arg(&image)
            .arg("8M")
            .status();
        if !made.map(|s| s.success()).unwrap_or(false) {
            println!("SKIPPED: mke2fs (e2fsprogs) is not available");
            return;
        }
        let image_c = std::ffi::CString::new(image.to_str().unwrap()).unwrap();
        let pristine = std::fs::read(&image).unwrap();

        let _ = rumpuser::install(HostedHost::global());
        // SAFETY: rump_init is called once, from this thread in state N (contract §10.1); every
        // other call passes valid C strings and buffers.
        unsafe {
            assert_eq!(rump_init(), 0, "rump_init");
            assert_eq!(
                rump_pub_etfs_register(c"/dev/hostdisk".as_ptr(), image_c.as_ptr(), RUMP_ETFS_BLK),
                0
            );
            check(
                "mkdir",
                rump___sysimpl_mkdir(c"/mnt".as_ptr(), 0o755) as isize,
            );
            let mut args = UfsArgs {
                fspec: c"/dev/hostdisk".as_ptr(),
            };
            let rv = rump___sysimpl_mount50(
                c"ext2fs".as_ptr(),
                c"/mnt".as_ptr(),
                MNT_RDONLY,
                (&mut args as *mut UfsArgs).cast(),
                core::mem::size_of::<UfsArgs>(),
            );
            check("mount", rv as isize);
        }
        let mut names = list(c"/mnt");
        names.sort();
        println!("/mnt: {names:?}");
        for expected in ["hello.txt", "lost+found", "sub"] {
            assert!(
                names.iter().any(|n| n == expected),
                "{expected} missing from {names:?}"
            );
        }
        assert_eq!(read_file(c"/mnt/hello.txt"), hello);
        assert_eq!(read_file(c"/mnt/sub/data.bin"), data);
        // SAFETY: as above.
        unsafe {
            check(
                "unmount",
                rump___sysimpl_unmount(c"/mnt".as_ptr(), 0) as isize,
            )
        };
        assert!(
            std::fs::read(&image).unwrap() == pristine,
            "a read-only mount and unmount changed the image"
        );
        println!(
            "ext2 through rump: listed {} entries, {} + {} bytes match",
            names.len(),
            hello.len(),
            data.len()
        );
        let _ = std::fs::remove_dir_all(Path::new(&work));
    }
}
