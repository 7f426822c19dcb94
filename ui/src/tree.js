// The server's trees (elements {id, parentId, symbol, stackType, ...counts}, ids from "1" per tree, roots under "0",
// counts inclusive of children) as the nested {name, stackType, children, ...counts} d3-flame-graph draws, under one
// root "all" whose counts are the sums of the trees'.

/**
 * trees: the answer's trees; counts: the element fields to carry (["dumpCount"], or ["beforeCount", "afterCount"]),
 * as numbers (a Long arrives as a JSON number or a string).
 */
export function hierarchy(trees, counts) {
  const root = { name: "all", stackType: "ROOT", children: [] };
  for (const c of counts) root[c] = 0;
  for (const tree of trees) {
    const byId = new Map();
    for (const e of tree.elements) {
      const node = { name: e.symbol, stackType: e.stackType, children: [] };
      for (const c of counts) node[c] = Number(e[c]);
      byId.set(e.id, node);
    }
    for (const e of tree.elements) {
      const node = byId.get(e.id);
      if (e.parentId === "0") {
        root.children.push(node);
        for (const c of counts) root[c] += node[c];
      } else {
        const parent = byId.get(e.parentId);
        if (!parent) throw new Error(`frame ${e.id} (${e.symbol}) names a parent ${e.parentId} that is not in its tree`);
        parent.children.push(node);
      }
    }
  }
  return root;
}

