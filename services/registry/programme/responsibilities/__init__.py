"""The quality-safety responsibility system (质量安全责任体系): 地方政府负总责, 监管部门各负其责,
企业第一责任人 — per zone or county-wide — and the routing of a problem to its owner."""
