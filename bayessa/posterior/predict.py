"""Posterior quantities computed from the posterior draws (never by re-running the sampler).

Everything here reads only the DataTree (posterior, constant data and attrs), so it works on a
fresh fit, on a run loaded with :func:`bayessa.load` and on a fake posterior.

* :func:`log_rate` -- posterior draws of the log hazard for design rows;
* :class:`DesignInfo` -- the fixed-effect coding of a run (coefficient -> (variable, level)
  pairs, levels, reference levels, cluster, strata, cut points), read from the DataTree;
* :func:`profile_log_hazard` -- log hazard per age interval for covariate profiles;
* :func:`unit_frame` -- the units (times, events, covariates) stored in the DataTree.

Survival curves, RMST and medians are in :mod:`bayessa.posterior.curves`; hazard-ratio contrasts in
:mod:`bayessa.posterior.effects`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from bayessa.data.parsing import level_label
from bayessa.errors import SpecError
from bayessa.model.numeric import NumericTerm

__all__ = [
    "DesignInfo",
    "coded_rows",
    "draws",
    "log_rate",
    "model_variables",
    "profile_log_hazard",
    "thin",
    "row_frame",
    "unit_frame",
]


_INTERNAL = ("_z", "_chol")


def model_variables(posterior) -> list[str]:
    """Posterior variables that are model parameters (not the non-centred ``*_z`` helpers).

    Parameters
    ----------
    posterior : xarray.Dataset

    Returns
    -------
    list of str
    """
    return [v for v in posterior.data_vars if not str(v).endswith(_INTERNAL)]


def _draws(posterior: xr.Dataset, name: str) -> np.ndarray:
    """(chain * draw, ...) array of a posterior variable."""
    v = posterior[name].transpose("chain", "draw", ...).to_numpy()
    return v.reshape(-1, *v.shape[2:])


def draws(posterior: xr.Dataset, name: str) -> np.ndarray:
    """Posterior draws of ``name`` as a ``(chain * draw, ...)`` array (chains concatenated).

    Parameters
    ----------
    posterior : xarray.Dataset
        Variables with ``chain`` and ``draw`` dimensions.
    name : str
        The variable.

    Returns
    -------
    numpy.ndarray
    """
    return _draws(posterior, name)


def thin(
    posterior: xr.Dataset,
    n: int | None,
    *,
    method: str = "random",
    seed: int = 0,
) -> xr.Dataset:
    r"""Keep about ``n`` posterior samples: the one thinning helper.

    Parameters
    ----------
    posterior : xarray.Dataset
        Variables with ``chain`` and ``draw`` dimensions.
    n : int or None
        Samples to keep. ``None`` keeps all.
    method : {"random", "even", "per_chain"}
        ``"random"`` (curves and contrasts): at most ``n`` samples chosen without replacement by
        a generator seeded with ``seed``, returned as one chain in their original order; with
        ``n=None`` (or at least the number of samples) all samples stacked the same way, so
        results never depend on the thinning when it does not apply.
        ``"even"`` (simulation-based calibration): exactly ``n`` samples evenly spaced over the
        chains in chain-major order, draw :math:`\lfloor (\ell + 1/2) S / n \rfloor` for :math:`\ell = 0..n-1`
        of the :math:`S`, as one chain (with 2 chains x 500 draws and :math:`n = 100`, every
        10th draw).
        ``"per_chain"`` (predictive checks): about ``n`` samples, evenly spaced draws within
        every chain, chains kept.
    seed : int
        Seed of ``"random"``.

    Returns
    -------
    xarray.Dataset

    Raises
    ------
    SpecError
        ``n`` below 1, or an unknown method.
    """
    if n is not None and n < 1:
        raise SpecError(f"the number of draws must be a positive integer, got {n}")
    if method == "random":
        return _thin_random(posterior, n, seed)
    if method == "even":
        return _thin_even(
            posterior, posterior.sizes["chain"] * posterior.sizes["draw"] if n is None else n
        )
    if method == "per_chain":
        return _thin_per_chain(posterior, n)
    raise SpecError(f"thinning method must be 'random', 'even' or 'per_chain', not {method!r}")


def _thin_random(posterior: xr.Dataset, max_draws: int | None, seed: int) -> xr.Dataset:
    stacked = posterior.stack(sample=("chain", "draw")).transpose("sample", ...)
    n = stacked.sizes["sample"]
    if max_draws is not None and max_draws < n:
        pick = np.sort(np.random.default_rng(seed).choice(n, size=max_draws, replace=False))
        stacked = stacked.isel(sample=pick)
    stacked = stacked.drop_vars(["sample", "chain", "draw"], errors="ignore")
    out = stacked.rename({"sample": "draw"}).expand_dims("chain", 0)
    return out.assign_coords(chain=[0], draw=np.arange(out.sizes["draw"]))


def _thin_even(posterior: xr.Dataset, n: int) -> xr.Dataset:
    S = posterior.sizes["chain"] * posterior.sizes["draw"]
    keep = np.floor((np.arange(n) + 0.5) * S / n).astype(np.int64)
    out = {}
    for name, da in posterior.data_vars.items():
        v = da.transpose("chain", "draw", ...)
        arr = v.to_numpy().reshape(S, *v.shape[2:])[keep][None]
        out[name] = (v.dims, arr)
    coords = {k: c for k, c in posterior.coords.items() if k not in ("chain", "draw")}
    return xr.Dataset(out, coords=coords)


def _thin_per_chain(ds: xr.Dataset, n_draws: int | None) -> xr.Dataset:
    if n_draws is None:
        return ds
    per_chain = math.ceil(n_draws / ds.sizes["chain"])
    if per_chain >= ds.sizes["draw"]:
        return ds
    keep = np.unique(np.linspace(0, ds.sizes["draw"] - 1, per_chain).round().astype(int))
    return ds.isel(draw=keep)


def log_rate(
    posterior: xr.Dataset,
    *,
    interval: np.ndarray,
    X: np.ndarray,
    stratum: np.ndarray | None = None,
    cluster: np.ndarray | None = None,
    tv_columns: Sequence[int] = (),
    random: Sequence[tuple[str, np.ndarray, np.ndarray | None]] = (),
) -> np.ndarray:
    r"""Posterior draws of the log hazard for rows (cells or covariate profiles).

    .. math::

        \log \lambda_r = \alpha_{s(r), k(r)} + x_r^\top \beta
            + \sum_j x_{r, j} \delta_{j, k(r)} + u_{g(r)} + \sum_t (u^{(t)}_{g_t(r)}
            + z_r^\top v^{(t)}_{g_t(r)})

    Parameters
    ----------
    posterior : xarray.Dataset
        With ``baseline`` and, where the model has them, ``beta``, ``tv_delta``,
        ``cluster_effect``.
    interval : (n,) int
        Age-interval index of each row.
    X : (n, p) float
        Fixed-effect rows (:meth:`bayessa.model.design.Design.transform`).
    stratum : (n,) int, optional
        Baseline stratum of each row (stratified models).
    cluster : (n,) int, optional
        Cluster of each row; ``None`` gives the log hazard at :math:`u = 0` (a cluster of
        average effect, which is the mean cluster since the effects sum to zero).
    tv_columns : sequence of int
        Columns of ``X`` that carry time-varying deviations, in the order of ``tv_coef``.
    random : sequence of (prefix, codes, Z)
        Random-effect terms (:mod:`bayessa.model.random`): each row's level ``codes`` adds
        ``<prefix>_effect`` and, with slope columns ``Z`` (``(n, q)``), ``Z @ <prefix>_slope``.
        A code of -1 (an unknown level) adds 0. Do not list the cluster here and in ``cluster``.

    Returns
    -------
    (n_samples, n) float64, samples = chain x draw flattened.
    """
    base = _draws(posterior, "baseline")
    eta = base[:, stratum, interval] if stratum is not None else base[:, interval]
    if "beta" in posterior and X.shape[1]:
        eta = eta + _draws(posterior, "beta") @ X.T
    if len(tv_columns):
        delta = _draws(posterior, "tv_delta")  # (S, tv, K)
        eta = eta + np.einsum("rj,sjr->sr", X[:, list(tv_columns)], delta[:, :, interval])
    if cluster is not None and "cluster_effect" in posterior:
        eta = eta + _draws(posterior, "cluster_effect")[:, cluster]
    for prefix, codes, Z in random:
        known, at = codes >= 0, np.maximum(codes, 0)
        if f"{prefix}_effect" in posterior:
            eta = eta + np.where(known, _draws(posterior, f"{prefix}_effect")[:, at], 0.0)
        if Z is not None and Z.shape[1] and f"{prefix}_slope" in posterior:
            v = _draws(posterior, f"{prefix}_slope")[:, at]  # (S, n, q)
            eta = eta + np.where(known, np.einsum("rq,srq->sr", Z, v), 0.0)
    return eta


@dataclass(frozen=True)
class DesignInfo:
    r"""The fixed-effect coding of a fitted model, enough to build design rows for new profiles.

    Parameters
    ----------
    formula : str
        The model formula.
    variables : tuple of str
        Fixed-effect covariates, in formula order.
    levels : dict
        Variable -> levels (reference first), for the covariates and the strata variable.
    reference : dict
        Variable -> reference level (the first stratum for the strata variable).
    terms : tuple of str
        Written fixed terms, e.g. ``("leader", "era", "setting", "leader:era")``.
    coef_names : tuple of str
        Coefficient names, in the order of the posterior ``coef`` dimension.
    coef_levels : tuple
        Each coefficient's ``(variable, level)`` pairs: its column is 1 where all hold.
    cluster : str or None
        Random-intercept grouping factor (e.g. ``"county"``).
    cluster_levels : tuple of str
        Its levels, in the order of the posterior's cluster dimension.
    strata : str or None
        Variable with a baseline per level (stratified models).
    strata_levels : tuple of str
        Its levels, in the order of the posterior's ``stratum`` dimension.
    time_varying_coefs : tuple of str
        Coefficients with interval-specific deviations ``tv_delta``.
    numeric : dict of str to NumericTerm, default {}
        Numeric components (``"age"``, ``"log(age)"``) -> their definition
        (:class:`bayessa.model.numeric.NumericTerm`); their columns' reference values are in
        ``reference`` (as text) and they have no ``levels``.
    x_reference : numpy.ndarray, optional
        The raw design row of the reference profile, subtracted from every row
        (:attr:`bayessa.model.design.Design.x_reference`); zeros without numeric components.
    random_terms : tuple of str, default ()
        Every random-effect grouping factor; the first is ``cluster``.
    cuts : numpy.ndarray
        Age cut points :math:`a_0 = 0 < a_1 < \dots < a_K` (the last may be ``inf``).
    time_unit : str, default "years"
        Time scale of the cut points.
    max_exit : float, default nan
        The latest observed exit; the end of the follow-up when the last interval is open.
    """

    formula: str
    variables: tuple[str, ...]
    levels: dict[str, tuple[str, ...]]
    reference: dict[str, str]
    terms: tuple[str, ...]
    coef_names: tuple[str, ...]
    coef_levels: tuple[tuple[tuple[str, str], ...], ...]
    cluster: str | None
    cluster_levels: tuple[str, ...]
    strata: str | None
    strata_levels: tuple[str, ...]
    time_varying_coefs: tuple[str, ...]
    cuts: np.ndarray
    time_unit: str = "years"
    max_exit: float = float("nan")
    numeric: dict[str, NumericTerm] = field(default_factory=dict)
    x_reference: np.ndarray | None = None
    random_terms: tuple[str, ...] = ()

    @classmethod
    def from_datatree(cls, dt) -> DesignInfo:
        """Read the coding from a run's DataTree.

        Read the coding from a run's DataTree (attrs ``bayessa_design``, ``bayessa_cuts``,
        ``bayessa_model_info``). Runs saved before ``bayessa_design`` existed are recoded from
        the cell covariates in ``constant_data`` and the spec's formula.

        Parameters
        ----------
        dt : xarray.DataTree
            A run's DataTree.

        Returns
        -------
        DesignInfo

        Raises
        ------
        SpecError
            The attrs are missing (not a bayessa run), or the coding does not match the posterior.
        """
        attrs = dt.attrs
        missing = [a for a in ("bayessa_cuts", "bayessa_model_info") if a not in attrs]
        if missing:
            raise SpecError(
                f"the DataTree lacks the attrs {missing}; it is not a bayessa run "
                "(load runs with bayessa.load)"
            )
        info = json.loads(attrs["bayessa_model_info"])
        cuts = np.array(
            [np.inf if c == "inf" else float(c) for c in json.loads(attrs["bayessa_cuts"])]
        )
        d = json.loads(attrs["bayessa_design"]) if "bayessa_design" in attrs else _recode(dt)
        levels = {k: tuple(v) for k, v in d["levels"].items()}
        reference = {k: str(v) for k, v in d["reference"].items()}
        numeric = {k: NumericTerm.from_dict(t) for k, t in d.get("numeric", {}).items()}
        for t in numeric.values():
            reference[t.column] = f"{t.reference:.15g}"
        strata = info.get("strata")
        if strata:
            levels[strata] = tuple(info["strata_levels"])
            reference[strata] = levels[strata][0]
        post = dt["posterior"].dataset
        coef_names = tuple(d["coef_names"])
        if "coef" in post.coords and tuple(str(c) for c in post["coef"].values) != coef_names:
            raise SpecError("the design coding does not match the posterior's coef coordinate")
        return cls(
            formula=d["formula"],
            variables=tuple(d["variables"]),
            levels=levels,
            reference=reference,
            terms=tuple(d["terms"]),
            coef_names=coef_names,
            coef_levels=tuple(
                tuple((str(v), None if lv is None else str(lv)) for v, lv in c)
                for c in d["coef_levels"]
            ),
            cluster=d.get("cluster"),
            cluster_levels=tuple(d.get("cluster_levels", ())),
            strata=strata or None,
            strata_levels=tuple(info.get("strata_levels", ())),
            time_varying_coefs=tuple(info.get("time_varying_coefs", ())),
            cuts=cuts,
            time_unit=str(attrs.get("bayessa_time_unit", "years")),
            max_exit=_max_exit(dt),
            numeric=numeric,
            x_reference=np.asarray(d["x_reference"], dtype=np.float64) if numeric else None,
            random_terms=tuple(
                info.get("random_terms", [d.get("cluster")] if d.get("cluster") else [])
            ),
        )

    @property
    def categorical(self) -> tuple[str, ...]:
        """The categorical covariates (those with levels), in formula order."""
        return tuple(v for v in self.variables if v in self.levels)

    @property
    def numeric_columns(self) -> dict[str, float]:
        """Numeric data column -> its reference value, in formula order."""
        refs = {t.column: t.reference for t in self.numeric.values()}
        return {v: refs[v] for v in self.variables if v in refs}

    def column_of(self, component: str) -> str:
        """The data column of a term component (``"log(age)"`` -> ``"age"``).

        Parameters
        ----------
        component : str

        Returns
        -------
        str
        """
        return self.numeric[component].column if component in self.numeric else component

    @property
    def profile_variables(self) -> tuple[str, ...]:
        """Variables a covariate profile must give: the covariates, then the strata variable."""
        return self.variables + ((self.strata,) if self.strata else ())

    @property
    def n_intervals(self) -> int:
        """Number of age intervals."""
        return len(self.cuts) - 1

    @property
    def last_cut(self) -> float:
        """End of the modelled follow-up.

        The last cut point; when the last interval is open (``inf``), the latest observed exit
        (beyond it the model would extrapolate the last interval's hazard), or the last finite
        cut point if that is later or no exit is known.
        """
        finite = float(self.cuts[np.isfinite(self.cuts)][-1])
        if np.isfinite(self.cuts[-1]) or not np.isfinite(self.max_exit):
            return finite
        return max(finite, self.max_exit)

    def interacting(self, variable: str) -> list[str]:
        """Variables that share a fixed term with ``variable`` (its effect differs by them).

        Parameters
        ----------
        variable : str
            A covariate of the formula.

        Returns
        -------
        list of str
            In formula order; empty when ``variable`` has no interaction.
        """
        out: list[str] = []
        for term in self.terms:
            parts = [self.column_of(p) for p in term.split(":")]
            if variable in parts:
                out += [p for p in parts if p != variable and p not in out]
        return [v for v in self.variables if v in out]

    def rows(self, profiles: pd.DataFrame | Sequence[Mapping[str, str]]) -> np.ndarray:
        r"""Fixed-effect rows, ``(n, p)``, for covariate profiles (levels as text).

        .. math:: X_{rj} = \prod_{(v, \ell) \in c_j} [\, x_{r,v} = \ell \,]

        Parameters
        ----------
        profiles : DataFrame or sequence of mapping
            One profile per row: a level for every variable in :attr:`profile_variables`.

        Returns
        -------
        numpy.ndarray
            ``(n, p)`` float, in the order of :attr:`coef_names`.

        Raises
        ------
        SpecError
            A variable is missing or a level unknown.
        """
        frame = pd.DataFrame(list(profiles)) if not isinstance(profiles, pd.DataFrame) else profiles
        frame = self.complete(frame)
        self.check_profiles(frame)
        return coded_rows(self.coef_levels, self.numeric, self.x_reference, frame)

    def complete(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Profiles with each numeric column they omit set to its reference value.

        Parameters
        ----------
        frame : pandas.DataFrame

        Returns
        -------
        pandas.DataFrame
            A copy when a column was added.
        """
        absent = {c: r for c, r in self.numeric_columns.items() if c not in frame.columns}
        return frame.assign(**absent) if absent else frame

    def check_profiles(self, frame: pd.DataFrame) -> None:
        """Raise :class:`SpecError` naming missing variables and unknown levels.

        Parameters
        ----------
        frame : pandas.DataFrame
            Profiles, one per row (levels compared as text).

        Raises
        ------
        SpecError
            Listing every missing variable and unknown level.
        """
        problems = []
        for v in self.profile_variables:
            if v in self.numeric_columns:
                problems += _numeric_problems(frame, v, self.numeric)
                continue
            if v not in frame.columns:
                problems.append(f"the profiles lack '{v}'; give one of {list(self.levels[v])}")
                continue
            bad = sorted(set(frame[v].astype(str)) - set(self.levels[v]))
            if bad:
                problems.append(f"unknown level(s) {bad} of '{v}'; levels: {list(self.levels[v])}")
        if problems:
            raise SpecError(problems)

    def describe(self, profile: Mapping[str, str]) -> str:
        """``"leader = professional, era = early"`` for a profile (the variables it gives).

        Parameters
        ----------
        profile : mapping of str to str
            Variable -> level.

        Returns
        -------
        str
        """
        return ", ".join(f"{v} = {profile[v]}" for v in self.profile_variables if v in profile)


def _numeric_problems(frame: pd.DataFrame, column: str, numeric) -> list[str]:
    """Values of a numeric column that are not numbers, or outside a transform's domain."""
    if column not in frame.columns:
        return [f"the profiles lack the numeric covariate '{column}'; give a number"]
    x = pd.to_numeric(frame[column], errors="coerce")
    if (bad := ~np.isfinite(x.to_numpy(dtype=np.float64))).any():
        shown = sorted({str(v) for v in frame[column][bad]})[:5]
        return [f"'{column}' needs numbers; got {shown}"]
    out = []
    for t in (t for t in numeric.values() if t.column == column):
        out += [
            f"{p.what} (values {sorted(set(x[x.index.isin(p.ids)]))[:5]})" for p in t.problems(x)
        ]
    return out


def coded_rows(coef_levels, numeric, x_reference, frame: pd.DataFrame) -> np.ndarray:
    r"""Design rows of profiles: indicators of levels times transformed numeric values.

    .. math:: X_{rj} = \prod_{(v, \ell) \in c_j} [\, x_{r,v} = \ell \,]
        \prod_{t \in c_j\ \mathrm{numeric}} f_t(x_{r,t}) \; - \; x_{\mathrm{ref}, j}

    Parameters
    ----------
    coef_levels : sequence
        Each coefficient's ``(component, level)`` pairs (level ``None`` for numeric ones).
    numeric : mapping of str to NumericTerm
        The numeric components.
    x_reference : array_like or None
        The reference profile's raw row (``None``: zeros).
    frame : pandas.DataFrame
        One profile per row: categorical values (compared as text) and numeric values.

    Returns
    -------
    numpy.ndarray
        ``(len(frame), len(coef_levels))``.
    """
    text = {}
    X = np.ones((len(frame), len(coef_levels)))
    for j, combo in enumerate(coef_levels):
        for var, level in combo:
            if level is None:
                t = numeric[var]
                X[:, j] *= t.values(pd.to_numeric(frame[t.column]).to_numpy(np.float64))
            else:
                if var not in text:
                    text[var] = np.asarray(frame[var].map(level_label), dtype=object)
                X[:, j] *= text[var] == level
    return X - x_reference if x_reference is not None else X


def _recode(dt) -> dict:
    """Design coding of an older run, rebuilt from ``constant_data`` cell covariates."""
    import tomllib

    from bayessa.model.design import build_design

    spec = tomllib.loads(dt.attrs["bayessa_spec"])
    model = spec.get("model", {})
    const = dt["constant_data"].dataset
    cells = pd.DataFrame(
        {str(k)[5:]: const[k].to_numpy() for k in const.data_vars if str(k).startswith("cell_")}
    )
    cells["interval"] = const["interval"].to_numpy()
    design = build_design(cells, model["formula"], reference=model.get("reference") or None)
    post_names = [
        str(c) for c in dt["posterior"].dataset.coords.get("coef", xr.DataArray([])).values
    ]
    order = [design.coef_names.index(n) for n in post_names] if post_names else []
    return {
        "formula": design.formula,
        "variables": design.variables,
        "levels": design.levels,
        "reference": design.reference,
        "terms": design.terms,
        "coef_names": [design.coef_names[j] for j in order],
        "coef_levels": [design.coef_levels[j] for j in order],
        "cluster": design.random[0].name if design.random else None,
        "cluster_levels": list(design.random[0].levels) if design.random else [],
    }


def profile_log_hazard(
    posterior: xr.Dataset, info: DesignInfo, profiles: pd.DataFrame
) -> np.ndarray:
    r"""Log hazard :math:`\eta_{spk}` of each profile in each age interval, at :math:`u = 0`.

    .. math::

        \eta_{spk} = \alpha^{(s)}_{\sigma(p), k} + x_p^\top \beta^{(s)}
            + \sum_{j \in \mathrm{tv}} x_{pj} \delta^{(s)}_{jk}

    for draw :math:`s`, profile :math:`p` (stratum :math:`\sigma(p)`) and interval :math:`k`.
    Cluster effects are added by the callers (:mod:`bayessa.posterior.curves`), conditionally or
    marginally.

    Parameters
    ----------
    posterior : xarray.Dataset
        Posterior (or prior) draws of the run.
    info : DesignInfo
        The run's coding.
    profiles : pandas.DataFrame
        One covariate profile per row, with every variable of :attr:`DesignInfo.profile_variables`.

    Returns
    -------
    (n_samples, n_profiles, n_intervals) float64
    """
    P, K = len(profiles), info.n_intervals
    X = np.repeat(info.rows(profiles), K, axis=0)
    interval = np.tile(np.arange(K), P)
    stratum = None
    if info.strata:
        codes = [info.strata_levels.index(str(s)) for s in profiles[info.strata]]
        stratum = np.repeat(np.asarray(codes, dtype=np.int64), K)
    tv = [info.coef_names.index(n) for n in info.time_varying_coefs]
    eta = log_rate(posterior, interval=interval, X=X, stratum=stratum, tv_columns=tv)
    return eta.reshape(eta.shape[0], P, K)


def _max_exit(dt) -> float:
    """The units' latest exit time: from the units, or (a run fitted from cells) its attrs."""
    if "observed_data" in dt and "time" in dt["observed_data"].dataset:
        return float(dt["observed_data"]["time"].max())
    return float(json.loads(dt.attrs.get("bayessa_units", "{}")).get("max_exit", np.nan))


def unit_frame(dt) -> pd.DataFrame:
    """The units stored in a run, one row each.

    The units stored in a run: ``id``, ``entry``, ``time`` (exit), ``event`` (0/1), with
    interval censoring ``upper`` (the event lies in ``(time, upper]``; NaN when observed
    exactly or right-censored), and each unit-level covariate and the cluster (``constant_data`` variables ``unit_<name>``).

    Parameters
    ----------
    dt : xarray.DataTree
        A run's DataTree (``observed_data``, ``constant_data``).

    Returns
    -------
    pandas.DataFrame
        Categorical covariates and the cluster as text, numeric covariates as numbers; ``entry``
        0 when not stored.
    """
    const = dt["constant_data"].dataset
    obs = dt["observed_data"].dataset
    frame = pd.DataFrame(
        {
            "id": obs["unit"].to_numpy().astype(str),
            "entry": const["entry"].to_numpy().astype(float)
            if "entry" in const
            else np.zeros(obs.sizes["unit"]),
            "time": obs["time"].to_numpy().astype(float),
            "event": const["time"].to_numpy().astype(np.int64),
        }
    )
    if "time_upper" in const:  # interval censoring: the event lies in (time, upper]
        frame["upper"] = const["time_upper"].to_numpy().astype(float)
    for name in const.data_vars:
        if str(name).startswith("unit_"):
            values = const[name].to_numpy()
            frame[str(name)[5:]] = values if values.dtype.kind == "f" else values.astype(str)
    return frame


def row_frame(dt) -> pd.DataFrame | None:
    r"""The data rows of a run whose covariates change during follow-up, or None.

    One row per stretch of constant covariates (the counting-process form): ``id``, ``entry``
    (the row's start), ``time`` (its end), ``event`` (the unit's event, on its last row only)
    and each covariate's value during the row (``constant_data`` ``row_<name>``), with the
    cluster and other unit-level columns of :func:`unit_frame`. Risk sets built from these rows
    (at risk at :math:`t` when entry :math:`< t \le` time) count each unit by its *current*
    covariates.

    Parameters
    ----------
    dt : xarray.DataTree
        A run's DataTree.

    Returns
    -------
    pandas.DataFrame or None
        None when every unit has one row.
    """
    const = dt["constant_data"].dataset
    if "row_unit" not in const:
        return None
    units = unit_frame(dt)
    u = const["row_unit"].to_numpy().astype(np.int64)
    last = np.r_[u[1:] != u[:-1], True]
    frame = units.iloc[u].reset_index(drop=True)
    frame["entry"] = const["row_entry"].to_numpy().astype(float)
    frame["time"] = const["row_exit"].to_numpy().astype(float)
    frame["event"] = np.where(last, frame["event"].to_numpy(), 0)
    for name in const.data_vars:
        if str(name).startswith("row_") and name not in ("row_unit", "row_entry", "row_exit"):
            values = const[name].to_numpy()
            frame[str(name)[4:]] = values if values.dtype.kind == "f" else values.astype(str)
    return frame
