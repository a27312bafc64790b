r"""Competing risks: one cause-specific piecewise-exponential model per cause, and their incidence.

With causes :math:`j = 1, \dots, J` the likelihood of the cells is a product over causes of
Poisson likelihoods, :math:`D_{cj} \sim \mathrm{Poisson}(\lambda_{cj} T_c)`, with the same
exposure :math:`T_c` (one split, one set of cells). Each cause has its own baseline, effects
and cluster effects, with independent priors, so the joint posterior is the product of the
causes' posteriors: fitting the causes jointly and fitting them one after the other are the same
model, and bayessa does the latter (every cause's fit is an ordinary run, with its own
diagnostics, report and LOO). The cumulative incidence combines the causes' hazards
(:mod:`bayessa.posterior.incidence`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from bayessa.errors import SpecError

__all__ = ["CompetingRisksResult"]


class CompetingRisksResult:
    """Cause-specific fits of competing risks (:func:`bayessa.fit` with ``censored=...``).

    Parameters
    ----------
    results : dict of str to FitResult
        One fit per cause, in the causes' order.
    spec : Spec
        The spec as applied.
    prepared : Prepared, optional
        The data with every cause.
    """

    def __init__(self, results: Mapping, *, spec=None, prepared=None):
        self.results = dict(results)
        self.spec = spec
        self.prepared = prepared
        self._predictors: dict = {}  # (max_draws, seed) -> each cause's Predictor

    @property
    def causes(self) -> tuple[str, ...]:
        """The causes."""
        return tuple(self.results)

    def __getitem__(self, cause: str):
        """The fit of one cause."""
        return self.results[cause]

    def hazard_ratios(self, **kwargs) -> pd.DataFrame:
        """Every cause's hazard ratios, with a ``cause`` column.

        Parameters
        ----------
        **kwargs
            Passed to :meth:`bayessa.api.result.FitResult.hazard_ratios`.

        Returns
        -------
        DataFrame
        """
        parts = []
        for cause, res in self.results.items():
            hr = res.hazard_ratios(**kwargs).reset_index()
            parts.append(hr.assign(cause=cause))
        out = pd.concat(parts, ignore_index=True)
        return out[["cause", *[c for c in out.columns if c != "cause"]]]

    def diagnostics(self) -> dict:
        """Each cause's convergence gate (:meth:`FitResult.diagnostics`).

        Returns
        -------
        dict of str to Diagnostics
        """
        return {cause: res.diagnostics() for cause, res in self.results.items()}

    def cumulative_incidence(
        self,
        profile: Mapping[str, object] | None = None,
        *,
        times: Sequence[float] | None = None,
        cluster: str = "marginal",
        tau: float | None = None,
        ci_prob: float = 0.95,
        max_draws: int | None = 1000,
        seed: int = 0,
    ) -> pd.DataFrame:
        r"""Posterior cumulative incidence of each cause for one covariate profile.

        Parameters
        ----------
        profile : mapping, optional
            Variable -> level (or number); default the reference profile.
        times : sequence of float, optional
            Times; default 50 points over the modelled follow-up.
        cluster : str, default "marginal"
            ``"marginal"`` over every cause's cluster effects, or a cluster level.
        tau : float, optional
            Horizon of the restricted mean time lost; default the last finite cut point.
        ci_prob : float, default 0.95
            Probability of the equal-tailed bands.
        max_draws : int or None, default 1000
            Draws used per cause (seeded thinning).
        seed : int, default 0
            Seed of the thinning.

        Returns
        -------
        DataFrame
            One row per cause and time: ``cause``, ``time``, ``cif`` (posterior median),
            ``lower``, ``upper``, and per cause ``rmtl`` (median), ``rmtl_lower``,
            ``rmtl_upper`` and ``tau``; ``profile`` and ``cluster_effect`` say what it is.
        """
        from bayessa.posterior.curves import summarise

        grid, tau, cif, rmtl, mixtures = self._draws(profile, times, cluster, tau, max_draws, seed)
        rows = []
        for j, cause in enumerate(self.causes):
            s = summarise(cif[j], ci_prob=ci_prob)
            r = summarise(rmtl[j][:, None], ci_prob=ci_prob)
            rows.append(pd.DataFrame({
                "cause": cause, "time": grid, "cif": s["median"], "lower": s["lower"],
                "upper": s["upper"], "rmtl": float(r["median"][0]),
                "rmtl_lower": float(r["lower"][0]), "rmtl_upper": float(r["upper"][0]),
                "tau": tau, "profile": mixtures[j].label, "cluster_effect": mixtures[j].cluster,
            }))  # fmt: skip
        return pd.concat(rows, ignore_index=True)

    def incidence_difference(
        self,
        profile: Mapping[str, object],
        reference: Mapping[str, object] | None = None,
        *,
        times: Sequence[float] | None = None,
        cluster: str = "marginal",
        tau: float | None = None,
        ci_prob: float = 0.95,
        max_draws: int | None = 1000,
        seed: int = 0,
    ) -> pd.DataFrame:
        r"""Difference in each cause's incidence (and time lost) between two profiles.

        Parameters
        ----------
        profile, reference : mapping
            The two covariate profiles (``reference`` default: the reference profile); each
            fills in the reference levels for variables it does not name.
        times, cluster, tau, ci_prob, max_draws, seed
            As :meth:`cumulative_incidence`.

        Returns
        -------
        DataFrame
            One row per cause and time: ``difference`` (posterior median of
            :math:`F_j(t \mid profile) - F_j(t \mid reference)`), ``lower``, ``upper``,
            ``p_gt_0`` (its posterior probability of being positive), and per cause the same
            for the restricted mean time lost (``rmtl_difference``, ...).
        """
        from bayessa.posterior.curves import summarise

        grid, tau, a, ra, mix = self._draws(profile, times, cluster, tau, max_draws, seed)
        _, _, b, rb, mix_b = self._draws(reference or {}, grid, cluster, tau, max_draws, seed)
        S = min(a.shape[1], b.shape[1])
        rows = []
        for j, cause in enumerate(self.causes):
            d, dr = a[j, :S] - b[j, :S], (ra[j, :S] - rb[j, :S])[:, None]
            s, r = summarise(d, ci_prob=ci_prob), summarise(dr, ci_prob=ci_prob)
            rows.append(pd.DataFrame({
                "cause": cause, "time": grid, "difference": s["median"], "lower": s["lower"],
                "upper": s["upper"], "p_gt_0": (d > 0).mean(axis=0),
                "rmtl_difference": float(r["median"][0]), "rmtl_lower": float(r["lower"][0]),
                "rmtl_upper": float(r["upper"][0]), "rmtl_p_gt_0": float((dr > 0).mean()),
                "tau": tau, "contrast": f"{mix[j].label} vs {mix_b[j].label}",
                "cluster_effect": mix[j].cluster,
            }))  # fmt: skip
        return pd.concat(rows, ignore_index=True)

    def _draws(self, profile, times, cluster, tau, max_draws, seed):
        """Times, horizon, incidence and RMTL draws of a profile, and the causes' curves."""
        from bayessa.posterior.curves import Predictor
        from bayessa.posterior.incidence import cause_incidence

        key = (max_draws, seed)  # thinning and coding are done once per setting, not per curve
        if key not in self._predictors:
            self._predictors[key] = [
                Predictor(r.idata, max_draws=max_draws, seed=seed) for r in self.results.values()
            ]
        preds = self._predictors[key]
        prof = {}  # the reference profile of every cause's formula (they may differ)
        for p in preds:
            prof |= {v: p.info.reference[v] for v in p.info.profile_variables if v not in prof}
        unknown = sorted(set(profile or {}) - set(prof))
        if unknown:
            raise SpecError(f"unknown variable(s) {unknown}; the profile has {sorted(prof)}")
        prof |= {k: str(v) for k, v in (profile or {}).items()}
        mixtures = [p.profile(prof, cluster=cluster) for p in preds]
        cuts = mixtures[0].cuts
        end = cuts[-1] if np.isfinite(cuts[-1]) else cuts[-2]
        grid = np.linspace(0.0, end, 51)[1:] if times is None else np.asarray(times, float)
        tau = float(end if tau is None else tau)
        cif, rmtl = cause_incidence(mixtures, grid, tau)
        return grid, tau, cif, rmtl, mixtures

    def save(self, out: str | Path, *, overwrite: bool = False, command: str | None = None) -> Path:
        """Write one run per cause (``out/<cause>/``) and the combined tables.

        ``hazard_ratios.csv`` (with ``cause``), ``cif.csv`` (the reference profile's
        incidence, marginal over cluster effects), ``report.html``/``report.md`` (the causes
        together: :mod:`bayessa.report.competing`) and ``manifest.json`` (the causes, each
        fit's diagnostics verdict) beside the causes' run folders, written atomically.

        Parameters
        ----------
        out : path
            The folder to write.
        overwrite : bool, default False
            Replace an existing folder.
        command : str, optional
            The command that made the runs.

        Returns
        -------
        Path
        """
        from bayessa.posterior.rundir import write_atomically

        def write(folder: Path) -> None:
            for cause, res in self.results.items():
                sub = folder / _folder_name(cause)
                sub.mkdir()
                res._write(sub, command=command)
            self.hazard_ratios().to_csv(folder / "hazard_ratios.csv", index=False)
            reference = self.cumulative_incidence()
            reference.to_csv(folder / "cif.csv", index=False)
            from bayessa.report.competing import write_competing_report

            diagnostics = self.diagnostics()
            write_competing_report(
                self, folder, {c: _folder_name(c) for c in self.causes},
                reference=reference, diagnostics=diagnostics,
            )  # fmt: skip
            manifest = {
                "causes": list(self.causes),
                "runs": {c: _folder_name(c) for c in self.causes},
                "diagnostics_passed": {c: bool(d.passed) for c, d in diagnostics.items()},
                "command": command,
                "model": "one cause-specific piecewise-exponential model per cause; the other "
                "causes' events censored; incidence from all causes' hazards",
            }
            (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))

        return write_atomically(out, write, overwrite=overwrite)


def _folder_name(cause: str) -> str:
    """A file-system-safe folder name for a cause."""
    import re

    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(cause)).strip("_") or "cause"
