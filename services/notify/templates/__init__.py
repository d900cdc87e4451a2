"""Message templates (zh-CN, en), checked at save."""
