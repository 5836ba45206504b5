"""Delivery pages, a module per area: actions, priorities, outcomes (with measures), risks (with issues and wins)."""
