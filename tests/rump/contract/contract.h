/*
 * contract.h -- shared parts of the rumpuser contract suite.
 *
 * The suite plays the rump kernel: it calls rumpuser_init with recording upcalls, keeps a
 * fake lwp per thread, and checks each rule of the hypercall contract, docs/contract.md
 * ("contract §N" in these files is its section N), as a named check printing "ok NAME" or
 * "FAIL NAME: WHY". It uses only rumpuser.h and contract_platform.h (no libc), so the
 * kernel can link the same sources.
 */
#ifndef CONTRACT_H
#define CONTRACT_H

#include <stddef.h>
#include <stdint.h>

#include "contract_platform.h"
#include "rumpuser.h"

/* NetBSD errno values the checks expect (contract §0.2). */
#define NB_ENOENT 2
#define NB_EBADF 9
#define NB_EBUSY 16
#define NB_EEXIST 17
#define NB_EINVAL 22
#define NB_ERANGE 34
#define NB_ETIMEDOUT 60
#define NB_ENOSYS 78

/* The suite's lwp: what the fake rump kernel knows about a context. */
struct lwp {
	int id;
	int scheduled;  /* holds a (fake) vCPU: state S */
	int implicit;   /* made by hyp_schedule, freed by hyp_unschedule */
};

/* Recorded upcalls. */
enum ev_kind {
	EV_SCHEDULE,
	EV_UNSCHEDULE,
	EV_BACKEND_UNSCHEDULE,
	EV_BACKEND_SCHEDULE,
	EV_LWPROC_SWITCH,
	EV_LWPROC_RELEASE,
	EV_LWPROC_NEWLWP,
	EV_LWPROC_RFORK,
	EV_GETPID,
	EV_SYSCALL,
};

struct event {
	int kind;
	int lwp;              /* id of curlwp when the upcall happened, 0 = none */
	int nlocks;           /* backend_schedule's argument */
	void *interlock;      /* backend_(un)schedule's interlock */
	int interlock_held;   /* backend_schedule: interlock mutex was held at that moment */
	struct lwp *owner;    /* backend_schedule: owner of the probe mutex at that moment */
};

/* Recorder (contract_main.c). */
extern const struct rumpuser_hyperup contract_hyperup;
extern struct rumpuser_mtx *contract_sched_mtx; /* plays librump's per-vCPU scheduler mutex */
extern struct rumpuser_mtx *contract_probe_mtx; /* owner recorded at every backend_schedule */
#define CONTRACT_NLOCKS 7                        /* giant count handed out by backend_unschedule */
unsigned contract_seq(void);                     /* events so far */
const struct event *contract_event(unsigned i);
int contract_count(int kind, int lwp, unsigned from, unsigned to);
int contract_wrapped(int lwp, unsigned from, unsigned to); /* exactly one BU then one BS */
extern int contract_violations;                  /* protocol errors seen by the upcalls */
extern char contract_violation_text[128];

/* Fake lwps and threads. */
struct lwp *lwp_new(void);
struct lwp *lwp_self(void);
/* Starts fn(arg) on a rump thread that SETs a fresh lwp first. `cookie` NULL = detached. */
int spawn(void (*fn)(void *), void *arg, void **cookie);
int join(void *cookie);
void msleep(long ms);
int64_t now_ns(void);
/* Sleeps in 1 ms steps until *flag != 0 or `ms` passed; returns *flag. */
int wait_flag(volatile int *flag, long ms);

/* Reporting. */
void report(const char *name, int ok, const char *fmt, ...);
void out(const char *fmt, ...);
int str_len(const char *s);
void str_copy(char *dst, size_t size, const char *a, const char *b);
int mem_equal(const void *a, const void *b, size_t n);
void mem_fill(void *p, int byte, size_t n);

#define CHECK(name, cond, ...) report(name, (cond) ? 1 : 0, __VA_ARGS__)

/* Check groups. */
void checks_init(void);
void checks_curlwp(void);
void checks_mutex(void);
void checks_rwlock(void);
void checks_condvar(void);
void checks_threads(void);
void checks_clock(void);
void checks_misc(void);
void checks_files(void);
void checks_bio(void);
void checks_process(void);

#endif
