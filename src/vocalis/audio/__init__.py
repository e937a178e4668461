"""Audio encoding and marking."""
