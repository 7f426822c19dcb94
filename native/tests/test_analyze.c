/*
 * The analyzer: collapsed stacks -> the protocol's call trees (docs/protocol.md §3).
 *
 * 1. Hand-written cases: the protocol's example, kernel frames, ordering ties, several roots,
 *    breadth-first ids, JSON escaping, malformed input, empty input, zero counts.
 * 2. A differential test: random stacks (seeded) against a deliberately naive model — a
 *    "whole stack string -> count" map, trees built by scanning every stack for every node —
 *    compared byte for byte with swp_analyze_folded.
 * 3. The same stacks through RocksDB: imported into a task of a fresh core, analyzed by task, by
 *    schedule ids and by partial time ranges, before and after a reopen.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "swprof/swprof.h"

/* ---- helpers ------------------------------------------------------------------------------- */

/* Analyzes text (of len bytes) and returns the JSON (malloc'd), or NULL with *rc set. */
static char *analyze_n(const char *text, size_t len, int *rc)
{
	struct swp_buf out = {0};
	int r = swp_analyze_folded(text, len, &out);
	if (rc)
		*rc = r;
	if (r) {
		swp_buf_free(&out);
		return NULL;
	}
	return out.data ? out.data : strdup("");
}

static char *analyze(const char *text)
{
	return analyze_n(text, strlen(text), NULL);
}

#define CHECK_TREE(text, expected)                                                                                     \
	do {                                                                                                           \
		char *_got = analyze(text);                                                                            \
		CHECK_EQ_STR(_got, expected);                                                                          \
		free(_got);                                                                                            \
	} while (0)

/* one element of an expected answer; U and K are the stack types */
#define EL(id, parent, sym, type, count)                                                                               \
	"{\"id\":\"" id "\",\"parentId\":\"" parent "\",\"symbol\":\"" sym "\",\"stackType\":\"" type                  \
	"\",\"dumpCount\":" count "}"
#define U           "USER_SPACE"
#define K           "KERNEL_SPACE"
#define TREE(...)   "{\"elements\":[" __VA_ARGS__ "]}"
#define ANSWER(...) "{\"tip\":null,\"trees\":[" __VA_ARGS__ "]}"
#define EMPTY       "{\"tip\":null,\"trees\":[]}"

/* The string value of "key":"..." in a flat JSON object (malloc'd), or NULL. */
static char *json_str_field(const char *json, const char *key)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	const char *p = json ? strstr(json, pat) : NULL;
	if (!p)
		return NULL;
	p += strlen(pat);
	const char *e = strchr(p, '"');
	return e ? strndup(p, (size_t)(e - p)) : NULL;
}

/* ---- 1. hand-written cases ------------------------------------------------------------------ */

/* The expected answers below are laid out one element per line. */
// clang-format off

static void test_protocol_example(void)
{
	const char *want = ANSWER(TREE(
		EL("1", "0", "A", U, "11") ","
		EL("2", "1", "B", U, "11") ","
		EL("3", "2", "C", U, "3")));
	CHECK_TREE("A;B;C 3\nA;B 5\nA;B 3\n", want);
	/* no newline at the end of the text */
	CHECK_TREE("A;B;C 3\nA;B 5\nA;B 3", want);
	/* the order of the lines does not matter */
	CHECK_TREE("A;B 3\nA;B;C 3\nA;B 5\n", want);
}

static void test_kernel_frames(void)
{
	CHECK_TREE("main;write;entry_SYSCALL_64_[k];do_syscall_64_[k] 4\nmain;write 1\n", ANSWER(TREE(
		EL("1", "0", "main", U, "5") ","
		EL("2", "1", "write", U, "5") ","
		EL("3", "2", "entry_SYSCALL_64", K, "4") ","
		EL("4", "3", "do_syscall_64", K, "4"))));
	/* a kernel-only stack (a kernel thread) is a tree whose root is a kernel frame */
	CHECK_TREE("kthread_[k];worker_thread_[k] 2\n", ANSWER(TREE(
		EL("1", "0", "kthread", K, "2") ","
		EL("2", "1", "worker_thread", K, "2"))));
	/* "_[k]" alone: a kernel frame with an empty symbol */
	CHECK_TREE("main;_[k] 1\n", ANSWER(TREE(
		EL("1", "0", "main", U, "1") ","
		EL("2", "1", "", K, "1"))));
}

static void test_ordering(void)
{
	/* count descending, then symbol */
	CHECK_TREE("r;b 2\nr;a 2\nr;c 3\n", ANSWER(TREE(
		EL("1", "0", "r", U, "7") ","
		EL("2", "1", "c", U, "3") ","
		EL("3", "1", "a", U, "2") ","
		EL("4", "1", "b", U, "2"))));
	/* same symbol, different type: USER before KERNEL, whatever the input order */
	const char *user_first = ANSWER(TREE(
		EL("1", "0", "r", U, "4") ","
		EL("2", "1", "s", U, "2") ","
		EL("3", "1", "s", K, "2")));
	CHECK_TREE("r;s_[k] 2\nr;s 2\n", user_first);
	CHECK_TREE("r;s 2\nr;s_[k] 2\n", user_first);
	/* ... but the count comes first */
	CHECK_TREE("r;s_[k] 3\nr;s 2\n", ANSWER(TREE(
		EL("1", "0", "r", U, "5") ","
		EL("2", "1", "s", K, "3") ","
		EL("3", "1", "s", U, "2"))));
	/* symbols compare as bytes: upper case before lower case, a prefix first, UTF-8 after ASCII */
	CHECK_TREE("r;z 1\nr;\xc3\xa9 1\nr;ab 1\nr;a 1\nr;B 1\n", ANSWER(TREE(
		EL("1", "0", "r", U, "5") ","
		EL("2", "1", "B", U, "1") ","
		EL("3", "1", "a", U, "1") ","
		EL("4", "1", "ab", U, "1") ","
		EL("5", "1", "z", U, "1") ","
		EL("6", "1", "\xc3\xa9", U, "1"))));
}

static void test_roots(void)
{
	/* one tree per distinct root frame (symbol and type), ordered like children; ids restart */
	CHECK_TREE("b;x 3\na;y 3\nc 5\nc_[k] 5\n", ANSWER(
		TREE(EL("1", "0", "c", U, "5")) ","
		TREE(EL("1", "0", "c", K, "5")) ","
		TREE(EL("1", "0", "a", U, "3") ","
		     EL("2", "1", "y", U, "3")) ","
		TREE(EL("1", "0", "b", U, "3") ","
		     EL("2", "1", "x", U, "3"))));
	CHECK_TREE("a 1\nb 2\n", ANSWER(
		TREE(EL("1", "0", "b", U, "2")) ","
		TREE(EL("1", "0", "a", U, "1"))));
}

static void test_bfs_ids(void)
{
	/*
	 * main:19 -+- a:7 -+- x:5          ids breadth first:  1 main, 2 a, 3 c, 4 b (a and c tie at 7:
	 *          |       +- z:2                              symbol order), then a's children 5 x,
	 *          +- c:7                                      6 z, then b's child 7 y
	 *          +- b:5 --- y:4
	 */
	CHECK_TREE("main;a;x 5\nmain;b;y 4\nmain;a;z 2\nmain;b 1\nmain;c 7\n", ANSWER(TREE(
		EL("1", "0", "main", U, "19") ","
		EL("2", "1", "a", U, "7") ","
		EL("3", "1", "c", U, "7") ","
		EL("4", "1", "b", U, "5") ","
		EL("5", "2", "x", U, "5") ","
		EL("6", "2", "z", U, "2") ","
		EL("7", "4", "y", U, "4"))));
	/*
	 * m:7 -+- s:4 --- t:4      n:1 --- u:1     two trees, two levels of branching
	 *      +- p:3 -+- r:2
	 *              +- q:1
	 */
	CHECK_TREE("m;p;q 1\nm;p;r 2\nm;s;t 4\nn;u 1\n", ANSWER(
		TREE(EL("1", "0", "m", U, "7") ","
		     EL("2", "1", "s", U, "4") ","
		     EL("3", "1", "p", U, "3") ","
		     EL("4", "2", "t", U, "4") ","
		     EL("5", "3", "r", U, "2") ","
		     EL("6", "3", "q", U, "1")) ","
		TREE(EL("1", "0", "n", U, "1") ","
		     EL("2", "1", "u", U, "1"))));
}

static void test_escaping(void)
{
	/* quotes and backslash */
	CHECK_TREE("say \"hi\";back\\slash 1\n", ANSWER(TREE(
		EL("1", "0", "say \\\"hi\\\"", U, "1") ","
		EL("2", "1", "back\\\\slash", U, "1"))));
	/* tab and carriage return inside frames, other control bytes as \u00xx, DEL as is */
	CHECK_TREE("a\tb;c\rd;\x01\x1f\x7f 1\n", ANSWER(TREE(
		EL("1", "0", "a\\tb", U, "1") ","
		EL("2", "1", "c\\rd", U, "1") ","
		EL("3", "2", "\\u0001\\u001f\x7f", U, "1"))));
	/* UTF-8 passes through */
	CHECK_TREE("\xe5\x87\xbd\xe6\x95\xb0;\xc3\xbcn\xc3\xaf" "code;\xf0\x9f\x94\xa5 2\n", ANSWER(TREE(
		EL("1", "0", "\xe5\x87\xbd\xe6\x95\xb0", U, "2") ","
		EL("2", "1", "\xc3\xbcn\xc3\xaf" "code", U, "2") ","
		EL("3", "2", "\xf0\x9f\x94\xa5", U, "2"))));
	/* spaces inside frames stay (C++ signatures) */
	CHECK_TREE("main;operator new(unsigned long) 3\n", ANSWER(TREE(
		EL("1", "0", "main", U, "3") ","
		EL("2", "1", "operator new(unsigned long)", U, "3"))));
	/* a NUL byte inside a symbol is escaped, and symbols that differ after it are still ordered
	 * by their bytes: "x\0a" before "x\0b" */
	static const char nul_text[] = "r;x\0b 1\nr;x\0a 1\n";
	char *got = analyze_n(nul_text, sizeof(nul_text) - 1, NULL);
	CHECK_EQ_STR(got, ANSWER(TREE(
		EL("1", "0", "r", U, "2") ","
		EL("2", "1", "x\\u0000a", U, "1") ","
		EL("3", "1", "x\\u0000b", U, "1"))));
	free(got);
}

// clang-format on

static void check_malformed(const char *text, const char *where)
{
	int rc = 0;
	char *got = analyze_n(text, strlen(text), &rc);
	CHECK_EQ_INT(rc, -EINVAL);
	CHECK(got == NULL);
	CHECK_CONTAINS(swp_last_error(), where);
	free(got);
}

static void test_malformed(void)
{
	check_malformed("A;B 3\nA;B\n", "line 2");
	check_malformed("A 1\n\nB x\n", "line 3");
	check_malformed("A;B 3\r\nA 1.5\r\n", "line 2");
	check_malformed("5\n", "line 1");
	check_malformed("A;B -1\n", "line 1");
	check_malformed("A 1\nB 2\nC 3\nD 99999999999999999999999\n", "line 4");
	check_malformed("A;B 3\nA;B 0x10\n", "line 2");
	/* deeper than the store can read back (SWP_MAX_STACK_DEPTH): refused, not stored */
	size_t deep_len = 10001 * 2 + 8;
	char *deep = malloc(deep_len);
	size_t k = 0;
	for (int i = 0; i < 10001; i++) {
		deep[k++] = i ? ';' : 'x';
		if (i)
			deep[k++] = 'f';
	}
	memcpy(deep + k, " 1\n", 4);
	check_malformed(deep, "deeper than 10000 frames");
	free(deep);
	/* a successful call afterwards clears the reason */
	char *ok = analyze("A 1\n");
	CHECK_EQ_STR(swp_last_error(), "");
	free(ok);
}

static void test_empty_and_zero(void)
{
	CHECK_TREE("", EMPTY);
	char *got = analyze_n(NULL, 0, NULL);
	CHECK_EQ_STR(got, EMPTY);
	free(got);
	CHECK_TREE("\n\n", EMPTY);
	CHECK_TREE("a;b 0\n", EMPTY);
	/* a count-0 line adds nothing, not even a node */
	CHECK_TREE("A;B;C 3\nA;B;D 0\nE 0\n",
	           ANSWER(TREE(EL("1", "0", "A", U, "3") "," EL("2", "1", "B", U, "3") "," EL("3", "2", "C", U, "3"))));
}

/* ---- 2. the naive model ---------------------------------------------------------------------- */

#define MAXD 60

/* The alphabet: (symbol, type) pairs. Symbols contain no ';' or newline, do not begin with '#',
 * and a user symbol never ends in "_[k]". Some pairs share a symbol with the other type. */
struct frame_def {
	const char *sym;
	int kernel;
};
static const struct frame_def ALPHA[] = {
    {"_start", 0},
    {"__libc_start_main", 0},
    {"main", 0},
    {"start_thread", 0},
    {"clone", 0},
    {"java/lang/Thread.run", 0},
    {"run", 0},
    {"work", 0},
    {"work2", 0},
    {"worker", 0},
    {"spin", 0},
    {"compute", 0},
    {"hash_update", 0},
    {"std::vector<int>::push_back(int const&)", 0},
    {"operator new(unsigned long)", 0},
    {"malloc", 0},
    {"free", 0},
    {"memcpy", 0},
    {"[unknown]", 0},
    {"libfoo.so+0x1a2b", 0},
    {"a\"quoted\"", 0},
    {"back\\slash", 0},
    {"tab\there", 0},
    {"\xe5\x87\xbd\xe6\x95\xb0", 0},
    {"\xc3\xbcn\xc3\xaf"
     "code",
     0},
    {"ZZZ", 0},
    {"aaa", 0},
    {"Aaa", 0},
    {"schedule", 0},
    {"read", 0},
    {"write", 0},
    {"__GI___libc_write", 0},
    {"epoll_wait", 0},
    {"pthread_mutex_lock", 0},
    {"x", 0},
    {"y", 0},
    {"z", 0},
    {"ctl\x01"
     "char",
     0},
    /* kernel */
    {"entry_SYSCALL_64", 1},
    {"do_syscall_64", 1},
    {"__x64_sys_write", 1},
    {"ksys_write", 1},
    {"vfs_write", 1},
    {"schedule", 1},
    {"__schedule", 1},
    {"asm_sysvec_apic_timer_interrupt", 1},
    {"sysvec_apic_timer_interrupt", 1},
    {"irq_exit_rcu", 1},
    {"tcp_sendmsg", 1},
    {"write", 1},
};
#define NALPHA ((int)(sizeof(ALPHA) / sizeof(ALPHA[0])))
static int n_user_alpha(void)
{
	int n = 0;
	while (n < NALPHA && !ALPHA[n].kernel)
		n++;
	return n;
}

/* symbols present with both types: "schedule" and "write" (indexes into ALPHA) */
#define K_SCHEDULE 43
#define K_WRITE    49
#define U_SCHEDULE 28
#define U_WRITE    30

struct stack {
	int n;
	int f[MAXD]; /* indexes into ALPHA, root first */
	uint64_t count;
	uint64_t before; /* a diff's model: the before side's count (count is the after side's) */
};

static uint64_t rng_state;
static uint64_t rnd(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}
static int rnd_in(int lo, int hi) /* inclusive */
{
	return lo + (int)(rnd() % (uint64_t)(hi - lo + 1));
}

/* Random stacks as real ones look: user frames from a few roots, sharing prefixes (trunks),
 * then optionally kernel frames only at the end; some kernel-only stacks; duplicates; counts
 * 1..1000 and a few zero counts. */
static struct stack *gen_stacks(uint64_t seed, int n)
{
	rng_state = seed;
	int nu = n_user_alpha(), nk = NALPHA - nu;
	if (strcmp(ALPHA[K_SCHEDULE].sym, "schedule") || !ALPHA[K_SCHEDULE].kernel ||
	    strcmp(ALPHA[K_WRITE].sym, "write") || !ALPHA[K_WRITE].kernel ||
	    strcmp(ALPHA[U_SCHEDULE].sym, "schedule") || ALPHA[U_SCHEDULE].kernel ||
	    strcmp(ALPHA[U_WRITE].sym, "write") || ALPHA[U_WRITE].kernel)
		abort(); /* the alphabet changed: update the twins' indexes */
	static const int roots[] = {0, 3, 4, 2, 5};
	enum { NTRUNK = 30 };
	struct stack trunks[NTRUNK];
	for (int t = 0; t < NTRUNK; t++) {
		trunks[t].f[0] = roots[rnd_in(0, 4)];
		trunks[t].n = rnd_in(1, 40);
		for (int d = 1; d < trunks[t].n; d++)
			trunks[t].f[d] = rnd_in(0, nu - 1);
	}
	struct stack *v = calloc((size_t)n, sizeof(*v));
	for (int i = 0; i < n; i++) {
		struct stack *s = &v[i];
		int dice = rnd_in(0, 99), twin = -1, ulen = 0;
		if (i > 0 && dice < 15) {
			*s = v[rnd_in(0, i - 1)]; /* a duplicate line */
		} else if (dice < 20) {
			s->n = rnd_in(1, 10); /* kernel thread */
			for (int d = 0; d < s->n; d++)
				s->f[d] = nu + rnd_in(0, nk - 1);
		} else {
			const struct stack *t = &trunks[rnd_in(0, NTRUNK - 1)];
			s->n = rnd_in(1, t->n);
			memcpy(s->f, t->f, (size_t)s->n * sizeof(int));
			int extra = rnd_in(0, 20);
			while (extra-- && s->n < 50)
				s->f[s->n++] = rnd_in(0, nu - 1);
			if (rnd_in(0, 1)) {
				int k = rnd_in(1, 10);
				if (s->n + k > MAXD)
					k = MAXD - s->n;
				/* the first kernel frame: often the syscall entry, often a symbol that
				 * also exists as a user frame (so that siblings of both types tie) */
				int first = rnd_in(0, 2);
				ulen = s->n;
				for (int d = 0; d < k; d++)
					s->f[s->n++] = d == 0 && first == 0   ? nu
					               : d == 0 && first == 1 ? (rnd_in(0, 1) ? K_SCHEDULE : K_WRITE)
					                                      : nu + rnd_in(0, nk - 1);
				if (first == 1 && rnd_in(0, 1))
					twin = s->f[ulen] == K_SCHEDULE ? U_SCHEDULE : U_WRITE;
			}
		}
		/* small counts often, so that siblings tie */
		int c = rnd_in(0, 99);
		s->count = c < 2 ? 0 : c < 40 ? (uint64_t)rnd_in(1, 3) : (uint64_t)rnd_in(1, 1000);
		/* and its twin: the same user frames, then the user frame of the same symbol */
		if (twin >= 0 && i + 1 < n) {
			struct stack *w = &v[++i];
			memcpy(w->f, s->f, (size_t)ulen * sizeof(int));
			w->f[ulen] = twin;
			w->n = ulen + 1;
			w->count = s->count;
		}
	}
	return v;
}

/* A growable string. */
struct str {
	char *p;
	size_t len, cap;
};
static void str_put(struct str *s, const char *p, size_t n)
{
	if (s->len + n + 1 > s->cap) {
		s->cap = (s->len + n + 1) * 2;
		s->p = realloc(s->p, s->cap);
	}
	memcpy(s->p + s->len, p, n);
	s->len += n;
	s->p[s->len] = 0;
}
static void str_puts(struct str *s, const char *p)
{
	str_put(s, p, strlen(p));
}

/* The folded form of a stack (without the count): the map key of the naive model. */
static void stack_key(const struct stack *s, struct str *out)
{
	for (int d = 0; d < s->n; d++) {
		if (d)
			str_puts(out, ";");
		str_puts(out, ALPHA[s->f[d]].sym);
		if (ALPHA[s->f[d]].kernel)
			str_puts(out, "_[k]");
	}
}

static void folded_text(const struct stack *v, int from, int to, struct str *out)
{
	char num[32];
	for (int i = from; i < to; i++) {
		stack_key(&v[i], out);
		snprintf(num, sizeof(num), " %llu\n", (unsigned long long)v[i].count);
		str_puts(out, num);
	}
}

/* The naive model: distinct whole stacks (by their folded string) with summed counts. */
struct entry {
	char *key;
	struct stack s;
};
struct model {
	struct entry *e;
	int n;
};

static void model_build(struct model *m, const struct stack *v, int from, int to)
{
	m->e = calloc((size_t)(to - from) + 1, sizeof(*m->e));
	m->n = 0;
	for (int i = from; i < to; i++) {
		struct str key = {0};
		stack_key(&v[i], &key);
		int j = 0;
		while (j < m->n && strcmp(m->e[j].key, key.p) != 0)
			j++;
		if (j < m->n) {
			m->e[j].s.count += v[i].count;
			m->e[j].s.before += v[i].before;
			free(key.p);
		} else {
			m->e[m->n].key = key.p;
			m->e[m->n].s = v[i];
			m->n++;
		}
	}
}

static void model_free(struct model *m)
{
	for (int i = 0; i < m->n; i++)
		free(m->e[i].key);
	free(m->e);
}

/* An expected tree node. */
struct xnode {
	int frame;
	uint64_t count;
	uint64_t before; /* a diff's before side */
	struct xnode *kids;
	int nkids;
};

static int cmp_xnode(const void *pa, const void *pb)
{
	const struct xnode *a = pa, *b = pb;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	if (a->before != b->before)
		return a->before > b->before ? -1 : 1;
	int c = strcmp(ALPHA[a->frame].sym, ALPHA[b->frame].sym);
	if (c)
		return c;
	return ALPHA[a->frame].kernel - ALPHA[b->frame].kernel;
}

/* The children of the node at `depth` whose path is shared by the stacks cand[0..nc): every
 * distinct frame at depth+1 among them, each with the stacks continuing through it. */
static void build_kids(const struct model *m, const int *cand, int nc, int depth, struct xnode *parent)
{
	int *frames = malloc(sizeof(int) * (size_t)(nc + 1));
	int nf = 0;
	for (int i = 0; i < nc; i++) {
		const struct stack *s = &m->e[cand[i]].s;
		if (s->n <= depth + 1)
			continue;
		int f = s->f[depth + 1], seen = 0;
		for (int k = 0; k < nf; k++)
			seen |= frames[k] == f;
		if (!seen)
			frames[nf++] = f;
	}
	parent->kids = calloc((size_t)nf + 1, sizeof(struct xnode));
	parent->nkids = nf;
	int *sub = malloc(sizeof(int) * (size_t)(nc + 1));
	for (int k = 0; k < nf; k++) {
		int ns = 0;
		struct xnode *x = &parent->kids[k];
		x->frame = frames[k];
		for (int i = 0; i < nc; i++) {
			const struct stack *s = &m->e[cand[i]].s;
			if (s->n > depth + 1 && s->f[depth + 1] == frames[k]) {
				sub[ns++] = cand[i];
				x->count += s->count;
				x->before += s->before;
			}
		}
		build_kids(m, sub, ns, depth + 1, x);
	}
	qsort(parent->kids, (size_t)nf, sizeof(struct xnode), cmp_xnode);
	free(sub);
	free(frames);
}

/* The super-root: its children are the trees' roots. */
static void model_trees(const struct model *m, struct xnode *top)
{
	memset(top, 0, sizeof(*top));
	int *all = malloc(sizeof(int) * (size_t)(m->n + 1));
	int na = 0;
	for (int i = 0; i < m->n; i++)
		if ((m->e[i].s.count > 0 || m->e[i].s.before > 0) && m->e[i].s.n > 0)
			all[na++] = i;
	build_kids(m, all, na, -1, top);
	free(all);
}

static void xnode_free(struct xnode *x)
{
	for (int i = 0; i < x->nkids; i++)
		xnode_free(&x->kids[i]);
	free(x->kids);
}

static void json_escape(struct str *out, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	str_puts(out, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char e[8];
		if (*p == '"')
			str_puts(out, "\\\"");
		else if (*p == '\\')
			str_puts(out, "\\\\");
		else if (*p == '\n')
			str_puts(out, "\\n");
		else if (*p == '\r')
			str_puts(out, "\\r");
		else if (*p == '\t')
			str_puts(out, "\\t");
		else if (*p < 0x20) {
			snprintf(e, sizeof(e), "\\u00%c%c", hex[*p >> 4], hex[*p & 15]);
			str_puts(out, e);
		} else
			str_put(out, (const char *)p, 1);
	}
	str_puts(out, "\"");
}

/* Renders the expected answer: each tree breadth first, ids from 1, root parent 0; a diff's
 * elements with beforeCount and afterCount. */
static char *render(const struct xnode *top, bool diff)
{
	struct str out = {0};
	str_puts(&out, "{\"tip\":null,\"trees\":[");
	size_t cap = 1024;
	const struct xnode **q = malloc(cap * sizeof(*q));
	unsigned long *qp = malloc(cap * sizeof(*qp));
	for (int r = 0; r < top->nkids; r++) {
		str_puts(&out, r ? ",{\"elements\":[" : "{\"elements\":[");
		size_t head = 0, tail = 0;
		unsigned long next_id = 1;
		q[tail] = &top->kids[r];
		qp[tail++] = 0;
		while (head < tail) {
			const struct xnode *x = q[head];
			unsigned long id = next_id++;
			char num[96];
			snprintf(num, sizeof(num),
			         "%s{\"id\":\"%lu\",\"parentId\":\"%lu\",\"symbol\":", head ? "," : "", id, qp[head]);
			str_puts(&out, num);
			json_escape(&out, ALPHA[x->frame].sym);
			if (diff)
				snprintf(num, sizeof(num), ",\"stackType\":\"%s\",\"beforeCount\":%llu,\"afterCount\":%llu}",
				         ALPHA[x->frame].kernel ? "KERNEL_SPACE" : "USER_SPACE", (unsigned long long)x->before,
				         (unsigned long long)x->count);
			else
				snprintf(num, sizeof(num), ",\"stackType\":\"%s\",\"dumpCount\":%llu}",
				         ALPHA[x->frame].kernel ? "KERNEL_SPACE" : "USER_SPACE", (unsigned long long)x->count);
			str_puts(&out, num);
			head++;
			for (int k = 0; k < x->nkids; k++) {
				if (tail == cap) {
					cap *= 2;
					q = realloc(q, cap * sizeof(*q));
					qp = realloc(qp, cap * sizeof(*qp));
				}
				q[tail] = &x->kids[k];
				qp[tail++] = id;
			}
		}
		str_puts(&out, "]}");
	}
	str_puts(&out, "]}");
	free(q);
	free(qp);
	return out.p;
}

/* The expected answer for stacks v[from..to). */
static char *expected_json(const struct stack *v, int from, int to)
{
	struct model m;
	model_build(&m, v, from, to);
	struct xnode top;
	model_trees(&m, &top);
	char *j = render(&top, false);
	xnode_free(&top);
	model_free(&m);
	return j;
}

/* Expected answer of several slices [a0,b0) [a1,b1) ... of v. */
static char *expected_slices(const struct stack *v, const int (*sl)[2], int nsl)
{
	int total = 0;
	for (int i = 0; i < nsl; i++)
		total += sl[i][1] - sl[i][0];
	struct stack *w = calloc((size_t)total + 1, sizeof(*w));
	int n = 0;
	for (int i = 0; i < nsl; i++)
		for (int k = sl[i][0]; k < sl[i][1]; k++)
			w[n++] = v[k];
	char *j = expected_json(w, 0, n);
	free(w);
	return j;
}

/* Reports where two long answers first differ. */
static void check_same(const char *what, const char *got, const char *want)
{
	if (got && want && strcmp(got, want) == 0)
		return;
	check_failures++;
	if (!got || !want) {
		fprintf(stderr, "%s: got %s, expected %s\n", what, got ? "an answer" : "(null)",
		        want ? "an answer" : "(null)");
		return;
	}
	size_t i = 0;
	while (got[i] && got[i] == want[i])
		i++;
	size_t from = i > 200 ? i - 200 : 0;
	fprintf(stderr,
	        "%s: answers differ at byte %zu (got %zu bytes, expected %zu)\n  got:      ...%.400s\n  expected: "
	        "...%.400s\n",
	        what, i, strlen(got), strlen(want), got + from, want + from);
}

#define N_STACKS 3000

/* occurrences of n in h (not strstr in a loop: quadratic under ASan, which measures h each call) */
static size_t count_sub(const char *h, const char *n)
{
	size_t c = 0, nl = strlen(n);
	for (; *h; h++)
		c += *h == *n && strncmp(h, n, nl) == 0;
	return c;
}

static void test_differential(void)
{
	static const uint64_t seeds[] = {1, 42, 0xdeadbeef, 20240601, 777777};
	for (size_t si = 0; si < sizeof(seeds) / sizeof(seeds[0]); si++) {
		struct stack *v = gen_stacks(seeds[si], N_STACKS);
		struct str text = {0};
		folded_text(v, 0, N_STACKS, &text);
		char *want = expected_json(v, 0, N_STACKS);
		int rc = -1;
		char *got = analyze_n(text.p, text.len, &rc);
		char what[64];
		snprintf(what, sizeof(what), "seed %llu", (unsigned long long)seeds[si]);
		CHECK_EQ_INT(rc, 0);
		check_same(what, got, want);
		size_t trees = count_sub(want, "{\"elements\":["), elements = count_sub(want, "\"parentId\":");
		printf("%s: %d lines, %zu trees, %zu elements, %zu bytes of JSON\n", what, N_STACKS, trees, elements,
		       strlen(want));
		free(got);
		/* the same lines in reverse order give the same answer */
		struct stack *rev = calloc(N_STACKS, sizeof(*rev));
		for (int i = 0; i < N_STACKS; i++)
			rev[i] = v[N_STACKS - 1 - i];
		struct str rtext = {0};
		folded_text(rev, 0, N_STACKS, &rtext);
		got = analyze_n(rtext.p, rtext.len, &rc);
		snprintf(what, sizeof(what), "seed %llu reversed", (unsigned long long)seeds[si]);
		check_same(what, got, want);
		free(got);
		free(rtext.p);
		free(rev);
		free(want);
		free(text.p);
		free(v);
	}
}

/* ---- 3. through RocksDB ---------------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_rf(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static swp_core *open_core(const char *dir)
{
	struct swp_config cfg = {
	    .sz = sizeof(cfg), .data_dir = dir, .profiling = SWP_PROFILING_ELSEWHERE, .host_name = "difftest-host", .host_ip = "10.0.0.1"};
	swp_core *c = NULL;
	int r = swp_core_open(&cfg, &c);
	if (r)
		fprintf(stderr, "swp_core_open(%s): %d %s\n", dir, r, swp_last_error());
	CHECK_EQ_INT(r, 0);
	return c;
}

/* analysis JSON of a request (malloc'd) */
static char *run_analyze(swp_core *c, const char *task, const char *const *sids, size_t nsids,
                         const struct swp_time_range *ranges, size_t nranges)
{
	struct swp_analyze_req q = {.sz = sizeof(q),
	                            .task_id = task,
	                            .schedule_ids = sids,
	                            .n_schedule_ids = nsids,
	                            .ranges = ranges,
	                            .n_ranges = nranges,
	                            .aggregate = SWP_AGG_COUNT};
	struct swp_buf out = {0};
	int r = swp_analyze(c, &q, &out);
	if (r)
		fprintf(stderr, "swp_analyze: %d %s\n", r, swp_last_error());
	CHECK_EQ_INT(r, 0);
	return out.data;
}

#define NIMPORT 4
#define T0      1700000000000LL /* a whole second */

/* A fresh core in a temporary directory with this test process as the profiled process and a
 * seed-style task on it. */
struct store_fixture {
	char tmp[64];  /* the temporary directory (removed by fixture_close) */
	char dir[512]; /* the data directory in it */
	swp_core *c;
	char *pid, *task; /* the process's and the task's ids */
};

static bool fixture_open(struct store_fixture *f)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->tmp, sizeof(f->tmp), "/tmp/swprof-test-analyze-XXXXXX");
	CHECK(mkdtemp(f->tmp) != NULL);
	snprintf(f->dir, sizeof(f->dir), "%s/data", f->tmp);
	f->c = open_core(f->dir);
	if (!f->c) {
		rm_rf(f->tmp);
		return false;
	}
	struct swp_process_spec ps = {.sz = sizeof(ps), .pid = (int)getpid(), .service = "difftest"};
	struct swp_buf pbuf = {0}, tbuf = {0};
	CHECK_EQ_INT(swp_process_register(f->c, &ps, &pbuf), 0);
	f->pid = json_str_field(pbuf.data, "id");
	CHECK(f->pid != NULL);
	struct swp_task_create tc = {.sz = sizeof(tc),
	                             .has_finder = 1,
	                             .finder_type = "PROCESS_ID",
	                             .process_id = f->pid,
	                             .target_type = "ON_CPU",
	                             .duration_s = 60};
	CHECK_EQ_INT(swp_task_create(f->c, &tc, &tbuf), 0);
	CHECK_CONTAINS(tbuf.data, "\"status\":true");
	f->task = json_str_field(tbuf.data, "id");
	CHECK(f->task != NULL);
	swp_buf_free(&pbuf);
	swp_buf_free(&tbuf);
	return f->pid && f->task;
}

static void fixture_close(struct store_fixture *f)
{
	swp_core_close(f->c);
	free(f->pid);
	free(f->task);
	rm_rf(f->tmp);
}

static void test_store_round_trip(void)
{
	struct store_fixture fx;
	if (!fixture_open(&fx))
		return;
	swp_core *c = fx.c;
	char *pid = fx.pid, *task = fx.task;

	/* one process per import, so that each import is a schedule of its own (the imports of one
	 * process go on in its schedule) */
	char *procs[NIMPORT];
	for (int i = 0; i < NIMPORT; i++) {
		char name[32];
		snprintf(name, sizeof(name), "difftest-%d", i);
		struct swp_process_spec pi = {.sz = sizeof(pi), .pid = (int)getpid(), .service = "difftest", .process = name};
		struct swp_buf b = {0};
		CHECK_EQ_INT(swp_process_register(c, &pi, &b), 0);
		procs[i] = i ? json_str_field(b.data, "id") : strdup(pid);
		swp_buf_free(&b);
	}

	/* the random stacks in NIMPORT imports, 10 s apart; a stack may recur across imports */
	const int n = N_STACKS;
	struct stack *v = gen_stacks(4242, n);
	int cut[NIMPORT + 1] = {0, n / 5, n / 2, (3 * n) / 4, n};
	char *sched[NIMPORT];
	for (int i = 0; i < NIMPORT; i++) {
		struct str text = {0};
		folded_text(v, cut[i], cut[i + 1], &text);
		struct swp_import_req iq = {.sz = sizeof(iq), .task_id = task, .process_id = procs[i],
					    .time_ms = T0 + i * 10000LL, .text = text.p, .len = text.len};
		struct swp_buf ibuf = {0};
		int r = swp_import_folded(c, &iq, &ibuf);
		if (r)
			fprintf(stderr, "import %d: %d %s\n", i, r, swp_last_error());
		CHECK_EQ_INT(r, 0);
		sched[i] = json_str_field(ibuf.data, "scheduleId");
		CHECK(sched[i] != NULL);
		swp_buf_free(&ibuf);
		free(text.p);
	}

	char *want_all = expected_json(v, 0, n);
	const int mid[][2] = {{cut[1], cut[2]}, {cut[2], cut[3]}};
	char *want_mid = expected_slices(v, mid, 2);
	const int ends[][2] = {{cut[0], cut[1]}, {cut[3], cut[4]}};
	char *want_ends = expected_slices(v, ends, 2);
	const int second[][2] = {{cut[1], cut[2]}};
	char *want_second = expected_slices(v, second, 1);
	const int first[][2] = {{cut[0], cut[1]}};
	char *want_first = expected_slices(v, first, 1);

	const struct swp_time_range all = {T0 - 60000, T0 + 120000};
	const struct swp_time_range middle = {T0 + 5000, T0 + 25000};
	/* inclusive ends: [.., T0] takes the first import, [T0+30000, ..] the last */
	const struct swp_time_range edges[] = {{T0 + 30000, T0 + 30500}, {T0 - 500, T0}};
	const struct swp_time_range overlapping[] = {{T0 - 1000, T0 + 15000}, {T0 + 10000, T0 + 40000}};
	const char *const by_sched[] = {sched[0], NULL, sched[1], sched[2], sched[1], sched[3]};
	const char *const only_second[] = {sched[1]};

	for (int pass = 0; pass < 2; pass++) {
		char what[64];
		char *got = run_analyze(c, task, NULL, 0, &all, 1);
		snprintf(what, sizeof(what), "pass %d: by task, all", pass);
		check_same(what, got, want_all);
		free(got);

		got = run_analyze(c, task, NULL, 0, &middle, 1);
		snprintf(what, sizeof(what), "pass %d: by task, middle imports", pass);
		check_same(what, got, want_mid);
		free(got);

		got = run_analyze(c, task, NULL, 0, edges, 2);
		snprintf(what, sizeof(what), "pass %d: by task, first and last imports", pass);
		check_same(what, got, want_ends);
		free(got);

		got = run_analyze(c, task, NULL, 0, overlapping, 2);
		snprintf(what, sizeof(what), "pass %d: by task, overlapping ranges", pass);
		check_same(what, got, want_all);
		free(got);

		got = run_analyze(c, NULL, by_sched, sizeof(by_sched) / sizeof(by_sched[0]), &all, 1);
		snprintf(what, sizeof(what), "pass %d: by schedules (NULL and duplicate)", pass);
		check_same(what, got, want_all);
		free(got);

		got = run_analyze(c, NULL, only_second, 1, &all, 1);
		snprintf(what, sizeof(what), "pass %d: by one schedule", pass);
		check_same(what, got, want_second);
		free(got);

		/* a range with no samples */
		const struct swp_time_range none = {T0 + 50000, T0 + 60000};
		got = run_analyze(c, task, NULL, 0, &none, 1);
		CHECK_EQ_STR(got, EMPTY);
		free(got);

		/* samples are kept per second: a block stands for its whole second, so a range inside
		 * the second of the first import selects it, the seconds between imports nothing, and
		 * two ranges in one second count the block once */
		const struct swp_time_range inside = {T0 + 1, T0 + 999};
		got = run_analyze(c, task, NULL, 0, &inside, 1);
		snprintf(what, sizeof(what), "pass %d: range inside the first import's second", pass);
		check_same(what, got, want_first);
		free(got);
		const struct swp_time_range between = {T0 + 1000, T0 + 9999};
		got = run_analyze(c, task, NULL, 0, &between, 1);
		CHECK_EQ_STR(got, EMPTY);
		free(got);
		const struct swp_time_range same_second[] = {
		    {T0 + 100, T0 + 200}, {T0 + 300, T0 + 400}, {T0 + 150, T0 + 350}};
		got = run_analyze(c, task, NULL, 0, same_second, 3);
		snprintf(what, sizeof(what), "pass %d: three ranges in one second", pass);
		check_same(what, got, want_first);
		free(got);

		/* the data survives a close and a reopen */
		if (pass == 0) {
			swp_core_close(c);
			c = fx.c = open_core(fx.dir);
			if (!c)
				break;
		}
	}

	if (c) {
		/* tips */
		char *got = run_analyze(c, task, NULL, 0, NULL, 0);
		CHECK_EQ_STR(got, "{\"tip\":\"please provide time ranges\",\"trees\":[]}");
		free(got);
		const struct swp_time_range zero = {T0, T0};
		got = run_analyze(c, task, NULL, 0, &zero, 1);
		CHECK_EQ_STR(got, "{\"tip\":\"please validate the time duration data\",\"trees\":[]}");
		free(got);
		const struct swp_time_range one_bad[] = {{T0, T0 + 1000}, {T0 + 5000, T0 + 4000}};
		got = run_analyze(c, task, NULL, 0, one_bad, 2);
		CHECK_EQ_STR(got, "{\"tip\":\"please validate the time duration data\",\"trees\":[]}");
		free(got);
		got = run_analyze(c, "999999", NULL, 0, &all, 1);
		CHECK_CONTAINS(got, ",\"trees\":[]}");
		CHECK(got && strncmp(got, "{\"tip\":\"", 8) == 0 &&
		      strlen(got) > strlen("{\"tip\":\"\",\"trees\":[]}"));
		free(got);
		const char *const unknown[] = {"999998", NULL, "not-a-number"};
		got = run_analyze(c, NULL, unknown, 3, &all, 1);
		CHECK_CONTAINS(got, ",\"trees\":[]}");
		CHECK(got && strncmp(got, "{\"tip\":\"", 8) == 0 &&
		      strlen(got) > strlen("{\"tip\":\"\",\"trees\":[]}"));
		free(got);

		/*
		 * An import recorded at a time that is not a whole second is found by a range starting at
		 * that very time (docs/protocol.md §3: samples are selected by the time they were recorded;
		 * the import's schedule starts at time_ms, and the UI asks from a schedule's start).
		 */
		const int64_t t1 = T0 + 100500;
		struct str text = {0};
		folded_text(v, cut[0], cut[1], &text);
		struct swp_import_req iq = {
		    .sz = sizeof(iq), .task_id = task, .time_ms = t1, .text = text.p, .len = text.len};
		struct swp_buf ibuf = {0};
		CHECK_EQ_INT(swp_import_folded(c, &iq, &ibuf), 0);
		char *s5 = json_str_field(ibuf.data, "scheduleId");
		const char *const only5[] = {s5};
		const struct swp_time_range from_t1 = {t1, t1 + 60000};
		got = run_analyze(c, NULL, only5, 1, &from_t1, 1);
		check_same("import at a sub-second time, range from that time", got, want_first);
		free(got);
		free(s5);
		swp_buf_free(&ibuf);
		free(text.p);
	}

	for (int i = 0; i < NIMPORT; i++) {
		free(sched[i]);
		free(procs[i]);
	}
	free(want_all);
	free(want_mid);
	free(want_ends);
	free(want_second);
	free(want_first);
	free(v);
	fixture_close(&fx);
}

/* ---- 4. the differential view ---------------------------------------------------------------- */

/* A diff of two sides (malloc'd answer), or NULL with *rc set. */
static char *run_diff(swp_core *c, const struct swp_diff_side *before, const struct swp_diff_side *after,
                      const char *format, int *rc)
{
	struct swp_diff_req q = {.sz = sizeof(q), .before = before, .after = after, .format = format, .title = "t"};
	struct swp_buf out = {0};
	int r = swp_analyze_diff(c, &q, &out, NULL);
	if (rc)
		*rc = r;
	if (r) {
		swp_buf_free(&out);
		return NULL;
	}
	return out.data ? out.data : strdup("");
}

static struct swp_diff_side folded_side(const char *text)
{
	return (struct swp_diff_side){.sz = sizeof(struct swp_diff_side), .folded = text, .folded_len = strlen(text)};
}

/* one element of a diff */
#define DEL(id, parent, sym, type, before, after)                                                                      \
	"{\"id\":\"" id "\",\"parentId\":\"" parent "\",\"symbol\":\"" sym "\",\"stackType\":\"" type                  \
	"\",\"beforeCount\":" before ",\"afterCount\":" after "}"

// clang-format off
static void test_diff_hand_written(void)
{
	/* frames on both sides, on one side only, kernel frames; children by after, then before */
	struct swp_diff_side a = folded_side("main;work;old 6\nmain;work 2\nmain;idle 1\nmain;io;write;ksys_write_[k] 4\n");
	struct swp_diff_side b = folded_side("main;work;new 9\nmain;work 3\nmain;io;write;ksys_write_[k] 4\nmain;io 1\n");
	int rc = -1;
	char *got = run_diff(NULL, &a, &b, NULL, &rc);
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_STR(got, ANSWER(TREE(
		DEL("1", "0", "main", U, "13", "17") ","
		DEL("2", "1", "work", U, "8", "12") ","
		DEL("3", "1", "io", U, "4", "5") ","
		DEL("4", "1", "idle", U, "1", "0") ","
		DEL("5", "2", "new", U, "0", "9") ","
		DEL("6", "2", "old", U, "6", "0") ","
		DEL("7", "3", "write", U, "4", "4") ","
		DEL("8", "7", "ksys_write", K, "4", "4"))));
	free(got);
	/* difffolded: every stack of either side with both counts, sorted by stack */
	got = run_diff(NULL, &a, &b, "folded", &rc);
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_STR(got, "main;work 2 3\n"
			  "main;work;old 6 0\n"
			  "main;work;new 0 9\n"
			  "main;idle 1 0\n"
			  "main;io 0 1\n"
			  "main;io;write;ksys_write_[k] 4 4\n");
	free(got);
	/* a side without samples: a tip beside the trees, a failure for the other formats */
	struct swp_diff_side none = folded_side("# nothing\n");
	got = run_diff(NULL, &none, &b, NULL, &rc);
	CHECK_EQ_INT(rc, 0);
	CHECK_CONTAINS(got, "{\"tip\":\"the before side has no samples\",\"trees\":[{\"elements\":[" DEL("1", "0", "main", U, "0", "17"));
	free(got);
	got = run_diff(NULL, &b, &none, "svg", &rc);
	CHECK(got == NULL);
	CHECK_EQ_INT(rc, -ENODATA);
	CHECK_EQ_STR(swp_last_error(), "the after side has no samples");
	got = run_diff(NULL, &none, &none, NULL, &rc);
	CHECK_EQ_STR(got, "{\"tip\":\"neither side has samples\",\"trees\":[]}");
	free(got);
	/* a malformed side says which; another format; a stored side without a core */
	struct swp_diff_side bad = folded_side("main;x 1\nno count here\n");
	CHECK(run_diff(NULL, &a, &bad, NULL, &rc) == NULL);
	CHECK_EQ_INT(rc, -EINVAL);
	CHECK_EQ_STR(swp_last_error(), "after: line 2: expected \"frame;frame;... COUNT\"");
	CHECK(run_diff(NULL, &a, &b, "pprof", &rc) == NULL);
	CHECK_EQ_INT(rc, -EINVAL);
	struct swp_diff_side stored = {.sz = sizeof(stored), .task_id = "x"};
	CHECK(run_diff(NULL, &stored, &b, NULL, &rc) == NULL);
	CHECK_EQ_INT(rc, -EINVAL);
	CHECK_CONTAINS(swp_last_error(), "the before side names schedules");
	struct swp_diff_req q = {.sz = sizeof(q), .before = &a, .after = NULL};
	struct swp_buf out = {0};
	CHECK_EQ_INT(swp_analyze_diff(NULL, &q, &out, NULL), -EINVAL);
	q.after = &b;
	q.aggregate = 7;
	CHECK_EQ_INT(swp_analyze_diff(NULL, &q, &out, NULL), -EINVAL);
	swp_buf_free(&out);
}
// clang-format on

/* Checks the frame of a flame graph whose title starts with name: its class (NULL: any), its fill
 * and its width in [w_lo, w_hi] px. */
#define CHECK_FRAME(svg, name, cls, fill, w_lo, w_hi) check_frame(__LINE__, svg, name, cls, fill, w_lo, w_hi)
static void check_frame(int line, const char *svg, const char *name, const char *cls, const char *fill, double w_lo,
                        double w_hi)
{
	char pat[160], got_cls[64] = "", got_fill[64] = "";
	double w = -1;
	snprintf(pat, sizeof(pat), "<title>%s (", name);
	const char *t = svg ? strstr(svg, pat) : NULL;
	if (t) {
		const char *g = t;
		while (g > svg && strncmp(g, "<g class=\"", 10))
			g--;
		sscanf(g, "<g class=\"%63[^\"]\"", got_cls);
		const char *r = strstr(t, "width=\""), *f = strstr(t, "fill=\"");
		if (r)
			w = atof(r + 7);
		if (f)
			sscanf(f, "fill=\"%63[^\"]\"", got_fill);
	}
	if (!t || (cls && strcmp(got_cls, cls)) || strcmp(got_fill, fill) || w < w_lo || w > w_hi) {
		fprintf(stderr, "%s:%d: frame %s: class \"%s\", fill %s, width %.1f; expected class \"%s\", fill %s, width %.0f..%.0f\n",
		        __FILE__, line, name, got_cls, got_fill, w, cls ? cls : "(any)", fill, w_lo, w_hi);
		check_failures++;
	}
}

static void test_diff_svg_normalised(void)
{
	/* the same shares, four times the samples: nothing changed, nothing new or gone */
	struct swp_diff_side a = folded_side("m;a 10\nm;b 10\n");
	struct swp_diff_side b = folded_side("m;a 40\nm;b 40\n");
	char *svg = run_diff(NULL, &a, &b, "svg", NULL);
	CHECK_FRAME(svg, "a", "f", "rgb(235,235,235)", 599, 601);
	CHECK_FRAME(svg, "b", "f", "rgb(235,235,235)", 599, 601);
	free(svg);
	/* fewer samples after, yet a larger share for a: a red, b blue, widths by the after side */
	b = folded_side("m;a 9\nm;b 3\n");
	svg = run_diff(NULL, &a, &b, "svg", NULL);
	CHECK_FRAME(svg, "a", "f", "rgb(255,0,0)", 899, 901); /* 9 of 12 of 1200 px */
	CHECK_FRAME(svg, "b", "f", "rgb(0,0,255)", 299, 301);
	CHECK_CONTAINS(svg, "<title>a (10 -> 9 samples, 50.00% -> 75.00%, +25.00%)</title>");
	free(svg);
	/* a third of the largest change (b's): a third of the colour, 220 * (1 - 1/3) */
	b = folded_side("m;a 30\nm;b 10\nm;c 10\n");
	svg = run_diff(NULL, &a, &b, "svg", NULL);
	CHECK_FRAME(svg, "a", "f", "rgb(255,146,146)", 0, 1200); /* 50% -> 60%: +10 */
	CHECK_FRAME(svg, "b", "f", "rgb(0,0,255)", 0, 1200);     /* 50% -> 20%: -30, the largest */
	free(svg);
	/* a frame new in after is marked; one gone from it still shows, with its before share */
	b = folded_side("m;a 10\nm;c 10\n");
	svg = run_diff(NULL, &a, &b, "svg", NULL);
	CHECK_FRAME(svg, "c", "f new", "rgb(255,0,0)", 399, 401);
	CHECK_FRAME(svg, "b", "f gone", "rgb(0,0,255)", 399, 401); /* a, c and the gone b in thirds */
	CHECK_FRAME(svg, "a", "f", "rgb(235,235,235)", 399, 401);
	CHECK_CONTAINS(svg, "<title>b (10 -> 0 samples, 50.00% -> 0.00%, -50.00%, gone)</title>");
	/* the page holds the same SVG and its search box */
	char *page = run_diff(NULL, &a, &b, "html", NULL);
	CHECK(page && svg && strstr(page, svg) && strstr(page, "<input id=\"q\"") && strstr(page, "new RegExp"));
	free(page);
	free(svg);
}

/* The expected diff of v[a0, a1) (before) and v[b0, b1) (after, each count times mul). */
static char *expected_diff(const struct stack *v, int a0, int a1, int b0, int b1, uint64_t mul)
{
	struct stack *w = calloc((size_t)(a1 - a0 + b1 - b0) + 1, sizeof(*w));
	int n = 0;
	for (int i = a0; i < a1; i++) {
		w[n] = v[i];
		w[n].before = v[i].count;
		w[n++].count = 0;
	}
	for (int i = b0; i < b1; i++) {
		w[n] = v[i];
		w[n++].count = v[i].count * mul;
	}
	struct model m;
	model_build(&m, w, 0, n);
	struct xnode top;
	model_trees(&m, &top);
	char *j = render(&top, true);
	xnode_free(&top);
	model_free(&m);
	free(w);
	return j;
}

/* Random stacks on two overlapping sides against the naive model, byte for byte, and difffolded
 * back into its two sides. */
static void test_diff_differential(void)
{
	static const uint64_t seeds[] = {3, 99, 20261202};
	const int n = N_STACKS / 2;
	for (size_t si = 0; si < sizeof(seeds) / sizeof(seeds[0]); si++) {
		struct stack *v = gen_stacks(seeds[si], n);
		struct str ta = {0}, tb = {0};
		folded_text(v, 0, 2 * n / 3, &ta);
		for (int i = n / 3; i < n; i++)
			v[i].count *= 3;
		folded_text(v, n / 3, n, &tb);
		for (int i = n / 3; i < n; i++)
			v[i].count /= 3;
		struct swp_diff_side a = {.sz = sizeof(a), .folded = ta.p, .folded_len = ta.len};
		struct swp_diff_side b = {.sz = sizeof(b), .folded = tb.p, .folded_len = tb.len};
		int rc = -1;
		char *got = run_diff(NULL, &a, &b, NULL, &rc);
		char *want = expected_diff(v, 0, 2 * n / 3, n / 3, n, 3);
		char what[64];
		snprintf(what, sizeof(what), "diff, seed %llu", (unsigned long long)seeds[si]);
		CHECK_EQ_INT(rc, 0);
		check_same(what, got, want);
		free(got);
		free(want);
		/* difffolded: column 2 is the before side, column 3 the after side, stack for stack */
		char *df = run_diff(NULL, &a, &b, "folded", &rc);
		CHECK_EQ_INT(rc, 0);
		struct str ra = {0}, rb = {0};
		for (char *line = df, *eol; line && *line; line = eol + 1) {
			eol = strchr(line, '\n');
			if (!eol)
				break;
			char *c2 = eol;
			while (c2 > line && c2[-1] != ' ')
				c2--;
			char *c1 = c2 - 1;
			while (c1 > line && c1[-1] != ' ')
				c1--;
			if (c1 <= line) {
				CHECK(!"a difffolded line has two counts");
				break;
			}
			str_put(&ra, line, (size_t)(c1 - line));
			str_put(&ra, c1, (size_t)(c2 - 1 - c1));
			str_puts(&ra, "\n");
			str_put(&rb, line, (size_t)(c1 - line));
			str_put(&rb, c2, (size_t)(eol - c2));
			str_puts(&rb, "\n");
		}
		char *want_a = analyze_n(ta.p, ta.len, NULL), *want_b = analyze_n(tb.p, tb.len, NULL);
		char *got_a = analyze_n(ra.p ? ra.p : "", ra.len, NULL), *got_b = analyze_n(rb.p ? rb.p : "", rb.len, NULL);
		snprintf(what, sizeof(what), "difffolded before, seed %llu", (unsigned long long)seeds[si]);
		check_same(what, got_a, want_a);
		snprintf(what, sizeof(what), "difffolded after, seed %llu", (unsigned long long)seeds[si]);
		check_same(what, got_b, want_b);
		free(want_a);
		free(want_b);
		free(got_a);
		free(got_b);
		free(ra.p);
		free(rb.p);
		free(df);
		free(ta.p);
		free(tb.p);
		free(v);
	}
}

/* Two time ranges of one schedule, a task's range, unknown ids and bad ranges, a stored side
 * against collapsed stacks: through RocksDB. */
static void test_diff_store(void)
{
	struct store_fixture fx;
	if (!fixture_open(&fx))
		return;
	swp_core *c = fx.c;
	const char *task = fx.task;
	const int n = N_STACKS / 2;
	struct stack *v = gen_stacks(77, n);
	char *sched = NULL;
	struct str texts[2] = {{0}, {0}};
	for (int i = 0; i < 2; i++) {
		folded_text(v, i ? n / 2 : 0, i ? n : n / 2, &texts[i]);
		struct swp_import_req iq = {.sz = sizeof(iq), .task_id = task, .time_ms = T0 + i * 10000LL,
		                            .text = texts[i].p, .len = texts[i].len};
		struct swp_buf ibuf = {0};
		CHECK_EQ_INT(swp_import_folded(c, &iq, &ibuf), 0);
		char *s = json_str_field(ibuf.data, "scheduleId");
		if (!sched)
			sched = s;
		else {
			CHECK_EQ_STR(s, sched); /* the task's one schedule on the process */
			free(s);
		}
		swp_buf_free(&ibuf);
	}
	char *want = expected_diff(v, 0, n / 2, n / 2, n, 1);
	const char *ids[] = {sched, "no-such-schedule"};
	struct swp_time_range first = {T0 - 500, T0 + 500}, second = {T0 + 9500, T0 + 10500}, bad = {T0, T0 - 1};
	struct swp_diff_side a = {.sz = sizeof(a), .schedule_ids = ids, .n_schedule_ids = 2, .ranges = &first, .n_ranges = 1};
	struct swp_diff_side b = {.sz = sizeof(b), .task_id = task, .ranges = &second, .n_ranges = 1};
	int rc = -1;
	char *got = run_diff(c, &a, &b, NULL, &rc);
	CHECK_EQ_INT(rc, 0);
	check_same("diff of two ranges of a schedule", got, want);
	free(got);
	/* a stored side against the same stacks as text: the same tree */
	struct swp_diff_side bt = {.sz = sizeof(bt), .folded = texts[1].p, .folded_len = texts[1].len};
	got = run_diff(c, &a, &bt, NULL, &rc);
	check_same("diff of a stored side and collapsed stacks", got, want);
	free(got);
	/* the ranges of both sides at once: equal counts on both sides of every element */
	struct swp_time_range both[] = {first, second};
	struct swp_diff_side all = {.sz = sizeof(all), .task_id = task, .ranges = both, .n_ranges = 2};
	got = run_diff(c, &all, &all, NULL, &rc);
	CHECK(got != NULL && count_sub(got, "\"beforeCount\":") > 100);
	for (const char *p = got ? strstr(got, "\"beforeCount\":") : NULL; p; p = strstr(p + 1, "\"beforeCount\":")) {
		unsigned long long x = 0, y = 0;
		if (sscanf(p, "\"beforeCount\":%llu,\"afterCount\":%llu", &x, &y) != 2 || x != y) {
			CHECK(!"both sides equal");
			break;
		}
	}
	free(got);
	/* tips: which side, and why */
	const char *unknown[] = {"no-such-schedule"};
	struct swp_diff_side u = {.sz = sizeof(u), .schedule_ids = unknown, .n_schedule_ids = 1, .ranges = &first, .n_ranges = 1};
	got = run_diff(c, &a, &u, NULL, &rc);
	CHECK_EQ_STR(got, "{\"tip\":\"after: could not found schedules\",\"trees\":[]}");
	free(got);
	struct swp_diff_side r = {.sz = sizeof(r), .task_id = task, .ranges = &bad, .n_ranges = 1};
	got = run_diff(c, &r, &b, NULL, &rc);
	CHECK_EQ_STR(got, "{\"tip\":\"before: please validate the time duration data\",\"trees\":[]}");
	free(got);
	struct swp_diff_side nt = {.sz = sizeof(nt), .task_id = "nope", .ranges = &first, .n_ranges = 1};
	CHECK(run_diff(c, &nt, &b, "folded", &rc) == NULL);
	CHECK_EQ_INT(rc, -ENOENT);
	CHECK_EQ_STR(swp_last_error(), "before: could not found task");
	/* a range with nothing in it */
	struct swp_time_range later = {T0 + 60000, T0 + 61000};
	struct swp_diff_side empty = {.sz = sizeof(empty), .task_id = task, .ranges = &later, .n_ranges = 1};
	got = run_diff(c, &a, &empty, NULL, &rc);
	CHECK(got && strstr(got, "{\"tip\":\"the after side has no samples\",\"trees\":[{") == got);
	free(got);
	free(want);
	free(texts[0].p);
	free(texts[1].p);
	free(sched);
	free(v);
	fixture_close(&fx);
}

int main(void)
{
	test_protocol_example();
	test_kernel_frames();
	test_ordering();
	test_roots();
	test_bfs_ids();
	test_escaping();
	test_malformed();
	test_empty_and_zero();
	test_differential();
	test_store_round_trip();
	test_diff_hand_written();
	test_diff_svg_normalised();
	test_diff_differential();
	test_diff_store();
	CHECK_DONE();
}
