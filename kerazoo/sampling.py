"""Diffusion models' noise schedules and samplers, in NumPy alone.

The same loops run around a Keras denoiser (`kerazoo.trainers.Diffusion.sample`) and around an
exported one without TensorFlow, so that both draw the same images from the same seed. A denoiser is
any `predict_eps(x_t, t, labels)` that returns the noise it sees in `x_t` at step `t` (an int array,
one step per image); `labels=None` asks for the unconditional prediction.

- Schedules: `linear` (Ho et al. 2020: betas from 1e-4 to 0.02 over 1,000 steps, scaled for other
  lengths) and `cosine` (Nichol & Dhariwal 2021: alpha-bar follows a squared cosine, betas clipped
  at 0.999).
- The forward process: `x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps` (`q_sample`).
- Samplers: DDPM's ancestral steps (`ddpm_sample`, every step) and DDIM (Song et al. 2021,
  `ddim_sample`: any number of steps; `eta=0` deterministic, `eta=1` as stochastic as DDPM), with
  classifier-free guidance (Ho & Salimans 2022): `eps = eps_uncond + w (eps_cond - eps_uncond)`, so
  `w=0` is the unconditional model, `w=1` the conditional one and `w>1` guides harder.

Example:
    ```python
    schedule = Schedule.make("cosine", 1000)
    images = ddim_sample(predict_eps, (16, 28, 28, 1), schedule, steps=25, seed=0)
    ```
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

__all__ = ["SCHEDULES", "Schedule", "q_sample", "ddim_timesteps", "ddim_sample", "ddim_invert", "ddpm_sample"]

SCHEDULES = ("linear", "cosine")


def _check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
    return int(value)


@dataclasses.dataclass(frozen=True)
class Schedule:
    """A noise schedule: `betas` (float64, one per step) and what follows from them.

    Attributes:
        kind: `"linear"` or `"cosine"`.
        betas: the variance added at each step, shape `(timesteps,)`.
    """

    kind: str
    betas: np.ndarray

    @classmethod
    def make(cls, kind: str = "linear", timesteps: int = 1000) -> Schedule:
        """The `kind` schedule over `timesteps` steps.

        Raises:
            ValueError: an unknown kind or a bad number of steps.
        """
        timesteps = _check_positive_int("timesteps", timesteps)
        if kind == "linear":
            scale = 1000 / timesteps  # Ho et al.'s endpoints are for 1,000 steps
            betas = np.linspace(scale * 1e-4, min(scale * 0.02, 0.999), timesteps, dtype=np.float64)
        elif kind == "cosine":
            s = 0.008
            f = (
                np.cos((np.arange(timesteps + 1, dtype=np.float64) / timesteps + s) / (1 + s) * math.pi / 2)
                ** 2
            )
            alpha_bar = f / f[0]
            betas = np.clip(1.0 - alpha_bar[1:] / alpha_bar[:-1], 0.0, 0.999)
        else:
            raise ValueError(f"Unknown schedule {kind!r}. Available: {', '.join(SCHEDULES)}")
        return cls(kind, betas)

    @property
    def timesteps(self) -> int:
        """The number of steps."""
        return len(self.betas)

    @property
    def alpha_bar(self) -> np.ndarray:
        """The cumulative product of `1 - beta`: how much of `x_0` is left at each step."""
        return np.cumprod(1.0 - self.betas)

    def to_json(self) -> dict:
        """The schedule as JSON-ready data (what an export's metadata holds)."""
        return {"kind": self.kind, "timesteps": self.timesteps}

    @classmethod
    def from_json(cls, data: dict) -> Schedule:
        """The schedule from `to_json()`'s data."""
        return cls.make(data["kind"], int(data["timesteps"]))


def q_sample(x0, t, eps, schedule: Schedule) -> np.ndarray:
    """`x_t` given `x_0`: `sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps`, `t` one step per image."""
    ab = schedule.alpha_bar[np.asarray(t)].reshape((-1,) + (1,) * (np.ndim(x0) - 1))
    return np.sqrt(ab) * x0 + np.sqrt(1.0 - ab) * eps


def ddim_timesteps(timesteps: int, steps: int) -> np.ndarray:
    """The `steps` steps DDIM visits, from the last to the first, evenly spaced.

    Raises:
        ValueError: `steps` is not between 1 and `timesteps`.
    """
    steps = _check_positive_int("steps", steps)
    if steps > timesteps:
        raise ValueError(f"`steps` must be at most the schedule's {timesteps} steps. Received: steps={steps}")
    return np.unique(np.round(np.linspace(0, timesteps - 1, steps)).astype(np.int64))[::-1]


def _guided(predict_eps, x, t, labels, guidance):
    """The model's noise prediction, with classifier-free guidance where labels are given."""
    ts = np.full((len(x),), t, dtype=np.int32)
    if labels is None:
        return np.asarray(predict_eps(x, ts, None), np.float64)
    if guidance == 1.0:
        return np.asarray(predict_eps(x, ts, labels), np.float64)
    unconditional = np.asarray(predict_eps(x, ts, None), np.float64)
    if guidance == 0.0:
        return unconditional
    conditional = np.asarray(predict_eps(x, ts, labels), np.float64)
    return unconditional + guidance * (conditional - unconditional)


def _check_guidance(guidance, labels):
    if (
        isinstance(guidance, bool)
        or not isinstance(guidance, (int, float))
        or not math.isfinite(guidance)
        or guidance < 0
    ):
        raise ValueError(f"`guidance` must be a number >= 0. Received: guidance={guidance!r}")
    if labels is None and guidance != 1.0:
        raise ValueError("`guidance` needs `labels`: it weighs the class-conditional prediction.")
    return float(guidance)


def ddim_sample(
    predict_eps,
    shape,
    schedule: Schedule,
    steps: int = 50,
    *,
    eta: float = 0.0,
    seed: int = 0,
    labels=None,
    guidance: float = 1.0,
    x_t=None,
    trajectory: bool = False,
):
    """Images from noise by DDIM's steps (Song et al. 2021), clipped to [-1, 1].

    Args:
        predict_eps: the denoiser, `(x_t, t, labels or None)` -> predicted noise.
        shape: the images' shape, batch first.
        schedule: the schedule the denoiser was trained with.
        steps: how many denoising steps (1 to `schedule.timesteps`). Defaults to `50`.
        eta: 0 (deterministic, the default) to 1 (as much noise as DDPM's ancestral steps).
        seed: seed of the starting noise (and of the noise `eta > 0` adds).
        labels: int class per image for a class-conditional denoiser, or None.
        guidance: classifier-free guidance weight `w` (needs `labels`). Defaults to `1.0`.
        x_t: the starting noise instead of drawing it (e.g. from `ddim_invert`).
        trajectory: also return `x_t` after every step.

    Returns:
        float32 images in [-1, 1]; with `trajectory`, `(images, [x_T, ..., x_0])`.

    Raises:
        ValueError: bad `steps`, `eta`, `guidance` or labels.
    """
    if isinstance(eta, bool) or not isinstance(eta, (int, float)) or not 0.0 <= eta <= 1.0:
        raise ValueError(f"`eta` must be between 0 and 1. Received: eta={eta!r}")
    guidance = _check_guidance(guidance, labels)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(tuple(shape)) if x_t is None else np.asarray(x_t, np.float64)
    ts = ddim_timesteps(schedule.timesteps, steps)
    ab = schedule.alpha_bar
    path = [x.astype(np.float32)]
    for i, t in enumerate(ts):
        eps = _guided(predict_eps, x.astype(np.float32), int(t), labels, guidance)
        a_t = ab[t]
        a_prev = ab[ts[i + 1]] if i + 1 < len(ts) else 1.0
        x0 = np.clip((x - math.sqrt(1.0 - a_t) * eps) / math.sqrt(a_t), -1.0, 1.0)
        eps = (x - math.sqrt(a_t) * x0) / math.sqrt(1.0 - a_t)  # consistent with the clipped x0
        sigma = eta * math.sqrt((1.0 - a_prev) / (1.0 - a_t) * (1.0 - a_t / a_prev))
        x = math.sqrt(a_prev) * x0 + math.sqrt(max(1.0 - a_prev - sigma**2, 0.0)) * eps
        if sigma > 0:
            x = x + sigma * rng.standard_normal(x.shape)
        path.append(x.astype(np.float32))
    images = np.clip(x, -1.0, 1.0).astype(np.float32)
    return (images, path) if trajectory else images


def ddim_invert(predict_eps, x0, schedule: Schedule, steps: int = 50, *, labels=None):
    """The noise that DDIM (`eta=0`) decodes into `x0`: its steps run backwards (without clipping).

    `ddim_sample(..., x_t=ddim_invert(...), steps=steps)` gives `x0` back up to the discretisation
    error, which shrinks with more steps."""
    ts = ddim_timesteps(schedule.timesteps, steps)[::-1]
    ab = schedule.alpha_bar
    x = np.asarray(x0, np.float64)
    for i, t in enumerate(ts):
        a_prev = ab[ts[i - 1]] if i > 0 else 1.0
        a_t = ab[t]
        # eps(x_t, t) is not known yet: take it at the point we stand on, for the step we go to.
        eps = _guided(predict_eps, x.astype(np.float32), int(t), labels, 1.0)
        pred_x0 = (x - math.sqrt(1.0 - a_prev) * eps) / math.sqrt(a_prev)
        x = math.sqrt(a_t) * pred_x0 + math.sqrt(1.0 - a_t) * eps
    return x.astype(np.float32)


def ddpm_sample(predict_eps, shape, schedule: Schedule, *, seed: int = 0, labels=None, guidance: float = 1.0):
    """Images from noise by DDPM's ancestral steps (Ho et al. 2020), every step of the schedule, with
    the posterior variance `beta~_t`; clipped to [-1, 1]."""
    guidance = _check_guidance(guidance, labels)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(tuple(shape))
    betas, ab = schedule.betas, schedule.alpha_bar
    for t in range(schedule.timesteps - 1, -1, -1):
        eps = _guided(predict_eps, x.astype(np.float32), t, labels, guidance)
        a_prev = ab[t - 1] if t > 0 else 1.0
        x0 = np.clip((x - math.sqrt(1.0 - ab[t]) * eps) / math.sqrt(ab[t]), -1.0, 1.0)
        # The posterior mean of x_{t-1} given x_t and x0, and its variance.
        mean = (math.sqrt(a_prev) * betas[t] / (1.0 - ab[t])) * x0 + (
            math.sqrt(1.0 - betas[t]) * (1.0 - a_prev) / (1.0 - ab[t])
        ) * x
        x = mean
        if t > 0:
            variance = betas[t] * (1.0 - a_prev) / (1.0 - ab[t])
            x = x + math.sqrt(variance) * rng.standard_normal(x.shape)
    return np.clip(x, -1.0, 1.0).astype(np.float32)
