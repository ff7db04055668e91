"""The sequences a trainer's collated batch feeds the loss, shared by tests/test_trainers.py and the checkers here
(which run in the trainers' own virtualenvs: plain Python, no sftmask needed)."""


def fed_sequences(batch):
    """`(ids, labels)` of each sequence in `batch` (tensors, as a data loader yields them): a packed row (one with
    `position_ids`) cut where its positions restart at 0, any other row without its padding (`attention_mask` 0)."""
    for row, (ids, labels) in enumerate(zip(batch["input_ids"].tolist(), batch["labels"].tolist())):
        if "position_ids" in batch:
            positions = batch["position_ids"][row].tolist()
            starts = [i for i, p in enumerate(positions) if p == 0] + [len(positions)]
            yield from ((ids[a:b], labels[a:b]) for a, b in zip(starts, starts[1:]))
        else:
            length = int(batch["attention_mask"][row].sum())
            yield ids[:length], labels[:length]
