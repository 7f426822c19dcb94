/*
 * The agent's gRPC client on gRPC's C core: one channel to the backend, a completion queue
 * plucked by tag, unary calls and client streams of protobuf bytes the protocol code wrote. Every
 * call has a deadline; a call that fails answers its gRPC status and details.
 */
#include "agent/grpc.h"

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <pthread.h>
#include <stdlib.h>

struct swp_grpc {
	grpc_channel *channel;
	grpc_completion_queue *cq;
	char *target;
	char *token;
	grpc_metadata md;
	bool wait_for_ready;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_grpc(void)
{
	grpc_init(); /* for the process's life: the agent is the process */
}

int swp__grpc_open(const char *target, const char *token, struct swp_grpc **out)
{
	pthread_once(&init_once, init_grpc);
	struct swp_grpc *g = swp__xcalloc(1, sizeof(*g));
	g->target = swp__xstrdup(target);
	if (token && *token) {
		g->token = swp__xstrdup(token);
		g->md.key = grpc_slice_from_static_string("authentication");
		g->md.value = grpc_slice_from_static_string(g->token);
	}
	/* reconnect quickly after an outage (1 s, growing up to 5 s), keep idle connections checked */
	grpc_arg args[] = {
		{.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, .value.integer = 1000},
		{.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, .value.integer = 5000},
		{.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_KEEPALIVE_TIME_MS, .value.integer = 30000},
		{.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, .value.integer = 16 << 20},
	};
	grpc_channel_args ca = {.num_args = SWP_ARRAY_SIZE(args), .args = args};
	grpc_channel_credentials *creds = grpc_insecure_credentials_create();
	g->channel = grpc_channel_create(target, creds, &ca);
	grpc_channel_credentials_release(creds);
	g->cq = grpc_completion_queue_create_for_pluck(NULL);
	if (!g->channel || !g->cq) {
		swp__grpc_close(g);
		return swp__fail(EINVAL, "cannot make a gRPC channel to %s", target);
	}
	*out = g;
	return 0;
}

void swp__grpc_close(struct swp_grpc *g)
{
	if (!g)
		return;
	if (g->channel)
		grpc_channel_destroy(g->channel);
	if (g->cq) {
		grpc_completion_queue_shutdown(g->cq);
		grpc_completion_queue_destroy(g->cq);
	}
	free(g->target);
	free(g->token);
	free(g);
}

void swp__grpc_wait_for_ready(struct swp_grpc *g, bool wait)
{
	g->wait_for_ready = wait;
}

static gpr_timespec deadline_in(int ms)
{
	return gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_millis(ms, GPR_TIMESPAN));
}

/* Runs a batch and waits for it; returns whether it succeeded. */
static const char *status_name(grpc_status_code c)
{
	static const char *const names[] = {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
					    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
					    "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL",
					    "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};
	return c >= 0 && (size_t)c < SWP_ARRAY_SIZE(names) ? names[c] : "?";
}

static bool run(struct swp_grpc *g, grpc_call *call, const grpc_op *ops, size_t n, void *tag)
{
	if (grpc_call_start_batch(call, ops, n, tag, NULL) != GRPC_CALL_OK)
		return false;
	grpc_event ev = grpc_completion_queue_pluck(g->cq, tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	return ev.type == GRPC_OP_COMPLETE && ev.success;
}

static grpc_byte_buffer *buffer_of(const void *p, size_t n)
{
	grpc_slice s = grpc_slice_from_copied_buffer(p, n);
	grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
	grpc_slice_unref(s);
	return bb;
}

static void bytes_of(grpc_byte_buffer *bb, struct swp_buf *out)
{
	swp__buf_reset(out);
	if (!bb)
		return;
	grpc_byte_buffer_reader r;
	if (grpc_byte_buffer_reader_init(&r, bb)) {
		grpc_slice all = grpc_byte_buffer_reader_readall(&r);
		swp__buf_put(out, GRPC_SLICE_START_PTR(all), GRPC_SLICE_LENGTH(all));
		grpc_slice_unref(all);
		grpc_byte_buffer_reader_destroy(&r);
	}
}

/* The end of a call: close from the client, read the answer, then the status, each its own batch
 * (on a broken call the first two fail; the status always comes). */
static int finish(struct swp_grpc *g, grpc_call *call, const char *method, struct swp_buf *out)
{
	grpc_metadata_array initial, trailing;
	grpc_metadata_array_init(&initial);
	grpc_metadata_array_init(&trailing);
	grpc_byte_buffer *answer = NULL;
	grpc_status_code status = GRPC_STATUS_UNKNOWN;
	grpc_slice details = grpc_empty_slice();
	grpc_op op;
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	run(g, call, &op, 1, (void *)2);
	grpc_op recv[2];
	memset(recv, 0, sizeof(recv));
	recv[0].op = GRPC_OP_RECV_INITIAL_METADATA;
	recv[0].data.recv_initial_metadata.recv_initial_metadata = &initial;
	recv[1].op = GRPC_OP_RECV_MESSAGE;
	recv[1].data.recv_message.recv_message = &answer;
	run(g, call, recv, 2, (void *)3);
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	op.data.recv_status_on_client.trailing_metadata = &trailing;
	op.data.recv_status_on_client.status = &status;
	op.data.recv_status_on_client.status_details = &details;
	bool done = run(g, call, &op, 1, (void *)4);
	int r = 0;
	if (!done) {
		r = swp__fail(EIO, "%s on %s: the call broke", method, g->target);
	} else if (status != GRPC_STATUS_OK) {
		char *why = grpc_slice_to_c_string(details);
		r = swp__fail(status == GRPC_STATUS_UNAVAILABLE || status == GRPC_STATUS_DEADLINE_EXCEEDED ? EAGAIN
			      : status == GRPC_STATUS_UNIMPLEMENTED ? ENOSYS
			      : status == GRPC_STATUS_NOT_FOUND ? ENOENT
			      : EPROTO,
			      "%s on %s: gRPC status %s (%d)%s%s", method, g->target, status_name(status), (int)status,
			      *why ? ": " : "", why);
		gpr_free(why);
	} else if (!answer) {
		r = swp__fail(EPROTO, "%s on %s: no answer", method, g->target);
	} else {
		bytes_of(answer, out);
	}
	if (answer)
		grpc_byte_buffer_destroy(answer);
	grpc_slice_unref(details);
	grpc_metadata_array_destroy(&initial);
	grpc_metadata_array_destroy(&trailing);
	return r;
}

/* The call's first op: its metadata (the token), and whether it waits for the channel. */
static void initial_metadata(struct swp_grpc *g, grpc_op *op)
{
	op->op = GRPC_OP_SEND_INITIAL_METADATA;
	if (g->token) {
		op->data.send_initial_metadata.count = 1;
		op->data.send_initial_metadata.metadata = &g->md;
	}
	op->flags = GRPC_INITIAL_METADATA_WAIT_FOR_READY_EXPLICITLY_SET |
		    (g->wait_for_ready ? GRPC_INITIAL_METADATA_WAIT_FOR_READY : 0);
}

static grpc_call *new_call(struct swp_grpc *g, const char *method, int timeout_ms)
{
	return grpc_channel_create_call(g->channel, NULL, GRPC_PROPAGATE_DEFAULTS, g->cq, grpc_slice_from_static_string(method),
					NULL, deadline_in(timeout_ms), NULL);
}

int swp__grpc_unary(struct swp_grpc *g, const char *method, const void *req, size_t len, int timeout_ms,
		    struct swp_buf *out)
{
	grpc_call *call = new_call(g, method, timeout_ms);
	if (!call)
		return swp__fail(EIO, "%s on %s: cannot start a call", method, g->target);
	grpc_byte_buffer *bb = buffer_of(req, len);
	grpc_op ops[2];
	memset(ops, 0, sizeof(ops));
	initial_metadata(g, &ops[0]);
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = bb;
	run(g, call, ops, 2, (void *)1); /* a failure shows in the status */
	int r = finish(g, call, method, out);
	grpc_byte_buffer_destroy(bb);
	grpc_call_unref(call);
	return r;
}

int swp__grpc_stream(struct swp_grpc *g, const char *method, const struct swp_buf *msgs, size_t n, int timeout_ms,
		     struct swp_buf *out)
{
	grpc_call *call = new_call(g, method, timeout_ms);
	if (!call)
		return swp__fail(EIO, "%s on %s: cannot start a call", method, g->target);
	grpc_op op;
	memset(&op, 0, sizeof(op));
	initial_metadata(g, &op);
	bool ok = run(g, call, &op, 1, (void *)1);
	/* one send in flight at a time: each waits for the last */
	for (size_t i = 0; ok && i < n; i++) {
		grpc_byte_buffer *bb = buffer_of(msgs[i].data, msgs[i].len);
		memset(&op, 0, sizeof(op));
		op.op = GRPC_OP_SEND_MESSAGE;
		op.data.send_message.send_message = bb;
		ok = run(g, call, &op, 1, (void *)1);
		grpc_byte_buffer_destroy(bb);
	}
	int r = finish(g, call, method, out);
	grpc_call_unref(call);
	return r;
}
