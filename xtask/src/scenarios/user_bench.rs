//! `cargo xtask bench user`: processes on the kernel against the same measurements on Linux,
//! booted one after the other under the same QEMU machine and accelerator in one run.
//!
//! The peer is Debian's own kernel: the package `linux-image-amd64` depends on (fetched with
//! `apt-get download`, unpacked with `dpkg-deb` into `target/linux-peer/`, outside the
//! repository) with an initramfs made here: Debian's static busybox (the same binary both
//! kernels run), the modules the disk and ext2 need, and the measuring program
//! (`tests/user/bench.c`, built with the host's `gcc -static`). The programs time themselves
//! with `clock_gettime`, so the host's load between calls does not enter the figures; boot is
//! timed both by the host (QEMU start to the shell's prompt) and by the guest's clock.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;

/// Size of the file `md5sum` reads.
const FILE_MIB: u64 = 64;
const MEMORY: &str = "1G";
const CPUS: u32 = 2;
/// Boots per kernel for the boot-time figures.
const BOOTS: usize = 3;
/// Modules the Linux peer loads: the PCI transport and block driver of the virtio disks and
/// the file system driver (Debian builds ext2 support into ext4), with what they depend on.
const PEER_MODULES: &[&str] = &["virtio_pci", "virtio_blk", "crc32c_generic", "ext4"];
/// Busybox applets linked in both root file systems.
const APPLETS: &[&str] = &[
    "sh", "mount", "umount", "insmod", "md5sum", "cat", "echo", "poweroff", "true", "sleep",
    "uname", "mkdir",
];

fn io(error: std::io::Error) -> String {
    error.to_string()
}

/// Debian's kernel and the modules the benchmark loads, unpacked in the cache.
struct Peer {
    /// What `uname -r` says (`6.1.0-56-amd64`).
    release: String,
    kernel: PathBuf,
    /// Module files in loading order (dependencies first).
    modules: Vec<PathBuf>,
}

/// The cache of unpacked peer kernels (`target/linux-peer`, or under `CARGO_TARGET_DIR`).
fn peer_cache() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::root().join("target"))
        .join("linux-peer")
}

/// The versioned kernel package the `linux-image-amd64` metapackage depends on.
fn peer_package() -> Result<String, String> {
    let output = Command::new("apt-cache")
        .args(["depends", "linux-image-amd64"])
        .output()
        .map_err(|e| format!("cannot run apt-cache: {e} (a Debian host is needed)"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .filter_map(|line| line.trim().strip_prefix("Depends: "))
        .map(str::trim)
        .find(|name| name.starts_with("linux-image-") && name.ends_with("-amd64"))
        .map(str::to_owned)
        .ok_or_else(|| {
            format!(
                "apt-cache names no linux-image-*-amd64 dependency of linux-image-amd64 \
                 (apt-get update?):\n{text}"
            )
        })
}

/// Finds the peer in the cache, or downloads and unpacks it there.
fn linux_peer() -> Result<Peer, String> {
    let package = peer_package()?;
    let release = package
        .strip_prefix("linux-image-")
        .unwrap_or(&package)
        .to_owned();
    let cache = peer_cache().join(&package);
    let order_file = cache.join("load-order");
    if !order_file.exists() {
        unpack_peer(&package, &release, &cache)?;
    }
    let order = std::fs::read_to_string(&order_file).map_err(io)?;
    Ok(Peer {
        release,
        kernel: cache.join("vmlinuz"),
        modules: order
            .lines()
            .filter(|l| !l.is_empty())
            .map(|name| cache.join("modules").join(format!("{name}.ko")))
            .collect(),
    })
}

/// `apt-get download`, `dpkg-deb -x`, then keeps the kernel and the module closure only.
fn unpack_peer(package: &str, release: &str, cache: &Path) -> Result<(), String> {
    let work = peer_cache().join(format!("{package}.download"));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(io)?;
    println!(
        "fetching {package} with apt-get download (once; cached in {})",
        cache.display()
    );
    let status = Command::new("apt-get")
        .args(["download", "-q", package])
        .current_dir(&work)
        .status()
        .map_err(|e| format!("cannot run apt-get: {e}"))?;
    if !status.success() {
        return Err(format!("apt-get download {package} failed"));
    }
    let deb = std::fs::read_dir(&work)
        .map_err(io)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .ok_or("apt-get download left no .deb")?;
    let tree = work.join("tree");
    let status = Command::new("dpkg-deb")
        .arg("-x")
        .arg(&deb)
        .arg(&tree)
        .status()
        .map_err(|e| format!("cannot run dpkg-deb: {e}"))?;
    if !status.success() {
        return Err(format!("dpkg-deb -x {} failed", deb.display()));
    }
    let modules_root = tree.join("lib/modules").join(release);
    let mut index = BTreeMap::new();
    index_modules(&modules_root, &mut index)?;
    let mut order = Vec::new();
    for wanted in PEER_MODULES {
        module_closure(wanted, &index, &mut order, 0)?;
    }
    let _ = std::fs::remove_dir_all(cache);
    std::fs::create_dir_all(cache.join("modules")).map_err(io)?;
    std::fs::copy(
        tree.join("boot").join(format!("vmlinuz-{release}")),
        cache.join("vmlinuz"),
    )
    .map_err(|e| format!("{package} has no boot/vmlinuz-{release}: {e}"))?;
    for name in &order {
        std::fs::copy(
            &index[name],
            cache.join("modules").join(format!("{name}.ko")),
        )
        .map_err(io)?;
    }
    // Written last: its presence says the cache entry is complete.
    std::fs::write(cache.join("load-order"), order.join("\n") + "\n").map_err(io)?;
    std::fs::remove_dir_all(&work).map_err(io)
}

/// Module names (dashes as underscores, as the kernel spells them) to their files.
fn index_modules(directory: &Path, index: &mut BTreeMap<String, PathBuf>) -> Result<(), String> {
    for entry in std::fs::read_dir(directory)
        .map_err(|e| format!("{}: {e}", directory.display()))?
        .filter_map(Result::ok)
    {
        let path = entry.path();
        if path.is_dir() {
            index_modules(&path, index)?;
        } else if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
            if let Some(stem) = name.strip_suffix(".ko") {
                index.insert(stem.replace('-', "_"), path.clone());
            }
        }
    }
    Ok(())
}

/// Appends `name` after everything it depends on (the `depends=` of its `.modinfo`).
fn module_closure(
    name: &str,
    index: &BTreeMap<String, PathBuf>,
    order: &mut Vec<String>,
    depth: usize,
) -> Result<(), String> {
    let name = name.replace('-', "_");
    if order.contains(&name) {
        return Ok(());
    }
    if depth > 32 {
        return Err(format!("module dependencies loop through {name}"));
    }
    let path = index
        .get(&name)
        .ok_or_else(|| format!("the peer kernel has no module {name}"))?;
    let bytes = std::fs::read(path).map_err(io)?;
    let depends = modinfo_field(&bytes, "depends")
        .ok_or_else(|| format!("{}: no readable .modinfo", path.display()))?;
    for dependency in depends.split(',').filter(|d| !d.is_empty()) {
        module_closure(dependency, index, order, depth + 1)?;
    }
    order.push(name);
    Ok(())
}

/// The value of `key=` in the `.modinfo` section of a module (an ELF64 relocatable file);
/// `Some("")` when the section lacks the key, `None` when the file is not a readable module.
fn modinfo_field(elf: &[u8], key: &str) -> Option<String> {
    let field = |offset: usize, size: usize| -> Option<u64> {
        let bytes = elf.get(offset..offset.checked_add(size)?)?;
        Some(bytes.iter().rev().fold(0, |a, &b| a << 8 | u64::from(b)))
    };
    if elf.get(0..5) != Some(b"\x7fELF\x02") {
        return None;
    }
    let table = usize::try_from(field(0x28, 8)?).ok()?;
    let entry_size = usize::try_from(field(0x3a, 2)?).ok()?;
    let count = usize::try_from(field(0x3c, 2)?).ok()?;
    let names_index = usize::try_from(field(0x3e, 2)?).ok()?;
    let section = |i: usize| -> Option<(usize, usize, usize)> {
        let base = table.checked_add(i.checked_mul(entry_size)?)?;
        Some((
            usize::try_from(field(base, 4)?).ok()?,
            usize::try_from(field(base + 0x18, 8)?).ok()?,
            usize::try_from(field(base + 0x20, 8)?).ok()?,
        ))
    };
    let (_, names_offset, names_size) = section(names_index)?;
    let names = elf.get(names_offset..names_offset.checked_add(names_size)?)?;
    let prefix = format!("{key}=");
    for i in 0..count {
        let (name, offset, size) = section(i)?;
        let name = names.get(name..)?.split(|&b| b == 0).next()?;
        if name != b".modinfo" {
            continue;
        }
        let data = elf.get(offset..offset.checked_add(size)?)?;
        let value = data
            .split(|&b| b == 0)
            .find_map(|item| item.strip_prefix(prefix.as_bytes()))
            .map(|v| String::from_utf8_lossy(v).into_owned());
        return Some(value.unwrap_or_default());
    }
    None
}

/// An initramfs: a "newc" cpio archive, the format Linux unpacks at boot.
struct Cpio {
    bytes: Vec<u8>,
    inode: u32,
}

impl Cpio {
    fn new() -> Self {
        Self {
            bytes: Vec::new(),
            inode: 1,
        }
    }

    fn entry(&mut self, name: &str, mode: u32, device: (u32, u32), data: &[u8]) {
        let fields = [
            self.inode,
            mode,
            0, // uid
            0, // gid
            1, // links
            0, // mtime
            data.len() as u32,
            0,
            0,
            device.0,
            device.1,
            name.len() as u32 + 1,
            0, // checksum (none in "070701")
        ];
        self.inode += 1;
        self.bytes.extend_from_slice(b"070701");
        for value in fields {
            self.bytes
                .extend_from_slice(format!("{value:08x}").as_bytes());
        }
        self.bytes.extend_from_slice(name.as_bytes());
        self.bytes.push(0);
        self.pad();
        self.bytes.extend_from_slice(data);
        self.pad();
    }

    fn pad(&mut self) {
        while !self.bytes.len().is_multiple_of(4) {
            self.bytes.push(0);
        }
    }

    fn directory(&mut self, name: &str) {
        self.entry(name, 0o040755, (0, 0), &[]);
    }

    fn file(&mut self, name: &str, mode: u32, data: &[u8]) {
        self.entry(name, 0o100000 | mode, (0, 0), data);
    }

    fn symlink(&mut self, name: &str, target: &str) {
        self.entry(name, 0o120777, (0, 0), target.as_bytes());
    }

    fn character_device(&mut self, name: &str, major: u32, minor: u32) {
        self.entry(name, 0o020600, (major, minor), &[]);
    }

    fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, (0, 0), &[]);
        self.bytes
    }
}

/// The measuring script both kernels run (as process 1's script on the kernel, from /init on
/// Linux), then power off.
fn script(rump: bool) -> String {
    let mut text = String::from(
        "export PATH=/bin\n\
         echo \"@system $(uname -s -r)\"\n\
         B=/bench/bench\n\
         for i in 1 2 3; do $B getpid 100000; done\n\
         for i in 1 2 3; do $B spawn 40 /bin/busybox true; done\n\
         for i in 1 2 3; do $B pipe 64; done\n\
         if mount -t ext2 /dev/vda /mnt; then\n\
         \x20 $B time md5_cold /bin/busybox md5sum /mnt/big.bin\n\
         \x20 for i in 1 2 3; do $B time md5_warm /bin/busybox md5sum /mnt/big.bin; done\n\
         \x20 umount /mnt\n\
         else echo '@bench-error mount -t ext2 /dev/vda failed'; fi\n",
    );
    if rump {
        text.push_str(
            "if out=$(mount -t rump-ext2fs /dev/vdb /mnt/r 2>&1); then\n\
             \x20 $B time rump_md5_cold /bin/busybox md5sum /mnt/r/big.bin\n\
             \x20 for i in 1 2 3; do $B time rump_md5_warm /bin/busybox md5sum /mnt/r/big.bin; done\n\
             \x20 umount /mnt/r\n\
             else echo \"@skip rump mount -t rump-ext2fs /dev/vdb /mnt/r failed: $out\"; fi\n",
        );
    }
    text.push_str("echo '@@@ end'\npoweroff -f\n");
    text
}

/// Linux's /init: the file systems and modules the script needs, then the script.
fn peer_init(modules: &[String]) -> String {
    let mut text = String::from(
        "#!/bin/sh\n\
         export PATH=/bin\n\
         mount -t proc proc /proc\n\
         mount -t sysfs sysfs /sys\n\
         mount -t devtmpfs devtmpfs /dev\n",
    );
    for module in modules {
        text.push_str(&format!(
            "insmod /lib/modules/{module}.ko || echo '@bench-error insmod {module} failed'\n"
        ));
    }
    text.push_str(
        "i=0\n\
         while [ ! -b /dev/vdb ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done\n\
         exec /bin/sh /bench/run.sh\n",
    );
    text
}

/// What both kernels get: busybox, the measuring program, the disk images' source file.
struct Staging {
    build: PathBuf,
    busybox: Vec<u8>,
    bench: Vec<u8>,
    /// The ext2 image with `big.bin`; each boot gets fresh copies as vda and vdb.
    image: PathBuf,
    /// `md5sum` of `big.bin` on the host.
    digest: String,
}

fn stage() -> Result<Staging, String> {
    if let Some(missing) = user_faults_missing() {
        return Err(missing);
    }
    let build = crate::root().join("build/user-bench");
    let _ = std::fs::remove_dir_all(&build);
    let source = build.join("source");
    std::fs::create_dir_all(&source).map_err(io)?;
    let program = build.join("bench");
    compile_static("tests/user/bench.c", &program, &["-O2".as_ref()], &[])?;
    let bytes: Vec<u8> = (0..FILE_MIB << 20)
        .map(|i: u64| (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as u8)
        .collect();
    let big = source.join("big.bin");
    std::fs::write(&big, &bytes).map_err(io)?;
    let (code, digest) = host_tool("md5sum", &[&big.to_string_lossy()])?;
    let digest = String::from_utf8_lossy(&digest)
        .split_whitespace()
        .next()
        .filter(|_| code == 0)
        .ok_or("md5sum failed on the host")?
        .to_owned();
    let image = build.join("disk.img");
    make_ext2(Some(&source), &image, 4096, &format!("{}M", FILE_MIB + 16))?;
    std::fs::remove_file(&big).map_err(io)?;
    Ok(Staging {
        busybox: std::fs::read("/bin/busybox").map_err(io)?,
        bench: std::fs::read(&program).map_err(io)?,
        build,
        image,
        digest,
    })
}

/// The kernel's initrd: the same files as the peer's, with the script as process 1's argument.
fn our_initrd(staging: &Staging, rump: bool) -> Result<PathBuf, String> {
    use std::os::unix::fs::{symlink, PermissionsExt};
    let root = staging.build.join("root");
    for directory in ["bin", "bench", "dev", "proc", "sys", "mnt/r"] {
        std::fs::create_dir_all(root.join(directory)).map_err(io)?;
    }
    let executable = |path: PathBuf, bytes: &[u8]| -> Result<(), String> {
        std::fs::write(&path, bytes).map_err(io)?;
        std::fs::set_permissions(&path, PermissionsExt::from_mode(0o755)).map_err(io)
    };
    executable(root.join("bin/busybox"), &staging.busybox)?;
    executable(root.join("bench/bench"), &staging.bench)?;
    for applet in APPLETS {
        symlink("busybox", root.join("bin").join(applet)).map_err(io)?;
    }
    std::fs::write(root.join("bench/run.sh"), script(rump)).map_err(io)?;
    make_initrd(&root)
}

/// The peer's initramfs (cpio, uncompressed).
fn peer_initramfs(staging: &Staging, peer: &Peer) -> Result<PathBuf, String> {
    let mut cpio = Cpio::new();
    for directory in ["bin", "bench", "dev", "proc", "sys", "mnt", "mnt/r", "lib"] {
        cpio.directory(directory);
    }
    cpio.directory("lib/modules");
    // The console must exist before devtmpfs is mounted: the kernel opens it for /init.
    cpio.character_device("dev/console", 5, 1);
    cpio.character_device("dev/null", 1, 3);
    cpio.file("bin/busybox", 0o755, &staging.busybox);
    for applet in APPLETS {
        cpio.symlink(&format!("bin/{applet}"), "busybox");
    }
    cpio.file("bench/bench", 0o755, &staging.bench);
    cpio.file("bench/run.sh", 0o644, script(false).as_bytes());
    let mut names = Vec::new();
    for module in &peer.modules {
        let name = module
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or("bad module name")?
            .to_owned();
        let bytes = std::fs::read(module).map_err(|e| format!("{}: {e}", module.display()))?;
        cpio.file(&format!("lib/modules/{name}.ko"), 0o644, &bytes);
        names.push(name);
    }
    cpio.file("init", 0o755, peer_init(&names).as_bytes());
    let path = staging.build.join("peer-initramfs.cpio");
    std::fs::write(&path, cpio.finish()).map_err(io)?;
    Ok(path)
}

/// Fresh copies of the image as the two virtio disks (vda: ext2, vdb: the rump mount's).
fn disks(staging: &Staging, tag: &str) -> Result<Vec<String>, String> {
    let mut extra = Vec::new();
    for (index, name) in ["vda", "vdb"].iter().enumerate() {
        let copy = staging.build.join(format!("{tag}-{name}.img"));
        std::fs::copy(&staging.image, &copy).map_err(io)?;
        extra.extend([
            "-drive".to_string(),
            format!("file={},if=none,id=d{index},format=raw", copy.display()),
            "-device".to_string(),
            format!("virtio-blk-pci,drive=d{index}"),
        ]);
    }
    Ok(extra)
}

/// What one measuring boot printed.
#[derive(Default)]
struct Figures {
    system: String,
    /// name -> (unit, values in order).
    values: BTreeMap<String, (String, Vec<f64>)>,
    skipped: Vec<String>,
}

impl Figures {
    fn parse(output: &str, digest: &str) -> Result<Self, String> {
        let mut figures = Figures::default();
        let mut errors = Vec::new();
        let mut digests = 0;
        for line in output.lines() {
            let line = line.trim_end();
            if let Some(system) = line.strip_prefix("@system ") {
                figures.system = system.to_owned();
            } else if let Some(rest) = line.strip_prefix("@bench ") {
                let words: Vec<&str> = rest.split_whitespace().collect();
                match words[..] {
                    [name, unit, value] => {
                        let value: f64 = value
                            .parse()
                            .map_err(|_| format!("bad figure line '{line}'"))?;
                        let entry = figures
                            .values
                            .entry(name.to_owned())
                            .or_insert_with(|| (unit.to_owned(), Vec::new()));
                        entry.1.push(value);
                    }
                    _ => errors.push(line.to_owned()),
                }
            } else if line.starts_with("@bench-error") {
                errors.push(line.to_owned());
            } else if let Some(why) = line.strip_prefix("@skip ") {
                figures.skipped.push(why.to_owned());
            } else if line.ends_with("big.bin") {
                if line.split_whitespace().next() == Some(digest) {
                    digests += 1;
                } else {
                    errors.push(format!("wrong digest: '{line}', want {digest}"));
                }
            }
        }
        if !output.contains("@@@ end") {
            errors.push("the script did not reach its end".into());
        }
        let md5_runs = figures
            .values
            .iter()
            .filter(|(name, _)| name.contains("md5"))
            .map(|(_, (_, values))| values.len())
            .sum::<usize>();
        if md5_runs != digests {
            errors.push(format!(
                "{md5_runs} md5sum runs but {digests} right digests"
            ));
        }
        if errors.is_empty() {
            Ok(figures)
        } else {
            Err(errors.join("\n"))
        }
    }

    /// The median of a figure's values.
    fn median(&self, name: &str) -> Option<f64> {
        let (_, values) = self.values.get(name)?;
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        sorted.get(sorted.len() / 2).copied()
    }
}

/// One measuring boot of a kernel.
fn measure(boot: &Boot, extra: &[String], digest: &str, who: &str) -> Result<Figures, String> {
    let (code, output) = qemu::run_to_exit_with(boot, extra)?;
    Figures::parse(&output, digest).map_err(|why| {
        format!("{who}'s measuring boot (QEMU exit {code}) went wrong:\n{why}\n--- serial output:\n{output}")
    })
}

/// Host time from QEMU's start to the shell's first prompt, and the guest's clock then.
fn boot_times(boot: &Boot, extra: &[String]) -> Result<(Vec<f64>, Vec<f64>), String> {
    let mut host = Vec::new();
    let mut guest = Vec::new();
    for _ in 0..BOOTS {
        let start = Instant::now();
        let mut session = Session::start_with(boot, extra)?;
        let prompt = session.wait_for("# ", 0)?;
        host.push(start.elapsed().as_secs_f64() * 1e3);
        session.send("/bench/bench clock")?;
        let end = session.wait_for("@bench clock s ", prompt)?;
        let line_end = session.wait_for("\n", end)?;
        let output = session.output();
        let value = output[end..line_end].trim();
        guest.push(
            value
                .parse::<f64>()
                .map_err(|_| format!("bad clock line '{value}'"))?,
        );
        session.send("poweroff -f")?;
        session.wait_exit()?;
    }
    Ok((host, guest))
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
}

/// `cargo xtask bench user` under `accel`.
pub(super) fn user_bench(kernel: &Path, accel: Accel) -> Result<(), String> {
    let staging = stage()?;
    let components = std::env::var_os("RUMP_COMPONENTS");
    let rump = components.is_some();
    let ours_initrd = our_initrd(&staging, rump)?;
    let peer = linux_peer();
    let timeout = Duration::from_secs(if accel == Accel::Kvm { 300 } else { 1200 });

    let mut ours_boot = boot(
        kernel,
        accel,
        MEMORY,
        CPUS,
        "log=warn init=/bin/sh -- /bench/run.sh",
    );
    ours_boot.initrd = Some(ours_initrd.clone());
    ours_boot.timeout = timeout;
    let ours = measure(
        &ours_boot,
        &disks(&staging, "ours")?,
        &staging.digest,
        "the kernel",
    )?;
    let mut ours_prompt = ours_boot.clone();
    ours_prompt.append = "log=warn init=/bin/sh".into();
    let ours_boots = boot_times(&ours_prompt, &disks(&staging, "ours")?)?;

    let linux = match &peer {
        Ok(peer) => {
            let initramfs = peer_initramfs(&staging, peer)?;
            let mut peer_boot = boot(&peer.kernel, accel, MEMORY, CPUS, "console=ttyS0 quiet");
            peer_boot.initrd = Some(initramfs);
            peer_boot.timeout = timeout;
            let figures = measure(
                &peer_boot,
                &disks(&staging, "linux")?,
                &staging.digest,
                "Linux",
            )?;
            if !figures.system.contains(&peer.release) {
                return Err(format!(
                    "the peer says it is '{}', not {}",
                    figures.system, peer.release
                ));
            }
            let mut prompt = peer_boot.clone();
            prompt.append = "console=ttyS0 quiet rdinit=/bin/sh".into();
            let boots = boot_times(&prompt, &disks(&staging, "linux")?)?;
            Some((figures, boots))
        }
        Err(why) => {
            println!("Linux peer: skipped: {why}");
            None
        }
    };

    let peer_name = linux
        .as_ref()
        .map_or_else(|| "Linux (skipped)".to_string(), |(f, _)| f.system.clone());
    println!(
        "user space under {}, {CPUS} CPUs, {MEMORY}: this kernel against {peer_name}, the same \
         busybox; medians of 3 (a cold read is one run), ratio = ours / Linux",
        accel.name()
    );
    let rows: [(&str, &str, bool); 7] = [
        ("getpid", "getpid round trip", false),
        ("spawn", "fork + exec + wait of busybox true", false),
        ("pipe", "pipe throughput between two processes", true),
        ("md5_cold", "md5sum of a 64 MiB file on ext2, cold", false),
        ("md5_warm", "md5sum of the same file again", false),
        (
            "rump_md5_cold",
            "md5sum of a 64 MiB file on ext2 through rump (Linux: its ext2), cold",
            false,
        ),
        (
            "rump_md5_warm",
            "md5sum of the same file through rump again",
            false,
        ),
    ];
    for (name, what, higher_is_better) in rows {
        let ours_value = ours.median(name);
        let linux_name = name.strip_prefix("rump_").unwrap_or(name);
        let linux_value = linux.as_ref().and_then(|(f, _)| f.median(linux_name));
        let unit = ours
            .values
            .get(name)
            .or_else(|| linux.as_ref().and_then(|(f, _)| f.values.get(linux_name)))
            .map_or("", |(unit, _)| unit.as_str());
        let ours_text = match ours_value {
            Some(v) => format!("{v:.1} {unit}"),
            // One line says why the rump rows are missing.
            None if name.starts_with("rump") && name.ends_with("_warm") => continue,
            None if name.starts_with("rump") && !rump => {
                println!("{what}: SKIPPED: RUMP_COMPONENTS is not set");
                continue;
            }
            None if name.starts_with("rump") => {
                let why = ours
                    .skipped
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "no figure".into());
                println!("{what}: SKIPPED: {why}");
                continue;
            }
            None => "missing".into(),
        };
        let linux_text = linux_value.map_or("-".to_string(), |v| format!("{v:.1} {unit}"));
        let ratio = match (ours_value, linux_value) {
            (Some(a), Some(b)) if b > 0.0 => format!(
                "{:.2} ({})",
                a / b,
                if higher_is_better {
                    "higher is faster"
                } else {
                    "lower is faster"
                }
            ),
            _ => "-".into(),
        };
        println!("{what}: ours {ours_text}, Linux {linux_text}, ratio {ratio}");
    }
    let (ours_host, ours_guest) = ours_boots;
    match &linux {
        Some((_, (linux_host, linux_guest))) => {
            println!(
                "boot to the first shell prompt, host clock (QEMU start to prompt): ours {:.0} ms, Linux {:.0} ms, ratio {:.3}",
                median(&ours_host),
                median(linux_host),
                median(&ours_host) / median(linux_host)
            );
            println!(
                "boot to the first shell prompt, guest clock at the prompt: ours {:.3} s, Linux {:.3} s, ratio {:.3}",
                median(&ours_guest),
                median(linux_guest),
                median(&ours_guest) / median(linux_guest)
            );
        }
        None => println!(
            "boot to the first shell prompt: ours {:.0} ms host clock, {:.3} s guest clock",
            median(&ours_host),
            median(&ours_guest)
        ),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ELF64 relocatable file with `.shstrtab` and `.modinfo` sections.
    fn module(modinfo: &[u8]) -> Vec<u8> {
        let names = b"\0.shstrtab\0.modinfo\0";
        let mut elf = vec![0u8; 64];
        elf[0..5].copy_from_slice(b"\x7fELF\x02");
        let names_at = elf.len();
        elf.extend_from_slice(names);
        let modinfo_at = elf.len();
        elf.extend_from_slice(modinfo);
        while !elf.len().is_multiple_of(8) {
            elf.push(0);
        }
        let table = elf.len();
        let mut section = |name: u32, offset: usize, size: usize| {
            let mut header = [0u8; 64];
            header[0..4].copy_from_slice(&name.to_le_bytes());
            header[0x18..0x20].copy_from_slice(&(offset as u64).to_le_bytes());
            header[0x20..0x28].copy_from_slice(&(size as u64).to_le_bytes());
            elf.extend_from_slice(&header);
        };
        section(0, 0, 0);
        section(1, names_at, names.len());
        section(11, modinfo_at, modinfo.len());
        elf[0x28..0x30].copy_from_slice(&(table as u64).to_le_bytes());
        elf[0x3a..0x3c].copy_from_slice(&64u16.to_le_bytes());
        elf[0x3c..0x3e].copy_from_slice(&3u16.to_le_bytes());
        elf[0x3e..0x40].copy_from_slice(&1u16.to_le_bytes());
        elf
    }

    #[test]
    fn modinfo_gives_the_dependencies() {
        let elf = module(b"license=GPL\0depends=mbcache,crc16,jbd2\0name=ext4\0");
        assert_eq!(
            modinfo_field(&elf, "depends").as_deref(),
            Some("mbcache,crc16,jbd2")
        );
        assert_eq!(modinfo_field(&elf, "name").as_deref(), Some("ext4"));
        let none = module(b"license=GPL\0depends=\0");
        assert_eq!(modinfo_field(&none, "depends").as_deref(), Some(""));
        assert_eq!(modinfo_field(&none, "vermagic").as_deref(), Some(""));
    }

    #[test]
    fn modinfo_of_damaged_files_is_none_not_a_panic() {
        let elf = module(b"depends=virtio,virtio_ring\0");
        for length in 0..elf.len() {
            let _ = modinfo_field(&elf[..length], "depends");
        }
        let mut state = 0x1234_5678_9abc_def1u64;
        for round in 0..2000 {
            let mut damaged = elf.clone();
            for _ in 0..(round % 8 + 1) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let at = (state % damaged.len() as u64) as usize;
                damaged[at] = (state >> 40) as u8;
            }
            let _ = modinfo_field(&damaged, "depends");
        }
        assert_eq!(modinfo_field(b"not an ELF file", "depends"), None);
    }

    #[test]
    fn busybox_cpio_lists_the_initramfs() {
        let mut cpio = Cpio::new();
        cpio.directory("bin");
        cpio.file("bin/busybox", 0o755, b"#!/bin/true\n");
        cpio.symlink("bin/sh", "busybox");
        cpio.character_device("console", 5, 1);
        cpio.file("init", 0o755, b"odd length");
        let archive = cpio.finish();
        assert!(archive.len().is_multiple_of(4));
        assert!(archive.starts_with(b"070701"));
        let path = std::env::temp_dir().join(format!("xtask-cpio-{}.cpio", std::process::id()));
        std::fs::write(&path, &archive).unwrap();
        let listing = Command::new("/bin/busybox")
            .args(["cpio", "-t", "-v", "-F"])
            .arg(&path)
            .output()
            .expect("busybox (scripts/setup installs busybox-static)");
        let _ = std::fs::remove_file(&path);
        let text = String::from_utf8_lossy(&listing.stdout);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert!(
            lines[0].starts_with('d') && lines[0].ends_with(" bin"),
            "{text}"
        );
        assert!(
            lines[1].starts_with("-rwxr-xr-x") && lines[1].contains(" 12 "),
            "{text}"
        );
        assert!(
            lines[2].starts_with('l') && lines[2].ends_with("bin/sh -> busybox"),
            "{text}"
        );
        assert!(
            lines[3].starts_with('c') && lines[3].ends_with(" console"),
            "{text}"
        );
        assert!(
            lines[4].ends_with(" init") && lines[4].contains(" 10 "),
            "{text}"
        );
    }

    #[test]
    fn figures_need_the_end_and_right_digests() {
        let digest = "0123456789abcdef0123456789abcdef";
        let good = format!(
            "@system Linux 6.1.0\n@bench getpid ns 3.0\n@bench getpid ns 1.0\n\
             @bench getpid ns 2.0\n{digest}  /mnt/big.bin\n@bench md5_cold ms 900.5\n\
             @skip rump why\n@@@ end\n"
        );
        let figures = Figures::parse(&good, digest).unwrap();
        assert_eq!(figures.system, "Linux 6.1.0");
        assert_eq!(figures.median("getpid"), Some(2.0));
        assert_eq!(figures.median("md5_cold"), Some(900.5));
        assert_eq!(figures.skipped, ["rump why"]);
        let wrong = good.replace(digest, "ffffffffffffffffffffffffffffffff");
        assert!(Figures::parse(&wrong, digest).is_err());
        assert!(Figures::parse(&good.replace("@@@ end", ""), digest).is_err());
        let error = format!("{good}@bench-error pipe: short\n");
        assert!(Figures::parse(&error, digest).is_err());
    }
}
