// build: pie
/* Symbolization target (PIE): prints its pid and the addresses of its functions, then idles
 * calling them until killed. */
#include <stdio.h>
#include <unistd.h>

__attribute__((noinline, noclone)) int sym_pie_hot(int n)
{
	volatile int x = 0;
	for (int i = 0; i < n; i++)
		x += i;
	return x;
}

__attribute__((noinline, noclone)) int sym_pie_cold(int n)
{
	return sym_pie_hot(n) + 1;
}

int main(void)
{
	printf("pid %d\n", (int)getpid());
	printf("sym_pie_hot %p\n", (void *)&sym_pie_hot);
	printf("sym_pie_cold %p\n", (void *)&sym_pie_cold);
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		sym_pie_cold(1000);
		usleep(20000);
	}
}
