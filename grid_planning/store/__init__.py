"""Scenarios a team keeps (SQLite or PostgreSQL), who owns them, and their exchange as plan files.
"""
