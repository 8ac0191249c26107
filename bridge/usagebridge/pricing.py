"""Model prices (USD per token) and the per-entry cost rule shared with ccusage."""

import json
from typing import Dict, Optional

TOKEN_TYPES = (
    ("input_cost_per_token", "input_cost_per_token_above_200k_tokens"),
    ("output_cost_per_token", "output_cost_per_token_above_200k_tokens"),
    (
        "cache_creation_input_token_cost",
        "cache_creation_input_token_cost_above_200k_tokens",
    ),
    ("cache_read_input_token_cost", "cache_read_input_token_cost_above_200k_tokens"),
)


#: 1-hour cache writes cost this many times the input rate.
CACHE_WRITE_1H_MULTIPLIER = 2.0


class PriceTable:
    """Looks a model up exactly, then case-insensitively by substring (either way), as ccusage does."""

    def __init__(self, models: Dict[str, Dict[str, float]], threshold: int = 200_000):
        self.models = models
        self.threshold = threshold
        self._cache: Dict[str, Optional[Dict[str, float]]] = {}
        self._rates: Dict[str, tuple] = {}

    @classmethod
    def from_file(cls, path: str) -> "PriceTable":
        with open(path, "r", encoding="utf-8") as handle:
            data = json.load(handle)
        models = data.get("models")
        if not isinstance(models, dict) or not models:
            raise ValueError(f"{path}: no 'models' table")
        return cls(models, int(data.get("threshold_tokens", 200_000)))

    def lookup(self, model: str) -> Optional[Dict[str, float]]:
        if model in self._cache:
            return self._cache[model]
        found = self.models.get(model)
        if found is None:
            lower = model.lower()
            for key, value in self.models.items():
                key_lower = key.lower()
                if key_lower in lower or lower in key_lower:
                    found = value
                    break
        self._cache[model] = found
        return found

    def fast_multiplier(self, model: str) -> float:
        """What fast mode (`usage.speed == "fast"`) multiplies the model's cost by (1 if unknown)."""
        prices = self.lookup(model)
        extra = prices.get("provider_specific_entry") if prices else None
        factor = extra.get("fast") if isinstance(extra, dict) else None
        return float(factor) if isinstance(factor, (int, float)) else 1.0

    def cost(self, model: str, inp: int, out: int, cache_create: int, cache_read: int, cache_create_1h: int = 0) -> float:
        """Cost of one entry; each token type above the threshold is priced at its tier rate.
        `cache_create` is the 5-minute cache writes; 1-hour writes (`cache_create_1h`) cost twice
        the input rate (ccusage 20's rule, Anthropic's published multiplier)."""
        rates = self._rates.get(model)
        if rates is None:
            rates = self._rates[model] = self._rates_of(model)
        if not rates:
            return 0.0
        threshold, tiered = self.threshold, self._tiered
        total = 0.0
        for count, (base, tier) in zip((inp, out, cache_create, cache_read, cache_create_1h), rates):
            if count:
                total += count * base if count <= threshold or tier is None else tiered(count, base, tier)
        return total

    def _rates_of(self, model: str) -> tuple:
        """(base, tier) per token type — input, output, 5-minute and 1-hour cache writes, cache
        reads — or () for a model without prices (a missing base rate prices at 0)."""
        prices = self.lookup(model)
        if prices is None:
            return ()
        pairs = [(prices.get(base) or 0.0, prices.get(tier)) for base, tier in TOKEN_TYPES]
        base, tier = pairs[0]
        hour = (base * CACHE_WRITE_1H_MULTIPLIER, None if tier is None else tier * CACHE_WRITE_1H_MULTIPLIER)
        return (pairs[0], pairs[1], pairs[2], pairs[3], hour)

    def _tiered(self, count: int, base: Optional[float], tier: Optional[float]) -> float:
        if tier is not None and count > self.threshold:
            return (count - self.threshold) * tier + (self.threshold * base if base is not None else 0.0)
        return count * base if base is not None else 0.0
