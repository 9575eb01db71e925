"""The planner: `setOptimizationGoal`, `forecast`, `plan`, `decisions` and `savings`, of the
caller's own homes."""
