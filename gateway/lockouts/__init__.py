"""Login-failure handling (登录失败处理): failures counted per account and source, lockouts."""
