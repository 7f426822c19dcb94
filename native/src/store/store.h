/*
 * The store: the only place that calls RocksDB. A thin, typed boundary — byte keys and values,
 * atomic batches, ordered range scans — that turns RocksDB's `char **errptr` into -errno plus a
 * message. What the keys mean is in layout.h.
 */
#ifndef SWP_STORE_H
#define SWP_STORE_H

#include "common/common.h"

struct swp_store;
struct swp_batch;

/* A NULL store (a core without one, an agent's) reads as empty and takes every write as done. */

/* Opens or creates dir. A store written with another format version, or a RocksDB that is not a
 * swprof store, is refused with -EPROTO and a message; a directory locked by another process
 * gives -EBUSY. min_free (0 = 256 MiB) is the free space the store leaves on its file system: a
 * write that would go below it is refused with -ENOSPC before it reaches RocksDB. */
int swp__store_open(const char *dir, uint64_t min_free, struct swp_store **out);
void swp__store_close(struct swp_store *s);

/* -ENOENT when absent; the value is appended to val. */
int swp__store_get(struct swp_store *s, const void *key, size_t klen, struct swp_buf *val);

struct swp_batch *swp__batch_new(void);
void swp__batch_put(struct swp_batch *b, const void *key, size_t klen, const void *val, size_t vlen);
void swp__batch_delete(struct swp_batch *b, const void *key, size_t klen);
size_t swp__batch_count(const struct swp_batch *b);
/* Applies atomically. sync: fsync the WAL before returning (durable across power loss); without
 * it the write survives a killed process (it is in the WAL in the page cache). */
int swp__batch_commit(struct swp_store *s, struct swp_batch *b, bool sync);
/* The same for a small batch (a note of what a write outage holds back, at most
 * SWP_NOTE_MAX_BYTES) while the file system is below the free-space reserve: it may use the
 * reserve, down to 1 MiB. */
#define SWP_NOTE_MAX_BYTES (64 << 10)
int swp__batch_commit_note(struct swp_store *s, struct swp_batch *b);
void swp__batch_free(struct swp_batch *b);

/* Calls fn for every key in [from, to) in order (to NULL = to the end); fn returns non-zero to
 * stop. Returns 0, -errno, or what fn returned. */
typedef int (*swp_scan_fn)(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen);
int swp__store_scan(struct swp_store *s, const void *from, size_t flen, const void *to, size_t tlen, swp_scan_fn fn,
		    void *ctx);

/* Bytes the store occupies on disk (SST + WAL files), for benchmarks. */
int64_t swp__store_disk_bytes(struct swp_store *s);

#endif
