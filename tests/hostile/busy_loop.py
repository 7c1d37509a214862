# expect: timeout  limit: short
while True:
    pass
