#include "tasks/discovery.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define NMATCH 10 /* the whole match and {1}..{9} */

struct rule {
	regex_t re;
	char *service, *instance, *process, *layer; /* templates; NULL = default */
	char **labels;                              /* templates */
	size_t n_labels;
};

struct swp_discovery {
	struct rule *rules;
	size_t n;
	char *host_name;
};

/* ---- rules ---- */

static char *dup_or_null(const char *s)
{
	return s ? swp__xstrdup(s) : NULL;
}

static void rule_free(struct rule *r)
{
	regfree(&r->re);
	free(r->service);
	free(r->instance);
	free(r->process);
	free(r->layer);
	for (size_t i = 0; i < r->n_labels; i++)
		free(r->labels[i]);
	free(r->labels);
}

void swp__discovery_free(struct swp_discovery *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		rule_free(&d->rules[i]);
	free(d->rules);
	free(d->host_name);
	free(d);
}

int swp__discovery_new(const struct swp_rule *rules, size_t n, const char *host_name, struct swp_discovery **out)
{
	struct swp_discovery *d = swp__xcalloc(1, sizeof(*d));
	char host[256] = "localhost";
	if (!host_name && gethostname(host, sizeof(host) - 1) == 0)
		host[sizeof(host) - 1] = 0;
	d->host_name = swp__xstrdup(host_name ? host_name : host);
	d->rules = swp__xcalloc(n, sizeof(*d->rules));

	for (size_t i = 0; i < n; i++) {
		const struct swp_rule *in = &rules[i];
		size_t sz = in->sz ? in->sz : sizeof(*in);
#define FIELD(f) (offsetof(struct swp_rule, f) + sizeof(in->f) <= sz ? in->f : NULL)
		const char *regex = FIELD(cmd_regex), *service = FIELD(service);
		if (!regex || !service || !*service) {
			swp__discovery_free(d);
			return swp__fail(EINVAL, "rules[%zu]: %s is required", i, regex ? "service" : "cmd_regex");
		}
		struct rule *r = &d->rules[i];
		int rc = regcomp(&r->re, regex, REG_EXTENDED);
		if (rc) {
			char why[256];
			regerror(rc, &r->re, why, sizeof(why));
			swp__discovery_free(d);
			return swp__fail(EINVAL, "rules[%zu]: bad cmd_regex \"%s\": %s", i, regex, why);
		}
		d->n = i + 1; /* from here on rule i is freed with d */
		r->service = swp__xstrdup(service);
		r->instance = dup_or_null(FIELD(instance));
		r->process = dup_or_null(FIELD(process));
		r->layer = dup_or_null(FIELD(layer));
		const char *const *labels = FIELD(labels);
#undef FIELD
		while (labels && labels[r->n_labels])
			r->n_labels++;
		r->labels = swp__xcalloc(r->n_labels, sizeof(char *));
		for (size_t j = 0; j < r->n_labels; j++)
			r->labels[j] = swp__xstrdup(labels[j]);
	}
	*out = d;
	return 0;
}

const char *swp__discovery_host_name(const struct swp_discovery *d)
{
	return d->host_name;
}

/* ---- reading /proc/PID ---- */

/* Reads up to cap bytes of dfd/name. A vanished process gives -ENOENT. */
static int read_at(int dfd, const char *name, char *buf, size_t cap, size_t *len)
{
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
	int err = 0;
	size_t n = 0;
	if (fd < 0) {
		err = -errno;
	} else {
		while (n < cap) {
			ssize_t r = read(fd, buf + n, cap - n);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				err = -errno;
			if (r <= 0)
				break;
			n += (size_t)r;
		}
		close(fd);
	}
	*len = n;
	return err == -ESRCH ? -ENOENT : err;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* Field 22 of /proc/PID/stat; the name in field 2 may hold spaces and ')', so count from the last ')'. */
static int read_start_ticks(int dfd, int64_t *out)
{
	char buf[2048];
	size_t n;
	int err = read_at(dfd, "stat", buf, sizeof(buf) - 1, &n);
	if (err)
		return err;
	buf[n] = 0;
	const char *p = strrchr(buf, ')');
	for (int field = 2; p && field < 22; field++) {
		p = strchr(p, ' ');
		p = p ? p + 1 : NULL;
	}
	if (!p || !isdigit((unsigned char)*p))
		return -EIO;
	*out = strtoll(p, NULL, 10);
	return 0;
}

int swp__proc_read(int pid, struct swp_discovered *out)
{
	memset(out, 0, sizeof(*out));
	out->pid = pid;
	out->rule = -1;

	/* Everything is read through one directory fd: if the pid is reused meanwhile, reads fail
	 * instead of mixing two processes. */
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d", pid);
	int dfd = pid > 0 ? open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (dfd < 0)
		return errno == ESRCH || pid <= 0 ? -ENOENT : -errno;
	int err = read_start_ticks(dfd, &out->start_ticks);
	char *raw = err ? NULL : swp__xmalloc(SWP_CMDLINE_MAX + 1);
	size_t n = 0;
	if (!err)
		err = read_at(dfd, "cmdline", raw, SWP_CMDLINE_MAX, &n);
	if (err) {
		close(dfd);
		free(raw);
		return err;
	}

	/* cmdline: NUL-separated argv (argv[0] first) -> spaces, trailing NULs dropped */
	while (n && raw[n - 1] == 0)
		n--;
	raw[n] = 0;
	char argv0[256];
	snprintf(argv0, sizeof(argv0), "%s", base_name(raw));
	for (size_t i = 0; i < n; i++)
		if (!raw[i])
			raw[i] = ' ';
	out->cmdline = swp__xrealloc(raw, n + 1);

	char exe[4096 + 16];
	ssize_t len = readlinkat(dfd, "exe", exe, sizeof(exe) - 1);
	exe[len > 0 ? len : 0] = 0;
	static const char deleted[] = " (deleted)";
	size_t elen = strlen(exe), dlen = sizeof(deleted) - 1;
	if (elen > dlen && strcmp(exe + elen - dlen, deleted) == 0)
		exe[elen - dlen] = 0;
	out->exe_path = swp__xstrdup(exe);

	const char *name = base_name(exe);
	char comm[64];
	if (!*name)
		name = argv0;
	if (!*name && read_at(dfd, "comm", comm, sizeof(comm) - 1, &n) == 0) {
		comm[n] = 0;
		comm[strcspn(comm, "\n")] = 0;
		name = comm;
	}
	out->exe_name = swp__xstrdup(name);
	close(dfd);
	return 0;
}

int64_t swp__proc_age_ms(int64_t start_ticks)
{
	static long hz;
	if (!hz)
		hz = sysconf(_SC_CLK_TCK) > 0 ? sysconf(_SC_CLK_TCK) : 100;
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	int64_t up_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	return up_ms - start_ticks * 1000 / hz;
}

/* ---- templates ---- */

int swp__expand_template(const char *tmpl, const struct swp_discovered *p, const regmatch_t *m, const char *cmdline,
			 struct swp_buf *out)
{
	if (!tmpl)
		return swp__fail(EINVAL, "template is NULL");
	swp__buf_reserve(out, strlen(tmpl));
	for (const char *s = tmpl; *s;) {
		const char *e = *s == '{' ? strchr(s, '}') : NULL;
		size_t len = e ? (size_t)(e - s - 1) : 0;
		if (len == 3 && memcmp(s + 1, "exe", 3) == 0) {
			swp__buf_puts(out, p->exe_name ? p->exe_name : "");
		} else if (len == 3 && memcmp(s + 1, "pid", 3) == 0) {
			swp__buf_printf(out, "%d", p->pid);
		} else if (len == 1 && s[1] >= '1' && s[1] <= '9') {
			const regmatch_t *g = m ? &m[s[1] - '0'] : NULL;
			if (g && g->rm_so >= 0 && cmdline)
				swp__buf_put(out, cmdline + g->rm_so, (size_t)(g->rm_eo - g->rm_so));
		} else {
			swp__buf_putc(out, *s++);
			continue;
		}
		s = e + 1;
	}
	return 0;
}

/* The expansion as a new string, or NULL when tmpl is NULL or expands to "". */
static char *expand(const char *tmpl, const struct swp_discovered *p, const regmatch_t *m, struct swp_buf *b)
{
	if (!tmpl)
		return NULL;
	swp__buf_reset(b);
	swp__expand_template(tmpl, p, m, p->cmdline, b);
	return b->len ? swp__xstrdup(b->data) : NULL;
}

/* Runs the rules on p (read by swp__proc_read); fills the rule fields of the first that claims it. */
static bool match_rules(const struct swp_discovery *d, struct swp_discovered *p)
{
	if (!*p->cmdline) /* kernel thread or zombie */
		return false;
	struct swp_buf b = {0};
	for (size_t i = 0; i < d->n; i++) {
		const struct rule *r = &d->rules[i];
		regmatch_t m[NMATCH];
		if (regexec(&r->re, p->cmdline, NMATCH, m, 0) != 0)
			continue;
		char *service = expand(r->service, p, m, &b);
		if (!service)
			continue;
		p->rule = (int)i;
		p->service = service;
		p->instance = expand(r->instance, p, m, &b);
		if (!p->instance)
			p->instance = swp__xstrdup(d->host_name);
		p->process = expand(r->process ? r->process : "{exe}", p, m, &b);
		if (!p->process)
			p->process = swp__xstrdup(p->exe_name);
		p->layer = expand(r->layer, p, m, &b);
		if (!p->layer)
			p->layer = swp__xstrdup("OS_LINUX");
		p->labels = swp__xcalloc(r->n_labels ? r->n_labels : 1, sizeof(char *));
		for (size_t j = 0; j < r->n_labels; j++) {
			char *l = expand(r->labels[j], p, m, &b);
			if (l)
				p->labels[p->n_labels++] = l;
		}
		if (!p->n_labels)
			p->labels[p->n_labels++] = swp__xstrdup(p->process);
		swp_buf_free(&b);
		return true;
	}
	swp_buf_free(&b);
	return false;
}

/* ---- scanning ---- */

int swp__discovery_match_pid(struct swp_discovery *d, int pid, struct swp_discovered *out)
{
	int err = swp__proc_read(pid, out);
	if (err)
		return swp__fail(err, "process %d: %s", pid, strerror(-err));
	if (!match_rules(d, out)) {
		swp__discovered_clear(out);
		return swp__fail(ENOENT, "process %d: no rule matches", pid);
	}
	return 0;
}

int swp__discovery_scan(struct swp_discovery *d, struct swp_discovered **out, size_t *n)
{
	DIR *dir = opendir("/proc");
	if (!dir)
		return swp__fail(errno, "opendir /proc: %s", strerror(errno));
	int self = getpid();
	struct swp_discovered *v = NULL;
	size_t len = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(dir))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		if (!isdigit((unsigned char)de->d_name[0]) || *end || pid <= 0 || pid > INT32_MAX || pid == self)
			continue;
		if (len == cap) {
			cap = cap ? 2 * cap : 64;
			v = swp__xrealloc(v, cap * sizeof(*v));
		}
		int err = swp__proc_read((int)pid, &v[len]);
		if (err) {
			if (err != -ENOENT)
				swp_debug("discovery: skipping pid %ld: %s", pid, strerror(-err));
			swp__discovered_clear(&v[len]);
			continue;
		}
		if (match_rules(d, &v[len]))
			len++;
		else
			swp__discovered_clear(&v[len]);
	}
	closedir(dir);
	*out = v;
	*n = len;
	return 0;
}

/* ---- results ---- */

void swp__discovered_clear(struct swp_discovered *p)
{
	free(p->exe_path);
	free(p->exe_name);
	free(p->cmdline);
	free(p->service);
	free(p->instance);
	free(p->process);
	free(p->layer);
	for (size_t i = 0; i < p->n_labels; i++)
		free(p->labels[i]);
	free(p->labels);
	memset(p, 0, sizeof(*p));
	p->rule = -1;
}

void swp__discovered_free(struct swp_discovered *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		swp__discovered_clear(&v[i]);
	free(v);
}
