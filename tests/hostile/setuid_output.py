# expect: success  want: mode 0o4755
# A setuid, executable file in /output: it never reaches the host (only
# checked images leave, published 0640), and /output is mounted
# nosuid,noexec,nodev in the sandbox.
import os, stat
from PIL import Image
open("/output/tool", "wb").write(b"#!/bin/sh\nid\n")
os.chmod("/output/tool", 0o4755)
print("mode", oct(stat.S_IMODE(os.stat("/output/tool").st_mode)))
opts = [l.split()[3] for l in open("/proc/mounts") if l.split()[1] == "/output"]
print("mount", opts)
assert all(o in opts[0].split(",") for o in ("nosuid", "noexec", "nodev")), opts
Image.new("RGB", (2, 2)).save("/output/result.png")
