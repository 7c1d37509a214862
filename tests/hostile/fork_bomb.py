# expect: error|timeout  limit: short
import os
while True:
    os.fork()
