"""The model graph and its analyses (see DESIGN.md, steps 3-4)."""
