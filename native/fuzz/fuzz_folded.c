/*
 * libFuzzer harness: arbitrary bytes as collapsed stacks into swp_analyze_folded.
 *
 * Beyond "no crash, no sanitizer report" it checks what must hold for every input:
 *   - the call either succeeds or fails with -EINVAL and a "line N" reason;
 *   - a success is one JSON document {"tip":null,"trees":[...]} without raw control bytes,
 *     and the same input gives the same bytes again;
 *   - the roots' dumpCounts add up to the sum of the counts (dumpCount is inclusive);
 *   - the canonical collapsed form of the input (what `swprof` writes back) analyzes to the same
 *     trees;
 *   - a diff of the input with itself is the same tree with beforeCount = afterCount = dumpCount.
 * A broken invariant aborts with the reason, so the fuzzer keeps the input.
 *
 * Built with -fsanitize=fuzzer,address when SWPROF_FUZZ=ON; run_corpus.c drives it over the seed
 * corpus in ctest without libFuzzer.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze.h"
#include "swprof/swprof.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *why, const char *detail)
{
	fprintf(stderr, "fuzz_folded: %s\n%.2000s\n", why, detail ? detail : "");
	abort();
}

struct sum {
	uint64_t total;
	int overflow;
};

static void add_count(void *ctx, uint32_t idx, uint64_t count)
{
	(void)idx;
	struct sum *s = ctx;
	if (s->total + count < s->total)
		s->overflow = 1;
	s->total += count;
}

/* Sum of the dumpCounts of the elements whose parentId is "0". Symbols are escaped, so the
 * unescaped key text cannot occur inside one. */
static uint64_t roots_total(const char *json)
{
	uint64_t t = 0;
	for (const char *p = json; (p = strstr(p, "\"parentId\":\"0\",")); p++) {
		const char *c = strstr(p, "\"dumpCount\":");
		if (!c)
			fail("a root element without dumpCount", json);
		t += strtoull(c + 12, NULL, 10);
	}
	return t;
}

/* The diff of the input with itself, its two counts folded back into dumpCount, is the analysis. */
static void check_self_diff(const char *text, size_t size, const char *analysis, uint64_t total)
{
	struct swp_diff_side side = {.sz = sizeof(side), .folded = text, .folded_len = size};
	struct swp_diff_req q = {.sz = sizeof(q), .before = &side, .after = &side};
	struct swp_buf out = {0}, back = {0};
	if (swp_analyze_diff(NULL, &q, &out, NULL) != 0)
		fail("the diff refuses what the analysis accepted", swp_last_error());
	if (!total) {
		if (strcmp(out.data, "{\"tip\":\"neither side has samples\",\"trees\":[]}") != 0)
			fail("a diff without samples is not the tip saying so", out.data);
		swp_buf_free(&out);
		return;
	}
	static const char bk[] = "\"beforeCount\":", ak[] = ",\"afterCount\":";
	const char *p = out.data;
	for (const char *k; (k = strstr(p, bk));) {
		char *e;
		unsigned long long before = strtoull(k + sizeof(bk) - 1, &e, 10);
		if (strncmp(e, ak, sizeof(ak) - 1) != 0)
			fail("beforeCount without afterCount after it", out.data);
		unsigned long long after = strtoull(e + sizeof(ak) - 1, &e, 10);
		if (before != after)
			fail("a diff of the input with itself has two counts", out.data);
		swp__buf_put(&back, p, (size_t)(k - p));
		swp__buf_printf(&back, "\"dumpCount\":%llu", after);
		p = e;
	}
	swp__buf_puts(&back, p);
	if (strcmp(back.data, analysis) != 0)
		fail("a diff of the input with itself is another tree than its analysis", out.data);
	swp_buf_free(&back);
	swp_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct swp_buf out = {0};
	int r = swp_analyze_folded(text, size, &out);
	if (r) {
		if (r != -EINVAL)
			fail("unexpected error code", swp_last_error());
		if (strncmp(swp_last_error(), "line ", 5) != 0)
			fail("an error without its line number", swp_last_error());
		swp_buf_free(&out);
		return 0;
	}
	if (!out.data || strlen(out.data) != out.len)
		fail("the answer is not one NUL-terminated string", out.data);
	static const char head[] = "{\"tip\":null,\"trees\":[";
	if (strncmp(out.data, head, sizeof(head) - 1) != 0 || out.len < sizeof(head) + 1 ||
	    strcmp(out.data + out.len - 2, "]}") != 0)
		fail("not an analysis document", out.data);
	for (size_t i = 0; i < out.len; i++)
		if ((unsigned char)out.data[i] < 0x20)
			fail("a raw control byte in the JSON", out.data);

	struct swp_buf again = {0};
	if (swp_analyze_folded(text, size, &again) != 0 || strcmp(again.data, out.data) != 0)
		fail("a second analysis of the same input differs", again.data);
	swp_buf_free(&again);

	/* inclusive counts: the roots carry every sample */
	struct swp_stacks t;
	swp__stacks_init(&t);
	struct sum s = {0};
	if (swp__parse_folded(&t, text, size, add_count, &s) < 0)
		fail("the parser refuses what the analyzer accepted", swp_last_error());
	swp__stacks_free(&t);
	if (!s.overflow && roots_total(out.data) != s.total)
		fail("the roots' dumpCounts do not add up to the samples", out.data);

	/* the canonical collapsed form gives the same trees (skipped where counts get near the
	 * parser's limit, and for NUL bytes in symbols: see the NUL ordering case in test_analyze) */
	if (!s.overflow && s.total < 100000000000000000ULL && !memchr(data, 0, size)) {
		struct swp_stacks t2;
		swp__stacks_init(&t2);
		struct swp_dense_counts d = {0};
		swp__parse_folded(&t2, text, size, swp__dense_add, &d);
		struct swp_buf folded = {0};
		swp__analyze_folded(&t2, d.counts, d.cap, &folded);
		struct swp_buf re = {0};
		if (swp_analyze_folded(folded.data ? folded.data : "", folded.len, &re) != 0)
			fail("the canonical collapsed form does not parse", swp_last_error());
		if (strcmp(re.data, out.data) != 0) {
			fprintf(stderr, "canonical form:\n%.2000s\n", folded.data ? folded.data : "");
			fprintf(stderr, "its trees:\n%.2000s\n", re.data);
			fail("the canonical collapsed form gives other trees than the input", out.data);
		}
		swp_buf_free(&re);
		swp_buf_free(&folded);
		free(d.counts);
		swp__stacks_free(&t2);
	}
	if (!s.overflow)
		check_self_diff(text, size, out.data, s.total);
	swp_buf_free(&out);
	return 0;
}
