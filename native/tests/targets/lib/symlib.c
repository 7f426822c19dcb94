/* Shared library for the symbolization tests (libsymlib.so): the hot function lives here. */
__attribute__((noinline, noclone)) int symlib_hot(int n)
{
	volatile int x = 0;
	for (int i = 0; i < n; i++)
		x += i * 3;
	return x;
}

/* Its address as the library sees it (the executable never takes it: no canonical PLT entry). */
void *symlib_hot_addr(void)
{
	return (void *)&symlib_hot;
}
