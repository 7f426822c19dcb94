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

	struct swp_buf tmp = { 0 }; /* names as read, back to back */
	struct {
		uint64_t addr;
		size_t name;
		int rank;
	} *raw = NULL;
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
			raw = swp__xrealloc(raw, cap * sizeof(*raw));
		}
		/* among aliases: global before local, strong before weak, no leading underscore */
		int rank = (type == 'T') * 8 + (type == 't') * 4 + (type == 'W') * 2 + (name[0] != '_');
		raw[n].addr = addr;
		raw[n].name = tmp.len;
		raw[n].rank = rank;
		n++;
		swp__buf_put(&tmp, name, strlen(name) + 1);
	}
	int rc = ferror(f) ? -EIO : 0;
	free(line);
	fclose(f);

	struct swp__cand *c = swp__xmalloc((n ? n : 1) * sizeof(*c));
	for (size_t i = 0; i < n; i++)
		c[i] = (struct swp__cand){ .addr = raw[i].addr, .name = tmp.data + raw[i].name, .rank = raw[i].rank };
	free(raw);
	swp__symtab_build(t, c, n);
	free(c);
	swp_buf_free(&tmp);
	if (!rc && !t->nsyms)
		rc = -ENOENT;
	return rc;
}
