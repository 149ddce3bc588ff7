"""`predict` and `evaluate` on a Ray cluster (`--engine ray`), for datasets one machine cannot finish.

Ray Data maps the list of image paths through a pool of actors; each actor builds the predictor once
from weights the driver loaded and shipped through the object store (an int8 model is built once, on
the driver) and reads its images itself. Results stream back to the driver, which writes them as they
arrive. Modules: `session` (connect / start Ray), `shipping` (model to actors), `actors` (the map
classes), `codec` (results on the wire), `run_key` (resume hashes), `ledger` + `writers` (outputs),
`engine` (streaming loop, retries, Ctrl-C), `predict_job` / `evaluate_job` (the two commands).
See docs/SCALING.md and docs/adr/0014-ray-engine.md. Ray is optional: `pip install 'maskwork[cluster]'`.
"""
from __future__ import annotations

from maskwork.core.domain.errors import InputError

INSTALL_HINT = ("--engine ray needs Ray, which is not installed here: install it with "
                "`pip install 'maskwork[cluster]'` (or `pip install 'ray[data]'`) and run the command again.")


def require_ray():
    """The `ray` module with Ray Data loaded, or one sentence on how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401  (the engine needs Ray Data, not only Ray core)
    except ImportError as exc:
        raise InputError(INSTALL_HINT) from exc
    return ray
