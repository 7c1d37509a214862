#!/usr/bin/python3
"""The structure's rules, checked on every `make test` (a reader should not
need a tool to keep them):

  - no C function over 80 lines (from the line with its name to its closing
    brace), no C source file over 800 lines;
  - the modules of shared/ and fcgi/ include each other one way: no circle,
    and no module includes one of a higher layer (LAYERS below: the text
    facts know nothing of the log store, the store nothing of the reports,
    the library nothing of the programs);
  - every setting of shared/config.c is in README.md, on a line that shows
    its default (the README's list of settings cannot drift from the code).

The C style makes functions easy to find: the type on its own line, then the
name at the start of a line, then "{" alone at the start of a line, and "}"
alone at the start of the line that ends it. Exit status 1 on a breach.
"""
import glob
import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
if len(sys.argv) == 3 and sys.argv[1] == "--root":    # for its own test
    ROOT = os.path.abspath(sys.argv[2])
MAX_FUNCTION = 80
MAX_FILE = 800

# Layers, lowest first; a module may include modules of its own layer or
# lower. Modules not named here are in the layer of their directory's
# default (shared: "library", fcgi: "programs").
LAYERS = [
    ("base", "clock log text files json_out config spawn outbuf pyname sha256 capture record"),
    ("facts", "traceback classify codediff packages params multipart multipart_header image_check term"),
    ("store", "sqldb sqldb_sqlite sqldb_pg pq_load logdb logdb_internal logdb_schema logdb_schema_pg "
              "logdb_sql logdb_open logdb_write logdb_read logdb_fix logdb_retain"),
    ("reports", "report_base rules advice ai_context reports report_rows report_table"),
    ("assistant", "ai ai_reply prompt"),
    ("sandbox", "docker jobs sbproto warm sandbox outputs outcome share"),
    ("library", ""),
    ("programs", ""),
]
LEVEL = {}
for i, (_, names) in enumerate(LAYERS):
    for n in names.split():
        LEVEL[n] = i
LIBRARY, PROGRAMS = len(LAYERS) - 2, len(LAYERS) - 1


def sources():
    for d in ("shared", "fcgi"):
        for path in sorted(glob.glob(os.path.join(ROOT, d, "*.[ch]"))):
            yield d, path


def module(path):
    # A module's internal header (logdb_internal.h) is part of the module.
    return re.sub(r"_internal$", "", os.path.splitext(os.path.basename(path))[0])


def level(d, mod):
    mod = re.sub(r"_internal$", "", mod)
    if mod in LEVEL:
        return LEVEL[mod]
    return LIBRARY if d == "shared" else PROGRAMS


def long_functions(path, lines):
    """(name, first line, length) of each function over MAX_FUNCTION lines."""
    out = []
    start = name = None
    for i, line in enumerate(lines):
        if line.startswith("{") and start is None:
            # The name: the nearest line above that starts with an identifier
            # followed by "(" (parameters may span lines).
            j = i - 1
            while j >= 0 and not re.match(r"^[A-Za-z_]\w*\(", lines[j]):
                j -= 1
            if j >= 0:
                start, name = j, lines[j].split("(")[0]
        elif line.startswith("}") and start is not None:
            n = i - start + 1
            if n > MAX_FUNCTION:
                out.append((name, start + 1, n))
            start = name = None
    return out


def includes(path, lines):
    return [m.group(1) for m in (re.match(r'#include "(?:\.\./shared/)?([\w]+)\.h"', l)
                                  for l in lines) if m]


def cycles(graph):
    """Tarjan's strongly connected components with more than one module."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def undocumented_settings():
    """Settings of shared/config.c's table that README.md does not list
    (a line naming `NAME` that also shows `default`, when it has one)."""
    config = os.path.join(ROOT, "shared", "config.c")
    readme = os.path.join(ROOT, "README.md")
    if not os.path.exists(config):
        return []
    text = open(readme, encoding="utf-8").read() if os.path.exists(readme) else ""
    lines = text.split("\n")
    out = []
    table = re.findall(r'\{ "(IMGSANDBOX_\w+)", \w+, \w+\(\w+\), "([^"]*)"',
                       open(config, encoding="utf-8").read())
    for name, default in table:
        mine = [l for l in lines if "`%s`" % name in l]
        if not mine:
            out.append("README.md does not list the setting %s" % name)
        elif default and not any("`%s`" % default in l for l in mine):
            out.append("README.md does not show the default of %s (`%s`)" % (name, default))
    return out


def main():
    problems = undocumented_settings()
    graph = {}
    nfunc = nfiles = 0
    for d, path in sources():
        rel = os.path.relpath(path, ROOT)
        lines = open(path, encoding="utf-8").read().split("\n")
        nfiles += 1
        if path.endswith(".c"):
            if len(lines) > MAX_FILE:
                problems.append("%s: %d lines (at most %d)" % (rel, len(lines), MAX_FILE))
            for name, first, n in long_functions(path, lines):
                problems.append("%s:%d: %s is %d lines (at most %d)" % (rel, first, name, n,
                                                                       MAX_FUNCTION))
            nfunc += sum(1 for l in lines if l.startswith("{"))
        mod = module(path)
        for inc in includes(path, lines):
            if inc == mod:
                continue
            graph.setdefault(mod, set()).add(inc)
            inc_dir = "shared" if os.path.exists(os.path.join(ROOT, "shared", inc + ".h")) else "fcgi"
            if level(inc_dir, inc) > level(d, mod):
                problems.append("%s includes %s.h, of a higher layer (%s over %s)" % (
                    rel, inc, LAYERS[level(inc_dir, inc)][0], LAYERS[level(d, mod)][0]))
    for comp in cycles(graph):
        problems.append("modules that include each other in a circle: " + " -> ".join(comp))
    if problems:
        print("structure: %d problems" % len(problems))
        for p in problems:
            print("  " + p)
        return 1
    print("structure: %d files, %d functions: none over %d lines, no file over %d, "
          "includes one way, every setting in README.md" % (nfiles, nfunc, MAX_FUNCTION, MAX_FILE))
    return 0


if __name__ == "__main__":
    sys.exit(main())
