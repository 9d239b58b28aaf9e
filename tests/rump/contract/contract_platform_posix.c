/*
 * contract_platform_posix.c -- contract_platform.h for a POSIX process.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "contract_platform.h"

static char scratch[256];

void cp_write(const char *text, size_t len)
{
	while (len > 0) {
		ssize_t n = write(1, text, len);
		if (n <= 0)
			return;
		text += n;
		len -= (size_t)n;
	}
}

const char *cp_scratch_dir(void)
{
	if (scratch[0] == '\0') {
		const char *base = getenv("TMPDIR");
		snprintf(scratch, sizeof(scratch), "%s/rump-contract-XXXXXX", base != NULL ? base : "/tmp");
		if (mkdtemp(scratch) == NULL) {
			scratch[0] = '\0';
			return NULL;
		}
	}
	return scratch;
}

void cp_cleanup(void)
{
	DIR *dir;
	struct dirent *entry;
	char path[512];

	if (scratch[0] == '\0' || (dir = opendir(scratch)) == NULL)
		return;
	while ((entry = readdir(dir)) != NULL) {
		if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", scratch, entry->d_name);
		unlink(path);
	}
	closedir(dir);
	rmdir(scratch);
	scratch[0] = '\0';
}

int cp_run_isolated(void (*fn)(void *), void *arg, struct cp_status *status)
{
	int wstatus;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		fn(arg);
		_exit(111); /* fn was expected not to return */
	}
	if (waitpid(pid, &wstatus, 0) != pid)
		return -1;
	memset(status, 0, sizeof(*status));
	if (WIFEXITED(wstatus)) {
		status->exited = 1;
		status->code = WEXITSTATUS(wstatus);
	} else if (WIFSIGNALED(wstatus)) {
		status->signaled = 1;
		status->signal = WTERMSIG(wstatus);
	}
	return 0;
}
