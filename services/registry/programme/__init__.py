"""Zone programme management (保障体系 and the programme records of the other systems):
the leadership group and joint meetings with action items and target assessment, the
quality-safety responsibility system, alliance standards, trainings and honours."""
