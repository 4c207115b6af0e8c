"""The tool's name and version, as written into plan files, maps and reports."""

__version__ = "0.1.0"
