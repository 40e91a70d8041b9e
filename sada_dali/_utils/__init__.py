"""Private helpers shared by every layer of sada-dali.

* ``arrays.py``: DLPack, torch, CuPy and NumPy arrays as host or device arrays;
* ``rng.py``: the counter-based random streams every per-sample choice is drawn from;
* ``shm.py``: named shared-memory blocks (and removing a dead owner's orphans);
* ``parent.py``: worker processes that die with their parent;
* ``lazy.py``: lazy package attributes (PEP 562);
* ``callables.py``: callables named by import path (``"module:attribute"``) and the keywords they take;
* ``imagenet.py``: the ImageNet mean, std and validation resize both loaders use;
* ``checks.py``: argument checks (integers, devices, strength arrays);
* ``shards.py``: the world size and rank of a data-parallel job, DALI's ``num_shards`` and
  ``shard_id`` (torch imported on first call);
* ``weights_only.py``: states that ``torch.load(weights_only=True)`` reads (NumPy <-> CPU tensors).

It is the bottom layer: its modules import one another but nothing else of sada-dali, and none
imports DALI, torch or CuPy at import time.
"""
