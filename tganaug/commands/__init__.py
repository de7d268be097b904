"""Sub-commands of the tganaug CLI, one module each (see tganaug.cli)."""
