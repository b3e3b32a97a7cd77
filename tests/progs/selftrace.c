/* selftrace: trace a process the way anti-debugging malware traces itself, so that no one else can attach:
 * PTRACE_SEIZE every thread of PID with PTRACE_O_TRACECLONE (new threads are traced too), then let it run,
 * passing on every signal it gets. Prints "selftrace: ready N" once N threads are seized; exits when PID exits
 * or on SIGTERM (the kernel detaches a dying tracer's tracees).
 *
 * usage: selftrace PID */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
	if (argc != 2 || atoi(argv[1]) <= 0) {
		fprintf(stderr, "usage: selftrace PID\n");
		return 2;
	}
	int pid = atoi(argv[1]);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	DIR *d = opendir(path);
	if (!d) {
		fprintf(stderr, "selftrace: %s: %s\n", path, strerror(errno));
		return 1;
	}
	unsigned n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		int tid = atoi(de->d_name);
		if (tid <= 0)
			continue;
		if (ptrace(PTRACE_SEIZE, tid, NULL, (void *)(long)PTRACE_O_TRACECLONE) != 0) {
			fprintf(stderr, "selftrace: seize %d: %s\n", tid, strerror(errno));
			return 1;
		}
		n++;
	}
	closedir(d);
	printf("selftrace: ready %u\n", n);
	fflush(stdout);
	for (;;) {
		int st;
		int t = waitpid(-1, &st, __WALL);
		if (t < 0) {
			if (errno == EINTR)
				continue;
			return 0; /* no tracee left */
		}
		if (!WIFSTOPPED(st))
			continue; /* a thread exited */
		int sig = WSTOPSIG(st);
		/* event stops (clone, interrupt) and group stops resume without a signal; a signal-delivery stop passes
		 * its signal on */
		if ((st >> 16) != 0 || sig == SIGTRAP)
			sig = 0;
		ptrace(PTRACE_CONT, t, NULL, (void *)(long)sig);
	}
}
