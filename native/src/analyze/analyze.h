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

/*
 * The merged tree (a trie of the stacks), what every output is written from. A diff tree carries
 * a second count per node: the before side's, with `count` the after side's.
 *
 *   nodes[0]  super-root (count = every sample), its children the trees' roots
 *     |- first_child -> main:11 -next_sibling-> (another root)
 *                         |- first_child -> work:11 -> ...
 *
 * Nodes are created depth first: a node's index is larger than its parent's.
 */
struct swp_tree_node {
	uint32_t frame;        /* interned frame id (symbol + type) */
	uint32_t first_child;  /* 0 = none (0 is never a child) */
	uint32_t next_sibling; /* 0 = last */
	uint32_t nchild;       /* number of children */
	uint64_t count;        /* inclusive: samples through this node (a diff: the after side's) */
};

struct swp_tree {
	struct swp_tree_node *nodes;
	uint64_t *before; /* per node: the before side's inclusive count; NULL unless a diff */
	uint32_t n;       /* nodes, the super-root included */
	uint32_t stacks;  /* distinct stacks merged */
	uint32_t depth;   /* frames of the deepest stack */
	uint64_t frames;  /* frames of the merged stacks */
};

/* Builds the tree of the stacks with a count (in counts, or in before when not NULL: a diff of the
 * two). The stacks' and the interner's read locks held. Free it with swp__tree_free. */
void swp__tree_build(struct swp_stacks *t, const uint64_t *counts, const uint64_t *before, uint32_t n_counts,
		     struct swp_tree *out);
void swp__tree_free(struct swp_tree *tr);
/* The children of node into out[0..n), ordered as the JSON writes them: count descending (a diff:
 * then the before count descending), then symbol bytes, then type. Returns n. Read locks held. */
uint32_t swp__tree_children(const struct swp_tree *tr, const struct swp_interner *in, uint32_t node, uint32_t *out);

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

/* A diff of two counts over the same table: the tree whose elements have beforeCount and
 * afterCount (inclusive) instead of dumpCount; every stack with a count on either side is merged.
 * info->samples is the after side's. */
void swp__analyze_diff(struct swp_stacks *t, const uint64_t *after, const uint64_t *before, uint32_t n_counts,
		       const char *tip, struct swp_buf *out, struct swp_analysis_info *info);
/* The same as Brendan Gregg's difffolded lines, "a;b;c_[k] BEFORE AFTER", sorted by stack (before
 * NULL: the collapsed stacks of after). */
void swp__analyze_difffolded(struct swp_stacks *t, const uint64_t *after, const uint64_t *before, uint32_t n_counts,
			     struct swp_buf *out);

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

/* A diff in format ("json" or NULL: the diff tree; "folded": difffolded; "svg": a red/blue
 * differential flame graph, widths by the after side; "html": the same in a page with a search
 * box). -EINVAL for another format. */
int swp__export_diff(struct swp_stacks *t, const uint64_t *after, const uint64_t *before, uint32_t n,
		     const char *format, bool duration, const char *name, struct swp_buf *out,
		     struct swp_analysis_info *info);

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
