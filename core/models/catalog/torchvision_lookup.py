"""What torchvision itself says about a weights enum (imports torchvision): the URL, and so the file name, of
weights that core.models.catalog.torchvision_meta's table lacks. Shared by core.models.catalog.weights (download, load)
and core.models.catalog.availability (its slow path), which must not import each other."""
from __future__ import annotations

from maskwork.core.domain.errors import ModelError
from maskwork.core.models.catalog.specs import TorchvisionWeights


def torchvision_url(source: TorchvisionWeights) -> str:
    from torchvision.models import get_weight

    try:
        return get_weight(source.weights).url
    except (ValueError, AttributeError, KeyError) as exc:
        raise ModelError(f"torchvision {torchvision_version()} has no weights named {source.weights}: {exc}") from exc


def torchvision_version() -> str:
    import torchvision

    return torchvision.__version__
