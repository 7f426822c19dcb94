/* Reads JSON answers back in tests: the elements of an analysis (tree shapes), a string field,
 * a count of occurrences. Only for values without escapes (the tests' own names). */
#ifndef SWP_TEST_JSON_H
#define SWP_TEST_JSON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct elem {
	int tree;
	long id, parent;
	char symbol[128];
	int kernel;
	long long count;
};

/* Parses up to max elements; returns how many. */
static inline int parse_elements(const char *json, struct elem *out, int max)
{
	int n = 0, tree = -1;
	const char *p = json;
	while (p && *p && n < max) {
		const char *e = strstr(p, "{\"id\":\"");
		const char *t = strstr(p, "{\"elements\":[");
		if (t && (!e || t < e)) {
			tree++;
			p = t + 13;
			continue;
		}
		if (!e)
			break;
		struct elem *x = &out[n];
		char stype[32];
		if (sscanf(e, "{\"id\":\"%ld\",\"parentId\":\"%ld\",\"symbol\":\"%127[^\"]\",\"stackType\":\"%31[^\"]\",\"dumpCount\":%lld",
			   &x->id, &x->parent, x->symbol, stype, &x->count) == 5) {
			x->tree = tree;
			x->kernel = strcmp(stype, "KERNEL_SPACE") == 0;
			n++;
		}
		p = e + 7;
	}
	return n;
}

/* The element named symbol with the most samples (a sample taken in a function's prologue can
 * put a second, tiny node of it elsewhere in the tree). */
static inline const struct elem *find_elem(const struct elem *v, int n, const char *symbol)
{
	const struct elem *best = NULL;
	for (int i = 0; i < n; i++)
		if (strcmp(v[i].symbol, symbol) == 0 && (!best || v[i].count > best->count))
			best = &v[i];
	return best;
}

static inline const struct elem *parent_of(const struct elem *v, int n, const struct elem *x)
{
	for (int i = 0; i < n; i++)
		if (v[i].tree == x->tree && v[i].id == x->parent)
			return &v[i];
	return NULL;
}

/* the string value of "key":"value" in json (first occurrence) */
static inline void json_get(const char *json, const char *key, char *out, size_t n)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	const char *p = json ? strstr(json, pat) : NULL;
	out[0] = 0;
	if (!p)
		return;
	p += strlen(pat);
	size_t i = 0;
	while (p[i] && p[i] != '"' && i + 1 < n) {
		out[i] = p[i];
		i++;
	}
	out[i] = 0;
}

static inline size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; p && (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

#endif
