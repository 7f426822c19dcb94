/*
 * Key layout of the store (one RocksDB key space, a one-byte tag per kind of key; integers in
 * keys are big-endian so byte order is numeric order and range scans follow schedule and time):
 *
 *   "F"                                 -> "swprof-store <format>"            format marker
 *   "N" name                            -> u64                                id sequences
 *   "P" process id (64 hex)             -> process record                     tasks/model.c
 *   "T" be64 task                       -> task record
 *   "S" be64 schedule                   -> schedule record
 *   "K" be64 stack hash                 -> encoded stack (common/stack.h)     each stack once
 *   "R" be64 schedule be64 second be32 seq -> sample block                    samples
 *
 * A sample block holds every distinct stack counted for one schedule in one flush, recorded at
 * second resolution: uvar n, then n x (u64 stack hash, uvar count). A window of W seconds of one
 * schedule is W blocks (or a few more), read by one range scan. An OFF_CPU schedule's count is its
 * switches; its blocked time (ns) per stack is a second block under the same key with the top bit
 * of seq set (SWP_RECORD_DURATION), which no count block has.
 */
#ifndef SWP_LAYOUT_H
#define SWP_LAYOUT_H

#include "common/common.h"

#define SWP_FORMAT_MAGIC "swprof-store"
#define SWP_KEY_FORMAT "F"

enum {
	SWP_TAG_SEQ = 'N',
	SWP_TAG_PROCESS = 'P',
	SWP_TAG_TASK = 'T',
	SWP_TAG_SCHEDULE = 'S',
	SWP_TAG_STACK = 'K',
	SWP_TAG_RECORD = 'R',
};

#define SWP_RECORD_KEY_LEN 21
#define SWP_RECORD_DURATION 0x80 /* in byte 17 of a record key: the top bit of seq */

/* tag + be64 (task, schedule, stack keys) */
static inline size_t swp__key_u64(uint8_t *k, uint8_t tag, uint64_t v)
{
	k[0] = tag;
	swp__set_be64(k + 1, v);
	return 9;
}

static inline size_t swp__key_record(uint8_t *k, uint64_t sched, uint64_t sec, uint32_t seq)
{
	k[0] = SWP_TAG_RECORD;
	swp__set_be64(k + 1, sched);
	swp__set_be64(k + 9, sec);
	k[17] = (uint8_t)(seq >> 24);
	k[18] = (uint8_t)(seq >> 16);
	k[19] = (uint8_t)(seq >> 8);
	k[20] = (uint8_t)seq;
	return SWP_RECORD_KEY_LEN;
}

#endif
