"""Geometry and graph maths: Chinese coordinate systems, metric projections, unit adjacency.
"""
