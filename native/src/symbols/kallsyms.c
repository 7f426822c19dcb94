/* Kernel text symbols from /proc/kallsyms (see symtab.h). */
#include <stdio.h>
#include <stdlib.h>

#include "symbols/symtab.h"

/* Lines are "ffffffff81000000 T _stext" or "ffffffffc0a01000 t foo_init\t[foo]". Only text
 * symbols (t T w W) with a non-zero address count; under kptr_restrict every address reads 0. */
int swp__kallsyms_load(const char *path, struct swp__symtab *t)
{
	memset(t, 0, sizeof(*t));
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;

	/* The candidates as read, each name's offset in `names` held in its size field until the names
	 * stop moving; then `names` becomes the table's arena as it is (kernel symbols have no size).
	 * About 100,000 text symbols: one array and one arena at a time, not copies of them. */
	struct swp_buf names = { 0 };
	struct swp__cand *c = NULL;
	size_t n = 0, cap = 0;
	char *line = NULL;
	size_t line_cap = 0;
	while (getline(&line, &line_cap, f) > 0) {
		char *p = line, *end;
		uint64_t addr = strtoull(p, &end, 16);
		if (end == p || *end != ' ' || !addr)
			continue;
		char type = end[1];
		if (!strchr("tTwW", type) || !type || end[2] != ' ')
			continue;
		char *name = end + 3;
		name[strcspn(name, " \t\r\n")] = 0; /* drops the "\t[module]" part */
		if (!*name)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			c = swp__xrealloc(c, cap * sizeof(*c));
		}
		/* among aliases: global before local, strong before weak, no leading underscore */
		int rank = (type == 'T') * 8 + (type == 't') * 4 + (type == 'W') * 2 + (name[0] != '_');
		c[n++] = (struct swp__cand){ .addr = addr, .size = names.len, .rank = rank };
		swp__buf_put(&names, name, strlen(name) + 1);
	}
	int rc = ferror(f) ? -EIO : 0;
	free(line);
	fclose(f);

	if (names.data) { /* the arena lives as long as the table: no slack */
		names.data = swp__xrealloc(names.data, names.len + 1);
		names.cap = names.len + 1;
		names.data[names.len] = 0;
	}
	for (size_t i = 0; i < n; i++) {
		c[i].name = names.data + c[i].size;
		c[i].size = 0;
	}
	swp__symtab_build(t, c, n, &names); /* takes c */
	if (!rc && !t->nsyms)
		rc = -ENOENT;
	return rc;
}
