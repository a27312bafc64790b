#!/usr/bin/env Rscript
# Reference values from R for bayessa's interval-censored code (issue 15 item 3):
# bayessa.frequentist.turnbull (the Turnbull NPMLE) and bayessa.frequentist.interval_pem (the
# piecewise-exponential model fitted by maximum likelihood under interval censoring). The
# Python tests (tests/frequentist/test_turnbull.py, test_interval_pem.py) read the files written
# here and never need R.
#
# Run from the repository root:   Rscript tests/reference/make_interval_reference.R
# Needs: R >= 4, survival (made with 3.5-3), npsurv (made with 0.5-0; it brings lsei), jsonlite
# (Debian: apt-get install r-base-core r-cran-survival r-cran-npsurv r-cran-jsonlite).
# Runs in ~10 s (most of it the tightened survfit EM).
#
# ---- data (simulated here, set.seed below; written as CSV and read back for every fit) ----
# One row per unit: id, x ("a"/"b"), L, R, [entry], kind ("exact"/"interval"/"left"/"right").
# (L, R] follows Surv(L, R, type = "interval2"): L == R exact event time, L < R event in (L, R],
# R missing/Inf right-censored at L, L missing or 0 left-censored (event in (0, R]).
# Simulation: hazard piecewise constant on CUTS = (0, 1, 2, 4, Inf] (right-closed pieces), rates
# `rates_a` for x = "a", times `hr_b` for "b". Each unit is inspected at visits
# entry + cumsum(U(0.2, 1.2), U(0.3, 1.5), ...) rounded to 0.05, up to an end of follow-up
# entry + U(2, 7) (the first visit is always kept). The event time T (conditional on T > entry)
# is seen exactly with probability p_exact when T <= last visit (rounded to 0.01, kept > entry);
# otherwise T <= first visit -> left-censored (L = entry, or 0 / NA when entry is 0),
# v_k < T <= v_k+1 -> (v_k, v_k+1], T > last visit -> right-censored at the last visit.
# Rounding makes ties: endpoints shared between units, exact times on visit times and on cuts.
#   ic_pwe.csv    300 units, rates_a (0.30, 0.20, 0.35, 0.25), hr_b 1.6, p_exact 0.2;
#                 left-censored coded L = 0, right-censored R = NA (empty field). No entry.
#   ic_exp.csv    300 units, rates_a 0.25 throughout (exponential), hr_b 0.7, p_exact 0.15;
#                 left-censored coded L = NA (empty), right-censored R = Inf. No entry.
#   ic_entry.csv  300 units, the ic_pwe hazard, delayed entry: entry ~ U(0, 2) rounded to 0.05
#                 for 70% of units, else 0; T drawn given T > entry (left truncation); a unit
#                 whose event precedes its first visit has L = entry (0 if entry = 0). PEM only
#                 (survreg and survfit cannot take left truncation with interval censoring).
#
# ---- survreg (JSON `survreg`) ----
# survreg(Surv(L, R, type = "interval2") ~ x (and ~ 1), dist = "exponential",
#         control = survreg.control(rel.tolerance = 1e-13, maxiter = 100)) on ic_pwe, ic_exp.
# survreg rejects L = 0 ("Invalid survival times for this distribution": it works on log time),
# so L = 0 is passed as NA (the same likelihood: S(0) = 1). Its parametrisation is the
# accelerated-failure-time one: log T = coef' z + W (scale 1), so the hazard is
# exp(-coef' z): the PEM's log rate = -(Intercept) and its x[b] effect = -xb. vcov is the
# inverse of the observed information (identical under the sign flip). loglik is the log density /
# probability of the data on the time scale (exact: log f(t)), the same as the PEM's.
# The tightened rel.tolerance (default 1e-9) makes the coefficients exact to ~1e-12.
#
# ---- Turnbull NPMLE (JSON `turnbull`) ----
# (1) survfit(Surv(L, R, type = "interval2") ~ 1 and ~ x): survival 3.5-3's survfitTurnbull.
#     It is NOT a plain innermost-interval EM: support points `jtimes` are the exact event times
#     and the midpoints of every adjacent (non-right endpoint, right endpoint) pair in the sorted
#     endpoints (ties: exact < right endpoint < left endpoint), so the NPMLE's mass in an
#     innermost interval (l, r] is put at (l + r)/2; exact and right-censored units enter a
#     weighted Kaplan-Meier as they are, the others as fractional events at the jtimes they
#     cover; Aitken acceleration every 5th iteration; it stops when the largest change of S
#     between iterations is below eps = 5e-5, hard-coded (no control argument). Two surprises:
#       * the hard-coded 5e-5 leaves the curve up to `stock_vs_npmle_max_abs` (below) from the
#         NPMLE: R's points that the NPMLE gives no mass (e.g. the midpoint between an exact time
#         and the next right endpoint) still carry mass ~1e-4 when it stops;
#       * left-censored units given with L = NA (status 2) whose R is before the first jtime are
#         turned into EXACT events at R (`who <- status == 2 & y[, 1] < mintime`), which is not
#         the NPMLE: edge case `left_na_before_first_jump` (survfit: jumps 1/3 at 1 and 2;
#         NPMLE: 2/3 in (0, 1]). With L = 0 (status 3, interval (0, R]) it is the NPMLE.
# (2) The same function with eps tightened to 1e-11 (a copy of survfitTurnbull with only the
#     stopping rule changed, `survfit_tight`): then it agrees with the NPMLE to ~1e-8 at its own
#     times (`tight_vs_npmle_max_abs`).
# (3) npsurv::npsurv(cbind(L, R), tol = 1e-13, maxit = 1000) (Wang's constrained Newton method,
#     CNM; L = NA -> 0, R = NA -> Inf): the NPMLE on the innermost intervals (left, right] (exact
#     times as points left = right), with masses p; `maxgrad` is max_j d_j - n (the KKT gradient
#     condition: 0 at the NPMLE), ll the log-likelihood sum log P(L_i < T <= R_i) (exact: P(T = t)).
# Comparing curves: S is identified except inside an innermost interval that has mass; survfit
# puts the drop at the midpoint, so a curve from innermost intervals is read at survfit's times
# with the "midpoint" rule: inside (l, r) S = S(l) before (l + r)/2 and S(r) from it on.
#
# ---- PEM maximum likelihood (JSON `pem`) ----
# log lambda_k(x) = alpha_k + beta [x == "b"] on the pieces (c_k, c_k+1] of the cuts. With
# H(t) = exp(eta) sum_k exp(alpha_k) |(c_k, c_k+1] & (0, t]| and L' = max(L, entry) (L = NA -> 0),
# one unit contributes
#   exact (L == R = t):   alpha_k(t) + eta - H(t)        (k(t): the piece with c_k < t <= c_k+1)
#   right (R = NA/Inf):   -H(L')
#   interval / left:      log(S(L') - S(R)) = -H(L') + log(1 - exp(-(H(R) - H(L'))))
#   plus + H(entry) (the likelihood given survival to entry).
# Written here from scratch with its analytic gradient; maximised by optim(BFGS, reltol 1e-14,
# maxit 10000), then Newton steps with optimHess (central differences of the analytic gradient,
# ndeps 1e-5) until max |gradient| < 1e-9. The standard errors come from the analytic Hessian
# (also written here); the numerical Hessian agrees with it (`hessian_numeric_vs_analytic_rel`).
# Cases: cuts (0, 1, 2, 4, Inf) ~ x on all three data sets, and cuts (0, Inf) ~ x and ~ 1 on
# ic_pwe and ic_exp, which must equal survreg's exponential fit (checked here: stopifnot 1e-7).
# Names: "interval[(0,1]]", ..., "interval[(4,inf]]", "x[b]".
#
# JSON: tests/reference/interval/interval_reference.json. Every double is written with 17
# significant digits (exact_json below), so it reads back as the same double: jsonlite's
# digits = NA keeps only 15, which moves e.g. survfit's midpoint time 0.5 * (6.4 + 6.45) =
# 6.4250000000000007 to 6.425, the other side of the drop. NA -> null, Inf -> "Inf",
# matrices as arrays of rows.
suppressPackageStartupMessages({
  library(survival)
  library(npsurv)
  library(jsonlite)
})

out_dir <- file.path("tests", "reference", "interval")
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
CUTS <- c(0, 1, 2, 4, Inf)
set.seed(20260315)

# ---------------------------------------------------------------- simulation
r_after <- function(start, rates, cuts) {
  # a piecewise-exponential time given T > start: H(T) = H(start) + Exp(1)
  K <- length(rates)
  Hc <- c(0, cumsum(rates[-K] * diff(cuts[-(K + 1)])))
  H <- function(t) {
    k <- max(1, findInterval(t, cuts, left.open = TRUE))
    Hc[k] + rates[k] * (t - cuts[k])
  }
  target <- H(start) + rexp(1)
  k <- max(which(Hc < target))
  cuts[k] + (target - Hc[k]) / rates[k]
}

simulate_ic <- function(n, rates_a, hr_b, p_exact, entry_prob = 0, left_code = "zero",
                        right_code = "na") {
  x <- sample(c("a", "b"), n, replace = TRUE)
  entry <- ifelse(runif(n) < entry_prob, round(runif(n, 0, 2) * 20) / 20, 0)
  L <- R <- numeric(n)
  kind <- character(n)
  for (i in seq_len(n)) {
    rates <- rates_a * (if (x[i] == "b") hr_b else 1)
    t <- r_after(entry[i], rates, CUTS)
    v <- round((entry[i] + cumsum(c(runif(1, 0.2, 1.2), runif(40, 0.3, 1.5)))) * 20) / 20
    end <- entry[i] + runif(1, 2, 7)
    v <- v[v <= end | seq_along(v) == 1]
    last <- v[length(v)]
    seen_exactly <- runif(1) < p_exact
    if (t <= last && seen_exactly) {
      te <- max(round(t * 100) / 100, round((entry[i] + 0.01) * 100) / 100)
      L[i] <- R[i] <- te
      kind[i] <- "exact"
    } else if (t <= v[1]) {
      L[i] <- entry[i]
      R[i] <- v[1]
      kind[i] <- "left"
    } else if (t <= last) {
      k <- max(which(v < t))
      L[i] <- v[k]
      R[i] <- v[k + 1]
      kind[i] <- "interval"
    } else {
      L[i] <- last
      R[i] <- Inf
      kind[i] <- "right"
    }
  }
  if (left_code == "na") L[kind == "left" & L == 0] <- NA
  if (right_code == "na") R[kind == "right"] <- NA
  d <- data.frame(id = seq_len(n), x = x, L = L, R = R, stringsAsFactors = FALSE)
  if (entry_prob > 0) d$entry <- entry
  d$kind <- kind
  d
}

write_read <- function(d, name) {
  path <- file.path(out_dir, name)
  write.csv(d, path, row.names = FALSE, na = "")
  back <- read.csv(path, stringsAsFactors = FALSE)
  stopifnot(nrow(back) == nrow(d), isTRUE(all.equal(back$L, d$L, tolerance = 0)),
            identical(is.na(back$R), is.na(d$R)),
            all(back$R[!is.na(d$R)] == d$R[!is.na(d$R)]))
  back
}

rates_pwe <- c(0.30, 0.20, 0.35, 0.25)
data_sets <- list(
  ic_pwe = write_read(simulate_ic(300, rates_pwe, 1.6, 0.2, left_code = "zero",
                                  right_code = "na"), "ic_pwe.csv"),
  ic_exp = write_read(simulate_ic(300, rep(0.25, 4), 0.7, 0.15, left_code = "na",
                                  right_code = "inf"), "ic_exp.csv"),
  ic_entry = write_read(simulate_ic(300, rates_pwe, 1.6, 0.2, entry_prob = 0.7,
                                    left_code = "zero", right_code = "na"), "ic_entry.csv")
)
data_meta <- list(
  ic_pwe = list(file = "ic_pwe.csv", rates_a = rates_pwe, hr_b = 1.6, p_exact = 0.2,
                left_censored_L = "0", right_censored_R = "NA (empty)", entry = FALSE),
  ic_exp = list(file = "ic_exp.csv", rates_a = rep(0.25, 4), hr_b = 0.7, p_exact = 0.15,
                left_censored_L = "NA (empty)", right_censored_R = "Inf", entry = FALSE),
  ic_entry = list(file = "ic_entry.csv", rates_a = rates_pwe, hr_b = 1.6, p_exact = 0.2,
                  left_censored_L = "entry (0 when entry is 0)", right_censored_R = "NA (empty)",
                  entry = TRUE, entry_prob = 0.7)
)
for (nm in names(data_sets)) {
  d <- data_sets[[nm]]
  data_meta[[nm]]$n <- nrow(d)
  data_meta[[nm]]$kinds <- as.list(table(factor(d$kind, c("exact", "interval", "left", "right"))))
  data_meta[[nm]]$x <- as.list(table(d$x))
  data_meta[[nm]]$exact_times_on_cuts <- sum(d$kind == "exact" & d$L %in% CUTS)
  ends <- c(d$L[d$kind != "exact"], d$R[d$kind %in% c("interval", "left")])
  data_meta[[nm]]$exact_times_on_endpoints <- sum(d$kind == "exact" & d$L %in% ends)
}

# Standard forms: L0 = lower bound (NA -> 0), Rinf = upper bound (NA -> Inf)
lower0 <- function(d) ifelse(is.na(d$L), 0, d$L)
upperinf <- function(d) ifelse(is.na(d$R), Inf, d$R)

# ---------------------------------------------------------------- survreg
survreg_case <- function(nm, formula_rhs) {
  d <- data_sets[[nm]]
  d$Ls <- ifelse(!is.na(d$L) & d$L == 0, NA, d$L)  # survreg cannot take log(0)
  f <- as.formula(paste("Surv(Ls, R, type = \"interval2\") ~", formula_rhs))
  m <- survreg(f, data = d, dist = "exponential",
               control = survreg.control(rel.tolerance = 1e-13, maxiter = 100))
  list(data = data_meta[[nm]]$file, call = paste0(
    "survreg(Surv(L, R, type = \"interval2\") ~ ", formula_rhs,
    ", dist = \"exponential\", control = survreg.control(rel.tolerance = 1e-13, maxiter = 100))"),
    names = I(names(coef(m))), coef = I(unname(coef(m))), vcov = unname(vcov(m)),
    loglik = m$loglik[2], loglik_null = m$loglik[1], iter = m$iter,
    log_rate = I(-unname(coef(m))))
}
survreg_cases <- list(
  ic_pwe_x = survreg_case("ic_pwe", "x"), ic_pwe_1 = survreg_case("ic_pwe", "1"),
  ic_exp_x = survreg_case("ic_exp", "x"), ic_exp_1 = survreg_case("ic_exp", "1")
)

# ---------------------------------------------------------------- PEM likelihood
piece_exposure <- function(t, cuts) {
  # n x K matrix |(c_k, c_k+1] & (0, t]|; t = Inf gives Inf in the last column
  K <- length(cuts) - 1
  lo <- matrix(cuts[1:K], length(t), K, byrow = TRUE)
  hi <- matrix(cuts[2:(K + 1)], length(t), K, byrow = TRUE)
  matrix(pmax(0, pmin(hi, t) - lo), length(t), K)
}

pem_setup <- function(d, cuts, covariate = TRUE, entry = NULL) {
  n <- nrow(d)
  L <- lower0(d)
  R <- upperinf(d)
  e <- if (is.null(entry)) rep(0, n) else d[[entry]]
  Lp <- pmax(L, e)
  exact <- L == R
  right <- is.infinite(R)
  ic <- !exact & !right
  K <- length(cuts) - 1
  piece <- findInterval(L, cuts, left.open = TRUE)  # c_k < t <= c_k+1 (for exact units)
  Z <- if (covariate) matrix(as.numeric(d$x == "b"), ncol = 1) else matrix(0, n, 0)
  E <- piece_exposure(Lp, cuts) - piece_exposure(e, cuts)  # survived exposure, entry -> L'
  U <- piece_exposure(ifelse(ic, R, 0), cuts) - piece_exposure(ifelse(ic, Lp, 0), cuts)
  list(n = n, K = K, p = ncol(Z), Z = Z, exact = exact, ic = ic, piece = piece, E = E, U = U,
       cuts = cuts)
}

# log-likelihood, gradient and Hessian in theta = (alpha_1..K, beta)
pem_loglik <- function(theta, s) {
  alpha <- theta[1:s$K]
  eta <- drop(s$Z %*% theta[-(1:s$K)])
  rate <- exp(outer(eta, alpha, "+"))  # n x K
  ll <- sum(alpha[s$piece[s$exact]] + eta[s$exact]) - sum(s$E * rate)
  D <- rowSums(s$U * rate)[s$ic]
  ll + sum(log(-expm1(-D)))
}

pem_grad <- function(theta, s) {
  alpha <- theta[1:s$K]
  eta <- drop(s$Z %*% theta[-(1:s$K)])
  rate <- exp(outer(eta, alpha, "+"))
  g1 <- 1 / expm1(rowSums(s$U * rate))  # g'(D) = 1 / (exp(D) - 1), used on ic rows only
  g1[!s$ic] <- 0
  # d ll / d alpha_k and d ll / d eta_i
  da <- tabulate(s$piece[s$exact], s$K) - colSums(s$E * rate) + colSums(g1 * s$U * rate)
  deta <- as.numeric(s$exact) - rowSums(s$E * rate) + g1 * rowSums(s$U * rate)
  c(da, drop(crossprod(s$Z, deta)))
}

pem_hessian <- function(theta, s) {
  K <- s$K
  p <- s$p
  alpha <- theta[1:K]
  eta <- drop(s$Z %*% theta[-(1:K)])
  rate <- exp(outer(eta, alpha, "+"))
  H <- matrix(0, K + p, K + p)
  for (i in seq_len(s$n)) {
    zi <- s$Z[i, ]
    for (k in 1:K) {  # Poisson part: - E_ik rate_ik z z'
      if (s$E[i, k] > 0) {
        z <- c(as.numeric(1:K == k), zi)
        H <- H - s$E[i, k] * rate[i, k] * tcrossprod(z)
      }
    }
    if (s$ic[i]) {  # g(D) = log(1 - exp(-D)): g' dD dD' ... no: g'' dD dD' + g' d2D
      D <- sum(s$U[i, ] * rate[i, ])
      g1 <- 1 / expm1(D)
      g2 <- -exp(D) / expm1(D)^2
      dD <- c(s$U[i, ] * rate[i, ], zi * D)
      d2D <- matrix(0, K + p, K + p)
      for (k in 1:K) {
        z <- c(as.numeric(1:K == k), zi)
        d2D <- d2D + s$U[i, k] * rate[i, k] * tcrossprod(z)
      }
      H <- H + g2 * tcrossprod(dD) + g1 * d2D
    }
  }
  H
}

pem_fit <- function(nm, cuts, covariate = TRUE, entry = NULL) {
  d <- data_sets[[nm]]
  s <- pem_setup(d, cuts, covariate, entry)
  nll <- function(th) -pem_loglik(th, s)
  ngr <- function(th) -pem_grad(th, s)
  th0 <- c(rep(log(0.25), s$K), rep(0, s$p))
  # the analytic gradient against central differences at the start
  num <- sapply(seq_along(th0), function(j) {
    h <- 1e-6
    e <- replace(numeric(length(th0)), j, h)
    (pem_loglik(th0 + e, s) - pem_loglik(th0 - e, s)) / (2 * h)
  })
  stopifnot(max(abs(num - pem_grad(th0, s))) < 1e-5)
  o <- optim(th0, nll, ngr, method = "BFGS", control = list(reltol = 1e-14, maxit = 10000))
  th <- o$par
  n_newton <- 0
  for (it in 1:50) {
    g <- pem_grad(th, s)
    if (max(abs(g)) < 1e-9) break
    Hn <- optimHess(th, nll, ngr, control = list(ndeps = rep(1e-5, length(th))))
    th <- th - solve(Hn, -g)
    n_newton <- n_newton + 1
  }
  g <- pem_grad(th, s)
  stopifnot(max(abs(g)) < 1e-9)
  Ha <- pem_hessian(th, s)
  Hn <- -optimHess(th, nll, ngr, control = list(ndeps = rep(1e-5, length(th))))
  hrel <- max(abs(Ha - Hn)) / max(abs(Ha))
  stopifnot(hrel < 1e-6)
  cov <- solve(-Ha)
  labels <- sprintf("(%s,%s]", format(cuts[-length(cuts)]), format(cuts[-1]))
  labels <- gsub(" ", "", gsub("Inf", "inf", labels))
  nms <- c(sprintf("interval[%s]", labels), if (covariate) "x[b]")
  list(data = data_meta[[nm]]$file, cuts = cuts, covariates = if (covariate) I("x") else I(character(0)),
       entry = entry, names = I(nms), coef = I(th), se = I(sqrt(diag(cov))), cov = cov,
       loglik = pem_loglik(th, s), max_abs_gradient = max(abs(g)), optim_convergence = o$convergence,
       optim_counts = unname(o$counts), newton_steps = n_newton,
       hessian_numeric_vs_analytic_rel = hrel,
       counts = list(exact = sum(s$exact), interval_or_left = sum(s$ic),
                     right = sum(!s$exact & !s$ic)))
}

pem_cases <- list(
  ic_pwe_x = pem_fit("ic_pwe", CUTS),
  ic_exp_x = pem_fit("ic_exp", CUTS),
  ic_entry_x = pem_fit("ic_entry", CUTS, entry = "entry"),
  ic_pwe_one_x = pem_fit("ic_pwe", c(0, Inf)),
  ic_pwe_one_1 = pem_fit("ic_pwe", c(0, Inf), covariate = FALSE),
  ic_exp_one_x = pem_fit("ic_exp", c(0, Inf)),
  ic_exp_one_1 = pem_fit("ic_exp", c(0, Inf), covariate = FALSE)
)
# one piece = survreg's exponential model
for (pair in list(c("ic_pwe_one_x", "ic_pwe_x"), c("ic_pwe_one_1", "ic_pwe_1"),
                  c("ic_exp_one_x", "ic_exp_x"), c("ic_exp_one_1", "ic_exp_1"))) {
  p <- pem_cases[[pair[1]]]
  r <- survreg_cases[[pair[2]]]
  stopifnot(max(abs(p$coef + r$coef) / pmax(1, abs(r$coef))) < 1e-7,
            max(abs(p$cov - r$vcov)) / max(abs(r$vcov)) < 1e-6,
            abs(p$loglik - r$loglik) < 1e-7 * abs(r$loglik))
  pem_cases[[pair[1]]]$survreg_case <- pair[2]
  pem_cases[[pair[1]]]$survreg_max_abs_diff_coef <- max(abs(p$coef + r$coef))
  pem_cases[[pair[1]]]$survreg_max_rel_diff_se <- max(abs(p$se / sqrt(diag(r$vcov)) - 1))
}

# ---------------------------------------------------------------- Turnbull
survfit_tight <- local({
  src <- deparse(survival:::survfitTurnbull)
  stopifnot(sum(grepl("eps > 5e-05", src, fixed = TRUE)) == 1)
  src <- sub("eps > 5e-05", "eps > .eps && iter < .maxiter", src, fixed = TRUE)
  g <- eval(parse(text = src))
  formals(g) <- c(formals(g), alist(.eps = 5e-05, .maxiter = 1e+06))
  environment(g) <- asNamespace("survival")
  g
})

curve_of <- function(fit) {
  list(time = fit$time, surv = fit$surv, n_risk = fit$n.risk, n_event = fit$n.event,
       n_censor = fit$n.censor)
}

midpoint_rule <- function(times, left, right, p) {
  # S at `times` from masses p on innermost intervals (left, right], drop at the midpoint
  at <- ifelse(left == right, left, (left + right) / 2)
  sapply(times, function(t) 1 - sum(p[at <= t]))
}

turnbull_group <- function(d, eps_tight) {
  y <- Surv(d$L, d$R, type = "interval2")
  n <- nrow(d)
  stock <- survfit(y ~ 1)
  # survfit.formula passes aeqSurv(y) (timefix; it changes nothing in these data)
  again <- survfit_tight(factor(rep(1, n)), aeqSurv(y), rep(1, n))
  stopifnot(isTRUE(all.equal(unclass(aeqSurv(y)), unclass(y))),
            isTRUE(all.equal(again$surv, stock$surv, tolerance = 0)),
            identical(again$time, stock$time))
  t0 <- proc.time()[["elapsed"]]
  tight <- survfit_tight(factor(rep(1, n)), aeqSurv(y), rep(1, n), .eps = eps_tight)
  t_tight <- proc.time()[["elapsed"]] - t0
  np <- npsurv(cbind(lower0(d), upperinf(d)), tol = 1e-13, maxit = 1000)
  f <- np$f
  mid_stock <- midpoint_rule(stock$time, f$left, f$right, f$p)
  mid_tight <- midpoint_rule(tight$time, f$left, f$right, f$p)
  list(
    n = n,
    survfit = curve_of(stock),
    survfit_tight = list(eps = eps_tight, time = tight$time, surv = tight$surv,
                         seconds = t_tight),
    npsurv = list(left = f$left, right = f$right, p = f$p, ll = np$ll, maxgrad = np$maxgrad,
                  numiter = np$numiter, convergence = np$convergence, method = np$method),
    checks = list(stock_vs_npmle_max_abs = max(abs(stock$surv - mid_stock)),
                  tight_vs_npmle_max_abs = max(abs(tight$surv - mid_tight)))
  )
}

turnbull_case <- function(nm, eps_tight = 1e-11) {
  d <- data_sets[[nm]]
  by_x <- lapply(split(d, d$x), turnbull_group, eps_tight = eps_tight)
  # survfit ~ x runs the same EM per stratum: identical to the per-group ~ 1 fits
  fx <- survfit(Surv(L, R, type = "interval2") ~ x, data = d)
  for (g in names(by_x)) {
    sub <- fx[paste0("x=", g)]
    stopifnot(isTRUE(all.equal(sub$surv, by_x[[g]]$survfit$surv, tolerance = 1e-14)))
  }
  list(data = data_meta[[nm]]$file,
       call = "survfit(Surv(L, R, type = \"interval2\") ~ 1) (all) and ~ x (groups)",
       all = turnbull_group(d, eps_tight), groups = by_x)
}

turnbull_cases <- list(ic_pwe = turnbull_case("ic_pwe"), ic_exp = turnbull_case("ic_exp"))

# edge cases: R's left-censored (L = NA) rule, and the same data with L = 0
edge <- list()
for (code in c("na", "zero")) {
  d <- data.frame(id = 1:3, L = c(NA, NA, 3), R = c(1, 2, 5))
  if (code == "zero") d$L[is.na(d$L)] <- 0
  fit <- survfit(Surv(L, R, type = "interval2") ~ 1, data = d)
  np <- npsurv(cbind(lower0(d), upperinf(d)), tol = 1e-13)
  edge[[paste0("left_", code, if (code == "na") "_before_first_jump" else "_is_interval")]] <- list(
    data_inline = as.list(d), survfit = curve_of(fit),
    npsurv = list(left = np$f$left, right = np$f$right, p = np$f$p, ll = np$ll),
    note = if (code == "na")
      "survfit makes left-censored units (L = NA) with R < its first jump exact at R: not the NPMLE"
    else "with L = 0 the unit is interval-censored on (0, R] and survfit gives the NPMLE")
}
stopifnot(isTRUE(all.equal(edge$left_na_before_first_jump$survfit$surv, c(2, 1, 0) / 3)),
          isTRUE(all.equal(edge$left_zero_is_interval$npsurv$p, c(2, 1) / 3)))

# ---------------------------------------------------------------- write
num_json <- function(x) {
  one <- function(v) {
    ifelse(is.na(v), "null",
           ifelse(is.infinite(v), ifelse(v > 0, "\"Inf\"", "\"-Inf\""), sprintf("%.17g", v)))
  }
  arr <- function(v) paste0("[", paste(one(v), collapse = ","), "]")
  if (is.matrix(x)) {
    return(structure(paste0("[", paste(apply(x, 1, arr), collapse = ","), "]"), class = "json"))
  }
  if (length(x) == 1 && !inherits(x, "AsIs")) return(structure(one(x), class = "json"))
  structure(arr(unclass(x)), class = "json")
}
exact_json <- function(x) {  # every double as verbatim JSON with 17 significant digits
  if (is.list(x) && !is.data.frame(x)) {
    nm <- names(x)
    x <- lapply(x, exact_json)
    names(x) <- nm
    return(x)
  }
  if (is.double(x)) return(num_json(x))
  x
}

out <- list(
  meta = list(
    generated_by = "tests/reference/make_interval_reference.R",
    command = "Rscript tests/reference/make_interval_reference.R",
    r_version = R.version.string,
    survival_version = as.character(packageVersion("survival")),
    npsurv_version = as.character(packageVersion("npsurv")),
    jsonlite_version = as.character(packageVersion("jsonlite")),
    date = format(Sys.Date()),
    seed = 20260315,
    cuts = CUTS,
    survfit_turnbull_source = paste("survival 3.5-3 R function survfitTurnbull (stopping rule",
                                    "`while (eps > 5e-05)`, eps = max |change of S|)"),
    matrices = "JSON arrays of rows (row-major)"
  ),
  data = data_meta,
  survreg = survreg_cases,
  pem = pem_cases,
  turnbull = turnbull_cases,
  turnbull_edge_cases = edge
)
path <- file.path(out_dir, "interval_reference.json")
writeLines(toJSON(exact_json(out), json_verbatim = TRUE, na = "null", auto_unbox = TRUE,
                  pretty = TRUE, null = "null"), path)
cat("wrote", path, "\n")

# ---------------------------------------------------------------- summary
for (nm in names(data_meta)) {
  cat(sprintf("%s: %s\n", nm, paste(names(data_meta[[nm]]$kinds), unlist(data_meta[[nm]]$kinds),
                                     collapse = ", ")))
}
for (nm in names(pem_cases)) {
  p <- pem_cases[[nm]]
  cat(sprintf("PEM %s: loglik %.10g, newton %d, |grad| %.2g, hess rel %.2g\n", nm, p$loglik,
              p$newton_steps, p$max_abs_gradient, p$hessian_numeric_vs_analytic_rel))
}
for (nm in names(turnbull_cases)) {
  tc <- turnbull_cases[[nm]]
  for (g in c(list(all = tc$all), tc$groups)) {
    cat(sprintf("Turnbull %s n=%d: stock-NPMLE %.3g, tight-NPMLE %.3g (%.1fs), npsurv maxgrad %.3g iter %d\n",
                nm, g$n, g$checks$stock_vs_npmle_max_abs, g$checks$tight_vs_npmle_max_abs,
                g$survfit_tight$seconds, g$npsurv$maxgrad, g$npsurv$numiter))
  }
}
