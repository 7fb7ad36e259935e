"""ESPnet tasks extended by msrs (importing a task module registers its classes)."""
