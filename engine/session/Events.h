// What a running job tells the world: plain value structs, delivered to observers in batches
// (at most about ten a second) on the worker thread. Torch-free and Qt-free.
#pragma once

#include "engine/store/RunStore.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace qs::session {

/// Scalar metrics at a global step: "train/loss", "train/acc", "lr", ...
struct StepMetrics {
    int64_t step = 0;
    int epoch = 0;
    std::map<std::string, double> values;
};

/// One quantizable layer's state; bits 0 = that slot is float.
struct LayerState {
    std::string layer;
    std::vector<int64_t> weightShape;
    int64_t paramCount = 0;
    int weightBits = 0;
    int actBits = 0;
    std::vector<double> weightSteps;
    double actStep = 0.0;
    double weightError = 0.0;
    double actError = 0.0;
    double weightClipRate = 0.0;
    double actClipRate = 0.0;
};

struct LayerStates {
    int64_t step = 0;
    std::vector<LayerState> layers;
};

/// Histogram of one layer's latent weights and its quantization grid (codes k in [-qn, qp] sit
/// at k * stepSize), for the layer a viewer asked for with Session::requestHistogram.
struct WeightHistogram {
    int64_t step = 0;
    std::string layer;
    double lo = 0.0;  ///< left edge of the first bin
    double hi = 0.0;  ///< right edge of the last bin
    std::vector<double> counts;
    int bits = 0;           ///< 0: float weights, no grid
    double stepSize = 0.0;  ///< per-tensor step (mean over channels when per-channel)
    double qn = 0.0;
    double qp = 0.0;
};

/// Evaluation on the test split at the end of an epoch.
struct EpochEval {
    int epoch = 0;
    int64_t step = 0;
    double loss = 0.0;
    double accuracy = 0.0;  ///< NaN for regression (STS-B), which has no accuracy
    /// Task metrics besides accuracy, recorded as "eval/<name>": f1, mcc, pearson, spearman.
    std::map<std::string, double> metrics;
};

enum class LogLevel { Info, Warning, Error };

struct LogLine {
    LogLevel level = LogLevel::Info;
    std::string text;
};

/// Where the job is: "loading data", "training", "evaluating", ...; with progress counters.
struct Progress {
    std::string phase;
    int epoch = 0;
    int totalEpochs = 0;
    int64_t step = 0;
    int64_t totalSteps = 0;
    double elapsedSeconds = 0.0;
    double etaSeconds = -1.0;  ///< -1 while unknown
};

/// The job has ended. status: finished | failed | cancelled.
struct Finished {
    int64_t runId = 0;
    std::string status;
    std::string error;
    std::map<std::string, double> finalMetrics;
    std::string checkpoint;  ///< path of the final checkpoint, if any
};

/// A loss landscape of the model at the end of an epoch (RunSpec analysis.landscape): the whole
/// surface, recorded by the run recorder (which sets its run id).
struct LandscapeSnapshot {
    int epoch = 0;
    store::LandscapeRow surface;
};

using Event = std::variant<StepMetrics, LayerStates, EpochEval, LogLine, Progress, Finished,
                           WeightHistogram, LandscapeSnapshot>;

/// A burst of events in the order they happened.
struct EventBatch {
    int64_t runId = 0;
    std::vector<Event> events;
};

/// Receives event batches on the worker thread; must return quickly (queue, write, print).
class Observer {
public:
    virtual ~Observer() = default;
    virtual void onEvents(const EventBatch& batch) = 0;
};

}  // namespace qs::session
