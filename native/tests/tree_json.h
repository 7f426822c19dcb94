/* Reads the elements of an analysis JSON answer back, for tests that check tree shapes. Only
 * for symbols without escapes (the tests' own function names). */
#ifndef SWP_TREE_JSON_H
#define SWP_TREE_JSON_H

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
static int parse_elements(const char *json, struct elem *out, int max)
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

static const struct elem *find_elem(const struct elem *v, int n, const char *symbol)
{
	for (int i = 0; i < n; i++)
		if (strcmp(v[i].symbol, symbol) == 0)
			return &v[i];
	return NULL;
}

static const struct elem *parent_of(const struct elem *v, int n, const struct elem *x)
{
	for (int i = 0; i < n; i++)
		if (v[i].tree == x->tree && v[i].id == x->parent)
			return &v[i];
	return NULL;
}

#endif
