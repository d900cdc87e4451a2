"""Feeds in their published formats: WTO ePing notification exports into TBT bulletins."""
