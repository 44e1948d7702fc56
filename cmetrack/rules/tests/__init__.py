"""Tests for the pure domain rules in :mod:`cmetrack.rules`."""
