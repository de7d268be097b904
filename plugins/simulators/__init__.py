"""Built-in mask simulators."""
