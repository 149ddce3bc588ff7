"""Editing operations on a Layer, each returning an undo record (see records.py, ADR 0002).

Label map: brush_segment, erase_segment, flood_fill, fill_polygon.
Instances: instance_segment, fill_instance_holes, create_instance, polygon_instance,
delete_instances, merge_instances, set_instance_class, remove_empty_instances.
Whole layer: replace_layer, or accept_unmatched (only what the corrections lack).
Part of a prediction: predicted_region + accept_region, accept_instances.
One mouse stroke = one undo step: EditGroup.add(...) then finish(layer).
"""
from maskwork.core.editing.accept_ops import (
    Region,
    accept_instances,
    accept_region,
    accept_unmatched,
    has_corrections,
    predicted_region,
)
from maskwork.core.editing.group import EditGroup, merge_window_edits
from maskwork.core.editing.instance_ops import (
    create_instance,
    delete_instances,
    edit_instance_window,
    fill_instance_holes,
    instance_segment,
    merge_instances,
    polygon_instance,
    remove_empty_instances,
    replace_layer,
    set_instance_class,
    set_instance_mask,
)
from maskwork.core.editing.label_ops import brush_segment, erase_segment, fill_polygon, flood_fill, paint_window
from maskwork.core.editing.records import (
    BBox,
    Edit,
    InstanceMaskEdit,
    InstancesEdit,
    LabelMapEdit,
    LayerEdit,
    PixelChange,
    union_bbox,
)

__all__ = [
    "Region", "accept_instances", "accept_region", "accept_unmatched", "has_corrections", "predicted_region",
    "BBox", "Edit", "EditGroup", "InstanceMaskEdit", "InstancesEdit", "LabelMapEdit", "LayerEdit",
    "PixelChange", "brush_segment", "create_instance", "delete_instances", "edit_instance_window",
    "erase_segment", "fill_instance_holes", "fill_polygon", "flood_fill", "instance_segment",
    "merge_instances", "merge_window_edits", "paint_window", "polygon_instance", "remove_empty_instances",
    "replace_layer", "set_instance_class", "set_instance_mask", "union_bbox",
]
