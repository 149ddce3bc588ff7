"""Segmentation metrics: semantic IoU from confusion matrices, instance matching, COCO mask AP,
layer comparison for the GUI, and a confusion tracker updated per edit."""
from maskwork.core.metrics.coco_ap import AP_KEYS, coco_mask_ap, masks_to_detections
from maskwork.core.metrics.compare import InstanceScore, LayerComparison, compare_layers
from maskwork.core.metrics.instances import InstanceMatch, iou_matrix, match_instances
from maskwork.core.metrics.semantic import SemanticScores, accumulate, confusion_matrix, semantic_scores
from maskwork.core.metrics.tracker import ConfusionTracker

__all__ = [
    "AP_KEYS", "ConfusionTracker", "InstanceMatch", "InstanceScore", "LayerComparison", "SemanticScores",
    "accumulate", "coco_mask_ap", "compare_layers", "confusion_matrix", "iou_matrix", "masks_to_detections",
    "match_instances", "semantic_scores",
]
