"""A seeded corpus of broken and hostile inputs and the runner that feeds it to the CLI."""
