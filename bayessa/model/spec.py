"""Model specs: a TOML file <-> a validated, frozen :class:`Spec`.

A spec names everything an analysis needs: which columns hold the data, the age cut points and
calendar periods, the formula, the baseline prior, the priors and the sampler settings. Every
problem in a spec (unknown keys, wrong types, unknown prior families, bad cut points) is collected
and raised once as a :class:`~bayessa.errors.SpecError`.

Example (``models/partnership.toml``)::

    name = "partnership"
    [data]
    path = "../data/sa_groups.csv"      # relative to the spec file
    id = "group_id"
    start = "founded"
    event_date = "closed"
    censor_date = "last_contact"
    [time]
    cuts = [0, 0.5, 1, 2, 3, 5, 8, 14]
    [model]
    formula = "leader * era + setting + (1 | county)"
    baseline = "rw1"
    [priors]
    effects = { dist = "normal", mu = 0, sigma = 1 }
    [sampler]
    seed = 20251125
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from bayessa.errors import SpecError
from bayessa.model.expansion_spec import ExpansionSpec

__all__ = [
    "BASELINES",
    "DataSpec",
    "ModelSpec",
    "Prior",
    "PRIOR_FAMILIES",
    "SamplerSpec",
    "Spec",
    "TimeSpec",
    "load_spec",
]

#: Prior families and their parameters (all required, all must be finite; scales > 0).
PRIOR_FAMILIES: dict[str, tuple[str, ...]] = {
    "normal": ("mu", "sigma"),
    "student_t": ("nu", "mu", "sigma"),
    "halfnormal": ("sigma",),
    "halfstudent_t": ("nu", "sigma"),
    "exponential": ("lam",),
}
_POSITIVE = {"sigma", "nu", "lam"}
BASELINES = ("iid", "rw1", "rw2")
#: Marker for :meth:`Spec.with_overrides`: remove a field.
CLEAR = object()
SAMPLERS = ("nutpie", "pymc", "numpyro")
PARAMETERIZATIONS = ("auto", "centered", "noncentered")
ADAPTATIONS = ("auto", "diag", "low_rank")


@dataclass(frozen=True)
class Prior:
    """A prior: family name and parameters, e.g. ``Prior("normal", {"mu": 0, "sigma": 1})``.

    Parameters
    ----------
    dist : str
        A key of :data:`PRIOR_FAMILIES`.
    params : dict of str to float
        The family's parameters by name.
    """

    dist: str
    params: dict[str, float]

    def __str__(self) -> str:
        args = ", ".join(f"{k}={v:g}" for k, v in self.params.items())
        return f"{self.dist}({args})"

    def to_dict(self) -> dict[str, Any]:
        """The section as plain TOML-ready values.

        Returns
        -------
        dict
            ``{"dist": dist, **params}``.
        """
        return {"dist": self.dist, **self.params}


#: Default priors, on the log-hazard scale. See docs in README ("Priors").
DEFAULT_PRIORS: dict[str, Prior] = {
    # log hazard of the first interval (iid: of every interval); per time unit.
    "baseline_level": Prior("normal", {"mu": -2.0, "sigma": 2.0}),
    # SD of random-walk increments per unit of time (rw1, rw2); SD of slope at the start (rw2).
    "baseline_smoothing": Prior("halfnormal", {"sigma": 1.0}),
    "baseline_slope": Prior("normal", {"mu": 0.0, "sigma": 1.0}),
    # log hazard ratios: normal(0, 1) puts 95% of the mass on HR in (0.14, 7.1).
    "effects": Prior("normal", {"mu": 0.0, "sigma": 1.0}),
    # SD of cluster (county) intercepts.
    "cluster_sd": Prior("halfnormal", {"sigma": 0.5}),
    # SD of interval-specific deviations of a time-varying log hazard ratio.
    "time_varying_sd": Prior("halfnormal", {"sigma": 0.3}),
    # SD of the slope's random walk of a smooth s(x), per range of x (bayessa.model.smooth).
    "smooth_sd": Prior("halfstudent_t", {"nu": 3.0, "sigma": 1.0}),
}


@dataclass(frozen=True)
class DataSpec:
    """Where the data are and which columns play which role (see :class:`bayessa.data.Columns`).

    Covariates and the cluster are not listed here: they are read off the formula.

    Parameters
    ----------
    path : str, optional
        The data file; a relative path in a spec file is resolved against the spec's folder.
    id, time, event, start, stop, event_date, censor_date, entry, origin, tstart, tstop : str, optional
        Column names of the roles of :class:`bayessa.data.Columns` (``tstart``/``tstop``: the
        counting-process form, several rows per unit).
    time_unit : str, default "years"
        Time scale of durations, a key of :data:`bayessa.data.columns.TIME_UNITS`.
    on_invalid : {"raise", "exclude"}, default "raise"
        Raise on invalid rows, or exclude those units (listed in the audit).
    censored : str, optional
        Competing risks: the value of the ``event`` column that marks a censored unit; every
        other value is a cause of the event, and a cause-specific model is fitted per cause.
    time_lower, time_upper : str, optional
        Interval censoring (R's ``Surv(L, R, type = "interval2")``): the last time (or date,
        with ``start``) the unit was seen without the event and the first time it was seen
        with it; a blank upper bound is a right-censored unit, ``L == R`` an exact event.
    changes : dict of str to str, default {}
        The ``[data.changes]`` table: a table of covariate changes merged into the data
        (:func:`bayessa.data.changes.apply_changes`): ``path`` (relative to the spec's folder),
        ``time`` (its column of change times or dates) and ``id`` (its unit id column; default
        the data's ``id``).
    """

    path: str | None = None
    id: str | None = None
    time: str | None = None
    event: str | None = None
    start: str | None = None
    stop: str | None = None
    event_date: str | None = None
    censor_date: str | None = None
    entry: str | None = None
    origin: str | None = None
    tstart: str | None = None
    tstop: str | None = None
    censored: str | None = None
    time_lower: str | None = None
    time_upper: str | None = None
    time_unit: str = "years"
    on_invalid: str = "raise"
    changes: dict[str, str] = field(default_factory=dict)

    def columns(
        self,
        covariates: tuple[str, ...] = (),
        cluster: str | None = None,
        *,
        categorical: tuple[str, ...] = (),
        numeric: tuple[str, ...] = (),
        groups: tuple[str, ...] = (),
    ):
        """The :class:`bayessa.data.Columns` these roles describe, with covariates and cluster.

        Parameters
        ----------
        covariates : tuple of str, default ()
            Covariate columns.
        cluster : str, optional
            Cluster column.
        categorical, numeric : tuple of str, default ()
            Covariates read as categories whatever their type; covariates that must be numbers.
        groups : tuple of str, default ()
            Further grouping columns of random effects.

        Returns
        -------
        Columns
        """
        from bayessa.data.columns import Columns

        return Columns(
            id=self.id, time=self.time, event=self.event, start=self.start, stop=self.stop,
            event_date=self.event_date, censor_date=self.censor_date, entry=self.entry,
            origin=self.origin, tstart=self.tstart, tstop=self.tstop, censored=self.censored,
            time_lower=self.time_lower, time_upper=self.time_upper, covariates=tuple(covariates), cluster=cluster,
            categorical=tuple(categorical), numeric=tuple(numeric), groups=tuple(groups),
        )  # fmt: skip


@dataclass(frozen=True)
class TimeSpec:
    """Age cut points and (optional) calendar periods for the Lexis split.

    Parameters
    ----------
    cuts : tuple of float, default ()
        Age cut points from 0, strictly increasing, on the data's time scale; the last may be
        ``inf``. Empty: chosen from the data (:func:`bayessa.model.cuts.automatic_cuts`).
    administrative_censoring : bool, default False
        Censor follow-up at the last cut point (otherwise follow-up beyond it is an error).
    periods : tuple of str, default ()
        Calendar cut points (ISO 8601 dates); none: no calendar split.
    period_labels : tuple of str, default ()
        One label per calendar period (``len(periods) + 1``); default labels from the dates.
    period_name : str, default "period"
        Name of the calendar-period variable, usable in the formula.
    """

    cuts: tuple[float, ...] = ()
    administrative_censoring: bool = False
    periods: tuple[str, ...] = ()
    period_labels: tuple[str, ...] = ()
    period_name: str = "period"


@dataclass(frozen=True)
class ModelSpec:
    """The model: formula, reference levels, baseline prior, strata and time-varying effects.

    Parameters
    ----------
    formula : str
        Right-hand side, e.g. ``"leader * era + setting + (1 | county)"``; must not be empty.
    reference : dict of str to str
        Variable -> reference level (default: the first level).
    baseline : {"iid", "rw1", "rw2"}, default "rw1"
        Prior of the baseline log hazard across intervals.
    strata : str, optional
        Variable with a baseline of its own per level (not also in the formula).
    time_varying : tuple of str, default ()
        Variables whose log hazard ratios deviate per interval.
    cluster_parameterization, baseline_parameterization : {"auto", "centered", "noncentered"}
        Form of the cluster effects and of the random-walk steps (default ``"auto"``: see
        :func:`bayessa.model.pem.choose_parameterization`).
    random_parameterization : dict of str to str
        The same per further grouping factor, e.g. ``{region = "centered"}`` (default: auto);
        the first factor is the cluster (``cluster_parameterization``). Terms with random slopes
        are always non-centred.
    formulas : dict of str to str
        Competing risks: a formula of its own for some causes, e.g. ``{merged = "setting"}``
        (the others use ``formula``).
    """

    formula: str = ""
    reference: dict[str, str] = field(default_factory=dict)
    baseline: str = "rw1"
    strata: str | None = None
    time_varying: tuple[str, ...] = ()
    cluster_parameterization: str = "auto"
    baseline_parameterization: str = "auto"
    random_parameterization: dict[str, str] = field(default_factory=dict)
    formulas: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SamplerSpec:
    """Sampler settings.

    Parameters
    ----------
    backend : {"nutpie", "pymc", "numpyro"}, default "nutpie"
        The NUTS implementation.
    chains, draws, tune : int
        Chains (default 4); draws per chain after tuning (1000); tuning draws per chain (1000,
        may be 0).
    target_accept : float, default 0.9
        NUTS target acceptance rate, between 0 and 1.
    seed : int, default 20251125
        Non-negative random seed.
    cores : int, optional
        Chains run in parallel (default: the chains, at most the CPU count).
    adaptation : {"auto", "diag", "low_rank"}, default "auto"
        nutpie's mass-matrix adaptation; ``"auto"``: low-rank up to 128 parameters, diagonal
        above (:func:`bayessa.sampling.nuts.choose_adaptation`).
    ess : float, default 0
        Target minimum bulk ESS over the model's parameters (0: none). While the pooled chains
        fall short of it, or of R-hat <= 1.01, another ``chains`` chains are run with a new
        seed and pooled, up to ``max_chains`` (see :mod:`bayessa.api.pipeline`).
    max_chains : int, default 16
        The cap on chains when sampling to an ESS target.
    """

    backend: str = "nutpie"
    chains: int = 4
    draws: int = 1000
    tune: int = 1000
    target_accept: float = 0.9
    seed: int = 20251125
    cores: int | None = None
    # nutpie's mass-matrix adaptation: "low_rank" adapts to posterior correlations (baseline vs
    # effects, cluster SD vs effects) and gave ~1.5x the minimum ESS of "diag" on the bundled data.
    adaptation: str = "auto"
    ess: float = 0
    max_chains: int = 16


@dataclass(frozen=True)
class Spec:
    """A complete, validated analysis spec.

    Parameters
    ----------
    name : str, default "model"
        The analysis' name (the default run folder).
    description : str, default ""
        Free text.
    data : DataSpec
        The ``[data]`` table.
    time : TimeSpec
        The ``[time]`` table.
    model : ModelSpec
        The ``[model]`` table.
    priors : dict of str to Prior
        The ``[priors]`` table: ``baseline_level``, ``baseline_smoothing``, ``baseline_slope``,
        ``effects``, ``cluster_sd``, ``time_varying_sd``, ``smooth_sd`` (defaults for those not
        given).
    sampler : SamplerSpec
        The ``[sampler]`` table.
    source : str, optional
        The file the spec was read from, for messages.
    expansion : ExpansionSpec
        The ``[expansion]`` table (:mod:`bayessa.model.expansion_spec`): eras, window and
        composition variables of the expansion analysis.
    """

    name: str = "model"
    description: str = ""
    data: DataSpec = field(default_factory=DataSpec)
    time: TimeSpec = field(default_factory=TimeSpec)
    model: ModelSpec = field(default_factory=ModelSpec)
    priors: dict[str, Prior] = field(default_factory=lambda: dict(DEFAULT_PRIORS))
    sampler: SamplerSpec = field(default_factory=SamplerSpec)
    source: str | None = None
    expansion: ExpansionSpec = field(default_factory=ExpansionSpec)

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_dict(
        cls, d: Mapping[str, Any], *, source: str | None = None, base_dir: Path | None = None
    ) -> Spec:
        """Build and validate a spec from a (TOML-shaped) dict; every problem raised at once.

        Parameters
        ----------
        d : mapping
            Top-level keys ``name``, ``description`` and the tables ``data``, ``time``, ``model``,
            ``priors``, ``sampler``, as :func:`tomllib.loads` gives them.
        source : str, optional
            Where the dict came from, for messages.
        base_dir : Path, optional
            Folder against which a relative ``data.path`` is resolved.

        Returns
        -------
        Spec

        Raises
        ------
        SpecError
            Listing every problem (unknown keys, wrong types, invalid values).
        """
        problems: list[str] = []
        d = dict(d)
        top = {"name", "description", "data", "time", "model", "priors", "sampler", "expansion"}
        for k in sorted(set(d) - top):
            problems.append(f"unknown top-level key '{k}' (allowed: {', '.join(sorted(top))})")
        sections: dict[str, Any] = {}
        for sec_name, sec_cls in (
            ("data", DataSpec),
            ("time", TimeSpec),
            ("model", ModelSpec),
            ("sampler", SamplerSpec),
            ("expansion", ExpansionSpec),
        ):
            sections[sec_name] = _section(sec_cls, d.get(sec_name, {}), sec_name, problems)
        priors = dict(DEFAULT_PRIORS)
        raw_priors = d.get("priors", {})
        if not isinstance(raw_priors, Mapping):
            problems.append("[priors] must be a table of name = { dist = ..., ... }")
            raw_priors = {}
        for k, v in raw_priors.items():
            p = _prior(k, v, problems)
            if p is not None:
                priors[k] = p
        if base_dir is not None and sections["data"] is not None and sections["data"].path:
            p = Path(sections["data"].path)
            if not p.is_absolute():
                sections["data"] = replace(sections["data"], path=str((base_dir / p).resolve()))
        changes = sections["data"].changes if sections["data"] is not None else {}
        if base_dir is not None and changes.get("path") and not Path(changes["path"]).is_absolute():
            changes = {**changes, "path": str((base_dir / changes["path"]).resolve())}
            sections["data"] = replace(sections["data"], changes=changes)
        spec = None
        if not problems:
            spec = cls(
                name=str(d.get("name", "model")),
                description=str(d.get("description", "")),
                priors=priors,
                source=source,
                **sections,
            )
            problems.extend(spec._semantic_problems())
        if problems:
            raise SpecError(problems, source=source)
        assert spec is not None
        return spec

    def _semantic_problems(self) -> list[str]:
        p: list[str] = self.expansion.problems()
        m, t, s, dd = self.model, self.time, self.sampler, self.data
        if not m.formula.strip():
            p.append(
                '[model] formula is empty; give one, e.g. formula = "leader * era + (1 | county)"'
            )
        if m.baseline not in BASELINES:
            p.append(f"[model] baseline = '{m.baseline}' is not one of {list(BASELINES)}")
        if m.baseline_parameterization not in PARAMETERIZATIONS:
            p.append(
                f"[model] baseline_parameterization = '{m.baseline_parameterization}' is not one of {list(PARAMETERIZATIONS)}"
            )
        if m.cluster_parameterization not in PARAMETERIZATIONS:
            p.append(
                f"[model] cluster_parameterization = '{m.cluster_parameterization}' is not one of {list(PARAMETERIZATIONS)}"
            )
        for g, form in m.random_parameterization.items():
            if form not in PARAMETERIZATIONS:
                p.append(
                    f"[model] random_parameterization {g} = '{form}' is not one of {list(PARAMETERIZATIONS)}"
                )
        cuts = t.cuts
        if len(cuts) == 0:
            pass  # chosen from the data when the data are read
        elif len(cuts) < 2:
            p.append(f"[time] cuts needs at least two cut points, got {list(cuts)}")
        elif any(not math.isfinite(c) for c in cuts[:-1]) or any(math.isnan(c) for c in cuts):
            p.append(f"[time] cuts must be finite (only the last may be inf), got {list(cuts)}")
        elif cuts[0] != 0:
            p.append(f"[time] cuts must start at 0, got {list(cuts)}")
        elif any(b <= a for a, b in zip(cuts[:-1], cuts[1:], strict=False)):
            p.append(
                f"[time] cuts must be strictly increasing (sorted, no duplicates, none negative), got {list(cuts)}"
            )
        if t.period_labels and len(t.period_labels) != len(t.periods) + 1:
            p.append(
                f"[time] {len(t.periods)} periods need {len(t.periods) + 1} period_labels, got {len(t.period_labels)}"
            )
        if s.backend not in SAMPLERS:
            p.append(f"[sampler] backend = '{s.backend}' is not one of {list(SAMPLERS)}")
        for k in ("chains", "draws", "tune"):
            v = getattr(s, k)
            if v < (0 if k == "tune" else 1):
                p.append(f"[sampler] {k} must be a positive integer, got {v}")
        if s.adaptation not in ADAPTATIONS:
            p.append(f"[sampler] adaptation = '{s.adaptation}' is not one of {list(ADAPTATIONS)}")
        if not 0 < s.target_accept < 1:
            p.append(f"[sampler] target_accept must be between 0 and 1, got {s.target_accept}")
        if s.seed < 0:
            p.append(f"[sampler] seed must be a non-negative integer, got {s.seed}")
        if not s.ess >= 0:
            p.append(f"[sampler] ess must be 0 (no target) or a positive ESS, got {s.ess}")
        if s.max_chains < s.chains:
            p.append(f"[sampler] max_chains ({s.max_chains}) must be at least chains ({s.chains})")
        from bayessa.data.columns import TIME_UNITS

        if dd.time_unit not in TIME_UNITS:
            p.append(f"[data] time_unit = '{dd.time_unit}' is not one of {sorted(TIME_UNITS)}")
        if dd.on_invalid not in ("raise", "exclude"):
            p.append(f"[data] on_invalid = '{dd.on_invalid}' must be 'raise' or 'exclude'")
        if unknown := sorted(set(dd.changes) - {"path", "id", "time"}):
            p.append(f"[data.changes] has unknown key(s) {unknown} (allowed: path, id, time)")
        if dd.changes and "time" not in dd.changes:
            p.append(
                '[data.changes] needs time = "<column>" (--change-time COL; change_time=...), the change table\'s column of change '
                "times (durations since each unit's time zero) or dates"
            )
        return p

    def with_overrides(self, **changes: Any) -> Spec:
        """A new validated spec with ``section__field=value`` changes (e.g. ``sampler__draws=500``).

        ``None`` leaves a field as it is; :data:`CLEAR` removes it (back to its default).

        Parameters
        ----------
        **changes
            ``section__field=value``, or ``section=value`` for a whole table (e.g. ``priors``).

        Returns
        -------
        Spec

        Raises
        ------
        SpecError
            The changed spec is invalid.
        """
        d = self.to_dict()
        for key, value in changes.items():
            if value is None:
                continue
            sec, _, name = key.partition("__")
            if value is CLEAR:
                d.get(sec, {}).pop(name, None)
                continue
            if not name:
                d[sec] = value
            else:
                d.setdefault(sec, {})[name] = value
        return Spec.from_dict(d, source=self.source)

    # ------------------------------------------------------------------ output

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain TOML-ready values, section by section.

        Returns
        -------
        dict
            ``name``, ``description`` and a dict per table; tuples become lists, None fields are
            left out.
        """
        out: dict[str, Any] = {"name": self.name, "description": self.description}
        for sec in ("data", "time", "model", "sampler", "expansion"):
            out[sec] = {
                k: (list(v) if isinstance(v, tuple) else v)
                for k, v in asdict(getattr(self, sec)).items()
                if v is not None
            }
        out["priors"] = {k: v.to_dict() for k, v in self.priors.items()}
        return out

    def to_json(self) -> str:
        """The spec as JSON text.

        Returns
        -------
        str
            :meth:`to_dict` as JSON with sorted keys (``inf`` as ``"inf"``).
        """
        return json.dumps(self.to_dict(), sort_keys=True, default=_json_default)

    def to_toml(self) -> str:
        """TOML text that :func:`load_spec` reads back into an equal spec.

        Returns
        -------
        str
        """
        d = self.to_dict()
        lines = [
            f"name = {_toml_value(d['name'])}",
            f"description = {_toml_value(d['description'])}",
        ]
        for sec in ("data", "time", "model", "priors", "sampler", "expansion"):
            if sec == "expansion" and not d[sec].get("era_cuts") and d[sec] == _DEFAULT_EXPANSION:
                continue  # no [expansion] table given
            lines.append(f"\n[{sec}]")
            for k, v in d[sec].items():
                lines.append(f"{k} = {_toml_value(v)}")
        return "\n".join(lines) + "\n"


_DEFAULT_EXPANSION = {
    k: (list(v) if isinstance(v, tuple) else v)
    for k, v in asdict(ExpansionSpec()).items()
    if v is not None
}


def _json_default(o: Any) -> Any:
    if isinstance(o, float) and math.isinf(o):
        return "inf"
    raise TypeError(f"not JSON serialisable: {o!r}")


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "inf" if v == math.inf else repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {v!r} as TOML")


def _coerce(value: Any, typ: Any, key: str, problems: list[str]) -> Any:
    """Check and coerce one value against a dataclass field type (as a string annotation)."""
    t = str(typ)
    if value is None:
        if "None" in t:
            return None
        problems.append(f"{key} must not be empty")
        return None
    if t.startswith("tuple[float"):
        if not isinstance(value, (list, tuple)) or not all(
            isinstance(x, (int, float)) and not isinstance(x, bool) for x in value
        ):
            problems.append(f"{key} must be a list of numbers, got {value!r}")
            return None
        return tuple(float(x) for x in value)
    if t.startswith("tuple[str"):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)) or not all(isinstance(x, str) for x in value):
            problems.append(f"{key} must be a list of strings, got {value!r}")
            return None
        return tuple(value)
    if t.startswith("dict[str, str]"):  # a number is a numeric covariate's reference value
        ok = (str,) if key != "[model] reference" else (str, int, float)
        if not isinstance(value, Mapping) or not all(
            isinstance(x, ok) and not isinstance(x, bool) for x in value.values()
        ):
            problems.append(f'{key} must be a table of name = "level", got {value!r}')
            return None
        return {k: v if isinstance(v, str) else str(v) for k, v in value.items()}
    if t.startswith("bool"):
        if not isinstance(value, bool):
            problems.append(f"{key} must be true or false, got {value!r}")
        return value
    if t.startswith("int"):
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{key} must be an integer, got {value!r}")
        return value
    if t.startswith("float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f"{key} must be a number, got {value!r}")
            return None
        return float(value)
    if t.startswith("str"):
        if not isinstance(value, str):
            problems.append(f"{key} must be a string, got {value!r}")
        return value or (None if "None" in t else value)
    return value


def _section(cls: type, raw: Any, name: str, problems: list[str]) -> Any:
    if not isinstance(raw, Mapping):
        problems.append(f"[{name}] must be a table")
        return cls()
    known = {f.name: f for f in fields(cls)}
    kwargs = {}
    for k, v in raw.items():
        if k not in known:
            problems.append(f"unknown key '{k}' in [{name}] (allowed: {', '.join(known)})")
            continue
        n_before = len(problems)
        val = _coerce(v, known[k].type, f"[{name}] {k}", problems)
        if len(problems) == n_before and val is not None:
            kwargs[k] = val
    return cls(**kwargs)


def _prior(name: str, raw: Any, problems: list[str]) -> Prior | None:
    if name not in DEFAULT_PRIORS:
        problems.append(
            f"unknown prior '{name}' in [priors] (allowed: {', '.join(DEFAULT_PRIORS)})"
        )
        return None
    if not isinstance(raw, Mapping) or "dist" not in raw:
        problems.append(
            f"prior '{name}' must be a table with a dist, e.g. {{ dist = \"normal\", mu = 0, sigma = 1 }}"
        )
        return None
    dist = raw["dist"]
    if dist not in PRIOR_FAMILIES:
        problems.append(
            f"prior '{name}': unknown family '{dist}' (known: {', '.join(PRIOR_FAMILIES)})"
        )
        return None
    need = PRIOR_FAMILIES[dist]
    params = {k: v for k, v in raw.items() if k != "dist"}
    missing = [k for k in need if k not in params]
    extra = [k for k in params if k not in need]
    if missing or extra:
        problems.append(
            f"prior '{name}' ({dist}) needs parameters {list(need)}; missing {missing}, unexpected {extra}"
        )
        return None
    if name in ("baseline_smoothing", "cluster_sd", "time_varying_sd", "smooth_sd") and dist in (
        "normal",
        "student_t",
    ):
        problems.append(
            f"prior '{name}' is a standard deviation: use a positive family (halfnormal, halfstudent_t, exponential), not {dist}"
        )
        return None
    for k, v in params.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            problems.append(f"prior '{name}': {k} must be a finite number, got {v!r}")
            return None
        if k in _POSITIVE and v <= 0:
            problems.append(f"prior '{name}': {k} must be > 0, got {v!r}")
            return None
    return Prior(dist, {k: float(params[k]) for k in need})


def load_spec(path: str | Path) -> Spec:
    """Read and validate a TOML model spec; relative data paths are resolved against its folder.

    Parameters
    ----------
    path : str or Path
        A ``.toml`` model spec.

    Returns
    -------
    Spec

    Raises
    ------
    SpecError
        The file is missing, unreadable or not TOML, or the spec is invalid.
    """
    path = Path(path)
    if path.is_dir():
        raise SpecError(
            f"'{path}' is a directory; give the path of a .toml model spec", source=str(path)
        )
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(
            f"model spec '{path}' does not exist; see models/ for examples", source=str(path)
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        raise SpecError(f"model spec '{path}' could not be read: {err}", source=str(path)) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise SpecError(f"not valid TOML: {err}", source=str(path)) from None
    return Spec.from_dict(raw, source=str(path), base_dir=path.parent)
