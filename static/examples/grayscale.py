# Grayscale with Pillow, with an optional contrast stretch.
# Parameters: {"autocontrast": true, "cutoff": 1}
import json
import os

from PIL import Image, ImageOps

params = json.loads(os.environ.get("USER_PARAMS") or "{}")
autocontrast = bool(params.get("autocontrast", True))
cutoff = float(params.get("cutoff", 1))  # % of darkest and lightest pixels clipped

image = Image.open("/input/image.png").convert("RGB")
gray = ImageOps.grayscale(image)  # mode "L": one 8-bit channel
if autocontrast:
    gray = ImageOps.autocontrast(gray, cutoff=cutoff)

gray.save("/output/result.png")
print("Grayscale of", image.size, "autocontrast" if autocontrast else "as is")
