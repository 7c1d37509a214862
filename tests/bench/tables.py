"""The markdown tables of `make bench`, from the JSON files bench.py wrote
(`bench.py table PART DIR`). Each goal of the issues is checked where its
figure is, and once more, all together, by `table goals`."""
import glob
import json
import os

SERVERS = ["lighttpd", "nginx", "apache"]
MIB8 = 8 * 1024
G_LAT = "trivial /run p50 <= 30 ms through every server with make run's defaults"
G_LOAD = "with 2 slots, warm reaches at least 3 times the cold throughput"
G_API = "API reads >= 80 % of hello_fcgi behind the same server"
G_API_SIZED = ("API reads >= 80 % of hello_fcgi answering as many bytes, behind the same server"
               " (the floor for an answer that size)")
G_MEM = "responder RSS <= 8 MiB after the load"
G_SLOW = "p99 of the summary under 100 ms with 64 connections trickling"
G_FORK_RPS = "at least 50 runs/s of the trivial job with the fork engine on 2 cores"
G_FORK_LAT = "p50 <= 10 ms and p95 <= 100 ms of the trivial job at 4 clients (fork engine)"
G_BURST = "with the Docker engine (make run's defaults), no refusals for 4 clients x 8 runs"
G_BLUR = "the blur (2048x2048, Pillow) through the fork engine within 5 % of host python3 (p50)"
MODES = ["warm", "cold", "client", "fork", "fork0"]
MODE_LABELS = {"warm": "Docker, warm (make run's defaults)", "cold": "Docker, cold (IMGSANDBOX_WARM=0)",
               "client": "Docker, cold, a docker client per call (IMGSANDBOX_DOCKER_API=0)",
               "fork": "fork engine (IMGSANDBOX_ENGINE=fork)",
               "fork0": "fork engine, no page mapped ahead (IMGSANDBOX_FORK_PREFAULT=0)"}


def load_all(d):
    docs = []
    for p in sorted(glob.glob(os.path.join(d, "*.json"))):
        with open(p) as f:
            docs.append(json.load(f))
    return docs


def pct(xs, p):
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    s = sorted(xs)
    k = max(0, min(len(s) - 1, int(-(-p * len(s) // 100)) - 1))
    return s[k]


def ms(v):
    if v is None:
        return "n/a"
    if v == int(v):
        return "%d" % v
    return "%.0f" % v if v >= 10 else "%.1f" % v if v >= 1 else "%.2f" % v


def ratio(a, b):
    return "%.2fx" % (a / b) if a and b else "n/a"


def p50(xs):
    """The nearest-rank median (as the latency table's p50), or None."""
    return pct(xs, 50) if xs else None


def yes(ok):
    return "**met**" if ok else "**not met**"


def server_order(name):
    return SERVERS.index(name) if name in SERVERS else len(SERVERS)


def kind(docs, k):
    return [d for d in docs if d["kind"] == k]


# --- 1. latency ------------------------------------------------------------------

JOB_LABELS = {"trivial": "trivial (saves a 64x64 PNG)", "blur": "blur (2048x2048 JPEG, Pillow)",
              "opencv": "OpenCV edges (static/examples, 640x480)",
              "skimage": "scikit-image Otsu (static/examples, 640x480)"}


def warm_hits(d):
    k = d.get("sandbox") or []
    return "%d/%d" % (sum(1 for x in k if x.endswith("-warm")), len(k)) if k else ""


def runs(d):
    """The runs timed, and those that failed (not timed)."""
    f = d.get("failed") or []
    return "%d" % len(d["wall_ms"]) + (" (+%d failed: %s)" % (len(f), ", ".join(sorted(set(f))))
                                       if f else "")


def path_label(d):
    mode = {"warm": "warm (make run's defaults), paced %gs" % d.get("pace_s", 0),
            "cold": "cold (IMGSANDBOX_WARM=0)",
            "preload": "warm, preloaded, paced %gs" % d.get("pace_s", 0),
            "fork": "**fork engine** (IMGSANDBOX_ENGINE=fork), paced %gs" % d.get("pace_s", 0),
            }.get(d["mode"], d["mode"])
    if d["kind"] == "b2b":
        mode = "warm, **back to back** (no pause)"
    return "POST /run via %s, %s" % (d["server"], mode)


def table_latency(docs):
    lat = kind(docs, "latency") + kind(docs, "b2b")
    dire = {d["job"]: d for d in kind(docs, "direct")}
    flo = {d["job"]: d for d in kind(docs, "floor")}
    hst = {d["job"]: d for d in kind(docs, "host")}
    print("| job | path | runs | p50 ms | p95 ms | ours / docker-direct (p50) "
          "| ours / chroot floor (p50) | ours / host python3 (p50) | ran warm |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    order = {"warm": 0, "fork": 1, "cold": 2}
    for job in ("trivial", "blur"):
        dd, ff, hh = dire.get(job), flo.get(job), hst.get(job)
        d50 = pct(dd["wall_ms"], 50) if dd and dd["wall_ms"] else None
        f50 = pct(ff["wall_ms"], 50) if ff and ff["wall_ms"] else None
        h50 = pct(hh["wall_ms"], 50) if hh and hh["wall_ms"] else None
        rows = sorted([d for d in lat if d["job"] == job],
                      key=lambda d: (d["kind"] == "b2b", order.get(d["mode"], 9),
                                     server_order(d["server"])))
        for d in rows:
            w = d["wall_ms"]
            print("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                JOB_LABELS[job], path_label(d), runs(d), ms(pct(w, 50)) if w else "n/a",
                ms(pct(w, 95)) if w else "n/a", ratio(pct(w, 50), d50) if w else "n/a",
                ratio(pct(w, 50), f50) if w else "n/a", ratio(pct(w, 50), h50) if w else "n/a",
                warm_hits(d)))
        if dd:
            print("| %s | `docker run`, same argv, by hand (then `docker rm`, untimed) | %d | %s "
                  "| %s | 1.00x | %s | %s | |" % (JOB_LABELS[job], len(dd["wall_ms"]), ms(d50),
                                                  ms(pct(dd["wall_ms"], 95)), ratio(d50, f50),
                                                  ratio(d50, h50)))
        if ff:
            print("| %s | `python3 -I entry.py` in a chroot of the rootfs (floor) | %d | %s | %s "
                  "| | 1.00x | %s | |" % (JOB_LABELS[job], len(ff["wall_ms"]), ms(f50),
                                           ms(pct(ff["wall_ms"], 95)), ratio(f50, h50)))
        if hh:
            print("| %s | `/usr/bin/python3 -I` on the host, no sandbox | %d | %s | %s "
                  "| | | 1.00x | |" % (JOB_LABELS[job], len(hh["wall_ms"]), ms(h50),
                                       ms(pct(hh["wall_ms"], 95))))
    if not flo:
        print("\n(no chroot floor: it needs root and the runner's rootfs)")
    print()
    print(goal_line(goal_latency, docs))
    print(goal_line(goal_blur, docs))
    for d in kind(docs, "b2b"):
        w = [t["prepare_ms"] for t in d["timings"] if "prepare_ms" in t]
        if w:
            print("\nBack to back (%s), a request waited for a sandbox to be ready (prepare_ms): "
                  "p50 %s ms, max %s ms; %d of %d waited over 100 ms." % (
                      d["server"], ms(pct(w, 50)), ms(max(w)), sum(1 for x in w if x > 100), len(w)))


def goal_latency(docs):
    """(met, sentence) of "trivial /run p50 <= 30 ms through every server
    with make run's defaults"."""
    got = {d["server"]: pct(d["wall_ms"], 50) for d in kind(docs, "latency")
           if d["job"] == "trivial" and d["mode"] == "warm" and d["wall_ms"]}
    if not got:
        return None, G_LAT, ""
    ok = all(v <= 30 for v in got.values())
    return ok, G_LAT, ", ".join("%s %s ms" % (s, ms(got[s])) for s in sorted(got, key=server_order))


def goal_blur(docs):
    """The blur through the fork engine against the host's python3, p50."""
    f = [d for d in kind(docs, "latency") if d["job"] == "blur" and d["mode"] == "fork"
         and d["wall_ms"]]
    h = [d for d in kind(docs, "host") if d["job"] == "blur" and d["wall_ms"]]
    if not f or not h:
        return None, G_BLUR, ""
    a, b = pct(f[0]["wall_ms"], 50), pct(h[0]["wall_ms"], 50)
    w = [d for d in kind(docs, "latency") if d["job"] == "blur" and d["mode"] == "warm"
         and d["server"] == f[0]["server"] and d["wall_ms"]]
    extra = "; Docker warm via %s: %s ms, %s" % (
        w[0]["server"], ms(pct(w[0]["wall_ms"], 50)), ratio(pct(w[0]["wall_ms"], 50), b)) if w else ""
    return a <= 1.05 * b, G_BLUR, "fork via %s %s ms, host python3 %s ms: %s%s" % (
        f[0]["server"], ms(a), ms(b), ratio(a, b), extra)


# --- 2. where the time goes ---------------------------------------------------------

STEPS = [
    ("job folder, form, checks", ("job_ms", "parse_ms", "checks_ms")),
    ("slot wait", ("slot_wait_ms",)),
    ("prepare (a sandbox taken from the pool, or none)", ("prepare_ms",)),
    ("**sandbox** (hand-off or `docker run` to the script's end known)", ("sandbox_ms",)),
    ("&nbsp;&nbsp;of which container start (cold: engine + Python; warm, fork: the job reaching it)",
     ("container_start_ms",)),
    ("&nbsp;&nbsp;of which the script (its own clock, imports included)", ("script_ms",)),
    ("&nbsp;&nbsp;of which the rest (END records, files read)", ("sandbox_ms", "-container_start_ms",
                                                                 "-script_ms")),
    ("result check and publishing", ("result_ms",)),
    ("log row", ("log_ms",)),
    ("**total in the responder**", ("total_ms",)),
]


def step_value(t, keys):
    v = 0
    for k in keys:
        sign = -1 if k.startswith("-") else 1
        k = k.lstrip("-")
        if k not in t:
            return None
        v += sign * t[k]
    return v


def table_steps(docs, server=None):
    server = server or os.environ.get("BENCH_STEPS_SERVER", "lighttpd")
    lat = {(d["job"], d["mode"]): d for d in kind(docs, "latency") if d["server"] == server}
    cols = [c for c in (("trivial", "warm"), ("trivial", "fork"), ("trivial", "cold"),
                        ("blur", "warm"), ("blur", "fork"), ("blur", "cold"))
            if c in lat]
    if not cols:
        print("(no runs through %s)" % server)
        return
    print("| step (p50 of each, ms; via %s) | %s |" % (server, " | ".join("%s, %s" % c for c in cols)))
    print("|---|" + "---:|" * len(cols))
    for label, keys in STEPS:
        vals = []
        for c in cols:
            xs = [v for v in (step_value(t, keys) for t in lat[c]["timings"]) if v is not None]
            vals.append(ms(p50(xs)))
        print("| %s | %s |" % (label, " | ".join(vals)))
    vals = []
    for c in cols:
        d = lat[c]
        xs = [w - t["total_ms"] for w, t in zip(d["wall_ms"], d["timings"]) if "total_ms" in t]
        vals.append(ms(p50(xs)))
    print("| web server, FastCGI, HTTP (client wall clock - total) | %s |" % " | ".join(vals))
    print("| **client wall clock** | %s |" % " | ".join(ms(p50(lat[c]["wall_ms"])) for c in cols))
    dire = {d["job"]: d for d in kind(docs, "direct")}
    flo = {d["job"]: d for d in kind(docs, "floor")}
    vals = ["%s / %s" % (ms(p50(dire[j]["wall_ms"])), ms(p50(dire[j]["rm_ms"])))
            if j in dire else "n/a" for j, _ in cols]
    print("| by hand: `docker run` / `docker rm` | %s |" % " | ".join(vals))
    print("| by hand: python3 in the chroot (floor) | %s |" % " | ".join(
        ms(p50(flo[j]["wall_ms"])) if j in flo else "n/a" for j, _ in cols))
    hst = {d["job"]: d for d in kind(docs, "host")}
    print("| by hand: the host's /usr/bin/python3 | %s |" % " | ".join(
        ms(p50(hst[j]["wall_ms"])) if j in hst else "n/a" for j, _ in cols))


# --- 3. heavier libraries, preload ------------------------------------------------------

def table_heavy(docs):
    lat = [d for d in kind(docs, "latency") if d["job"] in ("opencv", "skimage")]
    print("| script | path | runs | p50 ms | p95 ms | script_ms p50 | container start p50 "
          "| vs cold (p50) | ran warm |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    order = {"cold": 0, "warm": 1, "preload": 2}
    for job in ("opencv", "skimage"):
        rows = sorted([d for d in lat if d["job"] == job], key=lambda d: order.get(d["mode"], 9))
        cold = next((pct(d["wall_ms"], 50) for d in rows if d["mode"] == "cold" and d["wall_ms"]),
                    None)
        for d in rows:
            w = d["wall_ms"]
            if not w:
                print("| %s | %s | %s | n/a | | | | | |" % (JOB_LABELS[job], d["mode"], runs(d)))
                continue
            sc = [t["script_ms"] for t in d["timings"] if "script_ms" in t]
            cs = [t["container_start_ms"] for t in d["timings"] if "container_start_ms" in t]
            lab = {"cold": "cold (IMGSANDBOX_WARM=0)", "warm": "warm, default IMGSANDBOX_PRELOAD",
                   "preload": "warm, IMGSANDBOX_PRELOAD + %s" % os.environ.get(
                       "BENCH_PRELOAD_EXTRA", "the heavy modules")}.get(d["mode"], d["mode"])
            print("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                JOB_LABELS[job], lab, runs(d), ms(pct(w, 50)), ms(pct(w, 95)), ms(p50(sc)),
                ms(p50(cs)), ratio(pct(w, 50), cold), warm_hits(d)))


def table_preload(docs):
    ws = {d["label"]: d for d in kind(docs, "warmstart")}
    pm = {d["label"]: d for d in kind(docs, "poolmem")}
    print("| preload | modules | time to ready p50 ms (by hand) | CPU to ready p50 ms "
          "| anonymous memory waiting (RssAnon), MiB | `docker stats` waiting, MiB "
          "| the service's waiting sandboxes, `docker stats` MiB |")
    print("|---|---|---:|---:|---:|---:|---|")
    for label in sorted(set(ws) | set(pm), key=lambda x: (x != "default", x == "+heavy", x)):
        w, p = ws.get(label), pm.get(label)
        mods = (w or {}).get("preload", "")
        ready = ms(p50(w["ready_ms"])) if w else "n/a"
        cpu = ms(p50(w["cpu_ms"])) if w and w["cpu_ms"] else "n/a"
        anon = "%.1f" % (p50(w["rss_anon_kib"]) / 1024) if w and w["rss_anon_kib"] else "n/a"
        st = "%.1f" % w["stats_mib"] if w and w.get("stats_mib") else "n/a"
        pool = ", ".join("%.1f" % r["stats_mib"] for r in p["rows"] if r.get("stats_mib")) \
            if p else ""
        print("| %s | `%s` | %s | %s | %s | %s | %s |" % (label, mods, ready, cpu, anon, st,
                                                        pool or "(not measured)"))


# --- 4. load -----------------------------------------------------------------------------

def load_docs(docs):
    """{(mode, clients): doc}, modes in MODES order first."""
    return {(d["name"], d["clients"]): d for d in kind(docs, "load")}


def rate(d):
    return d["ok"] / d["elapsed_s"] if d and d["elapsed_s"] else None


def table_load(docs):
    ld = load_docs(docs)
    clients = sorted({c for _, c in ld})
    modes = sorted({m for m, _ in ld}, key=lambda m: MODES.index(m) if m in MODES else 9)
    print("| engine | clients | runs/s | / Docker warm | 429 | other errors | p50 ms | p95 ms "
          "| answers from a ready sandbox | host CPU per run, ms | load average (1 min) at its end |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for m in modes:
        for c in clients:
            d = ld.get((m, c))
            if not d:
                continue
            w = ld.get(("warm", c))
            r = rate(d)
            print("| %s | %d | %.2f | %s | %d | %d%s | %s | %s | %d/%d | %s | %s |" % (
                MODE_LABELS.get(m, m), c, r, ratio(r, rate(w)) if w and m != "warm" else "",
                d["busy_429"], d["other"],
                " (%s)" % ",".join(d["other_statuses"]) if d["other_statuses"] else "",
                ms(pct(d["ok_ms"], 50)) if d["ok_ms"] else "n/a",
                ms(pct(d["ok_ms"], 95)) if d["ok_ms"] else "n/a",
                d["warm_hits"], d["ok"],
                ms(d["host_cpu_ms"] / d["ok"]) if d["ok"] else "n/a",
                (d.get("loadavg") or ["?"])[0]))
    print()
    for f in (goal_load, goal_fork_rps, goal_fork_lat):
        print(goal_line(f, docs))
        print()


CPU_COLS = [("sandbox", "in the sandbox"), ("engine", "engine (Docker: dockerd, containerd, "
                                                        "our shims; fork: the template)"),
            ("clients", "docker clients (run by the broker)"), ("broker", "broker (sandboxd)"),
            ("service", "responders"), ("web", "web server"), ("bench", "the bench's clients"),
            ("rest", "the rest (kernel, neighbours)")]


def table_load_cpu(docs):
    """Where a run's CPU goes under load, by process group (CpuSplit)."""
    ld = load_docs(docs)
    rows = sorted([d for d in ld.values() if d.get("cpu_ms") and d["ok"]],
                  key=lambda d: (MODES.index(d["name"]) if d["name"] in MODES else 9, d["clients"]))
    if not rows:
        return
    print("| engine | clients | host | %s | engine's processes, all (Docker: + clients, broker;"
          " fork: template, broker) | **ours** |" % " | ".join(lab for _, lab in CPU_COLS))
    print("|---|---:|---:|" + "---:|" * (len(CPU_COLS) + 2))
    for d in rows:
        n, c = d["ok"], d["cpu_ms"]

        def v(k):
            return ms(c[k] / n) if c.get(k) is not None else "n/a"
        eng = [c.get(k) for k in ("engine", "clients", "broker")]
        ours = eng + [c.get(k) for k in ("sandbox", "service", "web")]
        print("| %s | %d | %s | %s | %s | %s |%s" % (
            MODE_LABELS.get(d["name"], d["name"]), d["clients"], v("host"),
            " | ".join(v(k) for k, _ in CPU_COLS),
            ms(sum(eng) / n) if None not in eng else "n/a",
            ms(sum(ours) / n) if None not in ours else "n/a",
            " (%s)" % c["note"] if c.get("note") else ""))


def table_burst(docs):
    b = kind(docs, "burst")
    if not b:
        return
    print("| service | clients x runs | answered 200 | 429 | other | p50 ms | p95 ms | took, s |")
    print("|---|---|---:|---:|---|---:|---:|---:|")
    for d in b:
        print("| %s | %d x %d | %d | %d | %s | %s | %s | %.1f |" % (
            d["name"], d["clients"], d["runs"], d["ok"], d["busy_429"],
            ", ".join(d["other_statuses"]) or "none",
            ms(pct(d["ok_ms"], 50)) if d["ok_ms"] else "n/a",
            ms(pct(d["ok_ms"], 95)) if d["ok_ms"] else "n/a", d["elapsed_s"]))
    print()
    print(goal_line(goal_burst, docs))


def goal_load(docs):
    ld = load_docs(docs)
    rs = {}
    for (n, c), d in ld.items():
        if n == "warm" and ("cold", c) in ld:
            co = ld[("cold", c)]
            if co["ok"]:
                rs[c] = rate(d) / rate(co)
    if not rs:
        return None, G_LOAD, ""
    ok = all(v >= 3 for v in rs.values())
    return ok, G_LOAD, ", ".join("%d clients %.2fx" % (c, rs[c]) for c in sorted(rs))


def goal_fork_rps(docs):
    ld = load_docs(docs)
    fk = {c: rate(d) for (m, c), d in ld.items() if m == "fork"}
    if not fk:
        return None, G_FORK_RPS, ""
    best = max(fk, key=fk.get)
    w = {c: rate(d) for (m, c), d in ld.items() if m == "warm"}
    cores = os.cpu_count()
    extra = "; Docker warm's best %.1f runs/s, so fork/Docker warm %s" % (
        max(w.values()), ratio(fk[best], max(w.values()))) if w else ""
    return fk[best] >= 50, G_FORK_RPS, "best %.1f runs/s at %d clients on %d cores%s%s" % (
        fk[best], best, cores, "" if cores == 2 else " (not 2: the figure is not the goal's)",
        extra)


def goal_fork_lat(docs):
    ld = load_docs(docs)
    d = ld.get(("fork", 4))
    if not d or not d["ok_ms"]:
        return None, G_FORK_LAT, ""
    a, b = pct(d["ok_ms"], 50), pct(d["ok_ms"], 95)
    w = ld.get(("warm", 4))
    extra = "; Docker warm: p50 %s ms, p95 %s ms" % (ms(pct(w["ok_ms"], 50)), ms(pct(w["ok_ms"], 95))) \
        if w and w["ok_ms"] else ""
    return a <= 10 and b <= 100, G_FORK_LAT, "p50 %s ms, p95 %s ms, %d refused%s" % (
        ms(a), ms(b), d["busy_429"], extra)


def goal_burst(docs):
    b = [d for d in kind(docs, "burst") if d["clients"] == 4 and d["runs"] == 8]
    if not b:
        return None, G_BURST, ""
    d = b[0]
    return d["busy_429"] == 0 and d["ok"] == d["requests"] == 32, G_BURST, \
        "%d of %d answered, %d refused (429), other: %s" % (
            d["ok"], d["requests"], d["busy_429"], ", ".join(d["other_statuses"]) or "none")


# --- 5. API reads and memory ---------------------------------------------------------------

def table_api(docs):
    api = kind(docs, "api")
    hello = {d["name"]: d for d in api if d["target"] == "hello"}
    sized = {(d["name"], d["target"][6:]): d for d in api if d["target"].startswith("hello-")}
    print("| server | GET | requests/s | p50 ms | p99 ms | **% of hello_fcgi** | % of hello_fcgi "
          "of the same size | non-2xx | body bytes |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    order = {"summary": 0, "failures": 1, "hello": 2, "hello-summary": 3, "hello-failures": 4}

    def pct(d, h):
        return "%.0f %%" % (100 * d["rps"] / h["rps"]) if h and h.get("rps") and d["rps"] else ""

    for d in sorted(api, key=lambda d: (server_order(d["name"]), order.get(d["target"], 9))):
        if d.get("na"):
            print("| %s | %s | n/a (%s) | | | | | | |" % (d["name"], d["path"], d["status"]))
            continue
        mine = not d["target"].startswith("hello")
        path = d["path"] if mine else "hello_fcgi (floor) " + d["path"]
        print("| %s | %s | %.0f | %s | %s | %s | %s | %d | %d |" % (
            d["name"], path, d["rps"] or 0, ms(d["p50_ms"]), ms(d["p99_ms"]),
            pct(d, hello.get(d["name"])) if mine else "",
            pct(d, sized.get((d["name"], d["target"]))) if mine else "",
            d["non2xx"], d["bytes"]))
    print()
    print(goal_line(goal_api, docs))
    print(goal_line(goal_api_sized, docs))


def api_shares(docs, floor):
    """(line, values) of our endpoints' req/s as a share of floor(d)'s."""
    api = kind(docs, "api")
    rs, vals = [], []
    for d in sorted(api, key=lambda d: server_order(d["name"])):
        if d["target"].startswith("hello") or not d.get("rps"):
            continue
        h = floor(api, d)
        if h and h.get("rps"):
            rs.append("%s %s %.0f %%" % (d["name"], d["target"], 100 * d["rps"] / h["rps"]))
            vals.append(d["rps"] / h["rps"])
    return ", ".join(rs), vals


def goal_api(docs):
    line, vals = api_shares(docs, lambda api, d: next(
        (h for h in api if h["name"] == d["name"] and h["target"] == "hello"), None))
    if not vals:
        return None, G_API, ""
    return all(v >= 0.8 for v in vals), G_API, line


def goal_api_sized(docs):
    line, vals = api_shares(docs, lambda api, d: next(
        (h for h in api if h["name"] == d["name"] and h["target"] == "hello-" + d["target"]),
        None))
    if not vals:
        return None, G_API_SIZED, ""
    return all(v >= 0.8 for v in vals), G_API_SIZED, line


def mem_rows(docs):
    """{(server, role): (count, max idle KiB, max after KiB)}."""
    out = {}
    for d in kind(docs, "mem"):
        for phase in ("idle", "end"):
            for r in d["phases"].get(phase, []):
                key = (d["name"], r["role"])
                cur = out.setdefault(key, {"idle": [], "end": []})
                if r["rss_kib"] is not None:
                    cur[phase].append(r["rss_kib"])
    return out


def table_mem(docs):
    rows = mem_rows(docs)
    roles = ["API pool (imgsandbox-api)", "run pool (responder)", "supervise", "broker",
             "web server"]
    print("| server | processes | count | VmRSS idle, KiB (max) | VmRSS after the load, KiB (max) |")
    print("|---|---|---:|---:|---:|")
    for (name, role) in sorted(rows, key=lambda k: (server_order(k[0]), roles.index(k[1])
                                                    if k[1] in roles else 9)):
        r = rows[(name, role)]
        print("| %s | %s | %d | %s | %s |" % (
            name, role, max(len(r["idle"]), len(r["end"])),
            max(r["idle"]) if r["idle"] else "n/a", max(r["end"]) if r["end"] else "n/a"))
    print()
    print(goal_line(goal_mem, docs))


def goal_mem(docs):
    rows = mem_rows(docs)
    got = {k: max(v["end"]) for k, v in rows.items() if v["end"] and "pool" in k[1]}
    if not got:
        return None, G_MEM, ""
    ok = all(v <= MIB8 for v in got.values())
    worst = max(got, key=got.get)
    return ok, G_MEM, "largest: %s %s, %.1f MiB" % (worst[0], worst[1], got[worst] / 1024)


# --- 6. slow clients ------------------------------------------------------------------------

def table_slow(docs):
    sl = sorted(kind(docs, "slow"), key=lambda d: server_order(d["name"]))
    if not sl:
        return
    print("| server | state | summary reads | p50 ms | p99 ms | max ms | a trivial /run "
          "from another client, ms | slow connections cut by the server |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for d in sl:
        for st, lab in (("idle", "idle"), ("slow", "%d connections trickling" % d["connections"])):
            x = d[st]
            r = x["reads_ms"]
            print("| %s | %s | %d | %s | %s | %s | %s | %s |" % (
                d["name"], lab, len(r), ms(pct(r, 50)), ms(pct(r, 99)), ms(max(r)),
                ms(x.get("run_ms")), x.get("cut", "") if st == "slow" else ""))
    print()
    print(goal_line(goal_slow, docs))


def goal_slow(docs):
    sl = kind(docs, "slow")
    if not sl:
        return None, G_SLOW, ""
    got = {d["name"]: pct(d["slow"]["reads_ms"], 99) for d in sl}
    ok = all(v < 100 for v in got.values())
    return ok, G_SLOW, ", ".join("%s %s ms" % (s, ms(got[s])) for s in sorted(got, key=server_order))


def goal_line(f, docs):
    ok, name, detail = f(docs)
    if ok is None:
        return "Goal, %s: not measured." % name
    return "Goal, %s: %s (%s)." % (name, yes(ok), detail)


def table_goals(docs):
    print("| goal | result | figures |")
    print("|---|---|---|")
    for f in (goal_latency, goal_blur, goal_load, goal_fork_rps, goal_fork_lat, goal_burst,
              goal_api, goal_api_sized, goal_mem, goal_slow):
        ok, name, detail = f(docs)
        print("| %s | %s | %s |" % (name, "not measured" if ok is None else yes(ok), detail))


def cmd_table(part, d):
    docs = load_all(d)
    {"latency": table_latency, "steps": table_steps, "heavy": table_heavy,
     "preload": table_preload, "load": table_load, "load_cpu": table_load_cpu, "burst": table_burst, "api": table_api, "mem": table_mem,
     "slow": table_slow, "goals": table_goals}[part](docs)
