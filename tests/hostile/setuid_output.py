# expect: success  want: exec refused|kept result
# A setuid, executable file in /output: it never reaches the host (only
# checked images leave, published 0640), and /output is mounted noexec
# (and, under runc, nosuid,nodev): running it is refused.
import errno, os, subprocess
from PIL import Image
open("/output/tool", "w").write("#!/bin/sh\necho ran\n")
os.chmod("/output/tool", 0o4755)
try:
    subprocess.run(["/output/tool"], check=True)
    print("exec worked")
except PermissionError:
    print("exec refused")
Image.new("RGB", (2, 2)).save("/output/result.png")
print("kept result")
