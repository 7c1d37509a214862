#!/usr/bin/python3
"""Draws static/sample.png, the bundled sample image (640x480 RGB).

A photo-like test picture: a sky gradient with a soft sun, two hazy mountain
ridges, a textured meadow, a shaded ball with a soft shadow, a colour chart
and a small label. Everything is computed here with a fixed seed, so the file
is the same on every run with the same Pillow/NumPy/zlib:

    /usr/bin/python3 static/make_sample.py
"""
import os

import numpy as np
from PIL import Image, ImageDraw, ImageFont

W, H = 640, 480
SEED = 20240521
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "sample.png")

YY, XX = np.mgrid[0:H, 0:W].astype(np.float64)


def smoothstep(edge0, edge1, x):
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def lerp(a, b, t):
    """Blends colour a into colour b by t (an HxW array or a scalar)."""
    t = np.asarray(t, dtype=np.float64)[..., None]
    return np.asarray(a, dtype=np.float64) * (1.0 - t) + np.asarray(b, dtype=np.float64) * t


def over(img, colour, alpha):
    """Paints colour (an RGB triple or an HxWx3 array) over img with alpha (HxW)."""
    a = np.asarray(alpha, dtype=np.float64)[..., None]
    return img * (1.0 - a) + np.asarray(colour, dtype=np.float64) * a


def ridge(rng, base, amplitude, octaves):
    """A mountain skyline: y of the ridge for every x, a sum of sine octaves
    whose amplitude halves as the frequency doubles (rough, not wavy)."""
    x = XX[0]
    y = np.full(W, float(base))
    for k in range(octaves):
        freq = rng.uniform(1.5, 2.5) * (2.0 ** k) * 2.0 * np.pi / W
        phase = rng.uniform(0.0, 2.0 * np.pi)
        y += amplitude / (1.9 ** k) * np.sin(freq * x + phase)
    return y


def sky():
    t = YY / (H * 0.62)
    img = lerp((38, 84, 160), (250, 196, 140), smoothstep(0.0, 1.0, t) ** 1.4)
    # The sun: a hard-ish disc inside a wide glow.
    d = np.hypot(XX - 470.0, YY - 150.0)
    img = over(img, (255, 236, 190), np.exp(-(d / 110.0) ** 2) * 0.55)
    img = over(img, (255, 250, 232), smoothstep(34.0, 30.0, d))
    return img


def mountains(img, rng):
    far = ridge(rng, 245.0, 34.0, 7)
    near = ridge(rng, 298.0, 24.0, 7)
    haze = smoothstep(200.0, 320.0, YY) * 0.35
    far_mask = smoothstep(-1.0, 1.0, YY - far[None, :])
    img = over(img, lerp((120, 128, 170), (200, 170, 170), haze), far_mask)
    near_mask = smoothstep(-1.0, 1.0, YY - near[None, :])
    shade = smoothstep(280.0, 360.0, YY)
    img = over(img, lerp((70, 88, 110), (52, 70, 78), shade), near_mask)
    return img


def meadow(img, rng):
    horizon = 330.0 + 8.0 * np.sin(XX / 90.0)
    mask = smoothstep(-1.5, 1.5, YY - horizon)
    depth = smoothstep(330.0, 480.0, YY)
    grass = lerp((110, 150, 70), (46, 96, 38), depth)
    # Blades: vertical streaks whose scale grows towards the viewer.
    streaks = rng.normal(0.0, 1.0, W)
    streaks = np.convolve(streaks, np.ones(3) / 3.0, mode="same")
    texture = streaks[None, :] * (4.0 + 10.0 * depth)
    grass = grass + texture[..., None] * np.array([0.6, 1.0, 0.4])
    return over(img, grass, mask)


def ball(img):
    cx, cy, r = 180.0, 380.0, 58.0
    # Soft shadow on the grass first.
    ds = np.hypot((XX - cx - 26.0) / 1.0, (YY - cy - r + 6.0) / 0.28)
    img = over(img, (20, 40, 18), smoothstep(r + 18.0, r - 22.0, ds) * 0.55)
    d = np.hypot(XX - cx, YY - cy)
    inside = smoothstep(r + 1.0, r - 1.0, d)
    # Lambert shading from a light up and to the right.
    nz = np.sqrt(np.clip(1.0 - (d / r) ** 2, 0.0, 1.0))
    nx, ny = (XX - cx) / r, (YY - cy) / r
    light = np.array([0.55, -0.6, 0.58])
    light = light / np.linalg.norm(light)
    lam = np.clip(nx * light[0] + ny * light[1] + nz * light[2], 0.0, 1.0)
    body = lerp((70, 10, 16), (226, 52, 44), lam)
    spec = np.clip(lam, 0.0, 1.0) ** 40
    body = lerp(body, (255, 245, 235), spec * 0.9)
    return over(img, body, inside)


def colour_chart(img):
    """A 6x3 chart of patches on a dark card with rounded, soft corners."""
    x0, y0, cell, gap = 372, 336, 38, 4
    cols, rows = 6, 3
    x1, y1 = x0 + cols * (cell + gap) + gap, y0 + rows * (cell + gap) + gap
    # Card with a soft drop shadow (rounded-box distance).
    def box_dist(ax, ay, bx, by, rad):
        hx, hy = (bx - ax) / 2.0 - rad, (by - ay) / 2.0 - rad
        qx = np.abs(XX - (ax + bx) / 2.0) - hx
        qy = np.abs(YY - (ay + by) / 2.0) - hy
        return np.hypot(np.maximum(qx, 0), np.maximum(qy, 0)) + np.minimum(np.maximum(qx, qy), 0) - rad
    shadow = box_dist(x0 + 6, y0 + 8, x1 + 6, y1 + 8, 8.0)
    img = over(img, (10, 20, 10), smoothstep(12.0, -6.0, shadow) * 0.5)
    img = over(img, (34, 34, 38), smoothstep(1.0, -1.0, box_dist(x0, y0, x1, y1, 8.0)))
    hues = np.linspace(0.0, 1.0, cols, endpoint=False)
    for r in range(rows):
        for c in range(cols):
            px, py = x0 + gap + c * (cell + gap), y0 + gap + r * (cell + gap)
            if r == 2:
                v = c / (cols - 1)
                colour = (20 + 225 * v,) * 3
            else:
                h = hues[c] * 6.0
                k = np.clip(np.abs((np.array([0.0, 4.0, 2.0]) + h) % 6.0 - 3.0) - 1.0, 0.0, 1.0)
                sat = 0.85 if r == 0 else 0.45
                val = 0.92 if r == 0 else 0.75
                colour = tuple(255.0 * val * (1.0 - sat + sat * k))
            d = box_dist(px, py, px + cell, py + cell, 4.0)
            img = over(img, colour, smoothstep(0.8, -0.8, d))
    return img


def label(img):
    """Small text, drawn with Pillow's built-in bitmap font, scaled up 2x."""
    text = "imgsandbox sample 640x480"
    font = ImageFont.load_default()
    layer = Image.new("L", (220, 14), 0)
    ImageDraw.Draw(layer).text((2, 1), text, fill=255, font=font)
    layer = layer.resize((440, 28), Image.BILINEAR)
    alpha = np.zeros((H, W))
    alpha[14:42, 14:454] = np.asarray(layer, dtype=np.float64) / 255.0
    shadow = np.zeros((H, W))
    shadow[16:44, 16:456] = alpha[14:42, 14:454]
    img = over(img, (10, 20, 50), shadow * 0.6)
    return over(img, (255, 255, 255), alpha)


def main():
    rng = np.random.default_rng(SEED)
    img = sky()
    img = mountains(img, rng)
    img = meadow(img, rng)
    img = ball(img)
    img = colour_chart(img)
    img = label(img)
    # Vignette and a little sensor noise, like a photo.
    r = np.hypot((XX - W / 2.0) / (W / 2.0), (YY - H / 2.0) / (H / 2.0))
    img = img * (1.0 - 0.18 * smoothstep(0.6, 1.45, r))[..., None]
    img = img + rng.normal(0.0, 1.3, (H, W, 1)) + rng.normal(0.0, 0.5, (H, W, 3))
    pixels = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    Image.fromarray(pixels, "RGB").save(OUT, format="PNG", optimize=True)
    print("wrote %s (%d bytes)" % (OUT, os.path.getsize(OUT)))


if __name__ == "__main__":
    main()
