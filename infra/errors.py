"""The error a stack's configuration is refused with, importable without the stack model behind it.

The CLI catches it around every command, so ``ephitup`` need not load YAML and the stack model to start.
"""


class ConfigError(ValueError):
    """A stack's configuration is invalid; the message names the stack, the key and the fix."""
