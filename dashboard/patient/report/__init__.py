"""Exports of one patient analysis: wording, matplotlib charts, the PDF, and the CSV/JSON files."""
