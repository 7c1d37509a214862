# expect: bad_output
import os
os.symlink("/etc/passwd", "/output/result.png")
