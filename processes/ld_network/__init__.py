"""LD-SNN as one hierarchical process (see process.py and models.py)."""
