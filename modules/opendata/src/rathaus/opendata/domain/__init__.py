"""Rules of the open-data portal: plain Python, no framework.

``stadtbezirke`` names Munich's districts, ``disclosure`` protects tables (suppression)
and ``audit`` checks what a published table gives away; ``datasets`` turns facts into
published datasets.
"""
