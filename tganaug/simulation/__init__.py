"""Building blocks shared by mask simulators (built-in and third-party)."""

from tganaug.simulation.base import SimulatedVideo, Simulator, check_video_size

__all__ = ["SimulatedVideo", "Simulator", "check_video_size"]
