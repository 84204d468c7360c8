# Reference values for redif's effect-scale boundaries (issue 15 item 5).
# Run: Rscript tests/design/data/rpact_effect_scale.R  (writes rpact_effect_scale.json beside this file)
# rpact 3.3.4: criticalValuesEffectScale(Upper/Lower) and futilityBoundsEffectScale of
# getSampleSizeSurvival (hazard ratio) and getSampleSizeRates (rate difference), with the z boundaries
# and the events / patients per stage they are computed from.
suppressMessages({library(rpact); library(jsonlite)})
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)])))
nz <- function(x) if (is.null(x) || length(x) == 0 || all(is.na(x))) NULL else as.numeric(x)
na2null <- function(x) lapply(as.numeric(x), function(v) if (is.na(v)) NULL else v)

mk <- function(spec) {
  a <- list(kMax = spec$k, alpha = spec$alpha, beta = spec$beta, sided = spec$sided, typeOfDesign = spec$type)
  if (!is.null(spec$info)) a$informationRates <- spec$info
  if (!is.null(spec$gamma_a)) a$gammaA <- spec$gamma_a
  if (!is.null(spec$bs)) { a$typeBetaSpending <- spec$bs; a$bindingFutility <- spec$binding }
  suppressWarnings(do.call(getDesignGroupSequential, a))
}
out <- list(survival = list(), rates = list())
surv <- list(
  list(k = 3, alpha = 0.025, beta = 0.2, sided = 1, type = "asOF", hr = 0.6, ratio = 1),
  list(k = 3, alpha = 0.025, beta = 0.2, sided = 1, type = "asOF", bs = "bsOF", binding = FALSE, hr = 0.6, ratio = 2),
  list(k = 4, alpha = 0.05, beta = 0.1, sided = 2, type = "OF", hr = 0.7, ratio = 1),
  list(k = 2, alpha = 0.025, beta = 0.2, sided = 1, type = "asP", info = c(0.4, 1), hr = 1.5, ratio = 1),
  list(k = 3, alpha = 0.025, beta = 0.2, sided = 1, type = "asHSD", gamma_a = -4, bs = "bsP", binding = TRUE,
       hr = 0.65, ratio = 1.5)
)
for (sp in surv) {
  d <- mk(sp)
  s <- getSampleSizeSurvival(d, hazardRatio = sp$hr, lambda2 = log(2) / 12, accrualTime = c(0, 24),
                             followUpTime = 12, allocationRatioPlanned = sp$ratio)
  out$survival[[length(out$survival) + 1]] <- list(input = sp,
    criticalValues = as.numeric(d$criticalValues), futilityBounds = nz(d$futilityBounds),
    eventsPerStage = as.numeric(s$eventsPerStage), directionUpper = s$directionUpper,
    criticalValuesEffectScale = as.numeric(s$criticalValuesEffectScale),
    criticalValuesEffectScaleLower = nz(s$criticalValuesEffectScaleLower),
    criticalValuesEffectScaleUpper = nz(s$criticalValuesEffectScaleUpper),
    futilityBoundsEffectScale = nz(s$futilityBoundsEffectScale))
}
rates <- list(
  list(k = 2, alpha = 0.025, beta = 0.2, sided = 1, type = "asOF", p1 = 0.6, p2 = 0.35, ratio = 1),
  list(k = 3, alpha = 0.025, beta = 0.2, sided = 1, type = "asOF", bs = "bsOF", binding = FALSE,
       p1 = 0.6, p2 = 0.35, ratio = 2),
  list(k = 3, alpha = 0.05, beta = 0.2, sided = 2, type = "P", p1 = 0.5, p2 = 0.3, ratio = 1),
  list(k = 4, alpha = 0.025, beta = 0.1, sided = 1, type = "asKD", gamma_a = 2, info = c(0.2, 0.45, 0.7, 1),
       p1 = 0.45, p2 = 0.25, ratio = 1),
  list(k = 2, alpha = 0.025, beta = 0.2, sided = 1, type = "asOF", p1 = 0.3, p2 = 0.55, ratio = 1)
)
for (sp in rates) {
  d <- mk(sp)
  s <- getSampleSizeRates(d, pi1 = sp$p1, pi2 = sp$p2, allocationRatioPlanned = sp$ratio)
  out$rates[[length(out$rates) + 1]] <- list(input = sp,
    criticalValues = as.numeric(d$criticalValues), futilityBounds = nz(d$futilityBounds),
    numberOfSubjects = as.numeric(s$numberOfSubjects), directionUpper = s$directionUpper,
    criticalValuesEffectScale = na2null(s$criticalValuesEffectScale),
    criticalValuesEffectScaleLower = if (is.null(nz(s$criticalValuesEffectScaleLower))) NULL else
      na2null(s$criticalValuesEffectScaleLower),
    criticalValuesEffectScaleUpper = if (is.null(nz(s$criticalValuesEffectScaleUpper))) NULL else
      na2null(s$criticalValuesEffectScaleUpper),
    futilityBoundsEffectScale = if (is.null(nz(s$futilityBoundsEffectScale))) NULL else
      na2null(s$futilityBoundsEffectScale))
}
out$rpact <- as.character(packageVersion("rpact"))
write(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", pretty = TRUE),
      file.path(here, "rpact_effect_scale.json"))
