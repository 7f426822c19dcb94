// The server's own page (GET /, ui/) in headless Chromium, used as a person would: from the empty page through
// "Profile this" to the flame graph of a busy program, search, zoom, reset, hover; then a second workload joins and the
// comparison of the time before it with the time after it is drawn as a differential flame graph. The checks read what
// is on the screen (pixels of the frames' boxes in screenshots, their sizes and places, the tooltip's words), not only
// the DOM.
//   SWPROF_URL=http://127.0.0.1:12800 SERVICE=name HOT=hot_loop PATH_SYMBOLS=main,outer \
//     SECOND='/path/to/program args' [GUARDED_URL=http://127.0.0.1:12801 GUARDED_TOKEN_FILE=FILE] [OUT=dir] \
//     node viewer.mjs
// SECOND is started by this check (and stopped at its end; give it a time limit of its own too): a process of the
// same service whose frames the first one has none of (busy's syscall mode).
// Prints one line per check and "viewer: N passed, N failed"; exits non-zero when a check failed.
import { checks, launch } from "./lib.mjs";
import { spawn } from "node:child_process";
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const base = (process.env.SWPROF_URL || "http://127.0.0.1:12800").replace(/\/$/, "");
const service = process.env.SERVICE;
const hot = process.env.HOT;
const ancestors = (process.env.PATH_SYMBOLS || "").split(",").filter(Boolean);
const second = (process.env.SECOND || "").split(" ").filter(Boolean);
const out = process.env.OUT || path.join(here, "out");
// GUARDED_URL, GUARDED_TOKEN_FILE: a server that asks for its bearer token (auth.required) and its token
const guarded = process.env.GUARDED_URL ? { url: process.env.GUARDED_URL.replace(/\/$/, ""),
  token: (await readFile(process.env.GUARDED_TOKEN_FILE, "utf8")).trim() } : null;
if (!service || !hot || !second.length) {
  console.error("SERVICE, HOT and SECOND are required");
  process.exit(2);
}

const { check, done } = checks();

// the page's diff document is e2e case 18's (ui/src/docs.js is read unbundled by ui-check's pages too: a copy)
{
  const { DOC } = await import(path.join(here, "..", "ui", "src", "docs.js"));
  const e2e = await readFile(path.join(here, "..", "e2e", "cases", "queries", "swprof", "diff.graphql"), "utf8");
  const flat = (q) => q.replace(/\s+/g, " ").replace(/\s*([{}(),:])\s*/g, "$1").trim();
  check("the page's diff document is e2e's", flat(DOC.diff) === flat(e2e), flat(DOC.diff));
}

/** Waits for probe() to answer something truthy (polling, up to ms); answers it, or null when it never did. */
async function until(ms, probe, every = 250) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) return null;
    await new Promise((r) => setTimeout(r, every));
  }
}

/** The frames named so in a chart, widest first: their boxes on screen, data and fill. */
function frames(page, chart, name) {
  return page.evaluate(([chart, name]) => [...document.querySelectorAll(`${chart} g.frame`)]
    .filter((g) => g.getAttribute("name") === name)
    .map((g) => {
      const r = g.querySelector("rect").getBoundingClientRect();
      const d = g.__data__;
      return { name, x: r.x, y: r.y, w: r.width, h: r.height, fill: g.querySelector("rect").getAttribute("fill"),
        type: d.data.stackType, count: d.data.dumpCount, before: d.data.beforeCount, after: d.data.afterCount,
        path: d.ancestors().map((a) => a.data.name).reverse() };
    }).sort((a, b) => b.w - a.w), [chart, name]);
}

/** The widest frame whose stack type is the one given, anywhere in the chart. */
function framesOfType(page, chart, type) {
  return page.evaluate(([chart, type]) => [...document.querySelectorAll(`${chart} g.frame`)]
    .filter((g) => g.__data__.data.stackType === type)
    .map((g) => {
      const r = g.querySelector("rect").getBoundingClientRect();
      return { name: g.getAttribute("name"), x: r.x, y: r.y, w: r.width, h: r.height, count: g.__data__.data.dumpCount };
    }).sort((a, b) => b.w - a.w), [chart, type]);
}

/** Waits until a frame's box stops moving (the library animates zooms), then answers it. */
async function settled(page, chart, name) {
  let last = null;
  return until(5000, async () => {
    const f = (await frames(page, chart, name))[0];
    const same = f && last && Math.abs(f.w - last.w) < 0.5 && Math.abs(f.x - last.x) < 0.5;
    last = f;
    return same ? f : null;
  }, 300);
}

let decoder; // a blank page that turns screenshots into pixels
/**
 * The colours a person sees in a box: a screenshot of its inner part (the label's text, on the left, left out),
 * decoded into [r, g, b] pixels.
 */
async function pixels(page, box) {
  const clip = { x: Math.round(box.x + Math.min(60, box.w / 3)), y: Math.round(box.y + 2),
    width: Math.max(2, Math.round(box.w - Math.min(60, box.w / 3) - 3)), height: Math.max(2, Math.round(box.h - 4)) };
  const png = await page.screenshot({ clip });
  return decoder.evaluate(async (b64) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const c = document.createElement("canvas");
    c.width = img.width;
    c.height = img.height;
    const ctx = c.getContext("2d");
    ctx.drawImage(img, 0, 0);
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    const px = [];
    for (let i = 0; i < d.length; i += 4) px.push([d[i], d[i + 1], d[i + 2]]);
    return px;
  }, png.toString("base64"));
}

/** The share (0..1) of the pixels that satisfy is(r, g, b). */
const share = (px, is) => px.filter(([r, g, b]) => is(r, g, b)).length / px.length;
const warm = (r, g, b) => r > 180 && r > b + 60; // the user frames' reds, oranges and yellows
const blue = (r, g, b) => b > 180 && b > r + 60;
const magenta = (r, g, b) => r > 180 && b > 180 && g < 120;
const red = (r, g, b) => r > 180 && r > g + 60 && r > b + 60;
const grey = (r, g, b) => Math.abs(r - b) < 25 && Math.abs(r - g) < 25 && r > 150;
const avg = (px) => px.reduce((a, p) => a.map((v, i) => v + p[i] / px.length), [0, 0, 0]).map(Math.round);

const browser = await launch();
let secondProcess = null;
try {
  decoder = await browser.newPage();
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const problems = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && problems.push(`console error: ${m.text()}`));
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on("response", (r) => r.status() >= 400 && problems.push(`${r.status()} from ${r.url()}`));
  await mkdir(out, { recursive: true });

  // ---- the empty page, served by the server itself ----
  const res = await page.goto(`${base}/`);
  check("GET / is the server's page", res.status() === 200 && /^text\/html/.test(res.headers()["content-type"]),
    `${res.status()} ${res.headers()["content-type"]}`);
  const version = await until(20000, async () => (await page.locator("#version").textContent()).trim());
  check("the header shows the server's version", /swprof/.test(version || ""), version);
  check("nothing is chosen yet: no task, no flame graph", await page.locator("#chart svg").count() === 0
    && await page.locator("#profile").isDisabled());

  // ---- the service, and "Profile this" ----
  const entry = page.locator(`#services li[data-name="${service}"]`);
  const listed = await until(30000, async () => {
    if (await entry.count()) return true;
    await page.click("#refresh");
    return false;
  }, 1000);
  if (!check(`the service ${service} is listed`, listed, await page.locator("#services").textContent())) {
    throw new Error("nothing more to check");
  }
  await entry.click();
  await until(10000, async () => !(await page.locator("#profile").isDisabled()));
  const procs = await until(10000, async () => {
    const t = await page.locator("#processes").textContent();
    return /pid \d+/.test(t) ? t : null;
  });
  check("its processes are listed with their pids", procs, procs || "");
  await page.fill("#duration", "300");
  await page.click("#profile");
  const task = await until(15000, async () => {
    const li = page.locator("#tasks li.selected");
    return await li.count() ? li.textContent() : null;
  });
  check("Profile this created a task and picked it", task && /ON_CPU 300 s/.test(task),
    task || `none: ${await page.locator("#error").textContent()}`);

  // ---- its flame graph, drawn as the samples come ----
  const grown = await until(60000, async () => {
    const f = (await frames(page, "#chart", hot))[0];
    return f && f.count >= 100 ? f : null;
  }, 500);
  if (!check(`the flame graph shows ${hot} with 100 samples or more`, grown,
    grown ? `${grown.count}` : `${await page.locator("#summary").textContent()}; ${problems.join("; ")}`)) {
    throw new Error("nothing more to check");
  }
  await page.uncheck("#live");
  const sched = await page.locator("#schedules").textContent();
  check("the task's schedule is listed", /pid \d+/.test(sched), sched);
  const f = await settled(page, "#chart", hot);
  const root = (await frames(page, "#chart", "all"))[0];
  const svgBox = await page.locator("#chart svg").boundingBox();
  check("the root frame spans the graph", root && Math.abs(root.w - svgBox.width) < 2, `${root?.w} of ${svgBox.width}`);
  check(`${hot} takes most of the width`, f.w > 0.5 * root.w, `${Math.round(f.w)} of ${Math.round(root.w)} px`);
  for (const a of ancestors) {
    const af = (await frames(page, "#chart", a))[0];
    check(`${a} is drawn above ${hot}, over it`, af && af.y < f.y && af.x <= f.x + 0.5 && af.x + af.w >= f.x + f.w - 0.5
      && f.path.includes(a), af ? `${a} at y ${af.y}, ${hot} at y ${f.y}` : "not drawn");
  }
  let px = await pixels(page, f);
  check(`${hot} is drawn in a user frame's warm colour`, share(px, warm) > 0.8, `mean rgb ${avg(px)}`);
  await page.screenshot({ path: path.join(out, "viewer.png") });

  // ---- search ----
  await page.fill("#profile-toolbar .search", hot);
  const found = await until(5000, async () => {
    const t = await page.locator("#profile-toolbar .search-result").textContent();
    return /frame\(s\) match/.test(t) ? t : null;
  });
  const said = /^(\d+) frame\(s\) match .*: (\d+) of (\d+) \((\d+\.\d)%\)$/.exec(found || "");
  check("the search says what it found: the hot frame, most of the samples", said && Number(said[1]) >= 1
    && Number(said[4]) >= 50, found || "");
  px = await pixels(page, (await frames(page, "#chart", hot))[0]);
  check(`searching "${hot}" highlights it`, share(px, magenta) > 0.8, `mean rgb ${avg(px)}`);
  const outerName = ancestors[ancestors.length - 1];
  if (outerName) {
    px = await pixels(page, (await frames(page, "#chart", outerName))[0]);
    check(`... and not ${outerName}`, share(px, magenta) < 0.05 && share(px, warm) > 0.8, `mean rgb ${avg(px)}`);
  }
  await page.screenshot({ path: path.join(out, "viewer-search.png") });
  await page.click("#profile-toolbar .clear");
  px = await pixels(page, (await frames(page, "#chart", hot))[0]);
  check("Clear takes the highlight away", share(px, magenta) < 0.05, `mean rgb ${avg(px)}`);

  // ---- hover ----
  const h = (await frames(page, "#chart", hot))[0];
  await page.mouse.move(h.x + h.w / 2, h.y + h.h / 2);
  const tip = await until(5000, async () => {
    const t = page.locator(".d3-flame-graph-tip:visible");
    return await t.count() ? t.first().textContent() : null;
  });
  const m = /(\d+) samples, (\d+\.\d)% of all/.exec(tip || "");
  check("hovering shows its count and share", m && (tip || "").startsWith(hot), tip || "no tooltip");
  if (m) {
    check("... the count is the frame's", Number(m[1]) === h.count, `${m[1]} vs ${h.count}`);
    check("... the share is its width's", Math.abs(Number(m[2]) - (100 * h.w) / root.w) < 1.5,
      `${m[2]}% vs ${((100 * h.w) / root.w).toFixed(1)}% of the width`);
  }
  await page.mouse.move(5, 5);

  // ---- a second workload joins: other frames, kernel ones among them ----
  const joined = Date.now();
  secondProcess = spawn(second[0], second.slice(1), { stdio: "ignore" });
  await page.check("#live");
  const kernel = await until(60000, async () => {
    const k = (await framesOfType(page, "#chart", "KERNEL_SPACE"))[0];
    return k && k.count >= 100 ? k : null;
  }, 500);
  if (!check("the graph follows the task: the second process's kernel frames appear", kernel,
    kernel ? `${kernel.name}: ${kernel.count}` : await page.locator("#summary").textContent())) {
    throw new Error("nothing more to check");
  }
  const seen = Date.now();
  // what comes after must hold enough of both workloads to compare, and hot_loop no longer be most of the graph
  await until(60000, async () => ((await framesOfType(page, "#chart", "KERNEL_SPACE"))[0]?.count || 0)
    >= kernel.count + 150 && ((await frames(page, "#chart", hot))[0]?.w || root.w) < 0.8 * root.w, 500);
  await page.uncheck("#live");
  const k = await settled(page, "#chart", kernel.name);
  px = await pixels(page, k);
  check(`kernel frames are coloured apart (${k.name})`, share(px, blue) > 0.8, `mean rgb ${avg(px)}`);

  // ---- zoom and reset ----
  const before = await settled(page, "#chart", hot);
  check(`${hot} no longer fills the graph`, before.w < 0.9 * root.w, `${Math.round(before.w)} of ${root.w} px`);
  await page.mouse.click(before.x + before.w / 2, before.y + before.h / 2);
  const zoomed = await until(5000, async () => {
    const z = await settled(page, "#chart", hot);
    return z && Math.abs(z.w - root.w) < 2 ? z : null;
  });
  check(`a click on ${hot} zooms: it fills the width`, zoomed, zoomed ? `${zoomed.w} px` : "");
  if (zoomed) {
    const shot = await pixels(page, { x: root.x + 2, y: zoomed.y, w: root.w - 4, h: zoomed.h });
    check("... as drawn on the screen, edge to edge", share(shot, warm) > 0.8, `mean rgb ${avg(shot)}`);
    // drawn now: the zoomed frame, its callers (faded) and its callees; nothing of the other process's paths
    const others = await page.evaluate((hot) => [...document.querySelectorAll("#chart g.frame")].filter((g) => {
      const d = g.__data__;
      const onPath = d.ancestors().some((a) => a.data.name === hot)
        || d.descendants().some((c) => c.data.name === hot);
      return !onPath && g.querySelector("rect").getBoundingClientRect().width >= 1;
    }).map((g) => g.getAttribute("name")), hot);
    check("... and the frames beside it are out of view", others.length === 0, others.join(", "));
  }
  await page.screenshot({ path: path.join(out, "viewer-zoom.png") });
  await page.click("#profile-toolbar .reset");
  const reset = await until(5000, async () => {
    const r = await settled(page, "#chart", hot);
    return r && Math.abs(r.w - before.w) < 2 ? r : null;
  });
  check("Reset zoom brings the whole graph back", reset, reset ? `${reset.w} px` : "");

  // ---- the comparison: before the second process, after it ----
  await page.click("#tab-diff");
  await until(10000, async () => await page.locator("#side-before .side-schedules input").count() > 0
    && await page.locator("#side-after .side-schedules input").count() > 0);
  const local = (ms) => page.evaluate((ms) => {
    const d = new Date(ms);
    const p = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${
      p(d.getSeconds())}`;
  }, ms);
  await page.fill("#side-before .to", await local(joined - 1000));
  await page.fill("#side-after .from", await local(seen + 1000));
  await page.fill("#side-after .to", await local(Date.now() + 1000));
  await page.click("#compare");
  const diffed = await until(20000, async () => {
    if (await page.locator("#error:visible").count()) return "error";
    return (await frames(page, "#diff-chart", hot))[0];
  }, 300);
  const err = (await page.locator("#error").textContent()).trim();
  if (check("Compare draws a differential flame graph", diffed && diffed !== "error", err)) {
    const d = await settled(page, "#diff-chart", hot);
    check(`${hot}: samples on both sides`, d.before > 0 && d.after > 0, `before ${d.before}, after ${d.after}`);
    px = await pixels(page, d);
    check(`${hot}, a smaller share after, is blue`, share(px, blue) > 0.8, `mean rgb ${avg(px)}, fill ${d.fill}`);
    const nk = (await frames(page, "#diff-chart", kernel.name))[0];
    check(`${kernel.name}, new after, is there with no samples before`, nk && nk.before === 0 && nk.after > 0,
      nk ? `before ${nk.before}, after ${nk.after}` : "not drawn");
    if (nk) {
      // the frame under outer where the second process starts its own path (the first new one is the widest)
      const news = await page.evaluate(() => [...document.querySelectorAll("#diff-chart g.frame")]
        .filter((g) => g.__data__.data.beforeCount === 0 && g.__data__.data.afterCount > 0)
        .map((g) => ({ ...g.querySelector("rect").getBoundingClientRect().toJSON(), name: g.getAttribute("name") }))
        .sort((a, b) => b.width - a.width)[0]);
      const np = await pixels(page, { x: news.x, y: news.y, w: news.width, h: news.height });
      const dark = share(np, (r, g, b) => red(r, g, b) && g < 90);
      const light = share(np, (r, g, b) => red(r, g, b) && g >= 110);
      check(`new frames are red and marked (striped): ${news.name}`, share(np, red) > 0.8 && dark > 0.2 && light > 0.1,
        `mean rgb ${avg(np)}, ${Math.round(100 * dark)}% dark, ${Math.round(100 * light)}% light stripes`);
    }
    if (outerName) {
      const o = (await frames(page, "#diff-chart", outerName))[0];
      px = await pixels(page, o);
      check(`${outerName}, all of both sides, is drawn as unchanged (grey)`, share(px, grey) > 0.8, `mean rgb ${avg(px)}`);
    }
    await page.mouse.move(d.x + d.w / 2, d.y + d.h / 2);
    const dtip = await until(5000, async () => {
      const t = page.locator(".d3-flame-graph-tip:visible");
      return await t.count() ? t.first().textContent() : null;
    });
    check("hovering a compared frame shows both counts and the change",
      new RegExp(`before ${d.before} samples .*after ${d.after} samples .*-\\d+\\.\\d points, smaller share`)
        .test(dtip || ""), dtip || "no tooltip");
    await page.mouse.move(5, 5);
    await page.screenshot({ path: path.join(out, "viewer-diff.png") });

    // widths from Before's counts: hot_loop was all of it
    await page.selectOption("#size-by", "before");
    const wide = await until(5000, async () => {
      const w = await settled(page, "#diff-chart", hot);
      const r = (await frames(page, "#diff-chart", "all"))[0];
      return w && r && Math.abs(w.w - r.w) < 2 ? w : null;
    });
    check(`with Before's widths ${hot} fills the graph`, wide, wide ? `${wide.w} px` : "");
    await page.selectOption("#size-by", "after");

    // Halves of Before: one range split in two, the same task and schedules on both sides
    await page.click("#halves");
    const halves = await until(5000, async () => {
      const v = await page.evaluate(() => ["#side-before .to", "#side-after .from", "#side-before .task",
        "#side-after .task"].map((s) => document.querySelector(s).value));
      return v[0] && v[1] && new Date(v[0]) < new Date(v[1]) && v[2] === v[3] ? v : null;
    });
    check("Halves of Before splits its range: Before ends before After starts, same task", halves,
      halves ? halves.slice(0, 2).join(" < ") : "");
    const earlier = await page.locator("#diff-summary").textContent();
    await page.click("#compare");
    const halved = await until(10000, async () => {
      const t = await page.locator("#diff-summary").textContent();
      return t !== earlier && /before \d+ samples, after \d+ samples/.test(t)
        && !(await page.locator("#error").isVisible()) ? t : null;
    });
    check("... and compares them", halved, halved || await page.locator("#error").textContent());
  }
  check("no page error, console error or failed request", problems.length === 0, problems.join("; "));

  // ---- a server that asks for its token: the page opens, asks for it, then works ----
  if (guarded) {
    const g = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const gres = await g.goto(`${guarded.url}/`);
    check("a server that asks for a token still serves its page", gres.status() === 200, `${gres.status()}`);
    const asked = await until(10000, async () => g.locator("#token-form").isVisible());
    check("... which asks for the token", asked && (await g.locator("#version").textContent()) === "",
      await g.locator("body").innerText());
    await g.fill("#token", "not-the-token-0123456789");
    await g.click("#token-form button");
    const again = await until(10000, async () => g.locator("#token-form").isVisible());
    check("... asks again for a wrong one", again);
    await g.fill("#token", guarded.token);
    await g.click("#token-form button");
    const v = await until(10000, async () => (await g.locator("#version").textContent()).trim());
    check("... and with the right one shows what the server answers", /swprof/.test(v || "")
      && !(await g.locator("#token-form").isVisible()) && !(await g.locator("#error").isVisible()),
    `${v}; ${await g.locator("#error").textContent()}`);
    await g.screenshot({ path: path.join(out, "viewer-token.png") });
  }
} catch (e) {
  check("the walk through the page ran to its end", false, String(e && e.stack ? e.stack : e));
} finally {
  if (secondProcess) secondProcess.kill();
  await browser.close();
}
done("viewer");
