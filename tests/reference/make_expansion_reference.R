#!/usr/bin/env Rscript
# Reference values from R for bayessa.frequentist.expansion (issue 16 item 5): the classical
# cross-check of the expansion analysis. founding_rate_ratios (Poisson GLM, and MASS::glm.nb, of
# founding counts with a log(years) offset: rate ratios between eras, the LR test of no era
# effect, Pearson dispersion, per-era rates) and composition_tests (chisq.test and fisher.test of
# a trait of new groups by era). The Python test tests/frequentist/test_expansion_reference.py
# reads the files written here and never needs R.
#
# Run from the repository root:   Rscript tests/reference/make_expansion_reference.R
# Needs: R >= 4, MASS (made with 7.3-58.2), jsonlite (Debian: apt-get install r-base-core
# r-cran-mass r-cran-jsonlite). Runs in about 5 s (most of it the Monte Carlo p-values).
#
# Writes, into tests/reference/expansion/:
#   sa_era.csv, sa_era_year.csv, sa_era_county.csv, sa_era_county_year.csv
#       founding counts of the bundled data (data/sa_groups.csv, SYNTHETIC) on the founding
#       window 1985-07-01 .. 1999-03-31, eras before (to 1988-12-31), early (1989-01-01 ..
#       1992-12-31), formal (1993-01-01 .. 1999-03-31). The window is cut at the era boundaries
#       and at every 1 January into 15 slices (1985 from 07-01, 1999 to 03-31; the era
#       boundaries fall on 1 January). years = days / 365.25 (stop exclusive). Columns:
#         sa_era.csv              era, years, groups                  (3 rows: era length)
#         sa_era_year.csv         era, year, years, groups            (15 slices, statewide)
#         sa_era_county.csv       era, county, years, groups          (3 x 38: every county with
#                                 a group, every era; zeros included; years = era length)
#         sa_era_county_year.csv  era, year, county, years, groups    (15 x 38)
#       groups counts units with founded in [start, stop). The era column of the data is checked
#       against the dates (stopifnot).
#   small.csv          hand-made: 3 eras (a, b, c) x 2 clusters (x, y), unequal exposures, one
#                      zero count (a, y).
#   zero_cluster.csv   hand-made: 3 eras x 4 clusters (p, q, r, s); cluster s has no founding in
#                      any era (its fixed effect has no finite MLE); overdispersed (NB theta 5).
#   zero_era.csv       hand-made: 3 eras (e1, e2, e3) x 2 clusters; era e2 has no founding (rate
#                      ratios to/from e2 are 0 / Inf).
#   overdispersed.csv  R-built (set.seed(16)): 3 eras (1_before, 2_during, 3_after) x 12
#                      clusters (k01..k12) x 2 half-periods, exposure 0.5 .. 2 years, counts
#                      rnbinom(mu = years * rate[era] * exp(u[cluster]), size = 3),
#                      u ~ N(0, 0.5^2).
#   composition_inline tables are in the JSON (counts; the Python test expands them to units).
#   expansion_reference.json   every reference number, full precision (jsonlite digits = NA),
#                      NA -> null, Inf -> "Inf" / "-Inf" strings.
# Every fit uses the CSV as read back by read.csv (write.csv keeps 15 significant digits).
#
# ---- rate cases (JSON key `rates`) ----
# Model (cell-means form; R's treatment coding gives the same fit):
#   groups_i ~ Poisson(mu_i) or NB(mu_i, theta),  log mu_i = log(years_i) + alpha[era_i]
#                                                               (+ gamma[cluster_i], gamma_1 = 0)
# fitted by glm(groups ~ 0 + era [+ cluster], offset = log(years), family = poisson,
#   control = glm.control(epsilon = 1e-14, maxit = 100)), then again started at that solution
#   (glm_tight below: glm.fit's standard errors use the weights at the START of its last
#   iteration, ~1e-9 off even at epsilon 1e-14; the restart makes them the solution's)  (Poisson)
# and, for family negbin, by glm.nb and then POLISHED (below).
#   ratios     log RR(a vs b) = alpha_a - alpha_b, se = sqrt(c' V c) (V = vcov, dispersion 1),
#              Wald z, two-sided p = 2 pnorm(-|z|), limits exp(log RR -/+ qnorm(0.975) se);
#              rows: every era vs the reference (kind "reference"), then every era vs the one
#              before it (kind "consecutive"; the pair whose later era is the reference's
#              successor repeats a "reference" row with the other kind, and is kept).
#              Checked against exp(coef) and confint.default of the treatment-coded fit.
#   lr_test    statistic = 2 (logLik(full) - logLik(null)), null = the model without era
#              (~ 1, or ~ cluster), df = E - 1, p = pchisq(stat, df, lower.tail = FALSE);
#              Poisson: equals deviance(null) - deviance(full) and anova(null, full, test =
#              "Chisq"); negbin: the null NB model has its own theta (anova.negbin's "LR stat.").
#   dispersion pearson_chi2 = sum(residuals(full, "pearson")^2) (NB variance mu + mu^2/theta),
#              df = df.residual(full), ratio = chi2 / df, p = pchisq(chi2, df, lower.tail = FALSE)
#              (R gives p = 0 when df = 0; bayessa reports NaN there -- the saturated era-only
#              model has no residual information).
#   rates      from the era-only model of the same family (the full model when there is no
#              cluster): rate = exp(alpha_e), se_log = its se, Wald limits exp(alpha -/+ z se);
#              Poisson: groups / years, and exact_lower / exact_upper = poisson.test(groups,
#              years)$conf.int (Garwood: qgamma(0.025, x) / T, qgamma(0.975, x + 1) / T).
#   fit        loglik (R's logLik, with -log y!), deviance, aic (Poisson -2 ll + 2 p; negbin
#              glm.nb's -2 ll + 2 p + 2), df_residual, theta, theta_se (negbin), coefficients
#              of the cell-means fit (names "era[<level>]", "<cluster>[<level>]") with se.
#   overdispersion_lr (negbin): 2 (ll_NB - ll_Poisson) and p = pchisq(., 1, lower.tail =
#              FALSE) / 2 (theta = Inf is on the boundary: 50:50 mixture of chi2_0 and chi2_1).
#
# ---- levels with no founding (zero_cluster, zero_era) ----
# A cluster (or era) whose counts are all 0 has no finite MLE: its coefficient goes to -Inf and
# its fitted means to 0, where their rows contribute exactly 0 to the log-likelihood (Poisson
# and NB). The reference is therefore computed by dropping those rows and that column (the
# exact limit, "extended MLE"); the JSON records, as a check, how far R's plain glm on all rows
# gets from it (check_plain_fit_*: R stops when the deviance changes by < epsilon, with the
# coefficient near -20 to -30). df (LR and residual) and aic keep R's plain-fit counts (all rows,
# all coefficients), which is what glm reports.
#
# ---- negative binomial: glm.nb, its convergence, and the polish ----
# MASS 7.3-58.2 glm.nb alternates glm.fit (theta fixed) with theta.ml (Newton from the moment
# estimate n / sum((y/mu - 1)^2), stopping when the Newton step is < eps = .Machine$double.eps^
# 0.25 = 1.2e-4, so theta is off its ML by up to ~ step^2 * |score''/score'| ~ 1e-8 relative)
# until |2 ll change| / d1 + |theta change| / d2 < control$epsilon. The stored reference
# (`negbin`) is POLISHED: starting at glm.nb's solution, alternate theta.ml(eps = 1e-11 *
# theta, limit = 200) and glm(family = negative.binomial(theta), control = glm.control(epsilon =
# 1e-14)) until theta changes by < 1e-13 relative (the joint ML to ~1e-12). `glm_nb_default` is
# glm.nb with its default control (epsilon 1e-8) and `glm_nb_tight` with epsilon 1e-12; the JSON
# records their largest relative differences from the polished values. theta_se = 1 /
# sqrt(theta.ml's information) at the polished theta and mu (glm.nb's SE.theta uses the
# information one Newton step earlier). Standard errors of the coefficients: summary.negbin's,
# i.e. dispersion 1, (X' W X)^-1 with W = mu / (1 + mu / theta) (theta treated as known).
#
# ---- composition cases (JSON key `composition`) ----
# tab <- table(variable, era) (levels: sorted, era in time order; levels without units are not
# in the table).
#   chisq          chisq.test(tab) (Yates' correction only for 2 x 2: |O - E| - min(0.5,
#                  |O - E|)); for 2 x 2 also chisq_uncorrected = chisq.test(tab, correct =
#                  FALSE). statistic, df, p_value, expected, residuals (Pearson), stdres.
#   fisher         fisher.test(tab): two-sided p; exact (2 x 2: hypergeometric, tables with
#                  probability <= P_obs * (1 + 1e-7); larger: FEXACT network algorithm, tables
#                  with log P <= log P_obs + 3.45254e-7). 2 x 2 also: conditional MLE of the odds
#                  ratio and its 95% limits (uniroot with its default tol = 1.2e-4, absolute on
#                  t = psi or t = 1 / psi, whichever is < 1: a small limit such as 0.0016 can be
#                  off by 0.5% -- two_by_two_ties) and the same quantities re-solved with
#                  fisher.test's own dnhyper / mnhyper / pnhyper and uniroot(tol = 1e-14)
#                  (`*_tight`); check_max_abs_diff_uniroot_scale = the largest |t - t_tight|.
#                  null when FEXACT cannot do the table (setting_type x era: FEXACT error 7
#                  even with workspace = 2e8).
#   simulated      fisher.test(tab, simulate.p.value = TRUE, B = 1e6) and chisq.test(tab,
#                  simulate.p.value = TRUE, B = 1e6) after set.seed(2024): Monte Carlo p =
#                  (1 + #{sim stat at least as extreme}) / (B + 1) -- not reproducible outside
#                  R's RNG; the Python test compares within Monte Carlo error.

suppressPackageStartupMessages({
  library(MASS)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"
root <- normalizePath(file.path(here, "..", ".."))
out_dir <- file.path(here, "expansion")
dir.create(out_dir, showWarnings = FALSE)

same <- function(a, b, tol = 1e-12) {
  isTRUE(all.equal(a, b, tolerance = tol, check.attributes = FALSE))
}
max_rel <- function(a, b) {
  a <- unlist(a); b <- unlist(b)
  ok <- is.finite(a) & is.finite(b)
  if (!any(ok)) return(0)
  max(abs(a[ok] - b[ok]) / pmax(abs(b[ok]), 1e-300))
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

# ---------------------------------------------------------------- bundled data: counts
ERAS <- c("before", "early", "formal")
sa <- read.csv(file.path(root, "data", "sa_groups.csv"), stringsAsFactors = FALSE)
sa$founded <- as.Date(sa$founded)
w0 <- as.Date("1985-07-01"); w1 <- as.Date("1999-03-31")
cuts <- as.Date(c("1989-01-01", "1993-01-01"))
era_of <- function(day) ERAS[findInterval(as.numeric(day), as.numeric(cuts)) + 1]
stopifnot(all(sa$founded >= w0 & sa$founded <= w1), identical(sa$era, era_of(sa$founded)))
yrs <- 1985:1999
slices <- data.frame(year = yrs,
                     start = pmax(w0, as.Date(sprintf("%d-01-01", yrs))),
                     stop = pmin(w1 + 1, as.Date(sprintf("%d-01-01", yrs + 1))))
slices$era <- era_of(slices$start)
slices$years <- as.numeric(slices$stop - slices$start) / 365.25
counties <- sort(unique(sa$county))
era_days <- sapply(ERAS, function(e) sum(as.numeric(slices$stop - slices$start)[slices$era == e]))
stopifnot(identical(unname(era_days), c(1280, 1461, 2281)))

ecy <- do.call(rbind, lapply(seq_len(nrow(slices)), function(i) {
  s <- slices[i, ]
  data.frame(era = s$era, year = s$year, county = counties, years = s$years,
             groups = sapply(counties, function(c)
               sum(sa$county == c & sa$founded >= s$start & sa$founded < s$stop)),
             stringsAsFactors = FALSE)
}))
rownames(ecy) <- NULL
stopifnot(sum(ecy$groups) == nrow(sa))
ey <- aggregate(groups ~ era + year, data = ecy, FUN = sum)
ey <- ey[order(ey$year), ]
ey$years <- slices$years[match(ey$year, slices$year)]
ey <- data.frame(era = ey$era, year = ey$year, years = ey$years, groups = ey$groups)
ec <- expand.grid(county = counties, era = ERAS, stringsAsFactors = FALSE)
ec$groups <- mapply(function(c, e) sum(sa$county == c & sa$era == e), ec$county, ec$era)
ec$years <- unname(era_days[ec$era] / 365.25)
ec <- data.frame(era = ec$era, county = ec$county, years = ec$years, groups = ec$groups)
e1 <- data.frame(era = ERAS, years = unname(era_days / 365.25),
                 groups = as.vector(table(factor(sa$era, ERAS))))
stopifnot(sum(ec$groups) == nrow(sa), sum(ey$groups) == nrow(sa), sum(e1$groups) == nrow(sa))

files <- list(sa_era.csv = e1, sa_era_year.csv = ey, sa_era_county.csv = ec,
              sa_era_county_year.csv = ecy)

# ---------------------------------------------------------------- made-up count data
files$small.csv <- data.frame(
  era = c("a", "a", "b", "b", "c", "c"), cluster = c("x", "y", "x", "y", "x", "y"),
  years = c(2, 2, 1.5, 1.5, 3, 3), groups = c(3L, 0L, 5L, 2L, 9L, 4L))
files$zero_cluster.csv <- data.frame(
  era = rep(c("a", "b", "c"), each = 4), cluster = rep(c("p", "q", "r", "s"), 3),
  years = rep(c(1.25, 2, 2.75), each = 4),
  groups = c(2L, 9L, 1L, 0L, 12L, 3L, 5L, 0L, 4L, 15L, 2L, 0L))
files$zero_era.csv <- data.frame(
  era = rep(c("e1", "e2", "e3"), each = 2), cluster = rep(c("u", "v"), 3),
  years = c(1, 1, 0.5, 0.5, 2, 2), groups = c(4L, 2L, 0L, 0L, 9L, 3L))
set.seed(16)
od_rate <- c("1_before" = 1.2, "2_during" = 2.0, "3_after" = 2.6)
od_u <- rnorm(12, 0, 0.5)
od <- expand.grid(half = 1:2, cluster = sprintf("k%02d", 1:12), era = names(od_rate),
                  stringsAsFactors = FALSE)
od$years <- round(runif(nrow(od), 0.5, 2), 2)
od$groups <- rnbinom(nrow(od), mu = od$years * od_rate[od$era] *
                       exp(od_u[match(od$cluster, sprintf("k%02d", 1:12))]), size = 3)
files$overdispersed.csv <- data.frame(era = od$era, cluster = od$cluster, half = od$half,
                                      years = od$years, groups = od$groups)

data <- list()
for (nm in names(files)) {
  write_csv(files[[nm]], nm)
  data[[nm]] <- read_back(nm, files[[nm]])
}

# ---------------------------------------------------------------- fitting helpers
TIGHT <- glm.control(epsilon = 1e-14, maxit = 100)
# glm.fit's standard errors use the weights of the last iteration's START (one step before the
# returned coefficients), ~1e-9 off at epsilon 1e-14; a second fit started at the solution makes
# them the weights at the solution.
glm_tight <- function(formula, family, data) {
  m0 <- glm(formula, family = family, data = data, control = TIGHT)
  m <- glm(formula, family = family, data = data, control = TIGHT, start = coef(m0))
  stopifnot(m0$converged, m$converged)
  m
}
nb_loglik <- function(th, mu, y) {
  sum(lgamma(th + y) - lgamma(th) - lgamma(y + 1) + th * log(th) + y * log(mu + (y == 0)) -
        (th + y) * log(th + mu))
}
nb_info <- function(th, mu, y) {
  sum(-trigamma(th + y) + trigamma(th) - 1 / th + 2 / (mu + th) - (y + th) / (mu + th)^2)
}

# Formula of the cell-means model (0 + era [+ cluster]) or of the null / era-only models.
model_formula <- function(terms) {
  as.formula(paste("groups ~", paste(c(terms, "offset(log(years))"), collapse = " + ")))
}

# Fit one model; returns the fit and the quantities every case needs. `drop` gives the rows to
# leave out (levels with no founding: their fitted means are 0 at the extended MLE).
fit_model <- function(d, terms, family, keep = rep(TRUE, nrow(d))) {
  f <- model_formula(terms)
  dk <- droplevels(d[keep, , drop = FALSE])
  if (family == "poisson") {
    m <- glm_tight(f, poisson(), dk)
    list(model = m, coef = coef(m), vcov = vcov(m), loglik = as.numeric(logLik(m)),
         deviance = deviance(m), mu = fitted(m), y = dk$groups,
         pearson = sum(residuals(m, "pearson")^2), theta = NULL, theta_se = NULL,
         rank = m$rank)
  } else {
    m_def <- suppressWarnings(glm.nb(f, data = dk))
    m_tight <- suppressWarnings(glm.nb(f, data = dk,
                                       control = glm.control(epsilon = 1e-12, maxit = 100)))
    # polish: alternate theta.ml (tight) and glm with theta fixed (tight) to the joint ML
    th <- m_tight$theta; mu <- fitted(m_tight); b <- coef(m_tight); y <- dk$groups
    for (it in 1:200) {
      th_new <- as.vector(theta.ml(y, mu, limit = 200, eps = 1e-11 * th))
      g <- glm(f, family = negative.binomial(th_new), data = dk, start = b, control = TIGHT)
      stopifnot(g$converged)
      mu <- fitted(g); b <- coef(g)
      done <- abs(th_new - th) < 1e-13 * th
      th <- th_new
      if (done && it > 2) break
    }
    stopifnot(it < 200)
    g <- glm(f, family = negative.binomial(th), data = dk, start = b, control = TIGHT)
    V <- summary(g, dispersion = 1)$cov.scaled
    ll <- nb_loglik(th, mu, y)
    out <- list(model = g, coef = coef(g), vcov = V, loglik = ll, deviance = deviance(g),
                mu = mu, y = y, pearson = sum(((y - mu) / sqrt(mu + mu^2 / th))^2),
                theta = th, theta_se = 1 / sqrt(nb_info(th, mu, y)), rank = g$rank)
    pick <- function(m) list(coef = unname(coef(m)), theta = m$theta, SE_theta = m$SE.theta,
                             loglik = m$twologlik / 2, iter = m$iter)
    out$glm_nb_default <- pick(m_def)
    out$glm_nb_tight <- pick(m_tight)
    out$polish_iterations <- it
    out$check_max_rel_diff_glm_nb_default <- list(
      coef = max_rel(coef(m_def), coef(g)), theta = max_rel(m_def$theta, th),
      SE_theta = max_rel(m_def$SE.theta, out$theta_se),
      se = max_rel(sqrt(diag(vcov(m_def))), sqrt(diag(V))),
      loglik = max_rel(m_def$twologlik / 2, ll))
    out$check_max_rel_diff_glm_nb_tight <- list(
      coef = max_rel(coef(m_tight), coef(g)), theta = max_rel(m_tight$theta, th),
      SE_theta = max_rel(m_tight$SE.theta, out$theta_se),
      loglik = max_rel(m_tight$twologlik / 2, ll))
    # the family's log-likelihood and Pearson residuals agree with the formulas above
    stopifnot(same(ll, as.numeric(logLik(g)), 1e-12),
              same(out$pearson, sum(residuals(g, "pearson")^2), 1e-12))
    out
  }
}

num <- function(x) {  # JSON: Inf as a string, NaN / NA as null
  x <- unname(as.numeric(x))
  lapply(x, function(v) if (is.na(v)) NA else if (is.infinite(v)) (if (v > 0) "Inf" else "-Inf")
         else v)
}

rate_case <- function(label, file, cluster = NULL, reference = NULL, family = "poisson",
                      conf_level = 0.95) {
  d <- data[[file]]
  eras <- sort(unique(d$era))
  reference <- if (is.null(reference)) eras[1] else reference
  d$era <- factor(d$era, levels = eras)
  if (!is.null(cluster)) d$cl <- factor(d[[cluster]], levels = sort(unique(d[[cluster]])))
  z <- qnorm(1 - (1 - conf_level) / 2)
  E <- length(eras)
  zero_era <- eras[tapply(d$groups, d$era, sum) == 0]
  zero_cl <- if (is.null(cluster)) character(0) else
    levels(d$cl)[tapply(d$groups, d$cl, sum) == 0]
  keep <- !(d$era %in% zero_era) & (if (is.null(cluster)) TRUE else !(d$cl %in% zero_cl))
  keep_null <- if (is.null(cluster)) rep(TRUE, nrow(d)) else !(d$cl %in% zero_cl)
  cl_terms <- if (is.null(cluster)) character(0) else "cl"

  full <- fit_model(d, c("0 + era", cl_terms), family, keep)
  null <- fit_model(d, if (is.null(cluster)) "1" else cl_terms, family, keep_null)
  eo <- if (is.null(cluster)) full else fit_model(d, "0 + era",
                                                  family, !(d$era %in% zero_era))
  # number of coefficients of R's plain fit (every level)
  p_full <- E + (if (is.null(cluster)) 0 else nlevels(d$cl) - 1)
  p_null <- if (is.null(cluster)) 1 else nlevels(d$cl)
  df_res <- nrow(d) - p_full

  alpha <- setNames(rep(-Inf, E), eras)
  est <- setdiff(eras, zero_era)
  alpha[est] <- full$coef[paste0("era", est)]
  Va <- matrix(NA_real_, E, E, dimnames = list(eras, eras))
  Va[est, est] <- full$vcov[paste0("era", est), paste0("era", est)]
  contrast <- function(a, b, kind) {
    lr <- alpha[[a]] - alpha[[b]]
    se <- if (a %in% zero_era || b %in% zero_era) NA else
      sqrt(Va[a, a] + Va[b, b] - 2 * Va[a, b])
    data.frame(era = a, versus = b, kind = kind, log_rr = lr, se = se, z = lr / se,
               p_value = 2 * pnorm(-abs(lr / se)), rate_ratio = exp(lr),
               lower = exp(lr - z * se), upper = exp(lr + z * se), stringsAsFactors = FALSE)
  }
  ratios <- rbind(
    do.call(rbind, lapply(setdiff(eras, reference), function(a)
      contrast(a, reference, "reference"))),
    do.call(rbind, lapply(2:E, function(k) contrast(eras[k], eras[k - 1], "consecutive"))))
  # check: treatment-coded fit gives the same ratios vs the reference
  if (!length(zero_era) && !length(zero_cl)) {
    d2 <- d; d2$era <- relevel(d2$era, ref = reference)
    tf <- model_formula(c("era", cl_terms))
    fam <- if (family == "poisson") poisson() else negative.binomial(full$theta)
    mt <- glm_tight(tf, fam, d2)
    V2 <- summary(mt, dispersion = 1)$cov.scaled
    rr <- ratios[ratios$kind == "reference", ]
    nm <- paste0("era", rr$era)
    stopifnot(same(exp(coef(mt)[nm]), rr$rate_ratio, 1e-9),
              same(sqrt(diag(V2))[nm], rr$se, 1e-8))
    if (family == "poisson") {
      ci <- exp(confint.default(mt, level = conf_level)[nm, , drop = FALSE])
      stopifnot(same(ci[, 1], rr$lower, 1e-9), same(ci[, 2], rr$upper, 1e-9))
    }
  }

  lr_stat <- 2 * (full$loglik - null$loglik)
  lr <- list(statistic = lr_stat, df = E - 1, p_value = pchisq(lr_stat, E - 1, lower.tail = FALSE))
  if (family == "poisson") {
    stopifnot(same(lr_stat, null$deviance - full$deviance, 1e-10))
    if (!length(zero_era) && !length(zero_cl)) {
      a <- anova(null$model, full$model, test = "Chisq")
      stopifnot(same(a$Deviance[2], lr_stat, 1e-10), a$Df[2] == E - 1,
                same(a[["Pr(>Chi)"]][2], lr$p_value, 1e-8))
    }
  }
  disp <- list(pearson_chi2 = full$pearson, df = df_res,
               ratio = if (df_res > 0) full$pearson / df_res else NA,
               p_value = pchisq(full$pearson, df_res, lower.tail = FALSE))

  # per-era rates from the era-only model
  rate <- setNames(rep(0, E), eras); se_log <- setNames(rep(NA_real_, E), eras)
  rate[est] <- exp(eo$coef[paste0("era", est)])
  se_log[est] <- sqrt(diag(eo$vcov))[paste0("era", est)]
  groups <- as.vector(tapply(d$groups, d$era, sum))
  years <- as.vector(tapply(d$years, d$era, sum))
  rates <- data.frame(era = eras, groups = groups, years = years, rate = unname(rate),
                      se_log = unname(se_log), lower = unname(rate * exp(-z * se_log)),
                      upper = unname(rate * exp(z * se_log)))
  if (family == "poisson") {
    stopifnot(same(rates$rate, groups / years, 1e-12),
              same(rates$se_log[groups > 0], 1 / sqrt(groups[groups > 0]), 1e-10))
    ex <- t(sapply(seq_len(E), function(i)
      poisson.test(groups[i], years[i], conf.level = conf_level)$conf.int))
    rates$exact_lower <- ex[, 1]; rates$exact_upper <- ex[, 2]
    stopifnot(same(ex[, 2], qgamma(1 - (1 - conf_level) / 2, groups + 1) / years, 1e-14))
  }

  coefs <- full$coef
  cnames <- sub("^era", "era[", names(coefs))
  cnames <- ifelse(startsWith(names(coefs), "era"), paste0(cnames, "]"),
                   paste0(cluster, "[", sub("^cl", "", names(coefs)), "]"))
  fit <- list(loglik = full$loglik, deviance = full$deviance,
              aic = -2 * full$loglik + 2 * p_full + (if (family == "negbin") 2 else 0),
              df_residual = df_res, terms = cnames, coef = unname(coefs),
              se = unname(sqrt(diag(full$vcov))),
              theta = full$theta, theta_se = full$theta_se)
  out <- list(label = label, data = file, cluster = cluster, reference = reference,
              family = family, conf_level = conf_level, eras = I(eras),
              zero_eras = I(zero_era), zero_clusters = I(zero_cl),
              rates = lapply(rates, function(v) if (is.numeric(v)) num(v) else I(v)),
              ratios = lapply(ratios, function(v) if (is.numeric(v)) num(v) else I(v)),
              lr_test = lr, dispersion = lapply(disp, function(v) num(v)[[1]]), fit = fit,
              null_loglik = null$loglik, null_theta = null$theta)
  if (family == "negbin") {
    pois <- fit_model(d, c("0 + era", cl_terms), "poisson", keep)
    s <- 2 * (full$loglik - pois$loglik)
    out$overdispersion_lr <- list(statistic = s, p_value = pchisq(s, 1, lower.tail = FALSE) / 2,
                                  poisson_loglik = pois$loglik)
    out$glm_nb_default <- full$glm_nb_default
    out$glm_nb_tight <- full$glm_nb_tight
    out$check_max_rel_diff_glm_nb_default <- full$check_max_rel_diff_glm_nb_default
    out$check_max_rel_diff_glm_nb_tight <- full$check_max_rel_diff_glm_nb_tight
    out$polish_iterations <- full$polish_iterations
    # anova.negbin's LR statistic from glm.nb's own (default-control) fits
    if (!length(zero_era) && !length(zero_cl)) {
      f1 <- suppressWarnings(glm.nb(model_formula(c("era", cl_terms)), data = d))
      f0 <- suppressWarnings(glm.nb(model_formula(if (is.null(cluster)) "1" else cl_terms),
                                    data = d))
      a <- anova(f0, f1)
      out$check_anova_negbin_lr <- list(statistic = a[["LR stat."]][2],
                                        rel_diff = max_rel(a[["LR stat."]][2], lr_stat))
    }
  }
  if (length(zero_era) || length(zero_cl)) {
    # how far R's plain fit (all rows, every level) gets from the extended MLE
    tf <- model_formula(c("0 + era", cl_terms))
    d_all <- d
    if (family == "poisson") {
      pf <- suppressWarnings(glm(tf, family = poisson, data = d_all, control = TIGHT))
      pd <- suppressWarnings(glm(tf, family = poisson, data = d_all))
      pn <- suppressWarnings(glm(model_formula(if (is.null(cluster)) "1" else cl_terms),
                                 family = poisson, data = d_all))
      out$check_plain_fit <- list(
        lr_rel_diff_default = max_rel(deviance(pn) - deviance(pd), lr_stat),
        lr_rel_diff_tight = max_rel(deviance(pn) - deviance(pf), lr_stat),
        coef_est_rel_diff_default = max_rel(coef(pd)[names(full$coef)], full$coef),
        df_residual = pd$df.residual, aic = AIC(pd))
      stopifnot(pd$df.residual == df_res, same(AIC(pd), fit$aic, 1e-6))
    }
  }
  out
}

# ---------------------------------------------------------------- composition helpers
fisher_tight <- function(x, conf_level = 0.95) {
  # fisher.test's own 2 x 2 code (R 4.2.2), uniroot(tol = 1e-14)
  m <- sum(x[, 1L]); n <- sum(x[, 2L]); k <- sum(x[1L, ]); x <- x[1L, 1L]
  lo <- max(0L, k - n); hi <- min(k, m); support <- lo:hi
  logdc <- dhyper(support, m, n, k, log = TRUE)
  dnhyper <- function(ncp) { d <- logdc + log(ncp) * support; d <- exp(d - max(d)); d / sum(d) }
  mnhyper <- function(ncp) {
    if (ncp == 0) return(lo)
    if (ncp == Inf) return(hi)
    sum(support * dnhyper(ncp))
  }
  pnhyper <- function(q, ncp = 1, upper.tail = FALSE) {
    if (ncp == 1) {
      return(if (upper.tail) phyper(x - 1, m, n, k, lower.tail = FALSE) else phyper(x, m, n, k))
    }
    if (ncp == 0) return(as.numeric(if (upper.tail) q <= lo else q >= lo))
    if (ncp == Inf) return(as.numeric(if (upper.tail) q <= hi else q >= hi))
    sum(dnhyper(ncp)[if (upper.tail) support >= q else support <= q])
  }
  ur <- function(f, int) uniroot(f, int, tol = 1e-14, maxiter = 10000)$root
  mle <- if (x == lo) 0 else if (x == hi) Inf else {
    mu <- mnhyper(1)
    if (mu > x) ur(function(t) mnhyper(t) - x, c(0, 1))
    else if (mu < x) 1 / ur(function(t) mnhyper(1 / t) - x, c(.Machine$double.eps, 1)) else 1
  }
  alpha <- (1 - conf_level) / 2
  ncp_u <- if (x == hi) Inf else {
    p <- pnhyper(x, 1)
    if (p < alpha) ur(function(t) pnhyper(x, t) - alpha, c(0, 1))
    else if (p > alpha) 1 / ur(function(t) pnhyper(x, 1 / t) - alpha, c(.Machine$double.eps, 1))
    else 1
  }
  ncp_l <- if (x == lo) 0 else {
    p <- pnhyper(x, 1, upper.tail = TRUE)
    if (p > alpha) ur(function(t) pnhyper(x, t, upper.tail = TRUE) - alpha, c(0, 1))
    else if (p < alpha) 1 / ur(function(t) pnhyper(x, 1 / t, upper.tail = TRUE) - alpha,
                               c(.Machine$double.eps, 1))
    else 1
  }
  c(mle, ncp_l, ncp_u)
}

chisq_list <- function(ct) {
  list(statistic = unname(ct$statistic), df = unname(ct$parameter), p_value = ct$p.value,
       method = ct$method)
}

composition_case <- function(label, tab, file = NULL, variable = NULL, era = NULL,
                             fisher_exact = TRUE, simulate = FALSE) {
  stopifnot(all(rowSums(tab) > 0), all(colSums(tab) > 0))
  ct <- suppressWarnings(chisq.test(tab))
  two <- all(dim(tab) == 2)
  out <- list(label = label, data = file, variable = variable, era = era,
              rows = I(rownames(tab)), cols = I(colnames(tab)),
              counts = matrix(as.integer(tab), nrow = nrow(tab)), n = sum(tab),
              chisq = c(chisq_list(ct), list(correct_applied = two)),
              expected = unname(ct$expected), residuals = unname(unclass(ct$residuals)),
              stdres = unname(unclass(ct$stdres)), min_expected = min(ct$expected))
  E <- outer(rowSums(tab), colSums(tab)) / sum(tab)
  stopifnot(same(unname(ct$expected), unname(E), 1e-14))
  if (two) {
    out$chisq_uncorrected <- chisq_list(suppressWarnings(chisq.test(tab, correct = FALSE)))
  }
  if (fisher_exact) {
    ft <- fisher.test(tab)
    out$fisher <- list(p_value = ft$p.value, method = ft$method)
    if (two) {
      tight <- fisher_tight(tab)
      out$fisher$odds_ratio <- num(ft$estimate)[[1]]
      out$fisher$conf_int <- num(ft$conf.int)
      out$fisher$odds_ratio_tight <- num(tight[1])[[1]]
      out$fisher$conf_int_tight <- num(tight[2:3])
      # uniroot works on t = psi (psi < 1) or t = 1 / psi with absolute tol 1.22e-4
      fin <- is.finite(tight) & tight > 0
      t_scale <- function(v) ifelse(v <= 1, v, 1 / v)
      out$fisher$check_max_abs_diff_uniroot_scale <-
        if (any(fin)) max(abs(t_scale(c(ft$estimate, ft$conf.int)[fin]) - t_scale(tight[fin])))
        else 0
    }
  } else {
    out$fisher <- NULL
    out$fexact_error <- tryCatch({fisher.test(tab); FALSE},
                                        error = function(e) conditionMessage(e))
  }
  if (simulate) {
    B <- 1e6
    set.seed(2024)
    fs <- fisher.test(tab, simulate.p.value = TRUE, B = B)
    set.seed(2024)
    cs <- chisq.test(tab, simulate.p.value = TRUE, B = B)
    out$simulated <- list(B = B, seed = 2024, fisher_p_value = fs$p.value,
                          chisq_p_value = cs$p.value, chisq_statistic = unname(cs$statistic))
  }
  out
}

inline_tab <- function(counts, rows, cols) {
  matrix(as.integer(counts), nrow = length(rows), byrow = TRUE,
         dimnames = list(rows, cols))
}

# ---------------------------------------------------------------- cases
rates <- list()
rates$sa_era <- rate_case("bundled, per era (saturated)", "sa_era.csv")
rates$sa_era_year <- rate_case("bundled, per era x calendar year", "sa_era_year.csv")
rates$sa_era_year_negbin <- rate_case("bundled, per era x year, negative binomial",
                                      "sa_era_year.csv", family = "negbin")
rates$sa_era_county <- rate_case("bundled, per era x county, county fixed effects",
                                 "sa_era_county.csv", cluster = "county")
rates$sa_era_county_pooled <- rate_case("bundled, per era x county, no county effects",
                                        "sa_era_county.csv")
rates$sa_era_county_negbin <- rate_case("bundled, per era x county, NB, no county effects",
                                        "sa_era_county.csv", family = "negbin")
rates$sa_era_county_year <- rate_case("bundled, per era x county x year, county effects",
                                      "sa_era_county_year.csv", cluster = "county",
                                      reference = "formal", conf_level = 0.9)
rates$small <- rate_case("small, cluster effects", "small.csv", cluster = "cluster")
rates$small_ref_b <- rate_case("small, reference b, no cluster", "small.csv", reference = "b")
rates$zero_cluster <- rate_case("cluster s without foundings", "zero_cluster.csv",
                                cluster = "cluster")
rates$zero_cluster_negbin <- rate_case("cluster s without foundings, NB", "zero_cluster.csv",
                                       cluster = "cluster", family = "negbin")
rates$zero_era <- rate_case("era e2 without foundings", "zero_era.csv", cluster = "cluster")
rates$overdispersed <- rate_case("overdispersed, Poisson, cluster effects", "overdispersed.csv",
                                 cluster = "cluster")
rates$overdispersed_negbin <- rate_case("overdispersed, NB, cluster effects",
                                        "overdispersed.csv", cluster = "cluster",
                                        family = "negbin")
rates$overdispersed_negbin_pooled <- rate_case("overdispersed, NB, no cluster effects",
                                               "overdispersed.csv", family = "negbin",
                                               reference = "2_during")

composition <- list()
for (v in c("leader", "setting")) {
  tab <- table(sa[[v]], factor(sa$era, ERAS))
  composition[[paste0("sa_", v)]] <- composition_case(
    paste("bundled:", v, "x era"), tab, "data/sa_groups.csv", v, "era",
    simulate = v == "leader")
}
composition$sa_setting_type <- composition_case(
  "bundled: setting_type x era (FEXACT cannot)", table(sa$setting_type, factor(sa$era, ERAS)),
  "data/sa_groups.csv", "setting_type", "era", fisher_exact = FALSE, simulate = TRUE)
tab_lb <- table(sa$leader[sa$era != "early"], factor(sa$era[sa$era != "early"],
                                                      c("before", "formal")))
composition$sa_leader_before_formal <- composition_case(
  "bundled: leader x era, before vs formal only (2 x 2)", tab_lb, "data/sa_groups.csv",
  "leader", "era (before, formal)")
composition$two_by_two <- composition_case(
  "2 x 2", inline_tab(c(12, 5, 7, 14), c("no", "yes"), c("p1", "p2")))
composition$two_by_two_zero <- composition_case(
  "2 x 2 with a zero cell", inline_tab(c(0, 6, 9, 4), c("no", "yes"), c("p1", "p2")))
composition$two_by_two_small_diff <- composition_case(
  "2 x 2, |O - E| < 0.5 (Yates uses |O - E|)", inline_tab(c(3, 4, 5, 6), c("no", "yes"),
                                                        c("p1", "p2")))
composition$two_by_two_ties <- composition_case(
  "2 x 2, equal margins: the mirror table ties with the observed",
  inline_tab(c(1, 3, 3, 1), c("no", "yes"), c("p1", "p2")))
composition$three_by_three_single <- composition_case(
  "3 x 3, a level with one unit",
  inline_tab(c(5, 2, 1, 0, 1, 0, 3, 6, 9), c("a", "b", "c"), c("e1", "e2", "e3")),
  simulate = TRUE)
composition$two_by_four_zero <- composition_case(
  "2 x 4 with a zero cell", inline_tab(c(4, 0, 7, 3, 2, 5, 1, 6), c("m", "w"),
                                       c("q1", "q2", "q3", "q4")))
composition$symmetric_ties <- composition_case(
  "2 x 3 with tied table probabilities", inline_tab(c(2, 1, 2, 1, 2, 1), c("r1", "r2"),
                                                  c("c1", "c2", "c3")))
composition$four_by_three <- composition_case(
  "4 x 3", inline_tab(c(8, 3, 2, 4, 6, 5, 1, 4, 9, 3, 2, 2), c("w", "x", "y", "z"),
                      c("t1", "t2", "t3")))
stopifnot(composition$two_by_two_zero$fisher$odds_ratio == 0,
          composition$three_by_three_single$min_expected < 1)

# ---------------------------------------------------------------- write
out <- list(
  meta = list(
    generated_by = "tests/reference/make_expansion_reference.R",
    command = "Rscript tests/reference/make_expansion_reference.R",
    r_version = R.version.string,
    mass_version = as.character(packageVersion("MASS")),
    jsonlite_version = as.character(packageVersion("jsonlite")),
    date = format(Sys.Date()),
    matrices = "JSON arrays of rows (row-major)",
    infinities = "\"Inf\" / \"-Inf\" strings; NA and NaN -> null"
  ),
  bundled = list(
    source = "data/sa_groups.csv (SYNTHETIC)", n_units = nrow(sa),
    window = c("1985-07-01", "1999-03-31"), era_cuts = c("1989-01-01", "1993-01-01"),
    eras = ERAS, era_days = as.list(era_days), days_per_year = 365.25,
    counties = counties, slices = list(year = slices$year, start = format(slices$start),
                                       stop = format(slices$stop), era = slices$era,
                                       years = slices$years)
  ),
  files = lapply(files, function(f) list(columns = names(f), n_rows = nrow(f))),
  rates = rates,
  composition = composition
)
path <- file.path(out_dir, "expansion_reference.json")
writeLines(toJSON(out, digits = NA, na = "null", auto_unbox = TRUE, pretty = TRUE,
                  null = "null", matrix = "rowmajor"), path)
cat("wrote", path, "\n")

# ---------------------------------------------------------------- summary
for (nm in names(rates)) {
  r <- rates[[nm]]
  cat(sprintf("\n%s [%s%s]: LR %.4f on %d df (p %.3g); X2/df %s",
              nm, r$family, if (!is.null(r$fit$theta)) sprintf(", theta %.4g", r$fit$theta)
              else "", r$lr_test$statistic, r$lr_test$df, r$lr_test$p_value,
              format(r$dispersion$ratio, digits = 4)))
  if (r$family == "negbin") {
    cat("\n  glm.nb default vs polished (max rel):",
        paste(names(r$check_max_rel_diff_glm_nb_default),
              signif(unlist(r$check_max_rel_diff_glm_nb_default), 3), collapse = ", "))
    cat("\n  glm.nb tight vs polished (max rel):",
        paste(names(r$check_max_rel_diff_glm_nb_tight),
              signif(unlist(r$check_max_rel_diff_glm_nb_tight), 3), collapse = ", "))
  }
  if (!is.null(r$check_plain_fit)) {
    cat("\n  plain glm vs extended MLE:", paste(names(r$check_plain_fit),
                                                 signif(unlist(r$check_plain_fit), 3),
                                                 collapse = ", "))
  }
}
cat("\n")
for (nm in names(composition)) {
  cc <- composition[[nm]]
  cat(sprintf("%s: chisq %.4f df %d p %.4g; fisher %s%s\n", nm, cc$chisq$statistic,
              cc$chisq$df, cc$chisq$p_value,
              if (is.null(cc[["fisher"]])) "n/a" else format(cc[["fisher"]]$p_value, digits = 6),
              if (is.null(cc$simulated)) "" else sprintf(" (MC fisher %.4g, chisq %.4g)",
                                                         cc$simulated$fisher_p_value,
                                                         cc$simulated$chisq_p_value)))
}
