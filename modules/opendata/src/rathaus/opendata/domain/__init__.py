"""Rules of the open-data portal: plain Python, no framework.

``stadtbezirke`` names Munich's districts, ``disclosure`` protects the count tables of a
dataset (suppression, each and together) and ``audit`` checks what they give away;
``times`` computes processing times; ``datasets`` defines one dataset per service from its
procedure files and turns facts into published datasets; ``formats`` writes them as CSV
and JSON; ``catalogue`` holds the fixed facts of the publisher.
"""
