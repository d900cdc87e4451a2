"""Inspector roster imports (检查员名录导入): a spreadsheet of officers into the pool."""
