"""infra_workload: Heat stacks for SO, and heatbridge into A&AI."""
