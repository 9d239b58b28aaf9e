/*
 * checks_locks.c -- init (docs/contract.md §1.1), curlwp (contract §3), mutexes
 * (contract §1.11, §2.4), rwlocks (contract §1.12).
 */
#include "contract.h"

static struct lwp *main_lwp;

void checks_init(void)
{
	CHECK("curlwp_null_on_new_thread", rumpuser_curlwp() == NULL, "curlwp %p before any SET",
	    (void *)rumpuser_curlwp());
	CHECK("init_rejects_other_versions", rumpuser_init(16, &contract_hyperup) != 0, "version 16 accepted");
	CHECK("init_accepts_v17", rumpuser_init(RUMPUSER_VERSION, &contract_hyperup) == 0, "version 17 refused");
	main_lwp = lwp_new();
	rumpuser_curlwpop(RUMPUSER_LWP_SET, main_lwp);
	main_lwp->scheduled = 1;
	rumpuser_mutex_init(&contract_sched_mtx, RUMPUSER_MTX_SPIN);
}

/* ---- curlwp ---- */

struct lwp_probe {
	struct lwp *at_start, *after_set, *mine;
	volatile int done;
};

static void *raw_thread(void *arg)
{
	struct lwp_probe *p = arg;
	p->at_start = rumpuser_curlwp();
	rumpuser_curlwpop(RUMPUSER_LWP_SET, p->mine);
	p->after_set = rumpuser_curlwp();
	rumpuser_curlwpop(RUMPUSER_LWP_CLEAR, p->mine);
	__atomic_store_n(&p->done, 1, __ATOMIC_SEQ_CST);
	rumpuser_thread_exit();
}

void checks_curlwp(void)
{
	struct lwp *other = lwp_new();
	struct lwp_probe probe = { .mine = lwp_new() };
	unsigned seq = contract_seq();
	void *cookie = NULL;

	CHECK("curlwp_set_get", rumpuser_curlwp() == main_lwp, "curlwp %p, expected %p",
	    (void *)rumpuser_curlwp(), (void *)main_lwp);
	rumpuser_curlwpop(RUMPUSER_LWP_CLEAR, main_lwp);
	CHECK("curlwp_clear", rumpuser_curlwp() == NULL, "curlwp %p after CLEAR", (void *)rumpuser_curlwp());
	rumpuser_curlwpop(RUMPUSER_LWP_SET, main_lwp);
	rumpuser_curlwpop(RUMPUSER_LWP_CREATE, other);
	rumpuser_curlwpop(RUMPUSER_LWP_DESTROY, other);
	CHECK("curlwp_create_destroy_informational", rumpuser_curlwp() == main_lwp,
	    "CREATE/DESTROY of another lwp changed curlwp");
	CHECK("curlwp_ops_never_upcall", contract_count(EV_BACKEND_UNSCHEDULE, -1, seq, contract_seq()) == 0,
	    "curlwpop made upcalls");

	/* Several rounds: a host may reuse exited threads, which must start clean too. */
	int dirty = 0;
	for (int round = 0; round < 4; round++) {
		probe.at_start = probe.after_set = NULL;
		probe.done = 0;
		if (rumpuser_thread_create(raw_thread, &probe, "lwpprobe", 1, -1, -1, &cookie) != 0 ||
		    join(cookie) != 0) {
			CHECK("curlwp_per_thread", 0, "thread create/join failed");
			return;
		}
		dirty += probe.at_start != NULL;
	}
	CHECK("thread_starts_without_curlwp", dirty == 0, "%d of 4 new threads had a curlwp", dirty);
	CHECK("curlwp_per_thread", probe.after_set == probe.mine && rumpuser_curlwp() == main_lwp,
	    "thread saw %p (expected %p), main now %p", (void *)probe.after_set, (void *)probe.mine,
	    (void *)rumpuser_curlwp());
}

/* ---- mutexes ---- */

struct contender {
	struct rumpuser_mtx *mtx;
	int mode; /* 0 enter, 1 enter_nowrap, 2 tryenter */
	int lwp;
	int try_result;
	struct lwp *owner_after;
	volatile int started, done;
};

static void contend(void *arg)
{
	struct contender *c = arg;
	c->lwp = lwp_self()->id;
	__atomic_store_n(&c->started, 1, __ATOMIC_SEQ_CST);
	if (c->mode == 2) {
		c->try_result = rumpuser_mutex_tryenter(c->mtx);
		if (c->try_result == 0)
			rumpuser_mutex_exit(c->mtx);
	} else {
		if (c->mode == 0)
			rumpuser_mutex_enter(c->mtx);
		else
			rumpuser_mutex_enter_nowrap(c->mtx);
		rumpuser_mutex_owner(c->mtx, &c->owner_after);
		rumpuser_mutex_exit(c->mtx);
	}
	__atomic_store_n(&c->done, 1, __ATOMIC_SEQ_CST);
}

/* Main holds `mtx`, a thread contends in `mode`; returns once the thread is done. */
static void run_contender(struct contender *c, int hold_ms)
{
	rumpuser_mutex_enter(c->mtx);
	spawn(contend, c, NULL);
	wait_flag(&c->started, 2000);
	msleep(hold_ms);
	rumpuser_mutex_exit(c->mtx);
	wait_flag(&c->done, 2000);
}

static int last_backend_schedule(int lwp, const struct event **found)
{
	*found = NULL;
	for (unsigned i = 0; i < contract_seq(); i++) {
		const struct event *e = contract_event(i);
		if (e->lwp == lwp && e->kind == EV_BACKEND_SCHEDULE)
			*found = e;
	}
	return *found != NULL;
}

void checks_mutex(void)
{
	struct rumpuser_mtx *m;
	struct lwp *owner = NULL;
	const struct event *bs;
	unsigned seq;

	rumpuser_mutex_init(&m, RUMPUSER_MTX_KMUTEX);
	seq = contract_seq();
	rumpuser_mutex_enter(m);
	rumpuser_mutex_owner(m, &owner);
	CHECK("mutex_owner_recorded", owner == main_lwp, "owner %p, expected %p", (void *)owner, (void *)main_lwp);
	CHECK("mutex_tryenter_held_ebusy", rumpuser_mutex_tryenter(m) == NB_EBUSY, "tryenter of a held mutex");
	rumpuser_mutex_exit(m);
	rumpuser_mutex_owner(m, &owner);
	CHECK("mutex_owner_cleared", owner == NULL, "owner %p after exit", (void *)owner);
	CHECK("mutex_enter_fast_path_no_upcall", contract_count(EV_BACKEND_UNSCHEDULE, -1, seq, contract_seq()) == 0,
	    "uncontended enter/exit made %d upcalls", contract_count(EV_BACKEND_UNSCHEDULE, -1, seq, contract_seq()));
	CHECK("mutex_tryenter_free", rumpuser_mutex_tryenter(m) == 0, "tryenter of a free mutex failed");
	rumpuser_mutex_exit(m);

	struct contender t = { .mtx = m, .mode = 2 };
	run_contender(&t, 1);
	CHECK("mutex_tryenter_contended_ebusy", t.try_result == NB_EBUSY, "tryenter returned %d", t.try_result);
	CHECK("mutex_tryenter_no_upcall", contract_count(EV_BACKEND_UNSCHEDULE, t.lwp, 0, contract_seq()) == 0,
	    "tryenter unscheduled");

	struct contender a = { .mtx = m, .mode = 0 };
	contract_probe_mtx = m;
	run_contender(&a, 30);
	contract_probe_mtx = NULL;
	CHECK("mutex_contended_unschedules", contract_wrapped(a.lwp, 0, contract_seq()),
	    "no backend_unschedule/backend_schedule pair around the blocking enter");
	last_backend_schedule(a.lwp, &bs);
	CHECK("mutex_owner_set_before_reschedule", bs != NULL && bs->owner != NULL && bs->owner->id == a.lwp,
	    "owner at backend_schedule was lwp %d", bs && bs->owner ? bs->owner->id : 0);
	CHECK("mutex_reschedule_passes_nlocks", bs != NULL && bs->nlocks == CONTRACT_NLOCKS,
	    "backend_schedule(%d), backend_unschedule gave %d", bs ? bs->nlocks : -1, CONTRACT_NLOCKS);
	CHECK("mutex_contended_acquires", a.owner_after != NULL && a.owner_after->id == a.lwp,
	    "owner after enter: %p", (void *)a.owner_after);
	rumpuser_mutex_destroy(m);

	rumpuser_mutex_init(&m, RUMPUSER_MTX_SPIN | RUMPUSER_MTX_KMUTEX);
	struct contender s = { .mtx = m, .mode = 0 };
	run_contender(&s, 20);
	CHECK("mutex_spin_never_unschedules", contract_count(EV_BACKEND_UNSCHEDULE, s.lwp, 0, contract_seq()) == 0,
	    "contended SPIN mutex_enter called backend_unschedule");
	CHECK("mutex_spin_contended_acquires", s.owner_after != NULL && s.owner_after->id == s.lwp, "not acquired");
	rumpuser_mutex_destroy(m);

	rumpuser_mutex_init(&m, RUMPUSER_MTX_KMUTEX);
	struct contender n = { .mtx = m, .mode = 1 };
	run_contender(&n, 20);
	CHECK("mutex_nowrap_never_unschedules", contract_count(EV_BACKEND_UNSCHEDULE, n.lwp, 0, contract_seq()) == 0,
	    "contended mutex_enter_nowrap called backend_unschedule");
	rumpuser_mutex_destroy(m);
}

/* ---- rwlocks ---- */

struct rw_probe {
	struct rumpuser_rw *rw;
	int op; /* 0 try reader, 1 try writer, 2 held reader/writer, 3 enter reader + hold, 4 enter writer */
	int result, held_reader, held_writer, lwp;
	unsigned entered_seq;
	volatile int started, release, done;
};

static void rw_thread(void *arg)
{
	struct rw_probe *p = arg;
	p->lwp = lwp_self()->id;
	__atomic_store_n(&p->started, 1, __ATOMIC_SEQ_CST);
	switch (p->op) {
	case 0:
	case 1:
		p->result = rumpuser_rw_tryenter(p->op, p->rw);
		if (p->result == 0)
			rumpuser_rw_exit(p->rw);
		break;
	case 2:
		rumpuser_rw_held(RUMPUSER_RW_READER, p->rw, &p->held_reader);
		rumpuser_rw_held(RUMPUSER_RW_WRITER, p->rw, &p->held_writer);
		break;
	case 3:
		rumpuser_rw_enter(RUMPUSER_RW_READER, p->rw);
		p->entered_seq = contract_seq();
		__atomic_store_n(&p->result, 1, __ATOMIC_SEQ_CST);
		wait_flag(&p->release, 2000);
		rumpuser_rw_exit(p->rw);
		break;
	case 4:
		rumpuser_rw_enter(RUMPUSER_RW_WRITER, p->rw);
		rumpuser_rw_exit(p->rw);
		break;
	}
	__atomic_store_n(&p->done, 1, __ATOMIC_SEQ_CST);
}

static struct rw_probe rw_run(struct rumpuser_rw *rw, int op)
{
	struct rw_probe p = { .rw = rw, .op = op };
	void *cookie;
	if (spawn(rw_thread, &p, &cookie) == 0)
		join(cookie);
	return p;
}

void checks_rwlock(void)
{
	struct rumpuser_rw *rw;
	int held = 0;
	unsigned seq;

	rumpuser_rw_init(&rw);
	seq = contract_seq();
	rumpuser_rw_enter(RUMPUSER_RW_READER, rw);
	CHECK("rw_enter_fast_path_no_upcall", contract_count(EV_BACKEND_UNSCHEDULE, -1, seq, contract_seq()) == 0,
	    "uncontended rw_enter unscheduled");
	CHECK("rw_readers_share", rw_run(rw, 0).result == 0, "second reader refused");
	CHECK("rw_reader_excludes_writer", rw_run(rw, 1).result == NB_EBUSY, "writer got in beside a reader");
	struct rw_probe h = rw_run(rw, 2);
	CHECK("rw_held_reader_by_anyone", h.held_reader && !h.held_writer, "other thread saw reader=%d writer=%d",
	    h.held_reader, h.held_writer);
	CHECK("rw_tryupgrade_sole_reader", rumpuser_rw_tryupgrade(rw) == 0, "sole reader could not upgrade");
	rumpuser_rw_held(RUMPUSER_RW_WRITER, rw, &held);
	CHECK("rw_held_writer_after_upgrade", held, "not write-held after upgrade");
	CHECK("rw_writer_excludes_reader", rw_run(rw, 0).result == NB_EBUSY, "reader got in beside a writer");
	CHECK("rw_writer_excludes_writer", rw_run(rw, 1).result == NB_EBUSY, "two writers");
	h = rw_run(rw, 2);
	CHECK("rw_held_writer_only_for_owner", !h.held_writer && !h.held_reader,
	    "other thread saw reader=%d writer=%d", h.held_reader, h.held_writer);

	struct rw_probe w = { .rw = rw, .op = 3 };
	spawn(rw_thread, &w, NULL);
	wait_flag(&w.started, 2000);
	msleep(20);
	rumpuser_rw_downgrade(rw);
	rumpuser_rw_held(RUMPUSER_RW_WRITER, rw, &held);
	CHECK("rw_downgrade_drops_write", !held, "still write-held after downgrade");
	rumpuser_rw_held(RUMPUSER_RW_READER, rw, &held);
	CHECK("rw_downgrade_keeps_read", held, "not read-held after downgrade");
	CHECK("rw_downgrade_admits_readers", wait_flag(&w.result, 2000), "waiting reader not admitted");
	CHECK("rw_contended_enter_unschedules", contract_wrapped(w.lwp, 0, w.entered_seq),
	    "blocking rw_enter not wrapped in backend_unschedule/schedule");
	CHECK("rw_tryupgrade_two_readers_ebusy", rumpuser_rw_tryupgrade(rw) == NB_EBUSY,
	    "upgrade succeeded with another reader");
	__atomic_store_n(&w.release, 1, __ATOMIC_SEQ_CST);
	wait_flag(&w.done, 2000);
	rumpuser_rw_exit(rw);
	rumpuser_rw_held(RUMPUSER_RW_READER, rw, &held);
	CHECK("rw_exit_releases", !held, "still read-held after the last exit");
	rumpuser_rw_destroy(rw);
}
