"""One module per ``ephitup`` command: its options (a frozen dataclass), ``register`` (its flags, bound to its
handler) and the handler itself. ``scripts/cli.py`` lists them by name and imports only the one that runs."""
