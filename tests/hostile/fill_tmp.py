# expect: error  want: wrote
chunk = b"\0" * (1 << 20)
n = 0
try:
    with open("/tmp/fill.bin", "wb") as f:
        while True:
            f.write(chunk)
            f.flush()
            n += 1
finally:
    print("wrote", n, "MiB")
