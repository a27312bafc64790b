r"""The bundled study-like data set: synthetic Schizophrenics Anonymous (SA) groups in Michigan.

**Synthetic.** These are not the study's data. The generator mirrors the published outline of the
account (SA began in the Detroit area in July 1985; groups across Michigan followed for 14 years;
a partnership with the Mental Health Association in Michigan (MHAM) after which more groups met in
mental-health settings and more were led by professionals; professional-led groups closed sooner).
Everything else (era boundaries, founding rates, probabilities, hazards, county effects) is
assumed and documented in ``data/README.md``.

The groups' changes of leader type (``data/sa_leadership_changes.csv``) are drawn afterwards by
:func:`make_leadership_changes`, independently of the closure times: the closure hazard depends on
the leader *at founding*, not on the current leader (see ``data/README.md`` for what a model of
the current leader then finds).

Model (time scale: years since founding, 1 year = 365.25 days):

.. math::

    \log \lambda_i(t) = \alpha_{k(t)} + \beta_{\text{prof}} [\text{leader}_i = \text{professional}]
        + \beta_{\text{mh}} [\text{setting}_i = \text{mental\_health}] + \beta_{\text{era}_i}
        + \beta_{\text{prof:formal}} [\text{professional and formal}] + u_{\text{county}(i)},

with :math:`u_c \sim \mathcal N(0, 0.3^2)`, administrative censoring at 1999-06-30 and independent
exponential loss to follow-up. Era is the partnership era *at founding* (fixed per group).

``founding_year`` is the founding date as a decimal calendar year,

.. math::

    \text{founding\_year} = Y + \frac{d - 1}{D_Y}, \quad \text{rounded to 2 decimals},

for a group founded on day :math:`d` (1 = 1 January) of year :math:`Y`, which has :math:`D_Y`
(365 or 366) days: 1985-07-01 is 1985.50, 1989-01-01 is 1989.00, and, by the rounding,
31 December already reads as the next year (1996-12-31 is 1997.00); 0.01 is about 3.7 days. It is
computed from ``founded`` and draws nothing, so every other column (and the truth) is what it was
before the column was added. **It has no effect of its own in the simulation truth**: the hazard depends on the founding
date only through ``era`` (a step function of ``founded`` at the :data:`ERA_CUTS`) and does not
depend on the calendar period at all. A fitted ``s(founding_year)`` (``models/founding_trend.toml``)
should therefore be flat apart from the era steps (log HR -0.10 from 1989, -0.20 from 1993, for
consumer-led groups) -- an honest example of a smooth that finds little.

Every closure has a reason (``closure_reason``): ``folded`` (the group stopped meeting), ``merged``
(it joined another group) or ``lost_venue`` (it lost its meeting place), drawn *given the closure*
with probabilities :math:`p_r(\text{leader}_i, \text{setting}_i)` (:data:`CLOSURE_REASON_PROBS`),
independently of the closure time. The cause-specific hazards are then

.. math::

    \lambda_{ir}(t) = p_r(\text{leader}_i, \text{setting}_i)\, \lambda_i(t),

and the probabilities are chosen multiplicative in leader and setting
(:math:`p_r(l, s) = p_r(\text{ref}) \, a_r^{[l = \text{prof}]} \, b_r^{[s = \text{mh}]}`,
:data:`CLOSURE_REASON_FACTORS`), so each cause's log hazard has the form of the overall model: the
same era, interaction and county effects, baseline :math:`\lambda_0(t) p_r(\text{ref})`, and
hazard ratios :math:`2 a_r` (professional) and :math:`1.2 b_r` (mental-health setting). The reasons
come from their own stream (the first child of the seed's ``SeedSequence``, drawn after everything
else), so every other column is what it was before the reasons were added. ``outcome`` is the
reason, or ``censored`` for groups without a closure: with ``last_contact`` as the stop date it is
the competing-risks form of the data (``models/closure_reasons.toml``).

The groups are contacted about once a year, on the anniversaries of their founding
(:math:`\lfloor 365.25\, j \rfloor` days after it, :math:`j = 1, 2, \dots`), each contact moved by
a whole number of days drawn uniformly from :math:`[-60, 60]` (:data:`CONTACT_INTERVAL_DAYS`,
:data:`CONTACT_JITTER_DAYS`); the end of follow-up, 1999-06-30, is a final contact. A closure is
then known only to lie between two contacts:

.. math::

    \text{closed}_i \in (\text{last\_seen\_meeting}_i,\ \text{first\_found\_closed}_i],

with ``last_seen_meeting`` the last contact before the closure (the founding date, the group's
first meeting, if none) and ``first_found_closed`` the first contact on or after it. A group
without a closure has ``last_seen_meeting = last_contact`` (its censoring date) and no
``first_found_closed``: the two columns alone, with ``founded``, are the interval-censored form
of the data (``models/interval_closure.toml``). The contacts come from their own stream (the
second child of the seed's ``SeedSequence``, drawn after the reasons), so every other column is
what it was before they were added.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from bayessa.simulate.pem import AtOrigin, Given, Seed, as_generator, simulate_pem

__all__ = [
    "CLOSURE_REASONS",
    "CONTACT_INTERVAL_DAYS",
    "CONTACT_JITTER_DAYS",
    "CLOSURE_REASON_FACTORS",
    "CLOSURE_REASON_PROBS",
    "COLUMNS",
    "ERA_CUTS",
    "N_GROUPS",
    "STUDY_END",
    "STUDY_START",
    "LEADER_CHANGE_RATE",
    "make_leadership_changes",
    "make_sa_groups",
    "write_leadership_changes",
    "write_sa_groups",
    "write_sa_groups_dataset",
]

STUDY_START = "1985-07-01"  # SA began in the Detroit area in July 1985
STUDY_END = "1999-06-30"  # 14 years of follow-up
LAST_FOUNDING = "1999-03-31"  # assumed: no group founded in the last quarter is in the registry
#: Assumed partnership eras (at founding): before MHAM, early partnership, formal partnership.
ERA_CUTS = ("1989-01-01", "1993-01-01")
ERA_LABELS = ("before", "early", "formal")
#: Assumed founding rate per year in each era, relative to "before" (growth after the partnership).
FOUNDING_RATE = {"before": 1.5, "early": 2.5, "formal": 3.0}
N_GROUPS = 360
CUTS = (0.0, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 14.0)
#: Closure hazard per year of a consumer-led community group founded before the partnership.
BASELINE_HAZARD = (0.30, 0.22, 0.16, 0.12, 0.09, 0.07, 0.05)
EFFECTS = {
    "leader[professional]": float(np.log(2.0)),
    "setting[mental_health]": float(np.log(1.2)),
    "era[early]": -0.10,
    "era[formal]": -0.20,
    "leader[professional]:era[formal]": 0.10,
}
COUNTY_SD = 0.3
#: Assumed hazard per year of a change of leader type, by (leader at founding, setting): consumer-led
#: groups are taken over by a professional, professional-led groups hand over to consumers. At most
#: one change per group; drawn independently of the closure times (``make_leadership_changes``).
LEADER_CHANGE_RATE = {
    ("consumer", "community"): 0.05,
    ("consumer", "mental_health"): 0.15,
    ("professional", "community"): 0.04,
    ("professional", "mental_health"): 0.04,
}
LOSS_TO_FOLLOW_UP = 0.02  # per year, counted from founding
#: Real Michigan counties with assumed relative numbers of groups (Detroit area heaviest).
COUNTIES = {
    "Wayne": 60, "Oakland": 38, "Macomb": 28, "Kent": 20, "Washtenaw": 16, "Genesee": 16,
    "Ingham": 14, "Kalamazoo": 12, "Saginaw": 9, "Ottawa": 8, "Muskegon": 8, "Jackson": 7,
    "Berrien": 7, "Calhoun": 7, "Monroe": 6, "St. Clair": 6, "Livingston": 5, "Bay": 5,
    "Lenawee": 4, "Midland": 4, "Eaton": 4, "Allegan": 4, "Grand Traverse": 4, "Marquette": 4,
    "Isabella": 3, "Shiawassee": 3, "Lapeer": 3, "Van Buren": 3, "Hillsdale": 2, "Branch": 2,
    "St. Joseph": 2, "Clinton": 2, "Ionia": 2, "Montcalm": 2, "Tuscola": 2, "Alpena": 2,
    "Chippewa": 2, "Houghton": 2, "Mecosta": 2, "Delta": 2,
}  # fmt: skip
SETTING = Given(
    "era",
    {
        "before": {"community": 0.75, "mental_health": 0.25},
        "early": {"community": 0.55, "mental_health": 0.45},
        "formal": {"community": 0.40, "mental_health": 0.60},
    },
)
LEADER = Given(
    ("era", "setting"),
    {
        ("before", "community"): {"consumer": 0.90, "professional": 0.10},
        ("before", "mental_health"): {"consumer": 0.65, "professional": 0.35},
        ("early", "community"): {"consumer": 0.80, "professional": 0.20},
        ("early", "mental_health"): {"consumer": 0.50, "professional": 0.50},
        ("formal", "community"): {"consumer": 0.75, "professional": 0.25},
        ("formal", "mental_health"): {"consumer": 0.40, "professional": 0.60},
    },
)
SETTING_TYPE = Given(
    "setting",
    {
        "community": {"church": 0.45, "community_center": 0.30, "library": 0.25},
        "mental_health": {
            "community_mental_health_center": 0.45,
            "clubhouse_drop_in": 0.25,
            "hospital": 0.15,
            "residential": 0.15,
        },
    },
)
#: Reasons for a closure: the group stopped meeting, joined another group, lost its meeting place.
CLOSURE_REASONS = ("folded", "merged", "lost_venue")
#: Assumed probabilities of each reason given a closure, for a consumer-led community group
#: (``"ref"``), and the factors by which a professional leader (``"professional"``) and a
#: mental-health setting (``"mental_health"``) multiply them. The factors are chosen so that the
#: probabilities of every (leader, setting) sum to one (:data:`CLOSURE_REASON_PROBS`): consumer-led
#: groups fold more often, professional-led ones merge or lose their room more; mental-health
#: settings rarely lose their venue and merge more.
CLOSURE_REASON_FACTORS = {
    "ref": {"folded": 0.50, "merged": 0.25, "lost_venue": 0.25},
    "professional": {"folded": 0.6, "merged": 1.4, "lost_venue": 1.4},
    "mental_health": {"folded": 1.0, "merged": 1.6, "lost_venue": 0.4},
}
#: Probability of each closure reason given a closure, by (leader, setting).
CLOSURE_REASON_PROBS = {
    (leader, setting): {
        r: round(
            CLOSURE_REASON_FACTORS["ref"][r]
            * (CLOSURE_REASON_FACTORS["professional"][r] if leader == "professional" else 1.0)
            * (CLOSURE_REASON_FACTORS["mental_health"][r] if setting == "mental_health" else 1.0),
            12,
        )
        for r in CLOSURE_REASONS
    }
    for leader in ("consumer", "professional")
    for setting in ("community", "mental_health")
}
CENSORED = "censored"  # the outcome of a group without a closure
#: Assumed contact schedule: every group is contacted on the anniversaries of its founding, j x
#: 365.25 days after it (rounded down), j = 1, 2, ..., each contact moved by a whole number of
#: days drawn uniformly from [-CONTACT_JITTER_DAYS, CONTACT_JITTER_DAYS]; the end of follow-up is
#: a final contact. A closure is known only to lie between two contacts.
CONTACT_INTERVAL_DAYS = 365.25
#: Largest shift of a contact from its anniversary, in days (see :data:`CONTACT_INTERVAL_DAYS`).
CONTACT_JITTER_DAYS = 60
COLUMNS = (
    "group_id", "county", "founded", "closed", "last_contact",
    "leader", "setting", "setting_type", "era", "founding_year",
    "closure_reason", "outcome", "last_seen_meeting", "first_found_closed",
)  # fmt: skip
_DAY = 365.25  # days per year on the analysis time scale
_EPOCH = np.datetime64("1970-01-01", "D")


def _days(date: str) -> int:
    """Days since 1970-01-01."""
    return int((np.datetime64(date, "D") - _EPOCH).astype(np.int64))


def _founding_days(rng: np.random.Generator, n: int) -> np.ndarray:
    """Founding day (integer days since 1970) from a piecewise-constant rate over the eras."""
    edges = np.array([_days(STUDY_START), *map(_days, ERA_CUTS), _days(LAST_FOUNDING) + 1])
    weight = np.diff(edges) * np.array([FOUNDING_RATE[e] for e in ERA_LABELS])
    era = np.searchsorted(np.cumsum(weight) / weight.sum(), rng.random(n), side="right")
    era = np.minimum(era, len(ERA_LABELS) - 1)  # guard against rounding in the cumulative sum
    return edges[era] + np.floor(rng.random(n) * (edges[era + 1] - edges[era])).astype(np.int64)


def _decimal_year(days: np.ndarray) -> np.ndarray:
    """Calendar year plus the elapsed fraction of it, ``Y + (day of year - 1) / days in Y``.

    Rounded to 2 decimals. No value is a rounding tie (a tie would need ``(d - 1) / D_Y`` to end
    in 5 at the third decimal, which no denominator 365 or 366 allows), so the rounding is exact.
    """
    date = _EPOCH + np.asarray(days, dtype=np.int64).astype("timedelta64[D]")
    year = date.astype("datetime64[Y]")
    start = year.astype("datetime64[D]")
    length = ((year + np.timedelta64(1, "Y")).astype("datetime64[D]") - start).astype(np.int64)
    elapsed = (date - start).astype(np.int64)
    return np.round(year.astype(np.int64) + 1970 + elapsed / length, 2)


def _iso(days: np.ndarray) -> np.ndarray:
    """ISO date strings (object array); each distinct day is formatted once."""
    uniq, inverse = np.unique(days, return_inverse=True)
    text = np.datetime_as_string(_EPOCH + uniq.astype("timedelta64[D]"), unit="D")
    return text.astype(object)[inverse]


def _closure_reasons(rng: np.random.Generator, leader, setting, closed: np.ndarray):
    """Each row's closure reason (None without a closure) and outcome; one uniform per row."""
    u = rng.random(len(closed))
    reason = np.empty(len(closed), dtype=object)
    pairs = np.array([f"{a}|{b}" for a, b in zip(leader, setting, strict=True)], dtype=object)
    for (lead, sett), probs in CLOSURE_REASON_PROBS.items():
        rows = pairs == f"{lead}|{sett}"
        cum = np.cumsum([probs[r] for r in CLOSURE_REASONS])
        pick = np.minimum(np.searchsorted(cum / cum[-1], u[rows], side="right"), len(cum) - 1)
        reason[rows] = np.asarray(CLOSURE_REASONS, dtype=object)[pick]
    reason = np.where(closed, reason, None)
    outcome = np.where(closed, reason, CENSORED)
    return (
        pd.Categorical(reason, categories=list(CLOSURE_REASONS)),
        pd.Categorical(outcome, categories=[CENSORED, *CLOSURE_REASONS]),
    )


def _n_contacts() -> int:
    """Anniversary contacts drawn per group: enough for the longest follow-up, with the jitter."""
    longest = _days(STUDY_END) - _days(STUDY_START) + CONTACT_JITTER_DAYS
    return int(np.ceil(longest / CONTACT_INTERVAL_DAYS))


def _contact_dates(
    rng: np.random.Generator, founded: np.ndarray, stop: np.ndarray, closed: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``last_seen_meeting`` and ``first_found_closed`` (day numbers; -1 = none).

    One jitter per anniversary contact and row (:func:`_n_contacts` per row, row-major), drawn
    for every row whatever its follow-up. ``stop`` is the closure day of a closed group.
    """
    k = _n_contacts()
    jitter = rng.integers(-CONTACT_JITTER_DAYS, CONTACT_JITTER_DAYS + 1, size=(len(founded), k))
    offset = np.floor(np.arange(1, k + 1) * CONTACT_INTERVAL_DAYS).astype(np.int64)
    contact = founded[:, None] + offset[None, :] + jitter
    end = _days(STUDY_END)
    seen = np.where(contact < stop[:, None], contact, founded[:, None]).max(axis=1)
    found = np.minimum(np.where(contact >= stop[:, None], contact, end).min(axis=1), end)
    return np.where(closed, seen, stop), np.where(closed, found, -1)


def make_sa_groups(
    *,
    seed: Seed,
    n_groups: int = N_GROUPS,
    county_effects: dict[str, float] | None = None,
    first_id: int = 1,
) -> tuple[pd.DataFrame, dict]:
    r"""Simulate the synthetic SA-groups table (event-and-censoring-date form) and its truth.

    Parameters
    ----------
    seed : int or numpy.random.Generator
        Randomness source (the bundled file uses the seed given in ``data/README.md``).
    n_groups : int
        Groups founded between 1985-07-01 and 1999-03-31 (default 360).
    county_effects : dict, optional
        The counties' log-hazard effects, instead of drawing them (the partitions of a large
        data set share one set: :func:`write_sa_groups_dataset`).
    first_id : int, default 1
        Number of the first group (``SA0001``); later partitions continue the numbering.

    Returns
    -------
    frame : DataFrame
        Columns :data:`COLUMNS`, one row per group, ordered by founding date; dates are ISO strings
        (``closed`` is missing for groups without a recorded closure), ``founding_year`` is a float
        (the founding date as a decimal year, see the module docstring), the other columns are
        Categoricals (reference level first): ``closure_reason`` (missing without a closure) and
        ``outcome`` (the reason, or ``censored``) are drawn last, from their own stream (module
        docstring), and after them the contact dates ``last_seen_meeting`` and
        ``first_found_closed`` (ISO dates; the latter missing without a closure), from another. Read it with
        ``Columns(id="group_id", start="founded", event_date="closed",
        censor_date="last_contact", covariates=("leader", "setting", "era"), cluster="county")``.
    truth : dict
        JSON-serialisable: :meth:`bayessa.simulate.Truth.to_dict` plus the study constants.

    Notes
    -----
    Event and censoring times are simulated in continuous time (years, founding day on the
    calendar scale :math:`o_i = \text{day}_i / 365.25`) and rounded to whole days, at least one day
    after founding, so durations read back differ from the simulated ones by under a day.
    """
    rng = as_generator(seed)
    end = _days(STUDY_END) / _DAY
    sim = simulate_pem(
        n_groups,
        cuts=CUTS,
        log_baseline=np.log(BASELINE_HAZARD),
        covariates={
            "era": AtOrigin(cuts=tuple(_days(d) / _DAY for d in ERA_CUTS), labels=ERA_LABELS),
            "setting": SETTING,
            "leader": LEADER,
            "setting_type": SETTING_TYPE,
        },
        effects=EFFECTS,
        calendar=lambda r, n: _founding_days(r, n) / _DAY,
        clusters=COUNTIES,
        cluster_sd=COUNTY_SD,
        cluster_name="county",
        censoring_rate=LOSS_TO_FOLLOW_UP,
        study_end=end,
        cluster_effects=county_effects,
        seed=rng,
    )
    f = sim.frame
    founded = np.rint(f["origin"].to_numpy() * _DAY).astype(np.int64)
    stop = np.clip(
        founded + np.maximum(np.rint(f["time"].to_numpy() * _DAY), 1).astype(np.int64),
        None,
        _days(STUDY_END),
    )
    closed = f["event"].to_numpy() == 1
    order = np.lexsort((np.arange(len(f)), founded))  # by founding date, ties in simulation order
    founded, stop, closed = founded[order], stop[order], closed[order]
    out = pd.DataFrame(
        {
            "group_id": [f"SA{j:04d}" for j in range(first_id, first_id + len(f))],
            "county": f["county"].array.take(order),
            "founded": _iso(founded),
            "closed": np.where(closed, _iso(stop), None),
            "last_contact": _iso(stop),
            **{c: f[c].array.take(order) for c in ("leader", "setting", "setting_type", "era")},
            "founding_year": _decimal_year(founded),
        }
    )
    # Drawn last and from child streams (SeedSequence(seed).spawn(2) for an integer seed; the
    # first is what spawn(1)[0] was before the contacts): the columns above, and the caller's
    # generator, are what they were without the reasons and the contacts.
    reasons_rng, contacts_rng = rng.spawn(2)
    out["closure_reason"], out["outcome"] = _closure_reasons(
        reasons_rng, out["leader"], out["setting"], closed
    )
    seen, found = _contact_dates(contacts_rng, founded, stop, closed)
    out["last_seen_meeting"] = _iso(seen)
    out["first_found_closed"] = np.where(closed, _iso(found), None)
    out = out[list(COLUMNS)]
    truth = {
        "synthetic": True,
        "description": "Synthetic SA self-help groups in Michigan (NOT the study data)",
        "seed": seed if isinstance(seed, int) else None,
        "n_groups": n_groups,
        "time_unit": "years (365.25 days) since founding",
        "study_start_date": STUDY_START,
        "study_end_date": STUDY_END,
        "last_founding": LAST_FOUNDING,
        "era_cuts": list(ERA_CUTS),
        "era_labels": list(ERA_LABELS),
        "founding_rate": FOUNDING_RATE,
        "baseline_hazard": list(BASELINE_HAZARD),
        "hazard_ratios": {k: float(np.exp(v)) for k, v in EFFECTS.items()},
        "loss_to_follow_up_rate": LOSS_TO_FOLLOW_UP,
        **sim.truth.to_dict(),
        "closure_reasons": _closure_reason_truth(),
        "contacts": _contact_truth(),
    }
    return out, truth


def _contact_truth() -> dict:
    """The contact schedule and how the two contact-date columns follow from it."""
    return {
        "schedule": (
            "each group is contacted on the anniversaries of its founding, floor(j * 365.25) days "
            "after it (j = 1, 2, ...), each contact moved by a whole number of days drawn "
            "uniformly from [-jitter_days, jitter_days]; the end of follow-up is a final contact"
        ),
        "interval_days": CONTACT_INTERVAL_DAYS,
        "jitter_days": CONTACT_JITTER_DAYS,
        "final_contact": STUDY_END,
        "contacts_drawn_per_group": _n_contacts(),
        "stream": (
            "SeedSequence(seed).spawn(2)[1], contacts_drawn_per_group integers per group, "
            "in row order"
        ),
        "last_seen_meeting": (
            "closed groups: the last contact before the closure date, or the founding date if "
            "none; other groups: last_contact"
        ),
        "first_found_closed": (
            "closed groups: the first contact on or after the closure date (at the latest the "
            "end of follow-up); other groups: blank"
        ),
        "closure_in": "(last_seen_meeting, first_found_closed] for closed groups",
    }


def _closure_reason_truth() -> dict:
    """The closure reasons' mechanism and the cause-specific truth it implies (JSON-serialisable)."""
    ref, prof, mh = (CLOSURE_REASON_FACTORS[k] for k in ("ref", "professional", "mental_health"))
    causes = {}
    for r in CLOSURE_REASONS:
        log_hr = dict(EFFECTS)
        log_hr["leader[professional]"] += float(np.log(prof[r]))
        log_hr["setting[mental_health]"] += float(np.log(mh[r]))
        causes[r] = {
            "baseline_hazard": [round(h * ref[r], 12) for h in BASELINE_HAZARD],
            "log_baseline": [float(np.log(h) + np.log(ref[r])) for h in BASELINE_HAZARD],
            "effects": log_hr,
            "hazard_ratios": {k: float(np.exp(v)) for k, v in log_hr.items()},
        }
    return {
        "reasons": list(CLOSURE_REASONS),
        "censored_value": CENSORED,
        "mechanism": (
            "given a closure, the reason is drawn with probabilities p_r(leader, setting), "
            "independently of the closure time; cause-specific hazard = p_r * overall hazard"
        ),
        "stream": "SeedSequence(seed).spawn(1)[0], one uniform per group in row order",
        "factors": CLOSURE_REASON_FACTORS,
        "probabilities": {f"{a}|{b}": p for (a, b), p in CLOSURE_REASON_PROBS.items()},
        "cause_specific": causes,
    }


def write_sa_groups(out: Path, *, seed: Seed, n_groups: int = N_GROUPS) -> Path:
    """Simulate the SA-groups table and write it to ``out`` with ``<stem>_truth.json`` beside it.

    Parameters
    ----------
    out : path
        The CSV file to write (its folder is created).
    seed : int or numpy.random.Generator
    n_groups : int

    Returns
    -------
    Path
        The truth file's path.

    Raises
    ------
    SpecError
        The files cannot be written (the reason and a fix).
    """
    from bayessa.errors import SpecError

    frame, truth = make_sa_groups(seed=seed, n_groups=n_groups)
    out = Path(out)
    truth_path = out.with_name(f"{out.stem}_truth.json")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        # founding_year is the only float column: always two decimals (1985.50, not 1985.5)
        frame.to_csv(out, index=False, lineterminator="\n", float_format="%.2f")
        truth_path.write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
    except OSError as err:
        raise SpecError(
            f"cannot write {out}: {err.strerror or err}; choose a writable --out"
        ) from None
    return truth_path


def write_sa_groups_dataset(
    out: Path, *, seed: int, n_groups: int, partitions: int
) -> tuple[Path, list[Path]]:
    """Simulate a large SA-groups table as a Parquet dataset, one partition at a time.

    Only one partition is in memory at a time, so the size of the data set is bounded by the
    disk, not the memory. The partitions share one set of county effects (drawn first) and
    number their groups consecutively (``SA1`` ... ``SA<n>``, at least four digits); each is
    simulated from its own stream, ``SeedSequence(seed).spawn(partitions + 1)[1:]``, so the
    data set is reproducible and its partitions are independent. Groups are ordered by founding
    date within a partition. Everything is written into a temporary folder beside ``out`` and
    renamed into place at the end: an interrupted run leaves no half-written data set.

    Parameters
    ----------
    out : path
        The dataset's folder (must not exist): ``part-00000.parquet``, ... and ``truth.json``.
    seed : int
        Non-negative seed.
    n_groups : int
        Groups in all partitions together.
    partitions : int
        Number of files, at most ``n_groups``; their sizes differ by at most one group.

    Returns
    -------
    truth : Path
        ``out / "truth.json"``.
    parts : list of Path
        The partition files, in order.

    Raises
    ------
    SpecError
        ``out`` exists, or cannot be written, or more partitions than groups.
    """
    import os
    import shutil
    import uuid

    from bayessa.errors import SpecError

    out = Path(out)
    if not 1 <= partitions <= n_groups:
        raise SpecError(
            f"--partitions must be between 1 and the {n_groups} groups, got {partitions}"
        )
    if out.exists():
        raise SpecError(
            f"'{out}' exists; a data set is written into a new folder: choose another --out"
        )
    county_seq, *part_seqs = np.random.SeedSequence(seed).spawn(partitions + 1)
    u = np.random.Generator(np.random.PCG64(county_seq)).normal(0.0, COUNTY_SD, len(COUNTIES))
    effects = dict(zip(COUNTIES, map(float, u), strict=True))
    sizes = [n_groups // partitions + (i < n_groups % partitions) for i in range(partitions)]
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        tmp.mkdir(parents=True)
        first, truth = 1, {}
        for i, (size, seq) in enumerate(zip(sizes, part_seqs, strict=True)):
            frame, truth = make_sa_groups(
                seed=np.random.default_rng(seq), n_groups=size, county_effects=effects,
                first_id=first,
            )  # fmt: skip
            frame.to_parquet(tmp / f"part-{i:05d}.parquet", index=False)
            first += size
            del frame
        truth.update(seed=seed, n_groups=n_groups, partitions=partitions, cluster_effects=effects)
        for key in ("n_simulated", "n_truncated", "n_unobserved"):
            truth.pop(key, None)  # per partition only; the totals are the rows
        (tmp / "truth.json").write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, out)
    except OSError as err:
        raise SpecError(
            f"cannot write {out}: {err.strerror or err}; choose a writable --out"
        ) from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out / "truth.json", [out / f"part-{i:05d}.parquet" for i in range(partitions)]


def make_leadership_changes(groups: pd.DataFrame, *, seed: Seed) -> pd.DataFrame:
    r"""Draw changes of leader type for the SA groups: a change table in the date form.

    Each group changes its leader type at most once (consumer to professional: a takeover;
    professional to consumer: a handover), at a time :math:`S_i` after founding,

    .. math::

        S_i = E_i / \nu_{\text{leader}_i, \text{setting}_i}, \qquad E_i \sim \mathrm{Exp}(1),

    with the rates :data:`LEADER_CHANGE_RATE` per year (by the leader at founding and the
    setting), drawn **independently of the closure times**. The change is dated
    ``founded + max(1, round(365.25 S_i))`` days and recorded only when that date is before the
    group's ``last_contact`` (the group was still followed then); later changes were never seen.

    Parameters
    ----------
    groups : DataFrame
        The groups, as in ``sa_groups.csv``: ``group_id``, ``founded``, ``last_contact`` (ISO
        dates), ``leader`` and ``setting``; one :math:`E_i` is drawn per row, in row order.
    seed : int or numpy.random.Generator
        Randomness source (the bundled file uses the seed given in ``data/README.md``).

    Returns
    -------
    DataFrame
        ``group_id``, ``date`` (ISO date of the change) and ``leader`` (the new leader type), one
        row per recorded change, in the order of ``groups``.

    Raises
    ------
    SpecError
        A column is missing, or a (leader, setting) pair has no rate.
    """
    from bayessa.errors import SpecError

    need = ["group_id", "founded", "last_contact", "leader", "setting"]
    missing = [c for c in need if c not in groups.columns]
    if missing:
        raise SpecError(f"groups lacks the column(s) {missing}; give the sa_groups.csv table")
    leader = groups["leader"].astype(str).to_numpy()
    pairs = list(zip(leader, groups["setting"].astype(str), strict=True))
    unknown = sorted(set(pairs) - set(LEADER_CHANGE_RATE))
    if unknown:
        raise SpecError(f"no leader-change rate for (leader, setting) {unknown}")
    rate = np.array([LEADER_CHANGE_RATE[p] for p in pairs])
    rng = as_generator(seed)
    wait = rng.standard_exponential(len(groups)) / rate
    founded = np.array([_days(d) for d in groups["founded"]], dtype=np.int64)
    last = np.array([_days(d) for d in groups["last_contact"]], dtype=np.int64)
    day = founded + np.maximum(1, np.rint(wait * _DAY)).astype(np.int64)
    seen = day < last
    new = np.where(leader == "consumer", "professional", "consumer")
    return pd.DataFrame(
        {
            "group_id": groups["group_id"].to_numpy()[seen],
            "date": _iso(day[seen]),
            "leader": new[seen],
        }
    )


def write_leadership_changes(
    out: Path, *, seed: Seed, groups: str | Path | pd.DataFrame | None = None
) -> Path:
    """Draw the SA groups' changes of leader type and write them as a CSV file.

    Parameters
    ----------
    out : path
        The CSV file to write (its folder is created).
    seed : int or numpy.random.Generator
    groups : path or DataFrame, optional
        The groups (default: the bundled ``sa_groups.csv``).

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    SpecError
        The file cannot be written (the reason and a fix).
    """
    from bayessa.errors import SpecError
    from bayessa.resources import bundled_data

    if not isinstance(groups, pd.DataFrame):
        groups = pd.read_csv(groups or bundled_data(), dtype=str, keep_default_na=False)
    frame = make_leadership_changes(groups, seed=seed)
    out = Path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(out, index=False, lineterminator="\n")
    except OSError as err:
        raise SpecError(
            f"cannot write {out}: {err.strerror or err}; choose a writable path"
        ) from None
    return out
