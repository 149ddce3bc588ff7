"""Models: registry of declarations, weight loading, inference, int8 quantization, ONNX export."""
