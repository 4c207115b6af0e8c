"""One city: its validated layers, the index derived from them once (adjacency, locations,
travel costs), a plan laid on it, where its data came from, and synthetic cities for tests.
"""
