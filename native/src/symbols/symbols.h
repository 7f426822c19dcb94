/*
 * Symbolization of sampled addresses: kernel frames from /proc/kallsyms, user frames from the
 * ELF .symtab/.dynsym of each executable mapping in /proc/PID/maps, read through
 * /proc/PID/root; JIT-compiled code (anonymous executable memory) from the runtime's perf map
 * (/tmp/perf-PID.map in its namespaces: perfmap.h). Symbol tables are cached per file identity (device, inode, size, mtime), so a
 * second process of the same binary costs no ELF parsing. A frame that cannot be resolved
 * keeps what is known: "module+0xoffset", or "[unknown]".
 *
 * Thread-safety: one symbolizer is used by one thread at a time (the flush thread); callers
 * serialize.
 */
#ifndef SWP_SYMBOLS_H
#define SWP_SYMBOLS_H

#include "common/common.h"

struct swp_symbolizer;

struct swp_symbolizer *swp__symbolizer_new(void);
void swp__symbolizer_free(struct swp_symbolizer *s);

/* Appends the name of kernel address ip to out (no NUL counting; out->data stays terminated). */
void swp__sym_kernel(struct swp_symbolizer *s, uint64_t ip, struct swp_buf *out);
/* Appends the name of user address ip of process pid to out. Re-reads the process's maps when
 * ip falls outside every known mapping (a library loaded since). */
void swp__sym_user(struct swp_symbolizer *s, int pid, uint64_t ip, struct swp_buf *out);
/* Which version of pid's perf map names its JIT code (0: none read): a name cached for a JIT
 * address holds only while it stays the same. Checks the map for a newer one (once a second). */
uint32_t swp__sym_jit_generation(struct swp_symbolizer *s, int pid);
/* Drops the cached maps of pid (process exited or restarted); file tables stay cached. */
void swp__sym_forget_pid(struct swp_symbolizer *s, int pid);

/* Counters for tests and benchmarks. */
struct swp_sym_stats {
	uint64_t elf_parses;   /* ELF files parsed (cache misses) */
	uint64_t maps_reads;   /* /proc/PID/maps reads */
	uint64_t lookups;      /* user + kernel lookups */
	uint64_t eh_files;     /* files whose unwind tables were read */
	uint64_t eh_bytes;     /* bytes of unwind tables kept */
};
void swp__sym_stats(const struct swp_symbolizer *s, struct swp_sym_stats *out);

/* For unwinding (unwind.c): the executable mapping of pid at ip, with the unwind tables of its
 * file (read on first use, cached with its symbols). */
struct swp__eh;
struct swp__module {
	uint64_t start, end;      /* the mapping */
	uint64_t bias;            /* run-time address = link-time address + bias */
	const struct swp__eh *eh; /* NULL: none (anonymous memory, no .eh_frame_hdr, unreadable file) */
	int frame_pointers;       /* its file was built with frame pointers: 1, without: 0, unknown: -1 */
	bool anon;                /* anonymous executable memory (JIT code) or a special mapping */
};
/* False when no mapping of pid holds ip (after a re-read of its maps). */
bool swp__sym_module(struct swp_symbolizer *s, int pid, uint64_t ip, struct swp__module *out);
/* unwind.c's state for pid, kept and dropped with its maps (swp__unwind_state_free). */
void **swp__sym_unwind_state(struct swp_symbolizer *s, int pid);

/* Demangles C++ (Itanium) and Rust (legacy and v0) names into out; returns false when the
 * name is not mangled (out untouched). */
bool swp__demangle(const char *name, struct swp_buf *out);

#endif
