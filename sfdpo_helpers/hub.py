"""Reading a hub dataset (or a local folder in the hub layout) row by row: the one place the kit touches the hub.

A seeded sample is a streamed shuffle (never the whole split in memory); offline a hub id resolves to its
snapshot in the local hub cache; every failure is one :class:`~sfdpo_helpers.models.HubUnavailableError` line.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

HUB_HINT = "Offline, use source='demo', or dataset= a local folder in the hub layout"
HUB_BUFFER = 10_000  # rows in the shuffle buffer of a seeded hub sample (about 60 MB of smoltalk rows)


def _dataset_location(dataset: str, what: str) -> str:
    """What to hand ``load_dataset``: a local folder as is, a hub id as is online, and offline the hub id's
    snapshot in the local hub cache (``datasets`` itself refuses hub ids offline: it raises
    OfflineModeIsEnabled before looking at the hub cache and only falls back to its own Arrow cache)."""
    from .models import _hub_offline, hub_error

    if Path(dataset).expanduser().is_dir():
        return str(Path(dataset).expanduser())
    if dataset.startswith((".", "/", "~")):
        raise FileNotFoundError(f"{what}: dataset folder {dataset!r} does not exist")
    if not _hub_offline():
        return dataset
    from huggingface_hub import snapshot_download

    try:
        return snapshot_download(dataset, repo_type="dataset", local_files_only=True)
    except Exception as err:
        raise hub_error(err, what, HUB_HINT) from None


def hub_rows(
    dataset: str,
    split: str,
    n: int | None = None,
    config: str | None = None,
    seed: int = 0,
    buffer_size: int = HUB_BUFFER,
) -> Iterator[dict]:
    """Rows of a hub dataset (an id such as ``HuggingFaceTB/smoltalk`` or a local folder in the same layout), as
    an iterator that reads them one at a time: every hub read of the kit goes through here.

    ``n`` rows: a seeded sample, ``load_dataset(..., streaming=True)`` then ``reshard()`` (one shard per parquet
    row group), ``shuffle(seed, buffer_size)`` and ``take(n)``. A streamed shuffle is a shuffle of the shard
    order plus a buffer of ``buffer_size`` rows that several shards feed at once, so the sample is approximately,
    not exactly, uniform; it is the same for the same (data, seed). At most ``buffer_size`` rows sit in the
    buffer; the caller keeps what it needs of each row (the loaders keep only the first turn).
    ``n=None``: the whole split in stored order, row by row (``seed`` unused); what it costs in RAM is what
    the caller keeps (module docstring). Failures are one :class:`~sfdpo_helpers.models.HubUnavailableError`
    line with the cause (offline, not found or gated, unknown config or split, disk full).
    """
    from datasets import load_dataset

    from .models import hub_error

    if n is not None and n <= 0:
        raise ValueError(f"n must be positive or None, got {n}")
    what = f"Dataset {dataset!r} (config {config!r}, split {split!r})"
    location = _dataset_location(dataset, what)
    try:
        stream = load_dataset(location, config, split=split, streaming=True)
        if n is not None:
            stream = stream.reshard().shuffle(seed=seed, buffer_size=buffer_size).take(n)
    except Exception as err:
        raise hub_error(err, what, HUB_HINT) from None
    return _rows_of(stream, what)


def _rows_of(stream, what: str):
    """Iterate a stream; an error while reading (a dropped connection, a full disk) becomes the same one line."""
    from .models import hub_error

    try:
        yield from stream
    except Exception as err:
        raise hub_error(err, what, HUB_HINT) from None
