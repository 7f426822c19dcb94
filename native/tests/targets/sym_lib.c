// build: pie lib:symlib
/* Symbolization target whose hot function is in a shared library (libsymlib.so). Prints its
 * pid and the addresses of its functions, then idles until killed. */
#include <stdio.h>
#include <unistd.h>

int symlib_hot(int n);
void *symlib_hot_addr(void);

__attribute__((noinline, noclone)) int sym_lib_main_loop(int n)
{
	return symlib_hot(n) + 1;
}

int main(void)
{
	printf("pid %d\n", (int)getpid());
	printf("symlib_hot %p\n", symlib_hot_addr());
	printf("sym_lib_main_loop %p\n", (void *)&sym_lib_main_loop);
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		sym_lib_main_loop(1000);
		usleep(20000);
	}
}
