/*
 * JNI glue between org.swprof.shim.SwprofCore and the public C API (swprof.h). Marshalling only:
 *
 *   Java String  -> byte[] (UTF-8, checked for NUL in Java) -> malloc'd NUL-terminated char *
 *   Java String[]-> byte[][]                                -> NULL-terminated char *[]
 *   struct swp_buf (JSON)                                   -> byte[] (Java decodes it as UTF-8)
 *   a negative return                                       -> SwprofException(swp_last_error(), errno)
 *
 * Strings cross as UTF-8 bytes, never through GetStringUTFChars/NewStringUTF: those use "modified UTF-8",
 * which would change the ids (base64/SHA-256 of the UTF-8 name) of names with characters outside the BMP.
 *
 * Natives are bound with RegisterNatives in JNI_OnLoad, so a signature that does not match the Java side
 * fails the System.load (UnsatisfiedLinkError) instead of the first call. Class and method ids are cached
 * there and released in JNI_OnUnload. After throwing, every function returns at once.
 */
#include <errno.h>
#include <jni.h>
#include <pthread.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "swprof/swprof.h"

#define CORE_CLASS "org/swprof/shim/SwprofCore"
#define EXC_CLASS  "org/swprof/shim/SwprofException"

static JavaVM *g_vm;
static jclass g_core_class;    /* SwprofCore (global ref) */
static jclass g_exc_class;     /* SwprofException (global ref) */
static jclass g_iae_class;     /* IllegalArgumentException */
static jclass g_ise_class;     /* IllegalStateException */
static jclass g_oom_class;     /* OutOfMemoryError */
static jmethodID g_exc_ctor;   /* SwprofException(String, int) */
static jmethodID g_log_method; /* static void SwprofCore.nativeLog(int, byte[]) */
static pthread_key_t g_detach_key;
static int g_detach_key_ok;

/* ---- exceptions ---------------------------------------------------------------------------- */

static void throw_class(JNIEnv *env, jclass cls, const char *msg)
{
	if ((*env)->ExceptionCheck(env))
		return;
	(*env)->ThrowNew(env, cls, msg);
}

static void throw_oom(JNIEnv *env)
{
	throw_class(env, g_oom_class, "swprof: native allocation failed");
}

/* SwprofException with the reason of the failed call; read swp_last_error() in the calling thread
 * right after the failure, before anything else can overwrite it. */
static void throw_swp(JNIEnv *env, int rc)
{
	if ((*env)->ExceptionCheck(env))
		return;
	const char *why = swp_last_error();
	if (!why || !*why)
		why = swp_strerror(rc);
	if (!why)
		why = "swprof: unknown error";
	/* the reason is C text (UTF-8); a String from modified UTF-8 is exact for it unless it carries
	 * characters outside the BMP, so build it from bytes in Java's constructor instead */
	size_t len = strlen(why);
	jbyteArray bytes = (*env)->NewByteArray(env, (jsize)len);
	if (!bytes)
		return; /* OutOfMemoryError pending */
	(*env)->SetByteArrayRegion(env, bytes, 0, (jsize)len, (const jbyte *)why);
	jthrowable exc = (jthrowable)(*env)->NewObject(env, g_exc_class, g_exc_ctor, bytes, (jint)(rc < 0 ? -rc : rc));
	(*env)->DeleteLocalRef(env, bytes);
	if (exc) {
		(*env)->Throw(env, exc);
		(*env)->DeleteLocalRef(env, exc);
	}
}

/* ---- a per-call arena of C strings ----------------------------------------------------------- */

struct arena {
	void **ptrs;
	size_t n, cap;
};

static void *arena_alloc(JNIEnv *env, struct arena *a, size_t size)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;
		void **p = realloc(a->ptrs, cap * sizeof(*p));
		if (!p) {
			throw_oom(env);
			return NULL;
		}
		a->ptrs = p;
		a->cap = cap;
	}
	void *m = calloc(1, size ? size : 1);
	if (!m) {
		throw_oom(env);
		return NULL;
	}
	a->ptrs[a->n++] = m;
	return m;
}

static void arena_free(struct arena *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->ptrs[i]);
	free(a->ptrs);
	a->ptrs = NULL;
	a->n = a->cap = 0;
}

/* byte[] (UTF-8 without NUL) -> NUL-terminated copy; NULL array -> NULL. *ok is sticky: a failure
 * clears it (with a Java exception pending), and a call with *ok already 0 does nothing, so a
 * caller converts every argument and checks once. */
static const char *str_of(JNIEnv *env, struct arena *a, jbyteArray arr, int *ok)
{
	if (!*ok || !arr)
		return NULL;
	jsize len = (*env)->GetArrayLength(env, arr);
	char *s = arena_alloc(env, a, (size_t)len + 1);
	if (!s) {
		*ok = 0;
		return NULL;
	}
	(*env)->GetByteArrayRegion(env, arr, 0, len, (jbyte *)s);
	if ((*env)->ExceptionCheck(env)) {
		*ok = 0;
		return NULL;
	}
	if (memchr(s, 0, (size_t)len)) {
		throw_class(env, g_iae_class, "swprof: a string argument contains NUL");
		*ok = 0;
		return NULL;
	}
	s[len] = 0;
	return s;
}

/* byte[][] -> NULL-terminated char *[] (*n_out elements); NULL array -> NULL; *ok as str_of.
 * Always allocates at least the terminating slot, so an empty array gives a non-NULL pointer. */
static const char **strv_of(JNIEnv *env, struct arena *a, jobjectArray arr, size_t *n_out, int allow_null, int *ok)
{
	if (n_out)
		*n_out = 0;
	if (!*ok || !arr)
		return NULL;
	jsize n = (*env)->GetArrayLength(env, arr);
	const char **v = arena_alloc(env, a, ((size_t)n + 1) * sizeof(*v));
	if (!v) {
		*ok = 0;
		return NULL;
	}
	for (jsize i = 0; i < n; i++) {
		jbyteArray e = (jbyteArray)(*env)->GetObjectArrayElement(env, arr, i);
		if ((*env)->ExceptionCheck(env)) {
			*ok = 0;
			return NULL;
		}
		if (!e && !allow_null) {
			throw_class(env, g_iae_class, "swprof: a string array contains null");
			*ok = 0;
			return NULL;
		}
		v[i] = str_of(env, a, e, ok);
		if (e)
			(*env)->DeleteLocalRef(env, e);
		if (!*ok)
			return NULL;
	}
	v[n] = NULL;
	if (n_out)
		*n_out = (size_t)n;
	return v;
}

/* byte[] -> a copy of its bytes (a protobuf message: NULs allowed) and its length; NULL -> NULL.
 * *ok as str_of. */
static const void *blob_of(JNIEnv *env, struct arena *a, jbyteArray arr, size_t *len, int *ok)
{
	*len = 0;
	if (!*ok || !arr)
		return NULL;
	jsize n = (*env)->GetArrayLength(env, arr);
	void *m = arena_alloc(env, a, (size_t)n);
	if (!m) {
		*ok = 0;
		return NULL;
	}
	(*env)->GetByteArrayRegion(env, arr, 0, n, (jbyte *)m);
	if ((*env)->ExceptionCheck(env)) {
		*ok = 0;
		return NULL;
	}
	*len = (size_t)n;
	return m;
}

/* swp_buf -> byte[]; frees the buffer in every case. */
static jbyteArray bytes_of(JNIEnv *env, struct swp_buf *b)
{
	jbyteArray out = NULL;
	if (b->len > (size_t)0x7ffffff0) {
		throw_class(env, g_oom_class, "swprof: result larger than a Java array");
	} else {
		out = (*env)->NewByteArray(env, (jsize)b->len);
		if (out && b->len)
			(*env)->SetByteArrayRegion(env, out, 0, (jsize)b->len, (const jbyte *)b->data);
		if ((*env)->ExceptionCheck(env))
			out = NULL;
	}
	swp_buf_free(b);
	return out;
}

static swp_core *core_of(JNIEnv *env, jlong handle)
{
	if (handle == 0) {
		throw_class(env, g_ise_class, "swprof: the core is closed");
		return NULL;
	}
	return (swp_core *)(intptr_t)handle;
}

/* Ends a call that filled b: bytes on success, an exception on failure. */
static jbyteArray finish(JNIEnv *env, int rc, struct swp_buf *b, struct arena *a)
{
	if (rc < 0) {
		throw_swp(env, rc); /* first: swp_last_error() belongs to this call */
		swp_buf_free(b);
		arena_free(a);
		return NULL;
	}
	arena_free(a);
	return bytes_of(env, b);
}

/* ---- logging: the library's callback into java.util.logging --------------------------------- */

static void detach_thread(void *vm)
{
	if (vm)
		(*(JavaVM *)vm)->DetachCurrentThread((JavaVM *)vm);
}

static void jni_log(int level, const char *msg, void *ctx)
{
	(void)ctx;
	JavaVM *vm = g_vm;
	if (!vm || !msg || !g_core_class || !g_log_method)
		return;
	JNIEnv *env = NULL;
	jint st = (*vm)->GetEnv(vm, (void **)&env, JNI_VERSION_1_8);
	if (st == JNI_EDETACHED) {
		/* a thread of the core (scheduler, profiler): attach it once, detach when it exits */
		JavaVMAttachArgs args = {JNI_VERSION_1_8, "swprof-native", NULL};
		if ((*vm)->AttachCurrentThreadAsDaemon(vm, (void **)&env, &args) != JNI_OK)
			return;
		if (g_detach_key_ok)
			pthread_setspecific(g_detach_key, vm);
	} else if (st != JNI_OK) {
		return;
	}
	if ((*env)->ExceptionCheck(env))
		return; /* never log over a pending exception of the caller */
	size_t len = strnlen(msg, 64 * 1024);
	jbyteArray arr = (*env)->NewByteArray(env, (jsize)len);
	if (!arr) {
		(*env)->ExceptionClear(env);
		return;
	}
	(*env)->SetByteArrayRegion(env, arr, 0, (jsize)len, (const jbyte *)msg);
	(*env)->CallStaticVoidMethod(env, g_core_class, g_log_method, (jint)level, arr);
	if ((*env)->ExceptionCheck(env))
		(*env)->ExceptionClear(env); /* logging must never fail a native operation */
	(*env)->DeleteLocalRef(env, arr);
}

static void JNICALL setLog0(JNIEnv *env, jclass cls, jint min_level)
{
	(void)env;
	(void)cls;
	if (min_level < 0)
		swp_set_log(NULL, NULL, 0);
	else
		swp_set_log(jni_log, NULL, (int)min_level);
}

/* ---- natives ---------------------------------------------------------------------------------- */

static jlong JNICALL open0(JNIEnv *env, jclass cls, jbyteArray data_dir, jint frequency, jint flush_ms, jint scan_ms,
                           jint profiling, jobjectArray rule_fields, jobjectArray rule_labels, jbyteArray host_ip,
                           jbyteArray host_name, jlong expire_ms, jlong min_age_ms, jlong agent_timeout_ms,
			   jlong min_free_bytes, jbyteArray unwind, jint ustack_bytes)
{
	(void)cls;
	struct arena a = {0};
	int ok = 1;
	struct swp_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.sz = sizeof(cfg);
	cfg.frequency = frequency;
	cfg.flush_interval_ms = flush_ms;
	cfg.scan_interval_ms = scan_ms;
	cfg.profiling = profiling;
	cfg.process_expire_ms = expire_ms;
	cfg.process_min_age_ms = min_age_ms;
	cfg.agent_timeout_ms = agent_timeout_ms;
	cfg.min_free_bytes = min_free_bytes > 0 ? (uint64_t)min_free_bytes : 0;
	cfg.data_dir = str_of(env, &a, data_dir, &ok);
	cfg.host_ip = str_of(env, &a, host_ip, &ok);
	cfg.host_name = str_of(env, &a, host_name, &ok);
	cfg.unwind = str_of(env, &a, unwind, &ok);
	cfg.ustack_bytes = ustack_bytes > 0 ? (uint32_t)ustack_bytes : 0;

	size_t n_fields = 0;
	const char **fields = strv_of(env, &a, rule_fields, &n_fields, 1, &ok);
	if (!ok)
		goto fail;
	size_t n_rules = n_fields / 5;
	jsize n_label_sets = rule_labels ? (*env)->GetArrayLength(env, rule_labels) : 0;
	if (n_fields % 5 != 0 || (size_t)n_label_sets != n_rules) {
		throw_class(env, g_iae_class, "swprof: malformed discovery rules");
		goto fail;
	}
	if (n_rules) {
		struct swp_rule *rules = arena_alloc(env, &a, n_rules * sizeof(*rules));
		if (!rules)
			goto fail;
		for (size_t i = 0; i < n_rules; i++) {
			rules[i].sz = sizeof(rules[i]);
			rules[i].cmd_regex = fields[i * 5 + 0];
			rules[i].service = fields[i * 5 + 1];
			rules[i].instance = fields[i * 5 + 2];
			rules[i].process = fields[i * 5 + 3];
			rules[i].layer = fields[i * 5 + 4];
			jobjectArray labels = (jobjectArray)(*env)->GetObjectArrayElement(env, rule_labels, (jsize)i);
			if ((*env)->ExceptionCheck(env))
				goto fail;
			rules[i].labels = strv_of(env, &a, labels, NULL, 0, &ok);
			if (labels)
				(*env)->DeleteLocalRef(env, labels);
			if (!ok)
				goto fail;
		}
		cfg.rules = rules;
		cfg.n_rules = n_rules;
	}

	swp_core *core = NULL;
	int rc = swp_core_open(&cfg, &core);
	if (rc < 0 || !core) {
		throw_swp(env, rc < 0 ? rc : -EIO);
		goto fail;
	}
	arena_free(&a);
	return (jlong)(intptr_t)core;
fail:
	arena_free(&a);
	return 0;
}

static void JNICALL close0(JNIEnv *env, jclass cls, jlong handle)
{
	(void)env;
	(void)cls;
	if (handle)
		swp_core_close((swp_core *)(intptr_t)handle);
}

static void JNICALL rescan0(JNIEnv *env, jclass cls, jlong handle)
{
	(void)cls;
	swp_core *core = core_of(env, handle);
	if (!core)
		return;
	int rc = swp_processes_rescan(core);
	if (rc < 0)
		throw_swp(env, rc);
}

static jbyteArray JNICALL registerProcess0(JNIEnv *env, jclass cls, jlong handle, jint pid, jbyteArray service,
                                           jbyteArray instance, jbyteArray process, jbyteArray layer,
                                           jobjectArray labels)
{
	(void)cls;
	swp_core *core = core_of(env, handle);
	if (!core)
		return NULL;
	struct arena a = {0};
	struct swp_buf b = {0};
	int ok = 1;
	struct swp_process_spec spec;
	memset(&spec, 0, sizeof(spec));
	spec.sz = sizeof(spec);
	spec.pid = pid;
	spec.service = str_of(env, &a, service, &ok);
	spec.instance = str_of(env, &a, instance, &ok);
	spec.process = str_of(env, &a, process, &ok);
	spec.layer = str_of(env, &a, layer, &ok);
	spec.labels = strv_of(env, &a, labels, NULL, 0, &ok);
	if (!ok)
		goto fail;
	return finish(env, swp_process_register(core, &spec, &b), &b, &a);
fail:
	arena_free(&a);
	return NULL;
}

static jbyteArray JNICALL services0(JNIEnv *env, jclass cls, jlong handle, jbyteArray layer)
{
	(void)cls;
	swp_core *core = core_of(env, handle);
	if (!core)
		return NULL;
	struct arena a = {0};
	struct swp_buf b = {0};
	int ok = 1;
	const char *l = str_of(env, &a, layer, &ok);
	if (!ok) {
		arena_free(&a);
		return NULL;
	}
	return finish(env, swp_services_json(core, l, &b), &b, &a);
}

static jbyteArray JNICALL instances0(JNIEnv *env, jclass cls, jlong handle, jbyteArray service_id, jlong start_ms,
                                     jlong end_ms)
{
	(void)cls;
	swp_core *core = core_of(env, handle);
	if (!core)
		return NULL;
	struct arena a = {0};
	struct swp_buf b = {0};
	int ok = 1;
	const char *s = str_of(env, &a, service_id, &ok);
	if (!ok) {
		arena_free(&a);
		return NULL;
	}
	return finish(env, swp_instances_json(core, s, start_ms, end_ms, &b), &b, &a);
}

static jbyteArray JNICALL processes0(JNIEnv *env, jclass cls, jlong handle, jbyteArray service_id,
                                     jbyteArray instance_id, jbyteArray process_id, jlong start_ms, jlong end_ms)
{
	(void)cls;
	swp_core *core = core_of(env, handle);
	if (!core)
		return NULL;
	struct arena a = {0};
	struct swp_buf b = {0};
	int ok = 1;
	const char *s = str_of(env, &a, service_id, &ok);
	const char *i = str_of(env, &a, instance_id, &ok);
	const char *p = str_of(env, &a, process_id, &ok);
	if (!ok) {
		arena_free(&a);
		return NULL;
	}
	return finish(env, swp_processes_json(core, s, i, p, start_ms, end_ms, &b), &b, &a);
}

static jbyteArray JNICALL process0(JNIEnv *env, jclass cls, jlong handle, jbyteArray process_id)
{
	(void)cls;
	swp_core *core = core_of(env, handle);
	if (!core)
		return NULL;
	struct arena a = {0};
	struct swp_buf b = {0};
	int ok = 1;
	const char *p = str_of(env, &a, process_id, &ok);
	if (!ok) {
		arena_free(&a);
		return NULL;
	}
	return finish(env, swp_process_json(core, p, &b), &b, &a);
}

static jbyteArray JNICALL taskCreate0(JNIEnv *env, jclass cls, jlong handle, jboolean has_finder,
                                      jbyteArray finder_type, jbyteArray process_id, jbyteArray service_id,
                                      jobjectArray labels, jlong start_ms, jlong duration_s, jbyteArray target_type,
                                      jlong now_ms)
{
	(void)cls;
	swp_core *core = core_of(env, handle);
	if (!core)
		return NULL;
	struct arena a = {0};
	struct swp_buf b = {0};
	int ok = 1;
	struct swp_task_create req;
	memset(&req, 0, sizeof(req));
	req.sz = sizeof(req);
	req.has_finder = has_finder ? 1 : 0;
	req.start_time_ms = start_ms;
	req.duration_s = duration_s;
	req.now_ms = now_ms;
	req.finder_type = str_of(env, &a, finder_type, &ok);
	req.process_id = str_of(env, &a, process_id, &ok);
	req.service_id = str_of(env, &a, service_id, &ok);
	req.labels = strv_of(env, &a, labels, NULL, 0, &ok);
	req.target_type = str_of(env, &a, target_type, &ok);
	if (!ok)
		goto fail;
	return finish(env, swp_task_create(core, &req, &b), &b, &a);
fail:
	arena_free(&a);
	return NULL;
}

static jbyteArray JNICALL tasks0(JNIEnv *env, jclass cls, jlong handle, jbyteArray service_id, jbyteArray instance_id,
                                 jbyteArray process_id, jbyteArray finder_type, jobjectArray targets,
                                 jbyteArray trigger_type, jlong start_ms, jlong end_ms)
{
	(void)cls;
	swp_core *core = core_of(env, handle);
	if (!core)
		return NULL;
	struct arena a = {0};
	struct swp_buf b = {0};
	int ok = 1;
	struct swp_task_query q;
	memset(&q, 0, sizeof(q));
	q.sz = sizeof(q);
	q.start_ms = start_ms;
	q.end_ms = end_ms;
	q.service_id = str_of(env, &a, service_id, &ok);
	q.instance_id = str_of(env, &a, instance_id, &ok);
	q.process_id = str_of(env, &a, process_id, &ok);
	q.finder_type = str_of(env, &a, finder_type, &ok);
	q.targets = strv_of(env, &a, targets, NULL, 0, &ok);
	q.trigger_type = str_of(env, &a, trigger_type, &ok);
	if (!ok)
		goto fail;
	return finish(env, swp_tasks_json(core, &q, &b), &b, &a);
fail:
	arena_free(&a);
	return NULL;
}

static jbyteArray JNICALL taskPrepare0(JNIEnv *env, jclass cls, jlong handle, jbyteArray service_id)
{
	(void)cls;
	swp_core *core = core_of(env, handle);
	if (!core)
		return NULL;
	struct arena a = {0};
	struct swp_buf b = {0};
	int ok = 1;
	const char *s = str_of(env, &a, service_id, &ok);
	if (!ok) {
		arena_free(&a);
		return NULL;
	}
	return finish(env, swp_task_prepare_json(core, s, &b), &b, &a);
}

static jbyteArray JNICALL schedules0(JNIEnv *env, jclass cls, jlong handle, jbyteArray task_id, jlong start_ms,
                                     jlong end_ms)
{
	(void)cls;
	swp_core *core = core_of(env, handle);
	if (!core)
		return NULL;
	struct arena a = {0};
	struct swp_buf b = {0};
	int ok = 1;
	const char *t = str_of(env, &a, task_id, &ok);
	if (!ok) {
		arena_free(&a);
		return NULL;
	}
	return finish(env, swp_schedules_json(core, t, start_ms, end_ms, &b), &b, &a);
}

/* (start, end) pairs of ms -> time ranges in the arena; NULL (no ranges) for null. */
static const struct swp_time_range *ranges_of(JNIEnv *env, struct arena *a, jlongArray ranges, size_t *n_out, int *ok)
{
	*n_out = 0;
	if (!*ok || !ranges)
		return NULL;
	jsize n = (*env)->GetArrayLength(env, ranges);
	if (n % 2) {
		throw_class(env, g_iae_class, "swprof: time ranges come in (start, end) pairs");
		*ok = 0;
		return NULL;
	}
	struct swp_time_range *r = arena_alloc(env, a, ((size_t)n / 2 + 1) * sizeof(*r));
	jlong *tmp = arena_alloc(env, a, ((size_t)n + 1) * sizeof(*tmp));
	if (!r || !tmp) {
		*ok = 0;
		return NULL;
	}
	(*env)->GetLongArrayRegion(env, ranges, 0, n, tmp);
	if ((*env)->ExceptionCheck(env)) {
		*ok = 0;
		return NULL;
	}
	for (jsize i = 0; i < n / 2; i++) {
		r[i].start_ms = tmp[2 * i];
		r[i].end_ms = tmp[2 * i + 1];
	}
	*n_out = (size_t)n / 2;
	return r;
}

/* info: null, or a long[6] that receives records, samples, stacks, frames, elements and
 * canonicalJson (0/1) of struct swp_analysis_info. */
static int info_fits(JNIEnv *env, jlongArray info)
{
	if (info && (*env)->GetArrayLength(env, info) < 6) {
		throw_class(env, g_iae_class, "swprof: the analysis info array needs 6 entries");
		return 0;
	}
	return 1;
}

static void info_out(JNIEnv *env, jlongArray info, const struct swp_analysis_info *ai)
{
	if (!info)
		return;
	jlong v[6] = {(jlong)ai->records, (jlong)ai->samples,  (jlong)ai->stacks,
		      (jlong)ai->frames,  (jlong)ai->elements, ai->canonical_json ? 1 : 0};
	(*env)->SetLongArrayRegion(env, info, 0, 6, v);
}

static jbyteArray JNICALL analyze0(JNIEnv *env, jclass cls, jlong handle, jbyteArray task_id, jobjectArray schedule_ids,
                                   jlongArray ranges, jint aggregate, jlongArray info)
{
	(void)cls;
	swp_core *core = core_of(env, handle);
	if (!core)
		return NULL;
	struct arena a = {0};
	struct swp_buf b = {0};
	int ok = 1;
	struct swp_analyze_req req;
	memset(&req, 0, sizeof(req));
	req.sz = sizeof(req);
	req.aggregate = aggregate;
	req.task_id = str_of(env, &a, task_id, &ok);
	req.schedule_ids = strv_of(env, &a, schedule_ids, &req.n_schedule_ids, 1, &ok);
	if (!ok)
		goto fail;
	req.ranges = ranges_of(env, &a, ranges, &req.n_ranges, &ok);
	if (!ok)
		goto fail;
	if (!info_fits(env, info))
		goto fail;
	struct swp_analysis_info ai = {.sz = sizeof(ai)};
	int rc = swp_analyze_ex(core, &req, &b, info ? &ai : NULL);
	if (rc >= 0)
		info_out(env, info, &ai);
	return finish(env, rc, &b, &a);
fail:
	arena_free(&a);
	return NULL;
}

/* diffEBPFProfilingAnalyzation: two sides, each a task id or schedule ids and (start, end) ranges as
 * analyze0 takes them; info as analyze0's. */
static jbyteArray JNICALL diff0(JNIEnv *env, jclass cls, jlong handle, jbyteArray before_task, jobjectArray before_ids,
                                jlongArray before_ranges, jbyteArray after_task, jobjectArray after_ids,
                                jlongArray after_ranges, jint aggregate, jlongArray info)
{
	(void)cls;
	swp_core *core = core_of(env, handle);
	if (!core)
		return NULL;
	struct arena a = {0};
	struct swp_buf b = {0};
	int ok = 1;
	struct swp_diff_side side[2];
	memset(side, 0, sizeof(side));
	jbyteArray tasks[2] = {before_task, after_task};
	jobjectArray ids[2] = {before_ids, after_ids};
	jlongArray ranges[2] = {before_ranges, after_ranges};
	for (int k = 0; k < 2; k++) {
		side[k].sz = sizeof(side[k]);
		side[k].task_id = str_of(env, &a, tasks[k], &ok);
		side[k].schedule_ids = strv_of(env, &a, ids[k], &side[k].n_schedule_ids, 1, &ok);
		if (!ok)
			goto fail;
		side[k].ranges = ranges_of(env, &a, ranges[k], &side[k].n_ranges, &ok);
		if (!ok)
			goto fail;
	}
	if (!info_fits(env, info))
		goto fail;
	struct swp_diff_req req;
	memset(&req, 0, sizeof(req));
	req.sz = sizeof(req);
	req.before = &side[0];
	req.after = &side[1];
	req.aggregate = aggregate;
	struct swp_analysis_info ai = {.sz = sizeof(ai)};
	int rc = swp_analyze_diff(core, &req, &b, info ? &ai : NULL);
	if (rc >= 0)
		info_out(env, info, &ai);
	return finish(env, rc, &b, &a);
fail:
	arena_free(&a);
	return NULL;
}

static jbyteArray JNICALL analyzeFolded0(JNIEnv *env, jclass cls, jbyteArray text)
{
	(void)cls;
	struct arena a = {0};
	struct swp_buf b = {0};
	if (!text) {
		throw_class(env, g_iae_class, "swprof: text is null");
		return NULL;
	}
	jsize len = (*env)->GetArrayLength(env, text);
	char *t = arena_alloc(env, &a, (size_t)len + 1);
	if (!t)
		return NULL;
	(*env)->GetByteArrayRegion(env, text, 0, len, (jbyte *)t);
	if ((*env)->ExceptionCheck(env)) {
		arena_free(&a);
		return NULL;
	}
	return finish(env, swp_analyze_folded(t, (size_t)len, &b), &b, &a);
}

static jbyteArray JNICALL importFolded0(JNIEnv *env, jclass cls, jlong handle, jbyteArray task_id,
                                        jbyteArray process_id, jlong time_ms, jbyteArray text)
{
	(void)cls;
	swp_core *core = core_of(env, handle);
	if (!core)
		return NULL;
	struct arena a = {0};
	struct swp_buf b = {0};
	int ok = 1;
	struct swp_import_req req;
	memset(&req, 0, sizeof(req));
	req.sz = sizeof(req);
	req.time_ms = time_ms;
	req.task_id = str_of(env, &a, task_id, &ok);
	req.process_id = str_of(env, &a, process_id, &ok);
	if (!ok)
		goto fail;
	if (!text) {
		throw_class(env, g_iae_class, "swprof: text is null");
		goto fail;
	}
	jsize len = (*env)->GetArrayLength(env, text);
	char *t = arena_alloc(env, &a, (size_t)len + 1);
	if (!t)
		goto fail;
	(*env)->GetByteArrayRegion(env, text, 0, len, (jbyte *)t);
	if ((*env)->ExceptionCheck(env))
		goto fail;
	req.text = t;
	req.len = (size_t)len;
	if (!ok)
		goto fail;
	return finish(env, swp_import_folded(core, &req, &b), &b, &a);
fail:
	arena_free(&a);
	return NULL;
}

static jbyteArray JNICALL stats0(JNIEnv *env, jclass cls, jlong handle)
{
	(void)cls;
	swp_core *core = core_of(env, handle);
	if (!core)
		return NULL;
	struct arena a = {0};
	struct swp_buf b = {0};
	return finish(env, swp_core_stats_json(core, &b), &b, &a);
}

/* ---- who asks (a Unix socket's peer) ---------------------------------------------------------- */

static void JNICALL setCaller0(JNIEnv *env, jclass cls, jint uid)
{
	(void)env;
	(void)cls;
	swp_caller_set((int)uid);
}

/* The uid of a user name (NSS, as the system resolves it), or -1. */
static jint JNICALL uidOf0(JNIEnv *env, jclass cls, jbyteArray name)
{
	(void)cls;
	char n[256];
	jsize len = name ? (*env)->GetArrayLength(env, name) : 0;
	if (!name || len <= 0 || len >= (jsize)sizeof(n))
		return -1;
	(*env)->GetByteArrayRegion(env, name, 0, len, (jbyte *)n);
	if ((*env)->ExceptionCheck(env))
		return -1;
	n[len] = 0;
	struct passwd pw, *found = NULL;
	char buf[4096];
	if (getpwnam_r(n, &pw, buf, sizeof(buf), &found) != 0 || !found)
		return -1;
	return (jint)found->pw_uid;
}

/* ---- the agent protocol (backend side): protobuf bytes in and out ---------------------------- */

static jbyteArray JNICALL agentCall0(JNIEnv *env, jclass cls, jlong handle, jint call, jbyteArray req)
{
	(void)cls;
	swp_core *core = core_of(env, handle);
	if (!core)
		return NULL;
	struct arena a = {0};
	struct swp_buf b = {0};
	int ok = 1;
	size_t len;
	const void *msg = blob_of(env, &a, req, &len, &ok);
	if (!ok) {
		arena_free(&a);
		return NULL;
	}
	return finish(env, swp_agent_call(core, (int)call, msg, len, &b), &b, &a);
}

/* The heartbeat due now: its kind in the first byte, then the message; NULL when nothing is due. */
static jbyteArray JNICALL heartbeat0(JNIEnv *env, jclass cls, jlong handle, jbyteArray agent_id, jint beat_ms)
{
	(void)cls;
	swp_core *core = core_of(env, handle);
	if (!core)
		return NULL;
	struct arena a = {0};
	int ok = 1;
	const char *id = str_of(env, &a, agent_id, &ok);
	if (!ok) {
		arena_free(&a);
		return NULL;
	}
	struct swp_buf b = {0};
	int kind = swp_heartbeat(core, id, (int)beat_ms, &b);
	if (kind <= 0)
		return kind < 0 ? finish(env, kind, &b, &a) : (swp_buf_free(&b), arena_free(&a), NULL);
	arena_free(&a);
	jbyteArray out = NULL;
	if (b.len < (size_t)0x7ffffff0) {
		out = (*env)->NewByteArray(env, (jsize)b.len + 1);
		jbyte k = (jbyte)kind;
		if (out)
			(*env)->SetByteArrayRegion(env, out, 0, 1, &k);
		if (out && b.len)
			(*env)->SetByteArrayRegion(env, out, 1, (jsize)b.len, (const jbyte *)b.data);
		if ((*env)->ExceptionCheck(env))
			out = NULL;
	} else {
		throw_class(env, g_oom_class, "swprof: result larger than a Java array");
	}
	swp_buf_free(&b);
	return out;
}

static jint JNICALL heartbeatAnswered0(JNIEnv *env, jclass cls, jlong handle, jint kind, jboolean ok_,
				       jbyteArray answer)
{
	(void)cls;
	swp_core *core = core_of(env, handle);
	if (!core)
		return 0;
	struct arena a = {0};
	int ok = 1;
	size_t len = 0;
	const void *msg = blob_of(env, &a, answer, &len, &ok);
	if (!ok) {
		arena_free(&a);
		return 0;
	}
	int r = swp_heartbeat_answered(core, (int)kind, ok_ == JNI_TRUE, msg, len);
	arena_free(&a);
	if (r < 0) {
		throw_swp(env, r);
		return 0;
	}
	return r;
}

static jlong JNICALL streamOpen0(JNIEnv *env, jclass cls)
{
	(void)cls;
	swp_data_stream *s = swp_data_stream_open();
	if (!s)
		throw_oom(env);
	return (jlong)(intptr_t)s;
}

static void JNICALL streamFeed0(JNIEnv *env, jclass cls, jlong handle, jlong stream, jobjectArray msgs)
{
	(void)cls;
	swp_core *core = core_of(env, handle);
	if (!core)
		return;
	if (!stream || !msgs) {
		throw_class(env, g_iae_class, "swprof: a data stream and its messages are required");
		return;
	}
	struct arena a = {0};
	int ok = 1;
	jsize n = (*env)->GetArrayLength(env, msgs);
	const void **v = arena_alloc(env, &a, ((size_t)n + 1) * sizeof(*v));
	size_t *lens = arena_alloc(env, &a, ((size_t)n + 1) * sizeof(*lens));
	ok = v && lens;
	for (jsize i = 0; ok && i < n; i++) {
		jbyteArray e = (jbyteArray)(*env)->GetObjectArrayElement(env, msgs, i);
		if ((*env)->ExceptionCheck(env))
			ok = 0;
		else if (!e) {
			throw_class(env, g_iae_class, "swprof: a null message");
			ok = 0;
		} else {
			v[i] = blob_of(env, &a, e, &lens[i], &ok);
			(*env)->DeleteLocalRef(env, e);
		}
	}
	if (ok) {
		int rc = swp_data_stream_feed(core, (swp_data_stream *)(intptr_t)stream, v, lens, (size_t)n);
		if (rc < 0)
			throw_swp(env, rc);
	}
	arena_free(&a);
}

static jbyteArray JNICALL streamEnd0(JNIEnv *env, jclass cls, jlong handle, jlong stream)
{
	(void)cls;
	swp_core *core = core_of(env, handle);
	if (!core)
		return NULL;
	struct arena a = {0};
	struct swp_buf b = {0};
	return finish(env, swp_data_stream_end(core, (swp_data_stream *)(intptr_t)stream, &b), &b, &a);
}

static void JNICALL streamFree0(JNIEnv *env, jclass cls, jlong stream)
{
	(void)env;
	(void)cls;
	swp_data_stream_free((swp_data_stream *)(intptr_t)stream);
}

/* ---- registration ----------------------------------------------------------------------------- */

#define B  "[B"
#define BB "[[B"
static const JNINativeMethod g_methods[] = {
    {"setLog0", "(I)V", (void *)setLog0},
    {"open0", "(" B "IIII" BB "[Ljava/lang/Object;" B B "JJJJ" B "I)J", (void *)open0},
    {"close0", "(J)V", (void *)close0},
    {"rescan0", "(J)V", (void *)rescan0},
    {"registerProcess0", "(JI" B B B B BB ")" B, (void *)registerProcess0},
    {"services0", "(J" B ")" B, (void *)services0},
    {"instances0", "(J" B "JJ)" B, (void *)instances0},
    {"processes0", "(J" B B B "JJ)" B, (void *)processes0},
    {"process0", "(J" B ")" B, (void *)process0},
    {"taskCreate0", "(JZ" B B B BB "JJ" B "J)" B, (void *)taskCreate0},
    {"tasks0", "(J" B B B B BB B "JJ)" B, (void *)tasks0},
    {"taskPrepare0", "(J" B ")" B, (void *)taskPrepare0},
    {"schedules0", "(J" B "JJ)" B, (void *)schedules0},
    {"analyze0", "(J" B BB "[JI[J)" B, (void *)analyze0},
    {"diff0", "(J" B BB "[J" B BB "[JI[J)" B, (void *)diff0},
    {"analyzeFolded0", "(" B ")" B, (void *)analyzeFolded0},
    {"importFolded0", "(J" B B "J" B ")" B, (void *)importFolded0},
    {"stats0", "(J)" B, (void *)stats0},
    {"agentCall0", "(JI" B ")" B, (void *)agentCall0},
    {"heartbeat0", "(J" B "I)" B, (void *)heartbeat0},
    {"heartbeatAnswered0", "(JIZ" B ")I", (void *)heartbeatAnswered0},
    {"streamOpen0", "()J", (void *)streamOpen0},
    {"streamFeed0", "(JJ" BB ")V", (void *)streamFeed0},
    {"streamEnd0", "(JJ)" B, (void *)streamEnd0},
    {"streamFree0", "(J)V", (void *)streamFree0},
    {"setCaller0", "(I)V", (void *)setCaller0},
    {"uidOf0", "(" B ")I", (void *)uidOf0},
};
#undef B
#undef BB

static void release_refs(JNIEnv *env)
{
	jclass *refs[] = {&g_core_class, &g_exc_class, &g_iae_class, &g_ise_class, &g_oom_class};
	for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		if (*refs[i] && env)
			(*env)->DeleteGlobalRef(env, *refs[i]);
		*refs[i] = NULL;
	}
	g_exc_ctor = NULL;
	g_log_method = NULL;
}

static jclass global_class(JNIEnv *env, const char *name)
{
	jclass local = (*env)->FindClass(env, name);
	if (!local)
		return NULL;
	jclass global = (jclass)(*env)->NewGlobalRef(env, local);
	(*env)->DeleteLocalRef(env, local);
	return global;
}

JNIEXPORT jint JNICALL JNI_OnLoad(JavaVM *vm, void *reserved)
{
	(void)reserved;
	JNIEnv *env = NULL;
	if ((*vm)->GetEnv(vm, (void **)&env, JNI_VERSION_1_8) != JNI_OK || !env)
		return JNI_ERR;
	g_vm = vm;
	g_core_class = global_class(env, CORE_CLASS);
	g_exc_class = global_class(env, EXC_CLASS);
	g_iae_class = global_class(env, "java/lang/IllegalArgumentException");
	g_ise_class = global_class(env, "java/lang/IllegalStateException");
	g_oom_class = global_class(env, "java/lang/OutOfMemoryError");
	if (!g_core_class || !g_exc_class || !g_iae_class || !g_ise_class || !g_oom_class)
		goto fail;
	g_exc_ctor = (*env)->GetMethodID(env, g_exc_class, "<init>", "([BI)V");
	if (!g_exc_ctor)
		goto fail;
	g_log_method = (*env)->GetStaticMethodID(env, g_core_class, "nativeLog", "(I[B)V");
	if (!g_log_method)
		goto fail;
	if ((*env)->RegisterNatives(env, g_core_class, g_methods, (jint)(sizeof(g_methods) / sizeof(g_methods[0]))) !=
	    0)
		goto fail;
	g_detach_key_ok = pthread_key_create(&g_detach_key, detach_thread) == 0;
	return JNI_VERSION_1_8;
fail:
	/* leave the pending NoSuchMethodError/NoClassDefFoundError: it explains the UnsatisfiedLinkError */
	release_refs(env);
	g_vm = NULL;
	return JNI_ERR;
}

JNIEXPORT void JNICALL JNI_OnUnload(JavaVM *vm, void *reserved)
{
	(void)reserved;
	swp_set_log(NULL, NULL, 0);
	JNIEnv *env = NULL;
	if ((*vm)->GetEnv(vm, (void **)&env, JNI_VERSION_1_8) != JNI_OK)
		env = NULL;
	release_refs(env);
	if (g_detach_key_ok) {
		pthread_key_delete(g_detach_key);
		g_detach_key_ok = 0;
	}
	g_vm = NULL;
}
