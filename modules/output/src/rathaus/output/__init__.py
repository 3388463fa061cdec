"""Output management: renders the Bescheid (decision) as PDF/A, seals and delivers it, exchanges files (xdomea)."""

NAME = "output"
PREFIX = "/postausgang"
TITLE = "Postausgang"
