/*
 * faults: small hostile programs for the user-space fault scenarios
 * (xtask/src/scenarios/user_faults.rs). Built on the host at test time with
 * `gcc -static -O1`; run in the guest and, for the modes that are safe there, on the host, and
 * the outputs compared byte for byte.
 *
 * Usage: faults MODE [ARGUMENT]. Every mode prints what it did and what it got, with errno
 * names, so the output can be compared with the host's and with the expected text.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A kernel-half address: never valid for user code. */
#define KERNEL_ADDRESS ((void *)0xffff800000000000ul)

static const char *error_name(int error)
{
    const char *name = strerrorname_np(error);
    return name ? name : "E?";
}

/* Prints "what: ERRNO" for a -1 result, "what: returned N" otherwise. */
static void report(const char *what, long result)
{
    if (result == -1)
        printf("%s: %s\n", what, error_name(errno));
    else
        printf("%s: returned %ld\n", what, result);
    fflush(stdout);
}

static void announce(const char *what)
{
    printf("%s\n", what);
    fflush(stdout);
}

/* ---- CPU faults with the default action: the process dies by the signal ---- */

#pragma GCC diagnostic ignored "-Winfinite-recursion"
static int recurse(int depth)
{
    volatile char frame[256];
    frame[0] = (char)depth;
    return recurse(depth + 1) + frame[0];
}

/* An `idiv` the compiler cannot fold away. */
static void divide_by_zero(void *unused)
{
    (void)unused;
    int zero = 0;
    __asm__ volatile("mov $10, %%eax\n\tcltd\n\tidivl %0" : : "r"(zero) : "eax", "edx");
}

static int fault_default(const char *mode)
{
    if (!strcmp(mode, "null")) {
        announce("null: writing through a NULL pointer");
        *(volatile int *)0 = 42;
    } else if (!strcmp(mode, "jump")) {
        announce("jump: calling address 0xdead0000");
        ((void (*)(void))0xdead0000ul)();
    } else if (!strcmp(mode, "jump-noncanonical")) {
        announce("jump-noncanonical: calling address 0x8000000000000000");
        ((void (*)(void))0x8000000000000000ul)();
    } else if (!strcmp(mode, "write-text")) {
        announce("write-text: writing into the program's own code");
        *(volatile char *)(void *)&recurse = 0;
    } else if (!strcmp(mode, "stack")) {
        announce("stack: unbounded recursion");
        return recurse(0);
    } else if (!strcmp(mode, "divide")) {
        announce("divide: 10 / 0");
        divide_by_zero(NULL);
    } else if (!strcmp(mode, "ud2")) {
        announce("ud2: an undefined instruction");
        __asm__ volatile("ud2");
    } else if (!strcmp(mode, "int3")) {
        announce("int3: a breakpoint without a debugger");
        __asm__ volatile("int3");
    } else if (!strcmp(mode, "segv-blocked")) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGSEGV);
        sigprocmask(SIG_BLOCK, &set, NULL);
        announce("segv-blocked: a NULL read with SIGSEGV blocked");
        return *(volatile int *)0;
    } else if (!strcmp(mode, "segv-ignored")) {
        signal(SIGSEGV, SIG_IGN);
        announce("segv-ignored: a NULL read with SIGSEGV ignored");
        return *(volatile int *)0;
    } else {
        return -1;
    }
    announce("still running after the fault (wrong)");
    return 0;
}

/* ---- Faults caught by handlers ---- */

static sigjmp_buf recovery;
static volatile sig_atomic_t caught_signal;
static volatile int caught_code;
static void *volatile caught_address;

static void on_fault(int signal, siginfo_t *info, void *context)
{
    (void)context;
    caught_signal = signal;
    caught_code = info->si_code;
    caught_address = info->si_addr;
    siglongjmp(recovery, 1);
}

static void on_trap_return(int signal, siginfo_t *info, void *context)
{
    (void)context;
    caught_signal = signal;
    caught_code = info->si_code;
}

static const char *code_name(int signal, int code)
{
    if (code == SI_KERNEL)
        return "SI_KERNEL";
    if (signal == SIGSEGV && code == SEGV_MAPERR)
        return "SEGV_MAPERR";
    if (signal == SIGSEGV && code == SEGV_ACCERR)
        return "SEGV_ACCERR";
    if (signal == SIGFPE && code == FPE_INTDIV)
        return "FPE_INTDIV";
    if (signal == SIGILL && code == ILL_ILLOPN)
        return "ILL_ILLOPN";
    if (signal == SIGBUS && code == BUS_ADRERR)
        return "BUS_ADRERR";
    static char other[32];
    snprintf(other, sizeof other, "code %d", code);
    return other;
}

/* Runs `action` under the catching handlers; prints what arrived. */
static void expect_fault(const char *what, void (*action)(void *), void *argument,
                         void *expected_address)
{
    caught_signal = 0;
    if (sigsetjmp(recovery, 1) == 0) {
        action(argument);
        printf("%s: no signal\n", what);
    } else {
        printf("%s: %s %s", what, sigabbrev_np(caught_signal),
               code_name(caught_signal, caught_code));
        if (expected_address)
            printf(", si_addr %s", caught_address == expected_address ? "right" : "WRONG");
        printf("\n");
    }
    fflush(stdout);
}

static void read_at(void *address) { (void)*(volatile int *)address; }
static void write_at(void *address) { *(volatile int *)address = 1; }
static void call_at(void *address) { ((void (*)(void))address)(); }
static void undefined(void *unused) { (void)unused; __asm__ volatile("ud2"); }

static int handlers(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_fault;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    int signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL};
    for (unsigned i = 0; i < sizeof signals / sizeof signals[0]; i++)
        sigaction(signals[i], &action, NULL);

    char *none = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *readonly = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *gone = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    gone[0] = 1;
    munmap(gone, 4096);

    expect_fault("read 0x10", read_at, (void *)0x10, (void *)0x10);
    expect_fault("write to code", write_at, (void *)&recurse, (void *)&recurse);
    expect_fault("read PROT_NONE page", read_at, none, none);
    expect_fault("write PROT_READ page", write_at, readonly + 8, readonly + 8);
    expect_fault("read unmapped page", read_at, gone + 16, gone + 16);
    expect_fault("call 0xdead0000", call_at, (void *)0xdead0000ul, (void *)0xdead0000ul);
    expect_fault("read kernel address", read_at, KERNEL_ADDRESS, NULL);
    expect_fault("divide by zero", divide_by_zero, NULL, NULL);
    expect_fault("ud2", undefined, NULL, NULL);
    expect_fault("read 0x10 again (mask restored)", read_at, (void *)0x10, (void *)0x10);

    /* A handler that returns: execution continues after the breakpoint. */
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_trap_return;
    action.sa_flags = SA_SIGINFO;
    sigaction(SIGTRAP, &action, NULL);
    caught_signal = 0;
    __asm__ volatile("int3");
    printf("int3 with a returning handler: %s %s, continued\n",
           caught_signal ? sigabbrev_np(caught_signal) : "none",
           code_name(SIGTRAP, caught_code));
    fflush(stdout);
    return 0;
}

static void fault_in_handler(int signal)
{
    (void)signal;
    announce("handler-fault: in the SIGSEGV handler, faulting again");
    *(volatile int *)0 = 2;
}

static int handler_fault(void)
{
    signal(SIGSEGV, fault_in_handler);
    announce("handler-fault: NULL read");
    return *(volatile int *)0;
}

static void never_runs(int signal)
{
    (void)signal;
    announce("stack-handler: the handler ran on the overflowed stack (wrong)");
    _exit(3);
}

static int stack_handler(void)
{
    signal(SIGSEGV, never_runs);
    announce("stack-handler: unbounded recursion with a handler and no alternate stack");
    return recurse(0);
}

static void on_alternate_stack(int signal)
{
    (void)signal;
    announce("stack-altstack: caught the overflow on the alternate stack");
    _exit(0);
}

static int stack_altstack(void)
{
    static char alternate[64 * 1024];
    stack_t stack = {.ss_sp = alternate, .ss_size = sizeof alternate, .ss_flags = 0};
    report("stack-altstack: sigaltstack", sigaltstack(&stack, NULL));
    stack_t current;
    sigaltstack(NULL, &current);
    printf("stack-altstack: alternate stack %s\n",
           current.ss_sp == alternate && current.ss_flags == 0 ? "installed" : "NOT installed");
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_alternate_stack;
    action.sa_flags = SA_ONSTACK;
    sigaction(SIGSEGV, &action, NULL);
    announce("stack-altstack: unbounded recursion");
    return recurse(0);
}

/* ---- Bad pointers to system calls ---- */

static void on_alarm(int signal) { (void)signal; }

static int efault(const char *self)
{
    char buffer[64];
    struct timespec sleep_time = {0, 1000};
    (void)sleep_time;
    /* Linux checks the range before it waits for input; the alarm ends a read that waits. */
    struct sigaction alarm_action;
    memset(&alarm_action, 0, sizeof alarm_action);
    alarm_action.sa_handler = on_alarm;
    sigaction(SIGALRM, &alarm_action, NULL);
    alarm(3);
    report("read(0, kernel address, 10)", syscall(SYS_read, 0, KERNEL_ADDRESS, 10));
    alarm(0);
    report("write(1, 1, 10)", syscall(SYS_write, 1, (void *)1, 10));
    report("write(1, kernel address, 10)", syscall(SYS_write, 1, KERNEL_ADDRESS, 10));
    int null_fd = open("/dev/null", O_RDWR);
    report("read(/dev/null, kernel address, 10)", syscall(SYS_read, null_fd, KERNEL_ADDRESS, 10));
    report("open(1, 0)", syscall(SYS_open, (char *)1, 0));
    report("openat(AT_FDCWD, kernel address, 0)",
           syscall(SYS_openat, AT_FDCWD, KERNEL_ADDRESS, 0));
    report("stat(\"/\", 1)", syscall(SYS_stat, "/", (void *)1));
    report("stat(1, buffer)", syscall(SYS_stat, (char *)1, buffer));
    report("lstat(\"/\", kernel address)", syscall(SYS_lstat, "/", KERNEL_ADDRESS));
    report("fstat(1, 1)", syscall(SYS_fstat, 1, (void *)1));
    report("newfstatat(AT_FDCWD, \"/\", 1, 0)",
           syscall(SYS_newfstatat, AT_FDCWD, "/", (void *)1, 0));
    report("pipe(8)", syscall(SYS_pipe, (int *)8));
    report("pipe2(kernel address, 0)", syscall(SYS_pipe2, KERNEL_ADDRESS, 0));
    char *good_argv[] = {(char *)self, NULL};
    report("execve(self, 1, NULL)", syscall(SYS_execve, self, (char **)1, NULL));
    char *bad_argv[] = {(char *)self, (char *)1, NULL};
    report("execve(self, {self, 1}, NULL)", syscall(SYS_execve, self, bad_argv, NULL));
    report("execve(self, argv, 1)", syscall(SYS_execve, self, good_argv, (char **)1));
    report("execve(1, argv, NULL)", syscall(SYS_execve, (char *)1, good_argv, NULL));
    report("clock_gettime(0, 1)", syscall(SYS_clock_gettime, 0, (void *)1));
    report("clock_getres(0, 1)", syscall(SYS_clock_getres, 0, (void *)1));
    report("gettimeofday(1, NULL)", syscall(SYS_gettimeofday, (void *)1, NULL));
    report("time(1)", syscall(SYS_time, (void *)1));
    report("nanosleep(1, NULL)", syscall(SYS_nanosleep, (void *)1, NULL));
    report("uname(1)", syscall(SYS_uname, (void *)1));
    report("sysinfo(1)", syscall(SYS_sysinfo, (void *)1));
    report("times(1)", syscall(SYS_times, (void *)1));
    report("getrusage(0, 1)", syscall(SYS_getrusage, 0, (void *)1));
    report("getrlimit(RLIMIT_NOFILE, 1)", syscall(SYS_getrlimit, RLIMIT_NOFILE, (void *)1));
    report("prlimit64(0, RLIMIT_NOFILE, NULL, 1)",
           syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, (void *)1));
    report("getcwd(1, 100)", syscall(SYS_getcwd, (char *)1, 100));
    report("chdir(1)", syscall(SYS_chdir, (char *)1));
    report("access(1, 0)", syscall(SYS_access, (char *)1, 0));
    report("readlink(\"test/link\", 1, 10)", syscall(SYS_readlink, "test/link", (char *)1, 10));
    report("mkdir(1, 0)", syscall(SYS_mkdir, (char *)1, 0));
    report("unlink(1)", syscall(SYS_unlink, (char *)1));
    report("rename(1, 2)", syscall(SYS_rename, (char *)1, (char *)2));
    report("statfs(\"/\", 1)", syscall(SYS_statfs, "/", (void *)1));
    report("getdents64(fd of /, 1, 4096)",
           syscall(SYS_getdents64, open("/", O_RDONLY | O_DIRECTORY), (void *)1, 4096));
    report("writev(1, 1, 1)", syscall(SYS_writev, 1, (void *)1, 1));
    struct iovec bad_vector = {(void *)1, 10};
    report("writev(1, {1, 10}, 1)", syscall(SYS_writev, 1, &bad_vector, 1));
    report("readv(/dev/null, 1, 1)", syscall(SYS_readv, null_fd, (void *)1, 1));
    report("poll(1, 1, 0)", syscall(SYS_poll, (void *)1, 1, 0));
    report("select(1, 1, NULL, NULL, NULL)", syscall(SYS_select, 1, (void *)1, NULL, NULL, NULL));
    report("rt_sigaction(SIGUSR1, 1, NULL, 8)",
           syscall(SYS_rt_sigaction, SIGUSR1, (void *)1, NULL, 8));
    report("rt_sigaction(SIGUSR1, NULL, 1, 8)",
           syscall(SYS_rt_sigaction, SIGUSR1, NULL, (void *)1, 8));
    report("rt_sigprocmask(SIG_BLOCK, 1, NULL, 8)",
           syscall(SYS_rt_sigprocmask, SIG_BLOCK, (void *)1, NULL, 8));
    report("rt_sigpending(1, 8)", syscall(SYS_rt_sigpending, (void *)1, 8));
    report("sigaltstack(1, NULL)", syscall(SYS_sigaltstack, (void *)1, NULL));
    report("getrandom(1, 10, 0)", syscall(SYS_getrandom, (void *)1, 10, 0));
    report("sched_getaffinity(0, 128, 1)", syscall(SYS_sched_getaffinity, 0, 128, (void *)1));
    report("arch_prctl(ARCH_GET_FS, 1)", syscall(SYS_arch_prctl, 0x1003, (void *)1));
    report("futex(8, FUTEX_WAIT, 0, NULL)", syscall(SYS_futex, (void *)8, 0, 0, NULL));
    report("getresuid(1, 1, 1)", syscall(SYS_getresuid, (void *)1, (void *)1, (void *)1));
    pid_t child = fork();
    if (child == 0)
        _exit(7);
    report("wait4(-1, 1, 0, NULL) with a child", syscall(SYS_wait4, -1, (int *)1, 0, NULL));
    report("wait4(-1, status, 0, NULL) after that", syscall(SYS_wait4, -1, buffer, 0, NULL));
    child = fork();
    if (child == 0)
        _exit(7);
    report("wait4(child, status, 0, 1)", syscall(SYS_wait4, child, buffer, 0, (void *)1));

    /* What a failed copy leaves behind: the data, the offset, the descriptors. */
    int pipe_ends[2];
    pipe2(pipe_ends, O_NONBLOCK);
    write(pipe_ends[1], "abc", 3);
    report("read(pipe holding \"abc\", 1, 3)", syscall(SYS_read, pipe_ends[0], (void *)1, 3));
    memset(buffer, 0, sizeof buffer);
    long got = read(pipe_ends[0], buffer, sizeof buffer);
    if (got < 0)
        printf("then read(pipe): %s\n", error_name(errno));
    else
        printf("then read(pipe): \"%s\"\n", buffer);
    int file = open(self, O_RDONLY);
    report("read(file, 1, 10)", syscall(SYS_read, file, (void *)1, 10));
    printf("file offset after the failed read: %ld\n", (long)lseek(file, 0, SEEK_CUR));
    int next = open("/dev/null", O_RDONLY);
    printf("next descriptor: %d\n", next);
    fflush(stdout);
    return 0;
}

/* ---- Unaligned and huge arguments ---- */

static int lengths(const char *self)
{
    /* 2 MiB of valid memory: a transfer capped below SIZE_MAX would succeed into it. */
    char *big_buffer = mmap(NULL, 2 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                            -1, 0);
    char small[16];
    int file = open(self, O_RDONLY);
    report("read(file, 16-byte buffer, SIZE_MAX)", syscall(SYS_read, file, small, SIZE_MAX));
    report("read(file, 16-byte buffer, 1 << 63)", syscall(SYS_read, file, small, 1ul << 63));
    int null_fd = open("/dev/null", O_RDWR);
    report("write(/dev/null, buffer, SIZE_MAX)", syscall(SYS_write, null_fd, big_buffer, SIZE_MAX));
    report("read(/dev/null, buffer, SIZE_MAX)", syscall(SYS_read, null_fd, big_buffer, SIZE_MAX));
    report("read(file, end of the address space - 8, 16)",
           syscall(SYS_read, file, (void *)0x7ffffffffff8ul, 16));
    long mapped = (long)mmap(NULL, 1ul << 47, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                        -1, 0);
    report("mmap(2^47 bytes)", mapped == (long)MAP_FAILED ? -1 : 0);
    mapped = (long)mmap(NULL, SIZE_MAX, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    report("mmap(SIZE_MAX bytes)", mapped == (long)MAP_FAILED ? -1 : 0);
    mapped = (long)mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    report("mmap(0 bytes)", mapped == (long)MAP_FAILED ? -1 : 0);
    mapped = (long)mmap((void *)0x10000001, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                        -1, 0);
    report("mmap(MAP_FIXED at an unaligned address)", mapped == (long)MAP_FAILED ? -1 : 0);
    mapped = (long)mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, file, 1);
    report("mmap(file, unaligned offset)", mapped == (long)MAP_FAILED ? -1 : 0);
    char *page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    report("munmap(unaligned address)", munmap(page + 1, 4096));
    report("mprotect(unaligned address)", mprotect(page + 1, 4096, PROT_READ));
    report("mprotect(unmapped range)", mprotect((void *)0x10000000, 4096, PROT_READ));
    report("munmap(0 bytes)", munmap(page, 0));
    long old_break = syscall(SYS_brk, 0);
    printf("brk(2^47) %s\n", syscall(SYS_brk, 1ul << 47) == old_break ? "unchanged" : "MOVED");
    printf("brk(-4096) %s\n", syscall(SYS_brk, -4096l) == old_break ? "unchanged" : "MOVED");
    report("lseek(file, -1, SEEK_SET)", lseek(file, -1, SEEK_SET));
    report("lseek(file, 0, 42)", lseek(file, 0, 42));
    report("pread64(file, buffer, 10, -1)", syscall(SYS_pread64, file, small, 10, -1l));
    struct iovec vector = {small, sizeof small};
    report("readv(file, vector, -1)", syscall(SYS_readv, file, &vector, -1));
    report("readv(file, vector, 1025)", syscall(SYS_readv, file, &vector, 1025));
    struct timespec bad_sleep = {0, 2000000000l};
    report("nanosleep({0, 2e9 ns})", syscall(SYS_nanosleep, &bad_sleep, NULL));
    struct timespec negative_sleep = {-1, 0};
    report("nanosleep({-1 s})", syscall(SYS_nanosleep, &negative_sleep, NULL));
    struct timespec now;
    report("clock_gettime(1000)", syscall(SYS_clock_gettime, 1000, &now));
    report("kill(self, 1000)", syscall(SYS_kill, getpid(), 1000));
    report("kill(self, -1)", syscall(SYS_kill, getpid(), -1));
    report("rt_sigaction(SIGUSR1, NULL, NULL, 4)",
           syscall(SYS_rt_sigaction, SIGUSR1, NULL, NULL, 4));
    report("rt_sigaction(65, NULL, NULL, 8)", syscall(SYS_rt_sigaction, 65, NULL, NULL, 8));
    report("getcwd(buffer, 0)", syscall(SYS_getcwd, small, 0));
    report("getcwd(buffer, 1)", syscall(SYS_getcwd, small, 1));
    report("dup2(1, -1)", dup2(1, -1));
    report("dup2(1, 1 << 20)", dup2(1, 1 << 20));
    report("fcntl(1, F_DUPFD, -1)", fcntl(1, F_DUPFD, -1));
    report("system call 1000", syscall(1000));
    report("system call -1", syscall(-1l));
    fflush(stdout);
    return 0;
}

/* A huge anonymous mapping: more than any machine has, refused at once. */
static int mmap_huge(void)
{
    announce("mmap-huge: asking for 2^46 bytes");
    void *mapped = mmap(NULL, 1ul << 46, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                        -1, 0);
    report("mmap(2^46 bytes)", mapped == MAP_FAILED ? -1 : 0);
    return 0;
}

/* ---- Bad descriptors ---- */

static int ebadf(void)
{
    char buffer[16];
    struct stat status;
    report("read(-1)", read(-1, buffer, 1));
    report("read(99)", read(99, buffer, 1));
    report("read(1 << 30)", read(1 << 30, buffer, 1));
    report("write(99)", write(99, "x", 1));
    report("close(99)", close(99));
    report("close(-1)", close(-1));
    report("dup(99)", dup(99));
    report("dup2(99, 5)", dup2(99, 5));
    report("dup3(1, 1, 0)", syscall(SYS_dup3, 1, 1, 0));
    report("fstat(99)", fstat(99, &status));
    report("lseek(99)", lseek(99, 0, SEEK_SET));
    report("fcntl(99, F_GETFD)", fcntl(99, F_GETFD));
    report("fsync(99)", fsync(99));
    report("fchdir(99)", fchdir(99));
    report("getdents64(99)", syscall(SYS_getdents64, 99, buffer, sizeof buffer));
    report("ftruncate(99, 0)", ftruncate(99, 0));
    report("mmap(99)", mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 99, 0) == MAP_FAILED ? -1 : 0);
    struct pollfd poll_entry = {99, POLLIN, 0};
    long ready = poll(&poll_entry, 1, 0);
    printf("poll(99): returned %ld, revents %s\n", ready,
           poll_entry.revents == POLLNVAL ? "POLLNVAL" : "other");
    int read_only = open("/dev/null", O_RDONLY);
    report("write(read-only descriptor)", write(read_only, "x", 1));
    int write_only = open("/dev/null", O_WRONLY);
    report("read(write-only descriptor)", read(write_only, buffer, 1));
    int ends[2];
    pipe(ends);
    report("read(pipe's write end)", read(ends[1], buffer, 1));
    report("write(pipe's read end)", write(ends[0], "x", 1));
    report("dup2(1, 1)", dup2(1, 1));
    report("close(pipe's read end)", close(ends[0]));
    report("close(it again)", close(ends[0]));
    int directory = open("/", O_RDONLY | O_DIRECTORY);
    report("read(directory)", read(directory, buffer, 1));
    report("write(directory)", write(directory, "x", 1));
    fflush(stdout);
    return 0;
}

/* ---- Copy-on-write fork ---- */

static char shared_page[3 * 4096] __attribute__((aligned(4096)));

/* After fork, writes by either side (by the CPU, and by the kernel through read()) must stay
 * private: each side sees its own bytes, the other the old ones. */
static int fork_cow(void)
{
    memset(shared_page, 'P', sizeof shared_page);
    char *heap = malloc(1 << 20);
    if (!heap)
        return 1;
    memset(heap, 'h', 1 << 20);
    int to_parent[2];
    if (pipe(to_parent) != 0)
        return 1;
    pid_t child = fork();
    if (child == 0) {
        shared_page[0] = 'C';
        heap[4096] = 'c';
        int zero = open("/dev/zero", O_RDONLY);
        /* The kernel's own write into a page still shared with the parent. */
        long got = read(zero, shared_page + 4096, 4096);
        char verdict[4] = {shared_page[0] == 'C' ? 'y' : 'n', heap[4096] == 'c' ? 'y' : 'n',
                           got == 4096 && shared_page[4096] == 0 ? 'y' : 'n',
                           shared_page[2 * 4096] == 'P' ? 'y' : 'n'};
        write(to_parent[1], verdict, sizeof verdict);
        _exit(0);
    }
    char verdict[4] = {0};
    read(to_parent[0], verdict, sizeof verdict);
    int status = 0;
    waitpid(child, &status, 0);
    printf("fork-cow: the child saw its own writes: %s\n",
           verdict[0] == 'y' && verdict[1] == 'y' ? "yes" : "no");
    printf("fork-cow: the kernel wrote into the child's copy: %s\n",
           verdict[2] == 'y' ? "yes" : "no");
    printf("fork-cow: the child saw the parent's untouched bytes: %s\n",
           verdict[3] == 'y' ? "yes" : "no");
    printf("fork-cow: the parent kept its bytes: %s\n",
           shared_page[0] == 'P' && shared_page[4096] == 'P' && heap[4096] == 'h' ? "yes" : "no");
    shared_page[2 * 4096] = 'Q';
    heap[0] = 'q';
    printf("fork-cow: the parent writes after the child exited: %s\n",
           shared_page[2 * 4096] == 'Q' && heap[0] == 'q' ? "yes" : "no");
    /* Many children from one parent, each writing the same page. */
    int ok = 1;
    for (int round = 0; round < 16; round++) {
        pid_t writer = fork();
        if (writer == 0) {
            shared_page[100] = (char)round;
            _exit(shared_page[100] == (char)round && shared_page[0] == 'P' ? 0 : 1);
        }
        waitpid(writer, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || shared_page[100] != 'P')
            ok = 0;
    }
    printf("fork-cow: 16 children wrote their own copies: %s\n", ok ? "yes" : "no");
    fflush(stdout);
    return 0;
}

/* ---- Fork bomb (never run on the host) ---- */

static int forkbomb(void)
{
    int reports[2];
    if (pipe(reports) != 0)
        return 1;
    pid_t top = getpid();
    int first_error = 0;
    /* Every process forks until its first failure, then waits for its children and exits; the
     * failures are counted through the pipe (one byte each: A for EAGAIN, else O). */
    long forks = 0;
    for (;;) {
        pid_t child = fork();
        if (child == 0) {
            forks = 0;
            continue;
        }
        if (child > 0 && getpid() == top && ++forks % 64 == 0)
            fprintf(stderr, "forkbomb: %ld forks by the first process\n", forks);
        if (child < 0) {
            if (getpid() == top)
                fprintf(stderr, "forkbomb: the first process's fork failed (%s) after %ld\n",
                        error_name(errno), forks);
            first_error = errno;
            char mark = errno == EAGAIN ? 'A' : 'O';
            write(reports[1], &mark, 1);
            break;
        }
    }
    while (wait(NULL) > 0) {
    }
    if (getpid() != top)
        _exit(0);
    close(reports[1]);
    long again = 0, other = 0;
    char marks[512];
    long count;
    while ((count = read(reports[0], marks, sizeof marks)) > 0)
        for (long i = 0; i < count; i++)
            marks[i] == 'A' ? again++ : other++;
    printf("forkbomb: first fork failure: %s\n", error_name(first_error));
    printf("forkbomb: every failure was EAGAIN: %s\n", other == 0 && again > 0 ? "yes" : "no");
    printf("forkbomb: all children reaped: %s\n", wait(NULL) < 0 && errno == ECHILD ? "yes" : "no");
    fprintf(stderr, "forkbomb: %ld EAGAIN, %ld other failures\n", again, other);
    return 0;
}

/* ---- Read-only pages after fork: whoever makes one writable gets a copy of its own ---- */

static const char shared_text[] = "read-only data, shared after fork";

static int fork_private(void)
{
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t start = (uintptr_t)shared_text & ~(uintptr_t)(page - 1);
    uintptr_t end = ((uintptr_t)shared_text + sizeof shared_text + page - 1) & ~(uintptr_t)(page - 1);
    /* Through a volatile pointer: the compiler may not assume the constant's value. */
    volatile char *text = (volatile char *)shared_text;
    pid_t child = fork();
    if (child == 0) {
        if (mprotect((void *)start, end - start, PROT_READ | PROT_WRITE) != 0)
            _exit(10);
        text[0] = 'X';
        _exit(text[0] == 'X' ? 0 : 11);
    }
    int status;
    waitpid(child, &status, 0);
    printf("fork-private: the child wrote its copy: %s\n",
           WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "yes" : "no");
    printf("fork-private: the parent's copy unchanged: %s\n", text[0] == 'r' ? "yes" : "no");
    int ready[2];
    if (pipe(ready) != 0)
        return 1;
    child = fork();
    if (child == 0) {
        char go;
        close(ready[1]);
        if (read(ready[0], &go, 1) != 1)
            _exit(12);
        _exit(text[0] == 'r' ? 0 : 13);
    }
    close(ready[0]);
    report("mprotect(read-only data, read+write)",
           mprotect((void *)start, end - start, PROT_READ | PROT_WRITE));
    text[0] = 'Y';
    write(ready[1], "g", 1);
    waitpid(child, &status, 0);
    printf("fork-private: the parent wrote its copy: %s\n", text[0] == 'Y' ? "yes" : "no");
    printf("fork-private: the child still saw the original: %s\n",
           WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "yes" : "no");
    fflush(stdout);
    return 0;
}

/* ---- Memory eater (never run on the host) ---- */

static int eatmem(void)
{
    const size_t chunk = 1 << 20;
    size_t eaten = 0;
    announce("eatmem: allocating and touching 1 MiB chunks");
    for (;;) {
        char *block = malloc(chunk);
        if (!block) {
            int error = errno;
            printf("eatmem: malloc failed with %s\n", error_name(error));
            fprintf(stderr, "eatmem: %zu MiB before the failure\n", eaten);
            return 0;
        }
        for (size_t offset = 0; offset < chunk; offset += 4096)
            block[offset] = 1;
        eaten++;
        if (eaten % 64 == 0)
            fprintf(stderr, "eatmem: %zu MiB\n", eaten);
    }
}

/* ---- exec of hostile files ---- */

static int exec_file(const char *path)
{
    char *argv[] = {(char *)path, NULL};
    char *envp[] = {NULL};
    execve(path, argv, envp);
    printf("execve(%s): %s\n", path, error_name(errno));
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: faults MODE [ARGUMENT]\n");
        return 2;
    }
    const char *mode = argv[1];
    if (!strcmp(mode, "hello")) {
        announce("hello from faults");
        return 0;
    }
    if (!strcmp(mode, "handlers"))
        return handlers();
    if (!strcmp(mode, "handler-fault"))
        return handler_fault();
    if (!strcmp(mode, "stack-handler"))
        return stack_handler();
    if (!strcmp(mode, "stack-altstack"))
        return stack_altstack();
    if (!strcmp(mode, "efault"))
        return efault(argv[0]);
    if (!strcmp(mode, "lengths"))
        return lengths(argv[0]);
    if (!strcmp(mode, "mmap-huge"))
        return mmap_huge();
    if (!strcmp(mode, "ebadf"))
        return ebadf();
    if (!strcmp(mode, "fork-cow"))
        return fork_cow();
    if (!strcmp(mode, "fork-private"))
        return fork_private();
    if (!strcmp(mode, "forkbomb"))
        return forkbomb();
    if (!strcmp(mode, "eatmem"))
        return eatmem();
    if (!strcmp(mode, "exec") && argc > 2)
        return exec_file(argv[2]);
    if (fault_default(mode) == -1) {
        fprintf(stderr, "faults: unknown mode '%s'\n", mode);
        return 2;
    }
    return 0;
}
