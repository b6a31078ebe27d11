"""Data: the SynthAct world, readers and writers of the real datasets' formats, small
real datasets shipped in PyPI packages, and PyTorch datasets over all of them.

Every source produces :class:`~actseg_lib.data.sample.Sample` objects.
"""

from .sample import Sample, assert_samples_equal

__all__ = ["Sample", "assert_samples_equal"]
