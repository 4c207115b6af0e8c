"""Pages for an approval file: the print map (matplotlib) and the PDF report (reportlab), in the
vendored CJK font.
"""
