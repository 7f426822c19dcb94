// swprof ui-check: booster-ui's documents and client logic, then a flame graph of the analysis.
// Query parameters: service (name, required), layer (default: the first menu entry's), expect (a symbol to wait for).

import { DOC } from "./docs.js";


const $ = (id) => document.getElementById(id);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const params = new URLSearchParams(location.search);

/** POST /graphql as the UI does; errors[].message joined, as the UI shows them. */
async function gql(query, variables = {}) {
  const res = await fetch("/graphql", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (body.errors) {
    throw new Error(body.errors.map((e) => e.message).join(" "));
  }
  return body.data;
}

/** EBPFSchedules.vue analyzeEBPF: the "All" label, the schedules of labelled processes, their merged ranges. */
function analysisRequest(schedules) {
  const labels = ["0"];
  for (const s of schedules) {
    labels.push(...s.process.labels);
  }
  const ranges = [];
  const scheduleIdList = schedules.flatMap((s) => {
    if (s.process.labels.find((l) => labels.includes(l))) {
      ranges.push({ start: s.startTime, end: s.endTime });
      return s.scheduleId;
    }
    return [null];
  });
  const timeRanges = [];
  for (const r of ranges) {
    if (timeRanges.length) {
      for (const t of timeRanges) {
        if (r.start > t.start && r.start < t.end && r.end > t.end) {
          t.end = r.end;
        }
      }
    } else {
      timeRanges.push(r);
    }
  }
  return { scheduleIdList, timeRanges, aggregateType: "COUNT" };
}

/** The trees as nodes {symbol, stackType, count, children}, under one virtual root, as EBPFStack.vue builds them. */
function buildTree(trees) {
  const root = { symbol: "all", stackType: "ROOT", count: 0, children: [] };
  for (const tree of trees) {
    const byId = new Map();
    for (const e of tree.elements) {
      if (!/^[0-9]+$/.test(e.id) || !/^[0-9]+$/.test(e.parentId)) {
        throw new Error(`non-numeric element id: ${JSON.stringify(e)}`);
      }
      byId.set(e.id, { symbol: e.symbol, stackType: e.stackType, count: Number(e.dumpCount), children: [], e });
    }
    const roots = [];
    for (const n of byId.values()) {
      if (n.e.parentId === "0") {
        roots.push(n);
      } else {
        const p = byId.get(n.e.parentId);
        if (!p) throw new Error(`element ${n.e.id} has no parent ${n.e.parentId}`);
        p.children.push(n);
      }
    }
    if (roots.length !== 1) throw new Error(`a tree with ${roots.length} roots`);
    root.children.push(roots[0]);
    root.count += roots[0].count;
  }
  return root;
}

function hue(symbol) {
  let h = 0;
  for (const c of symbol) h = (h * 31 + c.charCodeAt(0)) % 360;
  return symbol.endsWith("]") ? 200 : 10 + (h % 45); // warm for user frames, like flame graphs
}

/** Icicle layout: the root on top spanning the width, each child under its parent sized by its count. */
function draw(root) {
  const graph = $("graph");
  graph.textContent = "";
  const width = graph.clientWidth;
  const rowHeight = 18;
  let depth = 0;
  const place = (node, x, w, level, parentPath) => {
    depth = Math.max(depth, level + 1);
    const div = document.createElement("div");
    div.className = `frame ${node.stackType}`;
    div.style.left = `${x}px`;
    div.style.top = `${level * rowHeight}px`;
    div.style.width = `${Math.max(w, 1)}px`;
    div.style.setProperty("--h", hue(node.symbol + (node.stackType === "KERNEL_SPACE" ? "]" : "")));
    const pct = root.count ? ((100 * node.count) / root.count).toFixed(1) : "0";
    div.textContent = node.symbol;
    div.title = `${node.symbol}\n${node.count} samples (${pct}% of all)\n${node.stackType}`;
    div.dataset.symbol = node.symbol;
    div.dataset.count = String(node.count);
    div.dataset.path = parentPath ? `${parentPath};${node.symbol}` : node.symbol;
    graph.appendChild(div);
    let cx = x;
    const kids = [...node.children].sort((a, b) => b.count - a.count || a.symbol.localeCompare(b.symbol));
    for (const c of kids) {
      const cw = node.count ? (w * c.count) / node.count : 0;
      if (cw >= 0.5) place(c, cx, cw, level + 1, div.dataset.path);
      cx += cw;
    }
  };
  place(root, 0, width, 0, "");
  graph.style.height = `${depth * rowHeight + 4}px`;
}

async function waitFor(what, ms, probe) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(500);
  }
}

async function run() {
  const serviceName = params.get("service");
  const expect = params.get("expect");
  if (!serviceName) throw new Error("?service=NAME is required");

  // start-up, in the UI's order
  const menu = (await gql(DOC.menu)).getMenuItems;
  const time = (await gql(DOC.time)).getTimeInfo;
  const version = (await gql(DOC.version)).version;
  await gql(DOC.metricsTTL);
  await gql(DOC.recordsTTL);
  await gql(DOC.tracesV2);
  $("version").textContent = version;
  const hours = time.timezone / 100; // what booster-ui computes
  $("zone").textContent = `server zone ${time.timezone} (UTC${hours >= 0 ? "+" : ""}${hours})`;
  $("menu").textContent = menu.filter((m) => m.activate).map((m) => m.title.replace(/\s+/g, "-")).join(" · ");

  // the menu entry's root dashboard, its service list, the service dashboard it opens
  const layer = params.get("layer") || menu[0].layer;
  const dashboards = (await gql(DOC.templates)).getAllTemplates
    .map((t) => ({ ...JSON.parse(t.configuration), id: t.id }));
  const root = dashboards.find((d) => d.layer === layer && ["Service", "All"].includes(d.entity) && d.isRoot);
  if (!root) throw new Error(`no root dashboard for ${layer}`);
  const list = root.children.find((w) => w.graph && w.graph.type === "ServiceList");
  const serviceDashboard = dashboards.find(
    (d) => d.layer === layer && d.entity === "Service" && d.name === list.graph.dashboardName);
  if (!serviceDashboard || !serviceDashboard.children.some((w) => w.type === "Ebpf")) {
    throw new Error(`no service dashboard with an Ebpf widget for ${layer}`);
  }
  $("dashboard").textContent = `${root.name} → ${serviceDashboard.name} (widgets: ${
    serviceDashboard.children.map((w) => w.type).join(", ")})`;

  const service = await waitFor(`service ${serviceName}`, 20000, async () => {
    const services = (await gql(DOC.services, { layer })).services;
    $("services").innerHTML = "";
    for (const s of services) {
      const span = document.createElement("span");
      span.textContent = s.shortName;
      if (s.label === serviceName) span.className = "selected";
      $("services").appendChild(span);
    }
    return services.find((s) => s.label === serviceName);
  });

  // the eBPF widget: the first task, or "New Task" with the UI's request
  const taskVars = { serviceId: service.id, targets: ["ON_CPU", "OFF_CPU"], triggerType: "FIXED_TIME" };
  let tasks = (await gql(DOC.tasks, taskVars)).queryEBPFTasks;
  if (!tasks.length) {
    const prep = (await gql(DOC.createTaskData, { serviceId: service.id })).createTaskData;
    if (!prep.couldProfiling) throw new Error("the service cannot be profiled");
    const created = (await gql(DOC.createTask, { request: {
      serviceId: service.id, processLabels: [], startTime: Date.now(), duration: 600, targetType: "ON_CPU" } }))
      .createTaskData;
    if (!created.status) throw new Error(`task not created: ${created.errorReason}`);
    tasks = (await gql(DOC.tasks, taskVars)).queryEBPFTasks;
  }
  const task = tasks[0];
  $("task").textContent = `#${task.taskId} ${task.targetType} ${task.fixedTriggerDuration} s, labels [${
    task.processLabels.join(", ")}] (every process of ${task.serviceName})`;

  // schedules and analysis, re-selected until the tree has what is expected
  let analysis;
  let request;
  await waitFor(expect ? `${expect} in the tree` : "a tree", 45000, async () => {
    const schedules = (await gql(DOC.schedules, { taskId: task.taskId })).eBPFSchedules;
    $("schedules").textContent = schedules.map((s) =>
      `${s.process.name} [${s.process.labels.join(", ")}] ${new Date(s.startTime).toISOString()} +${
        ((s.endTime - s.startTime) / 1000).toFixed(1)} s`).join("; ") || "none yet";
    request = analysisRequest(schedules);
    if (!request.timeRanges.length || request.timeRanges.some((r) => r.end <= r.start)) return null;
    analysis = (await gql(DOC.analysis, request)).analysisEBPFResult;
    if (analysis.tip) throw new Error(`tip: ${analysis.tip}`);
    if (!analysis.trees.length) return null;
    const symbols = new Set(analysis.trees.flatMap((t) => t.elements.map((e) => e.symbol)));
    return !expect || symbols.has(expect);
  });
  const tree = buildTree(analysis.trees);
  const elements = analysis.trees.reduce((n, t) => n + t.elements.length, 0);
  $("summary").textContent = `${tree.count} samples, ${analysis.trees.length} tree(s), ${elements} frames; ` +
    `schedules [${request.scheduleIdList.join(", ")}]`;
  draw(tree);
  document.body.dataset.state = "drawn";
}

run().catch((e) => {
  $("error").textContent = String(e && e.stack ? e.stack : e);
  document.body.dataset.state = "error";
});
