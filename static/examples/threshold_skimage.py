# Black and white with Otsu's threshold from scikit-image.
# Parameters: {"invert": false}
import json
import os

import numpy as np
from PIL import Image
from skimage import color, filters

params = json.loads(os.environ.get("USER_PARAMS") or "{}")
invert = bool(params.get("invert", False))

rgb = np.asarray(Image.open("/input/image.png").convert("RGB"))
gray = color.rgb2gray(rgb)  # floats from 0.0 to 1.0
threshold = filters.threshold_otsu(gray)
mask = gray > threshold
if invert:
    mask = ~mask

Image.fromarray((mask * 255).astype(np.uint8)).save("/output/result.png")
print("Otsu threshold: %.3f; %.1f%% of pixels are white" % (threshold, 100 * mask.mean()))
