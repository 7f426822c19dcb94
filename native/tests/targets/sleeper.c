// build: threads
/*
 * sleeper — a process that waits in known places, for the off-CPU tests.
 *
 *   sleeper NAPS NAP_MS [PAUSE_MS]
 *
 *   After a pause of PAUSE_MS (default 600; in pause_first, so that a profiler attached meanwhile sees every
 *   nap), main -> nap_loop -> nap sleeps NAPS times for NAP_MS each (nanosleep), spinning for
 *   NAP_MS in between; meanwhile a reader thread (pipe_reader) blocks in read() on a pipe that a
 *   writer thread feeds a byte every 20 ms. Then it prints one line and exits 0:
 *     sleeper naps=<n> slept_ns=<total measured around the nanosleep calls>
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int fds[2];
static volatile int done;

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

__attribute__((noinline)) void pause_first(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

__attribute__((noinline)) long long nap(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	long long t0 = now_ns();
	nanosleep(&ts, NULL);
	return now_ns() - t0;
}

__attribute__((noinline)) void spin(int ms)
{
	long long end = now_ns() + ms * 1000000LL;
	while (now_ns() < end)
		;
}

__attribute__((noinline)) long long nap_loop(int naps, int ms)
{
	long long slept = 0;
	for (int i = 0; i < naps; i++) {
		slept += nap(ms);
		spin(ms);
	}
	return slept;
}

__attribute__((noinline)) void *pipe_reader(void *arg)
{
	char c;
	while (read(fds[0], &c, 1) == 1 && c)
		;
	return arg;
}

static void *writer(void *arg)
{
	struct timespec ts = {0, 20 * 1000000L};
	while (!done) {
		nanosleep(&ts, NULL);
		if (write(fds[1], "x", 1) != 1)
			break;
	}
	return arg;
}

int main(int argc, char **argv)
{
	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: sleeper NAPS NAP_MS [PAUSE_MS]\n");
		return 2;
	}
	int naps = atoi(argv[1]), ms = atoi(argv[2]), pause = argc == 4 ? atoi(argv[3]) : 600;
	if (pipe(fds))
		return 1;
	pthread_t r, w;
	pthread_create(&r, NULL, pipe_reader, NULL);
	pause_first(pause);
	pthread_create(&w, NULL, writer, NULL);
	long long slept = nap_loop(naps, ms);
	done = 1;
	pthread_join(w, NULL);
	printf("sleeper naps=%d slept_ns=%lld\n", naps, slept);
	fflush(stdout);
	return 0;
}
