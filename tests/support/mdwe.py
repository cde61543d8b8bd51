"""Run a command under the kernel's MemoryDenyWriteExecute (the systemd units set it)."""

# PR_SET_MDWE is the kernel's own form of MemoryDenyWriteExecute= (Linux 6.3+).
MDWE_RUN = """
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN
    sys.exit(77)
import mmap
try:
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    sys.exit("writable+executable memory was allowed: the guard is not on")
except OSError:
    pass
os.execv(sys.argv[1], sys.argv[1:])
"""
