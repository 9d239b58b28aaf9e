/*
 * rumpuser.h -- the hypercall ABI between a rump kernel and this host.
 *
 * Written for this project from the hypercall contract, docs/contract.md;
 * "contract §N" below means its section N. It describes interface version 17 and
 * the rump PCI hypercalls. The Rust crate `rumpuser` exports every function declared
 * here; `src/abi_table.rs` asserts the Rust signatures at compile time and a test
 * (`header_matches_rust`) parses this file and compares it with that table.
 *
 * Layout rule for this file: one declaration per line, parameters named, so that
 * the comparison test can read it without a C parser.
 *
 * Errors are NetBSD errno values (contract §0.2): 0 on success, positive on failure.
 */
#ifndef RUMPHOST_RUMPUSER_H
#define RUMPHOST_RUMPUSER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Types owned by the rump kernel; the host only passes pointers around. */
struct lwp;
struct modinfo;
struct rump_component;

/* Types owned by the host; opaque to the rump kernel. */
struct rumpuser_mtx;
struct rumpuser_rw;
struct rumpuser_cv;

/* ---- contract §1.1 / §2.1 initialisation and the upcall table (168 bytes) -- */

#define RUMPUSER_VERSION 17

/* pid_t in the rump kernel is a 32-bit int; it is spelled `int` here. */
struct rumpuser_hyperup {
	void (*hyp_schedule)(void);                      /* offset   0 */
	void (*hyp_unschedule)(void);                    /* offset   8 */
	void (*hyp_backend_unschedule)(int, int *, void *); /* offset 16 */
	void (*hyp_backend_schedule)(int, void *);       /* offset  24 */
	void (*hyp_lwproc_switch)(struct lwp *);         /* offset  32 */
	void (*hyp_lwproc_release)(void);                /* offset  40 */
	int (*hyp_lwproc_rfork)(void *, int, const char *); /* offset 48 */
	int (*hyp_lwproc_newlwp)(int);                   /* offset  56 */
	struct lwp *(*hyp_lwproc_curlwp)(void);          /* offset  64 */
	int (*hyp_syscall)(int, void *, long *);         /* offset  72 */
	void (*hyp_lwpexit)(void);                       /* offset  80 */
	void (*hyp_execnotify)(const char *);            /* offset  88 */
	int (*hyp_getpid)(void);                         /* offset  96 */
	void *hyp__extra[8];                             /* offset 104 */
};

int rumpuser_init(int version, const struct rumpuser_hyperup *hyp);

/* ---- contract §1.2 memory ------------------------------------------------- */

int rumpuser_malloc(size_t len, int alignment, void **memp);
void rumpuser_free(void *mem, size_t len);
int rumpuser_anonmmap(void *prefaddr, size_t size, int alignbit, int exec, void **memp);
void rumpuser_unmap(void *addr, size_t len);

/* ---- contract §1.3 / §5 files and block I/O -------------------------------- */

#define RUMPUSER_OPEN_RDONLY  0x0000
#define RUMPUSER_OPEN_WRONLY  0x0001
#define RUMPUSER_OPEN_RDWR    0x0002
#define RUMPUSER_OPEN_ACCMODE 0x0003
#define RUMPUSER_OPEN_CREATE  0x0004
#define RUMPUSER_OPEN_EXCL    0x0008
#define RUMPUSER_OPEN_BIO     0x0010

#define RUMPUSER_FT_OTHER 0
#define RUMPUSER_FT_DIR   1
#define RUMPUSER_FT_REG   2
#define RUMPUSER_FT_BLK   3
#define RUMPUSER_FT_CHR   4

#define RUMPUSER_BIO_READ  0x01
#define RUMPUSER_BIO_WRITE 0x02
#define RUMPUSER_BIO_SYNC  0x04

#define RUMPUSER_IOV_NOSEEK -1

#define RUMPUSER_SYNCFD_READ    0x01
#define RUMPUSER_SYNCFD_WRITE   0x02
#define RUMPUSER_SYNCFD_BOTH    (RUMPUSER_SYNCFD_READ | RUMPUSER_SYNCFD_WRITE)
#define RUMPUSER_SYNCFD_BARRIER 0x04
#define RUMPUSER_SYNCFD_SYNC    0x08

/* Completion callback of rumpuser_bio: (donearg, bytes transferred, errno). */
typedef void (*rump_biodone_fn)(void *, size_t, int);

/* One scatter/gather element, 16 bytes. */
struct rumpuser_iovec {
	void *iov_base;
	size_t iov_len;
};

int rumpuser_open(const char *name, int mode, int *fdp);
int rumpuser_close(int fd);
int rumpuser_getfileinfo(const char *name, uint64_t *size, int *type);
void rumpuser_bio(int fd, int op, void *data, size_t dlen, int64_t off, rump_biodone_fn biodone, void *donearg);
int rumpuser_iovread(int fd, struct rumpuser_iovec *ruiov, size_t iovlen, int64_t off, size_t *retv);
int rumpuser_iovwrite(int fd, const struct rumpuser_iovec *ruiov, size_t iovlen, int64_t off, size_t *retv);
int rumpuser_syncfd(int fd, int flags, uint64_t start, uint64_t len);

/* ---- contract §1.4 / §6 clocks ---------------------------------------------- */

enum rumpclock { RUMPUSER_CLOCK_RELWALL, RUMPUSER_CLOCK_ABSMONO };

int rumpuser_clock_gettime(int enum_rumpclock, int64_t *sec, long *nsec);
int rumpuser_clock_sleep(int enum_rumpclock, int64_t sec, long nsec);

/* ---- contract §1.5 / §8 parameters ------------------------------------------- */

#define RUMPUSER_PARAM_NCPU     "_RUMPUSER_NCPU"
#define RUMPUSER_PARAM_HOSTNAME "_RUMPUSER_HOSTNAME"

int rumpuser_getparam(const char *name, void *buf, size_t buflen);

/* ---- contract §1.6 / §1.7 errno, termination, console ------------------------ */

#define RUMPUSER_PID_SELF ((int64_t)-1)
#define RUMPUSER_PANIC (-1)

void rumpuser_seterrno(int error);
int rumpuser_kill(int64_t pid, int sig);
void rumpuser_exit(int value) __attribute__((__noreturn__));
void rumpuser_putchar(int ch);
/* Conversions: %d %i %u %x %X %o %p %s %c %%, flags '-' '0', width, h hh l ll z. */
void rumpuser_dprintf(const char *fmt, ...) __attribute__((__format__(__printf__, 1, 2)));

/* ---- contract §1.8 randomness ------------------------------------------------- */

#define RUMPUSER_RANDOM_HARD   0x01
#define RUMPUSER_RANDOM_NOWAIT 0x02

int rumpuser_getrandom(void *buf, size_t buflen, int flags, size_t *retp);

/* ---- contract §1.9 / §4 threads -------------------------------------------------- */

/* Entry point of a rump thread; it ends with rumpuser_thread_exit(). */
typedef void *(*rumpuser_thread_fn)(void *);

int rumpuser_thread_create(rumpuser_thread_fn f, void *arg, const char *thrname, int mustjoin, int priority, int cpuidx, void **cookie);
void rumpuser_thread_exit(void) __attribute__((__noreturn__));
int rumpuser_thread_join(void *cookie);

/* ---- contract §1.10 / §3 curlwp ---------------------------------------------------- */

enum rumplwpop {
	RUMPUSER_LWP_CREATE,
	RUMPUSER_LWP_DESTROY,
	RUMPUSER_LWP_SET,
	RUMPUSER_LWP_CLEAR
};

void rumpuser_curlwpop(int enum_rumplwpop, struct lwp *l);
struct lwp *rumpuser_curlwp(void);

/* ---- contract §1.11 mutexes ---------------------------------------------------------- */

#define RUMPUSER_MTX_SPIN   0x01
#define RUMPUSER_MTX_KMUTEX 0x02

void rumpuser_mutex_init(struct rumpuser_mtx **mtxp, int flags);
void rumpuser_mutex_enter(struct rumpuser_mtx *mtx);
void rumpuser_mutex_enter_nowrap(struct rumpuser_mtx *mtx);
int rumpuser_mutex_tryenter(struct rumpuser_mtx *mtx);
void rumpuser_mutex_exit(struct rumpuser_mtx *mtx);
void rumpuser_mutex_destroy(struct rumpuser_mtx *mtx);
void rumpuser_mutex_owner(struct rumpuser_mtx *mtx, struct lwp **lp);

/* ---- contract §1.12 reader/writer locks (lock type first) ----------------------------- */

enum rumprwlock { RUMPUSER_RW_READER, RUMPUSER_RW_WRITER };

void rumpuser_rw_init(struct rumpuser_rw **rwp);
void rumpuser_rw_enter(int enum_rumprwlock, struct rumpuser_rw *rw);
int rumpuser_rw_tryenter(int enum_rumprwlock, struct rumpuser_rw *rw);
int rumpuser_rw_tryupgrade(struct rumpuser_rw *rw);
void rumpuser_rw_downgrade(struct rumpuser_rw *rw);
void rumpuser_rw_exit(struct rumpuser_rw *rw);
void rumpuser_rw_destroy(struct rumpuser_rw *rw);
void rumpuser_rw_held(int enum_rumprwlock, struct rumpuser_rw *rw, int *heldp);

/* ---- contract §1.13 / §2.5 condition variables ----------------------------------------- */

void rumpuser_cv_init(struct rumpuser_cv **cvp);
void rumpuser_cv_destroy(struct rumpuser_cv *cv);
void rumpuser_cv_wait(struct rumpuser_cv *cv, struct rumpuser_mtx *mtx);
void rumpuser_cv_wait_nowrap(struct rumpuser_cv *cv, struct rumpuser_mtx *mtx);
int rumpuser_cv_timedwait(struct rumpuser_cv *cv, struct rumpuser_mtx *mtx, int64_t sec, int64_t nsec);
void rumpuser_cv_signal(struct rumpuser_cv *cv);
void rumpuser_cv_broadcast(struct rumpuser_cv *cv);
void rumpuser_cv_has_waiters(struct rumpuser_cv *cv, int *waitersp);

/* ---- contract §1.14 / §7.1 dynamic loader hook (a no-op in a static link) ---------------- */

typedef void (*rump_modinit_fn)(const struct modinfo *const *, size_t);
typedef int (*rump_symload_fn)(void *, uint64_t, char *, uint64_t);
typedef void (*rump_compload_fn)(const struct rump_component *);

void rumpuser_dl_bootstrap(rump_modinit_fn domodinit, rump_symload_fn symload, rump_compload_fn compload);

/* ---- contract §1.15 / §1.16 not used by a kernel host: they return ENOSYS ----------------- */

int rumpuser_daemonize_begin(void);
int rumpuser_daemonize_done(int error);
int rumpuser_sp_init(const char *url, const char *ostype, const char *osrelease, const char *machine);
int rumpuser_sp_copyin(void *arg, const void *raddr, void *laddr, size_t len);
int rumpuser_sp_copyinstr(void *arg, const void *raddr, void *laddr, size_t *lenp);
int rumpuser_sp_copyout(void *arg, const void *laddr, void *raddr, size_t len);
int rumpuser_sp_copyoutstr(void *arg, const void *laddr, void *raddr, size_t *lenp);
int rumpuser_sp_anonmmap(void *arg, size_t howmuch, void **addr);
int rumpuser_sp_raise(void *arg, int signo);
void rumpuser_sp_fini(void *arg);

/* ---- contract §9 PCI hypercalls ----------------------------------------------------------- */

/* One DMA segment, 24 bytes. */
struct rumpcomp_pci_dmaseg {
	unsigned long ds_pa;
	unsigned long ds_len;
	unsigned long ds_vacookie;
};

/* Interrupt handler: returns non-zero when its device raised the interrupt. */
typedef int (*rumpcomp_pci_intr_fn)(void *);

void *rumpcomp_pci_map(unsigned long addr, unsigned long len);
int rumpcomp_pci_confread(unsigned int bus, unsigned int dev, unsigned int fun, int reg, unsigned int *value);
int rumpcomp_pci_confwrite(unsigned int bus, unsigned int dev, unsigned int fun, int reg, unsigned int value);
int rumpcomp_pci_irq_map(unsigned int bus, unsigned int dev, unsigned int fun, int intrline, unsigned int cookie);
void *rumpcomp_pci_irq_establish(unsigned int cookie, rumpcomp_pci_intr_fn handler, void *data);
int rumpcomp_pci_dmalloc(size_t size, size_t align, unsigned long *pap, unsigned long *vap);
void rumpcomp_pci_dmafree(unsigned long vacookie, size_t size);
int rumpcomp_pci_dmamem_map(struct rumpcomp_pci_dmaseg *dss, size_t nseg, size_t totlen, void **vap);
unsigned long rumpcomp_pci_virt_to_mach(void *virt);
int rumpcomp_pci_iospace_init(void);

#ifdef __cplusplus
}
#endif

#endif /* RUMPHOST_RUMPUSER_H */
