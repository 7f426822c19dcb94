// What ui-check's checks share: one line per check and the closing count, and Debian's Chromium driven by
// playwright-core (no browser is downloaded).
import { chromium } from "playwright-core";

/** check(what, ok, detail) prints "ok  what" or "FAIL what (detail)" and counts; done(name) prints and exits. */
export function checks() {
  let passed = 0;
  let failed = 0;
  return {
    check(what, ok, detail = "") {
      console.log(`${ok ? "ok  " : "FAIL"} ${what}${detail ? ` (${String(detail).replace(/\n/g, " | ")})` : ""}`);
      ok ? passed++ : failed++;
      return ok;
    },
    done(name) {
      console.log(`${name}: ${passed} passed, ${failed} failed`);
      process.exit(failed ? 1 : 0);
    },
  };
}

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}
