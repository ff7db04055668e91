"""Constants shared by the modules of sftmask; a leaf module (it imports nothing) so that any module may import it."""

#: The label of a token that is not trained: PyTorch's `cross_entropy` default `ignore_index`, as transformers uses.
IGNORE_INDEX = -100
