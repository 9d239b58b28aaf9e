//! Synthetic component archives, compiled from small C snippets at test time with `gcc -c` and
//! `ar rcs`: the checker's classification, link order, missing-symbol messages and refusals.
//!
//! No real component archive is used or needed. Without gcc/ar the tests print SKIPPED.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use rump_build::{
    check_dir, emit_cargo_link_args, refuse_other_architectures, CodeModel, Error, LinkUnit,
    Machine, Refusal, Report, Scanned, SymbolClass, Warning,
};

/// Flags for a component built the way the kernel wants it.
const CLEAN: &[&str] = &[
    "-O2",
    "-ffreestanding",
    "-fno-pic",
    "-mcmodel=kernel",
    "-mno-red-zone",
    "-mgeneral-regs-only",
    "-fno-stack-protector",
];

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A scratch directory of archives, removed on drop.
struct Components {
    dir: PathBuf,
}

impl Components {
    fn new(name: &str) -> Option<Components> {
        let have = |tool: &str| Command::new(tool).arg("--version").output().is_ok();
        if !have("gcc") || !have("ar") {
            println!("SKIPPED: gcc or ar not installed");
            return None;
        }
        let dir = std::env::temp_dir().join(format!(
            "rump-build-{}-{name}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("src")).expect("create scratch directory");
        Some(Components { dir })
    }

    /// Compiles one C source per object with `flags` and archives them as `lib{name}.a`.
    fn archive(&self, name: &str, flags: &[&str], sources: &[&str]) -> &Self {
        self.archive_with("gcc", name, flags, sources)
    }

    /// As [`Components::archive`], with another C compiler (a cross compiler).
    fn archive_with(&self, gcc: &str, name: &str, flags: &[&str], sources: &[&str]) -> &Self {
        let mut objects = Vec::new();
        for (i, source) in sources.iter().enumerate() {
            let c = self.dir.join("src").join(format!("{name}{i}.c"));
            let o = self.dir.join("src").join(format!("{name}{i}.o"));
            std::fs::write(&c, source).expect("write C source");
            let output = Command::new(gcc)
                .args(flags)
                .args(["-fno-asynchronous-unwind-tables", "-c", "-o"])
                .arg(&o)
                .arg(&c)
                .output()
                .expect("run gcc");
            assert!(
                output.status.success(),
                "gcc failed on {name}:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            objects.push(o);
        }
        let archive = self.dir.join(format!("lib{name}.a"));
        let status = Command::new("ar")
            .arg("rcs")
            .arg(&archive)
            .args(&objects)
            .status()
            .expect("run ar");
        assert!(status.success(), "ar failed for {name}");
        self
    }

    fn path(&self) -> &Path {
        &self.dir
    }

    fn check(&self) -> Report {
        check_dir(&self.dir).expect("archives are readable")
    }
}

impl Drop for Components {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const BASE: &str = r#"
    int rumpuser_malloc(unsigned long len, int alignment, void **memp);
    static const int module_dummy = 1;
    __attribute__((section("link_set_modules"), used))
    static const void *const module_entry = &module_dummy;
    extern const void *const __start_link_set_modules[];
    extern const void *const __stop_link_set_modules[] __attribute__((weak));
    long rumpns_base_count(void) { return __stop_link_set_modules - __start_link_set_modules; }
    void *rumpns_base_alloc(unsigned long n) { void *p = 0; rumpuser_malloc(n, 8, &p); return p; }
"#;
const FS: &str = r#"
    void *rumpns_base_alloc(unsigned long n);
    int rumpuser_open(const char *name, int mode, int *fdp);
    int rumpns_fs_mount(const char *path) { int fd; rumpns_base_alloc(64); return rumpuser_open(path, 0, &fd); }
"#;
const TOP: &str = r#"
    int rumpns_fs_mount(const char *path);
    int rumpns_top_init(void) { return rumpns_fs_mount("/"); }
"#;

fn names_of(report: &Report) -> Vec<String> {
    report.ordered_archives().map(|a| a.name.clone()).collect()
}

#[test]
fn a_clean_set_is_ordered_classified_and_linked_whole_archive() {
    let Some(set) = Components::new("clean") else {
        return;
    };
    set.archive("base", CLEAN, &[BASE])
        .archive("fs", CLEAN, &[FS])
        .archive("top", CLEAN, &[TOP]);
    let report = set.check();
    assert!(report.is_hostable(), "refused: {:?}", report.refusals);
    assert_eq!(names_of(&report), ["libtop.a", "libfs.a", "libbase.a"]);

    let class = |name: &str| {
        report
            .unresolved
            .iter()
            .find(|u| u.name == name)
            .map(|u| u.class.clone())
    };
    assert_eq!(class("rumpuser_malloc"), Some(SymbolClass::Hypercall));
    assert_eq!(class("rumpuser_open"), Some(SymbolClass::Hypercall));
    assert_eq!(
        class("__start_link_set_modules"),
        Some(SymbolClass::LinkSetBracket {
            set: "modules".into()
        })
    );
    assert!(
        report
            .unresolved
            .iter()
            .find(|u| u.name == "__stop_link_set_modules")
            .unwrap()
            .weak
    );
    assert_eq!(class("rumpns_base_alloc"), None, "defined inside the set");
    assert_eq!(report.link_sets.iter().collect::<Vec<_>>(), ["modules"]);
    assert_eq!(report.hypercalls_used, 2);

    let args = report.link_args();
    let expected: Vec<String> = std::iter::once("--whole-archive".to_string())
        .chain(
            ["top", "fs", "base"]
                .iter()
                .map(|n| set.path().join(format!("lib{n}.a")).display().to_string()),
        )
        .chain(std::iter::once("--no-whole-archive".to_string()))
        .collect();
    assert_eq!(args, expected);
    for variant in &report.variants {
        assert!(matches!(
            variant.code_model,
            CodeModel::Kernel { .. } | CodeModel::PositionIndependent { .. }
        ));
        assert!(variant.stack_protector.is_empty() && variant.tls.is_empty());
        // Without the decoder both findings are honestly "unknown".
        let expected = if cfg!(feature = "disassembly") {
            Scanned::Found {
                count: 0,
                samples: vec![],
            }
        } else {
            Scanned::Unknown
        };
        assert_eq!(variant.red_zone, expected);
        assert_eq!(variant.vector_state, expected);
    }
    let script =
        "KEEP(*(link_set_modules)) __start_link_set_modules = .; __stop_link_set_modules = .;";
    assert!(report.link_sets_missing_from_script(script).is_empty());
    assert_eq!(
        report.link_sets_missing_from_script("KEEP(*(link_set_*))"),
        ["modules"]
    );
    let text = report.to_string();
    assert!(
        text.contains("verdict: the kernel can host this set"),
        "{text}"
    );
    emit_cargo_link_args(set.path()).expect("a clean set is accepted");
}

#[test]
fn missing_symbols_are_named_with_the_archive_needing_them() {
    let Some(set) = Components::new("missing") else {
        return;
    };
    let needy = r#"
        int rumpuser_malloc(unsigned long len, int alignment, void **memp);
        int rumpuser_no_such_call(int);
        void rumpcomp_shmif_watchwait(void *);
        int rumpns_ufs_lookup(void *);
        int rumpns_needy(void *p) { void *m; rumpuser_malloc(8, 8, &m); rumpcomp_shmif_watchwait(p);
                                    return rumpuser_no_such_call(1) + rumpns_ufs_lookup(p); }
    "#;
    set.archive("base", CLEAN, &[BASE])
        .archive("needy", CLEAN, &[needy]);
    let report = set.check();
    assert!(!report.is_hostable());
    assert!(report.refusals.contains(&Refusal::MissingHypercalls {
        archive: "libneedy.a".into(),
        names: vec![
            "rumpcomp_shmif_watchwait".into(),
            "rumpuser_no_such_call".into()
        ],
    }));
    assert!(report.refusals.contains(&Refusal::UnresolvedSymbols {
        archive: "libneedy.a".into(),
        names: vec!["rumpns_ufs_lookup".into()],
    }));
    let missing = report.missing_by_archive();
    assert_eq!(missing.keys().collect::<Vec<_>>(), ["libneedy.a"]);

    let error = emit_cargo_link_args(set.path()).expect_err("missing symbols are refused");
    let message = error.to_string();
    for name in [
        "libneedy.a",
        "rumpuser_no_such_call",
        "rumpcomp_shmif_watchwait",
        "rumpns_ufs_lookup",
    ] {
        assert!(message.contains(name), "{name} not in: {message}");
    }
    assert!(
        !message.contains("rumpuser_malloc"),
        "an exported hypercall is not missing: {message}"
    );
}

#[test]
fn small_code_model_is_refused_and_kernel_model_and_pic_are_accepted() {
    let Some(set) = Components::new("models") else {
        return;
    };
    let addresses = r#"
        int rumpns_table[4];
        int *rumpns_slot(int i) { return &rumpns_table[i & 3]; }
        void *rumpns_table_address(void) { return rumpns_table; }
    "#;
    set.archive(
        "small",
        &[
            "-O2",
            "-mcmodel=small",
            "-fno-pic",
            "-mno-red-zone",
            "-mgeneral-regs-only",
        ],
        &[addresses],
    );
    let small = set.check();
    let refusal = small
        .refusals
        .iter()
        .find(|r| matches!(r, Refusal::SmallCodeModel { .. }))
        .expect("R_X86_64_32 refused");
    let Refusal::SmallCodeModel { count, .. } = refusal else {
        unreachable!()
    };
    assert!(*count > 0);
    let message = refusal.to_string();
    assert!(
        message.contains("R_X86_64_32 relocation")
            && message.contains("top 2 GiB")
            && message.contains("-mcmodel=kernel"),
        "{message}"
    );

    let Some(kernel) = Components::new("kernelmodel") else {
        return;
    };
    kernel.archive("kern", CLEAN, &[addresses]);
    let report = kernel.check();
    assert!(
        matches!(report.variants[0].code_model, CodeModel::Kernel { .. }),
        "{:?}",
        report.variants[0]
    );
    assert!(report.is_hostable(), "{:?}", report.refusals);

    let Some(pic) = Components::new("pic") else {
        return;
    };
    pic.archive(
        "pic",
        &[
            "-O2",
            "-fPIC",
            "-mno-red-zone",
            "-mgeneral-regs-only",
            "-fno-stack-protector",
        ],
        &[addresses],
    );
    let report = pic.check();
    assert!(
        matches!(
            report.variants[0].code_model,
            CodeModel::PositionIndependent { .. }
        ),
        "{:?}",
        report.variants[0]
    );
    assert!(report.is_hostable(), "{:?}", report.refusals);
}

#[test]
fn stack_protector_tls_and_constructors_are_refused_with_reasons() {
    let Some(set) = Components::new("variants") else {
        return;
    };
    let guarded = r#"
        void rumpns_fill(char *p, int n);
        int rumpns_guarded(int n) { char buf[64]; rumpns_fill(buf, n); return buf[n & 63]; }
        void rumpns_fill(char *p, int n) { for (int i = 0; i < n && i < 64; i++) p[i] = (char)i; }
    "#;
    let tls = r#"
        __thread void *rumpns_curlwp_storage;
        void *rumpns_curlwp_get(void) { return rumpns_curlwp_storage; }
    "#;
    let ctor = r#"
        int rumpns_registered;
        __attribute__((constructor)) static void rumpns_register(void) { rumpns_registered = 1; }
    "#;
    let mut protected: Vec<&str> = CLEAN
        .iter()
        .copied()
        .filter(|f| *f != "-fno-stack-protector")
        .collect();
    protected.push("-fstack-protector-all");
    set.archive("guarded", &protected, &[guarded])
        .archive("tls", CLEAN, &[tls])
        .archive("ctor", CLEAN, &[ctor]);
    let report = set.check();
    let find = |archive: &str, pick: fn(&Refusal) -> bool| {
        report
            .refusals
            .iter()
            .find(|r| pick(r) && r.to_string().starts_with(archive))
            .unwrap_or_else(|| panic!("no refusal for {archive}: {:?}", report.refusals))
            .to_string()
    };
    let message = find("libguarded.a", |r| {
        matches!(r, Refusal::StackProtector { .. })
    });
    assert!(
        message.contains("__stack_chk_fail") && message.contains("-fno-stack-protector"),
        "{message}"
    );
    let message = find("libtls.a", |r| matches!(r, Refusal::Tls { .. }));
    assert!(
        message.contains("TLS sections") && message.contains("rumpuser_curlwp"),
        "{message}"
    );
    let message = find("libctor.a", |r| matches!(r, Refusal::Constructors { .. }));
    assert!(
        message.contains(".init_array") && message.contains("link sets"),
        "{message}"
    );
    assert!(
        !report
            .refusals
            .iter()
            .any(|r| matches!(r, Refusal::UserSpaceImports { .. })),
        "__stack_chk_fail is reported once, as the stack protector: {:?}",
        report.refusals
    );
}

#[test]
#[cfg(feature = "disassembly")]
fn red_zone_use_is_refused_and_sse_use_warned() {
    let Some(set) = Components::new("redzone") else {
        return;
    };
    let leaf = r#"
        int rumpns_leaf(int a) { volatile int buf[8]; for (int i = 0; i < 8; i++) buf[i] = a + i; return buf[3] + buf[5]; }
    "#;
    let copy = r#"
        struct rumpns_big { long a[8]; };
        void rumpns_copy(struct rumpns_big *d, const struct rumpns_big *s) { *d = *s; }
    "#;
    let scale = "double rumpns_scale(double x) { return x * 2.5; }";
    let user_flags = ["-O2", "-fno-pic", "-mcmodel=kernel", "-fno-stack-protector"];
    set.archive("leaf", &user_flags, &[leaf])
        .archive("vector", &user_flags, &[copy, scale]);
    let Some(unoptimised) = Components::new("redzone-O0") else {
        return;
    };
    unoptimised.archive(
        "leaf0",
        &["-O0", "-fno-pic", "-mcmodel=kernel", "-fno-stack-protector"],
        &[leaf],
    );
    for report in [set.check(), unoptimised.check()] {
        let refusal = report
            .refusals
            .iter()
            .find(|r| matches!(r, Refusal::RedZone { .. }))
            .unwrap_or_else(|| panic!("red zone not found: {report}"));
        let message = refusal.to_string();
        assert!(
            message.contains("rumpns_leaf") && message.contains("-mno-red-zone"),
            "{message}"
        );
    }
    let report = set.check();
    let warning = report
        .warnings
        .iter()
        .find(|w| matches!(w, Warning::VectorState { .. }))
        .expect("SSE use warned");
    assert!(
        warning.to_string().contains("libvector.a")
            && warning.to_string().contains("-mgeneral-regs-only")
    );
    assert!(
        !report
            .refusals
            .iter()
            .any(|r| r.to_string().starts_with("libvector.a")),
        "{:?}",
        report.refusals
    );

    let Some(clean) = Components::new("redzone-clean") else {
        return;
    };
    clean
        .archive("leaf", CLEAN, &[leaf])
        .archive("vector", CLEAN, &[copy]);
    let report = clean.check();
    assert!(report.is_hostable(), "{:?}", report.refusals);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

#[test]
fn user_space_imports_cycles_duplicates_and_weak_references() {
    let Some(set) = Components::new("misc") else {
        return;
    };
    let libc = r#"
        void *memcpy(void *d, const void *s, unsigned long n);
        void rumpns_copy(char *d, const char *s, unsigned long n) { memcpy(d, s, n); }
    "#;
    let a = "int rumpns_b(int); int rumpns_a(int x) { return x ? rumpns_b(x - 1) : 0; } int rumpns_dup = 1;";
    let b = "int rumpns_a(int); int rumpns_b(int x) { return x ? rumpns_a(x - 1) : 1; } int rumpns_dup = 2;";
    let weak = r#"
        extern void rumpns_optional(void) __attribute__((weak));
        void rumpns_maybe(void) { if (rumpns_optional) rumpns_optional(); }
        int rumpuser_malloc(unsigned long len, int alignment, void **memp) { (void)len; (void)alignment; *memp = 0; return 0; }
    "#;
    set.archive("libc", &[CLEAN, &["-fno-builtin"]].concat(), &[libc])
        .archive("a", CLEAN, &[a])
        .archive("b", CLEAN, &[b])
        .archive("weak", CLEAN, &[weak]);
    let report = set.check();
    assert_eq!(
        report
            .unresolved
            .iter()
            .find(|u| u.name == "memcpy")
            .map(|u| u.class.clone()),
        Some(SymbolClass::UserSpace)
    );
    assert!(
        report
            .refusals
            .iter()
            .any(|r| matches!(r, Refusal::UserSpaceImports { archive, names }
        if archive == "liblibc.a" && names[0].starts_with("memcpy"))),
        "{:?}",
        report.refusals
    );
    assert!(
        report
            .order
            .iter()
            .any(|u| matches!(u, LinkUnit::Group(m) if m.len() == 2)),
        "{:?}",
        report.order
    );
    let args = report.link_args();
    assert!(
        args.contains(&"--start-group".to_string()) && args.contains(&"--end-group".to_string())
    );
    assert!(report.refusals.contains(&Refusal::DuplicateDefinition {
        symbol: "rumpns_dup".into(),
        archives: vec!["liba.a".into(), "libb.a".into()],
    }));
    assert!(report.refusals.contains(&Refusal::DefinesHypercalls {
        archive: "libweak.a".into(),
        names: vec!["rumpuser_malloc".into()],
    }));
    assert!(report.warnings.contains(&Warning::WeakUnresolved {
        archive: "libweak.a".into(),
        names: vec!["rumpns_optional".into()],
    }));
    assert!(!report
        .refusals
        .iter()
        .any(|r| r.to_string().contains("rumpns_optional")));
}

#[test]
fn rumpcheck_exit_codes() {
    let rumpcheck = env!("CARGO_BIN_EXE_rumpcheck");
    let status = |args: &[&Path]| {
        Command::new(rumpcheck)
            .args(args)
            .output()
            .expect("run rumpcheck")
    };
    assert_eq!(status(&[]).status.code(), Some(2));
    let Some(empty) = Components::new("empty") else {
        return;
    };
    let output = status(&[empty.path()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no component archives"));

    let Some(good) = Components::new("good") else {
        return;
    };
    good.archive("base", CLEAN, &[BASE])
        .archive("fs", CLEAN, &[FS]);
    let output = status(&[good.path()]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(
        text.contains("1. libfs.a")
            && text.contains("2. libbase.a")
            && text.contains("link sets")
            && text.contains("modules"),
        "{text}"
    );

    good.archive(
        "needy",
        CLEAN,
        &["int rumpuser_gone(void); int rumpns_n(void) { return rumpuser_gone(); }"],
    );
    let output = status(&[good.path()]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("libneedy.a:\n      rumpuser_gone"), "{text}");
}

#[test]
fn unreadable_archives_are_errors_not_panics() {
    let Some(set) = Components::new("garbage") else {
        return;
    };
    std::fs::write(set.path().join("libjunk.a"), b"not an archive").unwrap();
    match check_dir(set.path()) {
        Err(error @ Error::Malformed { .. }) => assert!(error.to_string().contains("libjunk.a")),
        other => panic!("expected Malformed, got {other:?}"),
    }
}

/// A USB stack compiled without USB DMA is refused with the reason; the same stack with the DMA
/// path compiled in is accepted. The sources have the shape of the real USB core: usbdi's buffer
/// allocator is `static inline` (so the archive carries no symbol of it at -O2), public
/// functions such as `usbd_transfer` use it, `usb_mem` defines the allocator both builds have,
/// and a host-controller archive allocates its own DMA memory through `usb_allocmem`.
#[test]
fn usb_stack_without_dma_is_refused() {
    let usbdi = |dma: bool| {
        format!(
            r#"
        void *rumpns_base_alloc(unsigned long n);
        int rumpns_usb_allocmem_flags(void *bus, unsigned long n, unsigned long align, void **p, int flags);
        struct xfer {{ void *buffer; unsigned long length; int usedma; }};
        static inline void *usbd_alloc_buffer(struct xfer *x, unsigned long n) {{
        #if {dma}
            void *p = 0;
            if (rumpns_usb_allocmem_flags(0, n, 0, &p, 0) != 0) return 0;
            x->usedma = 1;
            return p;
        #else
            x->usedma = 0;
            return rumpns_base_alloc(n);
        #endif
        }}
        int rumpns_usbd_create_xfer(struct xfer *x, unsigned long n) {{
            x->buffer = usbd_alloc_buffer(x, n);
            x->length = n;
            return x->buffer == 0;
        }}
        int rumpns_usbd_transfer(struct xfer *x) {{
            if (x->buffer == 0) x->buffer = usbd_alloc_buffer(x, x->length);
            return x->buffer == 0;
        }}
        "#,
            dma = dma as u8
        )
    };
    let usb_mem = r#"
        void *rumpns_base_alloc(unsigned long n);
        int rumpns_usb_allocmem_flags(void *bus, unsigned long n, unsigned long align, void **p, int flags) {
            (void)bus; (void)align; (void)flags; *p = rumpns_base_alloc(n); return *p == 0;
        }
        int rumpns_usb_allocmem(void *bus, unsigned long n, unsigned long align, void **p) {
            return rumpns_usb_allocmem_flags(bus, n, align, p, 0);
        }
    "#;
    let ehci = r#"
        int rumpns_usb_allocmem(void *bus, unsigned long n, unsigned long align, void **p);
        int rumpns_ehci_init(void *sc) { void *p; return rumpns_usb_allocmem(sc, 4096, 4096, &p); }
    "#;
    for (tag, dma, refused) in [("usb-nodma", false, true), ("usb-dma", true, false)] {
        let Some(set) = Components::new(tag) else {
            return;
        };
        let usbdi = usbdi(dma);
        set.archive("base", CLEAN, &[BASE])
            .archive("rumpdev_usb", CLEAN, &[&usbdi, usb_mem])
            .archive("rumpdev_pci_usbhc", CLEAN, &[ehci]);
        let report = set.check();
        let flagged = report.refusals.contains(&Refusal::UsbWithoutDma {
            archive: "librumpdev_usb.a".into(),
        });
        assert_eq!(flagged, refused, "{tag}: refusals {:?}", report.refusals);
        // Both builds define the allocator; only the references tell them apart.
        let usb = report
            .archives
            .iter()
            .find(|a| a.name == "librumpdev_usb.a")
            .expect("the USB archive is in the report");
        assert!(usb.defined.contains("rumpns_usb_allocmem_flags"));
        assert!(!usb.defined.contains("rumpns_usbd_alloc_buffer"));
        if refused {
            let message = emit_cargo_link_args(set.path())
                .expect_err("refused")
                .to_string();
            assert!(message.contains("NUSB_DMA"), "{message}");
        }
    }
}

/// Flags for an aarch64 component built the way the aarch64 kernel wants it.
const AARCH64_CLEAN: &[&str] = &[
    "-O2",
    "-ffreestanding",
    "-fno-pic",
    "-mcmodel=small",
    "-mgeneral-regs-only",
    "-fno-stack-protector",
];
const AARCH64_GCC: &str = "aarch64-linux-gnu-gcc";

#[test]
fn aarch64_sets_are_judged_by_their_own_code_models_and_fp_use() {
    if Command::new(AARCH64_GCC).arg("--version").output().is_err() {
        println!("SKIPPED: {AARCH64_GCC} is not installed (scripts/setup installs it)");
        return;
    }
    let Some(set) = Components::new("aarch64") else {
        return;
    };
    set.archive_with(AARCH64_GCC, "base", AARCH64_CLEAN, &[BASE])
        .archive_with(AARCH64_GCC, "fs", AARCH64_CLEAN, &[FS])
        .archive_with(AARCH64_GCC, "top", AARCH64_CLEAN, &[TOP]);
    let report = set.check();
    assert!(report.is_hostable(), "{report}");
    assert_eq!(names_of(&report), ["libtop.a", "libfs.a", "libbase.a"]);
    for variant in &report.variants {
        assert_eq!(variant.machine, Machine::Aarch64);
        // ADRP addressing, or none at all (an archive that only calls).
        assert!(
            matches!(
                variant.code_model,
                CodeModel::PageRelative { .. } | CodeModel::PositionIndependent { got_or_plt: 0 }
            ),
            "{variant:?}"
        );
        assert!(matches!(
            variant.vector_state,
            Scanned::Found { count: 0, .. }
        ));
    }
    assert!(report
        .variants
        .iter()
        .any(|v| matches!(v.code_model, CodeModel::PageRelative { .. })));
    let text = report.to_string();
    for needle in [
        "machine:         aarch64",
        "R_AARCH64_ADR_PREL_PG_HI21",
        "red zone:        not applicable",
        "FP/SIMD:         none found",
        "an aarch64 set needs",
        "-mgeneral-regs-only",
    ] {
        assert!(text.contains(needle), "report lacks '{needle}':\n{text}");
    }
    // The kernel being built decides: an aarch64 set is refused for an x86_64 kernel.
    let mut for_x86 = set.check();
    refuse_other_architectures(&mut for_x86, "x86_64");
    let refusal = for_x86
        .refusals
        .iter()
        .find(|r| matches!(r, Refusal::WrongArchitecture { .. }))
        .expect("wrong architecture refused");
    assert!(refusal
        .to_string()
        .contains("built for aarch64, but this kernel is built for x86_64"));
    let mut for_arm = set.check();
    refuse_other_architectures(&mut for_arm, "aarch64");
    assert!(for_arm.is_hostable(), "{:?}", for_arm.refusals);

    let addresses = r#"
        int rumpns_table[4];
        int *rumpns_slot(int i) { return &rumpns_table[i & 3]; }
    "#;
    let Some(large) = Components::new("aarch64-large") else {
        return;
    };
    let mut flags = AARCH64_CLEAN.to_vec();
    flags[3] = "-mcmodel=large";
    large.archive_with(AARCH64_GCC, "large", &flags, &[addresses]);
    // GCC's large model loads addresses from literal pools (ABS64 entries reached by ADRP);
    // clang's uses MOVZ/MOVK (CodeModel::Large). Either links anywhere.
    let report = large.check();
    assert!(
        !matches!(
            report.variants[0].code_model,
            CodeModel::Absolute32 { .. } | CodeModel::Tiny { .. }
        ),
        "{:?}",
        report.variants[0]
    );
    assert!(report.variants[0]
        .relocations
        .contains_key("R_AARCH64_ABS64"));
    assert!(report.is_hostable(), "{:?}", report.refusals);

    let Some(bad) = Components::new("aarch64-bad") else {
        return;
    };
    let pointer32 = r#"
        int rumpns_table[4];
        __asm__(".data\n.globl rumpns_pointer32\nrumpns_pointer32: .word rumpns_table\n.text\n");
    "#;
    let scale = "double rumpns_scale(double x) { return x * 2.5; }";
    let mut tiny = AARCH64_CLEAN.to_vec();
    tiny[3] = "-mcmodel=tiny";
    let fp_flags = ["-O2", "-ffreestanding", "-fno-pic", "-fno-stack-protector"];
    bad.archive_with(AARCH64_GCC, "pointer32", AARCH64_CLEAN, &[pointer32])
        .archive_with(AARCH64_GCC, "tiny", &tiny, &[addresses])
        .archive_with(AARCH64_GCC, "float", &fp_flags, &[scale]);
    let report = bad.check();
    let message = |matches: fn(&Refusal) -> bool| {
        report
            .refusals
            .iter()
            .find(|r| matches(r))
            .map(|r| r.to_string())
            .unwrap_or_else(|| panic!("refusal missing: {report}"))
    };
    let absolute = message(|r| matches!(r, Refusal::Absolute32 { .. }));
    assert!(
        absolute.starts_with("libpointer32.a") && absolute.contains("R_AARCH64_ABS32"),
        "{absolute}"
    );
    let tiny = message(|r| matches!(r, Refusal::TinyCodeModel { .. }));
    assert!(
        tiny.starts_with("libtiny.a") && tiny.contains("-mcmodel=small"),
        "{tiny}"
    );
    let warning = report
        .warnings
        .iter()
        .find(|w| matches!(w, Warning::FpSimdState { .. }))
        .map(|w| w.to_string())
        .expect("FP/SIMD use warned");
    assert!(
        warning.starts_with("libfloat.a") && warning.contains("rumpns_scale"),
        "{warning}"
    );
    assert!(!report
        .refusals
        .iter()
        .any(|r| r.to_string().starts_with("libfloat.a")));

    // One set, two machines: refused whatever the kernel.
    let Some(mixed) = Components::new("mixed") else {
        return;
    };
    mixed
        .archive_with(AARCH64_GCC, "arm", AARCH64_CLEAN, &[addresses])
        .archive("intel", CLEAN, &[FS]);
    let report = mixed.check();
    assert!(
        report
            .refusals
            .iter()
            .any(|r| matches!(r, Refusal::MixedArchitectures { .. })),
        "{report}"
    );
}
