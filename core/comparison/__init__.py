"""Two models over a whole dataset: per-image scores against the truth, their agreement with each other,
latency, per-class summaries with a paired bootstrap interval, and an offline HTML report.

`data.py` what is compared (labelled data, or images the user has not corrected yet), `cache.py` predictions
kept per model and image, `runs.py` one model over the images, `scores.py` the table, `bootstrap.py` is B
better or is it noise, `report.py` + `thumbnails.py` the HTML report, `compare.py` the use case the CLI and
the window call.
"""
