"""int8 of every model, in one place: the dispatch by backend (dispatch), torch FX static quantization (quantize,
quant/) and ONNX Runtime's (onnx_quant, onnx_int8, precision), and the float-vs-int8 reports (ADR 0004, 0009)."""
