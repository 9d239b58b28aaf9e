/*
 * panic_drill.c -- a stand-in rump kernel that panics on purpose, for kernels built without
 * components: it starts threads the way a rump kernel does (one asleep on the clock, one blocked
 * on a condition variable, one spinning through mutex hypercalls), prints a panic line on the rump
 * console and calls rumpuser_exit(RUMPUSER_PANIC), as NetBSD's panic() does. The host must stop
 * only the rump kernel (docs/contract.md, "Rump kernel panic"). Linked into the kernel only.
 */
#include "contract.h"

static struct rumpuser_mtx *drill_mtx;
static struct rumpuser_cv *drill_cv;
static volatile int drill_started;
/* Rounds each thread made; the host's `rump` report reads them to show they stopped. */
volatile long drill_rounds[3];

static void sleeper(void *arg)
{
	(void)arg;
	__atomic_add_fetch(&drill_started, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		struct lwp *l = lwp_self();
		l->scheduled = 1;
		rumpuser_clock_sleep(RUMPUSER_CLOCK_RELWALL, 0, 5000000);
		__atomic_add_fetch(&drill_rounds[0], 1, __ATOMIC_SEQ_CST);
	}
}

static void waiter(void *arg)
{
	(void)arg;
	__atomic_add_fetch(&drill_started, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		struct lwp *l = lwp_self();
		l->scheduled = 1;
		rumpuser_mutex_enter(drill_mtx);
		rumpuser_cv_timedwait(drill_cv, drill_mtx, 0, 3000000);
		rumpuser_mutex_exit(drill_mtx);
		__atomic_add_fetch(&drill_rounds[1], 1, __ATOMIC_SEQ_CST);
	}
}

static void spinner(void *arg)
{
	(void)arg;
	__atomic_add_fetch(&drill_started, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		struct lwp *l = lwp_self();
		l->scheduled = 1;
		rumpuser_mutex_enter_nowrap(drill_mtx);
		rumpuser_mutex_exit(drill_mtx);
		rumpuser_cv_broadcast(drill_cv);
		__atomic_add_fetch(&drill_rounds[2], 1, __ATOMIC_SEQ_CST);
		msleep(1);
	}
}

static void console(const char *text)
{
	while (*text)
		rumpuser_putchar(*text++);
}

static void console_hex(unsigned value, int digits)
{
	while (digits-- > 0)
		rumpuser_putchar("0123456789abcdef"[(value >> (4 * digits)) & 15]);
}

static int drill_intr(void *arg)
{
	(void)arg;
	return 0;
}

/*
 * Drives an e1000 (8086:100e) if the machine has one, the way a rump PCI driver starts: memory
 * decoding and bus mastering on, its INTx line mapped and a handler established.
 */
static void take_device(void)
{
	for (unsigned dev = 0; dev < 32; dev++) {
		unsigned id = 0, command = 0, line = 0;
		if (rumpcomp_pci_confread(0, dev, 0, 0x00, &id) != 0 || id != 0x100e8086)
			continue;
		rumpcomp_pci_confread(0, dev, 0, 0x04, &command);
		command = (command & 0xffff & ~0x400u) | 0x6;
		rumpcomp_pci_confwrite(0, dev, 0, 0x04, command);
		rumpcomp_pci_confread(0, dev, 0, 0x3c, &line);
		if (rumpcomp_pci_irq_map(0, dev, 0, (int)(line & 0xff), 0xd1) == 0)
			rumpcomp_pci_irq_establish(0xd1, drill_intr, NULL);
		console("drill: driving 00:");
		console_hex(dev, 2);
		console(".0 (8086:100e), command ");
		console_hex(command, 4);
		console("\n");
		return;
	}
}

/* Runs on the caller's thread and does not return: the host parks it. */
void contract_panic_drill(void)
{
	void (*threads[3])(void *) = { sleeper, waiter, spinner };

	struct lwp *me = lwp_new();

	rumpuser_init(RUMPUSER_VERSION, &contract_hyperup);
	if (me != NULL) {
		me->scheduled = 1;
		rumpuser_curlwpop(RUMPUSER_LWP_SET, me);
	}
	rumpuser_mutex_init(&drill_mtx, RUMPUSER_MTX_SPIN);
	rumpuser_cv_init(&drill_cv);
	take_device();
	for (int i = 0; i < 3; i++)
		spawn(threads[i], NULL, NULL);
	while (__atomic_load_n(&drill_started, __ATOMIC_SEQ_CST) < 3)
		msleep(1);
	msleep(20); /* let every thread go round a few times */
	console("panic: drill: a stand-in rump kernel panics on purpose\n");
	rumpuser_exit(RUMPUSER_PANIC);
}
