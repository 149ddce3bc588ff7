"""The annotation model every other part speaks: masks and their RLE, annotations and class lists, images, errors
and progress. It imports nothing else of Maskwork."""
