// build: nopie
/* Symbolization target (not PIE: linked at fixed addresses): prints its pid and the addresses
 * of its functions, then idles calling them until killed. */
#include <stdio.h>
#include <unistd.h>

__attribute__((noinline, noclone)) int sym_nopie_hot(int n)
{
	volatile int x = 0;
	for (int i = 0; i < n; i++)
		x += i;
	return x;
}

__attribute__((noinline, noclone)) int sym_nopie_cold(int n)
{
	return sym_nopie_hot(n) + 1;
}

int main(void)
{
	printf("pid %d\n", (int)getpid());
	printf("sym_nopie_hot %p\n", (void *)&sym_nopie_hot);
	printf("sym_nopie_cold %p\n", (void *)&sym_nopie_cold);
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		sym_nopie_cold(1000);
		usleep(20000);
	}
}
