"""GET /api/metrics: the Prometheus text format, parsed here line by line,
through every server; the operator's only (see test_access.py)."""
import re

import pytest

from test_access import get

ENGINE = "fork"  # its claims are not the engine's: docs/development.md


@pytest.fixture(scope="module")
def service(fork_service):
    return fork_service

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*"'
                    r'(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*")*)?\})? (-?[0-9.eE+-]+|\+Inf|NaN)$')


def parse(text):
    """{name: {"type": t, "samples": [(labels dict, value)]}}; checks the format."""
    out, typed = {}, {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name = line.split()[2]
            assert name not in out, "HELP twice: " + name
            out[name] = {"samples": []}
        elif line.startswith("# TYPE "):
            _, _, name, t = line.split()
            assert t in ("counter", "gauge", "histogram") and name in out
            typed[name] = out[name]["type"] = t
        else:
            m = SAMPLE.match(line)
            assert m, "not a sample line: %r" % line
            name = m.group(1)
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            family = name if name in typed else base
            assert family in typed, "a sample before its TYPE: " + name
            labels = dict(re.findall(r'([a-zA-Z_]\w*)="([^"]*)"', m.group(3) or ""))
            out[family]["samples"].append((name, labels, float(m.group(5))))
    return out


def value(m, name, **labels):
    family = name if name in m else re.sub(r"_(bucket|sum|count)$", "", name)
    for n, l, v in m[family]["samples"]:
        if n == name and all(l.get(k) == w for k, w in labels.items()):
            return v
    raise KeyError((name, labels))


def test_metrics_parse_and_agree_with_the_log(service):
    for code in ("print(1)\n", "raise ValueError('x')\n",
                 "from PIL import Image\nImage.new('RGB', (2, 2)).save('/output/result.png')\n"):
        status, _, _ = service.run(code)
        assert status == 200
    status, headers, body = get(service, "/api/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
    m = parse(body.decode())
    # The warm pool's figures where there is one (the suite's services have
    # none unless asked; test_pool.py's has).
    warm = service.env.get("IMGSANDBOX_WARM") != "0"
    for name in ("imgsandbox_runs_total", "imgsandbox_run_duration_seconds", "imgsandbox_slots_busy",
                 "imgsandbox_refused_total", "imgsandbox_log_rows",
                 "imgsandbox_runs_unlogged_total") + (("imgsandbox_warm_ready",) if warm else ()):
        assert name in m, name
    assert m["imgsandbox_run_duration_seconds"]["type"] == "histogram"
    # The histogram: cumulative, ending at +Inf = _count.
    buckets = [(float(l["le"]) if l["le"] != "+Inf" else float("inf"), v)
               for n, l, v in m["imgsandbox_run_duration_seconds"]["samples"] if n.endswith("_bucket")]
    assert buckets == sorted(buckets) and buckets[-1][0] == float("inf")
    assert all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:]))
    assert buckets[-1][1] == value(m, "imgsandbox_run_duration_seconds_count") >= 3
    # Runs by status add up to the log's rows, and include these runs.
    total = sum(v for _, _, v in m["imgsandbox_runs_total"]["samples"])
    assert total == value(m, "imgsandbox_log_rows")
    assert value(m, "imgsandbox_runs_total", status="success") >= 1
    assert value(m, "imgsandbox_runs_total", status="error") >= 1
    assert {l["reason"] for _, l, _ in m["imgsandbox_refused_total"]["samples"]} == \
        {"in_flight", "rate", "busy"}
    assert value(m, "imgsandbox_slots") >= 1
