"""Layers + request -> a plan or a proven refusal: lead selection, the heuristic partition,
the exact program for small cities, and the analysis of a refusal.
"""
