"""The ground floor: settings, the message catalogue, number formats, the rules that keep a
user's text data, content keys and the one server-wide cache. Imports nothing of ours.
"""
