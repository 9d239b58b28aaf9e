/*
 * contract_main.c -- the suite's runner: output, the recording upcalls, lwps and threads.
 */
#include <stdarg.h>

#include "contract.h"

/* ---- output (no libc: a small formatter for the suite's own messages) ---- */

static int failures, passes;

int str_len(const char *s)
{
	int n = 0;
	while (s[n] != '\0')
		n++;
	return n;
}

void str_copy(char *dst, size_t size, const char *a, const char *b)
{
	size_t n = 0;
	for (; a != NULL && *a != '\0' && n + 1 < size; a++)
		dst[n++] = *a;
	for (; b != NULL && *b != '\0' && n + 1 < size; b++)
		dst[n++] = *b;
	dst[n] = '\0';
}

int mem_equal(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return 0;
	return 1;
}

void mem_fill(void *p, int byte, size_t n)
{
	unsigned char *q = p;
	for (size_t i = 0; i < n; i++)
		q[i] = (unsigned char)byte;
}

struct sink {
	char buf[512];
	size_t len;
};

static void put(struct sink *s, char c)
{
	if (s->len + 1 < sizeof(s->buf))
		s->buf[s->len++] = c;
}

static void put_number(struct sink *s, unsigned long long v, unsigned base, int negative)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v != 0);
	if (negative)
		put(s, '-');
	while (n > 0)
		put(s, tmp[--n]);
}

/* %s %d %u %x %p with optional l/ll/z. */
static void format(struct sink *s, const char *fmt, va_list ap)
{
	for (; *fmt != '\0'; fmt++) {
		int longs = 0;
		if (*fmt != '%') {
			put(s, *fmt);
			continue;
		}
		fmt++;
		while (*fmt == 'l' || *fmt == 'z') {
			longs = 1;
			fmt++;
		}
		switch (*fmt) {
		case 's': {
			const char *str = va_arg(ap, const char *);
			for (str = str ? str : "(null)"; *str != '\0'; str++)
				put(s, *str);
			break;
		}
		case 'd': {
			long long v = longs ? va_arg(ap, long long) : va_arg(ap, int);
			put_number(s, v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v, 10, v < 0);
			break;
		}
		case 'u':
		case 'x': {
			unsigned long long v = longs ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned);
			put_number(s, v, *fmt == 'x' ? 16 : 10, 0);
			break;
		}
		case 'p':
			put(s, '0');
			put(s, 'x');
			put_number(s, (uintptr_t)va_arg(ap, void *), 16, 0);
			break;
		default:
			put(s, *fmt);
			break;
		}
	}
}

void out(const char *fmt, ...)
{
	struct sink s = { .len = 0 };
	va_list ap;
	va_start(ap, fmt);
	format(&s, fmt, ap);
	va_end(ap);
	cp_write(s.buf, s.len);
}

void report(const char *name, int ok, const char *fmt, ...)
{
	struct sink s = { .len = 0 };
	va_list ap;
	const char *p;

	for (p = ok ? "ok " : "FAIL "; *p != '\0'; p++)
		put(&s, *p);
	for (p = name; *p != '\0'; p++)
		put(&s, *p);
	if (!ok) {
		put(&s, ':');
		put(&s, ' ');
		va_start(ap, fmt);
		format(&s, fmt, ap);
		va_end(ap);
		failures++;
	} else {
		passes++;
	}
	put(&s, '\n');
	cp_write(s.buf, s.len);
}

/* ---- lwps ---- */

#define MAX_LWPS 256
static struct lwp lwps[MAX_LWPS];
static int next_lwp;

struct lwp *lwp_new(void)
{
	int i = __atomic_fetch_add(&next_lwp, 1, __ATOMIC_SEQ_CST);
	if (i >= MAX_LWPS)
		return NULL;
	lwps[i].id = i + 1;
	lwps[i].scheduled = 0;
	lwps[i].implicit = 0;
	rumpuser_curlwpop(RUMPUSER_LWP_CREATE, &lwps[i]);
	return &lwps[i];
}

struct lwp *lwp_self(void)
{
	return rumpuser_curlwp();
}

/* ---- the recorder ---- */

#define MAX_EVENTS 8192
static struct event events[MAX_EVENTS];
static unsigned nevents;
struct rumpuser_mtx *contract_sched_mtx;
struct rumpuser_mtx *contract_probe_mtx;
int contract_violations;
char contract_violation_text[128];
static int sched_mtx_taken; /* the fake took the scheduler mutex in backend_unschedule */

static void violation(const char *what)
{
	if (__atomic_fetch_add(&contract_violations, 1, __ATOMIC_SEQ_CST) == 0)
		str_copy(contract_violation_text, sizeof(contract_violation_text), what, NULL);
}

static struct event *record(int kind)
{
	static struct event overflow;
	unsigned i = __atomic_fetch_add(&nevents, 1, __ATOMIC_SEQ_CST);
	struct event *e = i < MAX_EVENTS ? &events[i] : &overflow;
	struct lwp *l = rumpuser_curlwp();
	e->kind = kind;
	e->lwp = l != NULL ? l->id : 0;
	return e;
}

unsigned contract_seq(void)
{
	unsigned n = __atomic_load_n(&nevents, __ATOMIC_SEQ_CST);
	return n < MAX_EVENTS ? n : MAX_EVENTS;
}

const struct event *contract_event(unsigned i)
{
	return &events[i];
}

int contract_count(int kind, int lwp, unsigned from, unsigned to)
{
	int n = 0;
	for (unsigned i = from; i < to && i < MAX_EVENTS; i++)
		if (events[i].kind == kind && (lwp < 0 || events[i].lwp == lwp))
			n++;
	return n;
}

int contract_wrapped(int lwp, unsigned from, unsigned to)
{
	int state = 0; /* 0 = before BU, 1 = after BU, 2 = after BS */
	for (unsigned i = from; i < to && i < MAX_EVENTS; i++) {
		if (events[i].lwp != lwp)
			continue;
		if (events[i].kind == EV_BACKEND_UNSCHEDULE)
			state = state == 0 ? 1 : 3;
		else if (events[i].kind == EV_BACKEND_SCHEDULE)
			state = state == 1 ? 2 : 3;
	}
	return state == 2;
}

static void up_schedule(void)
{
	struct lwp *l = rumpuser_curlwp();
	record(EV_SCHEDULE);
	if (l == NULL) {
		l = lwp_new();
		l->implicit = 1;
		rumpuser_curlwpop(RUMPUSER_LWP_SET, l);
	} else if (l->scheduled) {
		violation("hyp_schedule called in state S");
	}
	l->scheduled = 1;
}

static void up_unschedule(void)
{
	struct lwp *l = rumpuser_curlwp();
	record(EV_UNSCHEDULE);
	if (l == NULL || !l->scheduled) {
		violation("hyp_unschedule without a vCPU");
		return;
	}
	l->scheduled = 0;
	if (l->implicit) {
		rumpuser_curlwpop(RUMPUSER_LWP_CLEAR, l);
		rumpuser_curlwpop(RUMPUSER_LWP_DESTROY, l);
	}
}

static void up_backend_unschedule(int nlocks, int *countp, void *interlock)
{
	struct lwp *l = rumpuser_curlwp();
	struct event *e = record(EV_BACKEND_UNSCHEDULE);
	e->interlock = interlock;
	if (nlocks != 0)
		violation("backend_unschedule with nlocks != 0");
	if (l == NULL)
		violation("backend_unschedule without curlwp");
	else if (!l->scheduled)
		violation("backend_unschedule twice (state U)");
	if (interlock != NULL && interlock == contract_sched_mtx) {
		rumpuser_mutex_enter_nowrap(contract_sched_mtx); /* case A, step (1) */
		__atomic_store_n(&sched_mtx_taken, 1, __ATOMIC_SEQ_CST);
	}
	if (l != NULL)
		l->scheduled = 0;
	*countp = CONTRACT_NLOCKS;
}

static void up_backend_schedule(int nlocks, void *interlock)
{
	struct lwp *l = rumpuser_curlwp();
	struct event *e = record(EV_BACKEND_SCHEDULE);
	e->nlocks = nlocks;
	e->interlock = interlock;
	if (l == NULL)
		violation("backend_schedule with curlwp NULL");
	else if (l->scheduled)
		violation("backend_schedule in state S");
	if (interlock != NULL && interlock == contract_sched_mtx) {
		e->interlock_held = 1;
		if (!__atomic_exchange_n(&sched_mtx_taken, 0, __ATOMIC_SEQ_CST))
			violation("backend_schedule(.., scheduler mutex) without backend_unschedule(.., same)");
		rumpuser_mutex_exit(contract_sched_mtx); /* case A, step (4) */
	} else if (interlock != NULL) {
		struct rumpuser_mtx *m = interlock;
		e->interlock_held = rumpuser_mutex_tryenter(m) != 0;
		if (!e->interlock_held)
			rumpuser_mutex_exit(m);
	}
	if (contract_probe_mtx != NULL)
		rumpuser_mutex_owner(contract_probe_mtx, &e->owner);
	if (l != NULL)
		l->scheduled = 1;
}

static void up_lwproc_switch(struct lwp *l)
{
	(void)l;
	record(EV_LWPROC_SWITCH);
}

static void up_lwproc_release(void)
{
	record(EV_LWPROC_RELEASE);
}

static int up_lwproc_rfork(void *priv, int flags, const char *comm)
{
	(void)priv, (void)flags, (void)comm;
	record(EV_LWPROC_RFORK);
	return 6; /* ENXIO, as librump without sysproxy */
}

/* docs/contract.md §2.2: create a new lwp for the calling thread; it survives hyp_unschedule. */
static int up_lwproc_newlwp(int pid)
{
	struct lwp *old = rumpuser_curlwp();
	struct lwp *l;
	record(EV_LWPROC_NEWLWP);
	if (pid != 0 || old == NULL || !old->scheduled) {
		violation("hyp_lwproc_newlwp outside state S or with pid != 0");
		return NB_EINVAL;
	}
	if ((l = lwp_new()) == NULL)
		return 12;
	rumpuser_curlwpop(RUMPUSER_LWP_CLEAR, old);
	if (old->implicit)
		rumpuser_curlwpop(RUMPUSER_LWP_DESTROY, old);
	rumpuser_curlwpop(RUMPUSER_LWP_SET, l);
	l->scheduled = 1;
	return 0;
}

static struct lwp *up_lwproc_curlwp(void)
{
	return rumpuser_curlwp();
}

static int up_syscall(int num, void *arg, long *retval)
{
	(void)num, (void)arg, (void)retval;
	record(EV_SYSCALL);
	return NB_ENOSYS;
}

static int up_getpid(void)
{
	record(EV_GETPID);
	return 1;
}

const struct rumpuser_hyperup contract_hyperup = {
	.hyp_schedule = up_schedule,
	.hyp_unschedule = up_unschedule,
	.hyp_backend_unschedule = up_backend_unschedule,
	.hyp_backend_schedule = up_backend_schedule,
	.hyp_lwproc_switch = up_lwproc_switch,
	.hyp_lwproc_release = up_lwproc_release,
	.hyp_lwproc_rfork = up_lwproc_rfork,
	.hyp_lwproc_newlwp = up_lwproc_newlwp,
	.hyp_lwproc_curlwp = up_lwproc_curlwp,
	.hyp_syscall = up_syscall,
	.hyp_getpid = up_getpid,
};

/* ---- threads and time ---- */

struct job {
	void (*fn)(void *);
	void *arg;
};

#define MAX_JOBS 128
static struct job jobs[MAX_JOBS];
static int next_job;

static void *trampoline(void *arg)
{
	struct job *job = arg;
	struct lwp *l = lwp_new();
	rumpuser_curlwpop(RUMPUSER_LWP_SET, l);
	l->scheduled = 1;
	job->fn(job->arg);
	l->scheduled = 0;
	rumpuser_curlwpop(RUMPUSER_LWP_CLEAR, l);
	rumpuser_thread_exit();
}

int spawn(void (*fn)(void *), void *arg, void **cookie)
{
	int i = __atomic_fetch_add(&next_job, 1, __ATOMIC_SEQ_CST);
	if (i >= MAX_JOBS)
		return 12;
	jobs[i].fn = fn;
	jobs[i].arg = arg;
	return rumpuser_thread_create(trampoline, &jobs[i], "contract", cookie != NULL, -1, -1, cookie);
}

int join(void *cookie)
{
	return rumpuser_thread_join(cookie);
}

int64_t now_ns(void)
{
	int64_t sec = 0;
	long nsec = 0;
	rumpuser_clock_gettime(RUMPUSER_CLOCK_ABSMONO, &sec, &nsec);
	return sec * 1000000000LL + nsec;
}

void msleep(long ms)
{
	rumpuser_clock_sleep(RUMPUSER_CLOCK_RELWALL, ms / 1000, (ms % 1000) * 1000000L);
}

int wait_flag(volatile int *flag, long ms)
{
	for (long i = 0; i < ms && !__atomic_load_n(flag, __ATOMIC_SEQ_CST); i++)
		msleep(1);
	return __atomic_load_n(flag, __ATOMIC_SEQ_CST);
}

/* ---- entry ---- */

/* Runs every check; returns the number of failed checks. */
int contract_main(void)
{
	failures = passes = 0;
	out("# rumpuser contract suite (docs/contract.md, v17)\n");
	checks_init();
	checks_curlwp();
	checks_mutex();
	checks_rwlock();
	checks_condvar();
	checks_threads();
	checks_clock();
	checks_misc();
	checks_files();
	checks_bio();
	checks_process();
	CHECK("protocol_never_violated", contract_violations == 0, "%d violations, first: %s",
	    contract_violations, contract_violation_text);
	cp_cleanup();
	out("# %d passed, %d failed\n", passes, failures);
	return failures;
}
