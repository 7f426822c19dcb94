// Every page of booster-ui 10.4's menu, as it opens: the requests each page sends and the checks its code makes of
// the replies (where it reads .items, .length, .filter or Object.keys of a value, a null or an error crashes it).
// Documents: the start-up and eBPF ones of docs.js, the others the e2e files under /ui-check/queries/.
import { DOC, duration } from "./docs.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const service = params.get("service");

async function doc(name) {
  const res = await fetch(`/ui-check/queries/booster-ui-10.4.0/${name}.graphql`);
  if (!res.ok) throw new Error(`${name}.graphql: ${res.status}`);
  return (await res.text()).replace(/\n$/, "");
}

let requests = 0;

/** POST /graphql as the UI does: a non-2xx status, a non-JSON body or errors fail the page. */
async function gql(query, variables = {}) {
  requests++;
  const res = await fetch("/graphql", {
    method: "POST",
    headers: { "Content-Type": "application/json", accept: "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  if (!res.ok) throw new Error(`/graphql answered ${res.status} ${res.statusText}`);
  const body = await res.json();
  if (body.errors) throw new Error(body.errors.map((e) => e.message).join(" "));
  return body.data;
}

/** The Settings page's GETs (src/graphql/http). */
async function rest(path) {
  requests++;
  const res = await fetch(path, { headers: { "Content-Type": "application/json", accept: "application/json" } });
  if (!res.ok) throw new Error(`${path} answered ${res.status} ${res.statusText}`);
  return res.json();
}

function must(cond, what) {
  if (!cond) throw new Error(what);
}

function row(page, n, result, ok) {
  const tr = document.createElement("tr");
  tr.className = ok ? "page ok" : "page failed";
  tr.dataset.page = page;
  for (const text of [page, String(n), result]) {
    const td = document.createElement("td");
    td.textContent = text;
    tr.appendChild(td);
  }
  $("pages").appendChild(tr);
  if (!ok) {
    const t = document.createElement("div");
    t.className = "toast error";
    t.textContent = `${page}: ${result}`;
    $("toasts").appendChild(t);
  }
}

async function visit(page, fn) {
  const before = requests;
  try {
    const note = await fn();
    row(page, requests - before, note || "ok", true);
  } catch (e) {
    row(page, requests - before, String(e && e.message ? e.message : e), false);
  }
}

async function walk() {
  let tz = 0;
  let layer = "OS_LINUX";
  let serviceId = null;
  let menu = [];
  await visit("start-up (every page)", async () => {
    menu = (await gql(DOC.menu)).getMenuItems;
    must(Array.isArray(menu) && menu.length, "getMenuItems: no menu");
    const time = (await gql(DOC.time)).getTimeInfo;
    tz = (Number(time.timezone) / 100) * 60;
    must(typeof (await gql(DOC.version)).version === "string", "version: not a string");
    await gql(DOC.metricsTTL);
    await gql(DOC.recordsTTL);
    must((await gql(DOC.tracesV2)).hasQueryTracesV2Support === false, "hasQueryTracesV2Support");
    layer = menu.find((m) => m.activate).layer;
  });
  await visit("Marketplace", async () => {
    // no request: it lists the start-up menu, and its search reads every item's subItems
    for (const m of menu) must(Array.isArray(m.subItems), `menu item ${m.title} has no subItems list`);
    return `${menu.length} menu items`;
  });
  await visit(`layer ${layer} (its root dashboard)`, async () => {
    const templates = (await gql(DOC.templates)).getAllTemplates;
    const roots = templates.map((t) => JSON.parse(t.configuration)).filter((c) => c.layer === layer && c.isRoot);
    must(roots.length, `no root dashboard of ${layer}`);
    const services = (await gql(DOC.services, { layer })).services;
    must(Array.isArray(services), "listServices: not a list");
    const s = services.find((x) => x.value === service);
    must(s, `service ${service} is not listed in ${layer}`);
    serviceId = s.id;
    return `${services.length} services`;
  });
  await visit("service dashboard: the eBPF tab", async () => {
    const tasks = (await gql(DOC.tasks, { serviceId, targets: ["ON_CPU", "OFF_CPU"], triggerType: "FIXED_TIME" }))
      .queryEBPFTasks;
    must(Array.isArray(tasks), "tasks: not a list");
    if (tasks.length) {
      const schedules = (await gql(DOC.schedules, { taskId: tasks[0].taskId })).eBPFSchedules;
      must(Array.isArray(schedules), "schedules: not a list");
    }
    const prep = (await gql(DOC.createTaskData, { serviceId })).createTaskData;
    must(prep.couldProfiling === true, "New Task: the service cannot be profiled");
    return `${tasks.length} tasks`;
  });
  await visit("service dashboard: the hierarchy button", async () => {
    const h = (await gql(await doc("hierarchy-service"), { serviceId, layer })).hierarchyServiceTopology;
    must(Array.isArray(h.relations), "relations: not a list");
    const levels = (await gql(await doc("layer-levels"))).levels;
    must(Array.isArray(levels), "listLayerLevels: not a list");
  });
  await visit("service dashboard: a metrics widget a user adds", async () => {
    const d = await gql(await doc("metrics-widget"), {
      duration: { ...duration("MINUTE", tz), coldStage: false }, entity: { serviceName: service, normal: true },
      expression00: "avg(service_cpm)", expression01: "service_sla/100",
    });
    must(Array.isArray(d.expression00.results), "execExpression: results not a list");
    return `the widget shows: ${d.expression00.error}`;
  });
  await visit("Alerting", async () => {
    const alarms = (await gql(await doc("alarms"), {
      duration: { ...duration("SECOND", tz), coldStage: false }, paging: { pageNum: 1, pageSize: 21 },
    })).getAlarm;
    must(alarms && Array.isArray(alarms.items), "getAlarm: no items list");
    const keys = (await gql(await doc("alarm-tag-keys"), { duration: duration("SECOND", tz) })).tagKeys;
    must(Array.isArray(keys), "tag keys: not a list (the page filters them)");
  });
  await visit("Dashboards: Dashboard List", async () => {
    const templates = (await gql(await doc("templates"))).getAllTemplates;
    for (const t of templates) {
      const c = JSON.parse(t.configuration);
      must(c.layer && c.entity && typeof c.name === "string", `template ${t.id}: no layer, entity or name`);
    }
    return `${templates.length} dashboards`;
  });
  await visit("Dashboards: New Dashboard", async () => {
    const layers = (await gql(await doc("list-layers"))).layers;
    must(Array.isArray(layers) && layers[0], "listLayers: no first layer");
    await gql(await doc("templates"));
  });
  await visit("Settings (its three tabs at once)", async () => {
    const [nodes, ttl, dump] = await Promise.all([rest("/status/cluster/nodes"), rest("/status/config/ttl"),
      rest("/debugging/config/dump")]);
    must(Array.isArray(nodes.nodes) && nodes.nodes.length, "cluster nodes: no nodes list (the tab reads .length)");
    for (const k of Object.keys(ttl)) must(ttl[k] && typeof ttl[k] === "object", `ttl.${k}: not an object`);
    must(ttl.metrics && ttl.records, "ttl: no metrics or records");
    must(dump && typeof dump === "object" && Object.keys(dump).length, "config dump: empty");
    return `${nodes.nodes.length} node(s), ${Object.keys(dump).length} settings`;
  });
  document.body.dataset.state = "done";
}

walk().catch((e) => {
  row("walk", 0, String(e), false);
  document.body.dataset.state = "done";
});
