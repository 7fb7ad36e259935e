"""Small helpers shared by the msrs sub-packages."""
