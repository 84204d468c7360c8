# Regenerates tests/evidence/data/metafor_reference.json with R metafor (3.8-1 here) and lme4.
#   Rscript tests/evidence/data/metafor_reference.R > tests/evidence/data/metafor_reference.json
# Convergence settings are tightened (threshold/tol 1e-12) so that the reference is the exact
# optimum, not metafor's default stopping point; this changes values only beyond the 5th decimal.
suppressMessages({library(metafor); library(jsonlite)})
tight <- list(threshold = 1e-12, tol = 1e-12)
out <- list()
pool <- function(res, transf = NULL, targs = NULL) {
  pr <- if (is.null(transf)) predict(res) else predict(res, transf = transf, targs = targs)
  pra <- predict(res)
  r <- list(mu = c(res$beta), se = res$se, zval = res$zval, pval = res$pval,
            ci_lb = res$ci.lb, ci_ub = res$ci.ub, mu_pi_lb = pra$pi.lb, mu_pi_ub = pra$pi.ub,
            est = pr$pred, est_ci_lb = pr$ci.lb, est_ci_ub = pr$ci.ub,
            est_pi_lb = pr$pi.lb, est_pi_ub = pr$pi.ub,
            tau2 = res$tau2, se_tau2 = res$se.tau2, I2 = res$I2, H2 = res$H2, QE = res$QE, QEp = res$QEp,
            k = res$k, weights = unname(weights(res)))
  if (!is.element(res$method, c("FE", "EE")) && !inherits(res, "rma.glmm")) {
    ci <- confint(res, control = list(tol = 1e-12))$random
    r$tau2_ci <- unname(ci["tau^2", 2:3]); r$I2_ci <- unname(ci["I^2(%)", 2:3]); r$H2_ci <- unname(ci["H^2", 2:3])
  }
  r
}
# --- dat.bcg, log risk ratios -------------------------------------------------------------
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
out$bcg <- list(yi = c(bcg$yi), vi = c(bcg$vi), ablat = bcg$ablat, year = bcg$year, alloc = bcg$alloc)
for (m in c("EE", "DL", "HE", "SJ", "ML", "REML", "EB", "PM", "HS")) {
  for (kh in c(FALSE, TRUE)) {
    res <- rma(yi, vi, data = bcg, method = m, test = if (kh) "knha" else "z", control = tight)
    out[[paste0("bcg_", m, if (kh) "_knha" else "")]] <- pool(res)
  }
}
# 90% level (CI, PI and Q-profile CI all at 90%)
res <- rma(yi, vi, data = bcg, method = "REML", test = "knha", level = 90, control = tight)
out$bcg_REML_knha_90 <- pool(res)
res <- rma(yi, vi, data = bcg, method = "DL", level = 90, control = tight)
out$bcg_DL_90 <- pool(res)
# --- proportions: dat.pritz1997 (studies with x = n) and dat.nielweise2007 (zeros) -------------
pr <- dat.pritz1997; nw <- dat.nielweise2007
out$pritz <- list(xi = pr$xi, ni = pr$ni)
out$niel <- list(ai = nw$ai, n1i = nw$n1i, ci = nw$ci, n2i = nw$n2i)
tf <- list(PR = NULL, PLO = transf.ilogit, PAS = transf.iarcsin, PFT = transf.ipft.hm)
for (d in c("pritz", "niel")) {
  x <- if (d == "pritz") pr$xi else nw$ai; n <- if (d == "pritz") pr$ni else nw$n1i
  for (ms in names(tf)) for (m in c("DL", "REML")) {
    es <- escalc(measure = ms, xi = x, ni = n)
    res <- rma(yi, vi, data = es, method = m, control = tight)
    r <- pool(res, transf = tf[[ms]], targs = if (ms == "PFT") list(ni = n) else NULL)
    r$yi <- c(es$yi); r$vi <- c(es$vi)
    out[[paste(d, ms, m, sep = "_")]] <- r
  }
}
# knha on proportions
res <- rma(measure = "PLO", xi = xi, ni = ni, data = pr, method = "REML", test = "knha", control = tight)
out$pritz_PLO_REML_knha <- pool(res, transf = transf.ilogit)
# --- GLMM (lme4, nAGQ = 7) ----------------------------------------------------------------------
glmm <- function(x, n) {
  res <- rma.glmm(measure = "PLO", xi = x, ni = n, method = "ML")
  p <- predict(res); pt <- predict(res, transf = transf.ilogit)
  list(mu = c(res$beta), se = res$se, ci_lb = res$ci.lb, ci_ub = res$ci.ub, tau2 = res$tau2,
       I2 = res$I2, H2 = res$H2, QE_Wld = res$QE.Wld, QE_LRT = res$QE.LRT, mu_pi_lb = p$pi.lb,
       mu_pi_ub = p$pi.ub, est = pt$pred, est_ci_lb = pt$ci.lb, est_ci_ub = pt$ci.ub,
       est_pi_lb = pt$pi.lb, est_pi_ub = pt$pi.ub)
}
out$glmm_pritz <- glmm(pr$xi, pr$ni)
out$glmm_niel_ctrl <- glmm(nw$ci, nw$n2i)
out$glmm_niel_trt <- glmm(nw$ai, nw$n1i)
db <- dat.debruin2009
out$debruin <- list(xi = db$xi, ni = db$ni, ethnicity = db$ethnicity, patients = db$patients,
                    select = db$select, scq = db$scq)
out$glmm_debruin <- glmm(db$xi, db$ni)
# --- subgroups (separate tau2) and the between test -----------------------------------------
sub <- function(es, g, method, transf = NULL) {
  lev <- sort(unique(g)); r <- list()
  for (l in lev) {
    res <- rma(yi, vi, data = es, subset = g == l, method = method, control = tight)
    r[[l]] <- pool(res, transf = transf)
  }
  est <- sapply(r, function(z) z$mu); se <- sapply(r, function(z) z$se)
  bt <- rma(est, sei = se, method = "EE")
  list(groups = r, Qb = bt$QE, Qb_p = bt$QEp, Qb_df = length(lev) - 1)
}
out$sub_bcg_alloc <- sub(bcg, bcg$alloc, "REML")
esd <- escalc(measure = "PLO", xi = xi, ni = ni, data = db)
out$sub_debruin_ethnicity <- sub(esd, db$ethnicity, "REML", transf.ilogit)
out$sub_debruin_ethnicity_DL <- sub(esd, db$ethnicity, "DL", transf.ilogit)
# --- meta-regression --------------------------------------------------------------------------
reg <- function(res) {
  list(coef = unname(c(res$beta)), se = res$se, zval = res$zval, pval = res$pval, ci_lb = res$ci.lb,
       ci_ub = res$ci.ub, names = rownames(res$beta), QM = res$QM, QMp = res$QMp, QE = res$QE,
       QEp = res$QEp, R2 = res$R2, tau2 = res$tau2, I2 = res$I2, H2 = res$H2)
}
out$reg_bcg_ablat_year <- reg(rma(yi, vi, mods = ~ ablat + year, data = bcg, method = "REML", control = tight))
out$reg_bcg_ablat_year_knha <- reg(rma(yi, vi, mods = ~ ablat + year, data = bcg, method = "REML",
                                       test = "knha", control = tight))
out$reg_bcg_ablat_alloc <- reg(rma(yi, vi, mods = ~ ablat + alloc, data = bcg, method = "REML", control = tight))
out$reg_bcg_ablat_DL <- reg(rma(yi, vi, mods = ~ ablat, data = bcg, method = "DL"))
out$reg_bcg_ablat_EE <- reg(rma(yi, vi, mods = ~ ablat, data = bcg, method = "EE"))
out$reg_debruin <- reg(rma(yi, vi, mods = ~ scq + patients + select, data = esd, method = "REML", control = tight))
# --- leave-one-out, influence -----------------------------------------------------------------
res <- rma(yi, vi, data = bcg, method = "REML", control = tight)
l1 <- leave1out(res)
out$l1o_bcg <- list(estimate = l1$estimate, se = l1$se, zval = l1$zval, pval = l1$pval, ci_lb = l1$ci.lb,
                    ci_ub = l1$ci.ub, Q = l1$Q, Qp = l1$Qp, tau2 = l1$tau2, I2 = l1$I2, H2 = l1$H2)
inf <- influence(res)
out$inf_bcg <- list(rstudent = inf$inf$rstudent, dffits = inf$inf$dffits, cook = inf$inf$cook.d,
                    covr = inf$inf$cov.r, tau2_del = inf$inf$tau2.del, QE_del = inf$inf$QE.del,
                    hat = inf$inf$hat, weight = inf$inf$weight, dfbs = inf$dfbs$intrcpt,
                    inf = inf$is.infl)
resm <- rma(yi, vi, mods = ~ ablat, data = bcg, method = "REML", control = tight)
infm <- influence(resm)
out$inf_bcg_ablat <- list(rstudent = infm$inf$rstudent, dffits = infm$inf$dffits, cook = infm$inf$cook.d,
                          covr = infm$inf$cov.r, tau2_del = infm$inf$tau2.del, hat = infm$inf$hat,
                          weight = infm$inf$weight, dfbs_int = infm$dfbs$intrcpt, dfbs_ablat = infm$dfbs$ablat)
resk <- rma(yi, vi, data = bcg, method = "REML", test = "knha", control = tight)
infk <- influence(resk)
out$inf_bcg_knha <- list(rstudent = infk$inf$rstudent, dffits = infk$inf$dffits, cook = infk$inf$cook.d,
                         covr = infk$inf$cov.r, dfbs = infk$dfbs$intrcpt)
# --- publication bias ---------------------------------------------------------------------------
eg <- regtest(res)
out$regtest_bcg <- list(zval = eg$zval, pval = eg$pval, est = c(eg$est), ci_lb = eg$ci.lb, ci_ub = eg$ci.ub)
egk <- regtest(resk)
out$regtest_bcg_knha <- list(zval = egk$zval, pval = egk$pval, ddf = egk$ddf, est = c(egk$est),
                             ci_lb = egk$ci.lb, ci_ub = egk$ci.ub)
rk <- ranktest(res)
out$ranktest_bcg <- list(tau = unname(rk$tau), pval = rk$pval)
hk <- dat.hackshaw1998
resh <- rma(yi, vi, data = hk, method = "REML", control = tight)
out$hack <- list(yi = c(hk$yi), vi = c(hk$vi))
rkh <- ranktest(resh)
out$ranktest_hack <- list(tau = unname(rkh$tau), pval = rkh$pval)
# ties (two identical studies, 11/29): cor.test falls back to the tie-corrected normal approximation
rkd <- suppressWarnings(ranktest(rma(yi, vi, data = esd, method = "REML")))
out$ranktest_debruin <- list(tau = unname(rkd$tau), pval = rkd$pval)
tfo <- function(t) list(k0 = t$k0, se_k0 = t$se.k0, side = t$side, est = c(t$beta), se = t$se,
                         ci_lb = t$ci.lb, ci_ub = t$ci.ub, tau2 = t$tau2, yi = c(t$yi), vi = c(t$vi))
out$tf_bcg <- tfo(trimfill(res))
out$tf_hack <- tfo(trimfill(resh))
out$tf_hack_R0 <- tfo(trimfill(resh, estimator = "R0"))
out$tf_hack_Q0 <- tfo(trimfill(resh, estimator = "Q0"))
out$tf_bcg_right <- tfo(trimfill(res, side = "right"))
out$tf_hack_DL <- tfo(trimfill(rma(yi, vi, data = hk, method = "DL")))
eh <- regtest(resh)
out$regtest_hack <- list(zval = eh$zval, pval = eh$pval, est = c(eh$est), ci_lb = eh$ci.lb, ci_ub = eh$ci.ub)
# --- per-study intervals: Clopper-Pearson (binom.test) and Wilson (prop.test, no correction) ------
xs <- c(0, 1, 16, 10, 43, 58, 12); ns <- c(116, 44, 17, 12, 58, 68, 12)
out$study_ci <- list(x = xs, n = ns,
  cp_lb = sapply(seq_along(xs), function(i) binom.test(xs[i], ns[i])$conf.int[1]),
  cp_ub = sapply(seq_along(xs), function(i) binom.test(xs[i], ns[i])$conf.int[2]),
  wi_lb = sapply(seq_along(xs), function(i) prop.test(xs[i], ns[i], correct = FALSE)$conf.int[1]),
  wi_ub = sapply(seq_along(xs), function(i) prop.test(xs[i], ns[i], correct = FALSE)$conf.int[2]),
  cp90_lb = sapply(seq_along(xs), function(i) binom.test(xs[i], ns[i], conf.level = 0.9)$conf.int[1]),
  cp90_ub = sapply(seq_along(xs), function(i) binom.test(xs[i], ns[i], conf.level = 0.9)$conf.int[2]))
cat(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = FALSE))
