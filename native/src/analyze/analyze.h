/*
 * The analyzer: merges counted stacks into the protocol's call trees.
 *
 * Input is a dense count per stack idx (the stack table's numbering). Stacks with a count are
 * sorted by their frame sequences, so stacks sharing a prefix are adjacent and the tree is
 * built in one linear pass (each frame step either walks an existing node of the previous
 * stack's path or creates a node). Then each tree is emitted breadth first, children ordered by
 * count descending, then symbol, then stack type; ids restart at "1" per tree, roots have
 * parentId "0".
 *
 *        stacks (sorted)            nodes                       emitted (one tree)
 *   3  main;work;spin         main:11 -> work:11 -> spin:3     1 main  parent 0  11
 *   8  main;work              (counts are inclusive)           2 work  parent 1  11
 *                                                              3 spin  parent 2   3
 */
#ifndef SWP_ANALYZE_H
#define SWP_ANALYZE_H

#include "analyze/stacks.h"

/* Writes {"tip":tip,"trees":[...]} to out. counts has at least t->n entries (an entry past
 * n_counts is zero). Takes the stacks' and the interner's read locks. */
void swp__analyze_tree(struct swp_stacks *t, const uint64_t *counts, uint32_t n_counts, const char *tip,
		       struct swp_buf *out);

/* The same, filling info (when not NULL and info->sz is large enough) with the samples, stacks,
 * frames and elements of the trees and whether the JSON is canonical (swprof.h). */
void swp__analyze_tree_ex(struct swp_stacks *t, const uint64_t *counts, uint32_t n_counts, const char *tip,
			  struct swp_buf *out, struct swp_analysis_info *info);

/* Same trees as collapsed stacks ("a;b;c_[k] N" lines, sorted by stack). */
void swp__analyze_folded(struct swp_stacks *t, const uint64_t *counts, uint32_t n_counts, struct swp_buf *out);

/* export.c: the same counted stacks as a gzipped pprof profile (sample type `type`, unit `unit`:
 * `go tool pprof` reads it) or as speedscope's file format (unit "none" or "nanoseconds"). */
int swp__export_pprof(struct swp_stacks *t, const uint64_t *counts, uint32_t n, const char *type, const char *unit,
		      struct swp_buf *out);
int swp__export_speedscope(struct swp_stacks *t, const uint64_t *counts, uint32_t n, const char *name,
			   const char *unit, struct swp_buf *out);
/* Writes counts in format ("json" or NULL: the tree; "folded", "pprof", "speedscope", "svg", "html"); what they
 * count: samples, switches or blocked ns (duration). -EINVAL for another format. */
int swp__export(struct swp_stacks *t, const uint64_t *counts, uint32_t n, const char *format, bool duration,
		const char *name, struct swp_buf *out);

/* Counts per stack idx that grow as stacks are added: the `add` callback of swp__parse_folded
 * for callers that want a dense array for swp__analyze_tree/folded. Free `counts` when done. */
struct swp_dense_counts {
	uint64_t *counts;
	uint32_t cap;
};
void swp__dense_add(void *dense_counts, uint32_t idx, uint64_t count);

/* Parses collapsed stacks into the table: for each line calls add(ctx, idx, count). Returns the
 * number of lines parsed, or -EINVAL with the line number in the reason. */
int64_t swp__parse_folded(struct swp_stacks *t, const char *text, size_t len,
			  void (*add)(void *ctx, uint32_t idx, uint64_t count), void *ctx);

#endif
