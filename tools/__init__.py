"""Command-line tools (absl binaries), run as `python -m tools.NAME`."""
