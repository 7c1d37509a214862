#!/usr/bin/python3
"""The documentation's rules, checked on every `make structure`, so that the
pages cannot drift from the tree or from the code they quote:

  - README.md is at most 250 lines, links every page of docs/, and names
    every top-level folder (`name/`) in its map;
  - every relative link of README.md and docs/*.md points to a file of the
    tree, and its #anchor (in a markdown file) to a heading there (GitHub's
    anchors: lower case, punctuation dropped, spaces as "-");
  - docs/development.md names every program and script of fcgi/ and every
    layer of shared/;
  - docs/api.md lists exactly the metrics fcgi/metrics_api.c serves;
  - docs/security.md: the sandbox's table names every option
    docker_run_argv() passes and no other (with the same value where the
    code's is fixed), and the table of hostile scripts is tests/hostile/*.py
    with each one's `# expect:` outcome;
  - docs/log.md shows exactly the commands of analyze_logs (the report
    table's).

A cross-check runs when its code is in the tree; its page must then exist.
(The settings' page is tests/structure/check.py's.) Exit status 1 on a breach.
"""
import argparse
import glob
import os
import re
import sys

MAX_README = 250
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REF = re.compile(r"^\s*\[[^\]]+\]:\s*(\S+)", re.M)


def read(root, rel):
    path = os.path.join(root, rel)
    return open(path, encoding="utf-8").read() if os.path.exists(path) else None


def prose(text):
    """The text without fenced code blocks and inline code (links there are
    not links)."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    return re.sub(r"`[^`\n]*`", "", text)


def anchors(text):
    """The anchors of a markdown file's headings, as GitHub makes them."""
    out, seen = set(), {}
    for m in re.finditer(r"^#{1,6}\s+(.*?)\s*#*\s*$", prose_keep_code(text), re.M):
        slug = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else "%s-%d" % (slug, n))
    return out


def prose_keep_code(text):
    # Headings may hold inline code (kept, its backticks dropped by the slug).
    return re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)


def link_problems(root, rel, text, linked):
    out = []
    body = prose(text)
    for target in LINK.findall(body) + REF.findall(body):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
            continue                       # http:, mailto:
        path, _, anchor = target.partition("#")
        dest = os.path.normpath(os.path.join(root, os.path.dirname(rel), path)) if path \
            else os.path.join(root, rel)
        if not (dest + os.sep).startswith(root + os.sep) and dest != root:
            out.append("%s: link to %s: outside the tree" % (rel, target))
            continue
        if not os.path.exists(dest):
            out.append("%s: link to %s: no such file" % (rel, target))
            continue
        linked.add((rel, os.path.relpath(dest, root)))
        if anchor and dest.endswith(".md") and \
                anchor not in anchors(open(dest, encoding="utf-8").read()):
            out.append("%s: link to %s: no such heading" % (rel, target))
    return out


def readme_problems(root, readme, pages, linked):
    out = []
    n = len(readme.split("\n")) - (1 if readme.endswith("\n") else 0)
    if n > MAX_README:
        out.append("README.md: %d lines (at most %d)" % (n, MAX_README))
    for page in pages:
        if ("README.md", page) not in linked:
            out.append("%s is not linked from README.md" % page)
    ignore = os.path.join(root, ".gitignore")
    ignored = set(re.findall(r"^/([^/\s]+)/$", open(ignore).read(), re.M)) \
        if os.path.exists(ignore) else set()
    for d in sorted(os.listdir(root)):
        if os.path.isdir(os.path.join(root, d)) and not d.startswith(".") and \
                d not in ignored and "`%s/`" % d not in readme:
            out.append("README.md does not name the folder %s/ in its map" % d)
    return out


def code(root, pattern):
    """The text of the first file matching pattern under root, or None."""
    found = sorted(glob.glob(os.path.join(root, pattern), recursive=True))
    return open(found[0], encoding="utf-8").read() if found else None


def page(root, rel, out):
    text = read(root, rel)
    if text is None:
        out.append("%s is missing (the code it describes is here)" % rel)
    return text


def section(text, title):
    """The lines under the heading `title` up to the next heading."""
    m = re.search(r"^#+ %s\s*$(.*?)(?=^#+ |\Z)" % re.escape(title), text, re.M | re.S)
    return m.group(1) if m else ""


def development_problems(root, out):
    names = [os.path.basename(p) for p in sorted(glob.glob(os.path.join(root, "fcgi", "*.[cs]*")))
             if p.endswith((".c", ".sh"))]
    layers = sorted(d + "/" for d in os.listdir(os.path.join(root, "shared"))
                    if os.path.isdir(os.path.join(root, "shared", d))) \
        if os.path.isdir(os.path.join(root, "shared")) else []
    if not names and not layers:
        return
    text = page(root, "docs/development.md", out)
    for name in names + layers:
        if text is not None and "`%s`" % name not in text:
            out.append("docs/development.md does not name %s in its map" % name)


def metrics_problems(root, out):
    src = read(root, "fcgi/metrics_api.c")
    if src is None:
        return
    served = set(re.findall(r'"(imgsandbox_\w+)", "(?:gauge|counter|histogram)"', src))
    text = page(root, "docs/api.md", out)
    if text is None:
        return
    listed, prefix = set(), ""
    for tok in re.findall(r"`(_?imgsandbox_\w+|_\w+)(?:\{\w+\})?`", prose_keep_code(
            section(text, "Metrics"))):
        if tok.startswith("imgsandbox_"):
            prefix = tok.rsplit("_", 1)[0]
        listed.add(tok if tok.startswith("imgsandbox_") else prefix + tok)
    for name in sorted(served - listed):
        out.append("docs/api.md does not list the metric %s" % name)
    for name in sorted(listed - served):
        out.append("docs/api.md lists the metric %s, which fcgi/metrics_api.c does not serve" % name)


def docker_problems(root, out):
    src = code(root, "shared/**/docker.c")
    m = src and re.search(r"^docker_run_argv\(.*?^\}", src, re.M | re.S)
    if not m:
        return
    passed = {}
    engine = m.group(0).split("c->image")[0]       # what follows is the image's command
    # ... and the helpers of this file it calls with the argv.
    for helper in re.findall(r"\b(\w+)\(c, a\)|\b(\w+)\(c, j, a\)", engine):
        name = helper[0] or helper[1]
        h = re.search(r"^%s\(.*?^\}" % re.escape(name), src, re.M | re.S)
        if h:
            engine += h.group(0)
    for opt, val in re.findall(r'argv_add\(a, "(--[a-z-]+)(?:=([^"]*))?"', engine):
        passed.setdefault(opt, []).append(val)
    text = page(root, "docs/security.md", out)
    if text is None:
        return
    table = "\n".join(l for l in section(text, "The sandbox").split("\n") if l.startswith("|"))
    named = {}
    for opt, val in re.findall(r"`(--[a-z-]+)(?:=([^`]*))?[^`]*`", table):
        named.setdefault(opt, []).append(val)
    for opt in sorted(set(passed) - set(named)):
        out.append("docs/security.md: the sandbox's table does not name %s" % opt)
    for opt in sorted(set(named) - set(passed)):
        out.append("docs/security.md: the sandbox's table names %s, which "
                   "docker_run_argv() does not pass" % opt)
    for opt in sorted(set(named) & set(passed)):
        fixed = passed[opt]
        if all("%" not in v for v in fixed):
            for v in named[opt]:
                if v and v not in fixed:
                    out.append("docs/security.md: the sandbox's table says %s=%s, the code %s" %
                               (opt, v, " ".join("%s=%s" % (opt, f) for f in fixed)))


def hostile_problems(root, out):
    scripts = sorted(glob.glob(os.path.join(root, "tests", "hostile", "*.py")))
    if not scripts:
        return
    text = page(root, "docs/security.md", out)
    if text is None:
        return
    rows = dict(re.findall(r"^\| `(\w+\.py)` \| (.*?) \|\s*$", text, re.M))
    for path in scripts:
        name = os.path.basename(path)
        m = re.match(r"# expect: (\S+)", open(path, encoding="utf-8").readline())
        want = set(m.group(1).split("|")) if m else set()
        if name not in rows:
            out.append("docs/security.md does not list the hostile script %s" % name)
        elif set(re.findall(r"`(\w+)`", rows.pop(name))) != want:
            out.append("docs/security.md: %s must end as %s" % (name, " or ".join(sorted(want))))
    for name in sorted(rows):
        out.append("docs/security.md lists the hostile script %s, which tests/hostile/ has not"
                   % name)


def commands_problems(root, out):
    src = code(root, "shared/**/report_table.c")
    if src is None:
        return
    tool = set(re.findall(r'\{\s*REPORT_\w+,\s*(?:NULL|"[^"]*"),\s*"([^"]+)"', src))
    text = page(root, "docs/log.md", out)
    if text is None:
        return
    shown = set()
    for line in re.findall(r"^build/analyze_logs\b(.*)$", text, re.M):
        shown |= {w for w in re.split(r"[\s|]+", line.split("#")[0]) if re.match(r"^[a-z]+$", w)}
    for c in sorted(tool - shown):
        out.append("docs/log.md does not show the command analyze_logs %s" % c)
    for c in sorted(shown - tool):
        out.append("docs/log.md shows analyze_logs %s, which the tool does not have" % c)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=os.path.join(os.path.dirname(__file__), "..", ".."))
    root = os.path.abspath(ap.parse_args().root)
    readme = read(root, "README.md") or ""
    pages = sorted(os.path.relpath(p, root) for p in glob.glob(os.path.join(root, "docs", "*.md")))
    out, linked = [], set()
    for rel in ["README.md"] + pages:
        out += link_problems(root, rel, read(root, rel) or "", linked)
    out += readme_problems(root, readme, pages, linked)
    for check in (development_problems, metrics_problems, docker_problems, hostile_problems,
                  commands_problems):
        check(root, out)
    if out:
        print("docs: %d problems" % len(out))
        for p in out:
            print("  " + p)
        return 1
    print("docs: README.md and %d pages: every link and anchor found, every page linked, "
          "README within %d lines; metrics, sandbox options, hostile scripts, the tool's "
          "commands and the folders as the code has them" % (len(pages), MAX_README))
    return 0


if __name__ == "__main__":
    sys.exit(main())
