/* Runs a command under its own tracer, as a miner that guards itself from ptrace does: every thread of the command
 * is traced (PTRACE_O_TRACECLONE) by this process, which restarts each stop at once and passes signals on. Another
 * process that wants to ptrace the threads gets EPERM. Exits with the command's status.
 *   selftrace COMMAND [ARGS...] */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: selftrace COMMAND [ARGS...]\n");
		return 2;
	}
	pid_t child = fork();
	if (child < 0)
		return 1;
	if (child == 0) {
		raise(SIGSTOP);
		execvp(argv[1], argv + 1);
		_exit(127);
	}
	if (ptrace(PTRACE_SEIZE, child, 0, PTRACE_O_TRACECLONE | PTRACE_O_EXITKILL) < 0) {
		perror("selftrace: PTRACE_SEIZE");
		kill(child, SIGKILL);
		return 1;
	}
	kill(child, SIGCONT);
	for (;;) {
		int st;
		pid_t p = waitpid(-1, &st, __WALL);
		if (p < 0) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			if (p == child)
				return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			continue;
		}
		if (!WIFSTOPPED(st))
			continue;
		int sig = WSTOPSIG(st), pass = 0;
		if ((st >> 16) == 0 && sig != SIGTRAP && sig != SIGSTOP)
			pass = sig;       /* a signal for the tracee: deliver it */
		if ((st >> 16) == PTRACE_EVENT_STOP)
			pass = 0;         /* group stop or a new thread's first stop */
		ptrace(PTRACE_CONT, p, 0, pass);
	}
}
