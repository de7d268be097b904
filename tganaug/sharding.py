"""Dataset generation sharded over a Dask cluster (``dask.distributed``).

Videos are independent tasks: each runs :func:`tganaug.generation.render_video` (the render core
:mod:`tganaug.render`), video ``k`` depends only on ``(config, k)`` (its seeds are
:func:`tganaug.data.seeding.video_seeds` ``(config.seed, k)``) and every process renders with
``config.torch_threads`` torch threads, so the folder written by any number of workers is
byte-identical to a single-process run. Each task renders one video atomically into the shared
output folder; finished videos are skipped on a re-run and failed tasks are retried by Dask.

A local cluster (``LocalCluster``, one single-threaded process per worker) is started by default;
pass the address of an existing scheduler to use a real cluster — e.g. one started by
Dask-Jobqueue on SLURM (``SLURMCluster(...).scheduler_address``) or by the Dask Kubernetes
operator. The output folder must then be on a file system every worker sees.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from tganaug.generation import (GenerationConfig, check_inputs, finished_videos, generator_record, load_background, output_prepared,
                                recorded_weights, render_video, video_name)

__all__ = ["generate_dataset_sharded"]


@functools.lru_cache(maxsize=4)
def _worker_objects(config_json: str) -> tuple[Any, Any, Any]:
    """Generator, simulator and background of a config, built once per worker process."""
    from tganaug.registry import get_generator, get_simulator

    config = GenerationConfig.from_dict(json.loads(config_json))
    from tganaug.appearance import configured

    generator = configured(get_generator(config.generator, **config.generator_config), config)
    simulator = None if config.masks else get_simulator(config.simulator, **config.simulator_config)
    background = load_background(config.background, config.height, config.width) if config.background else None
    return generator, simulator, background


def _render_task(config_json: str, index: int, out: str, weights_sha256: str | None = None) -> str:
    """One Dask task: render video ``index`` unless it is already finished; return its name.

    ``weights_sha256``: the generator weights recorded in ``out`` (a worker on another machine with
    other weights installed is refused)."""
    if index in finished_videos(out):
        return video_name(index)
    config = GenerationConfig.from_dict(json.loads(config_json))
    generator, simulator, background = _worker_objects(config_json)
    own = recorded_weights(generator_record(generator, config.generator_config))
    if own != weights_sha256:
        raise RuntimeError(f"worker's generator weights (sha256 {str(own)[:12]}...) differ from the ones recorded in {out} "
                           f"({str(weights_sha256)[:12]}...)")
    render_video(config, index, out, generator, simulator, background, progress=False)
    return video_name(index)


def generate_dataset_sharded(
    config: GenerationConfig,
    out: str | Path,
    workers: int = 2,
    scheduler: str | None = None,
    overwrite: bool = False,
    progress: bool = True,
    retries: int = 2,
    inputs: Sequence[str | Path] = (),
) -> list[Path]:
    """Generate the videos of ``config`` into ``out`` with Dask; same result as :func:`~tganaug.generation.generate_dataset`.

    Args:
        workers: worker processes of the local cluster (ignored with ``scheduler``).
        scheduler: address of an existing Dask scheduler (``tcp://host:8786``); None starts a
            ``LocalCluster``.
        retries: times Dask retries a failed video task before giving up.
        inputs: further files the run read (e.g. config files), never deleted by ``overwrite``.
    """
    try:
        import dask.distributed  # noqa: F401
    except ImportError as error:  # optional dependency
        raise ImportError("sharded generation needs dask.distributed: pip install 'tganaug[dask]'") from error
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    out = Path(out).absolute()
    config_json = json.dumps(config.to_dict(), sort_keys=True)
    # built here once, also to fail early on a bad plugin name; the same record as an unsharded run's
    record = generator_record(_worker_objects(config_json)[0], config.generator_config)
    check_inputs(config)
    with output_prepared(out, config, overwrite, record, inputs) as done:
        todo = [i for i in range(config.videos) if i not in done]
        _render_on_cluster(config_json, out, todo, recorded_weights(record), workers, scheduler, progress, retries)
    return [out / f"{video_name(i)}_GT" for i in sorted(finished_videos(out))]


def _render_on_cluster(config_json: str, out: Path, todo: list[int], weights_sha256: str | None, workers: int,
                       scheduler: str | None, progress: bool, retries: int) -> None:
    """Render videos ``todo`` of a prepared ``out`` on a Dask cluster (see :func:`generate_dataset_sharded`)."""
    from dask.distributed import Client, LocalCluster, as_completed

    if scheduler:
        client = Client(scheduler)
        cluster = None
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=logging.ERROR)
        client = Client(cluster)
    try:
        futures = [client.submit(_render_task, config_json, i, str(out), weights_sha256, retries=retries, pure=False) for i in todo]
        with tqdm(total=len(futures), desc=f"videos ({workers if not scheduler else 'cluster'} workers)", unit="video", disable=not progress) as bar:
            for future in as_completed(futures):
                future.result()  # re-raises the task's error after its retries
                bar.update(1)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
