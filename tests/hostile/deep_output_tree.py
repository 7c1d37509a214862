# expect: no_output  want: made 70 levels
# A tree deeper than any recursive removal's cap, with a file at the bottom:
# /output is the container's own tmpfs, so nothing of it reaches the host.
import os
path = "/output/" + "d/" * 70
os.makedirs(path)
open(path + "bottom.txt", "w").write("x")
print("made 70 levels")
