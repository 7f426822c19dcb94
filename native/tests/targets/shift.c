/*
 * shift — one workload in two versions, for the differential view (e2e/diff.py).
 *
 *   shift old|new SECONDS
 *
 *   old   main -> work -> steady and main -> work -> old_path, half the time each.
 *   new   main -> work -> steady and main -> work -> new_path, half the time each: old_path is
 *         gone, new_path is new, steady keeps its share.
 *
 * Prints "shift pid=<pid> version=<version>" and flushes it, then spins for SECONDS and exits 0.
 * Built with -O1 -fno-omit-frame-pointer -fno-inline-functions (native/tests/CMakeLists.txt).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long sink;
static void *volatile frame; /* taking the frame address makes leaf functions set up rbp */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* leaves of the same cost: the share of each is the share of its calls */
__attribute__((noinline)) void steady(void)
{
	frame = __builtin_frame_address(0);
	for (unsigned long i = 0; i < 1000000; i++)
		sink += i;
}

__attribute__((noinline)) void old_path(void)
{
	frame = __builtin_frame_address(0);
	for (unsigned long i = 0; i < 1000000; i++)
		sink += i ^ 1;
}

__attribute__((noinline)) void new_path(void)
{
	frame = __builtin_frame_address(0);
	for (unsigned long i = 0; i < 1000000; i++)
		sink += i ^ 2;
}

__attribute__((noinline)) void work(int version_new, double deadline)
{
	while (now() < deadline) {
		steady();
		if (version_new)
			new_path();
		else
			old_path();
	}
}

int main(int argc, char **argv)
{
	if (argc != 3 || (strcmp(argv[1], "old") && strcmp(argv[1], "new"))) {
		fprintf(stderr, "usage: shift old|new SECONDS\n");
		return 2;
	}
	printf("shift pid=%d version=%s\n", (int)getpid(), argv[1]);
	fflush(stdout);
	work(!strcmp(argv[1], "new"), now() + atof(argv[2]));
	return 0;
}
