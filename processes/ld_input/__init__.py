"""input process of an LD-SNN (see process.py and models.py)."""
