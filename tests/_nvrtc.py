"""NVRTC through ctypes, for compiling the kernels in CI without a GPU or a driver.

The libraries come from the NVIDIA runtime-compiler wheels: ``nvidia-cuda-nvrtc-cu12``
(``nvidia/cuda_nvrtc/lib/libnvrtc.so.12``) and the CUDA 13 ``nvidia-cuda-nvrtc``
(``nvidia/cu13/lib/libnvrtc.so.13``).
"""

from __future__ import annotations

import ctypes
import glob
import os
import re
import sys

from sada_dali.estimator._kernels import OPTIONS

__all__ = ["find_nvrtc", "Nvrtc", "cupy_nvrtc_options"]


def find_nvrtc() -> dict[int, str]:
    """Major CUDA version -> path of a ``libnvrtc.so.<major>`` found under ``sys.path``'s ``nvidia/``."""
    found = {}
    for entry in sys.path:
        for path in sorted(glob.glob(os.path.join(entry, "nvidia", "*", "lib", "libnvrtc.so.*"))):
            match = re.fullmatch(r"libnvrtc\.so\.(\d+)", os.path.basename(path))
            if match:
                found.setdefault(int(match.group(1)), path)
    return found


def cupy_nvrtc_options(arch: int) -> tuple[str, ...]:
    """The NVRTC options CuPy uses to build the estimator's module for compute capability ``arch``.

    CuPy adds its include folders around :data:`OPTIONS` (``assemble_cupy_compiler_options``),
    then ``-ftz=true`` after them, so that flag always wins: subnormal float32 values are flushed
    to zero on the GPU. Then the target and ``--device-as-default-execution-space``. CuPy may add
    ``--pch`` (a compile-time cache that does not change the code), which is left out here.

    Parameters
    ----------
    arch : int
        Compute capability times ten, e.g. 80 (A100) or 90 (H100).

    Returns
    -------
    tuple of str
    """
    from cupy._core.core import assemble_cupy_compiler_options

    return (
        *assemble_cupy_compiler_options(OPTIONS),
        "-ftz=true",
        f"-arch=sm_{arch}",
        "--device-as-default-execution-space",
    )


class Nvrtc:
    """A loaded ``libnvrtc``: :meth:`compile` returns the log and the cubin of one program."""

    def __init__(self, path: str):
        for builtins in glob.glob(os.path.join(os.path.dirname(path), "libnvrtc-builtins.so.*")):
            ctypes.CDLL(builtins, mode=ctypes.RTLD_GLOBAL)  # NVRTC dlopens it by its bare name
        self.lib = ctypes.CDLL(path)
        major, minor = ctypes.c_int(), ctypes.c_int()
        self._check(self.lib.nvrtcVersion(ctypes.byref(major), ctypes.byref(minor)))
        self.version = (major.value, minor.value)

    def _check(self, status: int) -> None:
        if status != 0:
            self.lib.nvrtcGetErrorString.restype = ctypes.c_char_p
            raise RuntimeError(f"NVRTC error {status}: {self.lib.nvrtcGetErrorString(status).decode()}")

    def compile(self, source: str, options) -> tuple[bool, str, bytes]:
        """Compile ``source`` with ``options``; return (ok, log, cubin or b"")."""
        prog = ctypes.c_void_p()
        self._check(
            self.lib.nvrtcCreateProgram(ctypes.byref(prog), source.encode(), b"sada_stats.cu", 0, None, None)
        )
        try:
            opts = (ctypes.c_char_p * len(options))(*[o.encode() for o in options])
            ok = self.lib.nvrtcCompileProgram(prog, len(options), opts) == 0
            size = ctypes.c_size_t()
            self._check(self.lib.nvrtcGetProgramLogSize(prog, ctypes.byref(size)))
            log = ctypes.create_string_buffer(size.value)
            self._check(self.lib.nvrtcGetProgramLog(prog, log))
            cubin = b""
            if ok:
                self._check(self.lib.nvrtcGetCUBINSize(prog, ctypes.byref(size)))
                buf = ctypes.create_string_buffer(size.value)
                self._check(self.lib.nvrtcGetCUBIN(prog, buf))
                cubin = buf.raw
            return ok, log.value.decode(errors="replace"), cubin
        finally:
            self.lib.nvrtcDestroyProgram(ctypes.byref(prog))
