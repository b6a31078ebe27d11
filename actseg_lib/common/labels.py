"""Label values shared by data, losses, metrics and models."""

# a frame (or second) with this label is in no loss and no score: unlabelled, padding,
# or a class a benchmark leaves out. PyTorch's cross-entropy skips -100 by default.
IGNORE_INDEX = -100
