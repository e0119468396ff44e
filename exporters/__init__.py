"""Exporters: one generator per format plus an atomic writer (see DESIGN.md, step 5)."""
