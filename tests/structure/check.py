#!/usr/bin/python3
"""The structure's rules, checked on every `make test` (a reader should not
need a tool to keep them):

  - no C function over 80 lines (from the line with its name to its closing
    brace), no C source file over 800 lines;
  - shared/ is one folder per layer, and the folders are the layers: the
    order is the numbered list of shared/README.md (lowest first), a file's
    layer is the folder it sits in (moving a file is the way to change its
    layer), and every folder says in its own README.md what it may know.
    fcgi/ (the programs) is above them all. A source directly in shared/
    belongs to no layer and is refused;
  - includes one way: a file of shared/ names its includes by layer
    ("base/clock.h"), and none of a higher layer;
  - no circle of modules (a .c and its .h, a module_internal.h with it),
    neither of includes nor of names taken: a module that calls a function
    or reads a variable another defines depends on it (read from the
    objects' symbols with nm: `--objects build`, else the checker compiles
    the sources itself);
  - every setting of shared/base/config.c is listed with its default in
    docs/settings.md (README.md when there is no docs/ folder), so that the
    list cannot drift from the code.

The C style makes functions easy to find: the type on its own line, then the
name at the start of a line, then "{" alone at the start of a line, and "}"
alone at the start of the line that ends it. Exit status 1 on a breach.
"""
import argparse
import collections
import glob
import os
import re
import subprocess
import sys
import tempfile

MAX_FUNCTION = 80
MAX_FILE = 800
PROGRAMS = "programs"


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=os.path.join(os.path.dirname(__file__), "..", ".."))
    ap.add_argument("--objects", help="the build folder holding shared/**/*.o and fcgi/*.o")
    ap.add_argument("--cc", default=os.environ.get("CC", "cc"))
    ap.add_argument("--cflags", default="")
    return ap.parse_args()


def layer_order(root):
    """The layers, lowest first: the numbered list of shared/README.md
    ("1. `base/` ..."). Returns the list, or None when it is missing."""
    path = os.path.join(root, "shared", "README.md")
    if not os.path.exists(path):
        return None
    return [m.group(1) for m in (re.match(r"^\d+\.\s+`(\w+)/`", l)
                                 for l in open(path, encoding="utf-8")) if m]


def sources(root):
    for path in sorted(glob.glob(os.path.join(root, "shared", "**", "*.[ch]"), recursive=True)):
        yield path
    for path in sorted(glob.glob(os.path.join(root, "fcgi", "*.[ch]"))):
        yield path


def layer_of(root, path):
    rel = os.path.relpath(path, root).split(os.sep)
    if rel[0] == "fcgi":
        return PROGRAMS
    return rel[1] if len(rel) == 3 else None


def module(path):
    # A module's internal header (logdb_internal.h) is part of the module.
    return re.sub(r"_internal$", "", os.path.splitext(os.path.basename(path))[0])


def long_functions(lines):
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


INCLUDE = re.compile(r'#include "([^"]+)"')


def includes(lines):
    return [m.group(1) for m in (INCLUDE.match(l) for l in lines) if m]


def cycles(graph):
    """Tarjan's strongly connected components with more than one module."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
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


def settings_problems(root):
    """Settings of shared/base/config.c's table that the settings' page does
    not list (a line naming `NAME` that also shows `default`, when it has
    one)."""
    config = os.path.join(root, "shared", "base", "config.c")
    page = os.path.join(root, "docs", "settings.md")
    if not os.path.exists(page):
        page = os.path.join(root, "README.md")
    if not os.path.exists(config):
        return []
    where = os.path.relpath(page, root)
    lines = open(page, encoding="utf-8").read().split("\n") if os.path.exists(page) else []
    out = []
    table = re.findall(r'\{ "(IMGSANDBOX_\w+)", \w+, \w+\(\w+\), "([^"]*)"',
                       open(config, encoding="utf-8").read())
    for name, default in table:
        mine = [l for l in lines if "`%s`" % name in l]
        if not mine:
            out.append("%s does not list the setting %s" % (where, name))
        elif default and not any("`%s`" % default in l for l in mine):
            out.append("%s does not show the default of %s (`%s`)" % (where, name, default))
    return out


def layout_problems(root, order):
    out = []
    if order is None:
        return ["shared/README.md is missing: it lists the layers, lowest first"]
    folders = sorted(d for d in os.listdir(os.path.join(root, "shared"))
                     if os.path.isdir(os.path.join(root, "shared", d)))
    for d in folders:
        if d not in order:
            out.append("shared/%s/ is not in shared/README.md's list of layers" % d)
        elif not os.path.exists(os.path.join(root, "shared", d, "README.md")):
            out.append("shared/%s/ has no README.md saying what the layer may know" % d)
    for d in order:
        if d not in folders:
            out.append("shared/README.md lists the layer %s/, which is no folder" % d)
    return out


def include_problems(root, path, lines, level, graph):
    out = []
    rel = os.path.relpath(path, root)
    mine = layer_of(root, path)
    mod = module(path)
    for inc in includes(lines):
        parts = inc.split("/")
        inc_mod = module(inc)
        if len(parts) == 2 and parts[0] in level:
            inc_layer = parts[0]
        elif mine == PROGRAMS and len(parts) == 1:
            inc_layer = PROGRAMS
        else:
            out.append('%s includes "%s": name a header of shared/ by its layer '
                       '("base/clock.h")' % (rel, inc))
            continue
        if inc_mod != mod:
            graph[mod].add(inc_mod)
        if mine in level and level[inc_layer] > level[mine]:
            out.append("%s includes %s, of a higher layer (%s over %s)" % (
                rel, inc, inc_layer, mine))
    return out


def object_files(root, objects, cc, cflags, tmp):
    """{module: object path} for every .c of shared/ and fcgi/: from the
    build folder when given, else compiled here."""
    out = {}
    for path in sources(root):
        if not path.endswith(".c"):
            continue
        rel = os.path.relpath(path, root)
        if objects:
            obj = os.path.join(objects, rel[:-2] + ".o")
        else:
            obj = os.path.join(tmp, rel.replace(os.sep, "_")[:-2] + ".o")
            subprocess.run([cc, "-c", "-w", "-I" + os.path.join(root, "shared")] +
                           cflags.split() + [path, "-o", obj], check=True)
        if os.path.exists(obj):
            out[module(path)] = obj
    return out


def symbol_graph(objs):
    """Module -> modules whose functions or variables it uses (nm)."""
    defs, uses = {}, collections.defaultdict(set)
    for mod, obj in objs.items():
        text = subprocess.run(["nm", obj], capture_output=True, text=True, check=True).stdout
        for line in text.splitlines():
            f = line.split()
            if len(f) == 3 and f[1] in "TDBRCG":
                defs[f[2]] = mod
            elif len(f) == 2 and f[0] == "U":
                uses[mod].add(f[1])
    graph = collections.defaultdict(set)
    for mod, names in uses.items():
        for n in names:
            if n in defs and defs[n] != mod:
                graph[mod].add(defs[n])
    return graph


def main():
    args = parse_args()
    root = os.path.abspath(args.root)
    order = layer_order(root)
    problems = settings_problems(root) + layout_problems(root, order)
    level = {name: i for i, name in enumerate(order or [])}
    level[PROGRAMS] = len(level)
    graph = collections.defaultdict(set)
    nfunc = nfiles = 0
    for path in sources(root):
        rel = os.path.relpath(path, root)
        lines = open(path, encoding="utf-8").read().split("\n")
        nfiles += 1
        if layer_of(root, path) is None:
            problems.append("%s is in no layer: put it in the folder of one" % rel)
            continue
        if path.endswith(".c"):
            if len(lines) > MAX_FILE:
                problems.append("%s: %d lines (at most %d)" % (rel, len(lines), MAX_FILE))
            for name, first, n in long_functions(lines):
                problems.append("%s:%d: %s is %d lines (at most %d)" % (rel, first, name, n,
                                                                       MAX_FUNCTION))
            nfunc += sum(1 for l in lines if l.startswith("{"))
        problems += include_problems(root, path, lines, level, graph)
    for comp in cycles(graph):
        problems.append("modules that include each other in a circle: " + " -> ".join(comp))
    with tempfile.TemporaryDirectory() as tmp:
        names = symbol_graph(object_files(root, args.objects, args.cc, args.cflags, tmp))
    for comp in cycles(names):
        problems.append("modules that take names from each other in a circle: " +
                        " -> ".join(comp))
    if problems:
        print("structure: %d problems" % len(problems))
        for p in problems:
            print("  " + p)
        return 1
    print("structure: %d files, %d functions in %d layers: none over %d lines, no file over "
          "%d, includes one way, no circle of includes or of names, every setting listed" % (
              nfiles, nfunc, len(order), MAX_FUNCTION, MAX_FILE))
    return 0


if __name__ == "__main__":
    sys.exit(main())
