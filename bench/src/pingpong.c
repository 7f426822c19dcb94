/*
 * pingpong — a context-switch-heavy workload for the OFF_CPU benchmark: two threads pass a byte
 * back and forth through two pipes, each blocking in read() until the other writes.
 *
 *   pingpong ROUNDS
 *
 * Prints {"pid": N} and waits for a line on stdin (a profiler attaches meanwhile), then does
 * ROUNDS round trips and prints {"wall_s", "cpu_s", "switches"}: switches are the voluntary
 * context switches of both threads meanwhile, as the kernel counts them (a read that finds its byte
 * already there does not block).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static int ab[2], ba[2];
static long rounds;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

__attribute__((noinline)) static void *pong(void *arg)
{
	char c;
	for (long i = 0; i < rounds; i++)
		if (read(ab[0], &c, 1) != 1 || write(ba[1], &c, 1) != 1)
			exit(1);
	return arg;
}

__attribute__((noinline)) static void ping(void)
{
	char c = 'x';
	for (long i = 0; i < rounds; i++)
		if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1)
			exit(1);
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	rounds = atol(argv[1]);
	if (pipe(ab) || pipe(ba))
		return 1;
	printf("{\"pid\": %d}\n", (int)getpid());
	fflush(stdout);
	char line[16];
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	struct rusage ru0, ru;
	getrusage(RUSAGE_SELF, &ru0);
	pthread_t t;
	pthread_create(&t, NULL, pong, NULL);
	double t0 = now();
	ping();
	pthread_join(t, NULL);
	double wall = now() - t0;
	getrusage(RUSAGE_SELF, &ru);
	printf("{\"wall_s\": %.6f, \"cpu_s\": %.6f, \"switches\": %ld}\n", wall,
	       ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6,
	       ru.ru_nvcsw - ru0.ru_nvcsw);
	fflush(stdout);
	return 0;
}
