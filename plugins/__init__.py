"""Built-in tganaug plugins (import name ``tganaug_plugins``), registered through entry points."""
