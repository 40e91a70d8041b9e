"""The torchvision twin of the DALI loader: the same SADA choices, drawn per sample, on PIL images.

What lives here: ``transforms.py`` (``SADATransform``; ``apply_op`` runs each registered op's
torchvision twin) and ``dataset.py`` (``SADAImageFolder``, an ImageFolder ``Dataset`` for torch's
``DataLoader``).

It sits beside the loader: it may import ``data``, the backend-free root modules (``op_space``)
and ``_utils``, never the loader; only the CLI's benchmark imports it.
"""
