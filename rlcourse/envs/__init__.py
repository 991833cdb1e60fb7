"""Environments of the course, registered with gymnasium when this package is imported.

``import rlcourse.envs`` registers ``rlcourse/ShortCorridor-v0`` (Sutton & Barto's Example 13.1,
taught in 01_update_equation); ``gymnasium.make("rlcourse/ShortCorridor-v0")`` then builds it.
Registration names an entry point string, so no environment module is imported here.
"""

from __future__ import annotations

import gymnasium

SHORT_CORRIDOR_ID = "rlcourse/ShortCorridor-v0"

# A policy that always moves right loops forever between the first two states; the time limit
# keeps such an episode finite. For any policy with 0.05 <= P(right) <= 0.95 the chance that an
# episode lasts 1000 steps is below 1e-6 (the largest, 6.6e-7, at P(right) = 0.05), so the
# expected return with the limit is within 1e-3 of the exact J(θ), which ignores the limit.
SHORT_CORRIDOR_MAX_STEPS = 1000

if SHORT_CORRIDOR_ID not in gymnasium.registry:
    gymnasium.register(
        id=SHORT_CORRIDOR_ID,
        entry_point="rlcourse.envs.short_corridor:ShortCorridorEnv",
        max_episode_steps=SHORT_CORRIDOR_MAX_STEPS,
    )
