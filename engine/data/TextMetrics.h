// The GLUE benchmark's metrics, torch-free: predictions and labels as plain vectors. Degenerate
// inputs follow scikit-learn and SciPy, so numbers match the published evaluation scripts:
// counting metrics give 0 where a ratio would divide by zero, correlations give NaN.
#pragma once

#include <string>
#include <vector>

namespace qs::data {

/// Fraction of predictions equal to the labels; NaN for empty input.
/// All functions throw std::invalid_argument when the two vectors differ in length.
double accuracy(const std::vector<int>& predictions, const std::vector<int>& labels);

/// F1 of the positive class 1 (anything else counts as negative). 0 when there is no true
/// positive (precision or recall undefined or zero), as sklearn's zero_division=0.
double binaryF1(const std::vector<int>& predictions, const std::vector<int>& labels);

/// Matthews correlation coefficient, multiclass form (Gorodkin's R_K; for two classes the usual
/// (tp tn - fp fn) / sqrt(...)). 0 when the denominator is 0 (all predictions or all labels one
/// class, or empty input), as sklearn.
double matthewsCorrelation(const std::vector<int>& predictions, const std::vector<int>& labels);

/// Pearson's r. NaN when fewer than 2 values or either side has zero variance, as SciPy.
double pearson(const std::vector<double>& x, const std::vector<double>& y);

/// Spearman's rho: Pearson's r of the ranks, tied values sharing their average rank. NaN as
/// pearson() on the ranks (e.g. all values tied).
double spearman(const std::vector<double>& x, const std::vector<double>& y);

/// One named metric value, e.g. {"f1", 0.87}.
struct MetricValue {
    std::string name;
    double value = 0.0;
};

/// The task's standard GLUE metrics, main metric first: CoLA {"mcc"}; MRPC and QQP {"accuracy",
/// "f1"}; STS-B {"pearson", "spearman"}; SST-2, MNLI, QNLI, RTE, WNLI {"accuracy"}. For the
/// classification tasks the values are class indices and are rounded to the nearest integer; for
/// STS-B they are scores. `task` is spelled as glueTaskName() accepts; std::invalid_argument for
/// an unknown task or a length mismatch.
///
/// Example:
/// @code
///   auto m = glueMetrics("MRPC", {1, 0, 1}, {1, 1, 1});  // {{"accuracy", 0.667}, {"f1", 0.8}}
/// @endcode
std::vector<MetricValue> glueMetrics(const std::string& task,
                                     const std::vector<double>& predictions,
                                     const std::vector<double>& labels);

}  // namespace qs::data
