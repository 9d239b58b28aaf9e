/*
 * abi_check.c -- compile-time checks of include/rumpuser.h against the contract.
 *
 * Never linked into anything that runs: compiling it is the test. Layouts are those of
 * docs/contract.md §2.1 (hyperup), §1.3 (iovec) and §9.3 (dmaseg); constants are its
 * Appendix A. Each function
 * is assigned to a pointer type written out from the contract's prototype, so a header
 * edit that changes a signature stops the build. The Rust side is compared with the
 * header by the `header_matches_rust` test.
 */
#include <stddef.h>
#include <stdint.h>

#include "rumpuser.h"

#define CHECK_SIZE(type, size) _Static_assert(sizeof(type) == (size), #type " size")
#define CHECK_OFF(type, field, off) \
	_Static_assert(offsetof(type, field) == (off), #type "." #field " offset")
#define CHECK_VALUE(name, value) _Static_assert((name) == (value), #name " value")

CHECK_SIZE(struct rumpuser_hyperup, 168);
CHECK_OFF(struct rumpuser_hyperup, hyp_schedule, 0);
CHECK_OFF(struct rumpuser_hyperup, hyp_unschedule, 8);
CHECK_OFF(struct rumpuser_hyperup, hyp_backend_unschedule, 16);
CHECK_OFF(struct rumpuser_hyperup, hyp_backend_schedule, 24);
CHECK_OFF(struct rumpuser_hyperup, hyp_lwproc_switch, 32);
CHECK_OFF(struct rumpuser_hyperup, hyp_lwproc_release, 40);
CHECK_OFF(struct rumpuser_hyperup, hyp_lwproc_rfork, 48);
CHECK_OFF(struct rumpuser_hyperup, hyp_lwproc_newlwp, 56);
CHECK_OFF(struct rumpuser_hyperup, hyp_lwproc_curlwp, 64);
CHECK_OFF(struct rumpuser_hyperup, hyp_syscall, 72);
CHECK_OFF(struct rumpuser_hyperup, hyp_lwpexit, 80);
CHECK_OFF(struct rumpuser_hyperup, hyp_execnotify, 88);
CHECK_OFF(struct rumpuser_hyperup, hyp_getpid, 96);
CHECK_OFF(struct rumpuser_hyperup, hyp__extra, 104);
CHECK_SIZE(struct rumpuser_iovec, 16);
CHECK_OFF(struct rumpuser_iovec, iov_base, 0);
CHECK_OFF(struct rumpuser_iovec, iov_len, 8);
CHECK_SIZE(struct rumpcomp_pci_dmaseg, 24);
CHECK_OFF(struct rumpcomp_pci_dmaseg, ds_pa, 0);
CHECK_OFF(struct rumpcomp_pci_dmaseg, ds_len, 8);
CHECK_OFF(struct rumpcomp_pci_dmaseg, ds_vacookie, 16);
CHECK_SIZE(int, 4);
CHECK_SIZE(long, 8);
CHECK_SIZE(size_t, 8);
CHECK_SIZE(void *, 8);

CHECK_VALUE(RUMPUSER_VERSION, 17);
CHECK_VALUE(RUMPUSER_OPEN_RDONLY, 0x0000);
CHECK_VALUE(RUMPUSER_OPEN_WRONLY, 0x0001);
CHECK_VALUE(RUMPUSER_OPEN_RDWR, 0x0002);
CHECK_VALUE(RUMPUSER_OPEN_ACCMODE, 0x0003);
CHECK_VALUE(RUMPUSER_OPEN_CREATE, 0x0004);
CHECK_VALUE(RUMPUSER_OPEN_EXCL, 0x0008);
CHECK_VALUE(RUMPUSER_OPEN_BIO, 0x0010);
CHECK_VALUE(RUMPUSER_FT_OTHER, 0);
CHECK_VALUE(RUMPUSER_FT_DIR, 1);
CHECK_VALUE(RUMPUSER_FT_REG, 2);
CHECK_VALUE(RUMPUSER_FT_BLK, 3);
CHECK_VALUE(RUMPUSER_FT_CHR, 4);
CHECK_VALUE(RUMPUSER_BIO_READ, 0x01);
CHECK_VALUE(RUMPUSER_BIO_WRITE, 0x02);
CHECK_VALUE(RUMPUSER_BIO_SYNC, 0x04);
CHECK_VALUE(RUMPUSER_IOV_NOSEEK, -1);
CHECK_VALUE(RUMPUSER_SYNCFD_READ, 0x01);
CHECK_VALUE(RUMPUSER_SYNCFD_WRITE, 0x02);
CHECK_VALUE(RUMPUSER_SYNCFD_BOTH, 0x03);
CHECK_VALUE(RUMPUSER_SYNCFD_BARRIER, 0x04);
CHECK_VALUE(RUMPUSER_SYNCFD_SYNC, 0x08);
CHECK_VALUE(RUMPUSER_CLOCK_RELWALL, 0);
CHECK_VALUE(RUMPUSER_CLOCK_ABSMONO, 1);
CHECK_VALUE(RUMPUSER_PID_SELF, -1);
CHECK_VALUE(RUMPUSER_PANIC, -1);
CHECK_VALUE(RUMPUSER_RANDOM_HARD, 0x01);
CHECK_VALUE(RUMPUSER_RANDOM_NOWAIT, 0x02);
CHECK_VALUE(RUMPUSER_LWP_CREATE, 0);
CHECK_VALUE(RUMPUSER_LWP_DESTROY, 1);
CHECK_VALUE(RUMPUSER_LWP_SET, 2);
CHECK_VALUE(RUMPUSER_LWP_CLEAR, 3);
CHECK_VALUE(RUMPUSER_MTX_SPIN, 0x01);
CHECK_VALUE(RUMPUSER_MTX_KMUTEX, 0x02);
CHECK_VALUE(RUMPUSER_RW_READER, 0);
CHECK_VALUE(RUMPUSER_RW_WRITER, 1);

/* Every prototype, spelled independently of the header. */
#define PROTO(name, type) \
	_Static_assert(__builtin_types_compatible_p(__typeof__(&name), type), #name " prototype")
PROTO(rumpuser_init, int (*)(int, const struct rumpuser_hyperup *));
PROTO(rumpuser_malloc, int (*)(size_t, int, void **));
PROTO(rumpuser_free, void (*)(void *, size_t));
PROTO(rumpuser_anonmmap, int (*)(void *, size_t, int, int, void **));
PROTO(rumpuser_unmap, void (*)(void *, size_t));
PROTO(rumpuser_open, int (*)(const char *, int, int *));
PROTO(rumpuser_close, int (*)(int));
PROTO(rumpuser_getfileinfo, int (*)(const char *, uint64_t *, int *));
PROTO(rumpuser_bio, void (*)(int, int, void *, size_t, int64_t,
    void (*)(void *, size_t, int), void *));
PROTO(rumpuser_iovread, int (*)(int, struct rumpuser_iovec *, size_t, int64_t, size_t *));
PROTO(rumpuser_iovwrite,
    int (*)(int, const struct rumpuser_iovec *, size_t, int64_t, size_t *));
PROTO(rumpuser_syncfd, int (*)(int, int, uint64_t, uint64_t));
PROTO(rumpuser_clock_gettime, int (*)(int, int64_t *, long *));
PROTO(rumpuser_clock_sleep, int (*)(int, int64_t, long));
PROTO(rumpuser_getparam, int (*)(const char *, void *, size_t));
PROTO(rumpuser_seterrno, void (*)(int));
PROTO(rumpuser_kill, int (*)(int64_t, int));
/* noreturn is part of the function's type in GCC: check by compatible redeclaration. */
void rumpuser_exit(int);
PROTO(rumpuser_putchar, void (*)(int));
PROTO(rumpuser_dprintf, void (*)(const char *, ...));
PROTO(rumpuser_getrandom, int (*)(void *, size_t, int, size_t *));
PROTO(rumpuser_thread_create,
    int (*)(void *(*)(void *), void *, const char *, int, int, int, void **));
void rumpuser_thread_exit(void);
PROTO(rumpuser_thread_join, int (*)(void *));
PROTO(rumpuser_curlwpop, void (*)(int, struct lwp *));
PROTO(rumpuser_curlwp, struct lwp *(*)(void));
PROTO(rumpuser_mutex_init, void (*)(struct rumpuser_mtx **, int));
PROTO(rumpuser_mutex_enter, void (*)(struct rumpuser_mtx *));
PROTO(rumpuser_mutex_enter_nowrap, void (*)(struct rumpuser_mtx *));
PROTO(rumpuser_mutex_tryenter, int (*)(struct rumpuser_mtx *));
PROTO(rumpuser_mutex_exit, void (*)(struct rumpuser_mtx *));
PROTO(rumpuser_mutex_destroy, void (*)(struct rumpuser_mtx *));
PROTO(rumpuser_mutex_owner, void (*)(struct rumpuser_mtx *, struct lwp **));
PROTO(rumpuser_rw_init, void (*)(struct rumpuser_rw **));
PROTO(rumpuser_rw_enter, void (*)(int, struct rumpuser_rw *));
PROTO(rumpuser_rw_tryenter, int (*)(int, struct rumpuser_rw *));
PROTO(rumpuser_rw_tryupgrade, int (*)(struct rumpuser_rw *));
PROTO(rumpuser_rw_downgrade, void (*)(struct rumpuser_rw *));
PROTO(rumpuser_rw_exit, void (*)(struct rumpuser_rw *));
PROTO(rumpuser_rw_destroy, void (*)(struct rumpuser_rw *));
PROTO(rumpuser_rw_held, void (*)(int, struct rumpuser_rw *, int *));
PROTO(rumpuser_cv_init, void (*)(struct rumpuser_cv **));
PROTO(rumpuser_cv_destroy, void (*)(struct rumpuser_cv *));
PROTO(rumpuser_cv_wait, void (*)(struct rumpuser_cv *, struct rumpuser_mtx *));
PROTO(rumpuser_cv_wait_nowrap, void (*)(struct rumpuser_cv *, struct rumpuser_mtx *));
PROTO(rumpuser_cv_timedwait,
    int (*)(struct rumpuser_cv *, struct rumpuser_mtx *, int64_t, int64_t));
PROTO(rumpuser_cv_signal, void (*)(struct rumpuser_cv *));
PROTO(rumpuser_cv_broadcast, void (*)(struct rumpuser_cv *));
PROTO(rumpuser_cv_has_waiters, void (*)(struct rumpuser_cv *, int *));
PROTO(rumpuser_dl_bootstrap, void (*)(void (*)(const struct modinfo *const *, size_t),
    int (*)(void *, uint64_t, char *, uint64_t), void (*)(const struct rump_component *)));
PROTO(rumpuser_daemonize_begin, int (*)(void));
PROTO(rumpuser_daemonize_done, int (*)(int));
PROTO(rumpuser_sp_init, int (*)(const char *, const char *, const char *, const char *));
PROTO(rumpuser_sp_copyin, int (*)(void *, const void *, void *, size_t));
PROTO(rumpuser_sp_copyinstr, int (*)(void *, const void *, void *, size_t *));
PROTO(rumpuser_sp_copyout, int (*)(void *, const void *, void *, size_t));
PROTO(rumpuser_sp_copyoutstr, int (*)(void *, const void *, void *, size_t *));
PROTO(rumpuser_sp_anonmmap, int (*)(void *, size_t, void **));
PROTO(rumpuser_sp_raise, int (*)(void *, int));
PROTO(rumpuser_sp_fini, void (*)(void *));
PROTO(rumpcomp_pci_map, void *(*)(unsigned long, unsigned long));
PROTO(rumpcomp_pci_confread, int (*)(unsigned, unsigned, unsigned, int, unsigned int *));
PROTO(rumpcomp_pci_confwrite, int (*)(unsigned, unsigned, unsigned, int, unsigned int));
PROTO(rumpcomp_pci_irq_map, int (*)(unsigned, unsigned, unsigned, int, unsigned));
PROTO(rumpcomp_pci_irq_establish, void *(*)(unsigned, int (*)(void *), void *));
PROTO(rumpcomp_pci_dmalloc, int (*)(size_t, size_t, unsigned long *, unsigned long *));
PROTO(rumpcomp_pci_dmafree, void (*)(unsigned long, size_t));
PROTO(rumpcomp_pci_dmamem_map,
    int (*)(struct rumpcomp_pci_dmaseg *, size_t, size_t, void **));
PROTO(rumpcomp_pci_virt_to_mach, unsigned long (*)(void *));
PROTO(rumpcomp_pci_iospace_init, int (*)(void));
