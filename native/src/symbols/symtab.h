/*
 * Internal to src/symbols/: one sorted table of function symbols, as built from an ELF file
 * (elf.c) or from /proc/kallsyms (kallsyms.c), and cached by symbols.c.
 *
 *   syms:   [ {addr 0x1040 size 0x22 name 0} {addr 0x1070 size 0x90 name 9} ... ]  (by addr)
 *   names:  "_Z3foov\0main\0foo()\0"    one arena; a demangled name is appended on first use
 *   segs:   PT_LOAD headers: file offset -> link-time address
 */
#ifndef SWP_SYMTAB_H
#define SWP_SYMTAB_H

#include <libelf.h>

#include "common/common.h"

struct swp__sym {
	uint64_t addr;  /* link-time address (st_value) or kernel address */
	uint64_t size;  /* st_size; a size 0 symbol extends to the next one or its segment's end */
	uint32_t name;  /* offset of the name in the table's `names` */
	uint32_t ready; /* 1 once `name` is final (demangled when it was mangled) */
};

struct swp__seg {
	uint64_t off, filesz; /* p_offset, p_filesz */
	uint64_t vaddr, memsz; /* p_vaddr, p_memsz */
	bool exec;             /* PF_X */
};

struct swp__symtab {
	struct swp__sym *syms; /* sorted by addr, one per address */
	size_t nsyms;
	struct swp__seg *segs; /* PT_LOAD segments (none for the kernel) */
	size_t nsegs;
	struct swp_buf names;  /* NUL-terminated names back to back */
};

/* A symbol found while reading, before sorting; `name` points into the reader's data. */
struct swp__cand {
	uint64_t addr, size;
	const char *name;
	int rank; /* among symbols at one address the highest rank names it */
};

/* Sorts and deduplicates cands (by address, best rank first), sizes the size-0 symbols and
 * copies the names into t->names; or, given arena (the buffer the cands' names point into),
 * takes it over as t->names instead of copying. t->segs must be set before. Takes c (malloc'ed):
 * the symbols are built in its memory. */
void swp__symtab_build(struct swp__symtab *t, struct swp__cand *c, size_t n, struct swp_buf *arena);
/* The symbol containing addr (nearest: the nearest one at or below addr), or NULL. */
struct swp__sym *swp__symtab_find(struct swp__symtab *t, uint64_t addr, bool nearest);
/* The final name of sym, demangled into the arena on first use (scratch: a work buffer). */
const char *swp__symtab_name(struct swp__symtab *t, struct swp__sym *sym, struct swp_buf *scratch);
void swp__symtab_free(struct swp__symtab *t);

/* ELF (elf.c): the function symbols of .symtab and .dynsym (union) and the PT_LOAD headers.
 * Returns 0 or -errno; on failure t is empty but valid. */
int swp__elf_load_fd(int fd, struct swp__symtab *t);
int swp__elf_load_mem(void *image, size_t len, struct swp__symtab *t);
/* The name of the function at file offset off (PT_LOAD mapping), or NULL. */
const char *swp__elf_lookup(struct swp__symtab *t, uint64_t off, struct swp_buf *scratch);
/* The separate debug file of e by its GNU build id (/usr/lib/debug/.build-id/ab/cdef....debug, as
 * Debian's -dbg packages install them), opened with libelf into *fd; NULL when there is none. */
Elf *swp__elf_debug_file(Elf *e, int *fd);

/* One binary search table and the CIEs and FDEs it points into, as libunwind reads them: copied
 * out of the file (.eh_frame_hdr, .eh_frame), or built from .debug_frame (ehframe.c), each with
 * the link-time address it is served at. */
struct swp__ehtab {
	uint8_t *hdr, *frame;            /* NULL when there is no table */
	uint64_t hdr_vaddr, frame_vaddr;
	size_t hdr_len, frame_len;
	uint64_t table_vaddr, fde_count; /* the binary search table inside hdr */
};
/* The unwind tables of an ELF file; what unwind.c hands libunwind. tab[0] is the file's
 * .eh_frame; tab[1] its .debug_frame (its own, or its debug file's by build id) translated to
 * the same format, for code built with -fno-asynchronous-unwind-tables: .eh_frame then holds
 * only crt's FDEs. A lookup tries tab[0] first. */
struct swp__eh {
	struct swp__ehtab tab[2];
	uint32_t fdes, fp_fdes;          /* FDEs, and those that make the frame pointer the CFA */
};
/* 0, or -ENOENT when the file has no usable tables (fdes may still be counted), -ENOEXEC. */
int swp__eh_load_fd(int fd, struct swp__eh *eh);
int swp__eh_load_mem(void *image, size_t len, struct swp__eh *eh);
void swp__eh_free(struct swp__eh *eh);
/* Whether eh has a table to search, and the bytes its tables take. */
bool swp__eh_usable(const struct swp__eh *eh);
size_t swp__eh_bytes(const struct swp__eh *eh);
/* 1: the file was built with frame pointers (most FDEs make rbp the CFA), 0: without, -1: no FDEs
 * to tell. */
int swp__eh_frame_pointers(const struct swp__eh *eh);

/* /proc/kallsyms (kallsyms.c): text symbols with non-zero addresses. -ENOENT when none. */
int swp__kallsyms_load(const char *path, struct swp__symtab *t);

#endif
