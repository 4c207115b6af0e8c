"""The planner's vocabulary and the policy as values: the schema, the rules (G1-G10 predicates),
the plan, and the plan request. No file is read and no geometry is computed here.
"""
