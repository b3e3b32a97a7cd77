/* tracer PID: what anti-debugging malware does to keep others out. Seizes every thread of PID with
 * PTRACE_SEIZE (TRACECLONE: new threads too), then lets them run: every stop is resumed at once, signals are
 * passed on. While it lives, any other PTRACE_SEIZE of those threads fails with EPERM. Exits when PID exits or
 * on SIGTERM/SIGINT (the kernel detaches its tracees). Prints "tracer: seized N" once attached. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char dir[64];
	int n = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: tracer PID\n");
		return 2;
	}
	pid_t pid = (pid_t)atoi(argv[1]);
	snprintf(dir, sizeof dir, "/proc/%d/task", (int)pid);
	DIR *d = opendir(dir);
	if (!d) {
		perror(dir);
		return 1;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		pid_t tid = (pid_t)atoi(e->d_name);
		if (tid <= 0)
			continue;
		if (ptrace(PTRACE_SEIZE, tid, NULL, (void *)(long)(PTRACE_O_TRACECLONE | PTRACE_O_EXITKILL)) == 0)
			n++;
		else
			fprintf(stderr, "tracer: seize %d: %s\n", (int)tid, strerror(errno));
	}
	closedir(d);
	printf("tracer: seized %d\n", n);
	fflush(stdout);
	if (n == 0)
		return 1;
	for (;;) {
		int status;
		pid_t t = waitpid(-1, &status, __WALL);
		if (t < 0) {
			if (errno == EINTR)
				continue;
			return 0; /* no tracee left */
		}
		if (WIFSTOPPED(status)) {
			int sig = WSTOPSIG(status);
			unsigned event = (unsigned)status >> 16;
			/* event stops (clone) and group stops (PTRACE_EVENT_STOP) resume without a signal */
			if (event || sig == SIGTRAP)
				sig = 0;
			if (event == PTRACE_EVENT_STOP)
				ptrace(PTRACE_LISTEN, t, NULL, NULL) == 0 || ptrace(PTRACE_CONT, t, NULL, NULL);
			else
				ptrace(PTRACE_CONT, t, NULL, (void *)(long)sig);
		}
	}
}
