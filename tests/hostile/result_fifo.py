# expect: bad_output
import os
os.mkfifo("/output/result.png")
