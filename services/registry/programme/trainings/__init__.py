"""Trainings (法律法规、商业道德、质量诚信培训) and the enterprises that attended them."""
