// build: threads
/*
 * busy — a CPU-bound process with known frames, profiled by the tests.
 *
 *   busy [spin|syscall] [SECONDS] [threads N] [forks N] [exec PROGRAM [ARGS...]]
 *
 *   spin      (default) main -> outer -> hot_loop: a pure user-mode spin.
 *   syscall   main -> outer -> syscall_loop -> syscall(SYS_getppid) in a loop: kernel frames.
 *             (glibc's syscall() sets up no frame, so FP unwinding shows syscall -> outer.)
 *   SECONDS   run that long (fractions allowed), then exit 0; absent or 0: until killed.
 *   threads N run the loop in N threads (N-1 extra plus the main thread).
 *   forks N   N-1 more processes, forked after the banner, running the same loop (a pre-fork pool:
 *             one command line, several pids); each prints "busy child pid=<pid>".
 *   exec ...  when SECONDS are over, exec PROGRAM with ARGS instead of exiting (the pid stays,
 *             the program changes).
 *
 * On start it prints one line to stdout and flushes it:
 *   busy pid=<pid> mode=<mode> hot_loop=<addr> syscall_loop=<addr> outer=<addr>
 * The addresses are run-time ones (the binary is PIE); `nm -S` on the binary gives the sizes.
 * Built with -O1 -fno-omit-frame-pointer -fno-inline-functions (native/tests/CMakeLists.txt).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long sink;
static void *volatile frame; /* taking the frame address makes leaf functions set up rbp */
static int use_syscall;
static double deadline; /* CLOCK_MONOTONIC seconds, 0 = never */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A leaf: without its own frame a frame-pointer unwinder would skip its caller. */
__attribute__((noinline)) void hot_loop(void)
{
	frame = __builtin_frame_address(0);
	for (unsigned long i = 0; i < 2000000; i++)
		sink += i;
}

__attribute__((noinline)) void syscall_loop(void)
{
	for (int i = 0; i < 2000; i++)
		sink += syscall(SYS_getppid);
}

__attribute__((noinline)) void *outer(void *arg)
{
	while (!deadline || now() < deadline) {
		if (use_syscall)
			syscall_loop();
		else
			hot_loop();
	}
	return arg;
}

int main(int argc, char **argv)
{
	int threads = 1, forks = 1;
	double seconds = 0;
	char **exec_argv = NULL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "spin"))
			use_syscall = 0;
		else if (!strcmp(argv[i], "syscall"))
			use_syscall = 1;
		else if (!strcmp(argv[i], "threads") && i + 1 < argc)
			threads = atoi(argv[++i]);
		else if (!strcmp(argv[i], "forks") && i + 1 < argc)
			forks = atoi(argv[++i]);
		else if (!strcmp(argv[i], "exec") && i + 1 < argc) {
			exec_argv = &argv[i + 1];
			break;
		}
		else if (argv[i][0] >= '0' && argv[i][0] <= '9')
			seconds = atof(argv[i]);
		else {
			fprintf(stderr, "usage: busy [spin|syscall] [SECONDS] [threads N] [forks N] [exec PROGRAM ...]\n");
			return 2;
		}
	}
	if (seconds > 0)
		deadline = now() + seconds;
	printf("busy pid=%d mode=%s hot_loop=%p syscall_loop=%p outer=%p\n", (int)getpid(),
	       use_syscall ? "syscall" : "spin", (void *)hot_loop, (void *)syscall_loop, (void *)outer);
	fflush(stdout);
	for (int i = 1; i < forks; i++) {
		pid_t c = fork();
		if (c == 0) {
			printf("busy child pid=%d\n", (int)getpid());
			fflush(stdout);
			break; /* a child: no grandchildren */
		}
	}
	for (int i = 1; i < threads; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, outer, NULL) != 0) {
			perror("pthread_create");
			return 1;
		}
	}
	outer(NULL);
	if (exec_argv) {
		execvp(exec_argv[0], exec_argv);
		perror("execvp");
		return 1;
	}
	return 0;
}
