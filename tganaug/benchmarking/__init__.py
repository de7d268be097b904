"""Benchmarks of what tganaug's synthetic data is for: models trained on it, scored on real recordings."""
