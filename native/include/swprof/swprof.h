/*
 * swprof — public C API of the native core.
 *
 * One `swp_core` owns a data directory (embedded RocksDB), the process registry, the task
 * scheduler and, when profiling is enabled, the eBPF on-CPU profiler. Every query returns one
 * JSON document in a caller-owned `swp_buf`, shaped exactly as the GraphQL field of the same
 * name answers it, so a host (the CLI, the JNI shim) crosses once per field.
 *
 * Conventions: functions return 0 or a negative errno; a failure leaves a one-line reason in
 * swp_last_error() (thread-local). Strings are UTF-8 and NUL-terminated. Every options struct
 * begins with `size_t sz` (set it to sizeof the struct) so the API can grow.
 * All functions on one core are safe to call from several threads at once.
 */
#ifndef SWPROF_SWPROF_H
#define SWPROF_SWPROF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SWP_API __attribute__((visibility("default")))

/* Version of the on-disk format this build reads and writes. */
#define SWP_STORE_FORMAT 1

typedef struct swp_core swp_core;

/* ---- errors and logging ------------------------------------------------------------------ */

/* The reason of the last failure in this thread (never NULL; "" when none). */
SWP_API const char *swp_last_error(void);
/* Text of a negative errno returned by this library. */
SWP_API const char *swp_strerror(int err);

enum swp_log_level { SWP_LOG_DEBUG = 0, SWP_LOG_INFO = 1, SWP_LOG_WARN = 2, SWP_LOG_ERROR = 3 };
typedef void (*swp_log_fn)(int level, const char *msg, void *ctx);
/* The library never prints; it calls this (process-wide, may be called from any thread). */
SWP_API void swp_set_log(swp_log_fn fn, void *ctx, int min_level);

/* ---- growable result buffer --------------------------------------------------------------- */

struct swp_buf {
	char *data; /* NUL-terminated JSON (or text) once a call succeeds */
	size_t len; /* bytes used, without the NUL */
	size_t cap; /* bytes allocated */
};
SWP_API void swp_buf_free(struct swp_buf *b);

/* ---- opening a core ------------------------------------------------------------------------ */

/* A discovery rule: a process whose full command line matches `cmd_regex` (POSIX extended)
 * is registered as a process of `service`. Templates may use {exe} (executable base name),
 * {pid}, and {1}..{9} (regex groups). */
struct swp_rule {
	size_t sz;
	const char *cmd_regex;
	const char *service;        /* template; required */
	const char *instance;       /* template; NULL = host name */
	const char *process;        /* template; NULL = "{exe}" */
	const char *layer;          /* NULL = "OS_LINUX" */
	const char *const *labels;  /* NULL-terminated; NULL or empty = { process name } */
};

/* Who runs the tasks of a core's local processes. A task that nothing would run (its window is
 * over; or profiling is off and no agent reports its processes) is refused when it is created. */
enum swp_profiling {
	SWP_PROFILING_OFF = 0,       /* nobody: serve stored data (and agents' processes) only */
	SWP_PROFILING_ON = 1,        /* this core: the scheduler thread and the BPF profiler */
	SWP_PROFILING_ELSEWHERE = 2, /* another process on the same data directory (`swprof run`), or
					imports: this core only manages the store (the CLI, tools) */
};

struct swp_config {
	size_t sz;
	const char *data_dir;          /* required; created if missing */
	int frequency;                 /* sampling Hz, 1..1000; 0 = 99 */
	int flush_interval_ms;         /* 0 = 1000 */
	int scan_interval_ms;          /* process rescan; 0 = 5000, <0 = never rescan by itself */
	int profiling;                 /* enum swp_profiling */
	const struct swp_rule *rules;  /* discovery rules */
	size_t n_rules;
	const char *host_ip;           /* process attribute host_ip; NULL = detected */
	const char *host_name;         /* default instance name; NULL = gethostname() */
	uint64_t min_free_bytes;       /* free space the store leaves on its disk; 0 = 256 MiB */
	/* A process that has exited stays listed this long after it was last seen, then leaves the
	 * listings (tasks and schedules keep the processes they name); 0 = 10 minutes. */
	int64_t process_expire_ms;
	/* A process found by the rules is registered once it has run this long, so that short
	 * commands never become services; 0 = 3 s, < 0 = at once. */
	int64_t process_min_age_ms;
	/* A process an agent reports counts as running while the agent's reports or keep-alives come
	 * at least this often; 0 = 60 s (SkyWalking Rover sends one every 20 s). */
	int64_t agent_timeout_ms;
	/* ON_CPU tasks: how user stacks are walked, "fp", "dwarf" or "auto" (NULL) (swp_record_req's
	 * unwind), and the stack bytes copied per sample for the last two (0 = 16384) */
	const char *unwind;
	uint32_t ustack_bytes;
};

/* Opens (or creates) the store in cfg->data_dir. A store with another format is refused
 * (-EPROTO with the reason in swp_last_error()). With cfg->profiling the scheduler thread
 * starts: it rescans processes and runs tasks whose window is open. */
SWP_API int swp_core_open(const struct swp_config *cfg, swp_core **out);
/* Stops profiling (with a last flush), closes the store. NULL is accepted. */
SWP_API void swp_core_close(swp_core *core);

/* ---- processes (docs/protocol.md §2 and §5) ---------------------------------------------------- */

/* Rescans /proc now with the configured rules. */
SWP_API int swp_processes_rescan(swp_core *core);

/* Registers (or refreshes) one local process by pid with explicit names, as a rule would.
 * Writes the process JSON object to out (out may be NULL). */
struct swp_process_spec {
	size_t sz;
	int pid;
	const char *service;
	const char *instance;    /* NULL = host name */
	const char *process;     /* NULL = executable base name */
	const char *layer;       /* NULL = OS_LINUX */
	const char *const *labels; /* NULL-terminated; NULL = { process name } */
};
SWP_API int swp_process_register(swp_core *core, const struct swp_process_spec *spec, struct swp_buf *out);

/* [{id,name,group,shortName,layers,normal}] of services, optionally only those of `layer`. */
SWP_API int swp_services_json(swp_core *core, const char *layer, struct swp_buf *out);
/*
 * Listings show the processes that are running, and those that exited less than
 * process_expire_ms ago; with a time range (start_ms, end_ms, both ms; both 0 = none) they show
 * the processes that ran at some time in it instead. A service or instance is listed when one of
 * its processes is.
 */
/* [{id,name,attributes,language,instanceUUID,layer}] of a service's instances. */
SWP_API int swp_instances_json(swp_core *core, const char *service_id, int64_t start_ms, int64_t end_ms,
			       struct swp_buf *out);
/* [process] filtered by any non-NULL, non-empty argument. */
SWP_API int swp_processes_json(swp_core *core, const char *service_id, const char *instance_id,
			       const char *process_id, int64_t start_ms, int64_t end_ms, struct swp_buf *out);
/* One process object, or `null` when unknown (a process that left the listings is still known
 * while a task or schedule names it). */
SWP_API int swp_process_json(swp_core *core, const char *process_id, struct swp_buf *out);

/* ---- tasks and schedules ------------------------------------------------------------------ */

/* Both generations of createEBPFProfilingFixedTimeTask. has_* flags say which input fields the
 * request carried (GraphQL absent vs present). Answers {"status","errorReason","id"}; a
 * rejected request is not an error of the call (returns 0 with status false). */
struct swp_task_create {
	size_t sz;
	int has_finder;               /* seed: processFinder present */
	const char *finder_type;      /* seed: "PROCESS_ID" or NULL */
	const char *process_id;       /* seed */
	const char *service_id;       /* current */
	const char *const *labels;    /* current: NULL-terminated; NULL or empty = every process */
	int64_t start_time_ms;        /* <= 0 = now */
	int64_t duration_s;
	const char *target_type;      /* "ON_CPU", "OFF_CPU", "NETWORK"; NULL = absent */
	int64_t now_ms;               /* 0 = the clock; tests pin it */
};
SWP_API int swp_task_create(swp_core *core, const struct swp_task_create *req, struct swp_buf *out);

/* queryEBPFProfilingTasks for both generations; NULL or "" fields are absent. When no field at
 * all is given the call fails with -EINVAL "please provide the task condition". Newest first. */
struct swp_task_query {
	size_t sz;
	const char *service_id;
	const char *instance_id;
	const char *process_id;
	const char *finder_type;
	const char *const *targets;   /* NULL-terminated target types, NULL = any */
	const char *trigger_type;     /* "FIXED_TIME" or NULL */
	int64_t start_ms, end_ms;     /* tasks created in [start,end]; both 0 = any */
};
SWP_API int swp_tasks_json(swp_core *core, const struct swp_task_query *q, struct swp_buf *out);

/* queryPrepareCreateEBPFProfilingTaskData: {"couldProfiling":bool,"processLabels":[...]} for the
 * processes of a service (couldProfiling: the service has at least one process). */
SWP_API int swp_task_prepare_json(swp_core *core, const char *service_id, struct swp_buf *out);

/* Schedules of a task whose start lies in [start_ms, end_ms] (both 0 = all), newest first. */
SWP_API int swp_schedules_json(swp_core *core, const char *task_id, int64_t start_ms, int64_t end_ms,
			       struct swp_buf *out);

/* ---- analysis ------------------------------------------------------------------------------ */

struct swp_time_range {
	int64_t start_ms;
	int64_t end_ms; /* inclusive */
};

enum swp_aggregate { SWP_AGG_COUNT = 0, SWP_AGG_DURATION = 1 };

/* Either task_id (seed: every schedule of the task) or schedule_ids (current). Answers
 * {"tip":...,"trees":[{"elements":[{id,parentId,symbol,stackType,dumpCount}]}]}. */
struct swp_analyze_req {
	size_t sz;
	const char *task_id;
	const char *const *schedule_ids; /* NULL entries are skipped */
	size_t n_schedule_ids;
	const struct swp_time_range *ranges;
	size_t n_ranges;
	int aggregate; /* enum swp_aggregate */
	/* NULL or "json": the tree above; "folded" (collapsed stacks), "pprof" (a gzipped profile.proto),
	 * "speedscope" (its file format), "svg" or "html" (a flame graph) of the same stacks and counts */
	const char *format;
};
SWP_API int swp_analyze(swp_core *core, const struct swp_analyze_req *req, struct swp_buf *out);

/* What one analysis read and wrote (swp_analyze_ex). */
struct swp_analysis_info {
	size_t sz;
	uint64_t records;  /* (stack, count) entries read from the store */
	uint64_t samples;  /* samples in the trees */
	uint64_t stacks;   /* distinct stacks merged into the trees */
	uint64_t frames;   /* frames of those stacks: the steps of the merge */
	uint64_t elements; /* stack elements written */
	/* 1 when the JSON is canonical: no \u escape, strings in well-formed UTF-8 without characters
	 * above U+FFFF. Reading it with a JSON library and writing it back compactly (escapes \" \\
	 * \n \r \t only, UTF-8 as is; Jackson's defaults) gives the same bytes, so a host may pass it
	 * through instead of rebuilding it. */
	int canonical_json;
};
/* swp_analyze, and fills info when it is not NULL (info->sz = sizeof *info). The JSON is the same. */
SWP_API int swp_analyze_ex(swp_core *core, const struct swp_analyze_req *req, struct swp_buf *out,
			   struct swp_analysis_info *info);

/* Analysis of collapsed stacks (`a;b;c_[k] COUNT` per line) without a store: what
 * `swprof tree` prints. */
SWP_API int swp_analyze_folded(const char *text, size_t len, struct swp_buf *out);

/* ---- differential analysis ------------------------------------------------------------------ */

/* One side of a comparison: what swp_analyze_req selects (task_id, or schedule_ids, and time
 * ranges), or collapsed stacks (`folded` not NULL: `a;b;c_[k] COUNT` lines, no store read). */
struct swp_diff_side {
	size_t sz;
	const char *task_id;
	const char *const *schedule_ids; /* NULL entries are skipped */
	size_t n_schedule_ids;
	const struct swp_time_range *ranges;
	size_t n_ranges;
	const char *folded;
	size_t folded_len;
};

/*
 * diffEBPFProfilingAnalyzation: two analyses merged into one tree whose every element has both
 * sides' inclusive counts,
 *   {"tip":..,"trees":[{"elements":[{id,parentId,symbol,stackType,beforeCount,afterCount}]}]},
 * a frame present on one side only having 0 on the other; children ordered by afterCount, then
 * beforeCount (both descending), then symbol; ids as the analysis writes them. A side the analysis
 * would answer with a tip (no or bad time ranges, an unknown task or schedules) gives the tip
 * "before: <tip>" (or "after: ") and no trees; a side without samples the tip "the before side has
 * no samples" with the trees. Other formats: "folded" (Brendan Gregg's difffolded, `stack BEFORE
 * AFTER` lines, what flamegraph.pl reads) and "svg" (a red/blue differential flame graph: widths
 * by the after side, each frame red where its share of its side's total grew, blue where it
 * shrank; frames new in after are outlined, frames gone from it drawn with their before share,
 * dashed) and "html" (that SVG in a page with a search box); for them a tip or an empty side
 * fails (-ENOENT, -ENODATA) with the reason instead.
 * core may be NULL when both sides are collapsed stacks. info as swp_analyze_ex's (samples: the
 * after side's).
 */
struct swp_diff_req {
	size_t sz;
	const struct swp_diff_side *before;
	const struct swp_diff_side *after;
	int aggregate;      /* enum swp_aggregate, for both sides */
	const char *format; /* NULL or "json", "folded", "svg", "html" (the svg in a page with a search box) */
	const char *title;  /* of the svg; NULL = "before -> after" */
};
SWP_API int swp_analyze_diff(swp_core *core, const struct swp_diff_req *req, struct swp_buf *out,
			     struct swp_analysis_info *info);

/* ---- import -------------------------------------------------------------------------------- */

/* Imports collapsed stacks as samples of a new schedule of task_id on process_id (the task's
 * process when NULL), recorded at time_ms (0 = now). Answers {"scheduleId":..,"samples":..}. */
struct swp_import_req {
	size_t sz;
	const char *task_id;
	const char *process_id;
	int64_t time_ms;
	const char *text;
	size_t len;
};
SWP_API int swp_import_folded(swp_core *core, const struct swp_import_req *req, struct swp_buf *out);

/* ---- direct recording (no store) ----------------------------------------------------------- */

/* Profiles pid for duration_s at freq Hz and writes collapsed stacks (`format` "folded") or
 * the analysis JSON ("json") to out. Needs CAP_BPF/root. */
struct swp_record_req {
	size_t sz;
	int pid;
	int duration_s;
	int frequency;
	const char *format;
	volatile int *stop; /* optional: set to non-zero to end early */
	const char *target; /* "ON_CPU" (NULL) or "OFF_CPU": where its threads block */
	int aggregate;      /* OFF_CPU: enum swp_aggregate, switches or blocked ns per stack */
	/* optional: called after every drain (about once a second) with the time left, the samples (or
	 * switches) and the lost ones so far */
	void (*progress)(void *ctx, int64_t left_ms, uint64_t samples, uint64_t lost);
	void *progress_ctx;
	/* ON_CPU: how user stacks are walked: "fp" (frame pointers, by the kernel), "dwarf" (every
	 * sample unwound with the unwind tables over a copy of its stack) or "auto" (NULL: frame
	 * pointers while the code has them, DWARF from the first frame in code built without) */
	const char *unwind;
	uint32_t ustack_bytes; /* dwarf, auto: stack bytes copied per sample, 8192..65536; 0 = 16384 */
};
SWP_API int swp_record(const struct swp_record_req *req, struct swp_buf *out);

/* ---- SkyWalking's eBPF agent protocol, the backend's side (docs/protocol.md §6) -------------
 * A host's gRPC server (grpc-java in the server and the OAP module) hands every message over as
 * it came, protobuf bytes, and sends back the answer as the core wrote it: what the messages
 * mean is the core's. A request that does not decode or breaks a limit fails with -EINVAL (or
 * -E2BIG) and the reason, which the host answers with the gRPC status INVALID_ARGUMENT
 * (RESOURCE_EXHAUSTED); nothing of it is kept. */
enum swp_agent_call {
	SWP_AGENT_REPORT_PROCESSES = 1, /* EBPFProcessService.reportProcesses: EBPFProcessReportList ->
					   EBPFReportProcessDownstream */
	SWP_AGENT_KEEP_ALIVE = 2,       /* EBPFProcessService.keepAlive: EBPFProcessPingPkgList -> Commands */
	SWP_AGENT_QUERY_TASKS = 3,      /* EBPFProfilingService.queryTasks: EBPFProfilingTaskQuery -> Commands */
};
SWP_API int swp_agent_call(swp_core *core, int call, const void *req, size_t len, struct swp_buf *out);

/* EBPFProfilingService.collectProfilingData, a client stream of EBPFProfilingData messages: one
 * swp_data_stream per call, fed the messages as they come (a batch at a time), ended when the
 * client ends the stream (out: the answer, an empty Commands), freed in every case. A message
 * that does not decode, or names a task or process the core does not know, fails its feed
 * (-EINVAL, -ENOENT) with the reason: the host ends the call with that status. A stream takes in
 * whole blocks only (a task's metadata and the stack pairs after it): the blocks before a failure
 * are kept, a partial one is not, and a block sent again is counted once. A stream is not tied to
 * a core: free it whatever became of the core. */
typedef struct swp_data_stream swp_data_stream;
SWP_API swp_data_stream *swp_data_stream_open(void);
SWP_API int swp_data_stream_feed(swp_core *core, swp_data_stream *s, const void *const *msgs, const size_t *lens,
				 size_t n);
SWP_API int swp_data_stream_end(swp_core *core, swp_data_stream *s, struct swp_buf *out);
SWP_API void swp_data_stream_free(swp_data_stream *s);

/* The agent side's heartbeat, for a host that reports this core's own processes to a backend
 * in process (the OAP module reports them into OAP's metadata, through OAP's own receiver): call
 * it every second or so from one thread; it writes the message due now into out (reset first)
 * and returns its kind, or SWP_HEARTBEAT_NONE. Hand the message to the backend, then tell the
 * core how it went (ok, and the backend's answer: an EBPFReportProcessDownstream for a report);
 * swp_heartbeat_answered returns how many processes the backend newly took. `swprof agent` runs
 * the same heartbeat over gRPC. */
enum swp_heartbeat_kind {
	SWP_HEARTBEAT_NONE = 0,
	SWP_HEARTBEAT_REPORT = 1,     /* EBPFProcessService.reportProcesses: EBPFProcessReportList */
	SWP_HEARTBEAT_KEEP_ALIVE = 2, /* EBPFProcessService.keepAlive: EBPFProcessPingPkgList */
};
SWP_API int swp_heartbeat(swp_core *core, const char *agent_id, int beat_ms, struct swp_buf *out);
SWP_API int swp_heartbeat_answered(swp_core *core, int kind, int ok, const void *answer, size_t len);

/* Statistics of the running profiler as JSON (samples, lost stacks, flushes, targets). */
SWP_API int swp_core_stats_json(swp_core *core, struct swp_buf *out);

/* The uid of the caller this thread serves now (a Unix socket's peer), or -1 when none is known
 * (the default; root counts as none). While set, the thread's listings show only the processes
 * that uid could ptrace and the tasks it created, and the tasks it creates profile that uid's
 * processes only. Per thread: set it before a request, and -1 after. */
SWP_API void swp_caller_set(int uid);

#ifdef __cplusplus
}
#endif
#endif
