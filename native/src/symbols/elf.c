/* Function symbols and PT_LOAD headers of one ELF file, read with libelf (see symtab.h). */
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>

#include "symbols/symtab.h"

/* Among aliases at one address: a sized symbol, then GLOBAL > WEAK > LOCAL, then a name
 * without a leading underscore (malloc over __libc_malloc). */
static int sym_rank(const GElf_Sym *s, const char *name)
{
	int bind = GELF_ST_BIND(s->st_info);
	int r = bind == STB_GLOBAL ? 3 : bind == STB_WEAK ? 2 : bind == STB_LOCAL ? 1 : 0;
	return (s->st_size ? 16 : 0) + r * 2 + (name[0] != '_');
}

static int load(Elf *e, struct swp__symtab *t)
{
	size_t nph, cap = 0, n = 0;
	struct swp__cand *c = NULL;

	if (!e || elf_kind(e) != ELF_K_ELF || elf_getphdrnum(e, &nph) != 0)
		return -ENOEXEC;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		t->segs = swp__xrealloc(t->segs, (t->nsegs + 1) * sizeof(*t->segs));
		t->segs[t->nsegs++] = (struct swp__seg){ .off = ph.p_offset, .filesz = ph.p_filesz,
			.vaddr = ph.p_vaddr, .memsz = ph.p_memsz, .exec = (ph.p_flags & PF_X) != 0 };
	}
	size_t symsz = gelf_fsize(e, ELF_T_SYM, 1, EV_CURRENT);
	for (Elf_Scn *scn = elf_nextscn(e, NULL); scn && symsz; scn = elf_nextscn(e, scn)) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM))
			continue;
		Elf_Data *d = elf_getdata(scn, NULL); /* fails on a section past the end of the file */
		if (!d)
			continue;
		size_t cnt = d->d_size / symsz;
		for (size_t i = 1; i < cnt; i++) {
			GElf_Sym s;
			if (!gelf_getsym(d, (int)i, &s))
				break;
			int type = GELF_ST_TYPE(s.st_info);
			if ((type != STT_FUNC && type != STT_GNU_IFUNC) || s.st_shndx == SHN_UNDEF || !s.st_value)
				continue;
			const char *name = elf_strptr(e, sh.sh_link, s.st_name);
			if (!name || !*name)
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 256;
				c = swp__xrealloc(c, cap * sizeof(*c));
			}
			c[n++] = (struct swp__cand){ .addr = s.st_value, .size = s.st_size, .name = name,
				.rank = sym_rank(&s, name) };
		}
	}
	swp__symtab_build(t, c, n); /* copies the names: the Elf may go */
	free(c);
	return 0;
}

int swp__elf_load_fd(int fd, struct swp__symtab *t)
{
	memset(t, 0, sizeof(*t));
	elf_version(EV_CURRENT);
	/* ELF_C_READ, not an mmap: a file truncated under us must not raise SIGBUS */
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	int rc = load(e, t);
	elf_end(e);
	return rc;
}

int swp__elf_load_mem(void *image, size_t len, struct swp__symtab *t)
{
	memset(t, 0, sizeof(*t));
	elf_version(EV_CURRENT);
	Elf *e = elf_memory(image, len);
	int rc = load(e, t);
	elf_end(e);
	return rc;
}

const char *swp__elf_lookup(struct swp__symtab *t, uint64_t off, struct swp_buf *scratch)
{
	const struct swp__seg *seg = NULL;
	for (size_t i = 0; i < t->nsegs; i++) {
		const struct swp__seg *g = &t->segs[i];
		if (off >= g->off && off - g->off < g->filesz && (!seg || (g->exec && !seg->exec)))
			seg = g;
	}
	if (!seg)
		return NULL;
	uint64_t vaddr = off - seg->off + seg->vaddr;
	struct swp__sym *s = swp__symtab_find(t, vaddr, false);
	return s ? swp__symtab_name(t, s, scratch) : NULL;
}
