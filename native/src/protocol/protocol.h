/*
 * SkyWalking's eBPF agent protocol (package skywalking.v3, docs/protocol.md §6), both ends. The
 * messages are the protobuf-c code generated in the build from the .proto files of the Maven
 * artifact org.apache.skywalking:apm-network (build/proto/); this folder gives them meaning.
 *
 *   backend.c  what a backend answers agents: processes into the registry, tasks out as
 *              Commands, data streams into the pending blocks (one path with local samples)
 *   agent.c    what an agent sends: its processes, its keep-alives, its task query; the
 *              Commands it reads into tasks; its flushed blocks as EBPFProfilingData messages
 *
 * The gRPC transport is the host's: grpc-java in the server and the OAP module (bytes in, bytes
 * out through the public API), gRPC's C core in `swprof agent` (native/src/agent/).
 */
#ifndef SWP_PROTOCOL_H
#define SWP_PROTOCOL_H

#include "core/core.h"

/* The command of a task, as OAP writes it (EBPFProfilingTaskCommand). */
#define SWP_TASK_COMMAND "EBPFProfilingTaskQuery"

/* Limits on what one message may carry: a message past them is refused whole. */
#define SWP_PROTO_MAX_PROCESSES 10000  /* processes per report or keep-alive */
#define SWP_PROTO_MAX_NAME 1024        /* bytes of a service, instance, process, layer, label */
#define SWP_PROTO_MAX_LABELS 64
#define SWP_PROTO_MAX_PROPS 64
#define SWP_PROTO_MAX_VALUE (64 * 1024) /* bytes of a property value (a command line) */
#define SWP_PROTO_MAX_SYMBOLS 1024     /* frames of one stack */
#define SWP_PROTO_MAX_SYMBOL 4096      /* bytes of one symbol */

/* backend.c */
int swp__proto_report(swp_core *c, const uint8_t *req, size_t len, struct swp_buf *out);
int swp__proto_keep_alive(swp_core *c, const uint8_t *req, size_t len, struct swp_buf *out);
int swp__proto_query_tasks(swp_core *c, const uint8_t *req, size_t len, struct swp_buf *out);

#endif
