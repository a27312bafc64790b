#!/usr/bin/env Rscript
# Reference values from R `survival` for bayessa's frequentist cross-check.
#
# Run from the repository root:   Rscript tests/reference/make_reference.R
# Needs: R >= 4, survival, jsonlite (Debian: apt-get install r-cran-jsonlite).
#
# Writes, next to this script:
#   lung.csv, veteran.csv, ovarian.csv   the data sets (so the Python tests never need R)
#   lung_pem_cells.csv                   lung split at day 90/180/365/540 and aggregated
#   small_cases.csv                      tiny hand-made data (ties, flat median, S = 0)
#   survival_reference.json              every reference number, full precision
#
# Conventions of the export:
#   * lung$status is 1 = censored, 2 = dead; the CSV adds `event` = status - 1.
#   * lung gets a synthetic delayed entry: entry = floor(time / 3) for every third row, else 0.
#   * KM rows come from summary(survfit, censored = TRUE): std.err there is the SE of S(t).
#   * NA / NaN are written as JSON null.
#   * Group labels are the level names (the part after "var=" in R's strata names).
#
# survdiff() accepts right-censored data only and has no gamma, so delayed entry and the
# Fleming-Harrington (rho, gamma) family are checked against `logrank_hand()` below: a direct loop
# over event times written from the textbook formulas. The script first checks that the loop
# reproduces survdiff() (rho = 0 and 1, with and without strata) and that its delayed-entry
# statistic equals the score test of coxph(Surv(entry, time, event) ~ group, ties = "exact"),
# whose information at beta = 0 is the hypergeometric variance used by the log-rank test.

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"

write_csv <- function(df, name) {
  write.csv(df, file.path(here, name), row.names = FALSE, na = "")
}

# ---------------------------------------------------------------- data sets
lung_df <- survival::lung
lung_df$event <- as.integer(lung_df$status == 2)
every_third <- seq_len(nrow(lung_df)) %% 3 == 0
lung_df$entry <- ifelse(every_third, floor(lung_df$time / 3), 0)
stopifnot(all(lung_df$entry < lung_df$time))
write_csv(lung_df, "lung.csv")

veteran_df <- survival::veteran
veteran_df$celltype <- as.character(veteran_df$celltype)
write_csv(veteran_df, "veteran.csv")

ovarian_df <- survival::ovarian
write_csv(ovarian_df, "ovarian.csv")

# ties between events and censorings, S(t) exactly 0.5 on an interval, S reaching 0
small_df <- data.frame(
  case = c(rep("ties", 8), rep("flat", 6)),
  time = c(1, 2, 2, 3, 4, 5, 5, 6, 1, 2, 3, 4, 5, 6),
  event = c(1, 1, 0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 0, 1),
  entry = c(0, 0, 1, 0, 2.5, 0, 0, 0, 0, 0, 0, 0, 0, 0)
)
write_csv(small_df, "small_cases.csv")

# ---------------------------------------------------------------- helpers
strip_label <- function(x) sub("^[^=]*=", "", as.character(x))

km_rows <- function(fit) {
  s <- summary(fit, censored = TRUE)
  group <- if (is.null(s$strata)) rep(NA_character_, length(s$time)) else strip_label(s$strata)
  list(
    group = group, time = s$time, n_risk = s$n.risk, n_event = s$n.event,
    n_censor = s$n.censor, surv = s$surv, std_err = s$std.err,
    lower = s$lower, upper = s$upper
  )
}

km_table <- function(fit, tau) {
  tab <- summary(fit, rmean = tau)$table
  if (is.null(dim(tab))) tab <- matrix(tab, nrow = 1, dimnames = list("all", names(tab)))
  list(
    group = if (is.null(fit$strata)) NA_character_ else strip_label(rownames(tab)),
    records = unname(tab[, "records"]), n_max = unname(tab[, "n.max"]),
    n_start = unname(tab[, "n.start"]), events = unname(tab[, "events"]),
    rmean = unname(tab[, "rmean"]), se_rmean = unname(tab[, "se(rmean)"]),
    median = unname(tab[, "median"]), median_lower = unname(tab[, "0.95LCL"]),
    median_upper = unname(tab[, "0.95UCL"]), tau = tau
  )
}

km_case <- function(call, formula, data, conf_type, tau, spec) {
  fit <- survfit(formula, data = data, conf.type = conf_type)
  c(spec, list(call = call, conf_type = conf_type, rows = km_rows(fit),
               summary = km_table(fit, tau)))
}

survdiff_case <- function(call, fit, spec) {
  otmp <- if (is.matrix(fit$obs)) rowSums(fit$obs) else fit$obs
  etmp <- if (is.matrix(fit$exp)) rowSums(fit$exp) else fit$exp
  groups <- strip_label(names(fit$n))
  c(spec, list(
    call = call, groups = groups, n = as.numeric(fit$n), observed = otmp, expected = etmp,
    variance = unname(fit$var), statistic = fit$chisq,
    df = sum(etmp > 0) - 1, p_value = fit$pvalue
  ))
}

# Log-rank family by a direct loop over the distinct event times of each stratum.
# At risk at t: entry < t <= time. Weight w(t) = S(t-)^rho * (1 - S(t-))^gamma with S the
# Kaplan-Meier estimate of the pooled sample in the stratum (same risk sets).
logrank_hand <- function(time, event, group, entry = NULL, strata = NULL, rho = 0, gamma = 0) {
  group <- factor(group)
  k <- nlevels(group)
  if (is.null(entry)) entry <- rep(-Inf, length(time))
  if (is.null(strata)) strata <- rep(1, length(time))
  O <- E <- numeric(k)
  V <- matrix(0, k, k)
  for (s in unique(strata)) {
    i <- strata == s
    tt <- time[i]; dd <- event[i]; gg <- as.integer(group[i]); ee <- entry[i]
    S <- 1
    for (t in sort(unique(tt[dd == 1]))) {
      at_risk <- ee < t & tt >= t
      nk <- tabulate(gg[at_risk], k); n <- sum(nk)
      dk <- tabulate(gg[at_risk & tt == t & dd == 1], k); d <- sum(dk)
      w <- S^rho * (1 - S)^gamma
      O <- O + w * dk
      E <- E + w * d * nk / n
      if (n > 1) V <- V + w^2 * d * (n - d) / (n - 1) * (diag(nk / n) - outer(nk / n, nk / n))
      S <- S * (1 - d / n)
    }
  }
  keep <- which(E > 0)
  u <- (O - E)[keep][-1]
  chisq <- sum(solve(V[keep, keep][-1, -1, drop = FALSE], u) * u)
  list(groups = levels(group), n = as.numeric(table(group)), observed = O, expected = E,
       variance = V, statistic = chisq, df = length(keep) - 1,
       p_value = pchisq(chisq, length(keep) - 1, lower.tail = FALSE))
}

trend_from <- function(fit, scores) {
  # scores: named by group level, or in the order of the groups
  groups <- strip_label(names(fit$n))
  if (!is.null(names(scores))) scores <- scores[groups]
  obs <- if (is.matrix(fit$obs)) rowSums(fit$obs) else fit$obs
  exp <- if (is.matrix(fit$exp)) rowSums(fit$exp) else fit$exp
  var <- fit$var
  u <- sum(scores * (obs - exp))
  v <- drop(t(scores) %*% var %*% scores)
  list(groups = groups, scores = unname(scores), u = u, v = v, statistic = u^2 / v,
       p_value = pchisq(u^2 / v, 1, lower.tail = FALSE))
}

same <- function(a, b) isTRUE(all.equal(a, b, tolerance = 1e-12, check.attributes = FALSE))

# ---------------------------------------------------------------- Kaplan-Meier
km <- list()
for (ct in c("log", "log-log", "plain")) {
  km[[paste0("lung_sex_", ct)]] <- km_case(
    sprintf('survfit(Surv(time, status) ~ sex, data = lung, conf.type = "%s")', ct),
    Surv(time, status) ~ sex, lung_df, ct, 365,
    list(data = "lung.csv", time = "time", event = "event", group = "sex", entry = NULL)
  )
}
km$lung_all <- km_case("survfit(Surv(time, status) ~ 1, data = lung)",
  Surv(time, status) ~ 1, lung_df, "log", 365,
  list(data = "lung.csv", time = "time", event = "event", group = NULL, entry = NULL))
km$veteran_celltype <- km_case("survfit(Surv(time, status) ~ celltype, data = veteran)",
  Surv(time, status) ~ celltype, veteran_df, "log", 180,
  list(data = "veteran.csv", time = "time", event = "status", group = "celltype", entry = NULL))
km$ovarian_rx <- km_case("survfit(Surv(futime, fustat) ~ rx, data = ovarian)",
  Surv(futime, fustat) ~ rx, ovarian_df, "log-log", 730,
  list(data = "ovarian.csv", time = "futime", event = "fustat", group = "rx", entry = NULL))
for (ct in c("log", "log-log", "plain")) {
  km[[paste0("lung_entry_sex_", ct)]] <- km_case(
    sprintf('survfit(Surv(entry, time, status) ~ sex, data = lung, conf.type = "%s")', ct),
    Surv(entry, time, event) ~ sex, lung_df, ct, 365,
    list(data = "lung.csv", time = "time", event = "event", group = "sex", entry = "entry"))
}
for (cs in c("ties", "flat")) {
  d <- small_df[small_df$case == cs, ]
  km[[paste0("small_", cs)]] <- km_case(
    sprintf('survfit(Surv(time, event) ~ 1, data = small_cases[case == "%s", ])', cs),
    Surv(time, event) ~ 1, d, "log", 4,
    list(data = "small_cases.csv", subset = cs, time = "time", event = "event",
         group = NULL, entry = NULL))
}
km$small_ties_entry <- km_case(
  'survfit(Surv(entry, time, event) ~ 1, data = small_cases[case == "ties", ])',
  Surv(entry, time, event) ~ 1, small_df[small_df$case == "ties", ], "log", 4,
  list(data = "small_cases.csv", subset = "ties", time = "time", event = "event",
       group = NULL, entry = "entry"))

# ---------------------------------------------------------------- log-rank family (survdiff)
lr <- list()
lr$lung_sex <- survdiff_case("survdiff(Surv(time, status) ~ sex, data = lung)",
  survdiff(Surv(time, status) ~ sex, data = lung_df),
  list(data = "lung.csv", time = "time", event = "event", group = "sex", rho = 0, gamma = 0))
lr$lung_sex_rho1 <- survdiff_case("survdiff(Surv(time, status) ~ sex, data = lung, rho = 1)",
  survdiff(Surv(time, status) ~ sex, data = lung_df, rho = 1),
  list(data = "lung.csv", time = "time", event = "event", group = "sex", rho = 1, gamma = 0))
lr$veteran_celltype <- survdiff_case("survdiff(Surv(time, status) ~ celltype, data = veteran)",
  survdiff(Surv(time, status) ~ celltype, data = veteran_df),
  list(data = "veteran.csv", time = "time", event = "status", group = "celltype",
       rho = 0, gamma = 0))
lr$veteran_celltype_rho1 <- survdiff_case(
  "survdiff(Surv(time, status) ~ celltype, data = veteran, rho = 1)",
  survdiff(Surv(time, status) ~ celltype, data = veteran_df, rho = 1),
  list(data = "veteran.csv", time = "time", event = "status", group = "celltype",
       rho = 1, gamma = 0))
lr$veteran_trt_strata_celltype <- survdiff_case(
  "survdiff(Surv(time, status) ~ trt + strata(celltype), data = veteran)",
  survdiff(Surv(time, status) ~ trt + strata(celltype), data = veteran_df),
  list(data = "veteran.csv", time = "time", event = "status", group = "trt",
       strata = "celltype", rho = 0, gamma = 0))
lr$veteran_trt_strata_celltype_rho1 <- survdiff_case(
  "survdiff(Surv(time, status) ~ trt + strata(celltype), data = veteran, rho = 1)",
  survdiff(Surv(time, status) ~ trt + strata(celltype), data = veteran_df, rho = 1),
  list(data = "veteran.csv", time = "time", event = "status", group = "trt",
       strata = "celltype", rho = 1, gamma = 0))
lr$ovarian_rx <- survdiff_case("survdiff(Surv(futime, fustat) ~ rx, data = ovarian)",
  survdiff(Surv(futime, fustat) ~ rx, data = ovarian_df),
  list(data = "ovarian.csv", time = "futime", event = "fustat", group = "rx", rho = 0, gamma = 0))
lung_ecog <- lung_df[!is.na(lung_df$ph.ecog), ]
lr$lung_ecog <- survdiff_case("survdiff(Surv(time, status) ~ ph.ecog, data = lung)",
  survdiff(Surv(time, status) ~ ph.ecog, data = lung_ecog),
  list(data = "lung.csv", dropna = "ph.ecog", time = "time", event = "event",
       group = "ph.ecog", rho = 0, gamma = 0))

# the hand loop must reproduce survdiff before it is trusted for what survdiff cannot do
for (nm in names(lr)) {
  case <- lr[[nm]]
  d <- if (case$data == "lung.csv") (if (is.null(case$dropna)) lung_df else lung_ecog)
       else if (case$data == "veteran.csv") veteran_df else ovarian_df
  h <- logrank_hand(d[[case$time]], d[[case$event]], d[[case$group]],
                    strata = if (is.null(case$strata)) NULL else d[[case$strata]], rho = case$rho)
  stopifnot(same(h$observed, case$observed), same(h$expected, case$expected),
            same(h$variance, case$variance), same(h$statistic, case$statistic))
}

hand_case <- function(call, d, spec) {
  h <- logrank_hand(d[[spec$time]], d[[spec$event]], d[[spec$group]],
                    entry = if (is.null(spec$entry)) NULL else d[[spec$entry]],
                    strata = if (is.null(spec$strata)) NULL else d[[spec$strata]],
                    rho = spec$rho, gamma = spec$gamma)
  c(spec, list(call = call), h)
}

# delayed entry: hand loop, checked against the exact-partial-likelihood Cox score test
lr$lung_entry_sex <- hand_case("logrank_hand(lung$time, lung$event, lung$sex, entry = lung$entry)",
  lung_df, list(data = "lung.csv", time = "time", event = "event", group = "sex",
                entry = "entry", rho = 0, gamma = 0))
cx <- coxph(Surv(entry, time, event) ~ factor(sex), data = lung_df, ties = "exact")
stopifnot(same(unname(cx$score), lr$lung_entry_sex$statistic))
lr$lung_entry_ecog_strata_sex <- hand_case(
  "logrank_hand(lung$time, lung$event, lung$ph.ecog, entry = lung$entry, strata = lung$sex)",
  lung_ecog, list(data = "lung.csv", dropna = "ph.ecog", time = "time", event = "event",
                  group = "ph.ecog", strata = "sex", entry = "entry", rho = 0, gamma = 0))
cx <- coxph(Surv(entry, time, event) ~ factor(ph.ecog) + strata(sex), data = lung_ecog,
            ties = "exact")
stopifnot(same(unname(cx$score), lr$lung_entry_ecog_strata_sex$statistic))

# Fleming-Harrington (rho, gamma): survdiff has no gamma
for (rg in list(c(0, 1), c(1, 1), c(0.5, 2))) {
  nm <- sprintf("lung_sex_fh_%g_%g", rg[1], rg[2])
  lr[[nm]] <- hand_case(
    sprintf("logrank_hand(lung$time, lung$event, lung$sex, rho = %g, gamma = %g)", rg[1], rg[2]),
    lung_df, list(data = "lung.csv", time = "time", event = "event", group = "sex",
                  rho = rg[1], gamma = rg[2]))
  nm <- sprintf("veteran_celltype_fh_%g_%g", rg[1], rg[2])
  lr[[nm]] <- hand_case(
    sprintf("logrank_hand(veteran$time, veteran$status, veteran$celltype, rho = %g, gamma = %g)",
            rg[1], rg[2]),
    veteran_df, list(data = "veteran.csv", time = "time", event = "status",
                     group = "celltype", rho = rg[1], gamma = rg[2]))
}
lr$lung_entry_sex_fh_1_1 <- hand_case(
  "logrank_hand(lung$time, lung$event, lung$sex, entry = lung$entry, rho = 1, gamma = 1)",
  lung_df, list(data = "lung.csv", time = "time", event = "event", group = "sex",
                entry = "entry", rho = 1, gamma = 1))

# ---------------------------------------------------------------- trend
trend <- list()
f <- survdiff(Surv(time, status) ~ ph.ecog, data = lung_ecog)
trend$lung_ecog <- c(list(
  call = "survdiff(Surv(time, status) ~ ph.ecog, data = lung); scores 1..4",
  data = "lung.csv", dropna = "ph.ecog", time = "time", event = "event", group = "ph.ecog"),
  trend_from(f, 1:4))
cx <- coxph(Surv(time, event) ~ ph.ecog, data = lung_ecog, ties = "exact")
stopifnot(same(unname(cx$score), trend$lung_ecog$statistic))
f <- survdiff(Surv(time, status) ~ ph.ecog + strata(sex), data = lung_ecog)
trend$lung_ecog_strata_sex <- c(list(
  call = "survdiff(Surv(time, status) ~ ph.ecog + strata(sex), data = lung); scores 0,1,2,3",
  data = "lung.csv", dropna = "ph.ecog", time = "time", event = "event", group = "ph.ecog",
  strata = "sex"), trend_from(f, c(0, 1, 2, 3)))
cx <- coxph(Surv(time, event) ~ ph.ecog + strata(sex), data = lung_ecog, ties = "exact")
stopifnot(same(unname(cx$score), trend$lung_ecog_strata_sex$statistic))
f <- survdiff(Surv(time, status) ~ celltype, data = veteran_df)
trend$veteran_celltype_scores <- c(list(
  call = paste("survdiff(Surv(time, status) ~ celltype, data = veteran);",
               "scores adeno=2, large=1, smallcell=3, squamous=0"),
  data = "veteran.csv", time = "time", event = "status", group = "celltype"),
  trend_from(f, c(squamous = 0, smallcell = 3, adeno = 2, large = 1)))

# ---------------------------------------------------------------- Poisson GLM (PEM)
cuts <- c(90, 180, 365, 540)
sp <- survSplit(Surv(time, event) ~ sex + ph.ecog, data = lung_ecog, cut = cuts,
                episode = "interval", start = "tstart", end = "tstop")
sp$exposure <- sp$tstop - sp$tstart
sp$sex <- ifelse(sp$sex == 1, "male", "female")
sp$ecog <- ifelse(sp$ph.ecog >= 2, "2-4", "0-1")
cells <- aggregate(cbind(events = event, exposure) ~ interval + sex + ecog, data = sp, FUN = sum)
cells <- cells[order(cells$interval, cells$sex, cells$ecog), ]
stopifnot(all(tapply(cells$events, cells$interval, sum) > 0), nrow(cells) == 20)
write_csv(cells, "lung_pem_cells.csv")

glm_case <- function(call, fit, names) {
  co <- summary(fit)$coefficients
  ci <- confint.default(fit)
  list(call = call, names = names, r_names = rownames(co), coef = unname(co[, 1]), se = unname(co[, 2]),
       z = unname(co[, 3]), p_value = unname(co[, 4]), lower = unname(ci[, 1]),
       upper = unname(ci[, 2]), loglik = as.numeric(logLik(fit)), deviance = deviance(fit),
       aic = AIC(fit), df_residual = fit$df.residual, converged = fit$converged)
}
ctl <- glm.control(epsilon = 1e-14, maxit = 100)
fit <- glm(events ~ 0 + factor(interval) + sex + ecog + sex:ecog, family = poisson,
           offset = log(exposure), data = cells, control = ctl)
base_names <- sprintf("interval[%d]", 1:5)
glm_ref <- list()
glm_ref$lung_pem <- glm_case(
  paste("glm(events ~ 0 + factor(interval) + sex + ecog + sex:ecog, family = poisson,",
        "offset = log(exposure), data = lung_pem_cells)"),
  fit, c(base_names, "sex[male]", "ecog[2-4]", "sex[male]:ecog[2-4]"))
cells2 <- cells
cells2$sex <- relevel(factor(cells2$sex), ref = "male")
fit2 <- glm(events ~ 0 + factor(interval) + sex + ecog, family = poisson,
            offset = log(exposure), data = cells2, control = ctl)
glm_ref$lung_pem_ref_male <- glm_case(
  paste("glm(events ~ 0 + factor(interval) + relevel(sex, 'male') + ecog, family = poisson,",
        "offset = log(exposure), data = lung_pem_cells)"),
  fit2, c(base_names, "sex[female]", "ecog[2-4]"))

# ---------------------------------------------------------------- bundled data (data/sa_groups.csv)
# Durations in days from founding to closure (event) or last contact (censored). The derived
# columns are snapshotted to sa_groups_durations.csv so the R numbers and the Python input are the
# same bits; tests/frequentist/test_frequentist.py checks that the snapshot still matches data/sa_groups.csv
# (if it does not, the bundled data were regenerated: rerun this script).
sa_path <- file.path(here, "..", "..", "data", "sa_groups.csv")
sa_cases <- NULL
if (file.exists(sa_path)) {
  sa <- read.csv(sa_path, stringsAsFactors = FALSE, na.strings = "")
  sa <- data.frame(
    group_id = sa$group_id,
    days = as.numeric(as.Date(sa$last_contact) - as.Date(sa$founded)),
    closed = as.integer(!is.na(sa$closed)),
    leader = sa$leader, era = sa$era, setting = sa$setting
  )
  write_csv(sa, "sa_groups_durations.csv")
  spec <- function(...) c(list(data = "sa_groups_durations.csv", time = "days", event = "closed"),
                          list(...))
  km$sa_leader <- km_case("survfit(Surv(days, closed) ~ leader, data = sa)",
    Surv(days, closed) ~ leader, sa, "log", 1826, spec(group = "leader", entry = NULL))
  km$sa_era <- km_case('survfit(Surv(days, closed) ~ era, data = sa, conf.type = "log-log")',
    Surv(days, closed) ~ era, sa, "log-log", 1826, spec(group = "era", entry = NULL))
  lr$sa_leader <- survdiff_case("survdiff(Surv(days, closed) ~ leader, data = sa)",
    survdiff(Surv(days, closed) ~ leader, data = sa), spec(group = "leader", rho = 0, gamma = 0))
  lr$sa_leader_rho1 <- survdiff_case("survdiff(Surv(days, closed) ~ leader, data = sa, rho = 1)",
    survdiff(Surv(days, closed) ~ leader, data = sa, rho = 1),
    spec(group = "leader", rho = 1, gamma = 0))
  lr$sa_era <- survdiff_case("survdiff(Surv(days, closed) ~ era, data = sa)",
    survdiff(Surv(days, closed) ~ era, data = sa), spec(group = "era", rho = 0, gamma = 0))
  lr$sa_leader_strata_setting <- survdiff_case(
    "survdiff(Surv(days, closed) ~ leader + strata(setting), data = sa)",
    survdiff(Surv(days, closed) ~ leader + strata(setting), data = sa),
    spec(group = "leader", strata = "setting", rho = 0, gamma = 0))
  f <- survdiff(Surv(days, closed) ~ era, data = sa)
  trend$sa_era <- c(list(call = paste("survdiff(Surv(days, closed) ~ era, data = sa);",
                                      "scores before = 1, early = 2, formal = 3")),
                    spec(group = "era"), trend_from(f, c(before = 1, early = 2, formal = 3)))
  sp <- survSplit(Surv(days, closed) ~ leader + era, data = sa, cut = c(365, 730, 1095, 1826, 2922),
                  episode = "interval", start = "tstart", end = "tstop")
  sp$exposure <- sp$tstop - sp$tstart
  sa_cells <- aggregate(cbind(events = closed, exposure) ~ interval + leader + era, data = sp,
                        FUN = sum)
  sa_cells <- sa_cells[order(sa_cells$interval, sa_cells$leader, sa_cells$era), ]
  stopifnot(all(tapply(sa_cells$events, sa_cells$interval, sum) > 0))
  write_csv(sa_cells, "sa_groups_pem_cells.csv")
  fit <- glm(events ~ 0 + factor(interval) + leader + era + leader:era, family = poisson,
             offset = log(exposure), data = sa_cells, control = ctl)
  glm_ref$sa_groups_pem <- glm_case(
    paste("glm(events ~ 0 + factor(interval) + leader + era + leader:era, family = poisson,",
          "offset = log(exposure), data = sa_groups_pem_cells)"),
    fit, c(sprintf("interval[%d]", 1:6), "leader[professional]", "era[early]", "era[formal]",
           "leader[professional]:era[early]", "leader[professional]:era[formal]"))
  sa_cases <- list(source = "data/sa_groups.csv",
                   source_md5 = unname(tools::md5sum(sa_path)))
} else {
  message("data/sa_groups.csv not found: bundled-data cases skipped")
}

# ---------------------------------------------------------------- write
out <- list(
  generated_by = "tests/reference/make_reference.R",
  r_version = R.version.string,
  survival_version = as.character(packageVersion("survival")),
  jsonlite_version = as.character(packageVersion("jsonlite")),
  bundled_data = sa_cases,
  kaplan_meier = km, logrank = lr, trend = trend, glm = glm_ref
)
writeLines(toJSON(out, digits = NA, na = "null", auto_unbox = TRUE, pretty = TRUE,
                  null = "null"),
           file.path(here, "survival_reference.json"))
cat("wrote", file.path(here, "survival_reference.json"), "\n")
