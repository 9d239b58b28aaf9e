/*
 * checks_condvar.c -- condition variables (docs/contract.md §1.13) and the exact wait
 * protocol (contract §2.5).
 */
#include "contract.h"

struct waiter {
	struct rumpuser_cv *cv;
	struct rumpuser_mtx *mtx;
	volatile int *predicate;
	int nowrap, lwp;
	struct lwp *owner_after;
	volatile int done;
};

static void wait_thread(void *arg)
{
	struct waiter *w = arg;
	w->lwp = lwp_self()->id;
	if (w->nowrap)
		rumpuser_mutex_enter_nowrap(w->mtx);
	else
		rumpuser_mutex_enter(w->mtx);
	while (!*w->predicate) {
		if (w->nowrap)
			rumpuser_cv_wait_nowrap(w->cv, w->mtx);
		else
			rumpuser_cv_wait(w->cv, w->mtx);
	}
	rumpuser_mutex_owner(w->mtx, &w->owner_after);
	rumpuser_mutex_exit(w->mtx);
	__atomic_store_n(&w->done, 1, __ATOMIC_SEQ_CST);
}

/* Waits until `cv` reports `n` waiters; returns the last count seen. */
static int await_waiters(struct rumpuser_cv *cv, int n)
{
	int waiters = 0;
	for (int i = 0; i < 2000; i++) {
		rumpuser_cv_has_waiters(cv, &waiters);
		if (waiters >= n)
			break;
		msleep(1);
	}
	return waiters;
}

/* Finds the backend_schedule of `lwp` whose interlock is `mtx`, from `from` on. */
static const struct event *schedule_with(int lwp, void *mtx, unsigned from)
{
	for (unsigned i = from; i < contract_seq(); i++) {
		const struct event *e = contract_event(i);
		if (e->lwp == lwp && e->kind == EV_BACKEND_SCHEDULE && e->interlock == mtx)
			return e;
	}
	return NULL;
}

/* Finds the backend_unschedule of `lwp` whose interlock is `mtx`, from `from` on. */
static const struct event *unschedule_with(int lwp, void *mtx, unsigned from)
{
	for (unsigned i = from; i < contract_seq(); i++) {
		const struct event *e = contract_event(i);
		if (e->lwp == lwp && e->kind == EV_BACKEND_UNSCHEDULE && e->interlock == mtx)
			return e;
	}
	return NULL;
}

static void check_timeout(void)
{
	struct rumpuser_cv *cv;
	struct rumpuser_mtx *m;
	struct lwp *owner = NULL;
	int me = lwp_self()->id;

	rumpuser_cv_init(&cv);
	rumpuser_mutex_init(&m, RUMPUSER_MTX_KMUTEX);
	rumpuser_mutex_enter(m);
	unsigned seq = contract_seq();
	int64_t t0 = now_ns();
	int rv = rumpuser_cv_timedwait(cv, m, 0, 30000000);
	int64_t elapsed = now_ns() - t0;
	unsigned end = contract_seq();
	rumpuser_mutex_owner(m, &owner);
	CHECK("cv_timedwait_etimedout", rv == NB_ETIMEDOUT, "returned %d", rv);
	CHECK("cv_timedwait_not_early", elapsed >= 30000000, "returned after %lld ns of 30 ms", (long long)elapsed);
	CHECK("cv_timedwait_holds_mutex_on_return", owner == lwp_self(), "owner %p", (void *)owner);
	CHECK("cv_wait_unschedules_with_interlock", contract_wrapped(me, seq, end) &&
	    contract_count(EV_BACKEND_UNSCHEDULE, me, seq, end) == 1 && unschedule_with(me, m, seq) != NULL &&
	    schedule_with(me, m, seq) != NULL,
	    "expected backend_unschedule(.., mtx) then backend_schedule(.., mtx)");
	const struct event *bs = schedule_with(me, m, seq);
	CHECK("cv_wait_reschedule_passes_nlocks", bs != NULL && bs->nlocks == CONTRACT_NLOCKS, "nlocks %d",
	    bs ? bs->nlocks : -1);
	rumpuser_mutex_exit(m);

	/* Three reacquire orders (contract §2.5 B, C, D), observed at backend_schedule. */
	static const struct { const char *name; int flags; int held; } cases[] = {
		{ "cv_adaptive_mutex_before_vcpu", RUMPUSER_MTX_KMUTEX, 1 },
		{ "cv_spin_kmutex_vcpu_before_mutex", RUMPUSER_MTX_SPIN | RUMPUSER_MTX_KMUTEX, 0 },
		{ "cv_spin_only_mutex_before_vcpu", RUMPUSER_MTX_SPIN, 1 },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rumpuser_mtx *cm;
		rumpuser_mutex_init(&cm, cases[i].flags);
		rumpuser_mutex_enter(cm);
		seq = contract_seq();
		rv = rumpuser_cv_timedwait(cv, cm, 0, 2000000);
		bs = schedule_with(me, cm, seq);
		int back = rumpuser_mutex_tryenter(cm) == NB_EBUSY;
		CHECK(cases[i].name, rv == NB_ETIMEDOUT && bs != NULL && bs->interlock_held == cases[i].held && back,
		    "rv %d, mutex %sheld at backend_schedule, held on return %d", rv,
		    bs && bs->interlock_held ? "" : "not ", back);
		rumpuser_mutex_exit(cm);
		rumpuser_mutex_destroy(cm);
	}

	/* contract §2.5 A: the interlock is librump's scheduler mutex, not held on entry or return. */
	seq = contract_seq();
	rv = rumpuser_cv_timedwait(cv, contract_sched_mtx, 0, 2000000);
	int free_after = rumpuser_mutex_tryenter(contract_sched_mtx) == 0;
	if (free_after)
		rumpuser_mutex_exit(contract_sched_mtx);
	CHECK("cv_scheduler_interlock_case_a", rv == NB_ETIMEDOUT && free_after &&
	    unschedule_with(me, contract_sched_mtx, seq) && schedule_with(me, contract_sched_mtx, seq),
	    "rv %d, scheduler mutex free after return %d, interlock passed to backend_unschedule %d", rv,
	    free_after, unschedule_with(me, contract_sched_mtx, seq) != NULL);
	rumpuser_mutex_destroy(m);
	rumpuser_cv_destroy(cv);
}

static void check_wakeups(void)
{
	struct rumpuser_cv *cv;
	struct rumpuser_mtx *m;
	volatile int predicate = 0;
	int waiters;

	rumpuser_cv_init(&cv);
	rumpuser_mutex_init(&m, RUMPUSER_MTX_KMUTEX);
	struct waiter one = { .cv = cv, .mtx = m, .predicate = &predicate };
	spawn(wait_thread, &one, NULL);
	waiters = await_waiters(cv, 1);
	CHECK("cv_has_waiters_counts", waiters >= 1, "has_waiters %d with a thread waiting", waiters);
	unsigned seq = contract_seq();
	rumpuser_mutex_enter(m);
	predicate = 1;
	rumpuser_cv_signal(cv);
	rumpuser_mutex_exit(m);
	CHECK("cv_signal_never_upcalls", contract_count(EV_BACKEND_UNSCHEDULE, lwp_self()->id, seq, contract_seq()) == 0,
	    "signal unscheduled");
	CHECK("cv_signal_wakes_waiter", wait_flag(&one.done, 2000), "waiter not woken");
	CHECK("cv_wait_returns_with_mutex", one.owner_after != NULL && one.owner_after->id == one.lwp,
	    "owner after wait %p", (void *)one.owner_after);
	rumpuser_cv_has_waiters(cv, &waiters);
	CHECK("cv_has_waiters_zero_after", waiters == 0, "has_waiters %d after wake-up", waiters);

	predicate = 0;
	struct waiter many[3];
	for (int i = 0; i < 3; i++) {
		many[i] = (struct waiter){ .cv = cv, .mtx = m, .predicate = &predicate };
		spawn(wait_thread, &many[i], NULL);
	}
	waiters = await_waiters(cv, 3);
	rumpuser_mutex_enter(m);
	predicate = 1;
	rumpuser_cv_broadcast(cv);
	rumpuser_mutex_exit(m);
	int woken = 0;
	for (int i = 0; i < 3; i++)
		woken += wait_flag(&many[i].done, 2000);
	CHECK("cv_broadcast_wakes_all", waiters == 3 && woken == 3, "%d waiters, %d woken", waiters, woken);
	rumpuser_mutex_destroy(m);

	/* cv_wait_nowrap with a SPIN mutex: no upcalls at all. */
	predicate = 0;
	rumpuser_mutex_init(&m, RUMPUSER_MTX_SPIN);
	struct waiter nw = { .cv = cv, .mtx = m, .predicate = &predicate, .nowrap = 1 };
	spawn(wait_thread, &nw, NULL);
	await_waiters(cv, 1);
	rumpuser_mutex_enter_nowrap(m);
	predicate = 1;
	rumpuser_cv_signal(cv);
	rumpuser_mutex_exit(m);
	CHECK("cv_wait_nowrap_wakes", wait_flag(&nw.done, 2000), "nowrap waiter not woken");
	CHECK("cv_wait_nowrap_never_upcalls", contract_count(EV_BACKEND_UNSCHEDULE, nw.lwp, 0, contract_seq()) == 0 &&
	    contract_count(EV_BACKEND_SCHEDULE, nw.lwp, 0, contract_seq()) == 0, "cv_wait_nowrap made upcalls");
	rumpuser_mutex_destroy(m);
	rumpuser_cv_destroy(cv);
}

void checks_condvar(void)
{
	check_timeout();
	check_wakeups();
}
