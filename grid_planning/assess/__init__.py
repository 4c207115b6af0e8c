"""What a plan does and whether it keeps the rules: figures, policy checks, rosters and the
15-item checklist.
"""
