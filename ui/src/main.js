// swprof's page: services and their processes, "Profile this" (a fixed-time task on the service), its tasks and
// schedules, the analysis as an interactive flame graph, and two sides (time ranges, schedules or tasks) compared as a
// differential flame graph. Every request is one of booster-ui's documents (docs.js) but the comparison's, which is
// swprof's diffEBPFProfilingAnalyzation.
import { DOC, duration } from "./docs.js";
import { gql, NeedsToken, setToken } from "./api.js";
import { hierarchy } from "./tree.js";
import { FlameView } from "./flame.js";
import "./style.css";

const $ = (id) => document.getElementById(id);
const LIVE_MS = 3000;

const state = {
  tzMinutes: 0, // the server's zone, minutes east of UTC (what the UI's durations are written in)
  service: null, // {id, label, ...}
  tasks: [],
  task: null,
  schedules: [],
  unchecked: new Set(), // schedule ids the person took out of the analysis
  lastRequest: "", // the analysis request last drawn, to redraw only on a change
  timer: 0,
  diffAnswer: null,
};

// ---- small DOM helpers ----

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") e.className = v;
    else if (k === "dataset") Object.assign(e.dataset, v);
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e[k] = v;
  }
  e.append(...children);
  return e;
}

function fill(list, items, empty) {
  list.replaceChildren(...(items.length ? items : [el("li", { class: "empty" }, empty)]));
}

function showError(e) {
  if (e instanceof NeedsToken) {
    $("token-form").hidden = false;
    $("token").focus();
    return;
  }
  $("error").hidden = false;
  $("error").textContent = String(e && e.message ? e.message : e);
}

function clearError() {
  $("error").hidden = true;
  $("error").textContent = "";
}

/** Runs an action of the page; a failure is shown, never thrown into the void. */
function act(fn) {
  return (...args) => Promise.resolve().then(() => fn(...args)).then(clearError, showError);
}

const pad = (n) => String(n).padStart(2, "0");
const clock = (ms) => {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())
  }:${pad(d.getSeconds())}`;
};
/** ms -> the value of a datetime-local input with seconds (the browser's zone), and back */
const toInput = (ms) => clock(ms).replace(" ", "T");
const fromInput = (v) => (v ? new Date(v).getTime() : NaN);

/** "+0800" -> 480 */
function zoneMinutes(tz) {
  const m = /^([+-])?(\d{1,2}):?(\d{2})$/.exec(String(tz).trim());
  if (!m) return 0;
  return (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}

/** A count of a tree as words: samples (on CPU), switches (off CPU), or the time blocked (DURATION, in ns). */
function amount(v, targetType, aggregate) {
  if (aggregate === "DURATION") return `${(v / 1e6).toFixed(1)} ms blocked`;
  return `${v} ${targetType === "OFF_CPU" ? "switches" : "samples"}`;
}

/** The target type of the task a comparison's side picked. */
function sideTarget(side) {
  const t = state.tasks.find((x) => x.taskId === side.querySelector(".task").value);
  return t ? t.targetType : "ON_CPU";
}

const pct = (part, whole) => (whole ? ((100 * part) / whole).toFixed(1) : "0.0");

// ---- the flame graph of one analysis ----

/** A deterministic 0..1 of a name, so a frame keeps its colour from one drawing to the next. */
function hash01(name) {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return (h % 1000) / 999;
}

/** Kernel frames in blues, user frames in the library's warm colours, the root grey; a search match as it says. */
function frameColor(d, original) {
  if (d.highlight) return original;
  const t = d.data.stackType;
  if (t === "ROOT") return "rgb(200,200,200)";
  if (t === "KERNEL_SPACE") {
    const v = hash01(d.data.name);
    return `rgb(${Math.round(70 + 60 * v)},${Math.round(140 + 50 * v)},${Math.round(215 + 40 * v)})`;
  }
  return original;
}

function frameLabel(d) {
  const root = d.ancestors().pop();
  const total = root.data.dumpCount;
  const parent = d.parent ? d.parent.data.dumpCount : total;
  const n = amount(d.data.dumpCount, state.task && state.task.targetType, $("aggregate").value);
  const where = d.data.stackType === "KERNEL_SPACE" ? "kernel" : d.data.stackType === "ROOT" ? "every tree"
    : "user space";
  return `${d.data.name}\n${n}, ${pct(d.data.dumpCount, total)}% of all, ${
    pct(d.data.dumpCount, parent)}% of its caller (${where})`;
}

const profile = new FlameView({
  chart: $("chart"),
  toolbar: $("profile-toolbar"),
  details: document.querySelector("#view-profile .details"),
  color: frameColor,
  label: frameLabel,
});

// ---- services, processes, tasks, schedules ----

async function loadServices() {
  const layers = (await gql(DOC.layers)).layers;
  const byId = new Map();
  for (const layer of layers) {
    for (const s of (await gql(DOC.services, { layer })).services) byId.set(s.id, s);
  }
  const services = [...byId.values()].sort((a, b) => a.label.localeCompare(b.label));
  fill($("services"), services.map((s) => el("li", {
    class: state.service && state.service.id === s.id ? "selected" : "",
    dataset: { id: s.id, name: s.label },
    title: `${s.label} (${s.layers.join(", ")})`,
    onclick: act(() => pickService(s)),
  }, s.label)), "no services yet: the server lists the programs its discovery rules match once they run");
  return services;
}

async function pickService(s) {
  state.service = s;
  state.task = null;
  state.schedules = [];
  profile.clear();
  $("summary").textContent = "pick a task (or profile it)";
  // the comparison was of another service's tasks
  state.diffAnswer = null;
  diffView.clear();
  $("diff-summary").textContent = "choose the two sides, then Compare";
  for (const side of Object.values(sides)) {
    side.querySelector(".task").value = "";
    side.querySelector(".side-schedules").replaceChildren();
  }
  for (const li of $("services").children) li.classList.toggle("selected", li.dataset.id === s.id);
  $("profile").disabled = false;
  location.hash = `service=${encodeURIComponent(s.id)}`;
  await Promise.all([loadProcesses(), loadLabels(), loadTasks()]);
  fill($("schedules"), [], "pick a task");
}

async function loadProcesses() {
  const s = state.service;
  const d = duration("MINUTE", state.tzMinutes);
  const items = [];
  for (const pod of (await gql(DOC.instances, { serviceId: s.id, duration: d })).pods) {
    for (const p of (await gql(DOC.processes, { instanceId: pod.id, duration: d })).processes) {
      const pids = p.attributes.filter((a) => a.name === "pid").map((a) => a.value).join(", ");
      items.push(el("li", { title: `${p.label} on ${p.instanceName}, pid ${pids}, labels [${p.labels.join(", ")}]` },
        `${p.label} `, el("span", { class: "hint" }, `${p.instanceName} · pid ${pids || "?"}${
          p.labels.length ? ` · ${p.labels.join(", ")}` : ""}`)));
    }
  }
  fill($("processes"), items, "no process of this service runs now");
}

async function loadLabels() {
  const prep = (await gql(DOC.createTaskData, { serviceId: state.service.id })).createTaskData;
  $("labels").replaceChildren(...prep.processLabels.map((l) => el("label", {},
    el("input", { type: "checkbox", value: l }), ` ${l}`)));
  $("profile-status").textContent = prep.couldProfiling ? "every process of the service, or those with all the " +
    "labels ticked" : "nothing of this service can be profiled now";
}

function taskLine(t) {
  const end = Number(t.taskStartTime) + t.fixedTriggerDuration * 1000;
  const open = Date.now() < end;
  return `${clock(Number(t.taskStartTime))} · ${t.targetType} ${t.fixedTriggerDuration} s${
    t.processLabels.length ? ` [${t.processLabels.join(", ")}]` : ""}${open ? " · running" : ""}`;
}

async function loadTasks() {
  const s = state.service;
  state.tasks = (await gql(DOC.tasks, { serviceId: s.id, targets: ["ON_CPU", "OFF_CPU"], triggerType: "FIXED_TIME" }))
    .queryEBPFTasks;
  fill($("tasks"), state.tasks.map((t) => el("li", {
    class: state.task && state.task.taskId === t.taskId ? "selected" : "",
    dataset: { id: t.taskId },
    onclick: act(() => pickTask(t)),
  }, taskLine(t))), "no task yet: Profile this");
  if (state.task) state.task = state.tasks.find((t) => t.taskId === state.task.taskId) || state.task;
  fillSideTasks();
}

async function pickTask(t) {
  state.task = t;
  state.unchecked.clear();
  state.lastRequest = "";
  profile.clear();
  for (const li of $("tasks").children) li.classList.toggle("selected", li.dataset.id === t.taskId);
  location.hash = `service=${encodeURIComponent(state.service.id)}&task=${encodeURIComponent(t.taskId)}`;
  $("aggregate").value = "COUNT";
  await refreshTask();
}

/** Every open time range of the schedules, overlapping ones merged. */
function mergedRanges(schedules) {
  const ranges = schedules.map((s) => ({ start: Number(s.startTime), end: Number(s.endTime) }))
    .filter((r) => r.end >= r.start).sort((a, b) => a.start - b.start);
  const out = [];
  for (const r of ranges) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end) last.end = Math.max(last.end, r.end);
    else out.push({ ...r });
  }
  return out;
}

function scheduleLine(s) {
  const pid = s.process.attributes.filter((a) => a.name === "pid").map((a) => a.value).join(", ");
  return `${s.process.name} (pid ${pid || "?"}) ${clock(Number(s.startTime))} +${
    ((Number(s.endTime) - Number(s.startTime)) / 1000).toFixed(1)} s`;
}

/** Re-reads the task's schedules and, when what they cover changed, analyses and draws again. */
async function refreshTask() {
  const task = state.task;
  if (!task) return;
  const schedules = (await gql(DOC.schedules, { taskId: task.taskId })).eBPFSchedules;
  if (state.task !== task) return; // another task was picked meanwhile
  state.schedules = schedules;
  fill($("schedules"), schedules.map((s) => el("li", { title: scheduleLine(s) }, el("label", {},
    el("input", {
      type: "checkbox", checked: !state.unchecked.has(s.scheduleId), dataset: { id: s.scheduleId },
      onchange: act((e) => {
        if (e.target.checked) state.unchecked.delete(s.scheduleId);
        else state.unchecked.add(s.scheduleId);
        return analyse();
      }),
    }), ` ${scheduleLine(s)}`))), "none yet: a schedule starts when a process of the task runs");
  await analyse();
}

async function analyse() {
  const chosen = state.schedules.filter((s) => !state.unchecked.has(s.scheduleId));
  const timeRanges = mergedRanges(chosen);
  if (!chosen.length || !timeRanges.length) {
    $("summary").textContent = state.schedules.length ? "no schedule chosen" : "waiting for a schedule…";
    return;
  }
  const request = { scheduleIdList: chosen.map((s) => s.scheduleId), timeRanges, aggregateType: $("aggregate").value };
  const key = JSON.stringify(request);
  if (key === state.lastRequest) return;
  const answer = (await gql(DOC.analysis, request)).analysisEBPFResult;
  state.lastRequest = key;
  const root = hierarchy(answer.trees, ["dumpCount"]);
  const frames = answer.trees.reduce((n, t) => n + t.elements.length, 0);
  $("summary").textContent = answer.tip ? answer.tip : `${amount(root.dumpCount, state.task.targetType,
    request.aggregateType)} in ${frames} frames · ${chosen.length} schedule(s) · ${clock(timeRanges[0].start)} – ${
    clock(timeRanges[timeRanges.length - 1].end)}`;
  if (root.dumpCount) profile.draw(root, (n) => n.dumpCount);
  else profile.clear();
}

async function createTask() {
  const duration = Number($("duration").value);
  if (!Number.isInteger(duration) || duration < 1) throw new Error("the duration is a whole number of seconds, 1 or more");
  const labels = [...$("labels").querySelectorAll("input:checked")].map((i) => i.value);
  $("profile").disabled = true;
  try {
    const prep = (await gql(DOC.createTaskData, { serviceId: state.service.id })).createTaskData;
    if (!prep.couldProfiling) throw new Error(`${state.service.label} cannot be profiled now`);
    const created = (await gql(DOC.createTask, { request: {
      serviceId: state.service.id, processLabels: labels, startTime: Date.now(), duration,
      targetType: $("target").value } })).createTaskData;
    if (!created.status) throw new Error(`the task was not created: ${created.errorReason}`);
    $("profile-status").textContent = `task ${created.id} created: profiling for ${duration} s`;
    await loadTasks();
    const task = state.tasks.find((t) => t.taskId === created.id);
    if (!task) throw new Error(`task ${created.id} was created but is not listed`);
    $("live").checked = true;
    await pickTask(task);
  } finally {
    $("profile").disabled = false;
  }
}

function live() {
  clearTimeout(state.timer);
  if (!$("live").checked) return;
  state.timer = setTimeout(async () => {
    try {
      if (state.service && !document.hidden) {
        await loadTasks();
        await refreshTask();
        clearError();
      }
    } catch (e) {
      showError(e);
    }
    live();
  }, LIVE_MS);
}

// ---- the comparison ----

/** The two sides, Before and After, made from one template: fieldsets #side-before and #side-after. */
const sides = {};
for (const [key, title] of [["before", "Before"], ["after", "After"]]) {
  const side = $("side").content.firstElementChild.cloneNode(true);
  side.id = `side-${key}`;
  side.querySelector("legend").textContent = title;
  $("sides").append(side);
  sides[key] = side;
}

function fillSideTasks() {
  for (const side of Object.values(sides)) {
    const select = side.querySelector(".task");
    const was = select.value;
    select.replaceChildren(el("option", { value: "" }, "—"), ...state.tasks.map((t) =>
      el("option", { value: t.taskId, selected: t.taskId === was }, taskLine(t))));
  }
}

async function sideTask(side) {
  const taskId = side.querySelector(".task").value;
  const box = side.querySelector(".side-schedules");
  if (!taskId) {
    box.replaceChildren();
    return [];
  }
  const schedules = (await gql(DOC.schedules, { taskId })).eBPFSchedules;
  box.replaceChildren(...schedules.map((s) => el("label", { title: scheduleLine(s) },
    el("input", { type: "checkbox", checked: true, value: s.scheduleId, dataset: {
      start: s.startTime, end: s.endTime } }), ` ${scheduleLine(s)}`)));
  wholeRange(side);
  return schedules;
}

/** The side's range: from the first start to the last end of its ticked schedules. */
function wholeRange(side) {
  const ticked = [...side.querySelectorAll(".side-schedules input:checked")];
  if (!ticked.length) return;
  const start = Math.min(...ticked.map((i) => Number(i.dataset.start)));
  const end = Math.max(...ticked.map((i) => Number(i.dataset.end)));
  side.querySelector(".from").value = toInput(Math.floor(start / 1000) * 1000);
  side.querySelector(".to").value = toInput(Math.ceil(end / 1000) * 1000);
}

function sideRequest(side, name) {
  const scheduleIdList = [...side.querySelectorAll(".side-schedules input:checked")].map((i) => i.value);
  if (!scheduleIdList.length) throw new Error(`${name}: pick a task and at least one of its schedules`);
  const start = fromInput(side.querySelector(".from").value);
  const end = fromInput(side.querySelector(".to").value);
  if (!Number.isFinite(start) || !Number.isFinite(end)) throw new Error(`${name}: give both ends of its time range`);
  if (end <= start) throw new Error(`${name}: its range ends (${clock(end)}) before it starts (${clock(start)})`);
  return { scheduleIdList, timeRanges: [{ start, end }] };
}

async function halves() {
  const before = sides.before;
  const taskId = before.querySelector(".task").value;
  if (!taskId) throw new Error("Before: pick a task first");
  wholeRange(before);
  const start = fromInput(before.querySelector(".from").value);
  const end = fromInput(before.querySelector(".to").value);
  const mid = Math.round((start + end) / 2000) * 1000;
  const after = sides.after;
  after.querySelector(".task").value = taskId;
  await sideTask(after);
  const ticked = new Set([...before.querySelectorAll(".side-schedules input:checked")].map((i) => i.value));
  for (const i of after.querySelectorAll(".side-schedules input")) i.checked = ticked.has(i.value);
  before.querySelector(".to").value = toInput(mid - 1000);
  after.querySelector(".from").value = toInput(mid);
  after.querySelector(".to").value = toInput(end);
}

/** How the share of the samples in a frame changed, and what that looks like. */
function diffOf(d) {
  const root = d.ancestors().pop().data;
  const sb = root.beforeCount ? d.data.beforeCount / root.beforeCount : 0;
  const sa = root.afterCount ? d.data.afterCount / root.afterCount : 0;
  return { sb, sa, change: sa - sb };
}

const SAME = 0.005; // a change of share below half a percent point is drawn as none
const FULL = 0.2; // twenty points of share is the strongest colour

function diffColor(d, original) {
  if (d.highlight) return original;
  if (d.data.stackType === "ROOT") return "rgb(200,200,200)";
  if (!d.data.beforeCount && d.data.afterCount) return "url(#swp-new)";
  if (d.data.beforeCount && !d.data.afterCount) return "url(#swp-gone)";
  const { change } = diffOf(d);
  if (Math.abs(change) < SAME) return "rgb(225,225,225)";
  const v = Math.round(210 - 170 * Math.min(1, Math.abs(change) / FULL));
  return change > 0 ? `rgb(255,${v},${v})` : `rgb(${v},${v},255)`;
}

function diffLabel(d) {
  const { sb, sa, change } = diffOf(d);
  const a = $("diff-aggregate").value;
  const what = !d.data.beforeCount && d.data.afterCount ? "new" : d.data.beforeCount && !d.data.afterCount ? "gone"
    : Math.abs(change) < SAME ? "about the same" : change > 0 ? "larger share" : "smaller share";
  return `${d.data.name}\nbefore ${amount(d.data.beforeCount, sideTarget(sides.before), a)} (${(100 * sb).toFixed(1)
  }%), after ${amount(d.data.afterCount, sideTarget(sides.after), a)} (${(100 * sa).toFixed(1)}%): ${change >= 0 ? "+" : ""}${(100 * change).toFixed(1)} points, ${what}`;
}

/**
 * The patterns of new and gone frames, in the graph's svg (no <g> in them: the library selects every g; style.css
 * keeps the library's frame style off their rects).
 */
function patterns(svg) {
  if (svg.querySelector("#swp-new")) return;
  const ns = "http://www.w3.org/2000/svg";
  const defs = document.createElementNS(ns, "defs");
  for (const [id, base, stripe] of [["swp-new", "rgb(200,0,0)", "rgb(255,150,150)"],
    ["swp-gone", "rgb(0,0,200)", "rgb(150,150,255)"]]) {
    const p = document.createElementNS(ns, "pattern");
    p.setAttribute("id", id);
    p.setAttribute("width", "6");
    p.setAttribute("height", "6");
    p.setAttribute("patternUnits", "userSpaceOnUse");
    p.setAttribute("patternTransform", "rotate(45)");
    const bg = document.createElementNS(ns, "rect");
    bg.setAttribute("width", "6");
    bg.setAttribute("height", "6");
    bg.setAttribute("fill", base);
    const line = document.createElementNS(ns, "rect");
    line.setAttribute("width", "2");
    line.setAttribute("height", "6");
    line.setAttribute("fill", stripe);
    p.append(bg, line);
    defs.append(p);
  }
  svg.prepend(defs);
}

const diffView = new FlameView({
  chart: $("diff-chart"),
  toolbar: $("diff-toolbar"),
  details: document.querySelector("#view-diff .details"),
  color: diffColor,
  label: diffLabel,
  onDraw: patterns,
});

function drawDiff() {
  const answer = state.diffAnswer;
  if (!answer) return;
  const root = hierarchy(answer.trees, ["beforeCount", "afterCount"]);
  const by = $("size-by").value === "before" ? "beforeCount" : "afterCount";
  const a = $("diff-aggregate").value;
  $("diff-summary").textContent = `before ${amount(root.beforeCount, sideTarget(sides.before), a)}, after ${
    amount(root.afterCount, sideTarget(sides.after), a)}; widths: ${
    by === "afterCount" ? "after" : "before"}${answer.tip ? ` · ${answer.tip}` : ""}`;
  if (root[by]) diffView.draw(root, (n) => n[by]);
  else diffView.clear();
}

async function compare() {
  const before = sideRequest(sides.before, "Before");
  const after = sideRequest(sides.after, "After");
  const aggregateType = $("diff-aggregate").value;
  state.diffAnswer = (await gql(DOC.diff, { before, after, aggregateType })).diff;
  drawDiff();
}

// ---- wiring ----

function tab(name) {
  $("view-profile").hidden = name !== "profile";
  $("view-diff").hidden = name !== "diff";
  $("tab-profile").classList.toggle("active", name === "profile");
  $("tab-diff").classList.toggle("active", name === "diff");
  if (name === "diff" && state.task && !sides.before.querySelector(".task").value) {
    sides.before.querySelector(".task").value = state.task.taskId;
    sides.after.querySelector(".task").value = state.task.taskId;
    return Promise.all([sideTask(sides.before), sideTask(sides.after)]);
  }
  return null;
}

async function start() {
  const [time, version] = await Promise.all([gql(DOC.time), gql(DOC.version)]);
  state.tzMinutes = zoneMinutes(time.getTimeInfo.timezone);
  $("version").textContent = version.version;
  $("zone").textContent = `server zone UTC${time.getTimeInfo.timezone}`;
  const services = await loadServices();
  const hash = new URLSearchParams(location.hash.slice(1));
  const s = services.find((x) => x.id === hash.get("service"));
  if (s) {
    await pickService(s);
    const t = state.tasks.find((x) => x.taskId === hash.get("task"));
    if (t) await pickTask(t);
  }
  live();
}

$("token-form").addEventListener("submit", (e) => {
  e.preventDefault();
  setToken($("token").value.trim());
  $("token-form").hidden = true;
  act(start)();
});
$("refresh").addEventListener("click", act(async () => {
  await loadServices();
  if (state.service) await Promise.all([loadProcesses(), loadTasks()]);
}));
$("profile").addEventListener("click", act(createTask));
$("aggregate").addEventListener("change", act(analyse));
$("live").addEventListener("change", live);
$("tab-profile").addEventListener("click", act(() => tab("profile")));
$("tab-diff").addEventListener("click", act(() => tab("diff")));
for (const side of Object.values(sides)) {
  side.querySelector(".task").addEventListener("change", act(() => sideTask(side)));
  side.querySelector(".whole").addEventListener("click", act(() => wholeRange(side)));
  side.querySelector(".side-schedules").addEventListener("change", () => wholeRange(side));
}
$("halves").addEventListener("click", act(halves));
$("compare").addEventListener("click", act(compare));
$("size-by").addEventListener("change", act(drawDiff));
$("diff-aggregate").addEventListener("change", act(compare));
act(start)();
