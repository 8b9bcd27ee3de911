/*
 * harness.c: main() for unit-test binaries (see harness.h).
 *
 * DESIGN
 * Tests register themselves from constructors into a list, which main()
 * sorts by name so the order is stable.  Each test is run in a child
 * process with its own temporary directory; the parent reads the exit
 * status: 0 is a pass, anything else (assertion, signal, sanitizer) a
 * failure.  Assertion messages go to stdout as TAP diagnostics, written
 * by the child before it exits.
 */
#include <errno.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static struct harness_test *tests;
static char tmpdir[256];

void harness__register(struct harness_test *t)
{
	t->next = tests;
	tests = t;
}

static void rm_tmpdir(void);

/*
 * A child ends with _exit(), which skips LeakSanitizer's exit-time check:
 * run it by hand, so a leak fails the test that leaked.
 */
#if defined(__SANITIZE_ADDRESS__)
void __lsan_do_leak_check(void);
#define leak_check() __lsan_do_leak_check()
#else
#define leak_check() ((void)0)
#endif

void harness__fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	printf("# %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	rm_tmpdir();
	_exit(1);
}

static void rm_tmpdir(void)
{
	pid_t pid;

	if (!tmpdir[0])
		return;
	pid = fork();
	if (pid == 0) {
		execlp("rm", "rm", "-rf", tmpdir, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
	tmpdir[0] = '\0';
}


const char *harness_datadir(void)
{
	const char *d = getenv("CFLUX_TESTDATA");

	return d && *d ? d : "test/data";
}

const char *harness_tmpdir(void)
{
	if (!tmpdir[0]) {
		const char *base = getenv("TMPDIR");

		snprintf(tmpdir, sizeof(tmpdir), "%s/cflux-test-XXXXXX", base && *base ? base : "/tmp");
		if (!mkdtemp(tmpdir)) {
			perror("mkdtemp");
			_exit(2);
		}
	}
	return tmpdir;
}

void harness_put(const char *dir, const char *rel, const char *text)
{
	size_t n = strlen(dir) + strlen(rel) + 2;
	char *p = malloc(n), *s;
	FILE *f;

	if (!p)
		abort();
	snprintf(p, n, "%s/%s", dir, rel);
	for (s = strchr(p + strlen(dir) + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdir(p, 0700);
		*s = '/';
	}
	f = fopen(p, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		harness__fail(__FILE__, __LINE__, "cannot write %s", p);
	free(p);
}

static int cmp_name(const void *a, const void *b)
{
	const struct harness_test *x = *(struct harness_test *const *)a;
	const struct harness_test *y = *(struct harness_test *const *)b;

	return strcmp(x->name, y->name);
}

static const char *prog_name(const char *argv0)
{
	const char *s = strrchr(argv0, '/');

	s = s ? s + 1 : argv0;
	return strncmp(s, "test_", 5) == 0 ? s + 5 : s;
}

int main(int argc, char **argv)
{
	const char *filter = argc > 1 ? argv[1] : NULL;
	const char *prog = prog_name(argv[0]);
	int nofork = getenv("HARNESS_NOFORK") != NULL;
	struct harness_test **v, *t;
	size_t n = 0, i, run = 0;
	int failed = 0;

	for (t = tests; t; t = t->next)
		n++;
	v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return 2;
	for (i = 0, t = tests; t; t = t->next)
		v[i++] = t;
	qsort(v, n, sizeof(*v), cmp_name);
	for (i = 0; i < n; i++)
		if (!filter || strstr(v[i]->name, filter))
			run++;
	printf("1..%zu\n", run);
	fflush(stdout);
	run = 0;
	for (i = 0; i < n; i++) {
		int status = 0, ok;
		pid_t pid;

		if (filter && !strstr(v[i]->name, filter))
			continue;
		run++;
		if (nofork) {
			v[i]->fn();
			ok = 1;
		} else {
			pid = fork();
			if (pid < 0) {
				perror("fork");
				return 2;
			}
			if (pid == 0) {
				v[i]->fn();
				fflush(stdout);
				rm_tmpdir();
				leak_check();
				_exit(0);
			}
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
			if (WIFSIGNALED(status))
				printf("# killed by signal %d\n", WTERMSIG(status));
		}
		printf("%sok %zu - %s: %s\n", ok ? "" : "not ", run, prog, v[i]->name);
		fflush(stdout);
		if (!ok)
			failed++;
	}
	free(v);
	return failed ? 1 : 0;
}
