#include "stack.h"

#include <stdlib.h>

static uint64_t frame_hash(uint8_t type, const char *s, size_t n)
{
	return swp__hash64(s, n, 0x5157ULL + type);
}

void swp__interner_init(struct swp_interner *in)
{
	memset(in, 0, sizeof(*in));
	pthread_rwlock_init(&in->lock, NULL);
	in->mask = 1023;
	in->slots = swp__xcalloc(in->mask + 1, sizeof(uint32_t));
}

void swp__interner_free(struct swp_interner *in)
{
	free(in->slots);
	free(in->off);
	free(in->len);
	free(in->type);
	free(in->text);
	pthread_rwlock_destroy(&in->lock);
	memset(in, 0, sizeof(*in));
}

void swp__interner_rdlock(struct swp_interner *in)
{
	pthread_rwlock_rdlock(&in->lock);
}

void swp__interner_unlock(struct swp_interner *in)
{
	pthread_rwlock_unlock(&in->lock);
}

/* Finds the slot of (type, sym); returns the slot index, whose value is 0 when absent. */
static uint32_t find_slot(const struct swp_interner *in, uint8_t type, const char *sym, size_t len, uint64_t h)
{
	uint32_t i = (uint32_t)h & in->mask;
	for (;;) {
		uint32_t v = in->slots[i];
		if (!v)
			return i;
		uint32_t id = v - 1;
		if (in->len[id] == len && in->type[id] == type && memcmp(in->text + in->off[id], sym, len) == 0)
			return i;
		i = (i + 1) & in->mask;
	}
}

static void grow_slots(struct swp_interner *in)
{
	uint32_t nmask = in->mask * 2 + 1;
	uint32_t *ns = swp__xcalloc((size_t)nmask + 1, sizeof(uint32_t));
	for (uint32_t id = 0; id < in->n; id++) {
		uint32_t i = (uint32_t)frame_hash(in->type[id], in->text + in->off[id], in->len[id]) & nmask;
		while (ns[i])
			i = (i + 1) & nmask;
		ns[i] = id + 1;
	}
	free(in->slots);
	in->slots = ns;
	in->mask = nmask;
}

uint32_t swp__intern(struct swp_interner *in, uint8_t type, const char *sym, size_t len)
{
	uint64_t h = frame_hash(type, sym, len);
	pthread_rwlock_rdlock(&in->lock);
	uint32_t s = find_slot(in, type, sym, len, h);
	uint32_t v = in->slots[s];
	pthread_rwlock_unlock(&in->lock);
	if (v)
		return v - 1;

	pthread_rwlock_wrlock(&in->lock);
	s = find_slot(in, type, sym, len, h);
	if (in->slots[s]) {
		v = in->slots[s];
		pthread_rwlock_unlock(&in->lock);
		return v - 1;
	}
	if (in->n == in->cap) {
		in->cap = in->cap ? in->cap * 2 : 1024;
		in->off = swp__xrealloc(in->off, in->cap * sizeof(*in->off));
		in->len = swp__xrealloc(in->len, in->cap * sizeof(*in->len));
		in->type = swp__xrealloc(in->type, in->cap);
	}
	if (in->text_len + len + 1 > in->text_cap) {
		size_t cap = in->text_cap ? in->text_cap : 16384;
		while (cap < in->text_len + len + 1)
			cap *= 2;
		in->text = swp__xrealloc(in->text, cap);
		in->text_cap = cap;
	}
	uint32_t id = in->n++;
	in->off[id] = in->text_len;
	in->len[id] = (uint32_t)len;
	in->type[id] = type;
	memcpy(in->text + in->text_len, sym, len);
	in->text[in->text_len + len] = 0;
	in->text_len += len + 1;
	in->slots[s] = id + 1;
	if ((uint64_t)in->n * 2 > in->mask)
		grow_slots(in);
	pthread_rwlock_unlock(&in->lock);
	return id;
}

void swp__stack_encode(const struct swp_interner *in, const uint32_t *frames, uint32_t n, struct swp_buf *out)
{
	swp__buf_put_uvar(out, n);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t id = frames[i];
		swp__buf_put_u8(out, in->type[id]);
		swp__buf_put_uvar(out, in->len[id]);
		swp__buf_put(out, in->text + in->off[id], in->len[id]);
	}
}

int swp__stack_decode(struct swp_interner *in, const void *p, size_t n, uint32_t **ids, uint32_t *cap)
{
	struct swp_reader r = {p, (const uint8_t *)p + n, false};
	uint64_t depth = swp__rd_uvar(&r);
	if (r.bad || depth > SWP_MAX_STACK_DEPTH)
		return -EINVAL;
	if (depth > *cap) {
		*cap = (uint32_t)depth;
		*ids = swp__xrealloc(*ids, depth * sizeof(uint32_t));
	}
	for (uint64_t i = 0; i < depth; i++) {
		uint8_t type = swp__rd_u8(&r);
		size_t len;
		const char *s = swp__rd_strv(&r, &len);
		if (r.bad || type > SWP_FRAME_KERNEL)
			return -EINVAL;
		(*ids)[i] = swp__intern(in, type, s, len);
	}
	return (int)depth;
}
