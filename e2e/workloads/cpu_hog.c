/*
 * e2e-cpu — the C workload of the end-to-end cases: a CPU-bound loop with known frames.
 *
 *   e2e-cpu ROLE [SECONDS]
 *
 *   ROLE     any word; it only makes the command line unique so that a discovery rule can give
 *            this process its own service (e.g. `e2e-cpu seed` -> service e2e-seed).
 *   SECONDS  exit 0 after that long; absent or 0: run until killed.
 *
 * Call chain, every function noinline and with a frame (built with -O1 -fno-omit-frame-pointer):
 *
 *   main -> e2e_cpu_work -> e2e_cpu_hot_spin        (~90% of the time)
 *                        -> e2e_cpu_cold_spin       (~10% of the time)
 *
 * Role `waits` (for OFF_CPU): main -> e2e_cpu_waits, which alternates e2e_cpu_work with a 20 ms
 * e2e_cpu_nap (nanosleep; libc's wrapper sets up no frame, so frame pointers show the sleep as
 * main -> e2e_cpu_waits -> clock_nanosleep).
 *
 * On start it prints `e2e-cpu pid=<pid> role=<role>` and flushes it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long sink;
static void *volatile frame; /* taking the frame address makes a leaf set up its frame */

__attribute__((noinline)) void e2e_cpu_hot_spin(void)
{
	frame = __builtin_frame_address(0);
	for (unsigned long i = 0; i < 900000; i++)
		sink += i ^ (sink >> 3);
}

__attribute__((noinline)) void e2e_cpu_cold_spin(void)
{
	frame = __builtin_frame_address(0);
	for (unsigned long i = 0; i < 100000; i++)
		sink += i ^ (sink >> 5);
}

__attribute__((noinline)) void e2e_cpu_work(void)
{
	frame = __builtin_frame_address(0);
	e2e_cpu_hot_spin();
	e2e_cpu_cold_spin();
}

__attribute__((noinline)) void e2e_cpu_nap(void)
{
	struct timespec ts = {0, 20 * 1000000L};
	nanosleep(&ts, NULL);
}

static double now(void);

__attribute__((noinline)) void e2e_cpu_waits(double deadline)
{
	frame = __builtin_frame_address(0);
	while (!deadline || now() < deadline) {
		e2e_cpu_work();
		e2e_cpu_nap();
	}
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: e2e-cpu ROLE [SECONDS]\n");
		return 2;
	}
	double seconds = argc == 3 ? atof(argv[2]) : 0;
	double deadline = seconds > 0 ? now() + seconds : 0;
	printf("e2e-cpu pid=%d role=%s\n", (int)getpid(), argv[1]);
	fflush(stdout);
	if (!strcmp(argv[1], "waits")) {
		e2e_cpu_waits(deadline);
		return 0;
	}
	while (!deadline || now() < deadline)
		e2e_cpu_work();
	return 0;
}
