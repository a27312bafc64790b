#!/usr/bin/env Rscript
# Reference values from R for bayessa's competing-risks code: cmprsk::cuminc (cumulative
# incidence curves with their variances, Gray's K-sample test) and survival::survfit's
# Aalen-Johansen (AJ) estimate for competing risks. The Python tests pin bayessa to these numbers
# (1e-8) without R.
#
# Run from the repository root:   Rscript tests/reference/make_cuminc_reference.R
# Needs: R >= 4, survival (made with 3.5-3), cmprsk (made with 2.2-11), jsonlite (Debian:
# apt-get install r-base-core r-cran-survival r-cran-cmprsk r-cran-jsonlite). Runs in ~2 s.
#
# Writes, into tests/reference/cuminc/:
#   mgus2.csv    survival::mgus2 (1384 rows, none dropped: no etime is missing) with the
#                competing-risks outcome of the survival "compete" vignette:
#                etime = ifelse(pstat == 0, futime, ptime) (months),
#                event = ifelse(pstat == 0, 2 * death, 1): 0 censored, 1 pcm (progression to a
#                plasma cell malignancy), 2 death before pcm; outcome = "censored"/"pcm"/"death".
#                Columns id, sex ("F"/"M"), age, etime, event, outcome.
#   pbc.csv      survival::pbc[1:312, ] (the randomised trial): id, time (days), status
#                (0 censored, 1 transplant, 2 death), trt (1 D-penicillamine, 2 placebo),
#                sex ("m"/"f"), outcome = "censored"/"transplant"/"death".
#   ties.csv     hand-made, 29 rows: id, time, status (0 censored, 1 cause 1, 2 cause 2), group
#                ("a"/"b"), stratum (1 for odd id, 2 for even id), outcome
#                ("censored"/"cause1"/"cause2"). Rows at each time (c = censored):
#                  time   group a (ids 1-17)       group b (ids 18-29)
#                   1     1, 2, c                  1, c
#                   2     1, 1                     1, 1, c
#                   3     2, 2, c                  1, c
#                   4     c                        1
#                   5     1, 2, c, c               1, c
#                   6     1                        c
#                   7     2, 1                     1   (b's last row: b's all-cause KM -> 0,
#                   8     c                             and b's cause-1 CIF -> 1)
#                So: an event of cause 1, an event of cause 2 and a censoring at the same time
#                (t = 1 and 5 in "a"), tied events of one cause (d > 1: tie corrections), ties
#                across groups at every time 1..7, and a group ("b") with no events of cause 2.
#   cuminc_reference.json   every reference number, full precision (jsonlite digits = NA);
#                NA -> null; matrices as arrays of rows.
# The R computations use the CSVs as read back by read.csv (write.csv keeps 15 significant
# digits; all values here are integers or short decimals, so nothing is rounded).
#
# ---- cases (JSON key `cases`; all with cencode = 0) ----
#   mgus2_sex                cuminc(etime, event, group = sex, rho = 0)         + survfit
#   mgus2_sex_rho1           the same with rho = 1                               (no survfit)
#   mgus2_sex_strata_age70   the same, rho = 0, strata = age70 = ifelse(age < 70, "<70", ">=70")
#   pbc_trt                  cuminc(time, status, group = trt, rho = 0)          + survfit
#   pbc_all                  cuminc(time, status) (no group argument)            + survfit
#   ties_group               cuminc(time, status, group = group, rho = 0)        + survfit
#   ties_group_strata_rho1   extra: group = group, strata = stratum, rho = 1
# and `edge_cases` (data inline in the JSON under data_inline, columns id/time/status/group):
#   singular_variance  6 rows; group "a" (times 1 = cause 2, 2 = censored) has nobody at risk
#                      at any cause-1 time (3, 4, 6): cause 1's score and V are exactly 0, the
#                      qr rank is 0 and cuminc reports stat = -1, pv = 1, df = 1.
#   three_groups       ties.csv + group "c" with only censored rows (ids 30-32, times 2, 4, 6):
#                      df = 2 for both causes; curves "c 1", "c 2" are time (0, 6), est (0, 0).
# Strata and rho only enter the test: the curves of mgus2_sex_rho1 / _strata_age70 and of
# ties_group_strata_rho1 are identical to mgus2_sex / ties_group (checked).
#
# ---- JSON layout of one case ----
#   label, data (CSV name, null for edge cases), time, status, group (column name or null),
#   strata (column or null), rho, cencode, call,
#   causes        numeric cause codes in cuminc's order (sort(unique(status[status != 0])))
#   cause_labels  {"1": "pcm", "2": "death"} etc.
#   groups        group labels in cuminc's order: levels(as.factor(group)) (sorted; levels with
#                 no rows dropped); "1" when there is no group argument
#   curve_names   names(cuminc(...)) without "Tests": "<group> <cause>", causes outer loop,
#                 groups inner loop: "F 1", "M 1", "F 2", "M 2"; no group: "1 1", "1 2"
#   curves        {"F 1": {group, cause, time: [...], est: [...], var: [...]}, ...} exactly as
#                 cuminc returns them (see "cuminc's step-function layout")
#   tests         null without a group; else {cause: [..], stat: [..], pv: [..], df: [..]} =
#                 the columns of cuminc's Tests matrix, one entry per cause; score_groups = the
#                 K-1 groups the score refers to (all but the last); by_cause: {"1": {cause,
#                 score: [K-1], variance: [[K-1 x K-1]], variance_full_rank, hand_*: the
#                 differences between the Fortran and the R re-implementation below}}. score and
#                 variance are taken from the Fortran routine crstm called exactly as cuminc
#                 calls it; stat = score' variance^-1 score.
#   var_check     max abs / rel difference between cuminc's var and the closed form (i) below
#   survfit       null, or {call, states: ["(s0)", "1", "2"], groups: {<group>: {time,
#                 n_risk, n_event: {<state>: [..]}, n_censor, pstate: {<state>: [..]},
#                 std_err: {<state>: [..]}}}, summary: {times, extend: false, groups:
#                 {<group>: {time, n_risk, n_event, pstate, std_err}}}, checks}. <group> is
#                 the level name (e.g. "F", "1", "a") or "all" for ~ 1.
#
# ---- cuminc's step-function layout (cmprsk 2.2-11, Fortran `cinc` in src/cincsub.f) ----
# Per group g and cause c: let t_1 < ... < t_J be the distinct times with >= 1 event of cause c
# in g, F_j = F(t_j) the estimate just after t_j, V_j its variance, tmax the largest time (any
# status) in g. Then (1-based indices) length = 2J + 2 and
#   time = (0, t_1, t_1, t_2, t_2, ..., t_J, t_J, tmax)
#   est  = (0, 0,   F_1, F_1, F_2, ..., F_{J-1}, F_J, F_J)
#   var  = (0, 0,   V_1, V_1, V_2, ..., V_{J-1}, V_J, V_J)
# i.e. element 2j is (t_j, F_{j-1}, V_{j-1}) (the corner before the jump), element 2j+1 is
# (t_j, F_j, V_j), the last element repeats F_J, V_J at tmax (tmax may equal t_J: then the time
# t_J appears three times). No event of cause c in g: time = (0, tmax), est = var = (0, 0).
# The variance is only reported at the jump times of the cause (it does change at later
# other-cause times, but cuminc does not show that).
#
# ---- (i) cuminc's `var` (Fortran cinc) ----
# Within group g (data sorted by time), at every distinct time u_m with at least one failure of
# any cause (censoring-only times are skipped; they only shrink the risk set): n_m = # with
# time >= u_m (censored at u_m are at risk at u_m), d1_m = # failures of cause c at u_m,
# d2_m = # failures of all OTHER causes at u_m (pooled together), S(u-) / S(u) the all-cause
# Kaplan-Meier of g just before / at u, S(u_m) = S(u_m-)(n_m - d1_m - d2_m)/n_m,
# F(u_m) = F(u_m-) + S(u_m-) d1_m / n_m (the AJ / cumulative incidence estimate). With
# tie(d, n) = (n - d)/(n - 1) for d > 1 and 1 for d = 1, and g_m(t) = (F(t) - F(u_m))/S(u_m):
#   V(t) = sum_{u_m <= t} S(u_m-)^2 / n_m^2 * [ (1 - g_m(t))^2 * d1_m * tie(d1_m, n_m)
#                                              +      g_m(t)^2 * d2_m * tie(d2_m, n_m) ]
# where, if S(u_m) = 0 (everybody left in g fails at u_m), the cause-c bracket (1 - g)^2 is
# replaced by 1 and the other-cause term by 0. (This is the delta-method / Aalen-type variance
# of Gray's cmprsk; the tie factor makes it the hypergeometric version. It is NOT survfit's.)
# The Fortran accumulates v1, v2, v3 with increments e*b^2, e*a*b, e*a^2 (e = the S^2 d tie/n^2
# factor, a = 1/S(u_m) (0 if S(u_m) = 0), b = F(u_m)/S(u_m) for other causes, 1 + F(u_m)/S(u_m)
# for cause c) and reports V(t) = v1 + F(t)^2 v3 - 2 F(t) v2, which is algebraically the sum
# above. Verified: cinc_hand() below (the closed form, not the accumulation) reproduces every
# cuminc var of every case to max relative difference 2.2e-14 (stopifnot at 1e-10), and est and
# time exactly/1e-13.
#
# ---- (ii) Gray's test (Fortran crstm -> crst, src/crstm.f; R code of cuminc) ----
# For each cause c separately: type 1 = status == c, type 2 = any other non-zero status,
# censored = cencode. Groups 1..K are the levels of as.factor(group) with >= 1 row in the WHOLE
# data (after na.omit), K fixed across strata. Each stratum is processed on its own rows only;
# its score vector and covariance matrix are then ADDED over strata. Within a stratum, loop over
# the distinct times t (ascending) with at least one failure of either type (censoring-only
# times are skipped). For group k at t:
#   Y_k = # rows of k with time >= t; d1_k, d2_k = # type-1 / type-2 failures of k at t;
#   D1 = sum_k d1_k. Only groups with Y_k > 0 take part (others: h_k = R_k = 0, no terms, their
#   S_k, F_k stay frozen).
#   S_k- = S_k(t-) all-cause KM of k; S_k = S_k- (Y_k - d1_k - d2_k)/Y_k
#   F_k- = F_k(t-) cumulative incidence of type 1 in k; F_k = F_k- + S_k- d1_k / Y_k
#   h_k = Y_k / S_k-;   R_k = Y_k (1 - F_k-) / S_k-;   tr = sum_k h_k;   tq = sum_k R_k
#   F0 = F0(t-) + D1 / tr, F0(0) = 0 (a pooled estimate used for the weight and the variance;
#        it is NOT the pooled-sample AJ estimate: on mgus2 they differ by up to 0.0036)
#   w  = (1 - F0(t-))^rho (rho = 0: w = 1)
# Score (groups 1..K-1; the last group is dropped):
#   s_k = sum_strata sum_t w * (d1_k - D1 * R_k / tq)
# Covariance of s (K-1 x K-1): with, for i, j = 1..K,
#   a_ij(t) = w * (h_i [i == j] - h_i h_j / tr)
#   c_ij(t) = sum_{u <= t} a_ij(u) * D1(u) / (tr(u) (1 - F0(u-)))     (running sum, including t)
#   C_ij    = c_ij at the stratum's last time,
# V_ij (i, j = 1..K-1) = sum over times t and groups k of
#   type-1 term (times with D1 > 0, groups with Y_k > 0):
#       q_k = 1 - (1 - F0(t))/S_k   (q_k = 1 if S_k = 0)          [F0(t) is after the update]
#       e_k = tau * S_k- * D1 / (tr * Y_k),  tau = 1 - (D1 - 1)/(tr * S_k- - 1) if D1 > 1 else 1
#       b_ik = a_ik(t) + q_k * (C_ik - c_ik(t));   V_ij += e_k b_ik b_jk
#   type-2 term (groups with d2_k > 0 and S_k > 0):
#       q_k = (1 - F0(t))/S_k
#       e_k = tau * S_k-^2 * d2_k / Y_k^2,   tau = 1 - (d2_k - 1)/(Y_k - 1) if d2_k > 1 else 1
#       b_ik = q_k * (C_ik - c_ik(t));   V_ij += e_k b_ik b_jk
# Note the two different tie factors: pooled D1 with tr*S_k- for type 1, the group's own d2_k
# with Y_k for type 2. (The Fortran accumulates sum e (a - q c)(a - q c)', v2 = sum e q (a - q c)
# (type 2: - e q (q c)), v3 = sum e q^2 and adds C C' v3 + C v2' + v2 C' at the end of the
# stratum; expanding gives the b form above.)
# Statistic: cuminc forms qr(V) (default tol 1e-7); if its rank < K-1 then stat = -1, else
# stat = s' V^-1 s. df = K-1 for every cause (never reduced, also when a group has no events of
# the cause); pv = 1 - pchisq(stat, df) (so stat = -1 gives pv = 1; pv is computed as
# 1 - pchisq, not lower.tail = FALSE, so it is 0 below ~1e-16).
# Groups lacking events of the cause need no special rule: d1_k = 0 but h_k, R_k and the terms
# above still enter while Y_k > 0, and the test is reported with df = K-1. A group with nobody at
# risk at any type-1 time of the (every) stratum has s_k = 0 and a zero row/column in V -> V
# singular -> stat = -1 (edge case singular_variance). With more than one stratum a group absent
# from a stratum simply contributes nothing there. (1 - F0(t-)) = 0 would divide by zero in
# 2.2-11; it cannot happen in these data.
# Verified: gray_hand() below (an R re-implementation of exactly these formulas, two passes per
# stratum) reproduces crstm's score and covariance to 1e-10 relative (observed max abs diff
# 1.7e-12 on a variance of 211, i.e. ~1e-14 relative) and cuminc's Tests stat to 8.4e-15
# relative, for rho 0 and 1, with and without strata, K = 2 and 3.
#
# ---- (iii) survfit's Aalen-Johansen estimate and its std.err ----
# survfit(Surv(time, factor(status)) ~ group, data, id = id): factor(status) with levels
# "0","1","2" makes it multi-state ("mright") with states "(s0)" (initial, everyone at time 0),
# "1", "2". Code: survival 3.5-3 R survfitCI -> docurve2 -> C survfitci (src/survfitci.c).
# Per group, at each distinct time t of the group (event OR censoring time):
#   n_risk = # with time >= t (n.risk's "(s0)" column; the absorbing-state columns are 0),
#   n_event[state] = # moving into that state at t ("(s0)": always 0), n_censor = # censored at t,
#   pstate: p(t) = p(t-) H(t), H = identity except row (s0): H[s0,s0] = 1 - d/Y,
#     H[s0,k] = d_k/Y; so P(s0) = all-cause KM, P(k) = sum_{u<=t} S(u-) d_k(u)/Y(u) (this equals
#     cuminc's est at its jump times: checked to 1e-12); values are carried at censoring-only
#     times.
#   std.err: ALWAYS the infinitesimal jackknife (IJ) for multi-state curves (survfitCI sets
#     robust = TRUE and stops if robust = FALSE); se = sqrt(sum_i U_i(t)^2) with
#     U_i = d p(t) / d w_i (case weight of subject i). `id` only defines the clusters of the IJ
#     (cluster defaults to id; no id -> each row its own subject): with unique ids the result
#     is identical with and without id = id (checked: identical()). For one row per subject
#     starting in (s0), the recursion is, at each t with d = sum_k d_k > 0 (Y_i = [time_i >= t],
#     dN_ik = [time_i == t and status_i == k], dN_i = sum_k dN_ik, S(t-) = P(s0)(t-)):
#       U_i0(t) = U_i0(t-) (1 - d/Y) - Y_i S(t-) (dN_i  - d/Y) / Y
#       U_ik(t) = U_ik(t-) + U_i0(t-) d_k/Y + Y_i S(t-) (dN_ik - d_k/Y) / Y
#     with U_i(0) = 0 (everyone starts in (s0): p0 = (1, 0, 0) is not estimated, sp0 = 0), U
#     unchanged at censoring-only times; std_err[state] = sqrt(sum_i U_i,state^2).
#     No tie correction: tied events are one step of H. When the group's KM reaches 0 with one
#     cause left (ties group b at t = 7: P(1) = 1), the IJ se of P(1) is 0 up to rounding
#     (survfit gives 4e-17) whereas cuminc's var there is > 0.
#   Verified: aj_ij_hand() below (this scalar recursion) reproduces survfit's std.err for all
#   states and groups to max abs 1.4e-16 (stopifnot 1e-12 relative) and pstate to 1e-13.
#   survfit's std.err and sqrt(cuminc var) differ (different estimators; checks.info_* give the
#   max abs difference at cuminc's jump times, e.g. 0.08 for mgus2 "M 2").
# summary(fit, times = T) (extend = FALSE; all T here lie within every group's follow-up):
#   time = T, pstate / std_err = the values at the last survfit time <= T, n_risk = # with
#   time >= T, n_event[state] = # events into that state in (previous T, T] (first: (-inf, T]).
#   (All checked with stopifnot.)
#
# ---- sources ----
# cmprsk's Fortran is not installed with the binary package; it was read from the CRAN mirror
# github.com/cran/cmprsk at the commit of version 2.2-11 (e2b4f9ce, src/cincsub.f and
# src/crstm.f; 2.2-12 only reformats loops and adds "if (a(i,j) .ne. 0)" guards to the c
# update, which change nothing unless 1 - F0(t-) = 0). The formulas above were written from that
# source and then checked numerically against the installed cuminc by the re-implementations in
# this script. Reference for the test: Gray RJ (1988), A class of K-sample tests for comparing
# the cumulative incidence of a competing risk, Ann. Statist. 16:1141-1154.

suppressPackageStartupMessages({
  library(survival)
  library(cmprsk)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"
out_dir <- file.path(here, "cuminc")
dir.create(out_dir, showWarnings = FALSE)

same <- function(a, b, tol = 1e-12) {
  isTRUE(all.equal(a, b, tolerance = tol, check.attributes = FALSE))
}
max_abs <- function(a, b) if (length(a)) max(abs(a - b)) else 0
max_rel <- function(a, b) {
  if (!length(a)) return(0)
  max(abs(a - b) / pmax(abs(b), .Machine$double.xmin))
}

write_csv <- function(df, name) {
  write.csv(df, file.path(out_dir, name), row.names = FALSE, na = "")
}
read_back <- function(name, orig) {
  d <- read.csv(file.path(out_dir, name), stringsAsFactors = FALSE, na.strings = "")
  stopifnot(identical(names(d), names(orig)), nrow(d) == nrow(orig))
  for (v in names(d)) {
    if (is.numeric(orig[[v]])) stopifnot(same(d[[v]], as.numeric(orig[[v]]), 1e-14))
    else stopifnot(identical(as.character(d[[v]]), as.character(orig[[v]])))
  }
  d
}

# ---------------------------------------------------------------- data: mgus2
outcome_mgus2 <- c("censored", "pcm", "death")
m2 <- survival::mgus2
m2_etime <- ifelse(m2$pstat == 0, m2$futime, m2$ptime)
m2_event <- ifelse(m2$pstat == 0, 2 * m2$death, 1)
mgus2_out <- data.frame(id = as.integer(m2$id), sex = as.character(m2$sex), age = m2$age,
                        etime = m2_etime, event = as.integer(m2_event),
                        outcome = outcome_mgus2[m2_event + 1], stringsAsFactors = FALSE)
n_mgus2_dropped <- sum(is.na(mgus2_out$etime))
mgus2_out <- mgus2_out[!is.na(mgus2_out$etime), ]
stopifnot(n_mgus2_dropped == 0, !anyNA(mgus2_out), !anyDuplicated(mgus2_out$id),
          all(mgus2_out$etime > 0), all(mgus2_out$event %in% 0:2))
write_csv(mgus2_out, "mgus2.csv")
mgus2_df <- read_back("mgus2.csv", mgus2_out)
mgus2_df$age70 <- ifelse(mgus2_df$age < 70, "<70", ">=70")

# ---------------------------------------------------------------- data: pbc
outcome_pbc <- c("censored", "transplant", "death")
pb <- survival::pbc[1:312, ]
pbc_out <- data.frame(id = as.integer(pb$id), time = pb$time, status = as.integer(pb$status),
                      trt = as.integer(pb$trt), sex = as.character(pb$sex),
                      outcome = outcome_pbc[pb$status + 1], stringsAsFactors = FALSE)
stopifnot(nrow(pbc_out) == 312, identical(pbc_out$id, 1:312), !anyNA(pbc_out),
          all(pbc_out$trt %in% 1:2))
write_csv(pbc_out, "pbc.csv")
pbc_df <- read_back("pbc.csv", pbc_out)

# ---------------------------------------------------------------- data: ties (hand-made)
ties_spec <- list(
  #        time, status, group
  c(1, 1, "a"), c(1, 2, "a"), c(1, 0, "a"),
  c(2, 1, "a"), c(2, 1, "a"),
  c(3, 2, "a"), c(3, 2, "a"), c(3, 0, "a"),
  c(4, 0, "a"),
  c(5, 1, "a"), c(5, 2, "a"), c(5, 0, "a"), c(5, 0, "a"),
  c(6, 1, "a"),
  c(7, 2, "a"), c(7, 1, "a"),
  c(8, 0, "a"),
  c(1, 1, "b"), c(1, 0, "b"),
  c(2, 1, "b"), c(2, 1, "b"), c(2, 0, "b"),
  c(3, 1, "b"), c(3, 0, "b"),
  c(4, 1, "b"),
  c(5, 1, "b"), c(5, 0, "b"),
  c(6, 0, "b"),
  c(7, 1, "b")
)
ties_out <- data.frame(
  id = seq_along(ties_spec),
  time = as.numeric(sapply(ties_spec, `[`, 1)),
  status = as.integer(sapply(ties_spec, `[`, 2)),
  group = sapply(ties_spec, `[`, 3),
  stringsAsFactors = FALSE
)
ties_out$stratum <- as.integer(2 - ties_out$id %% 2)   # odd id -> 1, even id -> 2
ties_out$outcome <- c("censored", "cause1", "cause2")[ties_out$status + 1]
stopifnot(nrow(ties_out) == 29, sum(ties_out$status[ties_out$group == "b"] == 2) == 0,
          max(ties_out$time[ties_out$group == "b"]) == 7,
          sum(ties_out$group == "b" & ties_out$time == 7) == 1)
write_csv(ties_out, "ties.csv")
ties_df <- read_back("ties.csv", ties_out)

# ---------------------------------------------------------------- hand re-implementations
# (1) cuminc's `var`, closed form (see header). One group, one cause of interest.
cinc_hand <- function(time, fstatus, cause) {
  o <- order(time)
  time <- time[o]; fail <- fstatus[o] != 0; is1 <- fstatus[o] == cause
  tie <- function(d, n) if (d > 1) (n - d) / (n - 1) else 1
  rows <- list()
  S <- 1; F <- 0
  for (t in unique(time)) {
    at <- time == t
    n <- sum(time >= t); d1 <- sum(is1[at]); d2 <- sum(fail[at]) - d1
    if (d1 + d2 == 0) next
    Snew <- S * (n - d1 - d2) / n
    Fnew <- F + S * d1 / n
    rows[[length(rows) + 1]] <- c(t = t, Sm = S, S = Snew, F = Fnew,
                                  c1 = S^2 * d1 * tie(d1, n) / n^2,
                                  c2 = S^2 * d2 * tie(d2, n) / n^2, d1 = d1)
    S <- Snew; F <- Fnew
  }
  r <- as.data.frame(do.call(rbind, rows))
  x <- 0; f <- 0; v <- 0
  for (j in which(r$d1 > 0)) {
    Ft <- r$F[j]; k <- seq_len(j)
    g <- ifelse(r$S[k] > 0, (Ft - r$F[k]) / r$S[k], 0)
    var <- sum(ifelse(r$S[k] > 0, (1 - g)^2, 1) * r$c1[k] +
                 ifelse(r$S[k] > 0, g^2, 0) * r$c2[k])
    x <- c(x, r$t[j], r$t[j]); f <- c(f, f[length(f)], Ft); v <- c(v, v[length(v)], var)
  }
  n_out <- length(x)
  list(time = c(x, max(time)), est = c(f, f[n_out]), var = c(v, v[n_out]))
}

# (2) Gray's test (score s and covariance V for the first K-1 groups), per stratum, summed.
gray_hand <- function(time, fstatus, group, strata, cause, rho) {
  group <- factor(group); K <- nlevels(group); K1 <- K - 1
  s_tot <- numeric(K1); V_tot <- matrix(0, K1, K1)
  for (st in unique(strata)) {
    i <- strata == st
    tt <- time[i]; m <- ifelse(fstatus[i] == 0, 0, ifelse(fstatus[i] == cause, 1, 2))
    gg <- as.integer(group[i])
    Sm <- rep(1, K); Fm <- rep(0, K); F0m <- 0
    steps <- list(); cc <- matrix(0, K, K)
    s <- numeric(K1)
    for (t in sort(unique(tt))) {
      at <- tt == t
      Y <- tabulate(gg[tt >= t], K)
      d1 <- tabulate(gg[at & m == 1], K); d2 <- tabulate(gg[at & m == 2], K)
      D1 <- sum(d1)
      if (D1 + sum(d2) == 0) next
      pos <- Y > 0
      S <- Sm; S[pos] <- Sm[pos] * (Y[pos] - d1[pos] - d2[pos]) / Y[pos]
      F <- Fm; F[pos] <- Fm[pos] + Sm[pos] * d1[pos] / Y[pos]
      h <- ifelse(pos, Y / Sm, 0)
      R <- ifelse(pos, Y * (1 - Fm) / Sm, 0)
      tr <- sum(h); tq <- sum(R)
      F0 <- F0m + D1 / tr
      w <- (1 - F0m)^rho
      a <- w * (diag(h, K) - outer(h, h) / tr)
      cc <- cc + a * D1 / (tr * (1 - F0m))
      s <- s + (w * ifelse(pos, d1 - D1 * R / tq, 0))[seq_len(K1)]
      steps[[length(steps) + 1]] <- list(Y = Y, d1 = d1, d2 = d2, D1 = D1, Sm = Sm, S = S,
                                        F0 = F0, tr = tr, a = a, c = cc)
      Sm <- S; Fm <- F; F0m <- F0
    }
    C <- cc
    V <- matrix(0, K1, K1)
    for (p in steps) {
      for (k in seq_len(K)) {
        if (p$D1 > 0 && p$Y[k] > 0) {
          t4 <- if (p$S[k] > 0) 1 - (1 - p$F0) / p$S[k] else 1
          t5 <- if (p$D1 > 1) 1 - (p$D1 - 1) / (p$tr * p$Sm[k] - 1) else 1
          t3 <- t5 * p$Sm[k] * p$D1 / (p$tr * p$Y[k])
          b <- (p$a[, k] + t4 * (C[, k] - p$c[, k]))[seq_len(K1)]
          V <- V + t3 * outer(b, b)
        }
        if (p$d2[k] > 0 && p$S[k] > 0) {
          t4 <- (1 - p$F0) / p$S[k]
          t5 <- if (p$d2[k] > 1) 1 - (p$d2[k] - 1) / (p$Y[k] - 1) else 1
          t3 <- t5 * p$Sm[k]^2 * p$d2[k] / p$Y[k]^2
          b <- (t4 * (C[, k] - p$c[, k]))[seq_len(K1)]
          V <- V + t3 * outer(b, b)
        }
      }
    }
    s_tot <- s_tot + s; V_tot <- V_tot + V
  }
  stat <- if (qr(V_tot)$rank == K1) drop(s_tot %*% solve(V_tot, s_tot)) else NA
  list(score = s_tot, variance = V_tot, stat = stat)
}

# The Fortran crstm exactly as cuminc() calls it (to export the score and its covariance).
gray_fortran <- function(time, fstatus, group, strata, cause, rho, cencode = 0) {
  d <- data.frame(time = time, cause = fstatus, group = as.factor(group),
                  strata = as.factor(strata))
  d <- d[order(d$time), ]
  ugg <- table(d$group)
  d$group <- factor(d$group, names(ugg)[ugg > 0])
  ng <- nlevels(d$group); ng1 <- ng - 1; ng2 <- ng * ng1 / 2
  censind <- ifelse(d$cause == cencode, 0, 1)
  causeind <- 2 * censind - ifelse(d$cause == cause, 1, 0)
  v <- matrix(0, ng1, ng1); storage.mode(v) <- "double"
  z <- .Fortran("crstm", as.double(d$time), as.integer(causeind), as.integer(d$group),
                as.integer(d$strata), as.integer(nrow(d)), as.double(rho),
                as.integer(nlevels(d$strata)), as.integer(ng), double(ng1), v,
                as.double(d$time), as.integer(causeind), as.integer(d$group), double(ng2),
                double(ng1), double(ng2), double((4 + 3 * ng) * ng), integer(4 * ng),
                PACKAGE = "cmprsk")
  list(score = z[[9]], variance = z[[10]])
}

# (3) survfit's infinitesimal-jackknife SE for the Aalen-Johansen estimate: competing risks
# from one initial state, right-censored data, one row per subject; the scalar recursion of the
# header (U0 = influence on P(s0), Uk on P(cause k)).
aj_ij_hand <- function(time, status, states) {   # states: c("(s0)", cause codes...)
  causes <- as.numeric(states[-1]); n <- length(time)
  ut <- sort(unique(time))
  S <- 1; Fk <- numeric(length(causes))
  U0 <- numeric(n); Uk <- matrix(0, n, length(causes))
  P <- SE <- matrix(NA_real_, length(ut), length(states))
  for (j in seq_along(ut)) {
    t <- ut[j]
    Yi <- as.numeric(time >= t); Y <- sum(Yi)
    dNk <- sapply(causes, function(k) as.numeric(time == t & status == k))
    dNk <- matrix(dNk, nrow = n)
    dk <- colSums(dNk); d <- sum(dk); dN <- rowSums(dNk)
    if (d > 0) {
      U0_new <- U0 * (1 - d / Y) - Yi * S * (dN - d / Y) / Y
      for (k in seq_along(causes)) {
        Uk[, k] <- Uk[, k] + U0 * dk[k] / Y + Yi * S * (dNk[, k] - dk[k] / Y) / Y
      }
      U0 <- U0_new
      Fk <- Fk + S * dk / Y
      S <- S * (1 - d / Y)
    }
    P[j, ] <- c(S, Fk); SE[j, ] <- sqrt(c(sum(U0^2), colSums(Uk^2)))
  }
  list(time = ut, pstate = P, std.err = SE)
}

# ---------------------------------------------------------------- cases
strip_label <- function(x) sub("^[^=]*=", "", as.character(x))

cuminc_export <- function(ci) {
  cn <- setdiff(names(ci), "Tests")
  curves <- lapply(cn, function(nm) list(
    group = sub(" [^ ]*$", "", nm), cause = as.numeric(sub("^.* ", "", nm)),
    time = ci[[nm]]$time, est = ci[[nm]]$est, var = ci[[nm]]$var))
  names(curves) <- cn
  curves
}

survfit_export <- function(fit, summary_times) {
  states <- fit$states
  ng <- if (is.null(fit$strata)) 1 else length(fit$strata)
  gnames <- if (is.null(fit$strata)) "all" else strip_label(names(fit$strata))
  ends <- cumsum(if (is.null(fit$strata)) length(fit$time) else fit$strata)
  starts <- c(1, head(ends, -1) + 1)
  by_state <- function(mat, idx) setNames(lapply(seq_along(states),
                                                 function(k) I(unname(mat[idx, k]))), states)
  groups <- lapply(seq_len(ng), function(g) {
    idx <- starts[g]:ends[g]
    stopifnot(all(fit$n.risk[idx, -1] == 0))
    list(time = fit$time[idx], n_risk = fit$n.risk[idx, 1],
         n_event = by_state(fit$n.event, idx), n_censor = fit$n.censor[idx],
         pstate = by_state(fit$pstate, idx), std_err = by_state(fit$std.err, idx))
  })
  names(groups) <- gnames
  s <- summary(fit, times = summary_times)
  sg <- if (is.null(s$strata)) rep("all", length(s$time)) else strip_label(s$strata)
  sgroups <- lapply(gnames, function(g) {
    idx <- which(sg == g)
    list(time = I(s$time[idx]), n_risk = I(s$n.risk[idx, 1]),
         n_event = by_state(s$n.event, idx), pstate = by_state(s$pstate, idx),
         std_err = by_state(s$std.err, idx))
  })
  names(sgroups) <- gnames
  list(states = states, groups = groups,
       summary = list(times = I(summary_times), extend = FALSE, groups = sgroups))
}

run_case <- function(label, data, data_file, time, status, group = NULL, strata = NULL,
                     rho = 0, cause_labels, survfit_times = NULL, notes = NULL) {
  ft <- as.numeric(data[[time]]); fs <- as.numeric(data[[status]])
  gr <- if (is.null(group)) NULL else data[[group]]
  sr <- if (is.null(strata)) NULL else data[[strata]]
  args <- list(ftime = ft, fstatus = fs, rho = rho, cencode = 0)
  if (!is.null(gr)) args$group <- gr
  if (!is.null(sr)) args$strata <- sr
  ci <- do.call(cuminc, args)
  call <- sprintf("cuminc(%s$%s, %s$%s%s%s, rho = %g, cencode = 0)", "d", time, "d", status,
                  if (is.null(group)) "" else sprintf(", group = d$%s", group),
                  if (is.null(strata)) "" else sprintf(", strata = d$%s", strata), rho)
  curves <- cuminc_export(ci)
  causes <- sort(unique(fs[fs != 0]))
  groups <- if (is.null(gr)) "1" else levels(as.factor(gr))
  stopifnot(identical(names(curves),
                      as.vector(t(outer(as.character(causes), groups,
                                        function(c, g) paste(g, c))))))

  # (1) cuminc var: closed form reproduces it
  gvec <- if (is.null(gr)) rep("1", length(ft)) else as.character(gr)
  var_check <- list(max_abs_diff = 0, max_rel_diff = 0)
  for (nm in names(curves)) {
    cv <- curves[[nm]]
    i <- gvec == cv$group
    h <- cinc_hand(ft[i], fs[i], cv$cause)
    stopifnot(identical(h$time, cv$time), same(h$est, cv$est, 1e-13),
              isTRUE(all.equal(h$var, cv$var, tolerance = 1e-10)))
    # est layout: (0, 0), then a (t, F(t-)), (t, F(t)) pair per jump, then (max time, F)
    k <- length(cv$time)
    stopifnot(k %% 2 == 0, cv$time[1] == 0, cv$est[1] == 0, cv$var[1] == 0,
              cv$time[k] == max(ft[i]), cv$est[k] == cv$est[k - 1], cv$var[k] == cv$var[k - 1])
    var_check$max_abs_diff <- max(var_check$max_abs_diff, max_abs(h$var, cv$var))
    nz <- cv$var > 0
    var_check$max_rel_diff <- max(var_check$max_rel_diff, max_rel(h$var[nz], cv$var[nz]))
  }

  # (2) Gray's test: Fortran score/covariance, the hand formula, and the Tests matrix
  tests <- NULL
  if (!is.null(ci$Tests)) {
    Tm <- ci$Tests
    stopifnot(identical(rownames(Tm), as.character(causes)))
    per_cause <- lapply(causes, function(cause) {
      srv <- if (is.null(sr)) rep(1, length(ft)) else sr
      fo <- gray_fortran(ft, fs, gr, srv, cause, rho)
      ha <- gray_hand(ft, fs, gr, srv, cause, rho)
      full_rank <- qr(fo$variance)$rank == ncol(fo$variance)
      stopifnot(same(ha$score, fo$score, 1e-10), same(ha$variance, fo$variance, 1e-10),
                Tm[as.character(cause), "df"] == length(groups) - 1,
                same(Tm[as.character(cause), "pv"],
                     1 - pchisq(Tm[as.character(cause), "stat"], length(groups) - 1), 1e-14))
      if (full_rank) {
        stat <- drop(fo$score %*% solve(fo$variance, fo$score))
        stopifnot(same(stat, Tm[as.character(cause), "stat"], 1e-10),
                  same(ha$stat, Tm[as.character(cause), "stat"], 1e-10))
      } else {
        stopifnot(Tm[as.character(cause), "stat"] == -1, Tm[as.character(cause), "pv"] == 1)
      }
      list(cause = cause, score = I(fo$score), variance = fo$variance,
           variance_full_rank = full_rank,
           hand_max_abs_diff_score = max_abs(ha$score, fo$score),
           hand_max_abs_diff_variance = max_abs(ha$variance, fo$variance),
           hand_rel_diff_stat = if (full_rank) {
             abs(ha$stat / Tm[as.character(cause), "stat"] - 1)
           } else NA)
    })
    names(per_cause) <- as.character(causes)
    tests <- list(cause = I(causes), stat = I(unname(Tm[, "stat"])),
                  pv = I(unname(Tm[, "pv"])), df = I(unname(Tm[, "df"])),
                  score_groups = I(head(groups, -1)), by_cause = per_cause)
  }

  # (3) survfit: Aalen-Johansen, and the checks against cuminc and the IJ recursion
  aj <- NULL
  if (!is.null(survfit_times)) {
    dd <- data.frame(time = ft, status = fs, id = data$id,
                     grp = if (is.null(gr)) "all" else as.character(gr))
    fit <- if (is.null(gr)) {
      survfit(Surv(time, factor(status)) ~ 1, data = dd, id = id)
    } else survfit(Surv(time, factor(status)) ~ grp, data = dd, id = id)
    fit_noid <- if (is.null(gr)) {
      survfit(Surv(time, factor(status)) ~ 1, data = dd)
    } else survfit(Surv(time, factor(status)) ~ grp, data = dd)
    stopifnot(identical(fit$std.err, fit_noid$std.err), identical(fit$pstate, fit_noid$pstate))
    aj <- survfit_export(fit, survfit_times)
    stopifnot(identical(aj$states, c("(s0)", as.character(causes))))
    ij_max <- 0; cmp <- list()
    for (g in names(aj$groups)) {
      ag <- aj$groups[[g]]
      i <- dd$grp == g
      h <- aj_ij_hand(ft[i], fs[i], aj$states)
      P <- do.call(cbind, lapply(ag$pstate, unclass))
      SE <- do.call(cbind, lapply(ag$std_err, unclass))
      stopifnot(identical(h$time, ag$time), same(h$pstate, P, 1e-13), same(h$std.err, SE, 1e-12),
                same(rowSums(P), rep(1, nrow(P)), 1e-13))
      ij_max <- max(ij_max, max_abs(h$std.err, SE))
      # n.risk = number with time >= t; n.event per state; summary rows
      stopifnot(all(ag$n_risk == sapply(ag$time, function(t) sum(ft[i] >= t))))
      for (k in as.character(causes)) {
        stopifnot(all(ag$n_event[[k]] == sapply(ag$time, function(t)
          sum(ft[i] == t & fs[i] == as.numeric(k)))))
      }
      sm <- aj$summary$groups[[g]]
      for (q in seq_along(sm$time)) {
        t <- sm$time[q]; j <- max(which(ag$time <= t))
        tprev <- if (q == 1) -Inf else sm$time[q - 1]
        stopifnot(sm$n_risk[q] == sum(ft[i] >= t),
                  same(sm$pstate[["1"]][q], ag$pstate[["1"]][j], 1e-15),
                  same(sm$std_err[["(s0)"]][q], ag$std_err[["(s0)"]][j], 1e-15))
        for (k in as.character(causes)) {
          stopifnot(sm$n_event[[k]][q] == sum(ft[i] > tprev & ft[i] <= t &
                                                fs[i] == as.numeric(k)))
        }
      }
      # (c) cuminc == survfit pstate at cuminc's jump times (the 2nd point of each pair)
      cvar_vs_ij <- list()
      for (k in as.character(causes)) {
        cv <- curves[[paste(if (is.null(gr)) "1" else g, k)]]
        kk <- length(cv$time)
        jump <- if (kk > 2) seq(3, kk - 1, by = 2) else integer(0)
        j <- match(cv$time[jump], ag$time)
        stopifnot(!anyNA(j), all(abs(cv$est[jump] - ag$pstate[[k]][j]) <= 1e-12),
                  all(abs(cv$est[jump - 1] - c(0, head(ag$pstate[[k]][j], -1))) <= 1e-12))
        if (!length(jump)) stopifnot(all(ag$pstate[[k]] == 0))
        cvar_vs_ij[[k]] <- if (length(jump)) {
          max_abs(sqrt(cv$var[jump]), ag$std_err[[k]][j])
        } else 0
      }
      cmp[[g]] <- cvar_vs_ij
    }
    aj <- c(list(call = sprintf(
      "survfit(Surv(%s, factor(%s)) ~ %s, data = d, id = id)", time, status,
      if (is.null(group)) "1" else group)), aj,
      list(checks = list(
        cuminc_est_equals_pstate_at_jumps_tol = 1e-12,
        ij_recursion_max_abs_diff_std_err = ij_max,
        id_changes_std_err = FALSE,
        info_max_abs_diff_sqrt_cuminc_var_vs_ij_std_err = cmp)))
  }

  c(list(label = label, data = data_file, time = time, status = status, group = group,
         strata = strata, rho = rho, cencode = 0, call = call,
         causes = I(causes), cause_labels = cause_labels, groups = I(groups),
         curve_names = I(names(curves)), curves = curves, tests = tests,
         var_check = var_check, survfit = aj), notes)
}

cl_mgus2 <- list("1" = "pcm", "2" = "death")
cl_pbc <- list("1" = "transplant", "2" = "death")
cl_ties <- list("1" = "cause1", "2" = "cause2")

cases <- list()
cases$mgus2_sex <- run_case("mgus2 by sex", mgus2_df, "mgus2.csv", "etime", "event", "sex",
                            cause_labels = cl_mgus2,
                            survfit_times = c(12, 60, 120, 240, 360))
cases$mgus2_sex_rho1 <- run_case("mgus2 by sex, rho = 1", mgus2_df, "mgus2.csv", "etime",
                                 "event", "sex", rho = 1, cause_labels = cl_mgus2,
                                 notes = list(note = "curves identical to mgus2_sex"))
cases$mgus2_sex_strata_age70 <- run_case(
  "mgus2 by sex, strata age < 70 vs >= 70", mgus2_df, "mgus2.csv", "etime", "event", "sex",
  strata = "age70", cause_labels = cl_mgus2,
  notes = list(strata_definition = "age70 = ifelse(age < 70, \"<70\", \">=70\")",
               strata_levels = c("<70", ">=70"),
               note = "curves identical to mgus2_sex (strata only enter the test)"))
cases$pbc_trt <- run_case("pbc by trt", pbc_df, "pbc.csv", "time", "status", "trt",
                          cause_labels = cl_pbc,
                          survfit_times = c(365, 1000, 2000, 3000, 4000))
cases$pbc_all <- run_case("pbc, one group (no group argument)", pbc_df, "pbc.csv", "time",
                          "status", cause_labels = cl_pbc,
                          survfit_times = c(365, 1000, 2000, 3000, 4000),
                          notes = list(note = paste("cuminc without group: curves named",
                                                    "\"1 <cause>\", no Tests")))
cases$ties_group <- run_case("ties by group", ties_df, "ties.csv", "time", "status", "group",
                             cause_labels = cl_ties, survfit_times = c(1, 2.5, 5, 7))
cases$ties_group_strata_rho1 <- run_case(
  "ties by group, strata = stratum, rho = 1", ties_df, "ties.csv", "time", "status", "group",
  strata = "stratum", rho = 1, cause_labels = cl_ties,
  notes = list(note = "extra case: rho and strata on the tied data"))

for (nm in c("mgus2_sex_rho1", "mgus2_sex_strata_age70")) {
  stopifnot(identical(cases[[nm]]$curves, cases$mgus2_sex$curves))
}
stopifnot(identical(cases$ties_group_strata_rho1$curves, cases$ties_group$curves),
          is.null(cases$pbc_all$tests),
          identical(cases$pbc_all$curve_names, I(c("1 1", "1 2"))),
          identical(unname(cases$ties_group$curves[["b 2"]]$est), c(0, 0)))

# ---------------------------------------------------------------- edge cases (inline data)
# singular_variance: group "a" has nobody at risk at any cause-1 time, so its score and every
#   entry of V for cause 1 are 0: cuminc returns stat = -1, pv = 1, df = 1.
# three_groups: ties.csv plus a group "c" with only censored rows (times 2, 4, 6): df = 2 for
#   both causes; the "c" curves are (0, 0) -> (6, 0).
edge_singular <- data.frame(id = 1:6, time = c(1, 2, 3, 4, 5, 6), status = c(2, 0, 1, 1, 0, 1),
                            group = c("a", "a", "b", "b", "b", "b"), stringsAsFactors = FALSE)
edge_three <- rbind(ties_df[, c("id", "time", "status", "group")],
                    data.frame(id = 30:32, time = c(2, 4, 6), status = 0L, group = "c",
                               stringsAsFactors = FALSE))
edge_cases <- list()
edge_cases$singular_variance <- c(
  run_case("group a never at risk at a cause-1 time", edge_singular, NULL, "time", "status",
           "group", cause_labels = cl_ties),
  list(data_inline = as.list(edge_singular)))
edge_cases$three_groups <- c(
  run_case("ties + censored-only group c", edge_three, NULL, "time", "status", "group",
           cause_labels = cl_ties),
  list(data_inline = as.list(edge_three)))
stopifnot(
  identical(unname(edge_cases$singular_variance$tests$stat), I(c(-1, unname(
    edge_cases$singular_variance$tests$stat[2])))),
  edge_cases$singular_variance$tests$stat[2] > 0,
  all(edge_cases$singular_variance$tests$by_cause[["1"]]$variance == 0),
  all(edge_cases$singular_variance$tests$by_cause[["1"]]$score == 0),
  all(edge_cases$three_groups$tests$df == 2),
  all(edge_cases$three_groups$tests$stat > 0),
  identical(edge_cases$three_groups$curves[["c 1"]]$time, c(0, 6)))

# ---------------------------------------------------------------- write
out <- list(
  meta = list(
    generated_by = "tests/reference/make_cuminc_reference.R",
    command = "Rscript tests/reference/make_cuminc_reference.R",
    r_version = R.version.string,
    survival_version = as.character(packageVersion("survival")),
    cmprsk_version = as.character(packageVersion("cmprsk")),
    jsonlite_version = as.character(packageVersion("jsonlite")),
    date = format(Sys.Date()),
    cmprsk_fortran_source = paste("github.com/cran/cmprsk @",
                                  "e2b4f9ce9bc1adb76753c918059be20d4fea8519 (version 2.2-11):",
                                  "src/cincsub.f (cinc), src/crstm.f (crstm, crst)"),
    survival_c_source = paste("github.com/cran/survival @",
                              "bb6341251a2d6be0237e1ffe0318fc602a0b32e1 (version 3.5-3):",
                              "src/survfitci.c; R: survfitCI, docurve2"),
    matrices = "JSON arrays of rows (row-major)"
  ),
  data = list(
    mgus2 = list(file = "mgus2.csv", source = "survival::mgus2", n_rows = nrow(mgus2_df),
                 n_dropped_missing_etime = n_mgus2_dropped,
                 event_counts = as.list(table(factor(mgus2_df$event, 0:2))),
                 outcome_codes = list("0" = "censored", "1" = "pcm", "2" = "death")),
    pbc = list(file = "pbc.csv", source = "survival::pbc[1:312, ]", n_rows = nrow(pbc_df),
               status_counts = as.list(table(factor(pbc_df$status, 0:2))),
               outcome_codes = list("0" = "censored", "1" = "transplant", "2" = "death")),
    ties = list(file = "ties.csv", source = "hand-made (see header)", n_rows = nrow(ties_df),
                status_by_group = lapply(split(ties_df$status, ties_df$group),
                                         function(x) as.list(table(factor(x, 0:2)))),
                outcome_codes = list("0" = "censored", "1" = "cause1", "2" = "cause2"))
  ),
  cases = cases,
  edge_cases = edge_cases
)
path <- file.path(out_dir, "cuminc_reference.json")
writeLines(toJSON(out, digits = NA, na = "null", auto_unbox = TRUE, pretty = TRUE,
                  null = "null", matrix = "rowmajor"), path)
cat("wrote", path, "\n")

# ---------------------------------------------------------------- summary
all_cases <- c(cases, edge_cases)
for (nm in names(all_cases)) {
  cs <- all_cases[[nm]]
  cat(sprintf("\n%s (rho = %g): curves %s\n", nm, cs$rho, paste(cs$curve_names, collapse = ", ")))
  if (!is.null(cs$tests)) {
    print(data.frame(cause = unclass(cs$tests$cause), stat = unclass(cs$tests$stat),
                     pv = unclass(cs$tests$pv), df = unclass(cs$tests$df)))
  }
  cat(sprintf("  var closed form vs cuminc: max abs %.3g, max rel %.3g\n",
              cs$var_check$max_abs_diff, cs$var_check$max_rel_diff))
  if (!is.null(cs$survfit)) {
    cat(sprintf("  IJ recursion vs survfit std.err: max abs %.3g\n",
                cs$survfit$checks$ij_recursion_max_abs_diff_std_err))
    print(unlist(cs$survfit$checks$info_max_abs_diff_sqrt_cuminc_var_vs_ij_std_err))
  }
}
