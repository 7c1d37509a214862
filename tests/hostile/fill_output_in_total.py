# expect: success  want: ENOSPC after 32 MiB in all|kept result
# /output is capped in total by the kernel (a tmpfs of IMGSANDBOX_OUTPUT_BYTES),
# not only per file: file after file of 4 MiB fails with ENOSPC at the cap.
import errno, os
from PIL import Image
chunk = b"\1" * (4 << 20)
n = 0
try:
    while True:
        with open("/output/big%03d.bin" % n, "wb") as f:
            f.write(chunk)
        n += 1
except OSError as e:
    print("ENOSPC" if e.errno == errno.ENOSPC else e, "after %d MiB in all" % (n * 4))
for name in os.listdir("/output"):
    os.remove("/output/" + name)
Image.new("RGB", (2, 2)).save("/output/result.png")
print("kept result")
