/*
 * contract_platform.h -- what the contract suite needs from the platform it runs on.
 *
 * The suite itself (contract_*.c) uses only the rumpuser ABI and these functions, so the
 * same sources run in a Linux process (contract_platform_posix.c) and inside the kernel,
 * which supplies its own implementation of this interface.
 */
#ifndef CONTRACT_PLATFORM_H
#define CONTRACT_PLATFORM_H

#include <stddef.h>

/* Writes `len` bytes of suite output (one or more complete lines). */
void cp_write(const char *text, size_t len);

/* An existing, empty, writable directory for file tests, as an absolute host path
 * without a trailing slash (the same namespace rumpuser_open uses). NULL if none. */
const char *cp_scratch_dir(void);

/* Removes what the suite created below cp_scratch_dir() (best effort). */
void cp_cleanup(void);

/* How an isolated run ended. */
struct cp_status {
	int exited;   /* ended through exit: `code` is valid */
	int code;
	int signaled; /* ended by a signal: `signal` is valid */
	int signal;
};

/* Runs fn(arg) in an isolated copy of the program (a forked child on POSIX) and waits
 * for it to end. Returns 0 and fills *status, or -1 when the platform cannot isolate
 * (then the exit/kill checks are reported as skipped). */
int cp_run_isolated(void (*fn)(void *), void *arg, struct cp_status *status);

#endif
