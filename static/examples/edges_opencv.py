# Edges with OpenCV's Canny detector, drawn in red over a dimmed copy.
# OpenCV keeps colour images as BGR (blue, green, red) uint8 arrays.
# Parameters: {"low": 60, "high": 160}
import json
import os

import cv2
import numpy as np

params = json.loads(os.environ.get("USER_PARAMS") or "{}")
low = int(params.get("low", 60))
high = int(params.get("high", 160))

bgr = cv2.imread("/input/image.png", cv2.IMREAD_COLOR)  # None when unreadable
if bgr is None:
    raise SystemExit("Could not read /input/image.png: send an image or use the sample.")

gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
gray = cv2.GaussianBlur(gray, (5, 5), 0)
edges = cv2.Canny(gray, low, high)

result = (bgr * 0.35).astype(np.uint8)  # the picture, dimmed
result[edges > 0] = (0, 0, 255)  # red, in BGR order

cv2.imwrite("/output/result.png", result)
print("Edge pixels:", int(np.count_nonzero(edges)), "of", edges.size)
