/* The agent's half of the agent protocol (agent.c): messages to a backend and its answers. */
#ifndef SWP_PROTOCOL_AGENT_H
#define SWP_PROTOCOL_AGENT_H

#include "protocol/protocol.h"

/* the property an agent reports its dropped samples in */
#define SWP_DROPPED_PROPERTY "swprof_dropped_samples"

/* EBPFProcessReportList of the agent's running processes (all, or those the backend has not
 * taken yet) into out; returns how many. */
size_t swp__agent_report(swp_core *c, const char *agent_id, bool all, int64_t now, struct swp_buf *out);
/* Reads a report's answer: the processes it names are taken (*taken: how many newly). */
int swp__agent_report_answer(swp_core *c, const void *msg, size_t len, size_t *taken);
/* EBPFProcessPingPkgList of the processes the backend took; returns how many. */
size_t swp__agent_ping(swp_core *c, const char *agent_id, struct swp_buf *out);
/* Does a running process wait for its first report? */
bool swp__agent_unreported(swp_core *c);
/* A new backend session (the backend restarted, or another one): report everything again. */
void swp__agent_forget_acks(swp_core *c);
/* The metadata message about this core's own processes due at mono_now (ms), into out: a report
 * of those the backend has not taken at once, of all of them every 10th beat (as Rover), else a
 * keep-alive every beat_ms; SWP_HEARTBEAT_NONE when nothing is due (*n: the processes it holds). */
int swp__heartbeat(swp_core *c, const char *agent_id, int64_t mono_now, int beat_ms, struct swp_buf *out, size_t *n);
/* What became of it: ok = the backend answered (answer: its reply). Returns how many processes
 * the backend newly took (a report), or -errno when the answer does not decode. */
int swp__heartbeat_answered(swp_core *c, int kind, bool ok, const void *answer, size_t len);
/* A new backend session (it restarted, or came back): everything is reported again, at once. */
void swp__heartbeat_reset(swp_core *c);
/* EBPFProfilingTaskQuery into out. */
void swp__agent_query(const char *agent_id, int64_t latest_update_ms, struct swp_buf *out);
/* Reads queryTasks' Commands into the core's tasks; *latest_update_ms moves to the newest
 * command read, *tasks counts the tasks it made or renewed. */
int swp__agent_commands(swp_core *c, const void *msg, size_t len, int64_t *latest_update_ms, size_t *tasks);

/* A flushed block as the messages of a data stream: what the agent buffers, sends, or drops
 * whole. */
struct swp_agent_unit {
	struct swp_buf *msgs; /* EBPFProfilingData messages, the first with the task */
	size_t n, cap;
	size_t bytes;
	uint64_t samples;     /* what the block holds: counted as dropped when it is */
	char *process_id;
};
/* Encodes a flushed block (mu held: the core's sink). */
int swp__agent_block(swp_core *c, const struct swp_pending_block *blk, struct swp_agent_unit *u);
void swp__agent_unit_free(struct swp_agent_unit *u);

#endif
