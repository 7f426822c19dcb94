/* DWARF unwinding of copied user stacks with libunwind's remote interface (see unwind.h). */
#include <libunwind.h>
#include <stdlib.h>
#include <string.h>

#include "symbols/symtab.h"
#include "symbols/unwind.h"

/* libunwind's own search of a remote .eh_frame_hdr table; exported, not declared in its headers */
extern int UNW_OBJ(dwarf_search_unwind_table)(unw_addr_space_t as, unw_word_t ip, unw_dyn_info_t *di,
					      unw_proc_info_t *pi, int need_unwind_info, void *arg);
#define dwarf_search_unwind_table UNW_OBJ(dwarf_search_unwind_table)

#define MODS 32 /* modules one unwinding remembers (past that the oldest one's tables are out of reach) */

struct state {
	unw_addr_space_t as;
};

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
		if (eh && (overlap(addr, b + eh->hdr_vaddr, eh->hdr, eh->hdr_len, val) ||
			   overlap(addr, b + eh->frame_vaddr, eh->frame, eh->frame_len, val)))
			return 0;
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
	if (!m || !m->eh)
		return -UNW_ENOINFO; /* libunwind falls back to the frame pointer here */
	unw_dyn_info_t di = {.format = UNW_INFO_FORMAT_REMOTE_TABLE, .start_ip = m->start, .end_ip = m->end};
	di.u.rti.segbase = m->bias + m->eh->hdr_vaddr;
	di.u.rti.table_data = m->bias + m->eh->table_vaddr;
	di.u.rti.table_len = m->eh->fde_count * 8 / sizeof(unw_word_t); /* two int32 per entry */
	return dwarf_search_unwind_table(as, ip, &di, pi, need_unwind_info, arg);
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

void swp__unwind_state_free(void *state)
{
	struct state *st = state;
	if (!st)
		return;
	unw_destroy_addr_space(st->as);
	free(st);
}

void swp__unwind_state_flush(void *state)
{
	struct state *st = state;
	if (st)
		unw_flush_cache(st->as, 0, 0);
}

/* Whether code at ip walks right by frame pointers: built with them, or JIT code (which has no
 * unwind tables: frame pointers are all there is). */
static bool fp_code(struct uctx *c, uint64_t ip)
{
	const struct swp__module *m = module_at(c, ip);
	return m && (m->anon || m->frame_pointers == 1);
}

enum fp_walk { FP_NO, FP_WHOLE, FP_THEN_DWARF };

/* AUTO: the frame-pointer walk over the copy (the kernel's walk), while its frames are in code that
 * walks right by frame pointers. FP_WHOLE: it ended there (a zero frame pointer or return
 * address). FP_THEN_DWARF: it reached a return address into code without frame pointers, right
 * itself, but the walk beyond it is not: ips holds the frames before it and regs the registers
 * to unwind on from it by DWARF (its ip one byte back, inside the call). FP_NO: no trust at all
 * (the sampled code itself has no frame pointers, or the chain leaves the copy). */
static enum fp_walk fp_prefix(struct uctx *c, uint64_t *ips, uint32_t max, uint32_t *n, uint64_t *regs)
{
	const struct swp_ustack_sample *x = c->x;
	uint64_t bp = x->regs[SWP_REG_RBP];
	*n = 0;
	if (!fp_code(c, x->regs[SWP_REG_RIP]))
		return FP_NO;
	ips[(*n)++] = x->regs[SWP_REG_RIP];
	while (*n < max && bp) {
		uint64_t next, ret;
		if (bp < c->sp || bp - c->sp + 16 > x->len || (bp & 7))
			return FP_NO;
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

/* DWARF from c->regs on, appending to ips; back: the first ip is a return address moved back
 * into its call (reported as the return address again). */
static enum swp_unwound dwarf_walk(struct uctx *c, struct state *st, uint64_t *ips, uint32_t max, uint32_t *n,
				   bool back)
{
	uint32_t first = *n;
	unw_cursor_t cur;
	int rc = unw_init_remote(&cur, st->as, c);
	while (rc >= 0 && *n < max) {
		unw_word_t ip = 0;
		if (unw_get_reg(&cur, UNW_REG_IP, &ip) < 0) {
			rc = -UNW_EUNSPEC;
			break;
		}
		if (!ip && *n > first)
			return SWP_UNWOUND_DWARF; /* a zero return address ends the chain */
		if (!ip) {
			rc = -UNW_EUNSPEC;
			break;
		}
		ips[*n] = back && *n == first ? ip + 1 : ip;
		(*n)++;
		rc = unw_step(&cur);
		if (rc == 0)
			return SWP_UNWOUND_DWARF; /* the outermost frame */
	}
	if (rc >= 0 && *n == max)
		return SWP_UNWOUND_DWARF; /* as deep as a stack goes here: like the kernel's walk */
	if (*n == first) /* not even its first frame: that ip itself */
		ips[(*n)++] = back ? c->regs[SWP_REG_RIP] + 1 : c->regs[SWP_REG_RIP];
	return c->beyond ? SWP_UNWOUND_CUT : SWP_UNWOUND_FAILED;
}

enum swp_unwound swp__unwind(struct swp_symbolizer *s, const struct swp_ustack_sample *x, uint64_t *ips, uint32_t max,
			     uint32_t *n)
{
	struct uctx c = {.s = s, .x = x, .regs = x->regs, .sp = x->regs[SWP_REG_RSP]};
	uint64_t regs[SWP_NREGS];
	*n = 0;
	enum fp_walk fp = x->mode == SWP_TARGET_AUTO && x->len ? fp_prefix(&c, ips, max, n, regs) : FP_NO;
	if (fp == FP_WHOLE)
		return SWP_UNWOUND_FP;
	if (!x->len) { /* no registers or no stack: what the kernel walked is all there is */
		*n = x->nfp < max ? x->nfp : max;
		memcpy(ips, x->fp, *n * sizeof(*ips));
		return SWP_UNWOUND_FAILED;
	}
	void **slot = swp__sym_unwind_state(s, x->pid);
	if (!*slot) {
		struct state *st = swp__xcalloc(1, sizeof(*st));
		st->as = unw_create_addr_space(&accessors, 0);
		if (!st->as) {
			free(st);
			return SWP_UNWOUND_FAILED;
		}
		unw_set_caching_policy(st->as, UNW_CACHE_GLOBAL);
		*slot = st;
	}
	if (fp == FP_THEN_DWARF) {
		c.regs = regs;
		enum swp_unwound how = dwarf_walk(&c, *slot, ips, max, n, true);
		return how == SWP_UNWOUND_DWARF ? SWP_UNWOUND_FP_DWARF : how;
	}
	*n = 0;
	return dwarf_walk(&c, *slot, ips, max, n, false);
}
