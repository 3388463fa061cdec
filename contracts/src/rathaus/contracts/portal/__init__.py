"""Contracts published by the portal module."""
