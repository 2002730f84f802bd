#include "engine/data/TextMetrics.h"

#include "engine/data/TextDatasets.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <numeric>
#include <stdexcept>

namespace qs::data {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

template <typename A, typename B>
void checkSizes(const A& a, const B& b, const char* what) {
    if (a.size() != b.size()) {
        throw std::invalid_argument(std::string(what) + ": " + std::to_string(a.size()) +
                                    " predictions but " + std::to_string(b.size()) + " labels");
    }
}

// Average ranks, 1-based, ties sharing the mean of the ranks they span (SciPy's rankdata).
std::vector<double> averageRanks(const std::vector<double>& v) {
    std::vector<std::size_t> order(v.size());
    std::iota(order.begin(), order.end(), std::size_t(0));
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return v[a] < v[b]; });
    std::vector<double> ranks(v.size());
    for (std::size_t i = 0; i < order.size();) {
        std::size_t j = i + 1;
        while (j < order.size() && v[order[j]] == v[order[i]]) {
            ++j;
        }
        const double rank = (double(i + 1) + double(j)) / 2.0;
        for (std::size_t k = i; k < j; ++k) {
            ranks[order[k]] = rank;
        }
        i = j;
    }
    return ranks;
}

std::vector<int> toClasses(const std::vector<double>& v) {
    std::vector<int> out(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) {
        out[i] = int(std::lround(v[i]));
    }
    return out;
}

}  // namespace

double accuracy(const std::vector<int>& predictions, const std::vector<int>& labels) {
    checkSizes(predictions, labels, "accuracy");
    if (labels.empty()) {
        return kNaN;
    }
    std::size_t correct = 0;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        correct += predictions[i] == labels[i] ? 1 : 0;
    }
    return double(correct) / double(labels.size());
}

double binaryF1(const std::vector<int>& predictions, const std::vector<int>& labels) {
    checkSizes(predictions, labels, "binaryF1");
    std::size_t tp = 0, fp = 0, fn = 0;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        const bool p = predictions[i] == 1;
        const bool l = labels[i] == 1;
        tp += p && l ? 1 : 0;
        fp += p && !l ? 1 : 0;
        fn += !p && l ? 1 : 0;
    }
    if (tp == 0) {
        return 0.0;
    }
    // F1 = 2 tp / (2 tp + fp + fn), the harmonic mean of precision and recall without the
    // intermediate ratios.
    return 2.0 * double(tp) / (2.0 * double(tp) + double(fp) + double(fn));
}

double matthewsCorrelation(const std::vector<int>& predictions, const std::vector<int>& labels) {
    checkSizes(predictions, labels, "matthewsCorrelation");
    // R_K = (c s - sum_k p_k t_k) / sqrt((s^2 - sum_k p_k^2)(s^2 - sum_k t_k^2)), with c the
    // correct count, s the sample count, p_k / t_k the predicted / true counts of class k.
    std::map<int, double> predicted, truth;
    double correct = 0.0;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        predicted[predictions[i]] += 1.0;
        truth[labels[i]] += 1.0;
        correct += predictions[i] == labels[i] ? 1.0 : 0.0;
    }
    const double s = double(labels.size());
    double pt = 0.0, pp = 0.0, tt = 0.0;
    for (const auto& [k, p] : predicted) {
        pp += p * p;
        if (auto it = truth.find(k); it != truth.end()) {
            pt += p * it->second;
        }
    }
    for (const auto& [k, t] : truth) {
        tt += t * t;
    }
    const double denominator = std::sqrt((s * s - pp) * (s * s - tt));
    if (!(denominator > 0.0)) {
        return 0.0;
    }
    return (correct * s - pt) / denominator;
}

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
    checkSizes(x, y, "pearson");
    const std::size_t n = x.size();
    if (n < 2) {
        return kNaN;
    }
    const double mx = std::accumulate(x.begin(), x.end(), 0.0) / double(n);
    const double my = std::accumulate(y.begin(), y.end(), 0.0) / double(n);
    double sxy = 0.0, sxx = 0.0, syy = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        const double dx = x[i] - mx;
        const double dy = y[i] - my;
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    if (!(sxx > 0.0) || !(syy > 0.0)) {
        return kNaN;
    }
    // Rounding can push |r| a hair past 1 for perfectly correlated data.
    return std::clamp(sxy / std::sqrt(sxx * syy), -1.0, 1.0);
}

double spearman(const std::vector<double>& x, const std::vector<double>& y) {
    checkSizes(x, y, "spearman");
    return pearson(averageRanks(x), averageRanks(y));
}

std::vector<MetricValue> glueMetrics(const std::string& task,
                                     const std::vector<double>& predictions,
                                     const std::vector<double>& labels) {
    const std::string name = glueTaskName(task);
    checkSizes(predictions, labels, "glueMetrics");
    if (name == "STS-B") {
        return {{"pearson", pearson(predictions, labels)},
                {"spearman", spearman(predictions, labels)}};
    }
    const std::vector<int> p = toClasses(predictions);
    const std::vector<int> l = toClasses(labels);
    if (name == "CoLA") {
        return {{"mcc", matthewsCorrelation(p, l)}};
    }
    if (name == "MRPC" || name == "QQP") {
        return {{"accuracy", accuracy(p, l)}, {"f1", binaryF1(p, l)}};
    }
    return {{"accuracy", accuracy(p, l)}};
}

}  // namespace qs::data
