#!/usr/bin/env python3
"""e2e/diff.py — `swprof diff` on two real recordings of a workload that changed.

`build/targets/shift old` spends its time in main -> work -> {steady, old_path}, `shift new` in
main -> work -> {steady, new_path}. Both are recorded with `swprof record`, then compared:

  svg     parsed as XML: new_path red and marked new, old_path blue and marked gone (drawn with its
          share of the old recording), steady pale (its share did not move), widths by the new side;
          the same SVG in the html page
  folded  difffolded lines, `stack countA countB` as flamegraph.pl reads them: split into their two
          columns they are the two recordings again (the same trees as `swprof tree` of each file); with
          flamegraph.pl and difffolded.pl on PATH, also drawn by the one and the same as the other's
  store   the two recordings imported at two times into one schedule (`swprof import`): two time
          ranges of that schedule give the same diff as the two files; a task's range as well
  errors  an unknown schedule, a range that ends before it starts, an unreadable file, a side without
          samples: a non-zero exit and a one-line reason

Needs root (BPF) and the swprof build (scripts/setup.sh).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checks  # noqa: E402
from checks import check  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SWPROF = os.path.join(ROOT, "build/swprof")
TARGETS = os.path.join(ROOT, "build/targets")
SVG = "{http://www.w3.org/2000/svg}"
# flamegraph.pl's reading of a difffolded line: the stack, then two counts
DIFFFOLDED = re.compile(r"^(.*)\s+?(\d+(?:\.\d*)?)\s+?(\d+(?:\.\d*)?)$")


def swprof(*args, ok=True):
    r = subprocess.run([SWPROF] + list(args), capture_output=True, text=True, timeout=120)
    if ok and r.returncode != 0:
        raise RuntimeError("swprof %s: %s" % (" ".join(args), r.stderr.strip()))
    return r


def record(version, path):
    """Records 3 s of `shift VERSION` into path (collapsed stacks)."""
    p = subprocess.Popen([os.path.join(TARGETS, "shift"), version, "5"], stdout=subprocess.PIPE, text=True)
    try:
        p.stdout.readline()  # its banner: it runs
        with open(path, "w") as f:
            subprocess.run([SWPROF, "record", "--pid", str(p.pid), "--duration", "3"], stdout=f, check=True,
                           timeout=60)
    finally:
        p.kill()
        p.wait()


def frames(svg_text):
    """name -> (class, (r, g, b), width, title) of every frame of a flame graph (the widest of a name)."""
    root = ET.fromstring(svg_text)
    out = {}
    for g in root.iter(SVG + "g"):
        title, rect = g.find(SVG + "title"), g.find(SVG + "rect")
        if title is None or rect is None:
            continue
        name = title.text.split(" (")[0]
        m = re.match(r"rgb\((\d+),(\d+),(\d+)\)", rect.get("fill", ""))
        w = float(rect.get("width"))
        if m and (name not in out or w > out[name][2]):
            out[name] = (g.get("class"), tuple(int(x) for x in m.groups()), w, title.text)
    return out


def check_svg(what, svg_text):
    try:
        f = frames(svg_text)
    except ET.ParseError as e:
        check("%s: well-formed XML" % what, False, str(e))
        return
    new, old, steady = f.get("new_path"), f.get("old_path"), f.get("steady")
    check("%s: new_path is red and marked new" % what,
          new is not None and new[0] == "f new" and new[1][0] == 255 and new[1][1] < 120 and new[1][2] < 120,
          new and "%s %s %s" % (new[0], new[1], new[3]))
    check("%s: old_path (gone) is blue and marked gone, still drawn" % what,
          old is not None and old[0] == "f gone" and old[1][2] == 255 and old[1][0] < 120 and old[2] > 100,
          old and "%s %s %.0f px %s" % old)
    check("%s: steady kept its share: pale" % what,
          steady is not None and min(steady[1]) >= 100, steady and "%s %s" % (steady[1], steady[3]))
    check("%s: widths by the new side: new_path about as wide as steady" % what,
          new is not None and steady is not None and 0.5 <= new[2] / steady[2] <= 2.0,
          new and steady and "%.0f vs %.0f px" % (new[2], steady[2]))


def split_difffolded(text):
    """The two sides of difffolded lines, as collapsed stacks; None when a line is not `stack a b`."""
    a, b = [], []
    for line in text.splitlines():
        m = DIFFFOLDED.match(line)
        if not m:
            return None
        a.append("%s %s" % (m.group(1), m.group(2)))
        b.append("%s %s" % (m.group(1), m.group(3)))
    return "\n".join(a) + "\n", "\n".join(b) + "\n"


def tree_of(path):
    return swprof("tree", path).stdout


def main():
    if os.geteuid() != 0:
        print("e2e/diff.py needs root (BPF)", file=sys.stderr)
        return 2
    tmp = tempfile.mkdtemp(prefix="swprof-diff-")
    try:
        old, new = os.path.join(tmp, "old.folded"), os.path.join(tmp, "new.folded")
        record("old", old)
        record("new", new)
        text_old, text_new = open(old).read(), open(new).read()
        check("the recordings: old_path in the old one only, new_path in the new one only",
              "old_path" in text_old and "new_path" not in text_old and "new_path" in text_new
              and "old_path" not in text_new, "%d and %d bytes" % (len(text_old), len(text_new)))

        # ---- svg of two files ----
        check_svg("svg of two recordings", swprof("diff", old, new, "--format", "svg").stdout)

        page = swprof("diff", old, new, "--format", "html").stdout
        check_svg("html of two recordings", page[page.find("<svg"):page.find("</svg>") + 6])
        check("html: a page with the search box", page.startswith("<!DOCTYPE html>") and 'id="q"' in page)

        # ---- difffolded, and back ----
        df = swprof("diff", old, new).stdout
        sides = split_difffolded(df)
        check("folded: every line is `stack countA countB`", sides is not None and df.count("\n") > 1, df[:200])
        if sides:
            for name, text, orig in (("A", sides[0], old), ("B", sides[1], new)):
                p = os.path.join(tmp, "side-%s.folded" % name)
                with open(p, "w") as f:
                    f.write(text)
                check("folded: column %s is recording %s again (the same tree)" % ("2" if name == "A" else "3", name),
                      tree_of(p) == tree_of(orig))
        # Brendan Gregg's own tools, when they are on PATH (no package ships them)
        if shutil.which("flamegraph.pl"):
            fg = subprocess.run(["flamegraph.pl"], input=df, capture_output=True, text=True, timeout=60)
            check("folded: flamegraph.pl draws it", fg.returncode == 0 and "new_path" in fg.stdout, fg.stderr[:200])
        if shutil.which("difffolded.pl"):
            dp = subprocess.run(["difffolded.pl", old, new], capture_output=True, text=True, timeout=60)
            check("folded: the lines difffolded.pl writes for the two files", sorted(dp.stdout.splitlines())
                  == sorted(df.splitlines()), dp.stdout[:300])

        # ---- the same through a data directory: two time ranges of one schedule ----
        data = os.path.join(tmp, "data")
        reg = json.loads(swprof("register", "--data", data, "--pid", str(os.getpid()), "--service", "diffs").stdout)
        task = json.loads(swprof("create", "--data", data, "--process", reg["id"], "--duration", "60").stdout)["id"]
        t1 = (int(time.time()) - 120) * 1000
        t2 = t1 + 60000
        s1 = json.loads(swprof("import", "--data", data, "--task", task, "--time", str(t1), old).stdout)["scheduleId"]
        s2 = json.loads(swprof("import", "--data", data, "--task", task, "--time", str(t2), new).stdout)["scheduleId"]
        check("store: both recordings in one schedule", s1 == s2, "%s, %s" % (s1, s2))
        a = "schedule:%s@%d..%d" % (s1, t1, t1 + 999)
        b = "schedule:%s@%d..%d" % (s1, t2 - 10, t2 + 999)
        stored = swprof("diff", "--data", data, a, b).stdout
        check("store: two ranges of the schedule diff as the two files do",
              sorted(stored.splitlines()) == sorted(df.splitlines()), stored[:300])
        by_task = swprof("diff", "--data", data, "task:%s@..%d" % (task, t1 + 999), "task:%s@%d.." % (task, t2),
                         "--format", "folded").stdout
        check("store: a task's ranges (open ends) the same", sorted(by_task.splitlines()) == sorted(df.splitlines()))
        check_svg("svg of two time ranges", swprof("diff", "--data", data, a, b, "--format", "svg").stdout)
        mixed = swprof("diff", "--data", data, old, b).stdout
        check("store: a file against a stored range the same", sorted(mixed.splitlines()) == sorted(df.splitlines()))
        js = json.loads(swprof("diff", "--data", data, a, b, "--format", "json").stdout)
        els = js["trees"][0]["elements"] if js.get("trees") else []
        np = [e for e in els if e["symbol"] == "new_path"]
        check("json: new_path has beforeCount 0 and the new samples",
              js.get("tip") is None and len(np) >= 1 and np[0]["beforeCount"] == 0 and np[0]["afterCount"] > 10,
              json.dumps(np[:1]))

        # ---- errors ----
        for what, args, want in (
                ("an unknown schedule", [a, "schedule:12345"], "after: could not found schedules"),
                ("an unknown task", ["task:nope", b], "before: could not found task"),
                ("a range that ends before it starts", [a, "schedule:%s@%d..%d" % (s1, t2, t1)],
                 "the range ends before it starts"),
                ("a range that is not numbers", ["schedule:%s@yesterday..today" % s1, b], "FROM is not a number"),
                ("an unreadable file", [os.path.join(tmp, "missing.folded"), b], "cannot open"),
                ("a side without samples", [a, "schedule:%s@%d..%d" % (s1, t2 + 3600000, t2 + 3700000)],
                 "the after side has no samples"),
                ("one argument", [a], "diff needs two profiles")):
            r = swprof("diff", "--data", data, *args, ok=False)
            check("errors: %s exits non-zero with its reason" % what,
                  r.returncode != 0 and want in r.stderr and r.stdout == "", r.stderr.strip())
    finally:
        if checks.failed:
            print("diff: files kept in %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
