"""Test helpers shared by the course's pytest runs."""
