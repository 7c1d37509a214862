# expect: no_output|error  want: about to SIGKILL myself  type: NoOutput|Killed
# The script runs in the container's PID 1. Under runc its own namespace
# cannot kill it: the signal is ignored and the run ends as the script does
# (NoOutput). gVisor lets it die: Killed, and never OutOfMemory, though the
# service looks for an OOM event before it says so. (A SIGKILL from outside
# is test_hostile.py's test_a_sigkill_from_outside_is_killed_not_oom.)
import os
import signal
print("about to SIGKILL myself", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
print("still alive after SIGKILL", flush=True)
