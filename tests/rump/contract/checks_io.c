/*
 * checks_io.c -- files (docs/contract.md §5.2, §5.4, §5.5), block I/O (contract §5.3),
 * exit and kill (contract §1.7).
 */
#include "contract.h"

static char path_a[256], path_b[256], path_disk[256], path_missing[256];

static int write_at(int fd, const void *data, size_t len, int64_t off, size_t *done)
{
	struct rumpuser_iovec iov = { (void *)data, len };
	return rumpuser_iovwrite(fd, &iov, 1, off, done);
}

void checks_files(void)
{
	const char *dir = cp_scratch_dir();
	int fd = -1, fd2 = -1, rv, type = -1;
	uint64_t size = 0;
	size_t n = 0;
	int me = lwp_self()->id;

	if (dir == NULL) {
		CHECK("files_scratch_dir", 0, "platform has no scratch directory");
		return;
	}
	str_copy(path_a, sizeof(path_a), dir, "/a");
	str_copy(path_b, sizeof(path_b), dir, "/b");
	str_copy(path_disk, sizeof(path_disk), dir, "/disk");
	str_copy(path_missing, sizeof(path_missing), dir, "/missing");

	unsigned seq = contract_seq();
	rv = rumpuser_open(path_a, RUMPUSER_OPEN_RDWR | RUMPUSER_OPEN_CREATE | RUMPUSER_OPEN_EXCL, &fd);
	CHECK("open_create_excl", rv == 0 && fd >= 0, "rv %d fd %d", rv, fd);
	CHECK("open_unschedules", contract_wrapped(me, seq, contract_seq()), "open not wrapped");
	rv = rumpuser_open(path_a, RUMPUSER_OPEN_RDWR | RUMPUSER_OPEN_CREATE | RUMPUSER_OPEN_EXCL, &fd2);
	CHECK("open_excl_existing_eexist", rv == NB_EEXIST, "rv %d", rv);
	CHECK("open_missing_enoent", rumpuser_open(path_missing, RUMPUSER_OPEN_RDONLY, &fd2) == NB_ENOENT, "no ENOENT");
	CHECK("open_bad_accmode_einval", rumpuser_open(path_a, RUMPUSER_OPEN_ACCMODE, &fd2) == NB_EINVAL, "mode 3");
	CHECK("open_unknown_flag_einval", rumpuser_open(path_a, 0x100, &fd2) == NB_EINVAL, "flag 0x100 accepted");

	struct rumpuser_iovec wiov[2] = { { "hello", 5 }, { " world", 6 } };
	seq = contract_seq();
	rv = rumpuser_iovwrite(fd, wiov, 2, 100, &n);
	CHECK("iovwrite_offset", rv == 0 && n == 11, "rv %d wrote %zu", rv, n);
	CHECK("iovwrite_unschedules", contract_wrapped(me, seq, contract_seq()), "not wrapped");
	char r1[4], r2[4], r3[3], tail[64];
	struct rumpuser_iovec riov[3] = { { r1, 4 }, { r2, 4 }, { r3, 3 } };
	rv = rumpuser_iovread(fd, riov, 3, 100, &n);
	CHECK("iovread_offset_scatter", rv == 0 && n == 11 && mem_equal(r1, "hell", 4) && mem_equal(r2, "o wo", 4) &&
	    mem_equal(r3, "rld", 3), "rv %d read %zu", rv, n);
	struct rumpuser_iovec tiov = { tail, sizeof(tail) };
	rv = rumpuser_iovread(fd, &tiov, 1, 105, &n);
	CHECK("iovread_short_at_eof", rv == 0 && n == 6 && mem_equal(tail, " world", 6), "rv %d read %zu", rv, n);

	rv = rumpuser_getfileinfo(path_a, &size, &type);
	CHECK("getfileinfo_regular", rv == 0 && type == RUMPUSER_FT_REG && size == 111, "rv %d type %d size %lu", rv,
	    type, (unsigned long)size);
	rv = rumpuser_getfileinfo(dir, &size, &type);
	CHECK("getfileinfo_directory", rv == 0 && type == RUMPUSER_FT_DIR, "rv %d type %d", rv, type);
	CHECK("getfileinfo_null_outputs", rumpuser_getfileinfo(path_a, NULL, NULL) == 0, "NULL size/type refused");
	CHECK("getfileinfo_missing_enoent", rumpuser_getfileinfo(path_missing, &size, &type) == NB_ENOENT, "no ENOENT");

	CHECK("syncfd_write", rumpuser_syncfd(fd, RUMPUSER_SYNCFD_WRITE, 0, 0) == 0, "syncfd WRITE failed");
	CHECK("syncfd_both_barrier_sync", rumpuser_syncfd(fd, RUMPUSER_SYNCFD_BOTH | RUMPUSER_SYNCFD_BARRIER |
	    RUMPUSER_SYNCFD_SYNC, 0, 0) == 0, "syncfd BOTH|BARRIER|SYNC failed");
	CHECK("syncfd_needs_read_or_write", rumpuser_syncfd(fd, RUMPUSER_SYNCFD_SYNC, 0, 0) == NB_EINVAL,
	    "SYNC alone accepted");
	CHECK("close_ok", rumpuser_close(fd) == 0, "close failed");
	CHECK("close_twice_ebadf", rumpuser_close(fd) == NB_EBADF, "second close did not fail with EBADF");

	rv = rumpuser_open(path_a, RUMPUSER_OPEN_RDONLY, &fd);
	CHECK("open_rdonly_refuses_writes", rv == 0 && write_at(fd, "x", 1, 0, &n) == NB_EBADF, "rv %d", rv);
	if (rv == 0)
		rumpuser_close(fd);

	rv = rumpuser_open(path_b, RUMPUSER_OPEN_RDWR | RUMPUSER_OPEN_CREATE, &fd);
	int ok = rv == 0 && write_at(fd, "abc", 3, RUMPUSER_IOV_NOSEEK, &n) == 0 &&
	    write_at(fd, "def", 3, RUMPUSER_IOV_NOSEEK, &n) == 0;
	struct rumpuser_iovec all = { tail, 6 };
	ok &= rumpuser_iovread(fd, &all, 1, 0, &n) == 0 && n == 6 && mem_equal(tail, "abcdef", 6);
	CHECK("iov_noseek_current_position", ok, "rv %d", rv);
	if (rv == 0)
		rumpuser_close(fd);
}

/* ---- bio ---- */

struct completion {
	volatile int done;
	size_t len;
	int error, lwp, scheduled;
};

static void biodone(void *arg, size_t len, int error)
{
	struct completion *c = arg;
	struct lwp *l = rumpuser_curlwp();
	c->len = len;
	c->error = error;
	c->lwp = l != NULL ? l->id : 0;
	c->scheduled = l != NULL && l->scheduled;
	__atomic_store_n(&c->done, 1, __ATOMIC_SEQ_CST);
}

static unsigned char block[4096], readback[4096];

void checks_bio(void)
{
	int fd = -1, me = lwp_self()->id;
	size_t n;

	if (cp_scratch_dir() == NULL)
		return;
	int rv = rumpuser_open(path_disk, RUMPUSER_OPEN_RDWR | RUMPUSER_OPEN_CREATE | RUMPUSER_OPEN_BIO, &fd);
	mem_fill(readback, 0, sizeof(readback));
	for (int i = 0; rv == 0 && i < 16; i++)
		rv = write_at(fd, readback, sizeof(readback), (int64_t)i * 4096, &n);
	if (rv != 0) {
		CHECK("bio_setup", 0, "could not create the 64 KiB disk file: %d", rv);
		return;
	}
	mem_fill(block, 0xab, sizeof(block));
	struct completion w = { 0 };
	unsigned seq = contract_seq();
	rumpuser_bio(fd, RUMPUSER_BIO_WRITE | RUMPUSER_BIO_SYNC, block, sizeof(block), 8192, biodone, &w);
	CHECK("bio_caller_unschedules_around_queueing", contract_wrapped(me, seq, contract_seq()), "not wrapped");
	CHECK("bio_write_completes", wait_flag(&w.done, 5000) && w.len == 4096 && w.error == 0, "len %zu error %d",
	    w.len, w.error);
	CHECK("bio_done_on_host_thread", w.lwp != 0 && w.lwp != me, "biodone ran with lwp %d (caller %d)", w.lwp, me);
	CHECK("bio_done_in_state_s", w.scheduled, "biodone called without a vCPU");
	CHECK("bio_worker_has_persistent_lwp", contract_count(EV_LWPROC_NEWLWP, -1, 0, contract_seq()) >= 1,
	    "no hyp_lwproc_newlwp(0) from a service thread");

	struct completion r = { 0 };
	rumpuser_bio(fd, RUMPUSER_BIO_READ, readback, sizeof(readback), 8192, biodone, &r);
	CHECK("bio_read_back", wait_flag(&r.done, 5000) && r.len == 4096 && r.error == 0 &&
	    mem_equal(block, readback, sizeof(block)), "len %zu error %d", r.len, r.error);

	struct completion s = { 0 };
	rumpuser_bio(fd, RUMPUSER_BIO_READ, readback, 4096, 65536 - 512, biodone, &s);
	CHECK("bio_short_read_reports_error", wait_flag(&s.done, 5000) && s.len == 512 && s.error != 0,
	    "len %zu error %d", s.len, s.error);

	struct completion e = { 0 };
	rumpuser_bio(9999, RUMPUSER_BIO_READ, readback, 512, 0, biodone, &e);
	CHECK("bio_error_reported", wait_flag(&e.done, 5000) && e.error == NB_EBADF && e.len == 0,
	    "len %zu error %d", e.len, e.error);
	rumpuser_close(fd);
}

/* ---- exit and kill, in an isolated child ---- */

static void do_exit(void *arg)
{
	rumpuser_exit(*(int *)arg);
}

static void do_kill(void *arg)
{
	(void)arg;
	int rv = rumpuser_kill(RUMPUSER_PID_SELF, 15);
	rumpuser_exit(rv == 0 ? 42 : 43);
}

void checks_process(void)
{
	struct cp_status st;
	int code = 7, panic = RUMPUSER_PANIC;

	CHECK("kill_other_pid_returns_zero", rumpuser_kill(999999, 0) == 0, "kill returned an error");
	if (cp_run_isolated(do_exit, &code, &st) != 0) {
		out("ok exit_and_kill # skipped: platform cannot isolate\n");
		return;
	}
	CHECK("exit_status", st.exited && st.code == 7, "exited %d code %d signaled %d", st.exited, st.code, st.signaled);
	cp_run_isolated(do_exit, &panic, &st);
	CHECK("exit_panic_abnormal", st.signaled || (st.exited && st.code != 0), "panic exit looked normal");
	cp_run_isolated(do_kill, NULL, &st);
	CHECK("kill_self_signal", (st.signaled && st.signal == 15) || (st.exited && st.code == 42),
	    "exited %d code %d signaled %d signal %d", st.exited, st.code, st.signaled, st.signal);
}
