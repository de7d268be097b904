"""Multi-process training with ``torch.distributed`` (launched by ``torchrun``; gloo on CPU, NCCL on GPU).

Data-parallel scheme (what DDP computes, done explicitly):

* every rank draws the same *global* batch (``config.batch_size x world_size`` items) from the
  same seeded sampler and keeps its own slice, so the samples, styles and augmentation of a
  global step do not depend on the number of ranks and a run can resume with another world size;
* after each backward pass the gradients are averaged over ranks with ``all_reduce`` before
  clipping and the optimiser step, so every rank applies the same update;
* only rank 0 writes checkpoints, logs and samples.

Why not ``DistributedDataParallel``'s wrapper: the low-res generator runs once per frame of a clip
and the discriminator three times per step before each backward, while DDP's reducer expects one
forward per backward; an explicit all-reduce per optimiser step is the same arithmetic without
that constraint.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import torch
import torch.distributed as dist

__all__ = ["Distributed", "init_from_environment"]


class Distributed:
    """Rank, world size and the collective operations the trainer needs (no-ops for one process)."""

    def __init__(self) -> None:
        self.active = dist.is_available() and dist.is_initialized()
        self.rank = dist.get_rank() if self.active else 0
        self.world = dist.get_world_size() if self.active else 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def local_slice(self, local_batch: int) -> slice:
        """This rank's items of a global batch of ``local_batch * world`` items."""
        return slice(self.rank * local_batch, (self.rank + 1) * local_batch)

    def average_gradients(self, parameters: Iterable[torch.nn.Parameter]) -> None:
        """Replace each gradient by its mean over ranks."""
        if self.world == 1:
            return
        for parameter in parameters:
            if parameter.grad is not None:
                dist.all_reduce(parameter.grad, op=dist.ReduceOp.SUM)
                parameter.grad.div_(self.world)

    def average_scalars(self, values: dict[str, float]) -> dict[str, float]:
        """Mean of each scalar over ranks (the loss of the global batch)."""
        if self.world == 1 or not values:
            return values
        keys = sorted(values)
        tensor = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64)
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return {k: float(v) / self.world for k, v in zip(keys, tensor.tolist())}

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()


def init_from_environment(device: str) -> tuple[Distributed, str]:
    """Start the process group when launched by ``torchrun`` (``WORLD_SIZE`` > 1); return it and the device.

    CPU runs use the gloo backend; CUDA runs NCCL with one GPU per local rank.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        cuda = device.startswith("cuda")
        if cuda:
            local_rank = int(os.environ.get("LOCAL_RANK", "0"))
            torch.cuda.set_device(local_rank)
            device = f"cuda:{local_rank}"
        dist.init_process_group(backend="nccl" if cuda else "gloo")
    return Distributed(), device
