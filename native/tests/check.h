/* Assertion macros for the ctest binaries: each failure prints both values and where. */
#ifndef SWP_CHECK_H
#define SWP_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures;

#define CHECK(cond)                                                                   \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
			check_failures++;                                             \
		}                                                                     \
	} while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
	do {                                                                                       \
		long long _a = (long long)(a), _b = (long long)(b);                                \
		if (_a != _b) {                                                                    \
			fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a, #b, _a, _b); \
			check_failures++;                                                          \
		}                                                                                  \
	} while (0)

#define CHECK_EQ_STR(a, b)                                                                         \
	do {                                                                                       \
		const char *_a = (a), *_b = (b);                                                   \
		if (!_a || !_b || strcmp(_a, _b) != 0) {                                           \
			fprintf(stderr, "%s:%d: %s == %s failed:\n  got:      %s\n  expected: %s\n", __FILE__, __LINE__, #a, #b, \
				_a ? _a : "(null)", _b ? _b : "(null)");                             \
			check_failures++;                                                          \
		}                                                                                  \
	} while (0)

#define CHECK_CONTAINS(hay, needle)                                                                \
	do {                                                                                       \
		const char *_h = (hay), *_n = (needle);                                            \
		if (!_h || !strstr(_h, _n)) {                                                      \
			fprintf(stderr, "%s:%d: expected to find \"%s\" in:\n%.4000s\n", __FILE__, __LINE__, _n, _h ? _h : "(null)"); \
			check_failures++;                                                          \
		}                                                                                  \
	} while (0)

/* The test's exit status: 1 when any check failed. */
#define CHECK_DONE()                                                                       \
	do {                                                                                       \
		if (check_failures) {                                                              \
			fprintf(stderr, "%d check(s) failed\n", check_failures);                   \
			return 1;                                                                  \
		}                                                                                  \
		printf("all checks passed\n");                                                     \
		return 0;                                                                          \
	} while (0)

/* A test that needs BPF and root returns this when the kernel cannot: 77 (skipped), unless
 * SWPROF_REQUIRE_BPF=1, where a skip is a failure. */
static inline int swp_test_skip(const char *why)
{
	const char *req = getenv("SWPROF_REQUIRE_BPF");
	if (req && strcmp(req, "1") == 0) {
		fprintf(stderr, "BPF required (SWPROF_REQUIRE_BPF=1) but unavailable: %s\n", why);
		return 1;
	}
	fprintf(stderr, "skipped: %s\n", why);
	return 77;
}

#endif
