"""Prices of other agents' models, as ccusage 20.0.24 charges them offline (bridge/pricing.json,
`agent_prices`: measured from its binary by scripts/measure-agent-prices.py, each with its source).

Each agent looks a model up its own way in ccusage (Gemini tries `google/<model>` first, OpenCode the
model, then `<provider>/<model>`), and the same name can resolve to different entries — so each
agent has its own section, keyed as its logs name models. A tier prices an event past a prompt size
(`threshold_tokens`): `prompt` — every token of the event at the higher rates once the prompt
(input, cached input and cache writes) is larger (OpenAI's and Google's rule); `part` — per kind of
token, the part above the threshold (Anthropic's). A model not in the table costs 0 and is flagged
unpriced, as in ccusage."""

import json
from typing import Dict, Optional, Tuple

KINDS = ("input_cost_per_token", "output_cost_per_token", "cache_creation_input_token_cost",
         "cache_read_input_token_cost")


class AgentPrices:
    def __init__(self, sections: Dict[str, Dict[str, dict]]) -> None:
        self.sections = sections

    @classmethod
    def from_file(cls, path: str) -> "AgentPrices":
        with open(path, "r", encoding="utf-8") as handle:
            data = json.load(handle).get("agent_prices") or {}
        return cls({agent: models for agent, models in data.items() if isinstance(models, dict) and agent != "about"})

    def lookup(self, agent: str, *names: str) -> Optional[dict]:
        models = self.sections.get(agent) or {}
        for name in names:
            found = models.get(name)
            if isinstance(found, dict):
                return found
        return None

    def cost(self, prices: Optional[dict], inp: int, out: int, cache_create: int, cache_read: int) -> Tuple[float, bool]:
        """(cost, unpriced) of one event (`out` includes the tokens priced as output)."""
        if prices is None:
            return 0.0, inp + out + cache_create + cache_read > 0
        counts = (inp, out, cache_create, cache_read)
        base = [float(prices.get(kind) or 0.0) for kind in KINDS]
        above = prices.get("above")
        if not isinstance(above, dict):
            return sum(c * r for c, r in zip(counts, base)), False
        threshold = int(above["threshold_tokens"])
        higher = [float(above.get(kind, rate)) for kind, rate in zip(KINDS, base)]
        if above.get("mode") == "prompt":
            rates = higher if inp + cache_create + cache_read > threshold else base
            return sum(c * r for c, r in zip(counts, rates)), False
        total = 0.0
        for count, low, high in zip(counts, base, higher):
            total += count * low if count <= threshold else threshold * low + (count - threshold) * high
        return total, False
