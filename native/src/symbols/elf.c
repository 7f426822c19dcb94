/* Function symbols and PT_LOAD headers of one ELF file, read with libelf (see symtab.h). */
#include <gelf.h>
#include <libelf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "symbols/symtab.h"

/* Among aliases at one address: a sized symbol, then GLOBAL > WEAK > LOCAL, then a name
 * without a leading underscore (malloc over __libc_malloc). */
static int sym_rank(const GElf_Sym *s, const char *name)
{
	int bind = GELF_ST_BIND(s->st_info);
	int r = bind == STB_GLOBAL ? 3 : bind == STB_WEAK ? 2 : bind == STB_LOCAL ? 1 : 0;
	return (s->st_size ? 16 : 0) + r * 2 + (name[0] != '_');
}

struct cands {
	struct swp__cand *v;
	size_t n, cap;
};

/* Adds the defined function symbols of e's .symtab and .dynsym; returns whether it has a .symtab.
 * The names point into e: build the table before e ends. */
static bool collect(Elf *e, struct cands *c)
{
	bool has_symtab = false;
	size_t symsz = gelf_fsize(e, ELF_T_SYM, 1, EV_CURRENT);
	for (Elf_Scn *scn = elf_nextscn(e, NULL); scn && symsz; scn = elf_nextscn(e, scn)) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM))
			continue;
		Elf_Data *d = elf_getdata(scn, NULL); /* fails on a section past the end of the file */
		if (!d)
			continue;
		has_symtab |= sh.sh_type == SHT_SYMTAB;
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
			if (c->n == c->cap) {
				c->cap = c->cap ? c->cap * 2 : 256;
				c->v = swp__xrealloc(c->v, c->cap * sizeof(*c->v));
			}
			c->v[c->n++] = (struct swp__cand){ .addr = s.st_value, .size = s.st_size, .name = name,
				.rank = sym_rank(&s, name) };
		}
	}
	return has_symtab;
}

Elf *swp__elf_debug_file(Elf *e, int *fd)
{
	for (Elf_Scn *scn = elf_nextscn(e, NULL); scn; scn = elf_nextscn(e, scn)) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		GElf_Nhdr nh;
		size_t off = 0, name_off, desc_off;
		while (d && (off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
			if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != 4 || nh.n_descsz < 2 || nh.n_descsz > 64 ||
			    memcmp((const char *)d->d_buf + name_off, "GNU", 4) != 0)
				continue;
			const uint8_t *id = (const uint8_t *)d->d_buf + desc_off;
			char path[64 + 2 * 64 + 8] = "/usr/lib/debug/.build-id/";
			size_t k = strlen(path);
			for (size_t i = 0; i < nh.n_descsz; i++) {
				k += (size_t)snprintf(path + k, sizeof(path) - k, "%02x", id[i]);
				if (i == 0)
					path[k++] = '/';
			}
			snprintf(path + k, sizeof(path) - k, ".debug");
			*fd = open(path, O_RDONLY | O_CLOEXEC);
			if (*fd < 0)
				return NULL;
			Elf *dbg = elf_begin(*fd, ELF_C_READ, NULL);
			if (dbg && elf_kind(dbg) == ELF_K_ELF)
				return dbg;
			elf_end(dbg);
			close(*fd);
			return NULL;
		}
	}
	return NULL;
}

static int load(Elf *e, struct swp__symtab *t)
{
	size_t nph;
	struct cands c = {0};

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
	/* a stripped file (only .dynsym) may have its full .symtab in a debug file */
	int dfd = -1;
	Elf *dbg = collect(e, &c) ? NULL : swp__elf_debug_file(e, &dfd);
	if (dbg)
		collect(dbg, &c);
	swp__symtab_build(t, c.v, c.n, NULL); /* copies the names: the Elf may go; takes c.v */
	if (dbg) {
		elf_end(dbg);
		close(dfd);
	}
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
