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

#define MODS 16 /* modules one unwinding remembers */

struct state {
	unw_addr_space_t as;
};

/* One unwinding: what the accessors read. */
struct uctx {
	struct swp_symbolizer *s;
	const struct swp_ustack_sample *x;
	uint64_t sp;
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
	*val = c->x->regs[reg];
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

/* AUTO: whether the kernel's frame-pointer walk can be kept. */
static bool fp_trusted(struct uctx *c, const uint64_t *ips, uint32_t n)
{
	if (!n)
		return false;
	for (uint32_t i = 0; i < n; i++) {
		const struct swp__module *m = module_at(c, i ? ips[i] - 1 : ips[i]);
		if (!m)
			return false;
		if (!m->anon && m->frame_pointers != 1)
			return false;
	}
	return true;
}

enum swp_unwound swp__unwind(struct swp_symbolizer *s, const struct swp_ustack_sample *x, uint64_t *ips, uint32_t max,
			     uint32_t *n)
{
	struct uctx c = {.s = s, .x = x, .sp = x->regs[SWP_REG_RSP]};
	*n = 0;
	if (x->mode == SWP_TARGET_AUTO && fp_trusted(&c, x->fp, x->nfp)) {
		*n = x->nfp < max ? x->nfp : max;
		memcpy(ips, x->fp, *n * sizeof(*ips));
		return SWP_UNWOUND_FP;
	}
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
	struct state *st = *slot;
	unw_cursor_t cur;
	int rc = unw_init_remote(&cur, st->as, &c);
	while (rc >= 0 && *n < max) {
		unw_word_t ip = 0;
		if (unw_get_reg(&cur, UNW_REG_IP, &ip) < 0) {
			rc = -UNW_EUNSPEC;
			break;
		}
		if (!ip && *n)
			return SWP_UNWOUND_DWARF; /* a zero return address ends the chain */
		if (!ip) {
			rc = -UNW_EUNSPEC;
			break;
		}
		ips[(*n)++] = ip;
		rc = unw_step(&cur);
		if (rc == 0)
			return SWP_UNWOUND_DWARF; /* the outermost frame */
	}
	if (rc >= 0 && *n == max)
		return SWP_UNWOUND_DWARF; /* as deep as a stack goes here: like the kernel's walk */
	if (!*n) /* not even the first frame: the sampled ip itself */
		ips[(*n)++] = x->regs[SWP_REG_RIP];
	return c.beyond ? SWP_UNWOUND_CUT : SWP_UNWOUND_FAILED;
}
