"""Lava processes for LD-SNNs."""
