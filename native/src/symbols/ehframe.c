/*
 * The unwind tables of one ELF file for DWARF unwinding (see symtab.h): .eh_frame_hdr, whose
 * binary search table finds the FDE of an address, and .eh_frame, the FDEs and CIEs themselves,
 * copied out of the file with their link-time addresses. libunwind reads them through unwind.c's
 * accessors.
 *
 * Code built with -fno-asynchronous-unwind-tables -g has its FDEs in .debug_frame instead (in
 * the file, or in its debug file), which is not mapped and differs in details: a CIE id of
 * 0xffffffff, FDEs pointing to their CIE by section offset, absolute 8-byte addresses. Those are
 * translated into a second table in .eh_frame's own format (CIE "zR" with pc-relative FDE
 * addresses, and a search table like .eh_frame_hdr's), served at link-time addresses inside the
 * file's own PT_LOAD span: run-time addresses no other module's tables or the stack can have.
 *
 *   tab[1].hdr    [1 1b 03 3b | frame - . | count | (pc - hdr, fde - hdr) x count] padded to 8
 *   tab[1].frame  [CIE "zR" 1b ...] ... [FDE . - cie | pc - . | range | 0 | insns] ... [0]
 *
 * While copying, every FDE's call frame instructions are scanned for the frame pointer becoming
 * the CFA (DW_CFA_def_cfa_register rbp, or DW_CFA_def_cfa rbp): what a function built with frame
 * pointers does after `push rbp; mov rbp, rsp`. A file where most FDEs do was built with frame
 * pointers, and the kernel's frame-pointer walk through its code is right.
 */
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "symbols/symtab.h"

#define DW_EH_PE_omit 0xff
#define DW_EH_PE_udata4 0x03
#define DW_EH_PE_pcrel_sdata4 0x1b
#define DW_EH_PE_datarel_sdata4 0x3b /* the only search table encoding libunwind reads */
#define DEBUG_FRAME_CIE_ID 0xffffffffu
#define REG_RBP 6

/* A bounded little-endian reader. */
struct rd {
	const uint8_t *p, *end;
	bool bad;
};

/* bytes left (none once p passed end) */
static size_t left(const struct rd *r)
{
	return r->p < r->end ? (size_t)(r->end - r->p) : 0;
}

static uint64_t rd_n(struct rd *r, size_t n)
{
	uint64_t v = 0;
	if (left(r) < n) {
		r->bad = true;
		r->p = r->end;
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)r->p[i] << (8 * i);
	r->p += n;
	return v;
}

static uint64_t rd_uleb(struct rd *r)
{
	uint64_t v = 0;
	for (unsigned shift = 0; r->p < r->end; shift += 7) {
		uint8_t b = *r->p++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	r->bad = true;
	return v;
}

static void skip(struct rd *r, uint64_t n)
{
	if (left(r) < n) {
		r->bad = true;
		r->p = r->end;
	} else {
		r->p += n;
	}
}

/* Skips a pointer encoded as enc (its value is not needed here); false for an unknown encoding. */
static bool skip_encoded(struct rd *r, uint8_t enc)
{
	if (enc == DW_EH_PE_omit)
		return true;
	switch (enc & 0x0f) {
	case 0x00: skip(r, 8); return true;           /* absptr */
	case 0x01: case 0x09: rd_uleb(r); return true; /* uleb128, sleb128 */
	case 0x02: case 0x0a: skip(r, 2); return true;
	case 0x03: case 0x0b: skip(r, 4); return true;
	case 0x04: case 0x0c: skip(r, 8); return true;
	default: return false;
	}
}

/* Whether an FDE's instructions make rbp the CFA; stops at an opcode it does not know. */
static bool fp_cfa(struct rd r, uint8_t fde_enc)
{
	while (r.p < r.end && !r.bad) {
		uint8_t op = *r.p++;
		switch (op >> 6) {
		case 1: continue;                /* advance_loc */
		case 2: rd_uleb(&r); continue;   /* offset */
		case 3: continue;                /* restore */
		}
		switch (op) {
		case 0x00: case 0x0a: case 0x0b: break;             /* nop, remember/restore_state */
		case 0x01: if (!skip_encoded(&r, fde_enc)) return false; break; /* set_loc */
		case 0x02: skip(&r, 1); break;
		case 0x03: skip(&r, 2); break;
		case 0x04: skip(&r, 4); break;
		case 0x0c: case 0x12:                                 /* def_cfa(_sf) reg, offset */
			if (rd_uleb(&r) == REG_RBP)
				return true;
			rd_uleb(&r);
			break;
		case 0x0d:                                            /* def_cfa_register */
			if (rd_uleb(&r) == REG_RBP)
				return true;
			break;
		case 0x05: case 0x09: case 0x11: case 0x14: case 0x15: /* two operands */
			rd_uleb(&r);
			rd_uleb(&r);
			break;
		case 0x06: case 0x07: case 0x08: case 0x0e: case 0x13: case 0x2e: /* one */
			rd_uleb(&r);
			break;
		case 0x0f: skip(&r, rd_uleb(&r)); break;              /* def_cfa_expression */
		case 0x10: case 0x16:                                 /* (val_)expression reg, block */
			rd_uleb(&r);
			skip(&r, rd_uleb(&r));
			break;
		default:
			return false;
		}
	}
	return false;
}

/* The pointer encoding of a CIE's FDEs ('R'), or DW_EH_PE_omit when it cannot be read. */
static uint8_t cie_fde_encoding(struct rd r, bool *has_z)
{
	uint8_t version = (uint8_t)rd_n(&r, 1);
	*has_z = false;
	if (r.bad || !left(&r))
		return DW_EH_PE_omit;
	const char *aug = (const char *)r.p;
	size_t alen = strnlen(aug, left(&r));
	if (alen == left(&r))
		return DW_EH_PE_omit; /* no terminating NUL inside the CIE */
	skip(&r, alen + 1);
	*has_z = aug[0] == 'z';
	if (aug[0] && aug[0] != 'z')
		return DW_EH_PE_omit;
	rd_uleb(&r); /* code alignment */
	rd_uleb(&r); /* data alignment (sleb: skipped the same way) */
	if (version == 1)
		skip(&r, 1);
	else
		rd_uleb(&r); /* return address register */
	if (!*has_z)
		return 0x00;
	rd_uleb(&r); /* augmentation length */
	for (size_t i = 1; i < alen && !r.bad; i++) {
		switch (aug[i]) {
		case 'R': return (uint8_t)rd_n(&r, 1);
		case 'L': skip(&r, 1); break;
		case 'P': {
			uint8_t enc = (uint8_t)rd_n(&r, 1);
			if (!skip_encoded(&r, enc & 0x7f))
				return DW_EH_PE_omit;
			break;
		}
		case 'S': case 'B': break;
		default: return DW_EH_PE_omit;
		}
	}
	return 0x00;
}

/* Counts the FDEs of t's frame, and those that make rbp the CFA, into eh. */
static void classify(const struct swp__ehtab *t, struct swp__eh *eh)
{
	const uint8_t *frame = t->frame;
	struct rd r = {frame, frame + t->frame_len, false};
	while (!r.bad && left(&r) >= 4) {
		uint64_t len = rd_n(&r, 4);
		if (len == 0 || len == 0xffffffff)
			break; /* the terminator; or 64-bit DWARF, which .eh_frame does not use */
		if (r.bad || len < 4 || len > left(&r))
			break; /* too short to hold its CIE pointer, or past the section */
		const uint8_t *next = r.p + len;
		const uint8_t *id_at = r.p;
		uint32_t cie_ptr = (uint32_t)rd_n(&r, 4);
		if (cie_ptr && (uint64_t)(id_at - frame) >= cie_ptr) {
			const uint8_t *cie = id_at - cie_ptr;
			struct rd c = {cie, frame + t->frame_len, false};
			uint64_t clen = rd_n(&c, 4);
			if (!c.bad && clen > 4 && clen != 0xffffffff && clen <= left(&c) && rd_n(&c, 4) == 0) {
				c.end = c.p + clen - 4;
				bool has_z = false;
				uint8_t enc = cie_fde_encoding(c, &has_z);
				struct rd f = {r.p, next, false};
				if (enc != DW_EH_PE_omit && skip_encoded(&f, enc) && skip_encoded(&f, enc & 0x0f)) {
					if (has_z)
						skip(&f, rd_uleb(&f));
					eh->fdes++;
					if (!f.bad && fp_cfa(f, enc))
						eh->fp_fdes++;
				}
			}
		}
		r.p = next;
	}
}

/* The search table of .eh_frame_hdr: where it starts and how many entries. */
static bool parse_hdr(struct swp__ehtab *eh)
{
	struct rd r = {eh->hdr, eh->hdr + eh->hdr_len, false};
	uint8_t version = (uint8_t)rd_n(&r, 1), ptr_enc = (uint8_t)rd_n(&r, 1), count_enc = (uint8_t)rd_n(&r, 1),
		table_enc = (uint8_t)rd_n(&r, 1);
	if (r.bad || version != 1 || table_enc != DW_EH_PE_datarel_sdata4 || !skip_encoded(&r, ptr_enc))
		return false;
	uint64_t count;
	switch (count_enc & 0x0f) {
	case 0x03: case 0x0b: count = rd_n(&r, 4); break;
	case 0x04: case 0x0c: case 0x00: count = rd_n(&r, 8); break;
	case 0x01: count = rd_uleb(&r); break;
	default: return false;
	}
	if (r.bad || count > left(&r) / 8)
		return false;
	eh->table_vaddr = eh->hdr_vaddr + (uint64_t)(r.p - eh->hdr);
	eh->fde_count = count;
	return count > 0;
}

/* A copy of section `name`: an allocated one (.eh_frame*) with its link-time address, or (alloc
 * false) a debug one, decompressed when it is stored compressed. NULL when there is none. */
static uint8_t *section_copy(Elf *e, const char *name, bool alloc, uint64_t *vaddr, size_t *len)
{
	size_t shstrndx;
	if (elf_getshdrstrndx(e, &shstrndx) != 0)
		return NULL;
	for (Elf_Scn *scn = elf_nextscn(e, NULL); scn; scn = elf_nextscn(e, scn)) {
		GElf_Shdr sh;
		/* SHT_X86_64_UNWIND: what lld (and so LLVM's own libraries) give .eh_frame */
		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_PROGBITS && sh.sh_type != SHT_X86_64_UNWIND) ||
		    alloc != !!(sh.sh_flags & SHF_ALLOC))
			continue;
		const char *n = elf_strptr(e, shstrndx, sh.sh_name);
		if (!n || strcmp(n, name))
			continue;
		if (!alloc && (sh.sh_flags & SHF_COMPRESSED) && elf_compress(scn, 0, 0) < 0)
			return NULL;
		Elf_Data *d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf || !d->d_size || d->d_size > (64u << 20))
			return NULL;
		uint8_t *copy = swp__xmalloc(d->d_size);
		memcpy(copy, d->d_buf, d->d_size);
		*vaddr = sh.sh_addr;
		*len = d->d_size;
		return copy;
	}
	return NULL;
}

static void tab_free(struct swp__ehtab *t)
{
	free(t->hdr);
	free(t->frame);
	memset(t, 0, sizeof(*t));
}

/* ---- .debug_frame, translated ---- */

/* Where the file's PT_LOAD segments lie (link-time), and its code segments. */
struct span {
	uint64_t lo, hi;
	struct { uint64_t lo, hi; } code[8];
	unsigned ncode;
};

static bool load_span(Elf *e, struct span *sp)
{
	size_t nph;
	memset(sp, 0, sizeof(*sp));
	sp->lo = UINT64_MAX;
	if (elf_getphdrnum(e, &nph) != 0)
		return false;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD || !ph.p_memsz)
			continue;
		sp->lo = ph.p_vaddr < sp->lo ? ph.p_vaddr : sp->lo;
		sp->hi = ph.p_vaddr + ph.p_memsz > sp->hi ? ph.p_vaddr + ph.p_memsz : sp->hi;
		if ((ph.p_flags & PF_X) && sp->ncode < 8) {
			sp->code[sp->ncode].lo = ph.p_vaddr;
			sp->code[sp->ncode++].hi = ph.p_vaddr + ph.p_memsz;
		}
	}
	return sp->lo < sp->hi;
}

/* Whether [pc, pc+range) is code of the file: the FDEs of functions the linker dropped keep
 * address 0 in .debug_frame. */
static bool in_code(const struct span *sp, uint64_t pc, uint64_t range)
{
	for (unsigned i = 0; i < sp->ncode; i++)
		if (pc >= sp->code[i].lo && range <= sp->code[i].hi - pc)
			return true;
	return false;
}

static void set32(struct swp_buf *b, size_t at, uint32_t v)
{
	uint8_t w[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	memcpy(b->data + at, w, 4);
}

static bool fits32(int64_t v)
{
	return v >= INT32_MIN && v <= INT32_MAX;
}

/* A .debug_frame CIE (r: its body after the id) appended to out as an .eh_frame CIE: version 1,
 * augmentation "zR", FDE addresses pc-relative sdata4. False for one this cannot say that way (an
 * augmentation, an address size other than 8, a return address register past 255). */
static bool put_cie(struct rd r, struct swp_buf *out)
{
	uint8_t version = (uint8_t)rd_n(&r, 1);
	if (r.bad || (version != 1 && version != 3 && version != 4) || !left(&r) || *r.p)
		return false;
	r.p++; /* the empty augmentation */
	if (version == 4 && (rd_n(&r, 1) != 8 || rd_n(&r, 1) != 0))
		return false; /* address size, segment selector size */
	const uint8_t *align = r.p;
	rd_uleb(&r); /* code alignment */
	rd_uleb(&r); /* data alignment (an sleb128: its length is found the same way) */
	const uint8_t *align_end = r.p;
	uint64_t ra = version == 1 ? rd_n(&r, 1) : rd_uleb(&r);
	if (r.bad || ra > 255)
		return false;
	size_t at = out->len;
	swp__buf_put_u32(out, 0); /* the length, set below */
	swp__buf_put_u32(out, 0); /* .eh_frame's CIE id */
	static const uint8_t head[] = {1, 'z', 'R', 0};
	swp__buf_put(out, head, sizeof(head));
	swp__buf_put(out, align, (size_t)(align_end - align));
	uint8_t aug[] = {(uint8_t)ra, 1, DW_EH_PE_pcrel_sdata4}; /* the register, augmentation length, 'R' */
	swp__buf_put(out, aug, sizeof(aug));
	swp__buf_put(out, r.p, left(&r)); /* the initial instructions */
	set32(out, at, (uint32_t)(out->len - at - 4));
	return true;
}

struct cie_at {
	uint64_t off; /* in .debug_frame */
	size_t out;   /* its translation's offset in the frame built */
};
struct fde_at {
	uint64_t pc; /* link-time address of the function */
	size_t out;  /* the FDE's offset in the frame built */
};

static int by_pc(const void *a, const void *b)
{
	uint64_t x = ((const struct fde_at *)a)->pc, y = ((const struct fde_at *)b)->pc;
	return (x > y) - (x < y);
}

/* The CIE at .debug_frame offset off among the translated ones (in the order of their offsets). */
static const struct cie_at *find_cie(const struct cie_at *v, size_t n, uint64_t off)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (v[mid].off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && v[lo].off == off ? &v[lo] : NULL;
}

/* A walk over the entries of .debug_frame (df, len): each one's offset, id and body after the id.
 * It stops at a terminator, a length past the section or 64-bit DWARF. */
struct df_walk {
	const uint8_t *df;
	size_t len, at;
};

static bool df_next(struct df_walk *w, bool *is_cie, uint64_t *off, struct rd *body, uint32_t *id)
{
	struct rd r = {w->df + w->at, w->df + w->len, false};
	uint64_t n = rd_n(&r, 4);
	if (r.bad || n < 4 || n > left(&r))
		return false; /* 64-bit DWARF has length 0xffffffff */
	*off = w->at;
	w->at += 4 + n;
	*id = (uint32_t)rd_n(&r, 4);
	*body = (struct rd){r.p, w->df + w->at, false};
	*is_cie = *id == DEBUG_FRAME_CIE_ID;
	return true;
}

/* tab: .debug_frame (df, len) translated, served at link-time addresses inside sp's span and
 * clear of avoid (tab[0]'s sections). False when nothing usable came out. */
static bool translate(const uint8_t *df, size_t len, const struct span *sp, const struct swp__ehtab *avoid,
		      struct swp__ehtab *tab)
{
	struct swp_buf frame = {0};
	struct cie_at *cies = NULL;
	struct fde_at *fdes = NULL;
	size_t ncies = 0, nfdes = 0, cap = 0;
	bool is_cie, ok = false;
	uint64_t off;
	struct rd body;
	uint32_t id;
	/* the CIEs first (an .eh_frame FDE points back to its CIE), then the FDEs of code in the file */
	for (struct df_walk w = {df, len, 0}; df_next(&w, &is_cie, &off, &body, &id);) {
		if (!is_cie)
			continue;
		size_t at = frame.len;
		if (!put_cie(body, &frame))
			continue;
		if (ncies == cap) {
			cap = cap ? cap * 2 : 16;
			cies = swp__xrealloc(cies, cap * sizeof(*cies));
		}
		cies[ncies++] = (struct cie_at){off, at};
	}
	cap = 0;
	for (struct df_walk w = {df, len, 0}; ncies && df_next(&w, &is_cie, &off, &body, &id);) {
		const struct cie_at *cie = is_cie ? NULL : find_cie(cies, ncies, id);
		if (!cie)
			continue;
		uint64_t pc = rd_n(&body, 8), range = rd_n(&body, 8);
		if (body.bad || !range || range > INT32_MAX || !in_code(sp, pc, range))
			continue;
		size_t at = frame.len;
		swp__buf_put_u32(&frame, 0);                             /* the length, set below */
		swp__buf_put_u32(&frame, (uint32_t)(at + 4 - cie->out)); /* back to the CIE */
		swp__buf_put_u32(&frame, 0); /* pc, pc-relative: once the frame has its address */
		swp__buf_put_u32(&frame, (uint32_t)range);
		swp__buf_putc(&frame, 0);                  /* no augmentation data */
		swp__buf_put(&frame, body.p, left(&body)); /* the instructions */
		set32(&frame, at, (uint32_t)(frame.len - at - 4));
		if (nfdes == cap) {
			cap = cap ? cap * 2 : 256;
			fdes = swp__xrealloc(fdes, cap * sizeof(*fdes));
		}
		fdes[nfdes++] = (struct fde_at){pc, at};
	}
	swp__buf_put_u32(&frame, 0); /* the terminator */
	if (!nfdes)
		goto out;
	qsort(fdes, nfdes, sizeof(*fdes), by_pc);
	size_t hdr_len = (12 + 8 * nfdes + 7) & ~(size_t)7, need = hdr_len + frame.len;
	/* where: the span's start, or past tab[0]'s sections when they are in the way */
	uint64_t at = (sp->lo + 7) & ~(uint64_t)7;
	for (int pass = 0; pass < 2; pass++)
		for (int k = 0; k < 2 && avoid->hdr; k++) {
			uint64_t a = k ? avoid->frame_vaddr : avoid->hdr_vaddr, b = a + (k ? avoid->frame_len : avoid->hdr_len);
			if (at < b && a < at + need)
				at = (b + 7) & ~(uint64_t)7;
		}
	if (at < sp->lo || at > sp->hi || need > sp->hi - at)
		goto out;
	uint64_t hv = at, fv = at + hdr_len;
	struct swp_buf hdr = {0};
	static const uint8_t head[] = {1, DW_EH_PE_pcrel_sdata4, DW_EH_PE_udata4, DW_EH_PE_datarel_sdata4};
	swp__buf_put(&hdr, head, sizeof(head));
	swp__buf_put_u32(&hdr, (uint32_t)(int32_t)(fv - (hv + 4)));
	swp__buf_put_u32(&hdr, 0); /* the count, set below */
	uint64_t count = 0, last = UINT64_MAX;
	ok = true;
	for (size_t i = 0; i < nfdes && ok; i++) {
		int64_t rel = (int64_t)(fdes[i].pc - (fv + fdes[i].out + 8)), pc = (int64_t)(fdes[i].pc - hv),
			fde = (int64_t)(fv + fdes[i].out - hv);
		ok = fits32(rel) && fits32(pc) && fits32(fde);
		set32(&frame, fdes[i].out + 8, (uint32_t)(int32_t)rel);
		if (fdes[i].pc == last)
			continue; /* one entry per address */
		last = fdes[i].pc;
		swp__buf_put_u32(&hdr, (uint32_t)(int32_t)pc);
		swp__buf_put_u32(&hdr, (uint32_t)(int32_t)fde);
		count++;
	}
	set32(&hdr, 8, (uint32_t)count);
	while (hdr.len < hdr_len)
		swp__buf_putc(&hdr, 0);
	if (ok) {
		tab->hdr = (uint8_t *)hdr.data, tab->hdr_vaddr = hv, tab->hdr_len = hdr.len;
		tab->frame = (uint8_t *)frame.data, tab->frame_vaddr = fv, tab->frame_len = frame.len;
		frame = (struct swp_buf){0};
		ok = parse_hdr(tab);
		if (!ok)
			tab_free(tab);
	} else {
		swp_buf_free(&hdr);
	}
out:
	swp_buf_free(&frame);
	free(cies);
	free(fdes);
	return ok;
}

/* tab[1] from the .debug_frame of e or of its debug file (looked for when e's own .eh_frame covers
 * next to nothing: crt's FDEs). */
static void load_debug_frame(Elf *e, struct swp__eh *eh)
{
	struct span sp;
	if (!load_span(e, &sp))
		return;
	uint64_t vaddr;
	size_t len = 0;
	uint8_t *df = section_copy(e, ".debug_frame", false, &vaddr, &len);
	if (!df && eh->tab[0].fde_count < 16) {
		int fd = -1;
		Elf *dbg = swp__elf_debug_file(e, &fd);
		if (dbg) {
			df = section_copy(dbg, ".debug_frame", false, &vaddr, &len);
			elf_end(dbg);
			close(fd);
		}
	}
	if (df && translate(df, len, &sp, &eh->tab[0], &eh->tab[1]))
		classify(&eh->tab[1], eh);
	free(df);
}

static int load(Elf *e, struct swp__eh *eh)
{
	memset(eh, 0, sizeof(*eh));
	if (!e || elf_kind(e) != ELF_K_ELF)
		return -ENOEXEC;
	struct swp__ehtab *t = &eh->tab[0];
	t->frame = section_copy(e, ".eh_frame", true, &t->frame_vaddr, &t->frame_len);
	if (t->frame)
		classify(t, eh);
	t->hdr = section_copy(e, ".eh_frame_hdr", true, &t->hdr_vaddr, &t->hdr_len);
	if (!t->hdr || !t->frame || !parse_hdr(t))
		tab_free(t); /* the verdict on frame pointers stands */
	load_debug_frame(e, eh);
	return swp__eh_usable(eh) ? 0 : -ENOENT;
}

int swp__eh_load_fd(int fd, struct swp__eh *eh)
{
	elf_version(EV_CURRENT);
	Elf *e = elf_begin(fd, ELF_C_READ, NULL); /* read, not mapped: a truncated file raises no SIGBUS */
	int rc = load(e, eh);
	elf_end(e);
	return rc;
}

int swp__eh_load_mem(void *image, size_t len, struct swp__eh *eh)
{
	elf_version(EV_CURRENT);
	Elf *e = elf_memory(image, len);
	int rc = load(e, eh);
	elf_end(e);
	return rc;
}

void swp__eh_free(struct swp__eh *eh)
{
	tab_free(&eh->tab[0]);
	tab_free(&eh->tab[1]);
	memset(eh, 0, sizeof(*eh));
}

bool swp__eh_usable(const struct swp__eh *eh)
{
	return eh->tab[0].fde_count || eh->tab[1].fde_count;
}

size_t swp__eh_bytes(const struct swp__eh *eh)
{
	return eh->tab[0].hdr_len + eh->tab[0].frame_len + eh->tab[1].hdr_len + eh->tab[1].frame_len;
}

int swp__eh_frame_pointers(const struct swp__eh *eh)
{
	if (!eh->fdes)
		return -1;
	return eh->fp_fdes * 2 >= eh->fdes;
}
