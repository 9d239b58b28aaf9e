/*
 * checks_system.c -- threads (docs/contract.md §4), clocks (contract §6), parameters
 * (contract §8), randomness (contract §1.8), memory (contract §1.2), link sets
 * (contract §7.1), stubs (contract §1.15, §1.16), console (contract §1.7), PCI (contract §9).
 */
#include "contract.h"

static void set_flag(void *arg)
{
	__atomic_store_n((volatile int *)arg, 1, __ATOMIC_SEQ_CST);
}

static void slow_set_flag(void *arg)
{
	msleep(20);
	set_flag(arg);
}

void checks_threads(void)
{
	volatile int ran = 0, detached = 0;
	void *cookie = NULL;
	int me = lwp_self()->id;

	unsigned seq = contract_seq();
	int rv = spawn(slow_set_flag, (void *)&ran, &cookie);
	CHECK("thread_create_never_upcalls", contract_count(EV_BACKEND_UNSCHEDULE, me, seq, contract_seq()) == 0,
	    "thread_create unscheduled");
	CHECK("thread_create_joinable", rv == 0 && cookie != NULL, "rv %d cookie %p", rv, cookie);
	seq = contract_seq();
	rv = rv == 0 ? join(cookie) : -1;
	CHECK("thread_join_waits_for_exit", rv == 0 && ran, "join %d, thread ran %d", rv, ran);
	CHECK("thread_join_unschedules", contract_wrapped(me, seq, contract_seq()), "join not wrapped");
	rv = spawn(set_flag, (void *)&detached, NULL);
	CHECK("thread_create_detached_null_cookie", rv == 0 && wait_flag(&detached, 2000), "rv %d, ran %d", rv,
	    detached);
	volatile int never_joined = 0;
	void *unused;
	rv = spawn(set_flag, (void *)&never_joined, &unused);
	CHECK("thread_joinable_never_joined", rv == 0 && wait_flag(&never_joined, 2000), "rv %d", rv);
}

void checks_clock(void)
{
	int64_t sec = 0, prev = 0;
	long nsec = 0;
	int me = lwp_self()->id;
	int monotonic = 1, in_range = 1;

	unsigned seq = contract_seq();
	for (int i = 0; i < 1000; i++) {
		int64_t t = now_ns();
		monotonic &= t >= prev;
		prev = t;
	}
	CHECK("clock_absmono_monotonic", monotonic, "ABSMONO went backwards");
	int rv = rumpuser_clock_gettime(RUMPUSER_CLOCK_RELWALL, &sec, &nsec);
	in_range &= nsec >= 0 && nsec < 1000000000L;
	CHECK("clock_relwall_is_epoch_time", rv == 0 && sec > 1577836800LL, "rv %d sec %lld", rv, (long long)sec);
	rv = rumpuser_clock_gettime(RUMPUSER_CLOCK_ABSMONO, &sec, &nsec);
	in_range &= nsec >= 0 && nsec < 1000000000L;
	CHECK("clock_nsec_in_range", rv == 0 && in_range, "nsec %ld", nsec);
	CHECK("clock_gettime_never_upcalls", contract_count(EV_BACKEND_UNSCHEDULE, me, seq, contract_seq()) == 0,
	    "gettime unscheduled");
	CHECK("clock_unknown_clock_einval", rumpuser_clock_gettime(7, &sec, &nsec) == NB_EINVAL, "clock 7 accepted");

	seq = contract_seq();
	int64_t t0 = now_ns();
	rv = rumpuser_clock_sleep(RUMPUSER_CLOCK_RELWALL, 0, 20000000L);
	int64_t slept = now_ns() - t0;
	CHECK("clock_sleep_relative", rv == 0 && slept >= 20000000LL, "rv %d slept %lld ns of 20 ms", rv,
	    (long long)slept);
	CHECK("clock_sleep_unschedules", contract_wrapped(me, seq, contract_seq()), "sleep not wrapped");

	int64_t deadline = now_ns() + 20000000LL;
	seq = contract_seq();
	rv = rumpuser_clock_sleep(RUMPUSER_CLOCK_ABSMONO, deadline / 1000000000LL, (long)(deadline % 1000000000LL));
	int64_t after = now_ns();
	CHECK("clock_sleep_absolute", rv == 0 && after >= deadline, "woke %lld ns before the deadline",
	    (long long)(deadline - after));
	CHECK("clock_sleep_absolute_unschedules", contract_wrapped(me, seq, contract_seq()), "not wrapped");
	/* A deadline in the past returns at once; the bound only catches a sleep that waits for
	 * something (a timer that never fires), generous so that a loaded machine cannot fail it. */
	t0 = now_ns();
	rv = rumpuser_clock_sleep(RUMPUSER_CLOCK_ABSMONO, 0, 1);
	CHECK("clock_sleep_past_deadline_returns", rv == 0 && now_ns() - t0 < 500000000LL, "took %lld ns",
	    (long long)(now_ns() - t0));
}

/* ---- link sets (contract §7.1) ---- */

static const int component_marker = 17;
__attribute__((section("link_set_rump_components"), used, retain))
static const void *const component_entry = &component_marker;
extern const void *const __start_link_set_rump_components[] __attribute__((weak));
extern const void *const __stop_link_set_rump_components[] __attribute__((weak));
static int callbacks_called;

static void dl_modinit(const struct modinfo *const *mi, size_t n)
{
	(void)mi, (void)n;
	callbacks_called++;
}

static int dl_symload(void *a, uint64_t b, char *c, uint64_t d)
{
	(void)a, (void)b, (void)c, (void)d;
	callbacks_called++;
	return 0;
}

static void dl_compload(const struct rump_component *rc)
{
	(void)rc;
	callbacks_called++;
}

void checks_misc(void)
{
	char buf[64];
	int me = lwp_self()->id;
	unsigned seq = contract_seq();

	int rv = rumpuser_getparam(RUMPUSER_PARAM_NCPU, buf, sizeof(buf));
	CHECK("getparam_ncpu_decimal", rv == 0 && buf[0] >= '1' && buf[0] <= '9', "rv %d value '%s'", rv, rv ? "" : buf);
	rv = rumpuser_getparam(RUMPUSER_PARAM_HOSTNAME, buf, sizeof(buf));
	CHECK("getparam_hostname", rv == 0 && buf[0] != '\0', "rv %d", rv);
	rv = rumpuser_getparam("RUMP_CONTRACT_NO_SUCH_KEY", buf, sizeof(buf));
	CHECK("getparam_unknown_enoent", rv == NB_ENOENT, "rv %d", rv);
	mem_fill(buf, 0x5a, sizeof(buf));
	rv = rumpuser_getparam(RUMPUSER_PARAM_HOSTNAME, buf, 2);
	int untouched = 1;
	for (unsigned i = 2; i < sizeof(buf); i++)
		untouched &= buf[i] == 0x5a;
	CHECK("getparam_small_buffer", rv == NB_ERANGE && untouched, "rv %d, wrote past buflen: %d", rv, !untouched);
	CHECK("getparam_never_upcalls", contract_count(EV_BACKEND_UNSCHEDULE, me, seq, contract_seq()) == 0, "upcalls");

	size_t got = 0;
	rv = rumpuser_getrandom(buf, 32, RUMPUSER_RANDOM_HARD | RUMPUSER_RANDOM_NOWAIT, &got);
	CHECK("getrandom_hard_nowait", rv == 0 && got >= 1 && got <= 32, "rv %d got %zu", rv, got);
	got = 0;
	rv = rumpuser_getrandom(buf, 64, RUMPUSER_RANDOM_HARD, &got);
	CHECK("getrandom_hard", rv == 0 && got >= 1 && got <= 64, "rv %d got %zu", rv, got);
	CHECK("getrandom_bad_flags_einval", rumpuser_getrandom(buf, 8, 0x40, &got) == NB_EINVAL, "flag 0x40 accepted");

	void *p64 = NULL, *page = NULL, *odd = NULL, *big = NULL;
	int ok = rumpuser_malloc(64, 0, &p64) == 0 && ((uintptr_t)p64 & 7) == 0;
	ok &= rumpuser_malloc(4096, 4096, &page) == 0 && ((uintptr_t)page & 4095) == 0;
	ok &= rumpuser_malloc(100, 4096, &odd) == 0 && ((uintptr_t)odd & 4095) == 0;
	ok &= rumpuser_malloc(8192, 65536, &big) == 0 && ((uintptr_t)big & 65535) == 0;
	if (ok) {
		mem_fill(p64, 1, 64), mem_fill(page, 2, 4096), mem_fill(odd, 3, 100), mem_fill(big, 4, 8192);
		rumpuser_free(p64, 64), rumpuser_free(page, 4096), rumpuser_free(odd, 100), rumpuser_free(big, 8192);
	}
	CHECK("malloc_alignment", ok, "%p %p %p %p", p64, page, odd, big);
	void *mapped = NULL;
	rv = rumpuser_anonmmap(NULL, 3 * 4096, 0, 0, &mapped);
	ok = rv == 0 && ((uintptr_t)mapped & 4095) == 0;
	for (int i = 0; ok && i < 3 * 4096; i++)
		ok &= ((unsigned char *)mapped)[i] == 0;
	if (rv == 0)
		rumpuser_unmap(mapped, 3 * 4096);
	CHECK("anonmmap_zeroed_pages", ok, "rv %d at %p", rv, mapped);

	int entries = 0, found = 0;
	for (const void *const *e = __start_link_set_rump_components; e != NULL && e < __stop_link_set_rump_components; e++) {
		entries++;
		found |= *e == &component_marker;
	}
	rumpuser_dl_bootstrap(dl_modinit, dl_symload, dl_compload);
	CHECK("dl_bootstrap_static_link_sets", found && callbacks_called == 0,
	    "link set entries %d (ours found %d), callbacks called %d", entries, found, callbacks_called);
	CHECK("daemonize_enosys", rumpuser_daemonize_begin() == NB_ENOSYS && rumpuser_daemonize_done(0) == NB_ENOSYS,
	    "daemonize did not return ENOSYS");
	CHECK("sysproxy_enosys", rumpuser_sp_init(NULL, NULL, NULL, NULL) == NB_ENOSYS, "sp_init");

	seq = contract_seq();
	rumpuser_seterrno(0);
	rumpuser_dprintf("# dprintf: %d %s %x %5u|%-3c|%%\n", -3, "str", 0xbeefU, 42U, 'z');
	rumpuser_putchar('#'), rumpuser_putchar('\n');
	CHECK("console_and_errno_never_upcall", contract_count(EV_BACKEND_UNSCHEDULE, -1, seq, contract_seq()) == 0,
	    "putchar/dprintf/seterrno made upcalls");

	unsigned value = 0;
	rv = rumpcomp_pci_confread(255, 31, 7, 0, &value);
	CHECK("pci_confread_absent_device", rv == 0 && value == 0xffffffffU, "rv %d value %x", rv, value);
	unsigned long pa = 0, va = 0;
	rv = rumpcomp_pci_dmalloc(8192, 0, &pa, &va);
	ok = rv == 0 && (va & 4095) == 0 && rumpcomp_pci_virt_to_mach((void *)va) == pa;
	if (rv == 0) {
		struct rumpcomp_pci_dmaseg seg[2] = { { pa, 4096, va }, { pa + 4096, 4096, va + 4096 } };
		void *kva = NULL;
		ok &= rumpcomp_pci_dmamem_map(seg, 2, 8192, &kva) == 0 && kva == (void *)va;
		rumpcomp_pci_dmafree(va, 8192);
	}
	CHECK("pci_dma_alloc_map", ok, "rv %d pa %lx va %lx", rv, pa, va);
}
