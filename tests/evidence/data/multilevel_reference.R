# Regenerates tests/evidence/data/multilevel_reference.json with R metafor (rma.mv, nested random effects).
#   Rscript tests/evidence/data/multilevel_reference.R > tests/evidence/data/multilevel_reference.json
# Run from the repository root. It (re)writes tests/evidence/data/konstantopoulos2011.csv from metafor's
# dat.konstantopoulos2011 and reads the other CSV files of the folder as they are committed.
# Convergence is tightened (rel.tol 1e-12, else 1e-10) so that the reference is the optimum, not nlminb's default stop.
suppressMessages({library(metafor); library(jsonlite)})
dir <- "tests/evidence/data"
ctrl <- list(rel.tol = 1e-12, iter.max = 10000, eval.max = 10000)
ctrl2 <- list(rel.tol = 1e-10, iter.max = 10000, eval.max = 10000)
k11 <- dat.konstantopoulos2011
write.csv(data.frame(study = paste0("d", k11$district, "s", k11$school), district = k11$district,
                     school = k11$school, yi = k11$yi, vi = k11$vi, year = k11$year),
          file.path(dir, "konstantopoulos2011.csv"), row.names = FALSE, quote = FALSE)
fit <- function(dat, outer, inner, method, mods = NULL, measure = "GEN") {
  dat$outer_ <- dat[[outer]]; dat$inner_ <- dat[[inner]]
  if (measure != "GEN") dat <- escalc(measure = measure, xi = events, ni = total, data = dat)
  f <- as.formula(paste("~", if (is.null(mods)) "1" else paste(mods, collapse = " + ")))
  # nlminb may stop short of rel.tol 1e-12 when a component sits at the boundary: then 1e-10.
  res <- tryCatch(rma.mv(yi, vi, mods = f, random = ~ 1 | outer_/inner_, data = dat, method = method,
                         control = ctrl),
                  error = function(e) rma.mv(yi, vi, mods = f, random = ~ 1 | outer_/inner_, data = dat,
                                             method = method, control = ctrl2))
  p <- length(res$beta)
  pr <- if (p == 1) predict(res) else predict(res, newmods = rep(0, p - 1))
  tr <- if (measure == "PLO") {
    if (p == 1) predict(res, transf = transf.ilogit) else predict(res, newmods = rep(0, p - 1),
                                                                    transf = transf.ilogit)
  } else if (measure == "PFT") predict(res, transf = transf.ipft.hm, targs = list(ni = dat$total)) else pr
  list(k = res$k, sigma2 = res$sigma2, s_nlevels = res$s.nlevels, beta = c(res$beta),
       names = rownames(res$beta), se = res$se, zval = res$zval, pval = res$pval, ci_lb = res$ci.lb,
       ci_ub = res$ci.ub, QE = res$QE, QEdf = res$k - p, QEp = res$QEp, QM = res$QM, QMp = res$QMp,
       logLik = c(logLik(res)), pi_lb = pr$pi.lb, pi_ub = pr$pi.ub, est = tr$pred, est_ci_lb = tr$ci.lb,
       est_ci_ub = tr$ci.ub, est_pi_lb = tr$pi.lb, est_pi_ub = tr$pi.ub)
}
k11csv <- read.csv(file.path(dir, "konstantopoulos2011.csv"))
arms <- read.csv(file.path(dir, "multilevel_arms.csv"))
homog <- read.csv(file.path(dir, "multilevel_homog.csv"))
out <- list(metafor_version = as.character(packageVersion("metafor")))
for (m in c("REML", "ML")) {
  out[[paste0("k11_", m)]] <- fit(k11csv, "district", "school", m)
  out[[paste0("k11_", m, "_year")]] <- fit(k11csv, "district", "school", m, mods = "year")
  out[[paste0("arms_", m)]] <- fit(arms, "trial", "arm", m, measure = "PLO")
  out[[paste0("arms_", m, "_genotype")]] <- fit(arms, "trial", "arm", m, mods = "genotype", measure = "PLO")
  out[[paste0("arms_", m, "_genotype_weeks")]] <- fit(arms, "trial", "arm", m, mods = c("genotype", "weeks"),
                                                     measure = "PLO")
  out[[paste0("homog_", m)]] <- fit(homog, "trial", "arm", m, measure = "PLO")
}
out$homog_REML_PFT <- fit(homog, "trial", "arm", "REML", measure = "PFT")
cat(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "\n")
