"""Installs sada-dali.

Only one import name is installed, ``sada_dali``. The top-level ``pipelines/`` and
``kernels/`` folders are mapped to ``sada_dali.pipelines`` and ``sada_dali.kernels`` so the
generic names never land at the top level of site-packages (PyPI already has a ``kernels``).
"""

from setuptools import setup

setup(
    name="sada-dali",
    version="0.1.0",
    description="SADA (sample-aware dynamic augmentation) as a GPU-native NVIDIA DALI data pipeline",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=[
        "sada_dali",
        "sada_dali._utils",
        "sada_dali.op_space",
        "sada_dali.loader",
        "sada_dali.estimator",
        "sada_dali.data",
        "sada_dali.baseline",
        "sada_dali.cli",
        "sada_dali.pipelines",
        "sada_dali.kernels",
    ],
    package_dir={
        "sada_dali": "sada_dali",
        "sada_dali.pipelines": "pipelines",
        "sada_dali.kernels": "kernels",
    },
    package_data={"sada_dali.kernels": ["*.cu", "*.cuh"]},
    install_requires=[
        "numpy>=1.23",
        "torch>=2.1",
        "torchvision>=0.16",
        "nvidia-dali-cuda120>=1.30",
        "cupy-cuda12x>=13",
        "tqdm>=4.60",
        "matplotlib>=3.5",
        "scikit-learn>=1.1",
        "pillow>=9",
    ],
    extras_require={
        "test": ["pytest>=7", "ruff>=0.6", "nvidia-cuda-nvrtc-cu12>=12.0", "timm>=1.0"]
    },  # NVRTC for tests/test_kernel_nvrtc.py; timm's PrefetchLoader for tests/test_peer_loops.py
    entry_points={"console_scripts": ["sada-dali=sada_dali.cli.main:main"]},
)
