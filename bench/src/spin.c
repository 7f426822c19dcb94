/*
 * spin — the CPU-bound workload of the overhead and completeness measurements.
 *
 *   spin --calibrate SECONDS          prints {"iters": N}: iterations one thread does in SECONDS
 *   spin --threads T --iters N        starts T threads, prints {"pid":..}, waits for a line on
 *                                     stdin, then every thread does N iterations; prints the wall
 *                                     time from the start signal to the last thread's end and the
 *                                     threads' CPU time, both measured inside the process
 *
 * The work is a fixed amount of integer arithmetic in a few call levels (frame pointers kept,
 * no inlining), so a profiler sees ordinary stacks and the time depends only on the CPU it gets.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

__attribute__((noinline)) static uint64_t mix(uint64_t x)
{
	x ^= x >> 31;
	x *= 0x7fb5d329728ea185ULL;
	x ^= x >> 27;
	x *= 0x81dadef4bc2dd44dULL;
	return x ^ (x >> 33);
}

__attribute__((noinline)) static uint64_t inner(uint64_t x, int n)
{
	for (int i = 0; i < n; i++)
		x = mix(x + (uint64_t)i);
	return x;
}

__attribute__((noinline)) static uint64_t outer(uint64_t x, uint64_t iters)
{
	for (uint64_t i = 0; i < iters; i++)
		x = inner(x, 64);
	return x;
}

struct worker {
	pthread_t th;
	uint64_t iters, result;
	double cpu_s;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int go;

static void *run(void *arg)
{
	struct worker *w = arg;
	pthread_mutex_lock(&mu);
	while (!go)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	double c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
	w->result = outer((uint64_t)(uintptr_t)w, w->iters);
	w->cpu_s = clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = 1;
	uint64_t iters = 0;
	double calibrate = 0;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--threads"))
			threads = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--iters"))
			iters = strtoull(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--calibrate"))
			calibrate = atof(argv[i + 1]);
	}
	if (calibrate > 0) {
		/* grow the amount until it takes a tenth of the target, then scale */
		uint64_t n = 1000;
		double t;
		for (;;) {
			double t0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
			volatile uint64_t sink = outer(1, n);
			(void)sink;
			t = clock_s(CLOCK_THREAD_CPUTIME_ID) - t0;
			if (t > calibrate / 10)
				break;
			n *= 2;
		}
		printf("{\"iters\":%llu}\n", (unsigned long long)(n * (calibrate / t)));
		return 0;
	}
	if (threads < 1 || threads > 256 || !iters) {
		fprintf(stderr, "usage: spin --threads T --iters N | spin --calibrate SECONDS\n");
		return 2;
	}
	struct worker *w = calloc((size_t)threads, sizeof(*w));
	for (int i = 0; i < threads; i++) {
		w[i].iters = iters;
		pthread_create(&w[i].th, NULL, run, &w[i]);
	}
	printf("{\"pid\":%d}\n", getpid());
	fflush(stdout);
	char line[64];
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	double t0 = clock_s(CLOCK_MONOTONIC);
	double p0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	pthread_mutex_lock(&mu);
	go = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	uint64_t x = 0;
	double cpu = 0;
	for (int i = 0; i < threads; i++) {
		pthread_join(w[i].th, NULL);
		x ^= w[i].result;
		cpu += w[i].cpu_s;
	}
	double wall = clock_s(CLOCK_MONOTONIC) - t0;
	double pcpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - p0;
	printf("{\"wall_s\":%.6f,\"cpu_s\":%.6f,\"process_cpu_s\":%.6f,\"threads\":%d,\"check\":%llu}\n", wall, cpu,
	       pcpu, threads, (unsigned long long)(x & 0xffff));
	fflush(stdout);
	free(w);
	return 0;
}
