"""What Maskwork needs to know about torchvision's pretrained weights, without importing torch.

torchvision keeps the download URL and the category names in its weights enums, which cost a torch
import (~1 s, ~700 MB) to read. Listing the models at start-up only needs these, so they are copied
here; tests/unit/test_torchvision_meta.py checks the copy against the installed torchvision.
"""
from __future__ import annotations

# torchvision's COCO category names: index = label id; "N/A" marks the ids COCO does not use.
COCO = (
    "__background__", "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "N/A", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "N/A", "backpack", "umbrella", "N/A",
    "N/A", "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite", "baseball bat",
    "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle", "N/A", "wine glass", "cup", "fork",
    "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza",
    "donut", "cake", "chair", "couch", "potted plant", "bed", "N/A", "dining table", "N/A", "N/A", "toilet",
    "N/A", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone", "microwave", "oven", "toaster", "sink",
    "refrigerator", "N/A", "book", "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush",
)

# Pascal VOC's 20 classes and the background.
VOC = (
    "__background__", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
)

BASE = "https://download.pytorch.org/models/"

# weights enum name -> (download URL, category names)
WEIGHTS = {
    "MaskRCNN_ResNet50_FPN_Weights.COCO_V1": (BASE + "maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth", COCO),
    "MaskRCNN_ResNet50_FPN_V2_Weights.COCO_V1": (BASE + "maskrcnn_resnet50_fpn_v2_coco-73cbd019.pth", COCO),
    "DeepLabV3_ResNet50_Weights.COCO_WITH_VOC_LABELS_V1": (BASE + "deeplabv3_resnet50_coco-cd0a2569.pth", VOC),
    "DeepLabV3_MobileNet_V3_Large_Weights.COCO_WITH_VOC_LABELS_V1":
        (BASE + "deeplabv3_mobilenet_v3_large-fc3c493d.pth", VOC),
    "LRASPP_MobileNet_V3_Large_Weights.COCO_WITH_VOC_LABELS_V1": (BASE + "lraspp_mobilenet_v3_large-d234d4ea.pth", VOC),
    "FCN_ResNet50_Weights.COCO_WITH_VOC_LABELS_V1": (BASE + "fcn_resnet50_coco-1167a1af.pth", VOC),
}
