"""Credit's joint measures (联合奖惩) per level, mirrored from its model announcements."""
