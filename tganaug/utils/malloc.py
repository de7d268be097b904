"""Allocator settings for long inference loops (glibc ``mallopt``).

glibc serves large blocks with ``mmap`` and trims the heap top once it is freed, so a generator's
forward pass can page-fault its activation buffers in afresh every frame. How much that costs
depends on the process's allocation history (glibc adapts its thresholds), measured here (Xeon,
2 vCPUs, torch 2.13 CPU, shipped tGAN, 256²): a plain rendering loop 44-47 -> 36-38 ms per frame
(64-114 k -> ~0 minor faults per 16 frames); ``tganaug generate``, 3 videos x 30 frames, 10.7-10.9 ->
10.2-10.5 s (218-566 k -> 99 k faults); ``benchmarks/throughput.py``: no difference beyond the
VM's run-to-run noise. Keeping freed memory for reuse costs the peak working set staying resident
(+9 MB here). It is the remedy of running under jemalloc / tcmalloc without a preload; being
process-wide, the library only applies it when asked (``TGAN(keep_freed_memory=True)``) and
``tganaug generate`` applies it to its own process.
"""

from __future__ import annotations

import ctypes
import sys

__all__ = ["keep_freed_memory", "MALLOC_SETTINGS"]

# mallopt parameter numbers from glibc's <malloc.h>
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3

#: (parameter, value): blocks up to 32 MiB (glibc's largest allowed threshold) come from the heap,
#: the heap top is returned to the OS only beyond 1 GiB free, and it grows in 64 MiB steps.
MALLOC_SETTINGS = ((_M_MMAP_THRESHOLD, 32 << 20), (_M_TRIM_THRESHOLD, 1 << 30), (_M_TOP_PAD, 64 << 20))


def keep_freed_memory() -> bool:
    """Ask the C allocator to keep freed memory for reuse (process-wide, idempotent, cheap).

    Returns ``True`` when glibc accepted every setting, ``False`` where it does not apply (not
    Linux, another C library such as musl, or ``mallopt`` missing); output values never change.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library this process already runs on
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return all(mallopt(parameter, value) == 1 for parameter, value in MALLOC_SETTINGS)
