# expect: success  want: mains ['/code/main.py']
# Looks everywhere it can for another job's files (code, input, output).
import os
from PIL import Image
mains = []
for top in sorted(os.listdir("/")):
    if top in ("proc", "sys", "usr", "dev") or os.path.islink("/" + top):
        continue
    for root, dirs, files in os.walk("/" + top, onerror=lambda e: None):
        mains += [os.path.join(root, f) for f in files if f in ("main.py", "image.png", "result.png")]
print("mains", sorted(mains))
print("root", sorted(os.listdir("/")))
Image.new("RGB", (1, 1)).save("/output/result.png")
