"""ONNX models run by onnxruntime behind the same Predictor interface and results as the torch models.

- layouts.py:  what a file is (Ultralytics YOLO-seg, Maskwork export, generic semantic), read from its
               inputs, outputs and metadata; anything else is refused in one sentence.
- session.py:  opening a session (CPU, CUDA when available) with errors a user can act on.
- yolo.py:     letterbox and YOLO-seg decoding (per-class NMS, masks at the original resolution).
- runner.py:   OnnxPredictor (core.models.predict.BACKENDS["onnx"]).
- register.py: models.json entries for ONNX files (`maskwork register-model FILE.onnx`).
"""
