/* The agent's gRPC client (grpc.c): gRPC's C core, protobuf bytes in and out. */
#ifndef SWP_AGENT_GRPC_H
#define SWP_AGENT_GRPC_H

#include "common/common.h"

struct swp_grpc;

/* A channel to target (host:port); it connects when a call needs it and reconnects by itself. */
/* token: sent on every call as the metadata "authentication", as OAP's agents send theirs; NULL = none */
int swp__grpc_open(const char *target, const char *token, struct swp_grpc **out);
void swp__grpc_close(struct swp_grpc *g);
/* wait: calls wait (up to their deadline) for the channel to connect instead of failing at once
 * while it is down: for an outage already reported, so a call goes through as soon as the backend
 * is back. Off (the default), a call to an unreachable backend fails at once saying why. */
void swp__grpc_wait_for_ready(struct swp_grpc *g, bool wait);

/* A unary call of method (/package.Service/method): the answer's bytes in out. Fails with
 * -EAGAIN (unavailable, deadline: try again later), -ENOSYS (unimplemented), -ENOENT, -EPROTO
 * (another status) or -EIO, the reason naming the status and its details. */
int swp__grpc_unary(struct swp_grpc *g, const char *method, const void *req, size_t len, int timeout_ms,
		    struct swp_buf *out);
/* A client stream: the n messages in order, then the answer (as swp__grpc_unary). */
int swp__grpc_stream(struct swp_grpc *g, const char *method, const struct swp_buf *msgs, size_t n, int timeout_ms,
		     struct swp_buf *out);

#endif
