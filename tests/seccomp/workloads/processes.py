# What a script may do with processes and threads: multiprocessing (fork
# and spawn, pools, queues, locks and semaphores, shared memory),
# concurrent.futures, threads, subprocess, signals, timers, select.
import concurrent.futures as cf
import multiprocessing as mp
import multiprocessing.shared_memory as shm
import os
import select
import signal
import subprocess
import tempfile
import threading
import time
import numpy as np
from PIL import Image


def square(x):
    return x * x


def worker(q, lock, arr):
    with lock:
        arr[0] += 1
    q.put(os.getpid())


if __name__ == "__main__":
    for method in ("fork", "spawn", "forkserver"):
        ctx = mp.get_context(method)
        with ctx.Pool(2) as p:
            print(method, "pool", sum(p.map(square, range(10))))
        q, lock, arr = ctx.Queue(), ctx.Lock(), ctx.Array("i", 1)
        ps = [ctx.Process(target=worker, args=(q, lock, arr)) for _ in range(2)]
        for pr in ps:
            pr.start()
        for pr in ps:
            pr.join()
        print(method, "procs", arr[0], q.get() > 0, ctx.Semaphore(2).acquire())
    m = shm.SharedMemory(create=True, size=1 << 16)
    np.ndarray((16,), dtype=np.uint8, buffer=m.buf)[:] = 7
    m.close(); m.unlink()
    with cf.ProcessPoolExecutor(2) as ex:
        print("ppe", list(ex.map(square, range(4))))
    with cf.ThreadPoolExecutor(4) as ex:
        print("tpe", list(ex.map(square, range(4))))
    ev = threading.Event(); threading.Timer(0.01, ev.set).start(); ev.wait(2)
    print("sub", subprocess.run(["/bin/echo", "hi"], capture_output=True, text=True).stdout.strip())
    print("sh", subprocess.run("echo $((1+2))", shell=True, capture_output=True, text=True).stdout.strip())
    r, w = os.pipe(); os.write(w, b"x"); print("select", select.select([r], [], [], 1)[0] == [r])
    signal.signal(signal.SIGALRM, lambda *a: None); signal.setitimer(signal.ITIMER_REAL, 0.01); time.sleep(0.05)
    with tempfile.TemporaryDirectory() as d:
        open(os.path.join(d, "f"), "w").write("x"); os.rename(os.path.join(d, "f"), os.path.join(d, "g"))
        print("tmp", os.listdir(d))
    Image.new("RGB", (8, 8)).save("/output/result.png")
