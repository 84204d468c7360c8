# Reference values for redif's group-sequential designs and sample sizes (issue 15).
# Run: Rscript tests/design/data/rpact_reference.R  (writes rpact_reference.json beside this file)
# rpact 3.3.4 (Wassmer & Brannath 2016): getDesignGroupSequential, getDesignCharacteristics,
# getSampleSizeRates, getSampleSizeMeans, getSampleSizeSurvival. Default tolerance (1e-8).
suppressMessages({library(rpact); library(jsonlite)})
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)])))
nz <- function(x) if (is.null(x) || length(x) == 0 || all(is.na(x))) NULL else as.numeric(x)

designs <- list(); i <- 0
add_design <- function(spec) {
  a <- list(kMax = spec$k, alpha = spec$alpha, beta = spec$beta, sided = spec$sided,
            typeOfDesign = spec$type)
  if (!is.null(spec$info)) a$informationRates <- spec$info
  if (!is.null(spec$delta_wt)) a$deltaWT <- spec$delta_wt
  if (!is.null(spec$gamma_a)) a$gammaA <- spec$gamma_a
  if (!is.null(spec$bs)) { a$typeBetaSpending <- spec$bs; a$bindingFutility <- spec$binding
                           if (!is.null(spec$gamma_b)) a$gammaB <- spec$gamma_b }
  d <- suppressWarnings(do.call(getDesignGroupSequential, a))
  ch <- getDesignCharacteristics(d)
  i <<- i + 1
  designs[[i]] <<- list(input = spec,
    criticalValues = as.numeric(d$criticalValues), futilityBounds = nz(d$futilityBounds),
    alphaSpent = as.numeric(d$alphaSpent), betaSpent = nz(d$betaSpent),
    informationRates = as.numeric(d$informationRates),
    inflationFactor = ch$inflationFactor, shift = ch$shift, nFixed = ch$nFixed,
    power = as.numeric(ch$power), rejectionProbabilities = as.numeric(ch$rejectionProbabilities),
    futilityProbabilities = nz(ch$futilityProbabilities),
    averageSampleNumber0 = ch$averageSampleNumber0, averageSampleNumber01 = ch$averageSampleNumber01,
    averageSampleNumber1 = ch$averageSampleNumber1)
}
unequal <- list(`2` = c(0.4, 1), `3` = c(0.3, 0.65, 1), `4` = c(0.2, 0.45, 0.7, 1), `5` = c(0.15, 0.3, 0.5, 0.75, 1))
types <- list(list(type = "OF"), list(type = "P"), list(type = "WT", delta_wt = 0.25),
              list(type = "asOF"), list(type = "asP"), list(type = "asKD", gamma_a = 2),
              list(type = "asHSD", gamma_a = -4))
for (k in 2:5) for (tp in types) for (sided in 1:2) for (ur in c(FALSE, TRUE)) {
  spec <- c(list(k = k, alpha = if (sided == 1) 0.025 else 0.05, beta = 0.2, sided = sided), tp)
  if (ur) spec$info <- unequal[[as.character(k)]]
  add_design(spec)
}
bsl <- list(list(bs = "bsOF"), list(bs = "bsP"), list(bs = "bsKD", gamma_b = 2), list(bs = "bsHSD", gamma_b = -2))
# beta spending: each (k, type) with every beta-spending function once, binding and unequal rates cycling
j <- 0
for (k in 2:5) for (tp in types[4:7]) for (bs in bsl) {
  j <- j + 1; binding <- j %% 2 == 0; ur <- (j %/% 2) %% 2 == 1
  spec <- c(list(k = k, alpha = 0.025, beta = 0.2, sided = 1, binding = binding), tp, bs)
  if (ur) spec$info <- unequal[[as.character(k)]]
  add_design(spec)
}
add_design(list(k = 3, alpha = 0.05, beta = 0.1, sided = 1, type = "asOF", bs = "bsOF", binding = FALSE))
add_design(list(k = 4, alpha = 0.01, beta = 0.1, sided = 2, type = "P"))

gs_args <- function(s) {
  if (is.null(s$k) || s$k == 1) return(getDesignGroupSequential(kMax = 1, alpha = s$alpha, beta = s$beta, sided = s$sided))
  a <- list(kMax = s$k, alpha = s$alpha, beta = s$beta, sided = s$sided, typeOfDesign = s$type)
  if (!is.null(s$bs)) { a$typeBetaSpending <- s$bs; a$bindingFutility <- s$binding }
  if (!is.null(s$info)) a$informationRates <- s$info
  suppressWarnings(do.call(getDesignGroupSequential, a))
}

rates <- list(); i <- 0
for (s in list(
  list(p1 = 0.6, p2 = 0.35, alpha = 0.025, beta = 0.2, sided = 1, ratio = 1),
  list(p1 = 0.6, p2 = 0.35, alpha = 0.05, beta = 0.2, sided = 2, ratio = 1),
  list(p1 = 0.45, p2 = 0.2, alpha = 0.025, beta = 0.1, sided = 1, ratio = 2),
  list(p1 = 0.6, p2 = 0.35, alpha = 0.025, beta = 0.2, sided = 1, ratio = 1, k = 2, type = "asOF"),
  list(p1 = 0.6, p2 = 0.35, alpha = 0.05, beta = 0.2, sided = 2, ratio = 1, k = 3, type = "OF"),
  list(p1 = 0.3, p2 = 0.1, alpha = 0.025, beta = 0.2, sided = 1, ratio = 0.5, k = 3, type = "asP", bs = "bsOF", binding = FALSE),
  list(p1 = 0.5, p2 = 0.25, alpha = 0.025, beta = 0.2, sided = 1, ratio = 1, k = 4, type = "asOF", info = c(0.2, 0.5, 0.8, 1)))) {
  r <- getSampleSizeRates(gs_args(s), pi1 = s$p1, pi2 = s$p2, allocationRatioPlanned = s$ratio)
  i <- i + 1
  rates[[i]] <- list(input = s, nFixed = nz(r$nFixed), maxNumberOfSubjects = nz(r$maxNumberOfSubjects),
    numberOfSubjects = as.numeric(r$numberOfSubjects), maxNumberOfSubjects1 = nz(r$maxNumberOfSubjects1),
    maxNumberOfSubjects2 = nz(r$maxNumberOfSubjects2), nFixed1 = nz(r$nFixed1), nFixed2 = nz(r$nFixed2),
    expectedNumberOfSubjectsH1 = nz(r$expectedNumberOfSubjectsH1))
}

means <- list(); i <- 0
for (s in list(
  list(alternative = 5, stdev = 10, alpha = 0.025, beta = 0.2, sided = 1, ratio = 1, normal = FALSE),
  list(alternative = 5, stdev = 10, alpha = 0.025, beta = 0.2, sided = 1, ratio = 1, normal = TRUE),
  list(alternative = 0.5, stdev = 1, alpha = 0.05, beta = 0.1, sided = 2, ratio = 2, normal = FALSE),
  list(alternative = 5, stdev = 10, alpha = 0.025, beta = 0.2, sided = 1, ratio = 1, normal = FALSE, k = 3, type = "asOF"),
  list(alternative = 3, stdev = 8, alpha = 0.05, beta = 0.2, sided = 2, ratio = 1, normal = TRUE, k = 2, type = "P"))) {
  r <- getSampleSizeMeans(gs_args(s), alternative = s$alternative, stDev = s$stdev,
                          allocationRatioPlanned = s$ratio, normalApproximation = s$normal)
  i <- i + 1
  means[[i]] <- list(input = s, nFixed = nz(r$nFixed), maxNumberOfSubjects = nz(r$maxNumberOfSubjects),
    numberOfSubjects = as.numeric(r$numberOfSubjects))
}

surv <- list(); i <- 0
for (s in list(
  list(hr = 0.6, alpha = 0.025, beta = 0.2, sided = 1, accrual = c(0, 24), followup = 12, median = 12, ratio = 1),
  list(hr = 0.6, alpha = 0.05, beta = 0.2, sided = 2, accrual = c(0, 36), followup = 12, median = 10, ratio = 1),
  list(hr = 0.6, alpha = 0.025, beta = 0.2, sided = 1, accrual = c(0, 24), followup = 12, median = 12, ratio = 2,
       dropout = 0.05, dropout_time = 12),
  list(hr = 0.6, alpha = 0.025, beta = 0.2, sided = 1, accrual = c(0, 24), followup = 12, median = 12, ratio = 1,
       k = 3, type = "asOF"),
  list(hr = 0.7, alpha = 0.025, beta = 0.1, sided = 1, accrual = c(0, 6, 30), intensity = c(0.1, 0.3), followup = 18,
       lambda = 0.05, ratio = 1.5, dropout = 0.1, dropout_time = 12, k = 3, type = "asOF", bs = "bsOF", binding = FALSE),
  list(hr = 0.75, alpha = 0.05, beta = 0.2, sided = 2, accrual = c(0, 20), followup = 10, median = 8, ratio = 1,
       dropout = 0.1, dropout_time = 24, k = 4, type = "P", info = c(0.25, 0.5, 0.8, 1)))) {
  a <- list(design = gs_args(s), hazardRatio = s$hr, accrualTime = s$accrual, followUpTime = s$followup,
            allocationRatioPlanned = s$ratio)
  if (!is.null(s$median)) a$median2 <- s$median else a$lambda2 <- s$lambda
  if (!is.null(s$intensity)) a$accrualIntensity <- s$intensity
  if (!is.null(s$dropout)) { a$dropoutRate1 <- s$dropout; a$dropoutRate2 <- s$dropout; a$dropoutTime <- s$dropout_time }
  r <- do.call(getSampleSizeSurvival, a)
  i <- i + 1
  surv[[i]] <- list(input = s, eventsFixed = nz(r$eventsFixed), maxNumberOfEvents = nz(r$maxNumberOfEvents),
    eventsPerStage = as.numeric(r$eventsPerStage), maxNumberOfSubjects = nz(r$maxNumberOfSubjects),
    maxNumberOfSubjects1 = nz(r$maxNumberOfSubjects1), maxNumberOfSubjects2 = nz(r$maxNumberOfSubjects2),
    numberOfSubjects = nz(r$numberOfSubjects), analysisTime = nz(r$analysisTime), nFixed = nz(r$nFixed),
    typeOfComputation = r$typeOfComputation)
}
out <- list(software = paste("rpact", packageVersion("rpact"), "/", R.version.string),
            designs = designs, rates = rates, means = means, survival = surv)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", pretty = FALSE),
           file.path(here, "rpact_reference.json"))
cat("designs", length(designs), "rates", length(rates), "means", length(means), "survival", length(surv), "\n")
