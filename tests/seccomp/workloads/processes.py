# What a script may do with processes and threads in the sandbox:
# multiprocessing's processes (fork, spawn, forkserver) talking through
# pipes, threads and a thread pool, subprocess (and a shell), signals,
# timers, select, files in /tmp. Not multiprocessing's locks, queues, pools
# or shared memory: they need /dev/shm, which the sandbox does not have
# (--ipc=none), whatever the filter says.
import concurrent.futures as cf
import multiprocessing as mp
import os
import select
import signal
import subprocess
import tempfile
import threading
import time

from PIL import Image


def square(x):
    return x * x


def child(conn):
    conn.send(os.getpid())
    conn.close()


if __name__ == "__main__":
    for method in ("fork", "spawn", "forkserver"):
        ctx = mp.get_context(method)
        pids = []
        for _ in range(2):
            parent_end, child_end = ctx.Pipe()
            p = ctx.Process(target=child, args=(child_end,))
            p.start()
            pids.append(parent_end.recv())
            p.join()
        print(method, "processes", len(pids), all(pid > 0 for pid in pids), p.exitcode)
    with cf.ThreadPoolExecutor(4) as ex:
        print("threads", list(ex.map(square, range(4))))
    ev = threading.Event()
    threading.Timer(0.01, ev.set).start()
    print("timer", ev.wait(5))
    print("sub", subprocess.run(["/bin/echo", "hi"], capture_output=True, text=True).stdout.strip())
    print("sh", subprocess.run("echo $((1+2))", shell=True, capture_output=True,
                               text=True).stdout.strip())
    r, w = os.pipe()
    os.write(w, b"x")
    print("select", select.select([r], [], [], 1)[0] == [r])
    signal.signal(signal.SIGALRM, lambda *a: None)
    signal.setitimer(signal.ITIMER_REAL, 0.01)
    time.sleep(0.05)
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "f"), "w") as f:
            f.write("x")
        os.rename(os.path.join(d, "f"), os.path.join(d, "g"))
        print("tmp", os.listdir(d))
    Image.new("RGB", (8, 8)).save("/output/result.png")
