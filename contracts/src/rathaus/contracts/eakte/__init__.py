"""Contracts published by the eakte module."""
