"""Usage bridge: exact, incremental token-usage analytics from Claude Code's local logs."""

__version__ = "0.1.0"
