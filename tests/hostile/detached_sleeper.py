# expect: success  want: started
import subprocess
from PIL import Image
subprocess.Popen(["sleep", "7391"], start_new_session=True,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print("started")
Image.new("RGB", (2, 2)).save("/output/result.png")
