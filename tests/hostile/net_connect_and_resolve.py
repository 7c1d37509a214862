# expect: success  want: dns failed|connect failed|interfaces ['lo']
import os, socket
from PIL import Image
print("interfaces", sorted(os.listdir("/sys/class/net")))
try:
    socket.getaddrinfo("example.com", 80)
    print("dns ok")
except OSError as e:
    print("dns failed:", e)
try:
    # The host's own loopback services are not this namespace's loopback.
    socket.create_connection(("127.0.0.1", 22), timeout=2)
    print("connected")
except OSError as e:
    print("connect failed:", e)
Image.new("RGB", (1, 1)).save("/output/result.png")
