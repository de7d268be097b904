"""Benchmarks run by the library on any CTC dataset folder and sequence (``tganaug benchmark``).

* :mod:`~tganaug.benchmarking.inputs`: which frames are scored and fitted on, checked against the data, and the protocol;
* :mod:`~tganaug.benchmarking.fidelity`: generated vs real videos of the same masks, streamed (memory bounded);
* :mod:`~tganaug.benchmarking.tracking`: segment-then-track on real and synthetic videos of the same masks;
* :mod:`~tganaug.benchmarking.downstream`: models trained on real and synthetic data, scored on real recordings
  (same sequence, unseen sequence, cross-dataset);
* :mod:`~tganaug.benchmarking.report`: report header (dataset, sequence, frames, protocol, seeds, machine) and outputs.
"""
