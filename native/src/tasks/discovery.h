/*
 * Process discovery: walks /proc and gives each process whose command line matches a rule
 * (struct swp_rule, POSIX extended regex) the service, instance, process name, layer and labels
 * the rule's templates produce. The first matching rule wins.
 *
 * Templates are literal text with these fields substituted:
 *   {exe}      base name of the executable: readlink /proc/PID/exe without " (deleted)";
 *              when unreadable, argv[0]'s base name, then /proc/PID/comm
 *   {pid}      the pid in decimal
 *   {1}..{9}   regex groups of the rule, "" when the group did not take part in the match
 * Anything else in braces, {0} included, is kept as it is.
 *
 * Defaults: instance -> the host name; process -> "{exe}"; layer -> "OS_LINUX"; no labels ->
 * one label, the process name. A template that expands to "" counts as absent, except the
 * service: a rule whose service expands to "" does not claim the process (the next rule may).
 *
 * A compiled swp_discovery is read-only: several threads may scan with it at once.
 */
#ifndef SWP_DISCOVERY_H
#define SWP_DISCOVERY_H

#include <regex.h>

#include "common/common.h"

#define SWP_CMDLINE_MAX (64 * 1024) /* longer command lines are cut here */

struct swp_discovered {
	int pid;
	int64_t start_ticks; /* /proc/PID/stat field 22 (clock ticks after boot): a new value under
				the same pid means the process was restarted */
	char *exe_path;      /* readlink /proc/PID/exe without " (deleted)"; "" when unreadable */
	char *exe_name;      /* what {exe} expands to; "" only if nothing was readable */
	char *cmdline;       /* argv joined by single spaces; "" for kernel threads and zombies */
	/* set by a rule (NULL after swp__proc_read): */
	char *service;
	char *instance;
	char *process;
	char *layer;
	char **labels;       /* n_labels >= 1 strings */
	size_t n_labels;
	int rule;            /* index of the matching rule; -1 when none */
};

struct swp_discovery;

/* Compiles the rules (copied; the caller's may go away). host_name NULL = gethostname().
 * A bad regex or a rule without a service fails with -EINVAL and a reason naming the rule.
 * Fields beyond a rule's sz are taken as NULL; sz 0 is read as sizeof(struct swp_rule). */
int swp__discovery_new(const struct swp_rule *rules, size_t n, const char *host_name, struct swp_discovery **out);
void swp__discovery_free(struct swp_discovery *d);
const char *swp__discovery_host_name(const struct swp_discovery *d);

/* Every matching process but the caller itself; kernel threads, zombies and processes that
 * vanish during the walk are left out. *out is freed with swp__discovered_free(*out, *n). */
int swp__discovery_scan(struct swp_discovery *d, struct swp_discovered **out, size_t *n);
/* One pid: 0, or -ENOENT when it is gone or no rule matches. Free with swp__discovered_clear. */
int swp__discovery_match_pid(struct swp_discovery *d, int pid, struct swp_discovered *out);

/* Reads pid, start_ticks, exe_path, exe_name and cmdline, no rules (explicit registration).
 * -ENOENT when the process does not exist (or vanished while being read). */
int swp__proc_read(int pid, struct swp_discovered *out);

/* Appends tmpl expanded for p to out. m holds 10 matches of a regex run on cmdline (m[0] the
 * whole match); m NULL = no groups. Returns 0, or -EINVAL for a NULL template. */
int swp__expand_template(const char *tmpl, const struct swp_discovered *p, const regmatch_t *m, const char *cmdline,
			 struct swp_buf *out);

/* How long ago (ms) a process with this start_ticks started, by the boot clock. */
int64_t swp__proc_age_ms(int64_t start_ticks);

/* Frees the strings of one entry and zeroes it. */
void swp__discovered_clear(struct swp_discovered *p);
/* Clears n entries and frees the array. */
void swp__discovered_free(struct swp_discovered *v, size_t n);

#endif
