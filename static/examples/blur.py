# Gaussian blur with Pillow's ImageFilter.
# Parameters: {"radius": 6}
import json
import os

from PIL import Image, ImageFilter

params = json.loads(os.environ.get("USER_PARAMS") or "{}")
radius = float(params.get("radius", 6))

image = Image.open("/input/image.png").convert("RGB")
blurred = image.filter(ImageFilter.GaussianBlur(radius=radius))

blurred.save("/output/result.png")
print("Blurred", image.size, "with radius", radius)
