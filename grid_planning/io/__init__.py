"""Files -> validated frames: opening a planner's files safely (limits, archives, encodings,
sheets), reading each layer row by row, and the findings that say what was wrong and where.
"""
