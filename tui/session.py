"""What the user is looking at: the criteria, the chosen profile and unsaved weight edits.

Plain Python (no Textual), so the rules are easy to test: weights are clamped to
0..WEIGHT_MAX, a change that would leave every weight at zero is refused (nothing could
be scored), and edits are kept per profile, so switching profiles and back loses nothing.
"""

from __future__ import annotations

from mlops_compare.criteria import WEIGHT_MAX, Criteria, Profile


class Session:
    def __init__(self, criteria: Criteria, profile: str | None = None):
        self.criteria = criteria
        self.profile_id = profile or criteria.default_profile
        self.edits: dict[str, dict[str, float]] = {}

    # --- reading ------------------------------------------------------------------
    @property
    def saved_profile(self) -> Profile:
        return self.criteria.profiles[self.profile_id]

    @property
    def profile(self) -> Profile:
        """The chosen profile with the unsaved edits applied."""
        return self.saved_profile.with_weights(self.edits.get(self.profile_id, {}))

    def weight(self, checkpoint: str) -> float:
        return self.profile.weights[checkpoint]

    def is_edited(self, checkpoint: str, profile: str | None = None) -> bool:
        return checkpoint in self.edits.get(profile or self.profile_id, {})

    def dirty(self, profile: str | None = None) -> bool:
        if profile is None:
            return any(self.edits.values())
        return bool(self.edits.get(profile))

    # --- changing -----------------------------------------------------------------
    def set_weight(self, checkpoint: str, weight: float) -> str | None:
        """Set a weight (clamped); return why it was refused, or None when it was applied."""
        weight = min(max(float(weight), 0.0), WEIGHT_MAX)
        weights = dict(self.profile.weights)
        weights[checkpoint] = weight
        if not any(weights.values()):
            return "at least one checkpoint needs a weight above 0"
        edits = self.edits.setdefault(self.profile_id, {})
        if weight == self.saved_profile.weights[checkpoint]:
            edits.pop(checkpoint, None)
        else:
            edits[checkpoint] = weight
        return None

    def reset_weight(self, checkpoint: str) -> str | None:
        return self.set_weight(checkpoint, self.saved_profile.weights[checkpoint])

    def switch(self, profile: str) -> None:
        if profile not in self.criteria.profiles:
            raise KeyError(profile)
        self.profile_id = profile

    def next_profile(self, step: int = 1) -> str:
        ids = list(self.criteria.profiles)
        self.switch(ids[(ids.index(self.profile_id) + step) % len(ids)])
        return self.profile_id

    # --- saving -------------------------------------------------------------------
    @property
    def save_target(self):
        from mlops_compare import weights_io

        return weights_io.target(self.criteria)

    def save(self, load) -> str:
        """Write every edited profile's weights; reload the criteria with *load*; return the path."""
        from mlops_compare import weights_io  # tomlkit: only when saving

        path = weights_io.save(self.criteria, {p: w for p, w in self.edits.items() if w})
        self.criteria = load(path)
        self.edits.clear()
        return str(path)
