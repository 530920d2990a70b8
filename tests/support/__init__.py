"""Helpers the tests import (fixtures live in ``tests/conftest.py``): one of each."""
