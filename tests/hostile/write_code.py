# expect: error  want: read-only
try:
    open("/code/main.py", "a").write("# changed\n")
except OSError as e:
    print("read-only:", e)
    raise
