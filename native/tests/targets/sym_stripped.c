// build: pie strip
/* Symbolization target stripped after linking: its functions resolve to sym_stripped+0x<offset>.
 * Prints its pid and a function's address, then idles until killed. */
#include <stdio.h>
#include <unistd.h>

__attribute__((noinline, noclone)) int stripped_hot(int n)
{
	volatile int x = 0;
	for (int i = 0; i < n; i++)
		x += i;
	return x;
}

int main(void)
{
	printf("pid %d\n", (int)getpid());
	printf("stripped_hot %p\n", (void *)&stripped_hot);
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		stripped_hot(1000);
		usleep(20000);
	}
}
