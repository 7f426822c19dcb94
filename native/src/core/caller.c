/*
 * Who asks (swprof.h, swp_caller_set): a transport that knows its caller's uid (the Unix socket's
 * peer credentials) sets it on the thread that serves the request, and what that thread reads and
 * creates is limited to what the uid could see with ptrace: the local processes all of whose uids
 * are the caller's and that are dumpable, and the tasks it created. Root, and every other thread
 * (the scheduler, the agents' calls, a server without a Unix socket), is unrestricted.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/core.h"

static __thread int caller_uid = -1;

SWP_API void swp_caller_set(int uid)
{
	caller_uid = uid < 0 ? -1 : uid;
}

int swp__caller(void)
{
	return caller_uid > 0 ? caller_uid : -1; /* root sees everything */
}

/* Could uid ptrace pid, as the kernel decides for a caller without capabilities: its real,
 * effective, saved and file-system uids are uid, and it is dumpable (a process that is not has its
 * /proc entry owned by root). */
bool swp__uid_may_trace(int uid, int pid)
{
	if (uid <= 0)
		return true; /* anyone's (root's) */
	char path[64], line[256];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d", pid);
	if (pid <= 0 || stat(path, &st) != 0 || st.st_uid != (uid_t)uid)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	bool ok = false;
	while (fgets(line, sizeof(line), f)) {
		unsigned r, e, s, fs;
		if (sscanf(line, "Uid: %u %u %u %u", &r, &e, &s, &fs) == 4) {
			ok = r == (unsigned)uid && e == (unsigned)uid && s == (unsigned)uid && fs == (unsigned)uid;
			break;
		}
	}
	fclose(f);
	return ok;
}

bool swp__caller_may_see(const struct swp_process *p)
{
	int uid = swp__caller();
	if (uid < 0)
		return true;
	if (p->agent_id)
		return false; /* another host's: not the local caller's */
	for (uint32_t i = 0; i < p->n_pids; i++)
		if (swp__uid_may_trace(uid, p->pids[i].pid))
			return true;
	return p->n_pids == 0 && p->pid > 0 && swp__uid_may_trace(uid, p->pid);
}

bool swp__caller_owns(const struct swp_task *t)
{
	int uid = swp__caller();
	return uid < 0 || t->owner_uid == uid;
}

/* A caller's task must have something of the caller's to profile: the process it names, or one
 * process of the service. */
bool swp__caller_may_profile(swp_core *c, const char *process_id, const char *service_id)
{
	if (swp__caller() < 0)
		return true;
	for (size_t i = 0; i < c->procs.n; i++) {
		const struct swp_process *p = c->procs.v[i];
		if ((process_id ? !strcmp(p->id, process_id) : service_id && !strcmp(p->service_id, service_id)) &&
		    swp__caller_may_see(p))
			return true;
	}
	return false;
}
