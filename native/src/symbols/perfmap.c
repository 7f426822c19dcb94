/*
 * JIT-compiled code by name (symbols.h): the perf map a runtime writes, /tmp/perf-<pid>.map in
 * its own mount and pid namespaces ("START SIZE NAME" per line, hex), and the request that makes
 * a HotSpot JVM write one (the jcmd Compiler.perfmap of JDK 17 and later, through the JVM's
 * attach mechanism). Node.js writes the same format with --perf-basic-prof.
 *
 * A map is re-read whole when its size or mtime changed (a JVM rewrites it on every request; Node
 * appends), at most once a second per process; later lines win where code was replaced.
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "symbols/perfmap.h"

#define REREAD_MS 1000

struct entry {
	uint64_t start, end;
	uint32_t name; /* offset in names */
	uint32_t seq;  /* line number: a later line replaces an earlier one at the same address */
};

struct swp__perfmap {
	int pid;
	uint64_t size, mtime_ns;
	int64_t checked_ms;
	uint32_t gen; /* bumped at every re-read: code addresses may mean other methods now */
	struct entry *v;
	size_t n;
	struct swp_buf names;
};

/* The pid inside the process's own pid namespace (the name of its map), from NSpid. */
static int ns_pid(int pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	FILE *f = fopen(path, "r");
	int inner = pid;
	if (!f)
		return pid;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "NSpid:", 6)) {
			for (char *p = line + 6, *end; *p; p = end) {
				long v = strtol(p, &end, 10);
				if (end == p)
					break;
				inner = (int)v;
			}
			break;
		}
	fclose(f);
	return inner;
}

static void map_path(int pid, char *out, size_t n)
{
	snprintf(out, n, "/proc/%d/root/tmp/perf-%d.map", pid, ns_pid(pid));
}

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* A JVM's "RET package.Class.method(ARGS)" as "package.Class::method"; other names as they are. */
static void put_name(struct swp_buf *names, const char *s, size_t len)
{
	const char *paren = memchr(s, '(', len);
	if (paren) {
		const char *b = paren;
		while (b > s && b[-1] != ' ')
			b--;
		const char *dot = NULL;
		for (const char *q = b; q < paren; q++)
			if (*q == '.')
				dot = q;
		bool jvm = dot && !memchr(b, ':', (size_t)(paren - b)) && !memchr(b, '/', (size_t)(paren - b));
		if (jvm) {
			swp__buf_put(names, b, (size_t)(dot - b));
			swp__buf_puts(names, "::");
			swp__buf_put(names, dot + 1, (size_t)(paren - dot - 1));
			swp__buf_putc(names, 0);
			return;
		}
	}
	swp__buf_put(names, s, len);
	swp__buf_putc(names, 0);
}

static void load(struct swp__perfmap *m, FILE *f)
{
	free(m->v);
	m->v = NULL;
	m->n = 0;
	swp__buf_reset(&m->names);
	size_t cap = 0;
	char *line = NULL;
	size_t lcap = 0;
	ssize_t len;
	uint32_t seq = 0;
	while ((len = getline(&line, &lcap, f)) > 0) {
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = 0;
		char *p = line, *e;
		uint64_t start = strtoull(p, &e, 16), size;
		if (e == p)
			continue;
		p = e;
		size = strtoull(p, &e, 16);
		if (e == p || !size || *e != ' ')
			continue;
		if (m->n == cap) {
			cap = cap ? cap * 2 : 1024;
			m->v = swp__xrealloc(m->v, cap * sizeof(*m->v));
		}
		m->v[m->n++] = (struct entry){.start = start, .end = start + size, .name = (uint32_t)m->names.len,
					      .seq = seq++};
		put_name(&m->names, e + 1, strlen(e + 1));
	}
	free(line);
	qsort(m->v, m->n, sizeof(*m->v), cmp_entry);
}

struct swp__perfmap *swp__perfmap_new(int pid)
{
	struct swp__perfmap *m = swp__xcalloc(1, sizeof(*m));
	m->pid = pid;
	return m;
}

void swp__perfmap_free(struct swp__perfmap *m)
{
	if (!m)
		return;
	free(m->v);
	swp_buf_free(&m->names);
	free(m);
}

/* Re-reads the map when it changed, at most once a second. */
static void refresh(struct swp__perfmap *m)
{
	int64_t now = swp__mono_ms();
	if (m->checked_ms && now - m->checked_ms < REREAD_MS)
		return;
	m->checked_ms = now;
	char path[128];
	map_path(m->pid, path, sizeof(path));
	struct stat st;
	if (stat(path, &st) != 0)
		return;
	uint64_t mt = (uint64_t)st.st_mtim.tv_sec * 1000000000ull + (uint64_t)st.st_mtim.tv_nsec;
	if ((uint64_t)st.st_size == m->size && mt == m->mtime_ns)
		return;
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	load(m, f);
	fclose(f);
	m->gen++;
	m->size = (uint64_t)st.st_size;
	m->mtime_ns = mt;
	swp_debug("symbols: perf map of pid %d: %zu entries", m->pid, m->n);
}

/* The latest entry holding ip, or NULL. */
static const struct entry *find(const struct swp__perfmap *m, uint64_t ip)
{
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->v[mid].start <= ip)
			lo = mid + 1;
		else
			hi = mid;
	}
	const struct entry *best = NULL;
	for (size_t i = lo, k = 0; i-- > 0 && k < 64; k++) /* overlapping (replaced) code is rare and local */
		if (m->v[i].start <= ip && ip < m->v[i].end && (!best || m->v[i].seq > best->seq))
			best = &m->v[i];
	return best;
}

bool swp__perfmap_lookup(struct swp__perfmap *m, uint64_t ip, struct swp_buf *out)
{
	/* a JIT reuses the addresses of code it replaced: a map is checked for a newer one before a
	 * name found in it is trusted, not only when an address is missing */
	refresh(m);
	const struct entry *e = find(m, ip);
	if (!e)
		return false;
	swp__buf_puts(out, m->names.data + e->name);
	return true;
}

uint32_t swp__perfmap_generation(struct swp__perfmap *m)
{
	refresh(m);
	return m->gen;
}

/* ---- asking a HotSpot JVM for its map ---- */

bool swp__is_jvm(int pid)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	FILE *f = fopen(path, "r");
	bool jvm = false;
	while (f && !jvm && fgets(line, sizeof(line), f))
		jvm = strstr(line, "/libjvm.so") != NULL;
	if (f)
		fclose(f);
	return jvm;
}

static int owner_of(int pid, uid_t *uid, gid_t *gid)
{
	char path[64];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d", pid);
	if (stat(path, &st))
		return -errno;
	*uid = st.st_uid;
	*gid = st.st_gid;
	return 0;
}

static void msleep(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

int swp__jvm_perfmap(int pid, int timeout_ms)
{
	int inner = ns_pid(pid);
	char sock[108], trigger[128];
	snprintf(sock, sizeof(sock), "/proc/%d/root/tmp/.java_pid%d", pid, inner);
	struct stat st;
	if (stat(sock, &st) != 0) {
		/* no attach listener yet: the trigger file, then SIGQUIT (with the file there the JVM starts
		 * its listener instead of printing a thread dump) */
		snprintf(trigger, sizeof(trigger), "/proc/%d/root/tmp/.attach_pid%d", pid, inner);
		int fd = open(trigger, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
			return swp__fail(errno, "jvm %d: cannot make %s: %s", pid, trigger, strerror(errno));
		uid_t uid = 0;
		gid_t gid = 0;
		if (!owner_of(pid, &uid, &gid) && fchown(fd, uid, gid)) {
			/* the JVM accepts a trigger of its user's or root's */
		}
		close(fd);
		kill(pid, SIGQUIT);
		for (int waited = 0; stat(sock, &st) != 0 && waited < timeout_ms; waited += 20)
			msleep(20);
		unlink(trigger);
		if (stat(sock, &st) != 0)
			return swp__fail(ETIMEDOUT, "jvm %d: its attach listener did not start", pid);
	}
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return swp__fail(errno, "jvm %d: socket: %s", pid, strerror(errno));
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock);
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) != 0) {
		int e = errno;
		close(s);
		return swp__fail(e, "jvm %d: connect %s: %s", pid, sock, strerror(e));
	}
	/* protocol 1: "1", the command, three arguments, each NUL-terminated */
	static const char req[] = "1\0jcmd\0Compiler.perfmap\0\0";
	ssize_t w = write(s, req, sizeof(req));
	char ans[256] = "";
	ssize_t r = w == (ssize_t)sizeof(req) ? read(s, ans, sizeof(ans) - 1) : -1;
	close(s);
	if (r <= 0)
		return swp__fail(EIO, "jvm %d: no answer to Compiler.perfmap", pid);
	ans[r] = 0;
	if (ans[0] != '0')
		return swp__fail(EPROTO, "jvm %d: Compiler.perfmap answered %.80s (JDK 17 or later writes perf maps)", pid,
				 ans);
	return 0;
}
