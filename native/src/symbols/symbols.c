/*
 * The symbolizer: processes' executable mappings, a cache of symbol tables per file identity,
 * and the kernel table (see symbols.h).
 *
 *   procs (by pid) --> maps [start,end) pgoff path --tab--> files (by dev,ino,size,mtime)
 *                                                           +-> swp__symtab (syms, segs, names)
 *   kernel         --> swp__symtab from /proc/kallsyms, read on the first kernel lookup
 */
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "symbols/perfmap.h"
#include "symbols/symbols.h"
#include "symbols/symtab.h"
#include "symbols/unwind.h"

#define REREAD_MS 100 /* at most one maps re-read per process in this time */

/* ---- a small intrusive chained hash table ---- */

struct hnode {
	struct hnode *next;
	uint64_t hash;
};

struct htab {
	struct hnode **b;
	size_t nb, n; /* buckets (a power of two), entries */
};

static void ht_add(struct htab *t, struct hnode *x)
{
	if (t->n >= t->nb) {
		size_t nb = t->nb ? t->nb * 2 : 64;
		struct hnode **b = swp__xcalloc(nb, sizeof(*b));
		for (size_t i = 0; i < t->nb; i++)
			for (struct hnode *e = t->b[i], *next; e; e = next) {
				next = e->next;
				e->next = b[e->hash & (nb - 1)];
				b[e->hash & (nb - 1)] = e;
			}
		free(t->b);
		t->b = b;
		t->nb = nb;
	}
	x->next = t->b[x->hash & (t->nb - 1)];
	t->b[x->hash & (t->nb - 1)] = x;
	t->n++;
}

static struct hnode *ht_chain(const struct htab *t, uint64_t hash)
{
	return t->nb ? t->b[hash & (t->nb - 1)] : NULL;
}

static void ht_del(struct htab *t, struct hnode *x)
{
	for (struct hnode **pp = &t->b[x->hash & (t->nb - 1)]; *pp; pp = &(*pp)->next)
		if (*pp == x) {
			*pp = x->next;
			t->n--;
			return;
		}
}

/* ---- structures ---- */

/* A file's symbol table, shared by every mapping of that file in every process. */
struct file {
	struct hnode node;
	uint64_t dev, ino, size, mtime_ns; /* identity (fstat of the opened file); dev ~0 = a vdso image */
	struct swp__symtab tab;
	struct swp__eh eh; /* unwind tables, read on the first unwinding through the file */
	bool eh_read;
};

/* One executable mapping of a process. */
struct map {
	uint64_t start, end, pgoff, ino;
	uint64_t dev;      /* makedev(major, minor) as maps shows it */
	uint32_t path;     /* offset of the path in proc.strs ("" for anonymous memory) */
	uint32_t base;     /* offset of its basename */
	bool deleted;      /* the path had " (deleted)": only map_files reaches the file */
	bool opened;       /* tab is decided (it may be NULL: the file could not be read) */
	struct swp__symtab *tab;
};

struct proc {
	struct hnode node;
	int pid;
	struct map *maps; /* executable mappings, by start */
	size_t nmaps;
	struct swp_buf strs; /* paths, NUL-terminated */
	int64_t read_ms;     /* last maps read attempt (monotonic) */
	struct swp__perfmap *jit; /* its runtime's perf map, for anonymous executable memory */
	void *unwind;             /* unwind.c's state for it */
};

struct swp_symbolizer {
	struct htab procs, files;
	struct swp__symtab kernel;
	bool kernel_loaded;      /* kallsyms was read (kernel may still be empty) */
	struct swp_buf tmp;      /* file contents being parsed */
	struct swp_buf scratch;  /* demangling */
	struct swp_sym_stats stats;
};

static uint64_t pid_hash(int pid)
{
	return swp__mix64((uint64_t)(uint32_t)pid + 1);
}

struct swp_symbolizer *swp__symbolizer_new(void)
{
	return swp__xcalloc(1, sizeof(struct swp_symbolizer));
}

static void proc_free(struct proc *p)
{
	swp__perfmap_free(p->jit);
	swp__unwind_state_free(p->unwind);
	free(p->maps);
	swp_buf_free(&p->strs);
	free(p);
}

void swp__symbolizer_free(struct swp_symbolizer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->procs.nb; i++)
		for (struct hnode *e = s->procs.b[i], *next; e; e = next) {
			next = e->next;
			proc_free((struct proc *)e);
		}
	for (size_t i = 0; i < s->files.nb; i++)
		for (struct hnode *e = s->files.b[i], *next; e; e = next) {
			next = e->next;
			swp__symtab_free(&((struct file *)e)->tab);
			swp__eh_free(&((struct file *)e)->eh);
			free(e);
		}
	free(s->procs.b);
	free(s->files.b);
	swp__symtab_free(&s->kernel);
	swp_buf_free(&s->tmp);
	swp_buf_free(&s->scratch);
	free(s);
}

void swp__sym_stats(const struct swp_symbolizer *s, struct swp_sym_stats *out)
{
	*out = s->stats;
}

/* ---- kernel ---- */

void swp__sym_kernel(struct swp_symbolizer *s, uint64_t ip, struct swp_buf *out)
{
	s->stats.lookups++;
	if (!s->kernel_loaded) {
		s->kernel_loaded = true;
		int rc = swp__kallsyms_load("/proc/kallsyms", &s->kernel);
		if (rc < 0)
			swp_warn("symbols: no kernel symbols from /proc/kallsyms (%s)",
				 rc == -ENOENT ? "addresses hidden by kptr_restrict?" : strerror(-rc));
		else
			swp_debug("symbols: %zu kernel symbols", s->kernel.nsyms);
	}
	struct swp__sym *sym = swp__symtab_find(&s->kernel, ip, true);
	swp__buf_puts(out, sym ? swp__symtab_name(&s->kernel, sym, &s->scratch) : "[unknown]");
}

/* ---- files ---- */

static struct swp__symtab *file_get(struct swp_symbolizer *s, uint64_t dev, uint64_t ino, uint64_t size,
				    uint64_t mtime_ns, int fd, void *image)
{
	uint64_t key[4] = { dev, ino, size, mtime_ns };
	uint64_t h = swp__hash64(key, sizeof(key), 0x5359);
	for (struct hnode *e = ht_chain(&s->files, h); e; e = e->next) {
		struct file *f = (struct file *)e;
		if (e->hash == h && f->dev == dev && f->ino == ino && f->size == size && f->mtime_ns == mtime_ns)
			return &f->tab;
	}
	struct file *f = swp__xcalloc(1, sizeof(*f));
	f->node.hash = h;
	f->dev = dev, f->ino = ino, f->size = size, f->mtime_ns = mtime_ns;
	s->stats.elf_parses++;
	/* a file that cannot be parsed stays cached as an empty table: it is not retried */
	int rc = image ? swp__elf_load_mem(image, size, &f->tab) : swp__elf_load_fd(fd, &f->tab);
	if (rc < 0)
		swp_debug("symbols: no ELF symbols in file %" PRIu64 ":%" PRIu64 " (%s)", dev, ino, strerror(-rc));
	ht_add(&s->files, &f->node);
	return &f->tab;
}

/* Reads up to max bytes of a (/proc) file from offset at into s->tmp; returns 0 or -errno. */
static int read_all(struct swp_symbolizer *s, const char *path, uint64_t at, size_t max)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = 0;
	swp__buf_reset(&s->tmp);
	swp__buf_reserve(&s->tmp, 0);
	if (at && lseek(fd, (off_t)at, SEEK_SET) < 0)
		rc = -errno;
	while (!rc && s->tmp.len < max) {
		size_t want = max - s->tmp.len < 65536 ? max - s->tmp.len : 65536;
		swp__buf_reserve(&s->tmp, want);
		ssize_t n = read(fd, s->tmp.data + s->tmp.len, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : 0;
			break;
		}
		s->tmp.len += (size_t)n;
	}
	s->tmp.data[s->tmp.len] = 0;
	close(fd);
	return rc;
}

/* The vdso is one image per kernel (and ABI): read from the process, or our own copy when the
 * process's memory is not readable; into s->tmp. Returns its length, 0 when there is none. */
static size_t vdso_image(struct swp_symbolizer *s, int pid, const struct map *m)
{
	char path[64];
	size_t len = m->end - m->start;
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	if (len > (1 << 20) || read_all(s, path, m->start, len) < 0 || s->tmp.len != len) {
		const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)getauxval(AT_SYSINFO_EHDR);
		if (!eh)
			return 0;
		len = eh->e_shoff + (size_t)eh->e_shnum * eh->e_shentsize;
		if (len > (1 << 20))
			return 0;
		swp__buf_reset(&s->tmp);
		swp__buf_put(&s->tmp, eh, len);
	}
	return len;
}

/* Cached by a hash of its bytes. */
static struct swp__symtab *vdso_table(struct swp_symbolizer *s, int pid, const struct map *m)
{
	size_t len = vdso_image(s, pid, m);
	return len ? file_get(s, UINT64_MAX, swp__hash64(s->tmp.data, len, 0), len, 0, -1, s->tmp.data) : NULL;
}

static int open_file(const char *path, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -1;
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The file of mapping m: through the process's root (its mount namespace), else through
 * map_files (also reaches deleted or replaced files). -1 when neither opens. */
static int map_open(struct proc *p, const struct map *m, struct stat *out)
{
	const char *path = p->strs.data + m->path;
	char buf[PATH_MAX + 64];
	struct stat st, st2;
	int fd = -1;
	if (!m->deleted && snprintf(buf, sizeof(buf), "/proc/%d/root%s", p->pid, path) < (int)sizeof(buf))
		fd = open_file(buf, &st);
	if (fd < 0 || st.st_ino != m->ino) { /* missing, or another file at that path now */
		snprintf(buf, sizeof(buf), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, p->pid, m->start, m->end);
		int fd2 = open_file(buf, &st2);
		if (fd2 >= 0) {
			if (fd >= 0)
				close(fd);
			fd = fd2;
			st = st2;
		}
	}
	if (fd >= 0)
		*out = st;
	return fd;
}

/* Decides m->tab once. */
static struct swp__symtab *map_table(struct swp_symbolizer *s, struct proc *p, struct map *m)
{
	if (m->opened)
		return m->tab;
	m->opened = true;
	const char *path = p->strs.data + m->path;
	if (!strcmp(path, "[vdso]"))
		return m->tab = vdso_table(s, p->pid, m);
	struct stat st;
	int fd = map_open(p, m, &st);
	if (fd < 0) {
		swp_debug("symbols: cannot open %s of pid %d", path, p->pid);
		return NULL;
	}
	m->tab = file_get(s, (uint64_t)st.st_dev, (uint64_t)st.st_ino, (uint64_t)st.st_size,
			  (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec, fd, NULL);
	close(fd);
	return m->tab;
}

/* ---- processes ---- */

static struct map *find_map(struct proc *p, uint64_t ip)
{
	size_t lo = 0, hi = p->nmaps;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->maps[mid].end <= ip)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < p->nmaps && p->maps[lo].start <= ip ? &p->maps[lo] : NULL;
}

/* (Re-)reads /proc/PID/maps; mappings that did not change keep their table. When the read
 * fails (the process exited) the known mappings stay: late samples still resolve. */
static int read_maps(struct swp_symbolizer *s, struct proc *p)
{
	char path[64];
	s->stats.maps_reads++;
	p->read_ms = swp__mono_ms();
	snprintf(path, sizeof(path), "/proc/%d/maps", p->pid);
	int rc = read_all(s, path, 0, SIZE_MAX);
	if (rc < 0)
		return rc;

	struct map *maps = NULL;
	size_t n = 0, cap = 0;
	struct swp_buf strs = { 0 };
	for (char *line = s->tmp.data, *eol; line && *line; line = eol ? eol + 1 : NULL) {
		eol = strchr(line, '\n');
		if (eol)
			*eol = 0;
		uint64_t start, end, pgoff, ino;
		unsigned maj, min;
		char perms[8];
		int pos = 0;
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %x:%x %" SCNu64 " %n", &start, &end, perms,
			   &pgoff, &maj, &min, &ino, &pos) < 7 || !strchr(perms, 'x') || end <= start)
			continue;
		char *name = line + pos;
		size_t len = strlen(name);
		bool deleted = len > 10 && !strcmp(name + len - 10, " (deleted)");
		if (deleted)
			name[len -= 10] = 0;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			maps = swp__xrealloc(maps, cap * sizeof(*maps));
		}
		struct map *m = &maps[n++];
		const char *slash = strrchr(name, '/');
		*m = (struct map){ .start = start, .end = end, .pgoff = pgoff, .ino = ino, .dev = makedev(maj, min),
				   .deleted = deleted, .path = (uint32_t)strs.len,
				   .base = (uint32_t)(strs.len + (slash ? (size_t)(slash + 1 - name) : 0)) };
		swp__buf_put(&strs, name, len + 1);
		struct map *old = find_map(p, start);
		if (old && old->start == start && old->end == end && old->pgoff == pgoff && old->ino == ino &&
		    old->dev == m->dev && old->deleted == deleted && !strcmp(p->strs.data + old->path, name)) {
			m->opened = old->opened;
			m->tab = old->tab;
		}
	}
	bool same = n == p->nmaps;
	for (size_t i = 0; same && i < n; i++)
		same = maps[i].start == p->maps[i].start && maps[i].end == p->maps[i].end &&
		       maps[i].tab == p->maps[i].tab && maps[i].opened == p->maps[i].opened;
	if (!same && p->unwind)
		swp__unwind_state_flush(p->unwind); /* what it cached of the old mappings goes */
	free(p->maps);
	swp_buf_free(&p->strs);
	p->maps = maps;
	p->nmaps = n;
	p->strs = strs;
	return 0;
}

/* The process pid as the symbolizer knows it, or NULL. */
static struct proc *proc_find(struct swp_symbolizer *s, int pid)
{
	for (struct hnode *e = ht_chain(&s->procs, pid_hash(pid)); e; e = e->next)
		if (((struct proc *)e)->pid == pid)
			return (struct proc *)e;
	return NULL;
}

static struct proc *proc_get(struct swp_symbolizer *s, int pid)
{
	struct proc *p = proc_find(s, pid);
	if (p)
		return p;
	uint64_t h = pid_hash(pid);
	p = swp__xcalloc(1, sizeof(*p));
	p->pid = pid;
	p->node.hash = h;
	ht_add(&s->procs, &p->node);
	if (read_maps(s, p) < 0)
		swp_debug("symbols: no maps for pid %d", pid);
	return p;
}

void swp__sym_user(struct swp_symbolizer *s, int pid, uint64_t ip, struct swp_buf *out)
{
	s->stats.lookups++;
	struct proc *p = proc_get(s, pid);
	struct map *m = find_map(p, ip);
	if (!m && swp__mono_ms() - p->read_ms >= REREAD_MS && read_maps(s, p) == 0)
		m = find_map(p, ip);
	const char *path = m ? p->strs.data + m->path : "";
	if (!*path) { /* no mapping, or anonymous executable memory: JIT code, named by its perf map */
		if (!p->jit)
			p->jit = swp__perfmap_new(pid);
		if (!swp__perfmap_lookup(p->jit, ip, out))
			swp__buf_puts(out, "[unknown]");
		return;
	}
	if (path[0] == '[' && strcmp(path, "[vdso]")) { /* [vsyscall], [uprobes] */
		swp__buf_puts(out, path);
		return;
	}
	uint64_t off = ip - m->start + m->pgoff;
	struct swp__symtab *tab = map_table(s, p, m);
	const char *name = tab ? swp__elf_lookup(tab, off, &s->scratch) : NULL;
	if (name)
		swp__buf_puts(out, name);
	else
		swp__buf_printf(out, "%s+0x%" PRIx64, p->strs.data + m->base, off);
}

uint32_t swp__sym_jit_generation(struct swp_symbolizer *s, int pid)
{
	struct proc *p = proc_find(s, pid);
	return p && p->jit ? swp__perfmap_generation(p->jit) : 0;
}

void swp__sym_forget_pid(struct swp_symbolizer *s, int pid)
{
	struct proc *p = proc_find(s, pid);
	if (p) {
		ht_del(&s->procs, &p->node);
		proc_free(p);
	}
}

/* ---- for unwinding (unwind.c) ---- */

/* The unwind tables of m's file, read on first use; NULL when it has none. */
static const struct swp__eh *map_eh(struct swp_symbolizer *s, struct proc *p, struct map *m)
{
	struct swp__symtab *tab = map_table(s, p, m);
	if (!tab)
		return NULL;
	struct file *f = (struct file *)((char *)tab - offsetof(struct file, tab));
	if (!f->eh_read) {
		f->eh_read = true;
		int rc = -ENOENT;
		if (f->dev == UINT64_MAX) { /* a vdso image */
			size_t len = vdso_image(s, p->pid, m);
			if (len)
				rc = swp__eh_load_mem(s->tmp.data, len, &f->eh);
		} else {
			struct stat st;
			int fd = map_open(p, m, &st);
			if (fd >= 0) {
				rc = swp__eh_load_fd(fd, &f->eh);
				close(fd);
			}
		}
		s->stats.eh_files++;
		s->stats.eh_bytes += swp__eh_bytes(&f->eh);
		if (rc)
			swp_debug("symbols: no unwind tables in %s of pid %d", p->strs.data + m->path, p->pid);
	}
	return &f->eh;
}

bool swp__sym_module(struct swp_symbolizer *s, int pid, uint64_t ip, struct swp__module *out)
{
	struct proc *p = proc_get(s, pid);
	struct map *m = find_map(p, ip);
	if (!m && swp__mono_ms() - p->read_ms >= REREAD_MS && read_maps(s, p) == 0)
		m = find_map(p, ip);
	memset(out, 0, sizeof(*out));
	if (!m)
		return false;
	const char *path = p->strs.data + m->path;
	out->start = m->start;
	out->end = m->end;
	out->frame_pointers = -1;
	if (!*path || (path[0] == '[' && strcmp(path, "[vdso]"))) {
		out->anon = true; /* JIT code, [vsyscall], [uprobes]: no tables */
		return true;
	}
	const struct swp__eh *eh = map_eh(s, p, m);
	if (!eh)
		return true;
	out->frame_pointers = swp__eh_frame_pointers(eh);
	/* the load bias: m->start is the run-time address of file offset m->pgoff, and the mapping holds
	 * the executable segment (at a file offset not always page-aligned: lld's layout) */
	const struct swp__seg *seg = NULL;
	for (size_t i = 0; i < m->tab->nsegs; i++) {
		const struct swp__seg *g = &m->tab->segs[i];
		bool inside = g->off + g->filesz > m->pgoff && g->off < m->pgoff + (m->end - m->start);
		if (inside && (!seg || (g->exec && !seg->exec)))
			seg = g;
	}
	if (seg) {
		out->bias = m->start + (seg->off - m->pgoff) - seg->vaddr;
		out->eh = swp__eh_usable(eh) ? eh : NULL;
	}
	return true;
}

void **swp__sym_unwind_state(struct swp_symbolizer *s, int pid)
{
	return &proc_get(s, pid)->unwind;
}
