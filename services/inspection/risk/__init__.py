"""Risk early warning (风险预警): signals, their matching, alerts, and zone KPIs."""
