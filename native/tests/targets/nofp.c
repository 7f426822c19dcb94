// build: nofp
/*
 * nofp — a CPU-bound process built without frame pointers (-O2 -fomit-frame-pointer, as
 * distributions build), whose stacks only DWARF unwinding gets right.
 *
 *   nofp [SECONDS] [deep]  run that long (fractions allowed), then exit 0; absent or 0: until killed;
 *                          deep: main -> deep_frame (40 KiB of locals) -> chain_a..., a stack a short copy cuts
 *
 * main -> chain_a -> chain_b -> chain_c, and chain_c spends its time in three ways in turn: its own
 * loop (a leaf), qsort from libc calling back cmp_keys (libc frames between two of ours), and
 * memcpy from libc in a loop (a libc leaf). No call is a tail call, so every frame is on the stack.
 * Prints "nofp pid=<pid>" and flushes once it runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long sink;
static unsigned keys[4096];
static char src[1 << 16], dst[1 << 16];

__attribute__((noinline)) static int cmp_keys(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
	return (x > y) - (x < y);
}

__attribute__((noinline)) static unsigned long spin(unsigned long n)
{
	unsigned long s = 0;
	for (unsigned long i = 0; i < n; i++)
		s += i * 2654435761u ^ (s >> 7);
	return s;
}

__attribute__((noinline)) unsigned long chain_c(unsigned round)
{
	unsigned long r;
	switch (round % 3) {
	case 0:
		r = spin(400000);
		break;
	case 1:
		r = 0;
		for (int k = 0; k < 3; k++) {
			for (unsigned i = 0; i < 4096; i++)
				keys[i] = (i * 2654435761u) ^ (round + k);
			qsort(keys, 4096, sizeof(keys[0]), cmp_keys);
			r += keys[17];
		}
		break;
	default:
		for (int i = 0; i < 200; i++) {
			memcpy(dst, src, sizeof(src));
			src[i] = (char)i;
		}
		r = (unsigned char)dst[round & 0xff];
	}
	return r + 1;
}

__attribute__((noinline)) unsigned long chain_b(unsigned round)
{
	return chain_c(round) * 3 + 1;
}

__attribute__((noinline)) unsigned long chain_a(unsigned round)
{
	return chain_b(round) * 5 + 2;
}

__attribute__((noinline)) static unsigned long deep_frame(unsigned round)
{
	volatile char pad[40 << 10];
	pad[round % sizeof(pad)] = (char)round;
	return chain_a(round) + pad[(round * 7) % sizeof(pad)];
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 0, end = now() + secs;
	int deep = argc > 2 && !strcmp(argv[2], "deep");
	printf("nofp pid=%d\n", (int)getpid());
	fflush(stdout);
	/* the clock read rarely: a sample outside the chain is one in thousands */
	for (unsigned round = 0; !secs || (round & 63) || now() < end; round++)
		sink += deep ? deep_frame(round) : chain_a(round);
	return 0;
}
