"""Models run by torch: architectures, Maskwork checkpoints, Mask R-CNN and semantic inference, preprocessing,
ONNX export of a torch model."""
