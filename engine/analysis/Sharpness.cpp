#include "engine/analysis/Sharpness.h"

#include "engine/analysis/AnalysisModel.h"
#include "engine/analysis/SharpnessCore.h"
#include "engine/data/Datasets.h"
#include "engine/io/Safetensors.h"
#include "engine/store/RunStore.h"
#include "engine/train/Methods.h"
#include "engine/train/Trainer.h"
#include "engine/util/Threads.h"

#include <torch/torch.h>

#include <cmath>
#include <filesystem>

namespace qs::analysis {

namespace fs = std::filesystem;

namespace {

/// Copies of the tensors' values, put back by restore().
class Saved {
public:
    explicit Saved(const std::vector<torch::Tensor>& params) : m_params(params) {
        for (const auto& p : params) {
            m_copies.push_back(p.detach().clone());
        }
    }
    void setTo(const std::vector<torch::Tensor>& e) {
        torch::NoGradGuard noGrad;
        for (std::size_t i = 0; i < m_params.size(); ++i) {
            m_params[i].copy_(m_copies[i] + e[i]);
        }
    }
    void restore() {
        torch::NoGradGuard noGrad;
        for (std::size_t i = 0; i < m_params.size(); ++i) {
            m_params[i].copy_(m_copies[i]);
        }
    }

private:
    std::vector<torch::Tensor> m_params;
    std::vector<torch::Tensor> m_copies;
};

double squaredNorm(const std::vector<torch::Tensor>& ts) {
    double sum = 0.0;
    for (const auto& t : ts) {
        if (t.defined()) {
            sum += t.to(torch::kDouble).pow(2).sum().item<double>();
        }
    }
    return sum;
}

std::vector<torch::Tensor> gradients(const std::vector<torch::Tensor>& params) {
    std::vector<torch::Tensor> g;
    for (const auto& p : params) {
        g.push_back(p.grad().defined() ? p.grad().detach().clone() : torch::zeros_like(p));
    }
    return g;
}

void stopIfAsked(const PassCallback& onPass) {
    if (onPass && !onPass()) {
        throw AnalysisCancelled();
    }
}

}  // namespace

namespace {

/// Gradient ascent on the loss over a perturbation e, shared by both measures: `steps` times,
/// take the gradient at w + e, let `update` move e, evaluate there; keep the largest loss. The
/// tensors are restored (by copy) however it ends.
SharpnessEstimate ascend(const std::vector<torch::Tensor>& params, const LossFunction& loss,
                         int steps, const PassCallback& onPass,
                         const std::function<void(std::vector<torch::Tensor>& e,
                                                  const std::vector<torch::Tensor>& g)>& update) {
    SharpnessEstimate r;
    Saved saved(params);
    std::vector<torch::Tensor> e;
    for (const auto& p : params) {
        e.push_back(torch::zeros_like(p));
    }
    try {
        r.baseLoss = loss(true);
        stopIfAsked(onPass);
        r.perturbedLoss = r.baseLoss;
        for (int k = 0; k < steps; ++k) {
            const std::vector<torch::Tensor> g = gradients(params);
            if (!(squaredNorm(g) > 0.0)) {
                break;  // a flat point: no ascent direction
            }
            update(e, g);
            saved.setTo(e);
            const double l = loss(k + 1 < steps);  // the last point needs no gradient
            stopIfAsked(onPass);
            r.perturbedLoss = std::max(r.perturbedLoss, l);
        }
    } catch (...) {
        saved.restore();
        throw;
    }
    saved.restore();
    r.perturbation = std::move(e);
    return r;
}

}  // namespace

SharpnessEstimate rhoBallSharpness(const std::vector<torch::Tensor>& params,
                                   const LossFunction& loss, double rho, int steps,
                                   const PassCallback& onPass) {
    SharpnessEstimate r = ascend(params, loss, steps, onPass, [&](auto& e, const auto& g) {
        const double gnorm = std::sqrt(squaredNorm(g));
        for (std::size_t i = 0; i < e.size(); ++i) {
            e[i] = e[i] + g[i] * (rho / gnorm);
        }
        const double enorm = std::sqrt(squaredNorm(e));
        if (enorm > rho) {  // back onto the ball
            for (auto& ei : e) {
                ei = ei * (rho / enorm);
            }
        }
    });
    r.value = r.perturbedLoss - r.baseLoss;
    return r;
}

SharpnessEstimate epsilonSharpness(const std::vector<torch::Tensor>& params,
                                   const LossFunction& loss, double eps, int steps,
                                   const PassCallback& onPass) {
    std::vector<torch::Tensor> box;
    for (const auto& p : params) {
        box.push_back(eps * (p.detach().abs() + 1.0));
    }
    SharpnessEstimate r = ascend(params, loss, steps, onPass, [&](auto& e, const auto& g) {
        for (std::size_t i = 0; i < e.size(); ++i) {
            e[i] = torch::clamp(e[i] + 0.25 * box[i] * g[i].sign(), -box[i], box[i]);
        }
    });
    r.value = (r.perturbedLoss - r.baseLoss) / (1.0 + r.baseLoss) * 100.0;
    return r;
}

SharpnessReport measureSharpness(const std::string& checkpoint, const SharpnessOptions& options,
                                 const AnalysisProgress& progress,
                                 const std::atomic<bool>* cancel) {
    for (const auto& m : options.measures) {
        if (m != "rho-ball" && m != "epsilon") {
            throw std::invalid_argument("unknown sharpness measure '" + m +
                                        "' (rho-ball or epsilon)");
        }
    }
    for (const auto& m : options.modes) {
        checkMode(m);
    }
    if (!(options.rho > 0.0) || !(options.eps > 0.0) || options.rhoSteps < 1 ||
        options.epsSteps < 1 || options.samples < 1 || options.batchSize < 1) {
        throw std::invalid_argument(
            "sharpness options: rho, eps, steps, samples and batch size must be positive");
    }
    const CheckpointSpec source = readCheckpointSpec(checkpoint, options.dataPath);
    SharpnessReport report;
    report.checkpoint = checkpoint;
    report.method = source.spec.method.name;
    report.step = source.step;
    const std::vector<std::string> modes =
        options.modes.empty() ? defaultModes(source.spec) : options.modes;

    engine::applyThreadCount(options.threads);
    torch::manual_seed(options.seed);
    const data::TensorSet subset = analysisSubset(source, true, options.samples, options.seed);
    const int64_t n = subset.size();

    int totalPasses = 0;
    for (const auto& m : options.measures) {
        totalPasses += 1 + (m == "rho-ball" ? options.rhoSteps : options.epsSteps);
    }
    totalPasses *= int(modes.size());
    int donePasses = 0;
    std::string phase;

    for (const std::string& mode : modes) {
        models::Network model = loadAnalysisModel(source, mode, subset);
        const std::vector<torch::Tensor> params = perturbedParameters(*model).tensors;
        const LossFunction loss = [&](bool withGrad) {
            for (const auto& p : params) {
                p.mutable_grad() = torch::Tensor();
            }
            double sum = 0.0;
            for (int64_t b = 0; b < n; b += options.batchSize) {
                const int64_t len = std::min<int64_t>(options.batchSize, n - b);
                const torch::Tensor x = data::inputBatch(subset, b, len);
                const torch::Tensor y = subset.labels.narrow(0, b, len);
                if (withGrad) {
                    torch::Tensor l = models::taskLoss(model->forward(x), y, at::Reduction::Sum);
                    (l / double(n)).backward();
                    sum += l.item<double>();
                } else {
                    torch::NoGradGuard noGrad;
                    sum +=
                        models::taskLoss(model->forward(x), y, at::Reduction::Sum).item<double>();
                }
            }
            return sum / double(n);
        };
        const PassCallback onPass = [&]() {
            ++donePasses;
            if (progress) {
                progress(phase, double(donePasses) / double(std::max(1, totalPasses)));
            }
            return !(cancel && cancel->load());
        };
        for (const std::string& measure : options.measures) {
            phase = measure + ", " + mode;
            if (progress) {
                progress(phase, double(donePasses) / double(std::max(1, totalPasses)));
            }
            const bool rhoBall = measure == "rho-ball";
            const SharpnessEstimate est =
                rhoBall ? rhoBallSharpness(params, loss, options.rho, options.rhoSteps, onPass)
                        : epsilonSharpness(params, loss, options.eps, options.epsSteps, onPass);
            SharpnessFigure f;
            f.measure = measure;
            f.mode = mode;
            f.radius = rhoBall ? options.rho : options.eps;
            f.value = est.value;
            f.baseLoss = est.baseLoss;
            f.perturbedLoss = est.perturbedLoss;
            f.ascentSteps = rhoBall ? options.rhoSteps : options.epsSteps;
            f.samples = n;
            f.seed = options.seed;
            report.figures.push_back(f);
        }
    }
    return report;
}

std::string runCheckpoint(const store::RunStore& store, int64_t runId) {
    const auto record = store.run(runId);
    if (!record) {
        throw std::runtime_error("no run with id " + std::to_string(runId) + " in " + store.path());
    }
    const fs::path last = fs::path(record->checkpointDir) / "last.safetensors";
    if (record->checkpointDir.empty() || !fs::exists(last)) {
        throw std::runtime_error("run " + std::to_string(runId) +
                                 " has no checkpoint (it ended before its first epoch did)");
    }
    return last.string();
}

void recordSharpness(store::RunStore& store, int64_t runId, const SharpnessReport& report) {
    for (const SharpnessFigure& f : report.figures) {
        store::SharpnessRow row;
        row.runId = runId;
        row.checkpoint = report.checkpoint;
        row.step = report.step;
        row.measure = f.measure;
        row.mode = f.mode;
        row.radius = f.radius;
        row.value = f.value;
        row.baseLoss = f.baseLoss;
        row.perturbedLoss = f.perturbedLoss;
        row.ascentSteps = f.ascentSteps;
        row.samples = f.samples;
        row.seed = f.seed;
        store.addSharpness(row);
    }
    if (runId <= 0) {
        return;
    }
    const auto record = store.run(runId);
    if (!record) {
        return;
    }
    std::map<std::string, double> metrics = record->finalMetrics;
    for (const SharpnessFigure& f : report.figures) {
        metrics["sharpness/" + f.measure + "/" + f.mode] = f.value;
    }
    store.setFinalMetrics(runId, metrics);
}

}  // namespace qs::analysis
