"""The torchvision twin of the DALI loader: the same SADA choices, drawn per sample, on PIL images.

What lives here: ``transforms.py`` (``SADATransform``, the 14 ops with torchvision) and
``dataset.py`` (``SADAImageFolder``, an ImageFolder ``Dataset`` for torch's ``DataLoader``).

It sits beside the loader: it may import ``data``, the backend-free root modules (``ops``)
and ``_utils``, never the loader; only the CLI's benchmark imports it.
"""
