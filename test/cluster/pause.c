/*
 * pause.c: the pod sandbox's process for the local node (test/cluster/node.sh).
 *
 * It holds the pod's namespaces and does nothing else: it sleeps until
 * SIGINT or SIGTERM ends it, and reaps any child that is re-parented to
 * it (it is PID 1 when the pod shares its PID namespace).  Linked
 * statically, so its image is this one file.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int sig)
{
	_exit(sig == SIGTERM || sig == SIGINT ? 0 : 1);
}

static void reap(int sig)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

int main(void)
{
	struct sigaction sa = { .sa_handler = stop };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = reap;
	sa.sa_flags = SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	for (;;)
		pause();
	return 0;
}
