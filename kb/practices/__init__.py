"""The practices stage: theme taxonomy, practice cards, comparable passages, region × theme matrix.

themes.py (taxonomy data and assignment) · cards.py (cards read off one passage) ·
build.py (the ingest step, incremental) · similar.py (comparable passages from other
regions) · compare.py (region × theme matrix, CSV).
"""
