/*
 * The unwind tables of one ELF file for DWARF unwinding (see symtab.h): .eh_frame_hdr, whose
 * binary search table finds the FDE of an address, and .eh_frame, the FDEs and CIEs themselves,
 * copied out of the file with their link-time addresses. libunwind reads them through unwind.c's
 * accessors.
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
#define DW_EH_PE_datarel_sdata4 0x3b /* the only search table encoding libunwind reads */
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

/* Counts .eh_frame's FDEs and those that make rbp the CFA. */
static void classify(struct swp__eh *eh)
{
	struct rd r = {eh->frame, eh->frame + eh->frame_len, false};
	while (!r.bad && left(&r) >= 4) {
		uint64_t len = rd_n(&r, 4);
		if (len == 0 || len == 0xffffffff)
			break; /* the terminator; or 64-bit DWARF, which .eh_frame does not use */
		if (r.bad || len < 4 || len > left(&r))
			break; /* too short to hold its CIE pointer, or past the section */
		const uint8_t *next = r.p + len;
		const uint8_t *id_at = r.p;
		uint32_t cie_ptr = (uint32_t)rd_n(&r, 4);
		if (cie_ptr && (uint64_t)(id_at - eh->frame) >= cie_ptr) {
			const uint8_t *cie = id_at - cie_ptr;
			struct rd c = {cie, eh->frame + eh->frame_len, false};
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
static bool parse_hdr(struct swp__eh *eh)
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

static uint8_t *section_copy(Elf *e, const char *name, size_t shstrndx, uint64_t *vaddr, size_t *len)
{
	for (Elf_Scn *scn = elf_nextscn(e, NULL); scn; scn = elf_nextscn(e, scn)) {
		GElf_Shdr sh;
		/* SHT_X86_64_UNWIND: what lld (and so LLVM's own libraries) give .eh_frame */
		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_PROGBITS && sh.sh_type != SHT_X86_64_UNWIND) ||
		    !(sh.sh_flags & SHF_ALLOC))
			continue;
		const char *n = elf_strptr(e, shstrndx, sh.sh_name);
		if (!n || strcmp(n, name))
			continue;
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

static int load(Elf *e, struct swp__eh *eh)
{
	size_t shstrndx;
	memset(eh, 0, sizeof(*eh));
	if (!e || elf_kind(e) != ELF_K_ELF || elf_getshdrstrndx(e, &shstrndx) != 0)
		return -ENOEXEC;
	eh->frame = section_copy(e, ".eh_frame", shstrndx, &eh->frame_vaddr, &eh->frame_len);
	if (eh->frame)
		classify(eh);
	eh->hdr = section_copy(e, ".eh_frame_hdr", shstrndx, &eh->hdr_vaddr, &eh->hdr_len);
	if (!eh->hdr || !eh->frame || !parse_hdr(eh)) {
		uint32_t fdes = eh->fdes, fp = eh->fp_fdes;
		swp__eh_free(eh);
		eh->fdes = fdes, eh->fp_fdes = fp; /* the verdict on frame pointers stands */
		return -ENOENT;
	}
	return 0;
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
	free(eh->hdr);
	free(eh->frame);
	memset(eh, 0, sizeof(*eh));
}

int swp__eh_frame_pointers(const struct swp__eh *eh)
{
	if (!eh->fdes)
		return -1;
	return eh->fp_fdes * 2 >= eh->fdes;
}
