# expect: bad_output
import os
os.mkdir("/output/result.png")
