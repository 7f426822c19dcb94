#include "store/store.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <rocksdb/c.h>

#include "store/layout.h"

/* RocksDB's C API. With SWPROF_ROCKSDB_SONAME (a shared RocksDB) the library is loaded when the
 * first store opens: a process that never opens one (`swprof agent`, `swprof record`) does not map
 * it, nor run its static constructors (6.5 MiB of RSS, measured). The portable build links it in
 * (the name is unset there). */
#define ROCKSDB_API(X)                                                                                   \
	X(rocksdb_open) X(rocksdb_close) X(rocksdb_free) X(rocksdb_get) X(rocksdb_write)                     \
	X(rocksdb_options_create) X(rocksdb_options_destroy) X(rocksdb_options_increase_parallelism)         \
	X(rocksdb_options_set_compression) X(rocksdb_options_set_create_if_missing)                          \
	X(rocksdb_options_set_info_log_level) X(rocksdb_options_set_keep_log_file_num)                       \
	X(rocksdb_options_set_max_open_files) X(rocksdb_options_set_write_buffer_size)                       \
	X(rocksdb_readoptions_create) X(rocksdb_readoptions_destroy) X(rocksdb_readoptions_set_iterate_upper_bound) \
	X(rocksdb_writeoptions_create) X(rocksdb_writeoptions_destroy) X(rocksdb_writeoptions_set_sync)      \
	X(rocksdb_writebatch_create) X(rocksdb_writebatch_put) X(rocksdb_writebatch_delete)                  \
	X(rocksdb_writebatch_destroy) X(rocksdb_create_iterator) X(rocksdb_iter_destroy)                     \
	X(rocksdb_iter_get_error) X(rocksdb_iter_key) X(rocksdb_iter_value) X(rocksdb_iter_next)             \
	X(rocksdb_iter_seek) X(rocksdb_iter_seek_to_first) X(rocksdb_iter_valid)
#ifdef SWPROF_ROCKSDB_SONAME
#include <dlfcn.h>
#include <pthread.h>

#define X(f) static __typeof__(f) *p_##f;
ROCKSDB_API(X)
#undef X
#define R(f) p_##f
static pthread_once_t rocks_once = PTHREAD_ONCE_INIT;
static char rocks_missing[512]; /* why it could not be loaded, or "" */

static void rocks_load(void)
{
	void *h = dlopen(SWPROF_ROCKSDB_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(rocks_missing, sizeof(rocks_missing), "%s", dlerror());
		return;
	}
#define X(f)                                                                                              \
	if (!rocks_missing[0] && !(p_##f = (__typeof__(p_##f))dlsym(h, #f)))                               \
		snprintf(rocks_missing, sizeof(rocks_missing), "%s has no %s", SWPROF_ROCKSDB_SONAME, #f);
	ROCKSDB_API(X)
#undef X
}

static int rocks_ready(void)
{
	pthread_once(&rocks_once, rocks_load);
	return rocks_missing[0] ? swp__fail(ELIBACC, "RocksDB could not be loaded: %s", rocks_missing) : 0;
}
#else
#define R(f) f
static int rocks_ready(void)
{
	return 0;
}
#endif

struct swp_store {
	rocksdb_t *db;
	rocksdb_options_t *opts;
	rocksdb_writeoptions_t *wo, *wo_sync;
	rocksdb_readoptions_t *ro;
	char *dir;
	uint64_t min_free;  /* writes are refused while the file system has less free space */
	char *broken;       /* why writes are refused for good (RocksDB failed a write), or NULL */
};

/* Debian's RocksDB is built with assertions: after a failed WAL write (a full disk) any further
 * write, and even rocksdb_close(), aborts the process. So swprof never lets RocksDB reach a full
 * disk: every write first checks that min_free bytes stay free, and refuses (-ENOSPC) without
 * touching RocksDB otherwise; the caller keeps its data and retries. A write RocksDB fails anyway
 * marks the store broken: later writes are refused and close leaves the handle alone. */
#define SWP_DEFAULT_MIN_FREE (256ULL << 20)

/* A batch is kept here, not in a RocksDB WriteBatch, until its commit: a core without a store (an
 * agent) fills batches too and never needs RocksDB. Each op: 'P' uvar klen key uvar vlen val, or
 * 'D' uvar klen key. */
struct swp_batch {
	struct swp_buf ops;
	size_t count;
};

/* RocksDB reports errors as text; map the ones a user can act on to errno values. */
static int rocks_fail(char *err, const char *what)
{
	int code = EIO;
	if (strstr(err, "No space left") || strstr(err, "ENOSPC"))
		code = ENOSPC;
	else if (strstr(err, "lock") && (strstr(err, "Resource temporarily unavailable") || strstr(err, "hold")))
		code = EBUSY;
	else if (strstr(err, "Permission denied"))
		code = EACCES;
	else if (strstr(err, "Corruption"))
		code = EBADMSG;
	int r = code == EBUSY ? swp__fail(code, "%s: the data directory is in use by another swprof process (%s)", what, err)
			      : swp__fail(code, "%s: %s", what, err);
	R(rocksdb_free)(err);
	return r;
}

static int check_format(struct swp_store *s)
{
	struct swp_buf v = {0};
	int r = swp__store_get(s, SWP_KEY_FORMAT, strlen(SWP_KEY_FORMAT), &v);
	if (r == 0) {
		unsigned ver = 0;
		if (sscanf(v.data, SWP_FORMAT_MAGIC " %u", &ver) != 1)
			r = swp__fail(EPROTO, "%s is not a swprof data directory (format marker \"%.40s\")", s->dir, v.data);
		else if (ver != SWP_STORE_FORMAT)
			r = swp__fail(EPROTO, "%s has store format %u; this swprof reads format %u", s->dir, ver,
				      SWP_STORE_FORMAT);
		swp_buf_free(&v);
		return r;
	}
	swp_buf_free(&v);
	if (r != -ENOENT)
		return r;
	/* no marker: a new store, or somebody else's RocksDB */
	rocksdb_iterator_t *it = R(rocksdb_create_iterator)(s->db, s->ro);
	R(rocksdb_iter_seek_to_first)(it);
	bool empty = !R(rocksdb_iter_valid)(it);
	R(rocksdb_iter_destroy)(it);
	if (!empty)
		return swp__fail(EPROTO, "%s holds a RocksDB database that is not a swprof store", s->dir);
	char marker[64];
	snprintf(marker, sizeof(marker), SWP_FORMAT_MAGIC " %u", SWP_STORE_FORMAT);
	struct swp_batch *b = swp__batch_new();
	swp__batch_put(b, SWP_KEY_FORMAT, strlen(SWP_KEY_FORMAT), marker, strlen(marker));
	r = swp__batch_commit(s, b, true);
	swp__batch_free(b);
	return r;
}

int swp__store_open(const char *dir, uint64_t min_free, struct swp_store **out)
{
	*out = NULL;
	if (!dir || !*dir)
		return swp__fail(EINVAL, "no data directory given");
	if (mkdir(dir, 0755) && errno != EEXIST)
		return swp__fail(errno, "cannot create data directory %s: %s", dir, strerror(errno));
	struct stat st;
	if (stat(dir, &st) || !S_ISDIR(st.st_mode))
		return swp__fail(ENOTDIR, "%s is not a directory", dir);

	int r = rocks_ready();
	if (r)
		return r;
	struct swp_store *s = swp__xcalloc(1, sizeof(*s));
	s->dir = swp__xstrdup(dir);
	s->min_free = min_free ? min_free : SWP_DEFAULT_MIN_FREE;
	s->opts = R(rocksdb_options_create)();
	R(rocksdb_options_set_write_buffer_size)(s->opts, 16 << 20);
	R(rocksdb_options_set_create_if_missing)(s->opts, 1);
	R(rocksdb_options_set_compression)(s->opts, rocksdb_lz4_compression);
	R(rocksdb_options_set_max_open_files)(s->opts, 256);
	R(rocksdb_options_set_keep_log_file_num)(s->opts, 2);
	R(rocksdb_options_set_info_log_level)(s->opts, 2 /* WARN */);
	R(rocksdb_options_increase_parallelism)(s->opts, 2);
	s->wo = R(rocksdb_writeoptions_create)();
	s->wo_sync = R(rocksdb_writeoptions_create)();
	R(rocksdb_writeoptions_set_sync)(s->wo_sync, 1);
	s->ro = R(rocksdb_readoptions_create)();
	char *err = NULL;
	s->db = R(rocksdb_open)(s->opts, dir, &err);
	if (err)
		r = rocks_fail(err, dir);
	else
		r = check_format(s);
	if (r) {
		swp__store_close(s);
		return r;
	}
	*out = s;
	return 0;
}

void swp__store_close(struct swp_store *s)
{
	if (!s)
		return;
	if (s->db && !s->broken)
		R(rocksdb_close)(s->db);
	else if (s->db)
		swp_error("store %s: not closed after a failed write (%s); restart on it to recover from its log", s->dir,
			  s->broken);
	free(s->broken);
	if (s->ro)
		R(rocksdb_readoptions_destroy)(s->ro);
	if (s->wo)
		R(rocksdb_writeoptions_destroy)(s->wo);
	if (s->wo_sync)
		R(rocksdb_writeoptions_destroy)(s->wo_sync);
	if (s->opts)
		R(rocksdb_options_destroy)(s->opts);
	free(s->dir);
	free(s);
}

int swp__store_get(struct swp_store *s, const void *key, size_t klen, struct swp_buf *val)
{
	if (!s)
		return -ENOENT; /* a core without a store (an agent) */
	char *err = NULL;
	size_t vlen = 0;
	char *v = R(rocksdb_get)(s->db, s->ro, key, klen, &vlen, &err);
	if (err)
		return rocks_fail(err, "read");
	if (!v)
		return -ENOENT;
	swp__buf_put(val, v, vlen);
	R(rocksdb_free)(v);
	return 0;
}

struct swp_batch *swp__batch_new(void)
{
	return swp__xcalloc(1, sizeof(struct swp_batch));
}

void swp__batch_put(struct swp_batch *b, const void *key, size_t klen, const void *val, size_t vlen)
{
	swp__buf_putc(&b->ops, 'P');
	swp__buf_put_uvar(&b->ops, klen);
	swp__buf_put(&b->ops, key, klen);
	swp__buf_put_uvar(&b->ops, vlen);
	swp__buf_put(&b->ops, val, vlen);
	b->count++;
}

void swp__batch_delete(struct swp_batch *b, const void *key, size_t klen)
{
	swp__buf_putc(&b->ops, 'D');
	swp__buf_put_uvar(&b->ops, klen);
	swp__buf_put(&b->ops, key, klen);
	b->count++;
}

size_t swp__batch_count(const struct swp_batch *b)
{
	return b->count;
}

static uint64_t get_uvar(const uint8_t **p)
{
	uint64_t v = 0;
	for (unsigned shift = 0;; shift += 7) {
		uint8_t c = *(*p)++;
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return v;
	}
}

/* b's ops as a RocksDB WriteBatch (they were written by this file: no bounds to doubt). */
static rocksdb_writebatch_t *write_batch(const struct swp_batch *b)
{
	rocksdb_writebatch_t *wb = R(rocksdb_writebatch_create)();
	const uint8_t *p = (const uint8_t *)b->ops.data, *end = p + b->ops.len;
	while (p < end) {
		char op = (char)*p++;
		size_t klen = (size_t)get_uvar(&p);
		const char *key = (const char *)p;
		p += klen;
		if (op == 'D') {
			R(rocksdb_writebatch_delete)(wb, key, klen);
			continue;
		}
		size_t vlen = (size_t)get_uvar(&p);
		R(rocksdb_writebatch_put)(wb, key, klen, (const char *)p, vlen);
		p += vlen;
	}
	return wb;
}

static int commit(struct swp_store *s, struct swp_batch *b, bool sync, uint64_t keep_free)
{
	if (!s)
		return 0; /* a core without a store (an agent) keeps nothing */
	if (s->broken)
		return swp__fail(EIO, "the store %s refuses writes after a failed one (%s); restart swprof", s->dir,
				 s->broken);
	struct statvfs fs;
	size_t size = b->ops.len;
	if (keep_free < s->min_free && size > SWP_NOTE_MAX_BYTES)
		return swp__fail(E2BIG, "a note of %zu bytes (at most %d)", size, SWP_NOTE_MAX_BYTES);
	if (statvfs(s->dir, &fs) == 0) {
		uint64_t avail = (uint64_t)fs.f_bavail * fs.f_frsize;
		if (avail < keep_free + size)
			return swp__fail(ENOSPC, "%s has %llu MiB free; swprof keeps %llu MiB free and writes again once there is room",
					 s->dir, (unsigned long long)(avail >> 20), (unsigned long long)(s->min_free >> 20));
	}
	char *err = NULL;
	rocksdb_writebatch_t *wb = write_batch(b);
	R(rocksdb_write)(s->db, sync ? s->wo_sync : s->wo, wb, &err);
	R(rocksdb_writebatch_destroy)(wb);
	if (err) {
		s->broken = swp__xstrdup(err);
		return rocks_fail(err, "write");
	}
	return 0;
}

int swp__batch_commit(struct swp_store *s, struct swp_batch *b, bool sync)
{
	return commit(s, b, sync, s ? s->min_free : 0);
}

int swp__batch_commit_note(struct swp_store *s, struct swp_batch *b)
{
	uint64_t floor = 1 << 20;
	return commit(s, b, false, s && s->min_free < floor ? s->min_free : floor);
}

void swp__batch_free(struct swp_batch *b)
{
	if (!b)
		return;
	swp_buf_free(&b->ops);
	free(b);
}

int swp__store_scan(struct swp_store *s, const void *from, size_t flen, const void *to, size_t tlen, swp_scan_fn fn,
		    void *ctx)
{
	if (!s)
		return 0;
	rocksdb_readoptions_t *ro = R(rocksdb_readoptions_create)();
	if (to)
		R(rocksdb_readoptions_set_iterate_upper_bound)(ro, to, tlen);
	rocksdb_iterator_t *it = R(rocksdb_create_iterator)(s->db, ro);
	int r = 0;
	for (R(rocksdb_iter_seek)(it, from, flen); R(rocksdb_iter_valid)(it); R(rocksdb_iter_next)(it)) {
		size_t kl, vl;
		const char *k = R(rocksdb_iter_key)(it, &kl);
		const char *v = R(rocksdb_iter_value)(it, &vl);
		r = fn(ctx, (const uint8_t *)k, kl, (const uint8_t *)v, vl);
		if (r)
			break;
	}
	if (!r) {
		char *err = NULL;
		R(rocksdb_iter_get_error)(it, &err);
		if (err)
			r = rocks_fail(err, "scan");
	}
	R(rocksdb_iter_destroy)(it);
	R(rocksdb_readoptions_destroy)(ro);
	return r;
}

int64_t swp__store_disk_bytes(struct swp_store *s)
{
	DIR *d = opendir(s->dir);
	if (!d)
		return -errno;
	int64_t total = 0;
	struct dirent *e;
	char path[4096];
	while ((e = readdir(d))) {
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", s->dir, e->d_name);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		    (strstr(e->d_name, ".sst") || strstr(e->d_name, ".log")) && !strstr(e->d_name, "LOG"))
			total += st.st_size;
	}
	closedir(d);
	return total;
}
