"""Other coding agents' local usage (docs/agents.md): OpenAI Codex CLI, Gemini CLI, OpenCode and Amp,
read as ccusage 20 reads them, beside Claude Code's logs (which the store in ../store.py reads).

Each reader turns its agent's data into `Event`s; `AgentStore` keeps them per source file and their
report sums; reports merge those with Claude Code's."""

from typing import NamedTuple, Optional

#: Every agent a report can be asked for (`agent=` … or `all`), in the order rows list them.
AGENTS = ("claude", "codex", "gemini", "opencode", "amp")
OTHER_AGENTS = AGENTS[1:]


def count_value(value: object) -> int:
    """A token count as ccusage reads JSON's: a whole number of at least 0, else 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def text_value(value: object) -> Optional[str]:
    """A string that says something (trimmed), else None."""
    return value.strip() if isinstance(value, str) and value.strip() else None


UNPRICED = 1
FALLBACK_MODEL = 2


class Event(NamedTuple):
    """One counted model call of an agent, as ccusage counts it: `inp` is the uncached input,
    `out` the output ccusage shows, `extra` tokens it counts in the total and prices as output but
    shows in no column (Gemini's thoughts, OpenCode's reasoning, a total above the parts), and
    `reasoning` what the agent reports as reasoning (for Codex part of `out`)."""

    ts: int
    session: str
    model: str
    inp: int
    out: int
    cache_create: int
    cache_read: int
    extra: int
    reasoning: int
    total: int
    cost: float
    #: UNPRICED (no price for its model: it costs 0), FALLBACK_MODEL (Codex: no model named, priced
    #: as gpt-5).
    flags: int
    #: A key that identifies the call across files (Codex: its time and figures), else "".
    key: object = None
