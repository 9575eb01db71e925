"""The planner: `setOptimizationGoal`, `forecast` and `plan`, of the caller's own homes."""
