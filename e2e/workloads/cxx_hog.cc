// e2e-cxx — the C++ workload of the end-to-end cases: namespaced methods whose demangled names
// the flame graph must show.
//
//   e2e-cxx ROLE [SECONDS]     (ROLE and SECONDS as for e2e-cpu)
//
// Call chain, every function noinline and with a frame (built with -O1 -fno-omit-frame-pointer):
//
//   main -> e2e::Crunch::run(int) -> e2e::Crunch::spin(int)
//                                 -> long e2e::mix<long>(long)
//
// Demangled as the profiler shows them: `e2e::Crunch::run(int)`, `e2e::Crunch::spin(int)`,
// `long e2e::mix<long>(long)`. On start it prints `e2e-cxx pid=<pid> role=<role>` and flushes it.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>

namespace e2e {
static volatile unsigned long sink;
static void *volatile frame;

template <typename T> __attribute__((noinline, noclone)) T mix(T v)
{
	frame = __builtin_frame_address(0);
	for (int i = 0; i < 100000; i++)
		sink = sink + static_cast<unsigned long>(v ^ i);
	return v + 1;
}

class Crunch {
public:
	static int spin(int n);
	static int run(int n);
};

__attribute__((noinline, noclone)) int Crunch::spin(int n)
{
	frame = __builtin_frame_address(0);
	for (int i = 0; i < n; i++)
		sink = sink + static_cast<unsigned long>(i);
	return static_cast<int>(sink & 1);
}

__attribute__((noinline, noclone)) int Crunch::run(int n)
{
	frame = __builtin_frame_address(0);
	int r = spin(n);
	return r + static_cast<int>(mix<long>(n));
}
} // namespace e2e

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		std::fprintf(stderr, "usage: e2e-cxx ROLE [SECONDS]\n");
		return 2;
	}
	double seconds = argc == 3 ? std::atof(argv[2]) : 0;
	auto start = std::chrono::steady_clock::now();
	std::printf("e2e-cxx pid=%d role=%s\n", static_cast<int>(getpid()), argv[1]);
	std::fflush(stdout);
	for (;;) {
		e2e::Crunch::run(900000);
		std::chrono::duration<double> el = std::chrono::steady_clock::now() - start;
		if (seconds > 0 && el.count() >= seconds)
			return 0;
	}
}
