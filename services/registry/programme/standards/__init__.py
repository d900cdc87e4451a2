"""Alliance standards (产业联盟质量标准): publication, adoption by enterprises (标准领跑),
同线同质同标 declarations, and adoption per zone."""
