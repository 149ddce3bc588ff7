"""Bundled models, sample images and their licences, found through importlib.resources (core/resources.py)."""
