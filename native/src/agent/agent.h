/*
 * `swprof agent`: the core as a SkyWalking eBPF agent (docs/protocol.md §6). It discovers this
 * host's processes with the same rules as the server, reports them to a backend (the swprof
 * server, or an OAP with or without the swprof module) and keeps them alive, polls the backend
 * for tasks, profiles and symbolizes here, and streams each flush's stack pairs to the backend.
 * It keeps nothing on disk: while the backend is away it buffers up to buffer_bytes of flushed
 * blocks, drops the oldest first past that (counted per process and reported to the backend with
 * the process), and sends what it kept once the backend answers again.
 */
#ifndef SWP_AGENT_H
#define SWP_AGENT_H

#include "swprof/swprof.h"

struct swp_agent_config {
	size_t sz;
	const char *backend;        /* host:port of the backend's gRPC (SkyWalking's 11800); required */
	const char *agent_id;       /* the agent's id (ebpfAgentID); NULL = "swprof-agent@<host name>" */
	const struct swp_rule *rules;
	size_t n_rules;
	int frequency;              /* Hz; 0 = 99 */
	int flush_ms;               /* 0 = 1000: how often stacks go out */
	int scan_ms;                /* 0 = 5000 */
	int64_t min_age_ms;         /* as swp_config; 0 = 3 s, < 0 = at once */
	int heartbeat_ms;           /* keep-alives; 0 = 20000 (Rover's) */
	int poll_ms;                /* task queries; 0 = 10000 (Rover's) */
	uint64_t buffer_bytes;      /* what it holds while the backend is away; 0 = 32 MiB */
	const char *host_ip;        /* NULL = detected */
	const char *host_name;      /* the instance name; NULL = the host name */
	const char *token;          /* sent as the gRPC metadata "authentication" (OAP's); NULL = none */
	const char *unwind;         /* ON_CPU: fp, dwarf or auto (NULL) (swp_config's unwind) */
	uint32_t ustack_bytes;      /* 0 = 16384 */
};

/* What an agent did (swp_agent_run fills it when stats is not NULL). */
struct swp_agent_stats {
	uint64_t reports, keep_alives, queries, streams, messages, bytes_sent;
	uint64_t samples_sent, samples_dropped, failures;
	uint64_t tasks;             /* tasks the backend handed out and the agent ran */
};

/* Runs until *stop is set (SIGTERM): then flushes once more and sends what it holds (for a few
 * seconds at most). Returns 0, or -errno when it cannot start (no BPF, a bad backend address). */
int swp_agent_run(const struct swp_agent_config *cfg, volatile int *stop, struct swp_agent_stats *stats);

#endif
