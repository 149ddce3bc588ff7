"""The `--engine` flags shared by `predict` and `evaluate`, and the PoolSettings they give."""
from __future__ import annotations

from maskwork.core.cluster.session import PoolSettings
from maskwork.core.domain.errors import InputError

# flag -> attribute: only meaningful with --engine ray
RAY_FLAGS = {"--address": "address", "--workers": "workers", "--threads-per-worker": "threads_per_worker",
             "--gpus-per-worker": "gpus_per_worker", "--batch-size": "batch_size", "--max-retries": "max_retries"}


def add_engine_flags(parser) -> None:
    g = parser.add_argument_group("scale out on a Ray cluster (needs `pip install 'maskwork[cluster]'`; "
                                  "docs/SCALING.md)")
    g.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="local: this process (default); ray: a pool of Ray actors, results written as they arrive, "
                        "a rerun skips images already done")
    g.add_argument("--address", default=None,
                   help="Ray cluster: auto (this machine's cluster) or ray://HOST:10001; default: a local Ray "
                        "instance started for the command")
    g.add_argument("--workers", type=int, default=None, help="actors, each holding the model (default: as many "
                                                             "as the cluster's CPUs or GPUs hold)")
    g.add_argument("--threads-per-worker", type=int, default=None, help="CPU threads of each actor (default 1)")
    g.add_argument("--gpus-per-worker", type=float, default=None, help="GPUs of each actor, e.g. 1 or 0.5 "
                                                                       "(default: CPU only)")
    g.add_argument("--batch-size", dest="ray_batch_size", type=int, default=None,
                   help="images per call of an actor (default 4)")
    g.add_argument("--max-retries", type=int, default=None,
                   help="fresh actor pools after workers were lost for good (default 3)")


def _given(args, attr: str):
    return getattr(args, "ray_batch_size" if attr == "batch_size" else attr, None)


def pool_settings(args) -> PoolSettings:
    defaults = PoolSettings()
    values = {attr: _given(args, attr) for attr in RAY_FLAGS.values()}
    values = {k: (getattr(defaults, k) if v is None else v) for k, v in values.items()}
    if getattr(args, "device", None) == "cuda" and not values["gpus_per_worker"]:
        raise InputError("with --engine ray the workers' devices come from --gpus-per-worker (e.g. 1); "
                         "drop --device cuda.")
    return PoolSettings(**values).check()


def refuse_ray_flags_without_ray(args) -> None:
    """`--workers 4` without `--engine ray` would be silently ignored: say so instead."""
    if getattr(args, "engine", "local") == "ray":
        return
    given = [flag for flag, attr in RAY_FLAGS.items() if _given(args, attr) is not None]
    if given:
        raise InputError(f"{', '.join(given)} only apply with --engine ray; add --engine ray or drop "
                         f"{'it' if len(given) == 1 else 'them'}.")
