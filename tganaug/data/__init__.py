"""Datasets for training loops (synthetic, real CTC, mixed)."""
