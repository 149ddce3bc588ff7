"""Post-training static int8 for Maskwork's models (route per architecture, disk cache).

Public entry: core.models.int8.quantize.int8_model. Routes and measurements: docs/adr/0004-int8-route.md.
"""
