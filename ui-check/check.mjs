// Opens page/ in headless Chromium as if served by the swprof server under test (same origin, so the page's
// /graphql requests go to the real server), waits for the flame graph and checks what a person sees in it.
//   SWPROF_URL=http://127.0.0.1:12800 SERVICE=name HOT=symbol [PATH_SYMBOLS=main,outer] [OUT=dir] node check.mjs
// Prints one line per check and a closing "N passed, N failed"; exits non-zero when a check failed.
import { checks, launch } from "./lib.mjs";
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const base = (process.env.SWPROF_URL || "http://127.0.0.1:12800").replace(/\/$/, "");
const service = process.env.SERVICE;
const hot = process.env.HOT;
const ancestors = (process.env.PATH_SYMBOLS || "").split(",").filter(Boolean);
const out = process.env.OUT || path.join(here, "out");
if (!service || !hot) {
  console.error("SERVICE and HOT are required");
  process.exit(2);
}

const { check, done } = checks();

const queries = path.join(here, "..", "e2e", "cases", "queries");
/**
 * The pages' own files, the documents they share with the server's page (ui/src/docs.js) and the e2e documents under
 * /ui-check/queries/; everything else reaches the server.
 */
async function serveOwnFiles(route) {
  const name = new URL(route.request().url()).pathname.replace(/^\/ui-check\//, "") || "index.html";
  const file = name.startsWith("queries/") ? path.join(queries, name.slice(8))
    : name === "docs.js" ? path.join(here, "..", "ui", "src", "docs.js") : path.join(here, "page", name);
  const type = name.endsWith(".js") ? "text/javascript" : name.endsWith(".html") ? "text/html" : "text/plain";
  try {
    route.fulfill({ status: 200, contentType: type, body: await readFile(file) });
  } catch {
    route.fulfill({ status: 404, contentType: "text/plain", body: `no ${name}` });
  }
}

const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  const logs = [];
  page.on("console", (m) => logs.push(`console.${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => logs.push(`pageerror: ${e.message}`));
  // the page's own files; everything else (POST /graphql) reaches the server
  await page.route(`${base}/ui-check/**`, serveOwnFiles);
  const url = `${base}/ui-check/index.html?service=${encodeURIComponent(service)}&expect=${encodeURIComponent(hot)}`;
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.state !== "loading", null, { timeout: 90000 });
  await mkdir(out, { recursive: true });
  const shot = path.join(out, "flamegraph.png");
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`screenshot ${shot}`);

  const state = await page.evaluate(() => document.body.dataset.state);
  check("the page drew a flame graph", state === "drawn", state === "drawn" ? "" :
    `${await page.locator("#error").textContent()}; ${logs.join("; ")}`);
  if (state === "drawn") {
    const graph = await page.locator("#graph").boundingBox();
    const rootBox = await page.locator('.frame.ROOT').boundingBox();
    check("the root box spans the graph", rootBox && Math.abs(rootBox.width - graph.width) < 2,
      `${rootBox && rootBox.width} of ${graph.width} px`);
    const hotBoxes = page.locator(`.frame[data-symbol="${hot}"]`);
    const n = await hotBoxes.count();
    check(`a box for ${hot} is shown`, n > 0 && await hotBoxes.first().isVisible(), `${n} box(es)`);
    if (n > 0) {
      const box = await hotBoxes.first().boundingBox();
      const text = (await hotBoxes.first().textContent()).trim();
      check(`its label reads ${hot}`, text === hot, text);
      // the busy program spends nearly all its time there: the box is most of the width
      check(`${hot} takes most of the width`, box.width >= 0.5 * graph.width,
        `${Math.round(box.width)} of ${Math.round(graph.width)} px`);
      const p = await hotBoxes.first().getAttribute("data-path");
      for (const a of ancestors) {
        check(`${a} is above ${hot}`, p.split(";").includes(a), p);
      }
      const title = await hotBoxes.first().getAttribute("title");
      check("hovering shows its sample count", /\d+ samples \(\d+(\.\d)?% of all\)/.test(title), title.split("\n")[1]);
    }
    const header = await page.locator("header").textContent();
    check("the header shows the server's version and zone", /swprof \S+/.test(header) && /[+-]\d{4}/.test(header),
      header.replace(/\s+/g, " ").trim());
    const task = await page.locator("#task").textContent();
    check("the task the UI created covers every process of the service for 600 s",
      /ON_CPU 600 s, labels \[\]/.test(task), task);
  }

  // ---- every page of the UI's menu ----
  const walk = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  const problems = [];
  walk.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  walk.on("console", (m) => m.type() === "error" && problems.push(`console error: ${m.text()}`));
  walk.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  walk.on("response", (r) => r.status() >= 400 && problems.push(`${r.status()} from ${r.url()}`));
  await walk.route(`${base}/ui-check/**`, serveOwnFiles);
  await walk.goto(`${base}/ui-check/walk.html?service=${encodeURIComponent(service)}`);
  await walk.waitForFunction(() => document.body.dataset.state === "done", null, { timeout: 60000 });
  await walk.screenshot({ path: path.join(out, "pages.png"), fullPage: true });
  const pages = await walk.$$eval("tr.page", (rows) => rows.map((r) => ({ page: r.dataset.page,
    ok: r.classList.contains("ok"), result: r.lastChild.textContent })));
  for (const p of pages) {
    check(`page "${p.page}" opens without an error`, p.ok, p.result);
  }
  check("every menu page was walked", pages.length >= 10, `${pages.length} pages`);
  const toasts = await walk.locator(".toast.error").count();
  check("no error toast, no page error, no failed request", toasts === 0 && problems.length === 0,
    [...problems, `${toasts} toast(s)`].join("; "));
} finally {
  await browser.close();
}
done("ui-check");
