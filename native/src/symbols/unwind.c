/* DWARF unwinding of copied user stacks with libunwind's remote interface (see unwind.h). */
#include <libunwind.h>
#include <string.h>

#include "symbols/symtab.h"
#include "symbols/unwind.h"

/* libunwind's own search of a remote .eh_frame_hdr table; exported, not declared in its headers */
extern int UNW_OBJ(dwarf_search_unwind_table)(unw_addr_space_t as, unw_word_t ip, unw_dyn_info_t *di,
					      unw_proc_info_t *pi, int need_unwind_info, void *arg);
#define dwarf_search_unwind_table UNW_OBJ(dwarf_search_unwind_table)

#define MODS 32 /* modules one unwinding remembers (past that the oldest one's tables are out of reach) */

/* One unwinding: what the accessors read. */
struct uctx {
	struct swp_symbolizer *s;
	const struct swp_ustack_sample *x;
	const uint64_t *regs; /* where unwinding starts: the sample's registers, or a frame's */
	uint64_t sp;          /* the copy's start */
	struct swp__module mods[MODS];
	unsigned nmods, next;
	bool beyond; /* a read past the end of a copy that was cut short */
};

/* The module at ip, remembered for this unwinding (its tables are read through access_mem). */
static const struct swp__module *module_at(struct uctx *c, uint64_t ip)
{
	for (unsigned i = 0; i < c->nmods; i++)
		if (ip >= c->mods[i].start && ip < c->mods[i].end)
			return &c->mods[i];
	struct swp__module m;
	if (!swp__sym_module(c->s, c->x->pid, ip, &m))
		return NULL;
	unsigned slot = c->nmods < MODS ? c->nmods++ : c->next++ % MODS;
	c->mods[slot] = m;
	return &c->mods[slot];
}

/* Copies the bytes of [addr, addr+8) that lie in data (at run-time address base) into *out. */
static bool overlap(uint64_t addr, uint64_t base, const uint8_t *data, size_t len, unw_word_t *out)
{
	if (addr + 8 <= base || addr >= base + len)
		return false;
	uint8_t w[8] = {0};
	for (unsigned i = 0; i < 8; i++)
		if (addr + i >= base && addr + i < base + len)
			w[i] = data[addr + i - base];
	memcpy(out, w, 8);
	return true;
}

static int access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write, void *arg)
{
	struct uctx *c = arg;
	if (write)
		return -UNW_EINVAL;
	if (overlap(addr, c->sp, c->x->stack, c->x->len, val))
		return 0;
	for (unsigned i = 0; i < c->nmods; i++) {
		const struct swp__eh *eh = c->mods[i].eh;
		uint64_t b = c->mods[i].bias;
		for (unsigned k = 0; eh && k < 2; k++) {
			const struct swp__ehtab *t = &eh->tab[k];
			if (t->hdr && (overlap(addr, b + t->hdr_vaddr, t->hdr, t->hdr_len, val) ||
				       overlap(addr, b + t->frame_vaddr, t->frame, t->frame_len, val)))
				return 0;
		}
	}
	if (c->x->cut && addr >= c->sp + c->x->len && addr < c->sp + (1u << 20))
		c->beyond = true; /* the stack goes on past the copy */
	return -UNW_EINVAL;
}

static int access_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *val, int write, void *arg)
{
	struct uctx *c = arg;
	if (write || reg < 0 || reg >= SWP_NREGS)
		return -UNW_EBADREG;
	*val = c->regs[reg];
	return 0;
}

static int access_fpreg(unw_addr_space_t as, unw_regnum_t reg, unw_fpreg_t *val, int write, void *arg)
{
	return -UNW_EBADREG;
}

static int find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi, int need_unwind_info, void *arg)
{
	struct uctx *c = arg;
	const struct swp__module *m = module_at(c, ip);
	int rc = -UNW_ENOINFO; /* none: libunwind falls back to the frame pointer */
	for (unsigned k = 0; m && m->eh && k < 2 && rc == -UNW_ENOINFO; k++) {
		const struct swp__ehtab *t = &m->eh->tab[k]; /* .eh_frame, then .debug_frame's */
		if (!t->fde_count)
			continue;
		unw_dyn_info_t di = {.format = UNW_INFO_FORMAT_REMOTE_TABLE, .start_ip = m->start, .end_ip = m->end};
		di.u.rti.segbase = m->bias + t->hdr_vaddr;
		di.u.rti.table_data = m->bias + t->table_vaddr;
		di.u.rti.table_len = t->fde_count * 8 / sizeof(unw_word_t); /* two int32 per entry */
		rc = dwarf_search_unwind_table(as, ip, &di, pi, need_unwind_info, arg);
	}
	return rc;
}

/* libunwind frees the unwind info of tables it searched itself */
static void put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg)
{
}

static int get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *addr, void *arg)
{
	return -UNW_ENOINFO;
}

static int resume(unw_addr_space_t as, unw_cursor_t *cur, void *arg)
{
	return -UNW_EINVAL;
}

static int get_proc_name(unw_addr_space_t as, unw_word_t addr, char *buf, size_t len, unw_word_t *off, void *arg)
{
	return -UNW_ENOINFO; /* the symbolizer names frames */
}

static unw_accessors_t accessors = {
	.find_proc_info = find_proc_info,
	.put_unwind_info = put_unwind_info,
	.get_dyn_info_list_addr = get_dyn_info_list_addr,
	.access_mem = access_mem,
	.access_reg = access_reg,
	.access_fpreg = access_fpreg,
	.resume = resume,
	.get_proc_name = get_proc_name,
};

/* A process's state is its address space (unw_addr_space_t is a pointer). */
void swp__unwind_state_free(void *state)
{
	if (state)
		unw_destroy_addr_space(state);
}

void swp__unwind_state_flush(void *state)
{
	if (state)
		unw_flush_cache(state, 0, 0);
}

/* Whether code at ip walks right by frame pointers: built with them, or JIT code (which has no
 * unwind tables: frame pointers are all there is). */
static bool fp_code(struct uctx *c, uint64_t ip)
{
	const struct swp__module *m = module_at(c, ip);
	/* a file without FDEs to tell (Go's) has no tables for DWARF either: frame pointers it is */
	return m && (m->anon || m->frame_pointers != 0);
}

enum fp_walk { FP_NO, FP_WHOLE, FP_THEN_DWARF, FP_CUT };

/* The kernel's frame-pointer walk of the sample, as fp mode has it. */
static void kernel_walk(const struct swp_ustack_sample *x, uint64_t *ips, uint32_t max, uint32_t *n)
{
	*n = x->nfp < max ? x->nfp : max;
	memcpy(ips, x->fp, *n * sizeof(*ips));
}

/* AUTO: the frame-pointer walk over the copy from frame pointer bp (that of the last frame in
 * ips), while its frames are in code that walks right by frame pointers. FP_WHOLE: it ended there
 * (a zero frame pointer or return address). FP_THEN_DWARF: it reached a return address into code
 * without frame pointers, right itself, but the walk beyond it is not: ips holds the frames before
 * it and regs the registers to unwind on from it by DWARF (its ip one byte back, inside the call).
 * FP_CUT: the chain left the copy (a deep stack): the kernel's walk, which went on, is taken from
 * our last frame up to its first frame in code without frame pointers. FP_NO: a broken chain. */
static enum fp_walk fp_walk(struct uctx *c, uint64_t bp, uint64_t *ips, uint32_t max, uint32_t *n, uint64_t *regs)
{
	const struct swp_ustack_sample *x = c->x;
	while (*n < max && bp) {
		uint64_t next, ret;
		if (bp & 7)
			return FP_NO;
		if (bp < c->sp || bp - c->sp + 16 > x->len) {
			/* past the copy: the kernel's walk passes the same frames; on from our last one */
			uint32_t k = 1;
			while (k < x->nfp && x->fp[k] != ips[*n - 1])
				k++;
			if (k >= x->nfp)
				return FP_NO;
			while (++k < x->nfp && *n < max) {
				ips[*n] = x->fp[k];
				if (!fp_code(c, ips[(*n)++] - 1))
					break;
			}
			return FP_CUT;
		}
		memcpy(&next, x->stack + (bp - c->sp), 8);
		memcpy(&ret, x->stack + (bp - c->sp) + 8, 8);
		if (!ret)
			break;
		if (!fp_code(c, ret - 1)) {
			memcpy(regs, x->regs, SWP_NREGS * sizeof(*regs));
			regs[SWP_REG_RIP] = ret - 1;
			regs[SWP_REG_RSP] = bp + 16;
			regs[SWP_REG_RBP] = next;
			return FP_THEN_DWARF;
		}
		ips[(*n)++] = ret;
		if (next && next <= bp)
			return FP_NO; /* frames lie ever higher on the stack: this chain is broken */
		bp = next;
	}
	return FP_WHOLE;
}

/* Steps cur to the outermost frame, appending each frame's ip (the first one's plus adjust). */
static enum swp_unwound dwarf_steps(struct uctx *c, unw_cursor_t *cur, uint64_t *ips, uint32_t max, uint32_t *n,
				    int adjust)
{
	uint32_t first = *n;
	int rc = 1;
	while (*n < max) {
		unw_word_t ip = 0;
		if (unw_get_reg(cur, UNW_REG_IP, &ip) < 0 || (!ip && *n == first)) {
			rc = -UNW_EUNSPEC;
			break;
		}
		if (!ip)
			return SWP_UNWOUND_DWARF; /* a zero return address ends the chain */
		/* ip is inside its function for the sampled frame and for a first one moved back into its
		 * call; a return address otherwise */
		bool inside = *n == 0 || (*n == first && adjust);
		ips[*n] = *n == first ? ip + adjust : ip;
		(*n)++;
		/* the frame's module among those access_mem reads: libunwind's cache may step it without
		 * asking find_proc_info, and still read its tables (expression rules) */
		module_at(c, inside ? ip : ip - 1);
		rc = unw_step(cur);
		if (rc <= 0)
			break;
	}
	if (rc >= 0)
		return SWP_UNWOUND_DWARF; /* the outermost frame, or as deep as a stack goes here */
	return c->beyond ? SWP_UNWOUND_CUT : SWP_UNWOUND_FAILED;
}

/* AUTO: the sampled frame by DWARF (a leaf may have no frame of its own, or be in its prologue),
 * then frame pointers while the code has them, DWARF again from the first frame without. */
static enum swp_unwound auto_walk(struct uctx *c, unw_addr_space_t as, uint64_t *ips, uint32_t max, uint32_t *n)
{
	unw_cursor_t cur;
	ips[(*n)++] = c->x->regs[SWP_REG_RIP];
	const struct swp__module *leaf = module_at(c, c->x->regs[SWP_REG_RIP]);
	/* JIT code has no tables to step its frame by: its frame pointers, from the sampled frame on
	 * (libunwind's guess for a frame without tables may take another return address) */
	bool jit = leaf && leaf->anon;
	unw_word_t bp = c->x->regs[SWP_REG_RBP];
	if (!jit) {
		if (unw_init_remote(&cur, as, c) < 0)
			return SWP_UNWOUND_FAILED;
		int rc = unw_step(&cur);
		if (rc <= 0)
			return rc == 0 ? SWP_UNWOUND_DWARF : c->beyond ? SWP_UNWOUND_CUT : SWP_UNWOUND_FAILED;
		unw_word_t ip = 0;
		if (unw_get_reg(&cur, UNW_REG_IP, &ip) < 0 || unw_get_reg(&cur, UNW_X86_64_RBP, &bp) < 0)
			return SWP_UNWOUND_FAILED;
		if (!ip)
			return SWP_UNWOUND_DWARF;
		if (!fp_code(c, ip - 1))
			return dwarf_steps(c, &cur, ips, max, n, 0);
		ips[(*n)++] = ip;
	}
	uint64_t regs[SWP_NREGS];
	switch (fp_walk(c, bp, ips, max, n, regs)) {
	case FP_WHOLE:
		return SWP_UNWOUND_FP;
	case FP_CUT:
		return SWP_UNWOUND_CUT;
	case FP_THEN_DWARF: {
		c->regs = regs;
		unw_cursor_t on;
		if (unw_init_remote(&on, as, c) < 0)
			return SWP_UNWOUND_FAILED;
		enum swp_unwound how = dwarf_steps(c, &on, ips, max, n, 1);
		return how == SWP_UNWOUND_DWARF ? SWP_UNWOUND_FP_DWARF : how;
	}
	default:
		if (jit) { /* a broken chain */
			kernel_walk(c->x, ips, max, n);
			return SWP_UNWOUND_FAILED;
		}
		*n = 1; /* DWARF on from the caller */
		return dwarf_steps(c, &cur, ips, max, n, 0);
	}
}

enum swp_unwound swp__unwind(struct swp_symbolizer *s, const struct swp_ustack_sample *x, uint64_t *ips, uint32_t max,
			     uint32_t *n)
{
	struct uctx c = {.s = s, .x = x, .regs = x->regs, .sp = x->stack_at};
	*n = 0;
	if (!x->len || !max) { /* no registers or no stack: what the kernel walked is all there is */
		kernel_walk(x, ips, max, n);
		return SWP_UNWOUND_FAILED;
	}
	void **slot = swp__sym_unwind_state(s, x->pid);
	if (!*slot) {
		unw_addr_space_t as = unw_create_addr_space(&accessors, 0);
		if (!as)
			return SWP_UNWOUND_FAILED;
		unw_set_caching_policy(as, UNW_CACHE_GLOBAL);
		*slot = as;
	}
	unw_addr_space_t as = *slot;
	enum swp_unwound how;
	if (x->mode == SWP_TARGET_AUTO) {
		how = auto_walk(&c, as, ips, max, n);
	} else {
		unw_cursor_t cur;
		how = unw_init_remote(&cur, as, &c) < 0 ? SWP_UNWOUND_FAILED : dwarf_steps(&c, &cur, ips, max, n, 0);
	}
	if (!*n) /* not even the first frame: the sampled ip itself */
		ips[(*n)++] = x->regs[SWP_REG_RIP];
	return how;
}
