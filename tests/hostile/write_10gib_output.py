# expect: error  want: wrote
import os
chunk = b"\0" * (1 << 20)
n = 0
try:
    with open("/output/big.bin", "wb") as f:
        for _ in range(10 * 1024):
            f.write(chunk)
            n += 1
finally:
    print("wrote", n, "MiB")
