/*
 * The bookkeeping records: processes, tasks and schedules, their store encoding and their JSON
 * (field names are the GraphQL field names of docs/protocol.md).
 */
#ifndef SWP_MODEL_H
#define SWP_MODEL_H

#include "common/common.h"

/* A process of the registry (docs/protocol.md §2). Its id is derived from its names, so a restarted
 * program keeps its id and gets its new pid. */
struct swp_process {
	char *id;            /* sha256 hex of "<name>_<instance id>" */
	char *name;
	char *service, *service_id;
	char *instance, *instance_id;
	char *layer;         /* OS_LINUX unless a rule says otherwise */
	char *host_ip;
	char *cmdline;
	char **labels;
	uint32_t n_labels;
	int pid;             /* 0 when not running (anymore) */
	int64_t start_ticks; /* /proc/PID/stat starttime of that pid: a reused pid is another process */
	/* Every live pid the last scan matched to this process (memory only; local processes): the
	 * processes of one name on one instance are one process entity, as OAP has them (its id is
	 * made of the names, docs/protocol.md §2): a forked child, a pre-fork pool's workers, a second
	 * instance of the program. Each is profiled, into the entity's schedule. pid above is the
	 * oldest of them, the one the listing shows. */
	struct swp_pidref {
		int pid;
		int64_t start_ticks;
		int64_t seen_ms;
		bool registered; /* by swp_process_register: kept while it lives, whatever the rules match */
	} *pids;
	uint32_t n_pids, cap_pids;
	int64_t seen_ms;     /* last time a scan saw it running */
	int64_t first_seen_ms; /* when it was registered (0 in records written before it was kept) */
	int64_t saved_seen_ms; /* seen_ms as last written to the store (not persisted itself) */
	/* A process an agent reports (SkyWalking Rover, `swprof agent`) rather than one this host's
	 * discovery found: its agent's id (NULL = local), and the properties the agent reported
	 * (host_ip, pid, command_line are kept in the fields above). seen_ms is the agent's last
	 * report or keep-alive; pid is its pid on the agent's host. */
	char *agent_id;
	char **prop_keys, **prop_vals;
	uint32_t n_props;
	char *detect_type;     /* VM (host processes), KUBERNETES; NULL = VM */
	/* In an agent (memory only): whether the backend took the process (its report's answer named
	 * it), when it was last reported, and the samples the agent dropped for it (its buffer was full
	 * while the backend was away), which its reports carry. */
	bool acked;
	int64_t reported_ms;
	uint64_t dropped;
};

/* A FIXED_TIME task: on one process (seed) or on every process of a service carrying all the
 * labels (current protocol). */
struct swp_task {
	uint64_t id;
	char *ext_id;        /* an agent's task: the backend's id (not stored; NULL = the id's text) */
	int64_t update_ms;   /* an agent's task: the backend's TaskUpdateTime */
	int64_t create_ms;
	int64_t start_ms;    /* resolved: a request's <= 0 became the creation time */
	int64_t duration_s;
	char *target;        /* ON_CPU */
	char *process_id;    /* seed tasks; NULL for service tasks */
	char *service_id, *service;
	char *instance_id, *instance; /* seed tasks */
	char *process_name;           /* seed tasks */
	char **labels;                /* service tasks: required labels (none = every process) */
	uint32_t n_labels;
	int owner_uid;                /* made through the Unix socket by this uid: it profiles that uid's
				       * processes only, and only that uid sees it; -1 = anyone's */
};

/* The runs of a task on one process: start = profiling began, end = last flush. A process that
 * restarts during the task, or a core that restarts, goes on in the same schedule, so one schedule
 * (and the time range it spans) covers all of the task's samples of that process. */
struct swp_schedule {
	uint64_t id;
	uint64_t task_id;
	char *process_id;
	int pid;            /* the latest run's pid */
	int64_t start_ms, end_ms;
	uint64_t samples;   /* samples recorded */
	uint64_t lost;      /* samples lost: in the kernel (stack or count map full), by an agent, or in a
			     * write outage (dropped past its bound, or still unwritten when swprof died) */
	uint64_t incomplete; /* DWARF/AUTO samples whose user stack was unwound only in part (kept as far
			      * as it went) */
	uint64_t unwritten; /* samples held in memory that a write outage keeps from the store; stored
			     * as a note, so a swprof killed meanwhile counts them lost at its restart */
	/* an agent's schedule: the report times (currentTime) of its last blocks taken in, so a block
	 * sent again (the agent did not hear the answer) is not counted twice (memory only) */
	int64_t recent[16];
	uint32_t n_recent;
};

void swp__process_encode(const struct swp_process *p, struct swp_buf *out);
int swp__process_decode(const uint8_t *v, size_t n, struct swp_process *p);
void swp__process_free(struct swp_process *p);
/* a scan matched pid to p (added, or refreshed); drop: it left (returns whether it was there) */
void swp__process_pid_seen(struct swp_process *p, int pid, int64_t start_ticks, int64_t now);
bool swp__process_pid_drop(struct swp_process *p, int pid);
bool swp__process_has_pid(const struct swp_process *p, int pid);
void swp__process_json(const struct swp_process *p, struct swp_buf *out);

void swp__task_encode(const struct swp_task *t, struct swp_buf *out);
int swp__task_decode(const uint8_t *v, size_t n, struct swp_task *t);
void swp__task_free(struct swp_task *t);
void swp__task_json(const struct swp_task *t, struct swp_buf *out);
int64_t swp__task_end_ms(const struct swp_task *t);

void swp__schedule_encode(const struct swp_schedule *s, struct swp_buf *out);
int swp__schedule_decode(const uint8_t *v, size_t n, struct swp_schedule *s);
void swp__schedule_free(struct swp_schedule *s);
/* process may be NULL (unknown): "process" is then null */
void swp__schedule_json(const struct swp_schedule *s, const struct swp_process *process, struct swp_buf *out);

/* copies of a NULL-terminated list, or of the first k strings; the copy is NULL-terminated */
char **swp__strv_dup(const char *const *v, uint32_t *n);
char **swp__strv_dupn(const char *const *v, size_t k, uint32_t *n);
void swp__strv_free(char **v, uint32_t n);
bool swp__strv_has(char *const *v, uint32_t n, const char *s);

#endif
