/* JIT frames by name: runtimes' perf maps, and asking a JVM for one (perfmap.c). */
#ifndef SWP_PERFMAP_H
#define SWP_PERFMAP_H

#include "common/common.h"

struct swp__perfmap;

/* The perf map of process pid (read when first needed, re-read when it changed). */
struct swp__perfmap *swp__perfmap_new(int pid);
void swp__perfmap_free(struct swp__perfmap *m);
/* Appends the name of the code at ip to out; false when no entry holds it. */
bool swp__perfmap_lookup(struct swp__perfmap *m, uint64_t ip, struct swp_buf *out);
/* How many times the map was read (re-read first when it changed, at most once a second). */
uint32_t swp__perfmap_generation(struct swp__perfmap *m);

/* Is pid a HotSpot JVM (it maps libjvm.so)? */
bool swp__is_jvm(int pid);
/* Asks the JVM pid to write its perf map now (jcmd Compiler.perfmap through its attach
 * mechanism, JDK 17+); waits up to timeout_ms for it to answer. 0 or -errno with a reason. */
int swp__jvm_perfmap(int pid, int timeout_ms);
/* How often a profiled JVM is asked again (its code cache changes as it runs). */
#define SWP_JVM_PERFMAP_MS 10000

#endif
