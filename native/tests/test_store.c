/*
 * The store boundary (native/src/store/): values survive a reopen, batches and ordered scans with
 * big-endian keys and an exclusive upper bound, and the refusals — a directory in use, a store of
 * another format, a foreign RocksDB, a path that is not a directory — each with a message that
 * says what is wrong, also through the public swp_core_open.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "check.h"
#include "test_json.h"
#include "store/layout.h"
#include "store/store.h"
#include "swprof/swprof.h"

static char tmp[64];

static const char *path_in(const char *name)
{
	static char p[4][256];
	static int i;
	i = (i + 1) & 3;
	snprintf(p[i], sizeof(p[i]), "%s/%s", tmp, name);
	return p[i];
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static struct swp_store *open_ok(const char *dir)
{
	struct swp_store *s = NULL;
	int r = swp__store_open(dir, 0, &s);
	if (r)
		fprintf(stderr, "swp__store_open(%s): %d %s\n", dir, r, swp_last_error());
	CHECK_EQ_INT(r, 0);
	CHECK(s != NULL);
	return s;
}

static void put(struct swp_store *s, const void *k, size_t kl, const char *v)
{
	struct swp_batch *b = swp__batch_new();
	swp__batch_put(b, k, kl, v, strlen(v));
	CHECK_EQ_INT(swp__batch_commit(s, b, true), 0);
	swp__batch_free(b);
}

static void del(struct swp_store *s, const void *k, size_t kl)
{
	struct swp_batch *b = swp__batch_new();
	swp__batch_delete(b, k, kl);
	CHECK_EQ_INT(swp__batch_commit(s, b, true), 0);
	swp__batch_free(b);
}

/* "T" be64 keys collected by a scan */
struct seen {
	uint64_t v[64];
	char val[64][32];
	int n;
	int stop_after; /* 0 = never stop */
};

static int collect(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	struct seen *s = ctx;
	CHECK_EQ_INT(kl, 9);
	CHECK_EQ_INT(k[0], SWP_TAG_TASK);
	if (s->n < 64 && kl == 9) {
		s->v[s->n] = swp__get_be64(k + 1);
		snprintf(s->val[s->n], sizeof(s->val[0]), "%.*s", (int)vl, (const char *)v);
		s->n++;
	}
	return s->stop_after && s->n >= s->stop_after ? 7 : 0;
}

static const uint64_t ids[] = {1, 255, 256, 65535, 65536, 1ULL << 40, UINT64_MAX - 1, 0x0100000000000000ULL, 2};
#define NIDS (sizeof(ids) / sizeof(ids[0]))
/* the same ids in numeric order */
static const uint64_t sorted_ids[] = {1, 2, 255, 256, 65535, 65536, 1ULL << 40, 0x0100000000000000ULL, UINT64_MAX - 1};

static void check_scans(struct swp_store *s)
{
	/* the whole "T" range: numeric order, nothing of other tags */
	uint8_t from = SWP_TAG_TASK, to = SWP_TAG_TASK + 1;
	struct seen all = {0};
	CHECK_EQ_INT(swp__store_scan(s, &from, 1, &to, 1, collect, &all), 0);
	CHECK_EQ_INT(all.n, NIDS);
	for (int i = 0; i < all.n && i < (int)NIDS; i++) {
		char want[32];
		CHECK_EQ_INT(all.v[i], sorted_ids[i]);
		snprintf(want, sizeof(want), "v%llu", (unsigned long long)sorted_ids[i]);
		CHECK_EQ_STR(all.val[i], want);
	}
	/* [T 2, T 65536): the upper bound is exclusive */
	uint8_t a[9], b[9];
	swp__key_u64(a, SWP_TAG_TASK, 2);
	swp__key_u64(b, SWP_TAG_TASK, 65536);
	struct seen part = {0};
	CHECK_EQ_INT(swp__store_scan(s, a, 9, b, 9, collect, &part), 0);
	CHECK_EQ_INT(part.n, 4);
	CHECK_EQ_INT(part.v[0], 2);
	CHECK_EQ_INT(part.v[1], 255);
	CHECK_EQ_INT(part.v[2], 256);
	CHECK_EQ_INT(part.v[3], 65535);
	/* a start between keys begins at the next one */
	swp__key_u64(a, SWP_TAG_TASK, 257);
	struct seen mid = {0};
	CHECK_EQ_INT(swp__store_scan(s, a, 9, b, 9, collect, &mid), 0);
	CHECK_EQ_INT(mid.n, 1);
	CHECK_EQ_INT(mid.v[0], 65535);
	/* the callback stops the scan with its own value */
	struct seen stop = {.stop_after = 3};
	CHECK_EQ_INT(swp__store_scan(s, &from, 1, &to, 1, collect, &stop), 7);
	CHECK_EQ_INT(stop.n, 3);
	/* an empty range */
	swp__key_u64(a, SWP_TAG_TASK, 3);
	swp__key_u64(b, SWP_TAG_TASK, 255);
	struct seen none = {0};
	CHECK_EQ_INT(swp__store_scan(s, a, 9, b, 9, collect, &none), 0);
	CHECK_EQ_INT(none.n, 0);
}

static void test_values_survive(void)
{
	const char *dir = path_in("kv");
	struct swp_store *s = open_ok(dir);
	if (!s)
		return;
	/* a new store carries the format marker */
	struct swp_buf v = {0};
	CHECK_EQ_INT(swp__store_get(s, SWP_KEY_FORMAT, 1, &v), 0);
	char marker[64];
	snprintf(marker, sizeof(marker), SWP_FORMAT_MAGIC " %d", SWP_STORE_FORMAT);
	CHECK_EQ_STR(v.data, marker);
	swp_buf_free(&v);

	/* one batch of keys in a scrambled order, plus keys of neighbouring tags */
	struct swp_batch *b = swp__batch_new();
	for (size_t i = 0; i < NIDS; i++) {
		uint8_t k[9];
		char val[32];
		snprintf(val, sizeof(val), "v%llu", (unsigned long long)ids[i]);
		swp__batch_put(b, k, swp__key_u64(k, SWP_TAG_TASK, ids[i]), val, strlen(val));
	}
	uint8_t k[9];
	swp__batch_put(b, k, swp__key_u64(k, SWP_TAG_TASK - 1, 5), "before", 6);
	swp__batch_put(b, k, swp__key_u64(k, SWP_TAG_TASK + 1, 0), "after", 5);
	swp__batch_put(b, "T", 1, "bare tag", 8); /* shorter than the range start: not in [T 0.., ..) */
	CHECK_EQ_INT(swp__batch_count(b), NIDS + 3);
	CHECK_EQ_INT(swp__batch_commit(s, b, false), 0);
	swp__batch_free(b);
	/* a deleted key is gone; a value can be empty */
	put(s, "Zgone", 5, "x");
	del(s, "Zgone", 5);
	put(s, "Zempty", 6, "");

	CHECK_EQ_INT(swp__store_get(s, "Zgone", 5, &v), -ENOENT);
	CHECK_EQ_INT(swp__store_get(s, "nothing", 7, &v), -ENOENT);
	CHECK_EQ_INT(v.len, 0);
	CHECK_EQ_INT(swp__store_get(s, "Zempty", 6, &v), 0);
	CHECK_EQ_INT(v.len, 0);
	swp_buf_free(&v);

	/* the bare "T" key sorts before every "T" be64 key: scan from T+be64(0) to skip it */
	uint8_t from[9], to = SWP_TAG_TASK + 1;
	swp__key_u64(from, SWP_TAG_TASK, 0);
	struct seen all = {0};
	CHECK_EQ_INT(swp__store_scan(s, from, 9, &to, 1, collect, &all), 0);
	CHECK_EQ_INT(all.n, NIDS);
	/* remove the bare key again so that check_scans sees only be64 keys */
	del(s, "T", 1);
	check_scans(s);
	CHECK(swp__store_disk_bytes(s) > 0);
	swp__store_close(s);

	/* reopen: everything is still there (the batch was committed without sync) */
	s = open_ok(dir);
	if (!s)
		return;
	check_scans(s);
	swp__key_u64(k, SWP_TAG_TASK, 1ULL << 40);
	CHECK_EQ_INT(swp__store_get(s, k, 9, &v), 0);
	CHECK_EQ_STR(v.data, "v1099511627776");
	swp_buf_free(&v);
	swp__key_u64(k, SWP_TAG_TASK - 1, 5);
	CHECK_EQ_INT(swp__store_get(s, k, 9, &v), 0);
	CHECK_EQ_STR(v.data, "before");
	swp_buf_free(&v);
	CHECK_EQ_INT(swp__store_get(s, "Zgone", 5, &v), -ENOENT);
	swp_buf_free(&v);
	swp__store_close(s);
}

static void test_in_use(void)
{
	const char *dir = path_in("busy");
	struct swp_store *s = open_ok(dir);
	if (!s)
		return;
	put(s, "Xk", 2, "first");
	struct swp_store *s2 = (struct swp_store *)0x1;
	int r = swp__store_open(dir, 0, &s2);
	CHECK_EQ_INT(r, -EBUSY);
	CHECK(s2 == NULL);
	CHECK_CONTAINS(swp_last_error(), "in use");
	CHECK_CONTAINS(swp_last_error(), dir);

	/* the same through the public API */
	struct swp_config cfg = {.sz = sizeof(cfg), .data_dir = dir, .host_name = "h", .host_ip = "10.0.0.1",
				 .profiling = SWP_PROFILING_ELSEWHERE};
	swp_core *c = (swp_core *)0x1;
	r = swp_core_open(&cfg, &c);
	CHECK_EQ_INT(r, -EBUSY);
	CHECK(c == NULL);
	CHECK_CONTAINS(swp_last_error(), "in use");

	/* the first handle is unharmed */
	struct swp_buf v = {0};
	CHECK_EQ_INT(swp__store_get(s, "Xk", 2, &v), 0);
	CHECK_EQ_STR(v.data, "first");
	swp_buf_free(&v);
	put(s, "Xk", 2, "second");
	swp__store_close(s);

	/* once closed, the directory opens again */
	s = open_ok(dir);
	if (!s)
		return;
	CHECK_EQ_INT(swp__store_get(s, "Xk", 2, &v), 0);
	CHECK_EQ_STR(v.data, "second");
	swp_buf_free(&v);
	swp__store_close(s);
}

static void test_other_format(void)
{
	const char *dir = path_in("future");
	struct swp_store *s = open_ok(dir);
	if (!s)
		return;
	put(s, "Xdata", 5, "kept");
	put(s, SWP_KEY_FORMAT, 1, SWP_FORMAT_MAGIC " 999");
	swp__store_close(s);

	char mine[32];
	snprintf(mine, sizeof(mine), "format %d", SWP_STORE_FORMAT);
	s = (struct swp_store *)0x1;
	int r = swp__store_open(dir, 0, &s);
	CHECK_EQ_INT(r, -EPROTO);
	CHECK(s == NULL);
	CHECK_CONTAINS(swp_last_error(), "999");
	CHECK_CONTAINS(swp_last_error(), mine);
	CHECK_CONTAINS(swp_last_error(), dir);

	struct swp_config cfg = {.sz = sizeof(cfg), .data_dir = dir, .host_name = "h", .host_ip = "10.0.0.1",
				 .profiling = SWP_PROFILING_ELSEWHERE};
	swp_core *c = (swp_core *)0x1;
	r = swp_core_open(&cfg, &c);
	CHECK_EQ_INT(r, -EPROTO);
	CHECK(c == NULL);
	CHECK_CONTAINS(swp_last_error(), "999");
	CHECK_CONTAINS(swp_last_error(), mine);
	CHECK_EQ_STR(swp_strerror(r), "incompatible store format");

	/* the refusal did not rewrite the marker: still refused */
	r = swp__store_open(dir, 0, &s);
	CHECK_EQ_INT(r, -EPROTO);

	/* a marker that is not ours at all */
	const char *dir2 = path_in("garbled");
	s = open_ok(dir2);
	if (!s)
		return;
	put(s, SWP_KEY_FORMAT, 1, "hello");
	swp__store_close(s);
	r = swp__store_open(dir2, 0, &s);
	CHECK_EQ_INT(r, -EPROTO);
	CHECK_CONTAINS(swp_last_error(), "not a swprof");
	/* an empty marker */
	const char *dir3 = path_in("emptymarker");
	s = open_ok(dir3);
	if (!s)
		return;
	put(s, SWP_KEY_FORMAT, 1, "");
	swp__store_close(s);
	r = swp__store_open(dir3, 0, &s);
	CHECK_EQ_INT(r, -EPROTO);
	CHECK_CONTAINS(swp_last_error(), "not a swprof");
}

static void test_foreign_rocksdb(void)
{
	const char *dir = path_in("foreign");
	struct swp_store *s = open_ok(dir);
	if (!s)
		return;
	put(s, "user:42", 7, "{\"name\":\"somebody else's data\"}");
	del(s, SWP_KEY_FORMAT, 1);
	swp__store_close(s);

	s = (struct swp_store *)0x1;
	int r = swp__store_open(dir, 0, &s);
	CHECK_EQ_INT(r, -EPROTO);
	CHECK(s == NULL);
	CHECK_CONTAINS(swp_last_error(), "not a swprof store");
	CHECK_CONTAINS(swp_last_error(), dir);

	struct swp_config cfg = {.sz = sizeof(cfg), .data_dir = dir, .host_name = "h", .host_ip = "10.0.0.1",
				 .profiling = SWP_PROFILING_ELSEWHERE};
	swp_core *c = (swp_core *)0x1;
	r = swp_core_open(&cfg, &c);
	CHECK_EQ_INT(r, -EPROTO);
	CHECK(c == NULL);
	CHECK_CONTAINS(swp_last_error(), "not a swprof store");

	/* the refusal wrote nothing: still no marker, the foreign key still there */
	r = swp__store_open(dir, 0, &s);
	CHECK_EQ_INT(r, -EPROTO);
}

static void test_not_a_directory(void)
{
	const char *file = path_in("plainfile");
	int fd = open(file, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK_EQ_INT(write(fd, "x", 1), 1);
		close(fd);
	}
	struct swp_store *s = (struct swp_store *)0x1;
	int r = swp__store_open(file, 0, &s);
	CHECK_EQ_INT(r, -ENOTDIR);
	CHECK(s == NULL);
	CHECK_CONTAINS(swp_last_error(), file);
	CHECK_CONTAINS(swp_last_error(), "not a directory");

	struct swp_config cfg = {.sz = sizeof(cfg), .data_dir = file, .host_name = "h", .host_ip = "10.0.0.1"};
	swp_core *c = (swp_core *)0x1;
	r = swp_core_open(&cfg, &c);
	CHECK_EQ_INT(r, -ENOTDIR);
	CHECK(c == NULL);
	CHECK_CONTAINS(swp_last_error(), "not a directory");

	/* a directory below a regular file cannot be created */
	char below[300];
	snprintf(below, sizeof(below), "%s/data", file);
	r = swp__store_open(below, 0, &s);
	CHECK(r < 0);
	CHECK_CONTAINS(swp_last_error(), below);

	/* the file is untouched */
	char buf[8] = {0};
	fd = open(file, O_RDONLY);
	CHECK_EQ_INT(read(fd, buf, sizeof(buf)), 1);
	close(fd);

	/* no directory at all */
	r = swp__store_open("", 0, &s);
	CHECK_EQ_INT(r, -EINVAL);
}

/* A full disk: writes are refused before RocksDB sees the disk full (Debian's RocksDB aborts the
 * process after a failed log write), nothing is half-written, and writing resumes once there is
 * room again. Needs root for a small tmpfs. */
static void test_full_disk(void)
{
	char mnt[128], filler[160], data[160];
	snprintf(mnt, sizeof(mnt), "%s/small", tmp);
	mkdir(mnt, 0755);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=64m") != 0) {
		fprintf(stderr, "full disk case skipped: cannot mount a tmpfs (%s)\n", strerror(errno));
		return;
	}
	snprintf(filler, sizeof(filler), "%s/filler", mnt);
	snprintf(data, sizeof(data), "%s/data", mnt);
	const char *folded = "main;work 5\n";

	struct swp_config cfg = {.sz = sizeof(cfg), .data_dir = data, .min_free_bytes = 40ULL << 20,
				 .profiling = SWP_PROFILING_ELSEWHERE};
	swp_core *c = NULL;
	CHECK_EQ_INT(swp_core_open(&cfg, &c), 0);
	struct swp_process_spec ps = {.sz = sizeof(ps), .pid = getpid(), .service = "full"};
	CHECK_EQ_INT(swp_process_register(c, &ps, NULL), 0);
	struct swp_task_create tq = {.sz = sizeof(tq), .service_id = "ZnVsbA==.1", .target_type = "ON_CPU",
				     .duration_s = 60, .start_time_ms = 1000, .now_ms = 1000};
	struct swp_buf out = {0};
	CHECK_EQ_INT(swp_task_create(c, &tq, &out), 0);
	CHECK_CONTAINS(out.data, "\"status\":true");
	char task[32];
	json_get(out.data, "id", task, sizeof(task));
	swp_buf_free(&out);

	/* fill the disk to 30 of its 64 MiB: less than the 40 MiB the store keeps free */
	int fd = open(filler, O_WRONLY | O_CREAT, 0644);
	CHECK(fd >= 0 && posix_fallocate(fd, 0, 30 << 20) == 0);
	close(fd);
	struct swp_import_req im = {.sz = sizeof(im), .task_id = task, .time_ms = 5000, .text = folded,
				    .len = strlen(folded)};
	CHECK_EQ_INT(swp_import_folded(c, &im, &out), -ENOSPC);
	CHECK_CONTAINS(swp_last_error(), "keeps 40 MiB free");
	swp_buf_free(&out);
	tq.start_time_ms = 100000000;
	CHECK_EQ_INT(swp_task_create(c, &tq, &out), -ENOSPC);
	swp_buf_free(&out);
	/* nothing half-written: no schedule appeared */
	CHECK_EQ_INT(swp_schedules_json(c, task, 0, 0, &out), 0);
	CHECK_EQ_STR(out.data, "[]");
	swp_buf_free(&out);

	/* room again: the same requests work, on the same open store */
	unlink(filler);
	CHECK_EQ_INT(swp_import_folded(c, &im, &out), 0);
	CHECK_CONTAINS(out.data, "\"samples\":5");
	swp_buf_free(&out);
	CHECK_EQ_INT(swp_task_create(c, &tq, &out), 0);
	CHECK_CONTAINS(out.data, "\"status\":true");
	swp_buf_free(&out);
	swp_core_close(c);

	/* and everything is there after a reopen */
	CHECK_EQ_INT(swp_core_open(&cfg, &c), 0);
	if (c) {
		CHECK_EQ_INT(swp_schedules_json(c, task, 0, 0, &out), 0);
		CHECK_CONTAINS(out.data, "\"samples\":5");
		swp_buf_free(&out);
		swp_core_close(c);
	}
	umount2(mnt, MNT_DETACH);
}

int main(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/swprof-test-store-XXXXXX");
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	test_values_survive();
	test_in_use();
	test_other_format();
	test_foreign_rocksdb();
	test_not_a_directory();
	test_full_disk();
	nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	CHECK_DONE();
}
