"""Bulletins: WTO/TBT notifications and technical-regulation notices (公共信息服务)."""
