# expect: success  want: started
# test_hostile.py replaces 7391 with a number unique to each run, so that two
# runs of this script at once (lighttpd and nginx workers) cannot see each
# other's sleeper in the host's process list.
import subprocess
from PIL import Image
subprocess.Popen(["sleep", "7391"], start_new_session=True,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print("started")
Image.new("RGB", (2, 2)).save("/output/result.png")
