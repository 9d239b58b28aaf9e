/*
 * Measuring programs for `cargo xtask bench user`: the same static binary runs on the kernel and
 * on Linux booted under the same QEMU, and times itself with clock_gettime(CLOCK_MONOTONIC), so
 * the figures do not depend on how busy the host is between the measured calls.
 *
 * Every result is one line: "@bench NAME UNIT VALUE".
 *
 *   bench getpid COUNT              getpid system calls, ns each
 *   bench spawn COUNT PATH ARG...   fork, exec PATH, wait; us each
 *   bench pipe MIB                  MIB MiB from a child through a pipe, MB/s
 *   bench time NAME PATH ARG...     runs PATH once (output passed through), ms
 *   bench clock                     the monotonic clock now, s
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void result(const char *name, const char *unit, double value)
{
    printf("@bench %s %s %.3f\n", name, unit, value);
    fflush(stdout);
}

static int fail(const char *what)
{
    printf("@bench-error %s: %s\n", what, strerror(errno));
    fflush(stdout);
    return 1;
}

static int run_getpid(long count)
{
    /* The raw call: some C libraries once cached the pid. */
    for (long i = 0; i < count / 10; i++)
        syscall(SYS_getpid);
    double start = now();
    for (long i = 0; i < count; i++)
        syscall(SYS_getpid);
    result("getpid", "ns", (now() - start) * 1e9 / (double)count);
    return 0;
}

/* Runs argv once; returns its wait status or -1. */
static int run_once(char **argv)
{
    pid_t child = fork();
    if (child < 0)
        return -1;
    if (child == 0) {
        execv(argv[0], argv);
        _exit(127);
    }
    int status;
    if (waitpid(child, &status, 0) != child)
        return -1;
    return status;
}

static int run_spawn(long count, char **argv)
{
    for (long i = 0; i < 2; i++)
        if (run_once(argv) != 0)
            return fail("spawn warm-up");
    double start = now();
    for (long i = 0; i < count; i++)
        if (run_once(argv) != 0)
            return fail("spawn: the child failed");
    result("spawn", "us", (now() - start) * 1e6 / (double)count);
    return 0;
}

static int run_pipe(long mib)
{
    static char buffer[65536];
    int ends[2];
    if (pipe(ends) != 0)
        return fail("pipe");
    long total = mib << 20;
    double start = now();
    pid_t child = fork();
    if (child < 0)
        return fail("fork");
    if (child == 0) {
        close(ends[0]);
        memset(buffer, 0x5a, sizeof buffer);
        for (long sent = 0; sent < total;) {
            ssize_t n = write(ends[1], buffer, sizeof buffer);
            if (n <= 0)
                _exit(1);
            sent += n;
        }
        _exit(0);
    }
    close(ends[1]);
    long received = 0;
    for (;;) {
        ssize_t n = read(ends[0], buffer, sizeof buffer);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        received += n;
    }
    int status;
    waitpid(child, &status, 0);
    double elapsed = now() - start;
    close(ends[0]);
    if (received != total || status != 0) {
        printf("@bench-error pipe: %ld of %ld bytes, writer status %d\n", received, total, status);
        return 1;
    }
    result("pipe", "MB/s", (double)total / elapsed / 1e6);
    return 0;
}

static int run_time(const char *name, char **argv)
{
    fflush(stdout);
    double start = now();
    int status = run_once(argv);
    double elapsed = now() - start;
    if (status != 0) {
        printf("@bench-error %s: %s ended with status %d\n", name, argv[0], status);
        return 1;
    }
    result(name, "ms", elapsed * 1e3);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], "getpid"))
        return run_getpid(atol(argv[2]));
    if (argc >= 4 && !strcmp(argv[1], "spawn"))
        return run_spawn(atol(argv[2]), argv + 3);
    if (argc >= 3 && !strcmp(argv[1], "pipe"))
        return run_pipe(atol(argv[2]));
    if (argc >= 4 && !strcmp(argv[1], "time"))
        return run_time(argv[2], argv + 3);
    if (argc >= 2 && !strcmp(argv[1], "clock")) {
        result("clock", "s", now());
        return 0;
    }
    fprintf(stderr, "usage: bench getpid N | spawn N PATH ARG... | pipe MIB | time NAME PATH ARG... | clock\n");
    return 2;
}
