"""Several result images (API.md "Several result images"), through every
server: each PNG or JPEG the script saves directly in /output (up to 8) is
checked and published, listed in the answer with result.png first, and
served by the web server under the same rules as the result; what fails a
check is listed with why, and never published. And the published results'
byte budget (IMGSANDBOX_OUTPUTS_MAX_BYTES): the oldest go first."""
import io
import os
import time

import pytest
from PIL import Image

from conftest import Service, budget, settled

ENGINE = "fork"  # its claims are not the engine's: docs/development.md


@pytest.fixture(scope="module")
def service(fork_service):
    return fork_service

SEVERAL = """\
from PIL import Image
Image.new("RGB", (30, 20), (255, 0, 0)).save("/output/result.png")
Image.new("RGB", (10, 12), (0, 255, 0)).save("/output/b-small.jpg", quality=90)
Image.new("L", (5, 6), 128).save("/output/a_gray.png")
open("/output/not-an-image.png", "w").write("just text")
open("/output/notes.txt", "w").write("not an image name: ignored")
Image.new("RGB", (4, 4)).save("/output/x.jpeg", format="PNG")   # a PNG named .jpeg
print("saved")
"""


def test_several_images_are_checked_listed_and_served(service):
    status, _, r = service.run(SEVERAL)
    assert status == 200 and r["status"] == "success", r
    outs = r["outputs"]
    assert [o["name"] for o in outs] == ["result.png", "a_gray.png", "b-small.jpg"], outs
    assert r["url"] == outs[0]["url"] == "/outputs/%s/result.png" % r["job_id"]
    assert (outs[0]["width"], outs[0]["height"], outs[0]["type"]) == (30, 20, "image/png")
    assert (outs[2]["width"], outs[2]["height"], outs[2]["type"]) == (10, 12, "image/jpeg")
    refused = {o["name"]: o["reason"] for o in r["outputs_refused"]}
    assert set(refused) == {"not-an-image.png", "x.jpeg"}, refused
    assert "not a valid PNG" in refused["not-an-image.png"]
    assert "not JPEG as its name says" in refused["x.jpeg"]
    for o in outs:
        status, headers, body = service.request("GET", o["url"])
        assert status == 200, o
        assert headers["Content-Type"] == o["type"]
        assert headers.get("X-Content-Type-Options") == "nosniff"
        img = Image.open(io.BytesIO(body))
        assert img.size == (o["width"], o["height"]) and len(body) == o["bytes"]
    # Only what passed is on disk, readable as published.
    folder = os.path.join(service.data, "outputs", r["job_id"])
    assert sorted(os.listdir(folder)) == ["a_gray.png", "b-small.jpg", "result.png"]
    for name in ("not-an-image.png", "x.jpeg", "notes.txt", "../result.png"):
        status, _, _ = service.request("GET", "/outputs/%s/%s" % (r["job_id"], name))
        assert status in (403, 404), name
    assert settled(service)


def test_at_most_eight_and_no_result_is_no_output(service):
    code = ("from PIL import Image\n"
            "for i in range(11):\n"
            "    Image.new('RGB', (2, 2)).save('/output/img%02d.png' % i)\n")
    status, _, r = service.run(code)
    assert r["status"] == "no_output", r        # no result.png: nothing published
    assert r["outputs"] == [] and r["url"] is None
    status, _, r = service.run(code + "Image.new('RGB', (3, 3)).save('/output/result.png')\n")
    assert r["status"] == "success" and len(r["outputs"]) == 8, r
    assert r["outputs_skipped"] == 4     # 12 images: the first 8, result.png first
    assert r["outputs"][0]["name"] == "result.png"


def test_published_results_keep_within_their_budget():
    svc = Service("lighttpd", {"IMGSANDBOX_OUTPUTS_MAX_BYTES": str(1 << 20),
                               "IMGSANDBOX_REAP_INTERVAL_S": "1"}, responders=2)
    try:
        code = ("import os\nfrom PIL import Image\n"
                "Image.frombytes('RGB', (300, 300), os.urandom(270000)).save('/output/result.png')\n")
        jobs = []
        for _ in range(6):                        # ~270 KB each, 1 MiB allowed
            status, _, r = svc.run(code)
            assert r["status"] == "success", r
            jobs.append(r["job_id"])
            time.sleep(1.1)     # distinct ages: a folder's time is kept in seconds
        outputs = os.path.join(svc.data, "outputs")
        deadline = time.time() + budget(1)        # the reaper, every second
        while time.time() < deadline and len(os.listdir(outputs)) > 3:
            time.sleep(0.3)
        kept = set(os.listdir(outputs))
        assert 1 <= len(kept) <= 3, kept
        assert jobs[-1] in kept and jobs[0] not in kept   # the oldest went first
    finally:
        svc.stop()


def outputs_bytes(folder):
    return sum(os.stat(os.path.join(folder, d, f)).st_blocks * 512
               for d in os.listdir(folder) if len(d) == 32
               for f in os.listdir(os.path.join(folder, d)))


def test_the_budget_holds_as_each_result_is_published():
    """The periodic sweep is an hour away: each result counts against the
    budget as it is published, and the oldest go then, the run's own never
    (the results of one second go in the order they were made)."""
    svc = Service("lighttpd", {"IMGSANDBOX_OUTPUTS_MAX_BYTES": str(1 << 20),
                               "IMGSANDBOX_REAP_INTERVAL_S": "3600",
                               "IMGSANDBOX_TIMEOUT_MS": "120000"}, responders=2)
    try:
        code = ("import os\nfrom PIL import Image\n"
                "Image.frombytes('RGB', (300, 300), os.urandom(270000)).save('/output/result.png')\n")
        outputs = os.path.join(svc.data, "outputs")
        jobs = []
        for _ in range(8):                        # ~270 KB each, 1 MiB allowed
            status, _, r = svc.run(code, timeout=300)
            assert r["status"] == "success", r
            jobs.append(r["job_id"])
            kept = set(d for d in os.listdir(outputs) if len(d) == 32)
            assert outputs_bytes(outputs) <= 1 << 20, (len(jobs), kept)
            assert r["job_id"] in kept
        assert jobs[0] not in kept and jobs[-2] in kept
    finally:
        svc.stop()
