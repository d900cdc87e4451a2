"""The credit service: arrives with its own issue (see DESIGN.md §3)."""
