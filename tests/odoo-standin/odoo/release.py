version_info = (19, 0, 0, "final", 0, "")
version = "19.0"
