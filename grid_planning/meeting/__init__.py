"""Options side by side and the presentation: comparison tables, changed units, and the
meeting maps as offline documents.
"""
