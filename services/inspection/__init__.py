"""The inspection service: double-random spot checks, tasks, officer sync, corrective actions."""
