"""This process's place in a data-parallel job: the world size and rank, or explicit shards.

A shard here is a rank's share of each epoch (DALI's ``num_shards``/``shard_id``); the ``.tar``
files of a WebDataset source are handled by the ``sada_dali.data._tar_*`` modules.

torch is imported only when :func:`shard_info` is called, so the loader can import this module
without it.
"""

from __future__ import annotations

__all__ = ["shard_info", "resolve_shards"]


def shard_info(group=None) -> tuple[int, int]:
    """``(world_size, rank)`` of the initialised process group, else ``(1, 0)``.

    Parameters
    ----------
    group : torch.distributed.ProcessGroup, optional
        Default: the default group.
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size(group), dist.get_rank(group)
    return 1, 0


def resolve_shards(num_shards: int | None, shard_id: int | None) -> tuple[int, int]:
    """The loader's ``(num_shards, shard_id)``: explicit values win, else :func:`shard_info`.

    Parameters
    ----------
    num_shards, shard_id : int or None
        Both given: returned as they are (the sampler checks their range). Both None: the
        default group's world size and rank, or (1, 0) without an initialised group.

    Raises
    ------
    ValueError
        If only one of the two is given.
    """
    if num_shards is None and shard_id is None:
        return shard_info()
    if num_shards is None or shard_id is None:
        raise ValueError(
            f"The `num_shards` and `shard_id` must be given together or both left None (then they "
            f"come from torch.distributed), got num_shards={num_shards!r}, shard_id={shard_id!r}."
        )
    return num_shards, shard_id
