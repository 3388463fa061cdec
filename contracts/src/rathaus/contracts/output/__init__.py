"""Contracts published by the output module."""
