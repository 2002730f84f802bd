#include "engine/train/Trainer.h"

#include "engine/analysis/Landscape.h"
#include "engine/data/TextDatasets.h"
#include "engine/data/TextMetrics.h"
#include "engine/dist/Distributed.h"
#include "engine/dist/Launch.h"
#include "engine/io/Safetensors.h"
#include "engine/io/TensorIO.h"
#include "engine/models/Bert.h"
#include "engine/models/ResNet.h"
#include "engine/train/Methods.h"
#include "engine/util/Threads.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>
#include <set>
#include <sstream>

namespace qs::train {

using session::EventSink;
using session::RunSpec;
namespace fs = std::filesystem;

namespace {

constexpr const char* kCheckpointFormat = "quantscape-checkpoint-1";
/// Checkpoint metadata of a text run: the tokenizer's vocabulary, one token per line.
constexpr const char* kVocabularyKey = "vocabulary";
constexpr double kPi = 3.14159265358979323846;

/// Learning rate at a fractional epoch position.
double learningRate(const session::OptimSpec& o, int epoch, double epochProgress) {
    const double t = epoch + epochProgress;
    if (o.warmupEpochs > 0.0 && t < o.warmupEpochs) {
        return o.lr * (t + 1e-3) / o.warmupEpochs;
    }
    if (o.schedule == "linear") {
        // Linear decay to 0 at the end of training (BERT fine-tuning's schedule).
        const double span = std::max(1e-9, double(o.epochs) - o.warmupEpochs);
        return o.lr * std::max(0.0, 1.0 - (t - o.warmupEpochs) / span);
    }
    if (o.schedule == "cosine") {
        const double span = std::max(1e-9, double(o.epochs) - o.warmupEpochs);
        const double f = std::min(1.0, (t - o.warmupEpochs) / span);
        return o.lr * 0.5 * (1.0 + std::cos(kPi * f));
    }
    if (o.schedule == "step") {
        double lr = o.lr;
        for (int m : o.milestones) {
            if (epoch >= m) {
                lr *= o.gamma;
            }
        }
        return lr;
    }
    return o.lr;
}

/// Parameter groups: weights of conv/linear layers get weight decay (scaled down at low bits
/// when the spec asks); BN, biases and step sizes get none.
std::vector<torch::optim::OptimizerParamGroup> parameterGroups(const RunSpec& spec,
                                                               models::NetworkImpl& model) {
    std::map<std::string, double> decayOfWeight;
    for (const auto& [path, cfg] : layerConfigs(spec, model)) {
        double wd = spec.optim.weightDecay;
        if (spec.quant.scaleWeightDecayByBits && cfg.weightBits > 0 && cfg.weightBits < 4) {
            wd *= std::ldexp(1.0, cfg.weightBits - 4);
        }
        decayOfWeight[path + ".weight"] = wd;
    }
    std::map<double, std::vector<torch::Tensor>> byDecay;
    for (const auto& item : model.named_parameters()) {
        if (isQuantizerParameter(item.key())) {
            continue;  // step sizes have their own optimizer (SQuAT steps them separately)
        }
        auto it = decayOfWeight.find(item.key());
        byDecay[it == decayOfWeight.end() ? 0.0 : it->second].push_back(item.value());
    }
    std::vector<torch::optim::OptimizerParamGroup> groups;
    for (auto& [wd, params] : byDecay) {
        if (spec.optim.optimizer == "sgd") {
            auto opts = std::make_unique<torch::optim::SGDOptions>(spec.optim.lr);
            opts->momentum(spec.optim.momentum).nesterov(spec.optim.nesterov).weight_decay(wd);
            groups.emplace_back(params, std::move(opts));
        } else {
            auto opts = std::make_unique<torch::optim::AdamWOptions>(spec.optim.lr);
            opts->betas({spec.optim.beta1, spec.optim.beta2}).weight_decay(wd);
            groups.emplace_back(params, std::move(opts));
        }
    }
    return groups;
}

std::unique_ptr<torch::optim::Optimizer> makeOptimizer(
    const RunSpec& spec, std::vector<torch::optim::OptimizerParamGroup> groups) {
    if (spec.optim.optimizer == "sgd") {
        return std::make_unique<torch::optim::SGD>(groups, torch::optim::SGDOptions(spec.optim.lr)
                                                               .momentum(spec.optim.momentum)
                                                               .nesterov(spec.optim.nesterov));
    }
    return std::make_unique<torch::optim::AdamW>(
        groups,
        torch::optim::AdamWOptions(spec.optim.lr).betas({spec.optim.beta1, spec.optim.beta2}));
}

/// One optimizer for the weights (and BatchNorm, biases), one for the quantizers' step sizes
/// (no weight decay): SQuAT steps them at different points of a step.
struct Optimizers {
    std::unique_ptr<torch::optim::Optimizer> weights;
    std::unique_ptr<torch::optim::Optimizer> steps;  ///< null without step-size parameters

    std::vector<torch::optim::Optimizer*> all() const {
        std::vector<torch::optim::Optimizer*> out{weights.get()};
        if (steps) {
            out.push_back(steps.get());
        }
        return out;
    }
};

Optimizers makeOptimizers(const RunSpec& spec, models::NetworkImpl& model,
                          const std::vector<torch::Tensor>& stepParams) {
    Optimizers o;
    o.weights = makeOptimizer(spec, parameterGroups(spec, model));
    if (!stepParams.empty()) {
        std::vector<torch::optim::OptimizerParamGroup> groups;
        if (spec.optim.optimizer == "sgd") {
            auto opts = std::make_unique<torch::optim::SGDOptions>(spec.optim.lr);
            opts->momentum(spec.optim.momentum).nesterov(spec.optim.nesterov).weight_decay(0.0);
            groups.emplace_back(stepParams, std::move(opts));
        } else {
            auto opts = std::make_unique<torch::optim::AdamWOptions>(spec.optim.lr);
            opts->betas({spec.optim.beta1, spec.optim.beta2}).weight_decay(0.0);
            groups.emplace_back(stepParams, std::move(opts));
        }
        o.steps = makeOptimizer(spec, std::move(groups));
    }
    return o;
}

void setLearningRate(const Optimizers& opts, double lr) {
    for (torch::optim::Optimizer* opt : opts.all()) {
        for (auto& group : opt->param_groups()) {
            group.options().set_lr(lr);
        }
    }
}

std::string optimizerKey(const torch::Tensor& p) {
    return c10::guts::to_string(p.unsafeGetTensorImpl());
}

/// Optimizer state as named tensors ("optimizer/<param>/<field>"), for exact resume.
io::NamedTensors optimizerTensors(const Optimizers& opts, models::NetworkImpl& model) {
    io::NamedTensors out;
    for (const auto& item : model.named_parameters()) {
        const std::string key = optimizerKey(item.value());
        auto it = opts.weights->state().find(key);
        if (it == opts.weights->state().end() && opts.steps) {
            it = opts.steps->state().find(key);
            if (it == opts.steps->state().end()) {
                continue;
            }
        } else if (it == opts.weights->state().end()) {
            continue;
        }
        const std::string prefix = "optimizer/" + item.key() + "/";
        if (auto* sgd = dynamic_cast<torch::optim::SGDParamState*>(it->second.get())) {
            out.emplace_back(prefix + "momentum_buffer", sgd->momentum_buffer());
        } else if (auto* adam = dynamic_cast<torch::optim::AdamWParamState*>(it->second.get())) {
            out.emplace_back(prefix + "exp_avg", adam->exp_avg());
            out.emplace_back(prefix + "exp_avg_sq", adam->exp_avg_sq());
            out.emplace_back(prefix + "step", torch::tensor({adam->step()}, torch::kLong));
        }
    }
    return out;
}

void restoreOptimizer(const Optimizers& opts, models::NetworkImpl& model,
                      const std::map<std::string, torch::Tensor>& tensors,
                      const std::string& file) {
    const bool sgd = dynamic_cast<torch::optim::SGD*>(opts.weights.get()) != nullptr;
    auto need = [&](const std::string& name, const torch::Tensor& like) {
        auto it = tensors.find(name);
        if (it == tensors.end()) {
            return torch::Tensor();
        }
        if (it->second.sizes() != like.sizes()) {
            throw std::runtime_error(file + ": tensor '" + name + "' has the wrong shape");
        }
        return it->second.to(like.scalar_type());
    };
    for (const auto& item : model.named_parameters()) {
        const std::string prefix = "optimizer/" + item.key() + "/";
        auto& state = isQuantizerParameter(item.key()) && opts.steps ? opts.steps->state()
                                                                     : opts.weights->state();
        if (sgd) {
            torch::Tensor buf = need(prefix + "momentum_buffer", item.value());
            if (buf.defined()) {
                auto s = std::make_unique<torch::optim::SGDParamState>();
                s->momentum_buffer(buf);
                state[optimizerKey(item.value())] = std::move(s);
            }
        } else {
            torch::Tensor m = need(prefix + "exp_avg", item.value());
            torch::Tensor v = need(prefix + "exp_avg_sq", item.value());
            auto stepIt = tensors.find(prefix + "step");
            if (m.defined() && v.defined() && stepIt != tensors.end() &&
                stepIt->second.numel() == 1) {
                auto s = std::make_unique<torch::optim::AdamWParamState>();
                s->exp_avg(m);
                s->exp_avg_sq(v);
                s->step(stepIt->second.to(torch::kLong).item<int64_t>());
                state[optimizerKey(item.value())] = std::move(s);
            }
        }
    }
}

io::NamedTensors modelTensors(models::NetworkImpl& model) {
    io::NamedTensors out;
    for (const auto& item : model.named_parameters()) {
        out.emplace_back(item.key(), item.value());
    }
    for (const auto& item : model.named_buffers()) {
        out.emplace_back(item.key(), item.value());
    }
    return out;
}

std::vector<session::LayerState> collectLayerStates(models::NetworkImpl& model) {
    std::vector<session::LayerState> out;
    for (auto& [path, layer] : model.quantLayers()) {
        session::LayerState st;
        st.layer = path;
        st.weightShape = layer->weightShape();
        st.paramCount = layer->quantWeight().numel();
        if (auto wq = layer->weightQuantizer()) {
            const quant::QuantizerState q = wq->state();
            st.weightBits = q.bits;
            st.weightSteps = q.steps;
            st.weightError = q.lastError;
            st.weightClipRate = q.clipRate;
        }
        if (auto aq = layer->inputQuantizer()) {
            const quant::QuantizerState q = aq->state();
            st.actBits = q.bits;
            st.actStep = q.steps.empty() ? 0.0 : q.steps.front();
            st.actError = q.lastError;
            st.actClipRate = q.clipRate;
        }
        out.push_back(std::move(st));
    }
    return out;
}

/// Histogram of a layer's latent weights over a range that also covers its quantization grid.
std::optional<session::WeightHistogram> weightHistogram(models::NetworkImpl& model,
                                                        const std::string& layer, int64_t step) {
    constexpr int kBins = 80;
    for (auto& [path, l] : model.quantLayers()) {
        if (path != layer) {
            continue;
        }
        torch::NoGradGuard noGrad;
        const torch::Tensor w = l->quantWeight().detach();
        session::WeightHistogram h;
        h.step = step;
        h.layer = layer;
        h.lo = w.min().item<double>();
        h.hi = w.max().item<double>();
        if (auto q = l->weightQuantizer()) {
            const quant::QuantRange range = quant::QuantRange::of(q->options().bits(), true);
            h.bits = q->options().bits();
            h.stepSize = q->step_size.detach().mean().item<double>();
            h.qn = range.qn;
            h.qp = range.qp;
            h.lo = std::min(h.lo, -(range.qn + 0.5) * h.stepSize);
            h.hi = std::max(h.hi, (range.qp + 0.5) * h.stepSize);
        }
        if (!(h.hi > h.lo)) {
            h.hi = h.lo + 1e-6;
        }
        const torch::Tensor counts =
            torch::histc(w.to(torch::kDouble), kBins, h.lo, h.hi).contiguous();
        h.counts.assign(counts.data_ptr<double>(), counts.data_ptr<double>() + counts.numel());
        return h;
    }
    return std::nullopt;
}

/// Posts the histogram of the layer a viewer asked for: at once after a new request, then
/// every `every` steps.
void postHistogram(session::Session::Control* control, session::EventSink& sink,
                   models::NetworkImpl& model, int64_t step, int every) {
    if (!control) {
        return;
    }
    const bool fresh = control->histogramRequested.exchange(false);
    if (!fresh && step % every != 0) {
        return;
    }
    std::string layer;
    {
        std::lock_guard<std::mutex> lock(control->mutex);
        layer = control->histogramLayer;
    }
    if (layer.empty()) {
        return;
    }
    if (auto h = weightHistogram(model, layer, step)) {
        sink.post(std::move(*h));
    }
}

void setObserving(models::NetworkImpl& model, bool on) {
    for (auto& q : models::allQuantizers(model)) {
        q->setObserving(on);
    }
}

/// Round-trippable text for checkpoint metadata (std::to_string keeps only 6 decimals).
std::string exactText(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

std::string formatSeconds(double s) {
    std::ostringstream os;
    os.precision(1);
    os << std::fixed << s << " s";
    return os.str();
}

/// Means of the method's per-step figures over a logging window; a figure a step did not have
/// (SQuAT's perturbation on an alternate schedule's step-size step) does not count there.
class WindowMeans {
public:
    void add(const std::string& key, double value) {
        auto& [sum, count] = m_sums[key];
        sum += value;
        ++count;
    }
    void drainInto(std::map<std::string, double>& out) {
        for (const auto& [key, sc] : m_sums) {
            out[key] = sc.first / double(sc.second);
        }
        m_sums.clear();
    }

private:
    std::map<std::string, std::pair<double, int64_t>> m_sums;
};

/// The teacher: method.distill.teacher, else init_checkpoint, else BERT's pretrained folder.
std::string teacherPath(const RunSpec& spec) {
    if (!spec.method.distill.teacher.empty()) {
        return spec.method.distill.teacher;
    }
    return spec.initCheckpoint.empty() ? spec.model.bert.pretrained : spec.initCheckpoint;
}

/// The float teacher for distillation: the same architecture without quantizers, in eval mode.
models::Network makeTeacher(const RunSpec& spec, const ModelShape& shape) {
    RunSpec floatSpec = spec;
    floatSpec.method = session::MethodSpec{};
    floatSpec.quant.layers.clear();
    models::Network teacher = buildModel(floatSpec, shape);
    loadModelWeights(*teacher, teacherPath(spec));
    teacher->eval();
    for (auto& p : teacher->parameters()) {
        p.set_requires_grad(false);
    }
    return teacher;
}

/// The quantizers noise tempering perturbs, configured with the spec's noise.
std::vector<quant::Quantizer> noiseQuantizers(const RunSpec& spec, models::NetworkImpl& model) {
    quant::NoiseOptions noise;
    noise.enabled = true;
    noise.normal = spec.method.nt.distribution == "normal";
    noise.halfStep = spec.method.nt.amplitude == "half-step";
    std::vector<quant::Quantizer> out;
    for (auto& [path, layer] : model.quantLayers()) {
        if (spec.method.nt.weights && layer->weightQuantizer()) {
            out.push_back(layer->weightQuantizer());
        }
        if (spec.method.nt.activations && layer->inputQuantizer()) {
            out.push_back(layer->inputQuantizer());
        }
    }
    if (spec.method.nt.activations) {
        for (auto& [path, q] : model.activationQuantizers()) {
            out.push_back(q);
        }
    }
    for (auto& q : out) {
        q->setNoise(noise);
    }
    return out;
}

/// PTQ: weights calibrated from themselves, activations from a few training batches run through
/// the float network (eval mode, no augmentation). Returns false when cancelled.
bool calibrate(const RunSpec& spec, models::NetworkImpl& model, const data::TensorSet& train,
               int64_t batch, const TrainerContext& ctx, EventSink& sink) {
    const auto& ptq = spec.method.ptq;
    const quant::Calibration rule = ptq.calibration == "minmax" ? quant::Calibration::MinMax
                                    : ptq.calibration == "percentile"
                                        ? quant::Calibration::Percentile
                                        : quant::Calibration::Mse;
    // At most 2^19 activation values per quantizer over all batches.
    const int64_t budget = (int64_t(1) << 19) / ptq.batches;
    torch::NoGradGuard noGrad;
    model.eval();
    for (auto& [path, layer] : model.quantLayers()) {
        if (auto q = layer->weightQuantizer()) {
            q->calibrateFrom(layer->weightQuantizerView(), rule, ptq.percentile);
        }
        if (auto q = layer->inputQuantizer()) {
            q->beginCalibration(rule, ptq.percentile, budget);
        }
    }
    for (auto& [path, q] : model.activationQuantizers()) {
        q->beginCalibration(rule, ptq.percentile, budget);
    }
    const int64_t n = train.size();
    const std::vector<int64_t> order = data::epochOrder(n, spec.seed, 0);
    const int64_t batches = std::min<int64_t>(ptq.batches, (n + batch - 1) / batch);
    for (int64_t b = 0; b < batches; ++b) {
        if (ctx.control && !ctx.control->checkpoint()) {
            return false;
        }
        sink.post(session::Progress{"calibrating", 1, 1, b, batches, 0.0, -1.0});
        const int64_t begin = b * batch, end = std::min(n, begin + batch);
        model.forward(data::gatherBatch(train, order, begin, end).first);
    }
    for (auto& [path, layer] : model.quantLayers()) {
        if (auto q = layer->inputQuantizer()) {
            q->finishCalibration();
        }
    }
    for (auto& [path, q] : model.activationQuantizers()) {
        q->finishCalibration();
    }
    return true;
}

/// Keeps step sizes positive after an update: AdamW moves every parameter by about its learning
/// rate whatever its scale, so a rate meant for weights can carry a small s past zero. A negative
/// s would still quantize signed data (the grid is mirrored) but zero every unsigned input, so
/// the step is reflected to |s| (the size the update aimed at), at least 1e-8. A no-op while
/// every s stays positive.
void keepPositive(const std::vector<torch::Tensor>& stepSizes) {
    torch::NoGradGuard noGrad;
    for (const torch::Tensor& s : stepSizes) {
        s.abs_().clamp_min_(1e-8);
    }
}

/// Rank 0's go, pause or cancel for the next step, shared with every process: true to go on.
/// While paused, rank 0 repeats "pause" every second, so no process waits long enough for the
/// group's timeout.
bool stepCommand(dist::Group& group, session::Session::Control* control) {
    enum : int64_t { Go = 0, Pause = 1, Stop = 2 };
    for (;;) {
        int64_t command = Go;
        if (group.isRoot() && control) {
            command = control->cancel.load() ? Stop : control->paused.load() ? Pause : Go;
        }
        command = group.broadcastCommand(command);
        if (command != Pause) {
            return command == Go;
        }
        if (group.isRoot() && control) {
            std::unique_lock<std::mutex> lock(control->mutex);
            control->resumed.wait_for(lock, std::chrono::seconds(1), [&] {
                return !control->paused.load() || control->cancel.load();
            });
        }
    }
}

/// "eval loss 0.31, eval acc 0.9127, f1 0.88" for the log.
std::string describe(const Evaluation& e) {
    std::ostringstream os;
    os << "eval loss " << e.loss;
    if (std::isfinite(e.accuracy)) {
        os << ", eval acc " << e.accuracy;
    }
    for (const auto& [name, value] : e.metrics) {
        os << ", " << name << " " << value;
    }
    return os.str();
}

/// BERT distillation inside the network: beta * mean over layers of MSE(hidden states) +
/// gamma * mean over layers of MSE(attention scores). Padded keys carry the mask's huge
/// negative scores in both models; they are left out of the attention term.
torch::Tensor insideDistillationLoss(const models::NetworkImpl::Captured& student,
                                     const models::NetworkImpl::Captured& teacher, double beta,
                                     double gamma) {
    torch::Tensor loss = torch::zeros({});
    if (beta > 0.0 && !student.hidden.empty() && student.hidden.size() == teacher.hidden.size()) {
        torch::Tensor sum = torch::zeros({});
        for (std::size_t i = 0; i < student.hidden.size(); ++i) {
            sum = sum + torch::mse_loss(student.hidden[i], teacher.hidden[i]);
        }
        loss = loss + beta * sum / double(student.hidden.size());
    }
    if (gamma > 0.0 && !student.attention.empty() &&
        student.attention.size() == teacher.attention.size()) {
        torch::Tensor sum = torch::zeros({});
        for (std::size_t i = 0; i < student.attention.size(); ++i) {
            const torch::Tensor keep = teacher.attention[i].gt(-1e4);
            sum = sum + (student.attention[i] - teacher.attention[i])
                                .masked_fill(keep.logical_not(), 0.0)
                                .pow(2)
                                .sum() /
                            keep.sum().clamp_min(1);
        }
        loss = loss + gamma * sum / double(student.attention.size());
    }
    return loss;
}

class Clock {
public:
    double seconds() const {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
    }

private:
    std::chrono::steady_clock::time_point m_start = std::chrono::steady_clock::now();
};

/// The loss landscape of an epoch's checkpoint (the model as it is at the end of that epoch),
/// posted for the run recorder. Runs between epochs, never inside the step loop; a cancel stops
/// it after the points in progress (the stored surface resumes with `landscape --resume`); a
/// failure is logged and training goes on.
void snapshotLandscape(const RunSpec& spec, const TrainerContext& ctx, EventSink& sink,
                       const std::string& checkpoint, int epoch, int threads) {
    const session::LandscapeSnapshotSpec& l = spec.analysis.landscape;
    analysis::LandscapeOptions o;
    o.nx = l.nx;
    o.ny = l.ny;
    o.xMin = o.yMin = -l.range;
    o.xMax = o.yMax = l.range;
    o.samples = l.samples;
    o.mode = l.mode;
    o.seed = l.seed;
    analysis::LandscapeExecution exec;
    exec.threads = threads;
    const std::string what = "landscape after epoch " + std::to_string(epoch);
    sink.post(session::LogLine{session::LogLevel::Info,
                               what + ": " + std::to_string(l.nx) + "x" + std::to_string(l.ny) +
                                   " points on " + std::to_string(l.samples) +
                                   (spec.isBert() ? " texts" : " images")});
    const Clock clock;
    try {
        const analysis::LandscapeSurface s = analysis::computeLandscape(
            checkpoint, o, nullptr, 0, exec,
            [&](const analysis::LandscapePoints& p) {
                sink.post(session::Progress{"landscape", epoch, spec.optim.epochs,
                                            int64_t(p.fraction * 1000.0), 1000, clock.seconds(),
                                            -1.0});
            },
            ctx.control ? &ctx.control->cancel : nullptr);
        sink.post(session::LandscapeSnapshot{epoch, s});
        sink.post(session::LogLine{session::LogLevel::Info, what + ": " + s.status + " in " +
                                                                formatSeconds(clock.seconds())});
    } catch (const std::exception& e) {
        sink.post(session::LogLine{session::LogLevel::Warning, what + " failed: " + e.what()});
    }
    sink.flush();
}

}  // namespace

std::vector<std::pair<std::string, quant::LayerQuantConfig>> layerConfigs(
    const RunSpec& spec, models::NetworkImpl& model) {
    std::vector<std::pair<std::string, quant::LayerQuantConfig>> out;
    const auto layers = model.quantLayers();
    std::set<std::string> known;
    for (std::size_t i = 0; i < layers.size(); ++i) {
        const std::string& path = layers[i].first;
        known.insert(path);
        quant::LayerQuantConfig cfg;
        cfg.perChannel = spec.quant.perChannel;
        cfg.gradScale = spec.quant.gradScale == "per-sample" ? quant::GradScaleMode::PerSample
                                                             : quant::GradScaleMode::Numel;
        cfg.learnGradScale = spec.method.name == "nt" && spec.method.nt.learnGradScale;
        const bool first = i == 0, last = i + 1 == layers.size();
        // BERT: group-wise ranges for the encoder's and pooler's linear layers only (the
        // embedding and the classifier have no head structure).
        if (spec.isBert() && !first && !last) {
            cfg.groupRows = spec.quant.groupRows;
        }
        if (spec.isQuantized()) {
            cfg.weightBits = spec.quant.weightBits;
            cfg.actBits = spec.quant.actBits;
            const bool edge = spec.firstLastRuleCovers(i, layers.size());
            if (spec.isBert() && first) {
                // The word embedding: its own bits, no input (token ids).
                cfg.weightBits = spec.quant.embeddingBits >= 0 ? spec.quant.embeddingBits
                                                               : spec.quant.weightBits;
                cfg.actBits = 0;
            } else if (edge && spec.firstLastRule() == "8bit") {
                cfg.weightBits = cfg.actBits = 8;
            } else if (edge && spec.firstLastRule() == "float") {
                cfg.weightBits = cfg.actBits = 0;
            }
            auto it = spec.quant.layers.find(path);
            if (it != spec.quant.layers.end()) {
                if (it->second.weightBits >= 0) {
                    cfg.weightBits = it->second.weightBits;
                }
                if (it->second.actBits >= 0) {
                    cfg.actBits = it->second.actBits;
                }
            }
        }
        out.emplace_back(path, cfg);
    }
    for (const auto& [path, bits] : spec.quant.layers) {
        if (!known.count(path)) {
            std::string hint = layers.empty()
                                   ? std::string()
                                   : " (e.g. \"" + layers[1 % layers.size()].first + "\")";
            throw session::SpecError(
                "quant.layers." + path,
                "no quantizable layer with this path in " + spec.model.arch + hint);
        }
    }
    return out;
}

ModelShape shapeOf(const data::TensorSet& set) {
    ModelShape shape;
    shape.numClasses = set.numClasses;
    if (set.isText()) {
        shape.vocabSize = set.vocabularySize;
    } else if (set.inputs.defined()) {
        shape.inChannels = set.inputs.size(1);
    }
    return shape;
}

models::BertConfig bertConfig(const RunSpec& spec, const ModelShape& shape) {
    const session::BertSpec& b = spec.model.bert;
    models::BertConfig c;
    if (!b.pretrained.empty()) {
        c = models::readBertConfig((fs::path(b.pretrained) / "config.json").string());
    } else {
        c.vocab_size(std::max<int64_t>(b.vocabSize, shape.vocabSize))
            .hidden_size(b.hidden)
            .num_hidden_layers(b.layers)
            .num_attention_heads(b.heads)
            .intermediate_size(b.intermediate)
            .max_position_embeddings(b.maxPositions)
            .hidden_dropout_prob(b.dropout)
            .attention_probs_dropout_prob(b.dropout);
    }
    const int64_t classes = spec.model.numClasses > 0 ? spec.model.numClasses : shape.numClasses;
    c.num_labels(classes);
    c.problem_type(classes == 1 ? models::BertProblemType::Regression
                                : models::BertProblemType::SingleLabelClassification);
    if (shape.vocabSize > c.vocab_size()) {
        throw std::runtime_error("the vocabulary has " + std::to_string(shape.vocabSize) +
                                 " tokens but the model's word embedding only " +
                                 std::to_string(c.vocab_size()) + " rows");
    }
    if (spec.data.maxLength > c.max_position_embeddings()) {
        throw session::SpecError("data.max_length",
                                 "must be <= the model's max_position_embeddings (" +
                                     std::to_string(c.max_position_embeddings()) + ")");
    }
    return c;
}

models::Network buildModel(const RunSpec& spec, const ModelShape& shape) {
    models::Network model = nullptr;
    if (spec.isBert()) {
        model = models::Network(std::static_pointer_cast<models::NetworkImpl>(
            models::BertForSequenceClassification(bertConfig(spec, shape)).ptr()));
    } else {
        model = models::Network(
            std::static_pointer_cast<models::NetworkImpl>(std::make_shared<models::ResNetImpl>(
                models::ResNetOptions(spec.model.arch)
                    .in_channels(spec.model.inChannels > 0 ? spec.model.inChannels
                                                           : shape.inChannels)
                    .num_classes(spec.model.numClasses > 0 ? spec.model.numClasses
                                                           : shape.numClasses))));
    }
    const auto layers = model->quantLayers();
    const auto configs = layerConfigs(spec, *model);
    for (std::size_t i = 0; i < layers.size(); ++i) {
        layers[i].second->configureQuantizers(configs[i].second);
    }
    if (spec.isBert() && spec.isQuantized()) {
        const int bits =
            spec.quant.attentionBits >= 0 ? spec.quant.attentionBits : spec.quant.actBits;
        auto* bert = dynamic_cast<models::BertForSequenceClassificationImpl*>(model.get());
        bert->configureMatmulQuantizers(bits, configs.front().second.gradScale,
                                        configs.front().second.learnGradScale);
    }
    return model;
}

models::Network buildModel(const RunSpec& spec, int64_t inChannels, int64_t numClasses) {
    ModelShape shape;
    shape.inChannels = inChannels;
    shape.numClasses = numClasses;
    return buildModel(spec, shape);
}

namespace {

/// Copies a Hugging Face checkpoint folder's weights into a BERT network (quantizers keep
/// initialising from data). Returns the loader's notes.
std::vector<std::string> loadBertFolderInto(models::NetworkImpl& model, const std::string& dir) {
    models::BertLoadOptions options;
    options.allowMissingClassifier = true;
    models::BertCheckpoint ck = models::loadBertFolder(dir, options);
    std::map<std::string, torch::Tensor> source;
    for (const auto& item : ck.model->named_parameters()) {
        source[item.key()] = item.value();
    }
    torch::NoGradGuard noGrad;
    for (auto& item : model.named_parameters()) {
        if (isQuantizerParameter(item.key())) {
            continue;
        }
        auto it = source.find(item.key());
        if (it == source.end() || it->second.sizes() != item.value().sizes()) {
            std::ostringstream os;
            os << dir << ": tensor '" << item.key() << "' "
               << (it == source.end() ? std::string("is missing")
                                      : "does not have the model's shape")
               << " (the folder's config.json does not describe this model)";
            throw std::runtime_error(os.str());
        }
        item.value().copy_(it->second);
    }
    return ck.notes;
}

}  // namespace

void loadModelWeights(models::NetworkImpl& model, const std::string& path) {
    if (fs::is_directory(path)) {
        if (!dynamic_cast<models::BertForSequenceClassificationImpl*>(&model)) {
            throw std::runtime_error("cannot load checkpoint: " + path +
                                     ": is a folder (only BERT reads Hugging Face checkpoint "
                                     "folders)");
        }
        loadBertFolderInto(model, path);
        return;
    }
    io::LoadedTensors file;
    try {
        file = io::loadTensors(path);
    } catch (const io::FormatError& e) {
        throw std::runtime_error(std::string("cannot load checkpoint: ") + e.what());
    }
    torch::NoGradGuard noGrad;
    const io::NamedTensors targets = modelTensors(model);
    std::set<std::string> expected;
    for (const auto& item : targets) {
        expected.insert(item.first);
    }
    for (const auto& item : file.tensors) {
        // Quantizer tensors of layers that are float in this run, and optimizer state, are
        // legitimately left over; any other tensor means another architecture.
        if (!expected.count(item.first) && !isQuantizerParameter(item.first) &&
            item.first.rfind("optimizer/", 0) != 0) {
            throw std::runtime_error(path + ": tensor '" + item.first + "' has no place in this " +
                                     "model (is this a checkpoint " + "of the same architecture?)");
        }
    }
    for (const auto& [name, target] : targets) {
        auto it = file.tensors.find(name);
        if (it == file.tensors.end()) {
            if (isQuantizerParameter(name)) {
                continue;  // a float checkpoint: this quantizer initialises from data
            }
            throw std::runtime_error(path + ": tensor '" + name + "' is missing (is this a " +
                                     "checkpoint of the same architecture?)");
        }
        if (it->second.sizes() != target.sizes()) {
            std::ostringstream os;
            os << path << ": tensor '" << name << "' has shape " << it->second.sizes()
               << " but the model expects " << target.sizes();
            throw std::runtime_error(os.str());
        }
        target.copy_(it->second.to(target.scalar_type()));
    }
}

std::string checkpointVocabulary(const std::string& path) {
    try {
        const io::SafetensorsFile file = io::SafetensorsFile::load(path);
        auto it = file.metadata().find(kVocabularyKey);
        return it == file.metadata().end() ? std::string() : it->second;
    } catch (const io::FormatError& e) {
        throw std::runtime_error(std::string("cannot read checkpoint: ") + e.what());
    }
}

Evaluation evaluate(models::NetworkImpl& model, const data::TensorSet& set, int batchSize,
                    const std::string& glueTask, dist::Group* group) {
    torch::NoGradGuard noGrad;
    const bool wasTraining = model.is_training();
    model.eval();
    Evaluation out;
    double lossSum = 0.0;
    int64_t correct = 0;
    const int64_t n = set.size();
    // A group shares the split out in contiguous pieces (each process at least one example).
    const bool sharded = group && n >= group->size();
    const int64_t from = sharded ? n * group->rank() / group->size() : 0;
    const int64_t to = sharded ? n * (group->rank() + 1) / group->size() : n;
    const bool regression = set.labels.defined() && set.labels.is_floating_point();
    std::vector<double> predictions, labels;
    for (int64_t b = from; b < to; b += batchSize) {
        const int64_t len = std::min<int64_t>(batchSize, to - b);
        torch::Tensor y = set.labels.narrow(0, b, len);
        torch::Tensor logits = model.forward(data::inputBatch(set, b, len));
        lossSum += models::taskLoss(logits, y, at::Reduction::Sum).item<double>();
        correct += models::correctCount(logits, y);
        if (set.isText()) {
            const torch::Tensor p = regression
                                        ? logits.reshape({-1}).to(torch::kDouble).contiguous()
                                        : logits.argmax(1).to(torch::kDouble).contiguous();
            const torch::Tensor l = y.to(torch::kDouble).contiguous();
            predictions.insert(predictions.end(), p.data_ptr<double>(),
                               p.data_ptr<double>() + p.numel());
            labels.insert(labels.end(), l.data_ptr<double>(), l.data_ptr<double>() + l.numel());
        }
    }
    model.train(wasTraining);
    if (sharded) {
        std::vector<torch::Tensor> totals{
            torch::tensor({lossSum, double(correct)}, torch::kDouble)};
        group->allreduceSum(totals);
        lossSum = totals[0][0].item<double>();
        correct = int64_t(std::llround(totals[0][1].item<double>()));
        if (set.isText()) {
            // Metrics such as F1 or Pearson need every prediction: gathered in split order.
            const torch::Tensor mine = torch::stack(
                {torch::tensor(predictions, torch::kDouble), torch::tensor(labels, torch::kDouble)},
                1);
            const torch::Tensor all = group->allgatherRows(mine).contiguous();
            const double* rows = all.data_ptr<double>();
            predictions.assign(size_t(all.size(0)), 0.0);
            labels.assign(size_t(all.size(0)), 0.0);
            for (size_t i = 0; i < predictions.size(); ++i) {
                predictions[i] = rows[2 * i];
                labels[i] = rows[2 * i + 1];
            }
        }
    }
    out.loss = n ? lossSum / double(n) : 0.0;
    out.accuracy = regression ? std::nan("") : (n ? double(correct) / double(n) : 0.0);
    if (n > 0 && !glueTask.empty()) {
        for (const data::MetricValue& m : data::glueMetrics(glueTask, predictions, labels)) {
            if (m.name != "accuracy") {
                out.metrics[m.name] = m.value;
            }
        }
    } else if (n > 0 && set.isText() && set.numClasses == 2) {
        std::vector<int> p(predictions.begin(), predictions.end());
        std::vector<int> l(labels.begin(), labels.end());
        out.metrics["f1"] = data::binaryF1(p, l);
    }
    return out;
}

double Evaluation::score() const {
    if (std::isfinite(accuracy)) {
        return accuracy;
    }
    auto it = metrics.find("pearson");
    return it == metrics.end() ? 0.0 : it->second;
}

session::Finished runTraining(const RunSpec& spec, const TrainerContext& ctx) {
    EventSink& sink = *ctx.sink;
    session::Finished result;
    result.runId = sink.runId();
    auto log = [&](session::LogLevel level, const std::string& text) {
        sink.post(session::LogLine{level, text});
    };
    const Clock clock;
    // Data-parallel runs (spec.distributed.processes > 1): rank 0 is this process unless a
    // worker's joined group came with the context; rank 0 alone records and writes files.
    const int world = spec.distributed.processes;
    // Workers before the group: on the way out the group closes first, so workers still in a
    // collective see it at once and end, and then they are reaped.
    std::unique_ptr<dist::LocalWorkers> workers;
    std::unique_ptr<dist::Group> ownGroup;
    dist::Group* group = world > 1 ? ctx.group : nullptr;
    const bool root = !group || group->isRoot();
    try {
        // A worker's thread count was set by its launcher; local processes share the cores.
        int threadRequest = spec.threads;
        if (world > 1 && !group && ctx.launch.startLocalWorkers) {
            threadRequest =
                std::max(1, (spec.threads > 0 ? spec.threads : engine::hardwareThreads()) / world);
        }
        const int threads = group ? at::get_num_threads() : engine::applyThreadCount(threadRequest);
        torch::manual_seed(spec.seed);
        sink.post(session::Progress{"loading data", 0, spec.optim.epochs, 0, 0, 0.0, -1.0});
        sink.flush();
        // A warm start or resumed run tokenizes with the vocabulary its checkpoint stored.
        std::string vocabulary;
        const std::string lastPath = (fs::path(ctx.runDir) / "last.safetensors").string();
        const std::string& vocabSource = ctx.resume ? lastPath : spec.initCheckpoint;
        if (!root) {
            vocabulary = group->value("vocabulary");
        } else if (spec.isBert() && !vocabSource.empty() && !fs::is_directory(vocabSource)) {
            vocabulary = checkpointVocabulary(vocabSource);
        }
        if (world > 1 && !group) {
            dist::GroupOptions options;
            options.worldSize = world;
            options.masterAddr = ctx.launch.masterAddr;
            options.masterPort = ctx.launch.masterPort;
            options.timeout = std::chrono::milliseconds(int64_t(spec.distributed.timeoutS * 1e3));
            ownGroup = std::make_unique<dist::Group>(options);
            group = ownGroup.get();
            group->setValue("spec", spec.toJson());
            group->setValue("vocabulary", vocabulary);
            group->setValue("resume", ctx.resume ? "1" : "0");
            if (ctx.launch.startLocalWorkers) {
                dist::WorkerLaunch launch;
                launch.executable = ctx.launch.workerExecutable;
                launch.masterAddr = options.masterAddr;
                launch.masterPort = group->port();
                launch.worldSize = world;
                launch.threadsPerProcess = threads;
                launch.logDir = ctx.runDir;
                workers = std::make_unique<dist::LocalWorkers>(launch);
            }
            log(session::LogLevel::Info,
                "distributed: " + std::to_string(world) +
                    " processes over c10d (Gloo), rank 0 at " + options.masterAddr + ":" +
                    std::to_string(group->port()) +
                    (workers ? ", workers started here" : ", waiting for the other ranks"));
        }
        const data::RunData runData =
            data::loadRunData(spec, {spec.data.trainLimit, spec.seed},
                              {spec.data.testLimit, spec.seed + 1}, vocabulary);
        const data::TensorSet& train = runData.train;
        const data::TensorSet& test = runData.test;
        if (train.size() < 2) {
            throw std::runtime_error("the training split has fewer than 2 examples");
        }
        log(session::LogLevel::Info,
            "data: " + runData.summary + "; threads " + std::to_string(threads));
        for (const std::string& note : runData.notes) {
            log(session::LogLevel::Info, "data: " + note);
        }
        const std::string glueTask =
            spec.data.dataset == "glue" ? data::glueTaskName(spec.data.task) : std::string();

        const ModelShape shape = shapeOf(train);
        models::Network model = buildModel(spec, shape);
        if (!root) {
            // Rank 0's weights arrive by broadcast below.
        } else if (!spec.initCheckpoint.empty() && !ctx.resume) {
            loadModelWeights(*model, spec.initCheckpoint);
            log(session::LogLevel::Info, "warm start from " + spec.initCheckpoint);
        } else if (spec.isBert() && !spec.model.bert.pretrained.empty() && !ctx.resume) {
            for (const std::string& note : loadBertFolderInto(*model, spec.model.bert.pretrained)) {
                log(session::LogLevel::Info, spec.model.bert.pretrained + ": " + note);
            }
            log(session::LogLevel::Info, "weights from " + spec.model.bert.pretrained);
        }
        const ParamGroups params = splitParameters(*model, model->quantLayers());
        // The step sizes proper (not noise tempering's log-parameterised kappa): kept positive.
        std::vector<torch::Tensor> stepSizes;
        for (const auto& item : model->named_parameters()) {
            if (isQuantizerParameter(item.key()) && item.key().size() > 10 &&
                item.key().compare(item.key().size() - 10, 10, ".step_size") == 0) {
                stepSizes.push_back(item.value());
            }
        }
        Optimizers optimizers = makeOptimizers(spec, *model, params.steps);

        int startEpoch = 0;
        int64_t step = 0;
        double bestAcc = 0.0;
        if (group) {
            group->join();
        }
        if (ctx.resume) {
            io::LoadedTensors ck;
            if (root) {
                ck = io::loadTensors(lastPath);
                loadModelWeights(*model, lastPath);
            }
            if (group) {
                // The other processes get rank 0's checkpoint through the group.
                io::NamedTensors shared;
                if (root) {
                    shared.assign(ck.tensors.begin(), ck.tensors.end());
                    group->setValue("resume-meta", nlohmann::json(ck.metadata).dump());
                }
                shared = dist::shareTensors(*group, shared, "resume-tensors");
                if (!root) {
                    ck.tensors = std::map<std::string, torch::Tensor>(shared.begin(), shared.end());
                    ck.metadata = nlohmann::json::parse(group->value("resume-meta"))
                                      .get<std::map<std::string, std::string>>();
                }
            }
            restoreOptimizer(optimizers, *model, ck.tensors, lastPath);
            auto meta = [&](const char* key) {
                auto it = ck.metadata.find(key);
                if (it == ck.metadata.end()) {
                    throw std::runtime_error(lastPath + ": metadata '" + key + "' is missing");
                }
                return it->second;
            };
            startEpoch = std::stoi(meta("epoch")) + 1;
            step = std::stoll(meta("step"));
            bestAcc = std::stod(meta("best_eval_acc"));
            log(session::LogLevel::Info, "resuming after epoch " + std::to_string(startEpoch) +
                                             " (step " + std::to_string(step) + ")");
        }

        std::unique_ptr<dist::GradientSync> gradientSync;
        if (group) {
            dist::broadcastModule(*group, *model);
            std::vector<torch::Tensor> trainable;
            for (const auto& p : model->parameters()) {
                if (p.requires_grad()) {
                    trainable.push_back(p);
                }
            }
            gradientSync = std::make_unique<dist::GradientSync>(
                *group, trainable, int64_t(spec.distributed.bucketMb * 1024.0 * 1024.0));
        }
        // This process's share of the current global batch: LSQ initialises from it, so the
        // step sizes it finds are averaged over the processes with the same weights.
        double batchShare = 1.0;
        std::optional<quant::InitializationHookGuard> initAverage;
        if (group) {
            initAverage.emplace([&](torch::Tensor& steps) {
                std::vector<torch::Tensor> t{steps.mul_(batchShare)};
                group->allreduceSum(t);
            });
        }

        const int64_t n = train.size();
        const int64_t batch = std::min<int64_t>(spec.data.batchSize, n);
        // A last batch of one sample (per process) would break BatchNorm in training mode.
        const int64_t stepsPerEpoch = n / batch + ((n % batch) >= 2 * world ? 1 : 0);
        const int epochs = spec.trains() ? spec.optim.epochs : 1;
        const int64_t totalSteps = spec.trains() ? stepsPerEpoch * epochs : 0;
        const int padding = spec.data.cropPadding >= 0 ? spec.data.cropPadding
                                                       : (runData.imageHeight >= 32 ? 4 : 2);
        const bool augment = spec.data.augment && !train.isText();

        auto saveCheckpoint = [&](int epoch, const Evaluation& eval) {
            if (ctx.runDir.empty() || !root) {
                return;
            }
            fs::create_directories(ctx.runDir);
            io::NamedTensors tensors = modelTensors(*model);
            io::NamedTensors opt = optimizerTensors(optimizers, *model);
            tensors.insert(tensors.end(), opt.begin(), opt.end());
            std::map<std::string, std::string> meta{
                {"format", kCheckpointFormat},         {"spec", spec.toJson()},
                {"epoch", std::to_string(epoch)},      {"step", std::to_string(step)},
                {"best_eval_acc", exactText(bestAcc)}, {"eval_acc", exactText(eval.score())},
            };
            if (!runData.vocabulary.empty()) {
                meta[kVocabularyKey] = runData.vocabulary;
            }
            const std::string epochPath =
                (fs::path(ctx.runDir) / ("epoch-" + std::to_string(epoch + 1) + ".safetensors"))
                    .string();
            try {
                io::saveTensors(epochPath, tensors, meta);
                io::saveTensors(lastPath, tensors, meta);
            } catch (const std::exception& e) {
                // Each file is written beside the old one and renamed over it: the checkpoints
                // already there are intact.
                throw std::runtime_error(
                    std::string(e.what()) + " (epoch " + std::to_string(epoch + 1) +
                    "'s checkpoint; the earlier checkpoints are intact: make room for two "
                    "checkpoint files and resume the run)");
            }
            result.checkpoint = lastPath;
        };

        if (!ctx.resume) {
            // A resumed run already has the states recorded at its checkpoint's step.
            sink.post(session::LayerStates{step, collectLayerStates(*model)});
        }

        double stepSecondsSum = 0.0;
        int64_t timedSteps = 0;
        Evaluation lastEval;
        double lastTrainLoss = 0.0;
        bool cancelled = false;

        if (!spec.trains()) {
            // Every process calibrates on the same batches; rank 0's result is then shared.
            cancelled = !calibrate(spec, *model, train, batch, ctx, sink);
            if (group) {
                cancelled = group->broadcastCommand(cancelled ? 1 : 0) != 0;
            }
            if (!cancelled) {
                if (group) {
                    dist::broadcastModule(*group, *model);
                }
                sink.post(session::Progress{"evaluating", 1, 1, 0, 0, clock.seconds(), -1.0});
                setObserving(*model, true);
                lastEval = evaluate(*model, test, spec.data.evalBatchSize, glueTask, group);
                setObserving(*model, false);
                bestAcc = lastEval.score();
                sink.post(
                    session::EpochEval{1, 0, lastEval.loss, lastEval.accuracy, lastEval.metrics});
                sink.post(session::LayerStates{0, collectLayerStates(*model)});
                log(session::LogLevel::Info,
                    "calibrated (" + spec.method.ptq.calibration + "): " + describe(lastEval));
                saveCheckpoint(0, lastEval);
            }
        }

        // Method state: distillation teacher, noise tempering, SQuAT.
        std::optional<models::Network> teacher;
        const bool distillInside =
            spec.method.distill.hiddenWeight > 0.0 || spec.method.distill.attentionWeight > 0.0;
        if (spec.trains() && spec.method.distill.enabled) {
            teacher = makeTeacher(spec, shape);
            log(session::LogLevel::Info, "distilling from " + teacherPath(spec));
        }
        std::vector<quant::Quantizer> noisy;
        if (spec.method.name == "nt") {
            noisy = noiseQuantizers(spec, *model);
        }
        std::optional<SquatStepper> squat;
        if (spec.method.name == "squat") {
            squat.emplace(spec.method.squat, params, model.ptr().get());
        }

        model->train();
        const double trainStart = clock.seconds();
        const int64_t stepAtStart = step;
        for (int epoch = startEpoch; spec.trains() && epoch < epochs && !cancelled; ++epoch) {
            const std::vector<int64_t> order = data::epochOrder(n, spec.seed, epoch);
            // Augmentation and noise draw per process (rank 0 draws what one process would).
            const uint64_t rankSalt = group ? uint64_t(group->rank()) * 0x9E3779B97F4A7C15ull : 0;
            std::mt19937_64 augRng(spec.seed * 1000003ull + uint64_t(epoch) + rankSalt);
            double windowLoss = 0.0;
            int64_t windowCorrect = 0, windowCount = 0, windowSteps = 0;
            WindowMeans methodWindow;
            for (int64_t b = 0; b < stepsPerEpoch; ++b) {
                if (ctx.control && ctx.control->paused.load()) {
                    sink.post(session::Progress{"paused", epoch + 1, epochs, step, totalSteps,
                                                clock.seconds(), -1.0});
                    sink.flush();
                }
                if (group ? !stepCommand(*group, ctx.control)
                          : ctx.control && !ctx.control->checkpoint()) {
                    cancelled = true;
                    break;
                }
                const Clock stepClock;
                const int64_t globalBegin = b * batch, globalEnd = std::min(n, globalBegin + batch);
                // This process's contiguous piece of the global batch.
                int64_t begin = globalBegin, end = globalEnd;
                if (group) {
                    const int64_t size = globalEnd - globalBegin;
                    begin = globalBegin + size * group->rank() / world;
                    end = globalBegin + size * (group->rank() + 1) / world;
                    batchShare = double(end - begin) / double(size);
                }
                auto [x, y] = data::gatherBatch(train, order, globalBegin, globalEnd);
                if (group) {
                    // Cut from the global batch, so text keeps the global batch's padded length
                    // (LSQ's initial step sizes average over padding too, as with one process).
                    x = x.narrow(0, begin - globalBegin, end - begin);
                    y = y.narrow(0, begin - globalBegin, end - begin);
                }
                if (augment) {
                    x = data::augmentBatch(x, padding, spec.data.flip, augRng);
                }
                const double epochPosition = epoch + double(b) / double(stepsPerEpoch);
                const double lr =
                    learningRate(spec.optim, epoch, double(b) / double(stepsPerEpoch));
                setLearningRate(optimizers, lr);
                const bool observe = spec.isQuantized() && step % spec.stateEvery == 0;
                if (!noisy.empty()) {
                    // The noise of a step depends only on the seed and the step, so a resumed
                    // run draws what the uninterrupted one did.
                    torch::manual_seed(spec.seed * 1000003ull + uint64_t(step) + rankSalt);
                    const double lambda = noiseLambda(spec.method.nt, step, totalSteps);
                    for (auto& q : noisy) {
                        q->setNoiseLambda(lambda);
                    }
                    methodWindow.add("nt/lambda", lambda);
                }
                torch::Tensor teacherLogits;
                models::NetworkImpl::Captured teacherInside;
                if (teacher) {
                    torch::NoGradGuard noGrad;
                    (*teacher)->setCapture(distillInside);
                    teacherLogits = (*teacher)->forward(x);
                    teacherInside = (*teacher)->takeCaptured();
                    (*teacher)->setCapture(false);
                }
                torch::Tensor logits;
                double softLoss = 0.0, insideLoss = 0.0;
                // Forward and backward on this batch; the first pass's logits count for the
                // training accuracy and its quantizer statistics for the layer table.
                const ForwardBackward pass = [&](bool firstPass) {
                    setObserving(*model, observe && firstPass);
                    model->setCapture(teacher && distillInside);
                    torch::Tensor out = model->forward(x);
                    const models::NetworkImpl::Captured inside = model->takeCaptured();
                    model->setCapture(false);
                    torch::Tensor loss = models::taskLoss(out, y);
                    if (teacher) {
                        const auto& d = spec.method.distill;
                        // Regression has no distribution to match: MSE to the teacher's output.
                        torch::Tensor soft =
                            y.is_floating_point()
                                ? torch::mse_loss(out, teacherLogits)
                                : softCrossEntropy(out, teacherLogits, d.temperature);
                        loss = (1.0 - d.alpha) * loss + d.alpha * soft;
                        if (distillInside) {
                            torch::Tensor extra = insideDistillationLoss(
                                inside, teacherInside, d.hiddenWeight, d.attentionWeight);
                            loss = loss + extra;
                            if (firstPass) {
                                insideLoss = extra.item<double>();
                            }
                        }
                        if (firstPass) {
                            softLoss = soft.item<double>();
                        }
                    }
                    if (gradientSync) {
                        gradientSync->begin(batchShare);
                    }
                    loss.backward();
                    if (gradientSync) {
                        gradientSync->finish();  // .grad: the global batch's mean gradient
                    }
                    if (firstPass) {
                        logits = out.detach();
                    }
                    return loss.item<double>();
                };
                double lossValue = 0.0;
                if (squat) {
                    const double rho =
                        spec.method.squat.rho *
                        (spec.method.squat.rhoWarmupEpochs > 0.0
                             ? std::min(1.0, epochPosition / spec.method.squat.rhoWarmupEpochs)
                             : 1.0);
                    const StepReport r =
                        squat->step(step, rho, pass, *optimizers.weights, optimizers.steps.get());
                    lossValue = r.loss;
                    methodWindow.add("quant/step_grad_norm", r.stepGradNorm);
                    if (r.perturbed) {
                        methodWindow.add("squat/rho", rho);
                        methodWindow.add("squat/grad_norm", r.gradNorm);
                        methodWindow.add("squat/perturb_norm", r.perturbNorm);
                        methodWindow.add("squat/perturbed_loss", r.perturbedLoss);
                        methodWindow.add("squat/loss_gap", r.perturbedLoss - r.loss);
                    }
                } else {
                    for (torch::optim::Optimizer* opt : optimizers.all()) {
                        opt->zero_grad();
                    }
                    lossValue = pass(true);
                    if (spec.isQuantized()) {
                        methodWindow.add("quant/step_grad_norm", gradNorm(params.steps));
                    }
                    for (torch::optim::Optimizer* opt : optimizers.all()) {
                        opt->step();
                    }
                }
                keepPositive(stepSizes);
                if (observe) {
                    setObserving(*model, false);
                }
                if (teacher) {
                    methodWindow.add("distill/soft_loss", softLoss);
                    if (distillInside) {
                        methodWindow.add("distill/inside_loss", insideLoss);
                    }
                }
                int64_t stepCorrect = models::correctCount(logits, y);
                int64_t stepCount = end - begin;
                if (group) {
                    // The global batch's loss and accuracy, for the log and the NaN check alike.
                    std::vector<torch::Tensor> t{torch::tensor(
                        {lossValue * batchShare, double(stepCorrect), double(stepCount)},
                        torch::kDouble)};
                    group->allreduceSum(t);
                    lossValue = t[0][0].item<double>();
                    stepCorrect = int64_t(std::llround(t[0][1].item<double>()));
                    stepCount = int64_t(std::llround(t[0][2].item<double>()));
                }
                if (!std::isfinite(lossValue)) {
                    throw std::runtime_error("the training loss became " +
                                             std::to_string(lossValue) + " at step " +
                                             std::to_string(step) + " (learning rate too high?)");
                }
                ++step;
                stepSecondsSum += stepClock.seconds();
                ++timedSteps;
                windowLoss += lossValue;
                windowCorrect += stepCorrect;
                windowCount += stepCount;
                ++windowSteps;
                lastTrainLoss = lossValue;
                if (step % spec.logEvery == 0 || b + 1 == stepsPerEpoch) {
                    std::map<std::string, double> values{
                        {"train/loss", windowLoss / double(windowSteps)}, {"lr", lr}};
                    if (!y.is_floating_point()) {
                        values["train/acc"] = double(windowCorrect) / double(windowCount);
                    }
                    methodWindow.drainInto(values);
                    sink.post(session::StepMetrics{step, epoch + 1, std::move(values)});
                    windowLoss = 0.0;
                    windowCorrect = windowCount = windowSteps = 0;
                }
                if (observe) {
                    sink.post(session::LayerStates{step, collectLayerStates(*model)});
                }
                postHistogram(ctx.control, sink, *model, step, spec.logEvery);
                const double elapsed = clock.seconds() - trainStart;
                const double perStep = elapsed / double(std::max<int64_t>(1, step - stepAtStart));
                sink.post(session::Progress{"training", epoch + 1, epochs, step, totalSteps,
                                            clock.seconds(), perStep * double(totalSteps - step)});
            }
            if (cancelled) {
                break;
            }
            sink.post(session::Progress{"evaluating", epoch + 1, epochs, step, totalSteps,
                                        clock.seconds(), -1.0});
            if (group) {
                dist::averageRunningStatistics(*group, *model);
                dist::checkInSync(*group, *model);
            }
            if (spec.isQuantized()) {
                setObserving(*model, true);
            }
            lastEval = evaluate(*model, test, spec.data.evalBatchSize, glueTask, group);
            setObserving(*model, false);
            bestAcc = std::max(bestAcc, lastEval.score());
            sink.post(session::EpochEval{epoch + 1, step, lastEval.loss, lastEval.accuracy,
                                         lastEval.metrics});
            sink.post(session::LayerStates{step, collectLayerStates(*model)});
            log(session::LogLevel::Info, "epoch " + std::to_string(epoch + 1) + "/" +
                                             std::to_string(epochs) + ": " + describe(lastEval) +
                                             " (" + formatSeconds(clock.seconds()) + ")");
            saveCheckpoint(epoch, lastEval);
            sink.flush();
            const auto& snapshots = spec.analysis.landscape.epochs;
            if (!root) {
                // Rank 0 alone computes a snapshot; the others wait for it without a deadline.
                if (std::find(snapshots.begin(), snapshots.end(), epoch + 1) != snapshots.end()) {
                    group->waitFor("epoch-done-" + std::to_string(epoch + 1));
                }
            } else if (std::find(snapshots.begin(), snapshots.end(), epoch + 1) !=
                       snapshots.end()) {
                const quant::InitializationHookGuard rank0Only({});
                if (ctx.runDir.empty()) {
                    log(session::LogLevel::Warning,
                        "no landscape after epoch " + std::to_string(epoch + 1) +
                            ": it is computed from the epoch's checkpoint, and this run writes "
                            "none");
                } else {
                    snapshotLandscape(spec, ctx, sink,
                                      (fs::path(ctx.runDir) /
                                       ("epoch-" + std::to_string(epoch + 1) + ".safetensors"))
                                          .string(),
                                      epoch + 1, threads);
                }
                if (group) {
                    group->setValue("epoch-done-" + std::to_string(epoch + 1), "1");
                }
            }
        }
        if (workers && !workers->waitAll(spec.distributed.timeoutS)) {
            log(session::LogLevel::Warning, "distributed: a worker process had not ended " +
                                                formatSeconds(spec.distributed.timeoutS) +
                                                " after the run; it is stopped");
        }

        result.status = cancelled ? "cancelled" : "finished";
        result.finalMetrics = {
            {"eval/loss", lastEval.loss},
            {"eval/best_acc", bestAcc},
            {"train/loss", lastTrainLoss},
            {"time/step_ms", timedSteps ? 1000.0 * stepSecondsSum / double(timedSteps) : 0.0},
            {"time/total_s", clock.seconds()},
            {"steps", double(step)},
        };
        if (std::isfinite(lastEval.accuracy)) {
            result.finalMetrics["eval/acc"] = lastEval.accuracy;
        }
        for (const auto& [name, value] : lastEval.metrics) {
            result.finalMetrics["eval/" + name] = value;
        }
        if (cancelled) {
            for (auto it = result.finalMetrics.begin(); it != result.finalMetrics.end();) {
                const bool evalFigure =
                    it->first.rfind("eval/", 0) == 0 && it->first != "eval/best_acc";
                it = evalFigure ? result.finalMetrics.erase(it) : std::next(it);
            }
        }
    } catch (const c10::Error& e) {
        // Torch's own checks: the message without the C++ backtrace is the useful part.
        result.status = "failed";
        result.error = e.what_without_backtrace();
    } catch (const std::exception& e) {
        result.status = "failed";
        result.error = e.what();
    }
    if (result.status == "failed") {
        if (group && !root) {
            group->reportFailure(result.error);  // rank 0 names it if it is still waiting
        }
        if (workers) {
            // A killed worker's sockets close just before it becomes reapable: give it a moment.
            workers->waitAll(1.0);
            const std::string failures = workers->failures();
            if (!failures.empty()) {
                result.error += " (workers: " + failures + ")";
            }
        }
        log(session::LogLevel::Error, result.error);
    }
    return result;
}

}  // namespace qs::train
