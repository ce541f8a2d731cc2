"""Subsetting with referential integrity: the schema graph and the FK closure planner."""
