"""Constants, and the values the string options of sftmask allow (as `Literal` types, so that the signatures say
them). A leaf module: any module may import it."""

from typing import Literal

#: The label of a token that is not trained: PyTorch's `cross_entropy` default `ignore_index`, as transformers uses.
IGNORE_INDEX = -100

#: The integer type of the `input_ids` and `labels` arrays `Masker.encode` returns.
Dtype = Literal["int32", "int64"]
#: The dataset formats of rows (`encode_batch(format=...)`), in the order they are tried; the same as `_native.FORMATS`.
Format = Literal["messages", "conversations", "alpaca", "prompt_completion"]
#: What a row that cannot be encoded does in `encode_batch`: fail the call, be left out, or stay as null outputs.
OnError = Literal["raise", "skip", "null"]
#: What a row that cannot be encoded does in `prepare`: be left out and counted, or fail the run.
PrepareOnError = Literal["skip", "raise"]
#: How `pack` fills packs: best-fit decreasing, or in order cut every `max_length` tokens.
PackStrategy = Literal["bfd", "wrapped"]
#: What `pack` does with a sequence longer than `max_length`: cut it, split it, or leave it out.
Overflow = Literal["truncate", "split", "drop"]
#: Where `PaddedCollator` pads.
PaddingSide = Literal["right", "left"]
