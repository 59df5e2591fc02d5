"""The progressive-growing schedule in kimg (thousands of real images shown)."""

from __future__ import annotations

import dataclasses

from tfpgan.data.dataset_info import DatasetInfo
from tfpgan.errors import TfpganError
from tfpgan.options import TrainOptions


@dataclasses.dataclass(frozen=True)
class Phase:
    """One stretch of training at a fixed resolution, either fading the new block in or stable."""

    index: int
    resolution: int
    fading: bool
    start_kimg: float
    end_kimg: float

    def alpha(self, kimg: float) -> float:
        """Fade-in weight at `kimg`: ramps 0 -> 1 through a transition, 1 when stable."""
        if not self.fading:
            return 1.0
        return min(1.0, max(0.0, (kimg - self.start_kimg) / (self.end_kimg - self.start_kimg)))

    def describe(self, kimg: float) -> str:
        mode = f"fade α={self.alpha(kimg):.2f}" if self.fading else "stable"
        return f"{self.resolution}x{self.resolution} {mode}"


def build_phases(start_resolution: int, resolution: int, kimg_per_phase: float, kimg_per_transition: float,
                 total_kimg: float = 0.0) -> list[Phase]:
    """Stable at start_resolution, then (transition, stable) per doubling; the last stable phase lasts
    until `total_kimg` (0 = the end of growth)."""
    if start_resolution > resolution:
        raise TfpganError(f"start_resolution {start_resolution} is above the target resolution {resolution}")
    if kimg_per_phase <= 0 or (kimg_per_transition <= 0 and start_resolution < resolution):
        raise TfpganError("kimg_per_phase and kimg_per_transition must be > 0")
    phases, kimg, current = [], 0.0, start_resolution
    phases.append(Phase(0, current, False, kimg, kimg + kimg_per_phase))
    kimg += kimg_per_phase
    while current < resolution:
        current *= 2
        phases.append(Phase(len(phases), current, True, kimg, kimg + kimg_per_transition))
        kimg += kimg_per_transition
        phases.append(Phase(len(phases), current, False, kimg, kimg + kimg_per_phase))
        kimg += kimg_per_phase
    if total_kimg:
        if total_kimg < kimg:
            raise TfpganError(f"total_kimg {total_kimg:g} is shorter than the growth schedule ({kimg:g} kimg)")
        last = phases[-1]
        phases[-1] = dataclasses.replace(last, end_kimg=total_kimg)
    return phases


def phase_at(phases: list[Phase], kimg: float) -> Phase:
    """The phase that covers `kimg` (the last one once training is complete)."""
    for phase in phases:
        if kimg < phase.end_kimg:
            return phase
    return phases[-1]


def value_for(mapping: dict[int, float], resolution: int, default: float) -> float:
    """The value given for `resolution`, else the one for the nearest lower resolution, else `default`."""
    lower = [r for r in mapping if r <= resolution]
    return mapping[max(lower)] if lower else default


def batch_for(batch_per_resolution: dict, resolution: int) -> int:
    """Per-replica minibatch at `resolution` (the entry of the nearest lower resolution; 16 if none)."""
    return int(value_for({int(k): v for k, v in batch_per_resolution.items()}, resolution, 16))


def describe_schedule(phases: list[Phase], batch_per_resolution: dict) -> str:
    """The phase table printed by --dry_run: kimg range, resolution, per-replica batch, fade or stable."""
    lines = [f"{'phase':>5}  {'kimg':>17}  {'resolution':>10}  {'batch/replica':>13}  mode"]
    for phase in phases:
        batch, mode = batch_for(batch_per_resolution, phase.resolution), "fade-in" if phase.fading else "stable"
        lines.append(f"{phase.index:>5}  {phase.start_kimg:>8.1f}-{phase.end_kimg:<8.1f}  "
                     f"{phase.resolution:>4}x{phase.resolution:<5}  {batch:>13}  {mode}")
    return "\n".join(lines)


def resolve(options: TrainOptions, info: DatasetInfo) -> tuple[TrainOptions, list[Phase]]:
    """The options with --resolution=0 replaced by the dataset's (`info`), and the phases they train. A DCGAN does
    not grow: its --start_resolution is set to --resolution, so it trains one stable phase of --kimg_per_phase (up
    to --total_kimg). Refuses options the dataset makes void (a resolution above its own, saturation on gray)."""
    if not options.resolution:
        options = options.replace(resolution=info.resolution)
    if options.architecture == "dcgan":
        options = options.replace(start_resolution=options.resolution)
    if options.resolution > info.resolution:
        raise TfpganError(f"--resolution={options.resolution} (from the command line or a --flagfile) is above the "
                          f"dataset's {info.resolution}: pass --resolution={info.resolution} (after any --flagfile) "
                          "or 0 for the dataset's own")
    if "saturation" in options.augment and info.channels == 1:
        raise TfpganError(f"--augment=saturation changes nothing on the 1-channel images of {options.dataset}: "
                          "drop it from --augment")
    return options, phases_for(options, options.resolution)


def phases_for(options: TrainOptions, resolution: int) -> list[Phase]:
    """The phases `options` train up to `resolution`: a DCGAN's one stable phase there, a progressive GAN's growth."""
    start = resolution if options.architecture == "dcgan" else options.start_resolution
    return build_phases(start, resolution, options.kimg_per_phase, options.kimg_per_transition, options.total_kimg)
