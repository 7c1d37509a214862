# Text on a translucent banner with Pillow's ImageDraw.
# Parameters: {"text": "Hello from the sandbox", "size": 36}
import json
import os

from PIL import Image, ImageDraw, ImageFont

params = json.loads(os.environ.get("USER_PARAMS") or "{}")
text = str(params.get("text", "Hello from the sandbox"))
size = int(params.get("size", 36))

image = Image.open("/input/image.png").convert("RGBA")
try:
    font = ImageFont.truetype("DejaVuSans-Bold.ttf", size)
except OSError:  # no TrueType font installed: the small built-in one
    font = ImageFont.load_default()

overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
draw = ImageDraw.Draw(overlay)
left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
width, height = right - left, bottom - top
pad = size // 2
x = (image.width - width) // 2
y = image.height - height - 3 * pad
draw.rounded_rectangle((x - pad, y - pad, x + width + pad, y + height + pad),
                       radius=pad, fill=(0, 0, 0, 150))
draw.text((x - left, y - top), text, font=font, fill=(255, 255, 255, 255))

Image.alpha_composite(image, overlay).convert("RGB").save("/output/result.png")
print("Drew %r at (%d, %d)" % (text, x, y))
