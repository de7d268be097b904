"""Tracking evaluation: motmetrics and CTC measures."""
