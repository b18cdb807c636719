"""nbtrack: notebook-native experiment tracking."""
