"""The estimators' CUDA kernels: their modules, names, compile options and a per-device cache.

One definition serves the CUDA backends (which launch the kernels through CuPy) and the CI
check ``tests/test_kernel_nvrtc.py`` (which compiles the same sources with NVRTC and the options
CuPy derives from :data:`OPTIONS`, without a GPU). CuPy itself is imported lazily.
"""

from __future__ import annotations

__all__ = [
    "OPTIONS",
    "CLAIM_KERNELS",
    "UPDATE_KERNELS",
    "KERNEL_NAMES",
    "ENT_UPDATE_KERNELS",
    "ENT_KERNEL_NAMES",
    "MODULES",
    "kernels",
]

OPTIONS = ("--std=c++17", "--fmad=false")  # no fused multiply-add: same rounding as the NumPy twin
_LOGIT_TAG = {"float32": "f32", "float16": "f16"}
_INDEX_TAG = {"int32": "i32", "int64": "i64"}

# kernel name per index dtype / per (logit dtype, index dtype, state dtype); extern "C" in sada_stats.cu
CLAIM_KERNELS = {i: f"sada_claim_{tag}" for i, tag in _INDEX_TAG.items()}
UPDATE_KERNELS = {
    (x, i, s): f"sada_update_{_LOGIT_TAG[x]}_{_INDEX_TAG[i]}_{_LOGIT_TAG[s]}"
    for x in _LOGIT_TAG
    for i in _INDEX_TAG
    for s in _LOGIT_TAG
}
KERNEL_NAMES = (*CLAIM_KERNELS.values(), *UPDATE_KERNELS.values(), "sada_minmax", "sada_strengths")

# entaugment.cu: the same claim kernels, an update per (logit dtype, index dtype), the strength map
ENT_UPDATE_KERNELS = {
    (x, i): f"ent_update_{_LOGIT_TAG[x]}_{_INDEX_TAG[i]}" for x in _LOGIT_TAG for i in _INDEX_TAG
}
ENT_KERNEL_NAMES = (*CLAIM_KERNELS.values(), *ENT_UPDATE_KERNELS.values(), "ent_strengths")
MODULES = {"sada_stats.cu": KERNEL_NAMES, "entaugment.cu": ENT_KERNEL_NAMES}

_CACHE: dict = {}  # (source, device id) -> {kernel name: cupy.RawKernel}


def kernels(cp, device_id: int, source: str = "sada_stats.cu") -> dict:
    """Every kernel of one module as a ``cupy.RawKernel``, compiled once per process and device.

    Parameters
    ----------
    cp : module
        CuPy.
    device_id : int
        The CUDA device; the caller makes it current.
    source : str
        A key of :data:`MODULES`: ``"sada_stats.cu"`` or ``"entaugment.cu"``.

    Returns
    -------
    dict
        Kernel name (see :data:`MODULES`) to ``cupy.RawKernel``.
    """
    key = (source, device_id)
    if key not in _CACHE:
        from ..kernels import read_source

        module = cp.RawModule(code=read_source(source), options=OPTIONS)
        _CACHE[key] = {name: module.get_function(name) for name in MODULES[source]}
    return _CACHE[key]
