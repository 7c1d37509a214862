# expect: bad_output
from PIL import Image
Image.new("RGB", (8, 8)).save("/output/result.png", format="JPEG")
