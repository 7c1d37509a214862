# expect: output_limit  type: OutputLimit
import sys
line = "x" * 1023 + "\n"
block = line * 1024
for _ in range(1024):
    sys.stdout.write(block)
