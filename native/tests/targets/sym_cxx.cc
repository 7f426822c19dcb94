// build: pie
// Symbolization target in C++: namespaced and template functions check demangling. Prints its
// pid and the addresses of its functions, then idles until killed.
#include <cstdio>
#include <unistd.h>

namespace ns {
struct Hot {
	static int spin(int n);
};

__attribute__((noinline, noclone)) int Hot::spin(int n)
{
	volatile int x = 0;
	for (int i = 0; i < n; i++)
		x += i;
	return x;
}

template <typename T> __attribute__((noinline, noclone)) T twice(T v)
{
	return static_cast<T>(Hot::spin(static_cast<int>(v)) + v + v);
}
} // namespace ns

int main()
{
	long (*tw)(long) = &ns::twice<long>;
	std::printf("pid %d\n", static_cast<int>(getpid()));
	std::printf("spin %p\n", reinterpret_cast<void *>(&ns::Hot::spin));
	std::printf("twice %p\n", reinterpret_cast<void *>(tw));
	std::printf("ready\n");
	std::fflush(stdout);
	for (;;) {
		tw(1000);
		usleep(20000);
	}
}
