# The numeric libraries' heavy paths: BLAS/LAPACK (OpenBLAS threads), FFT,
# SciPy's ndimage and signal, scikit-image's filters, morphology,
# segmentation and transforms, OpenCV with its thread pool, Pillow's codecs.
import os
import numpy as np
import scipy.ndimage as ndi
import scipy.signal
import scipy.fft
import scipy.linalg
import cv2
from PIL import Image, ImageFilter, ImageOps, ImageDraw, ImageFont, ImageEnhance
from skimage import color, exposure, feature, filters, measure, morphology, segmentation, transform, io

rng = np.random.default_rng(0)
a = rng.random((300, 300))
print("det", np.linalg.det(a @ a.T + np.eye(300)))
print("svd", scipy.linalg.svd(a, compute_uv=False)[:2])
print("fft", abs(np.fft.fft2(a)).sum(), abs(scipy.fft.fft2(a, workers=2)).sum())
print("conv", scipy.signal.fftconvolve(a, a[:20, :20]).shape)
img = (a * 255).astype(np.uint8)
print("ndi", ndi.gaussian_filter(img, 3).mean(), ndi.label(img > 128)[1])
print("sk", filters.sobel(a).mean(), filters.threshold_otsu(a))
print("morph", morphology.binary_opening(a > 0.5).sum())
print("seg", segmentation.slic(np.dstack([a, a, a]), n_segments=20, start_label=1).max())
print("feat", feature.canny(a).sum(), len(measure.find_contours(a, 0.5)))
print("tf", transform.rotate(a, 30).shape, transform.resize(a, (100, 100)).shape)
print("exp", exposure.equalize_hist(a).mean())
cv2.setNumThreads(2)
bgr = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
print("cv2", cv2.Canny(img, 50, 150).sum(), cv2.resize(bgr, (150, 150)).shape)
print("cv2 dft", cv2.dft(a.astype(np.float32)).shape, cv2.GaussianBlur(bgr, (9, 9), 0).mean())
ok, enc = cv2.imencode(".jpg", bgr)
print("cv2 codec", ok, cv2.imdecode(enc, cv2.IMREAD_COLOR).shape)
im = Image.fromarray(img).convert("RGB")
im = ImageEnhance.Contrast(im.filter(ImageFilter.GaussianBlur(2))).enhance(1.5)
ImageDraw.Draw(im).text((5, 5), "hi", font=ImageFont.load_default())
for fmt in ("PNG", "JPEG", "WEBP", "TIFF", "GIF", "BMP"):
    path = "/tmp/t." + fmt.lower()
    im.save(path, fmt)
    Image.open(path).load()
io.imsave("/tmp/sk.png", img)
print("io", io.imread("/tmp/sk.png").shape)
im.save("/output/result.png")
