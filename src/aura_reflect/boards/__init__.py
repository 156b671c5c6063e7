"""Moodboards: images laid out on one print page with a title, a note and their palette."""
