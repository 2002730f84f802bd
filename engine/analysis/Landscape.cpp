#include "engine/analysis/Landscape.h"

#include "engine/analysis/AnalysisModel.h"
#include "engine/analysis/HessianCore.h"
#include "engine/analysis/LandscapeCore.h"
#include "engine/io/VtkPolyData.h"
#include "engine/train/Trainer.h"
#include "engine/util/Threads.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/types.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <exception>
#include <limits>
#include <map>
#include <memory>
#include <stdexcept>
#include <thread>

namespace qs::analysis {

namespace {

constexpr double kPending = std::numeric_limits<double>::quiet_NaN();
// Power iteration for the hessian directions: ALGORITHMS.md section 5's defaults.
constexpr int kHessianIterations = 100;
constexpr double kHessianTolerance = 1e-3;

bool isBatchNormStatistic(const std::string& name) {
    auto endsWith = [&](const std::string& suffix) {
        return name.size() >= suffix.size() &&
               name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    return endsWith(".running_mean") || endsWith(".running_var");
}

/// Every parameter and buffer of the model by path.
std::map<std::string, torch::Tensor> namedTensors(models::NetworkImpl& model) {
    std::map<std::string, torch::Tensor> out;
    for (const auto& item : model.named_parameters()) {
        out.emplace(item.key(), item.value());
    }
    for (const auto& item : model.named_buffers()) {
        out.emplace(item.key(), item.value());
    }
    return out;
}

/// Puts the intra-op thread count back as it was (the trainer's snapshots run inside a run).
class ThreadCountGuard {
public:
    ThreadCountGuard() : m_previous(at::get_num_threads()) {}
    ~ThreadCountGuard() {
        if (at::get_num_threads() != m_previous) {
            at::set_num_threads(m_previous);
        }
    }
    ThreadCountGuard(const ThreadCountGuard&) = delete;
    ThreadCountGuard& operator=(const ThreadCountGuard&) = delete;

private:
    int m_previous;
};

}  // namespace

// ---- directions ------------------------------------------------------------------------------

std::vector<torch::Tensor> filterNormalizedDirection(const std::vector<torch::Tensor>& weights,
                                                     at::Generator& generator) {
    torch::NoGradGuard noGrad;
    std::vector<torch::Tensor> out;
    out.reserve(weights.size());
    for (const torch::Tensor& w : weights) {
        if (w.dim() <= 1) {
            out.push_back(torch::zeros_like(w));
            continue;
        }
        const torch::Tensor d =
            at::randn(w.sizes(), generator, w.options().dtype(torch::kFloat)).to(torch::kDouble);
        const torch::Tensor wf = w.detach().to(torch::kDouble).reshape({w.size(0), -1});
        const torch::Tensor df = d.reshape({w.size(0), -1});
        // Li et al.'s guard against an all-zero draw; it moves the norms by 1e-10 relative.
        const torch::Tensor scale = wf.norm(2, {1}, true) / (df.norm(2, {1}, true) + 1e-10);
        out.push_back((df * scale).reshape(w.sizes()).to(w.scalar_type()));
    }
    return out;
}

LandscapeDirections randomDirections(models::NetworkImpl& model, uint64_t seed, bool twoD) {
    const PerturbedParams params = perturbedParameters(model);
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    LandscapeDirections d;
    d.names = params.names;
    d.dx = filterNormalizedDirection(params.tensors, generator);
    if (twoD) {
        d.dy = filterNormalizedDirection(params.tensors, generator);
    }
    return d;
}

LandscapeDirections givenDirections(models::NetworkImpl& model,
                                    const std::vector<std::vector<torch::Tensor>>& directions) {
    const PerturbedParams params = perturbedParameters(model);
    if (directions.empty() || directions.size() > 2) {
        throw std::invalid_argument("landscape: one or two directions are needed, got " +
                                    std::to_string(directions.size()));
    }
    LandscapeDirections d;
    d.names = params.names;
    for (std::size_t k = 0; k < directions.size(); ++k) {
        const auto& given = directions[k];
        if (given.size() != params.tensors.size()) {
            throw std::invalid_argument("landscape: direction " + std::to_string(k + 1) + " has " +
                                        std::to_string(given.size()) + " tensors for " +
                                        std::to_string(params.tensors.size()) + " parameters");
        }
        std::vector<torch::Tensor> out;
        for (std::size_t i = 0; i < given.size(); ++i) {
            if (!given[i].defined() || given[i].sizes() != params.tensors[i].sizes()) {
                throw std::invalid_argument("landscape: direction " + std::to_string(k + 1) +
                                            " does not match the shape of " + params.names[i]);
            }
            out.push_back(given[i].detach().to(params.tensors[i].scalar_type()).contiguous());
        }
        (k == 0 ? d.dx : d.dy) = std::move(out);
    }
    return d;
}

LandscapeDirections interpolationDirection(models::NetworkImpl& model, models::NetworkImpl& other) {
    torch::NoGradGuard noGrad;
    std::vector<std::string> names = perturbedParameters(model).names;
    for (const auto& item : model.named_buffers()) {
        if (isBatchNormStatistic(item.key())) {
            names.push_back(item.key());
        }
    }
    const auto mine = namedTensors(model);
    const auto theirs = namedTensors(other);
    LandscapeDirections d;
    for (const std::string& name : names) {
        const auto it = theirs.find(name);
        const torch::Tensor& w = mine.at(name);
        if (it == theirs.end() || it->second.sizes() != w.sizes()) {
            throw std::invalid_argument("landscape: the other checkpoint has no tensor '" + name +
                                        "' of this model's shape");
        }
        d.names.push_back(name);
        d.dx.push_back((it->second.detach() - w.detach()).contiguous());
    }
    return d;
}

// ---- evaluation ------------------------------------------------------------------------------

PointEvaluator::PointEvaluator(models::Network model, const LandscapeDirections& directions,
                               const data::TensorSet& subset, int batchSize)
    : m_model(std::move(model)),
      m_directions(directions),
      m_subset(subset),
      m_batchSize(batchSize) {
    const auto tensors = namedTensors(*m_model);
    torch::NoGradGuard noGrad;
    for (const std::string& name : directions.names) {
        const auto it = tensors.find(name);
        if (it == tensors.end()) {
            throw std::invalid_argument("landscape: the model has no tensor '" + name + "'");
        }
        m_targets.push_back(it->second);
        m_start.push_back(it->second.detach().clone());
    }
    m_model->eval();
}

PointEvaluator::~PointEvaluator() = default;

std::pair<double, double> PointEvaluator::evaluate(double a, double b) {
    c10::InferenceMode inference;
    const bool twoD = !m_directions.dy.empty();
    for (std::size_t i = 0; i < m_targets.size(); ++i) {
        // In place from the saved copy: no drift from repeated moves, no model rebuild.
        torch::Tensor& t = m_targets[i];
        t.copy_(m_start[i]);
        t.add_(m_directions.dx[i], a);
        if (twoD) {
            t.add_(m_directions.dy[i], b);
        }
    }
    const train::Evaluation e = train::evaluate(*m_model, m_subset, m_batchSize);
    return {e.loss, e.score()};
}

void PointEvaluator::restore() {
    torch::NoGradGuard noGrad;
    for (std::size_t i = 0; i < m_targets.size(); ++i) {
        m_targets[i].copy_(m_start[i]);
    }
}

// ---- grid ------------------------------------------------------------------------------------

std::vector<std::vector<int64_t>> landscapeBatches(int nx, int ny) {
    std::vector<std::vector<int64_t>> batches;
    auto coarse = [](int i) { return i % 4 == 0; };
    for (int iy = 0; iy < ny; iy += 4) {
        std::vector<int64_t> row;
        for (int ix = 0; ix < nx; ix += 4) {
            row.push_back(int64_t(iy) * nx + ix);
        }
        batches.push_back(std::move(row));
    }
    for (int iy = 0; iy < ny; ++iy) {
        std::vector<int64_t> row;
        for (int ix = 0; ix < nx; ++ix) {
            if (!(coarse(ix) && coarse(iy))) {
                row.push_back(int64_t(iy) * nx + ix);
            }
        }
        if (!row.empty()) {
            batches.push_back(std::move(row));
        }
    }
    return batches;
}

namespace {

double axis(double lo, double hi, int n, int i) {
    if (n <= 1) {
        return lo;
    }
    // The ends are exact; the middle of a symmetric range is exactly 0 for odd n.
    return i == n - 1 ? hi : lo + (hi - lo) * (double(i) / double(n - 1));
}

}  // namespace

double gridX(const LandscapeSurface& s, int ix) {
    return axis(s.xMin, s.xMax, s.nx, ix);
}

double gridY(const LandscapeSurface& s, int iy) {
    return axis(s.yMin, s.yMax, s.ny, iy);
}

// ---- options ---------------------------------------------------------------------------------

namespace {

void validate(const LandscapeOptions& o) {
    if (o.directions != "random" && o.directions != "hessian" && o.directions != "interpolation") {
        throw std::invalid_argument("landscape: unknown directions '" + o.directions +
                                    "' (random, hessian or interpolation)");
    }
    if (o.nx < 1 || o.ny < 1 || int64_t(o.nx) * o.ny > 1000000) {
        throw std::invalid_argument("landscape: bad grid " + std::to_string(o.nx) + " x " +
                                    std::to_string(o.ny) +
                                    " (each side >= 1, at most 1,000,000 points)");
    }
    const bool xOk = std::isfinite(o.xMin) && std::isfinite(o.xMax) &&
                     (o.nx == 1 ? o.xMin <= o.xMax : o.xMin < o.xMax);
    const bool yOk =
        o.ny == 1 || (std::isfinite(o.yMin) && std::isfinite(o.yMax) && o.yMin < o.yMax);
    if (!xOk || !yOk) {
        throw std::invalid_argument("landscape: bad range: each axis needs finite min < max");
    }
    if (o.directions == "interpolation") {
        if (o.ny != 1) {
            throw std::invalid_argument(
                "landscape: interpolation is a 1D curve: ny must be 1 (got " +
                std::to_string(o.ny) + ")");
        }
        if (o.otherCheckpoint.empty()) {
            throw std::invalid_argument(
                "landscape: interpolation needs the other checkpoint (--other)");
        }
    }
    if (!o.mode.empty()) {
        checkMode(o.mode);
    }
    if (o.samples < 1 || o.batchSize < 1) {
        throw std::invalid_argument("landscape: samples and batch size must be positive");
    }
}

void validate(const LandscapeExecution& e) {
    if (e.threads < 0) {
        throw std::invalid_argument("landscape: threads must be >= 0");
    }
    if (e.parallel != "auto" && e.parallel != "points" && e.parallel != "intra-op") {
        throw std::invalid_argument("landscape: unknown parallel strategy '" + e.parallel +
                                    "' (auto, points or intra-op)");
    }
    if (!(e.flushSeconds >= 0.0)) {
        throw std::invalid_argument("landscape: flush interval must be >= 0");
    }
}

std::string optionsJson(const LandscapeOptions& o) {
    return nlohmann::json{{"directions", o.directions},
                          {"seed", o.seed},
                          {"other_checkpoint", o.otherCheckpoint},
                          {"nx", o.nx},
                          {"ny", o.ny},
                          {"x_min", o.xMin},
                          {"x_max", o.xMax},
                          {"y_min", o.yMin},
                          {"y_max", o.yMax},
                          {"mode", o.mode},
                          {"samples", o.samples},
                          {"test_split", o.testSplit},
                          {"batch_size", o.batchSize},
                          {"data_path", o.dataPath}}
        .dump();
}

/// Whether the points strategy is used ("auto" included).
bool pointsParallel(const LandscapeExecution& e, int threads) {
    if (threads <= 1) {
        return false;
    }
    if (e.parallel != "auto") {
        return e.parallel == "points";
    }
    // Measured with bench_landscape on this project's 2-core machines (ResNet-20, 2,000
    // Fashion-MNIST images, batch 500, 2 threads): points 846 ms per point, intra-op 1036 ms on
    // an idle machine; 3.3 s vs 11.7 s with other jobs running. One model copy per thread needs
    // no synchronisation inside a forward pass, and a busy core stalls only its own points
    // instead of every OpenMP barrier.
    return true;
}

struct Prepared {
    CheckpointSpec source;
    LandscapeOptions options;  ///< with the mode resolved
    data::TensorSet subset;
    LandscapeDirections directions;
};

Prepared prepare(const std::string& checkpoint, const LandscapeOptions& options,
                 const std::atomic<bool>* cancel) {
    validate(options);
    Prepared p;
    p.source = readCheckpointSpec(checkpoint, options.dataPath);
    p.options = options;
    if (p.options.mode.empty()) {
        p.options.mode = p.source.spec.isQuantized() ? "dequantized" : "float";
    }
    if (p.options.ny == 1) {
        p.options.yMin = p.options.yMax = 0.0;
    }
    p.subset = analysisSubset(p.source, !options.testSplit, options.samples, options.seed);
    // Directions are scaled to the latent weights, whatever the mode: every mode of a
    // checkpoint (and every method trained from one) moves along the same directions.
    models::Network reference = loadAnalysisModel(p.source, "float", p.subset);
    if (options.directions == "random") {
        p.directions = randomDirections(*reference, options.seed, options.ny > 1);
    } else if (options.directions == "hessian") {
        // The curvature of the surface drawn: the Hessian of the model in the landscape's mode,
        // on the same subset. Unit eigenvectors (norm 1 over all the tensors), as PyHessian.
        models::Network model = loadAnalysisModel(p.source, p.options.mode, p.subset);
        const std::vector<torch::Tensor> params = perturbedParameters(*model).tensors;
        const EigenResult top =
            topEigen(params, modelHvp(*model, params, p.subset, options.batchSize),
                     options.ny > 1 ? 2 : 1, kHessianIterations, kHessianTolerance, options.seed,
                     [&] { return cancel == nullptr || !cancel->load(); });
        p.directions = givenDirections(*reference, top.vectors);
    } else {
        CheckpointSpec other = p.source;  // the same architecture, the other tensors
        other.path = options.otherCheckpoint;
        models::Network otherModel = loadAnalysisModel(other, "float", p.subset);
        p.directions = interpolationDirection(*reference, *otherModel);
    }
    return p;
}

/// Evaluates the pending points of the surface batch by batch; returns false when cancelled.
bool sweep(LandscapeSurface& s, std::vector<std::unique_ptr<PointEvaluator>>& evaluators,
           store::RunStore* store, const LandscapeExecution& exec,
           const LandscapeCallback& onPoints, const std::atomic<bool>* cancel) {
    const int64_t total = int64_t(s.nx) * s.ny;
    int64_t done = 0;
    for (double v : s.loss) {
        done += std::isnan(v) ? 0 : 1;
    }
    auto cancelled = [&] { return cancel != nullptr && cancel->load(); };
    auto lastFlush = std::chrono::steady_clock::now();
    for (const std::vector<int64_t>& batch : landscapeBatches(s.nx, s.ny)) {
        std::vector<int64_t> todo;
        for (int64_t i : batch) {
            if (std::isnan(s.loss[size_t(i)])) {
                todo.push_back(i);
            }
        }
        if (todo.empty()) {
            continue;
        }
        if (cancelled()) {
            return false;
        }
        std::vector<LandscapePoint> results(todo.size());
        std::vector<char> finished(todo.size(), 0);
        std::atomic<std::size_t> next{0};
        auto work = [&](PointEvaluator& e) {
            for (;;) {
                const std::size_t k = next++;
                if (k >= todo.size() || cancelled()) {
                    return;
                }
                LandscapePoint& p = results[k];
                p.ix = int(todo[k] % s.nx);
                p.iy = int(todo[k] / s.nx);
                std::tie(p.loss, p.accuracy) = e.evaluate(gridX(s, p.ix), gridY(s, p.iy));
                finished[k] = 1;
            }
        };
        if (evaluators.size() == 1) {
            work(*evaluators.front());
        } else {
            std::vector<std::exception_ptr> errors(evaluators.size());
            std::vector<std::thread> workers;
            for (std::size_t w = 0; w < evaluators.size(); ++w) {
                workers.emplace_back([&, w] {
                    try {
                        at::set_num_threads(1);  // this thread's OpenMP team: itself
                        work(*evaluators[w]);
                    } catch (...) {
                        errors[w] = std::current_exception();
                        next = todo.size();  // the others stop after their current point
                    }
                });
            }
            for (std::thread& t : workers) {
                t.join();
            }
            for (const std::exception_ptr& e : errors) {
                if (e) {
                    std::rethrow_exception(e);
                }
            }
        }
        LandscapePoints out;
        out.id = s.id;
        for (std::size_t k = 0; k < todo.size(); ++k) {
            if (finished[k]) {
                const auto i = size_t(todo[k]);
                s.loss[i] = results[k].loss;
                s.accuracy[i] = results[k].accuracy;
                out.points.push_back(results[k]);
                ++done;
            }
        }
        out.fraction = double(done) / double(total);
        if (onPoints && !out.points.empty()) {
            onPoints(out);
        }
        const auto now = std::chrono::steady_clock::now();
        if (store != nullptr &&
            std::chrono::duration<double>(now - lastFlush).count() >= exec.flushSeconds) {
            store->updateLandscape(s.id, store::status::kRunning, s.loss, s.accuracy);
            lastFlush = now;
        }
    }
    return !cancelled() || done == total;
}

/// Computes the pending points of `surface` (a new one or a stored one being resumed).
LandscapeSurface run(const Prepared& p, LandscapeSurface surface, store::RunStore* store,
                     const LandscapeExecution& exec, const LandscapeCallback& onPoints,
                     const std::atomic<bool>* cancel) {
    const ThreadCountGuard threadGuard;
    const int threads = exec.threads > 0 ? exec.threads : engine::hardwareThreads();
    const bool points = pointsParallel(exec, threads);
    engine::applyThreadCount(points ? 1 : threads);
    std::vector<std::unique_ptr<PointEvaluator>> evaluators;
    for (int k = 0; k < (points ? threads : 1); ++k) {
        evaluators.push_back(
            std::make_unique<PointEvaluator>(loadAnalysisModel(p.source, p.options.mode, p.subset),
                                             p.directions, p.subset, p.options.batchSize));
    }

    if (store != nullptr) {
        if (surface.id == 0) {
            surface.id = store->addLandscape(surface);
        } else {
            store->updateLandscape(surface.id, store::status::kRunning, surface.loss,
                                   surface.accuracy);
        }
    }
    try {
        const bool complete = sweep(surface, evaluators, store, exec, onPoints, cancel);
        surface.status = complete ? store::status::kFinished : store::status::kCancelled;
    } catch (...) {
        if (store != nullptr) {
            store->updateLandscape(surface.id, store::status::kFailed, surface.loss,
                                   surface.accuracy);
        }
        throw;
    }
    if (store != nullptr) {
        store->updateLandscape(surface.id, surface.status, surface.loss, surface.accuracy);
    }
    return surface;
}

}  // namespace

LandscapeOptions storedLandscapeOptions(const LandscapeSurface& surface) {
    LandscapeOptions o;
    try {
        const nlohmann::json j = nlohmann::json::parse(surface.optionsJson);
        o.directions = j.at("directions").get<std::string>();
        o.seed = j.at("seed").get<uint64_t>();
        o.otherCheckpoint = j.at("other_checkpoint").get<std::string>();
        o.nx = j.at("nx").get<int>();
        o.ny = j.at("ny").get<int>();
        o.xMin = j.at("x_min").get<double>();
        o.xMax = j.at("x_max").get<double>();
        o.yMin = j.at("y_min").get<double>();
        o.yMax = j.at("y_max").get<double>();
        o.mode = j.at("mode").get<std::string>();
        o.samples = j.at("samples").get<int64_t>();
        o.testSplit = j.at("test_split").get<bool>();
        o.batchSize = j.at("batch_size").get<int>();
        o.dataPath = j.at("data_path").get<std::string>();
    } catch (const nlohmann::json::exception& e) {
        throw std::invalid_argument("landscape " + std::to_string(surface.id) +
                                    ": its stored options cannot be read: " + e.what());
    }
    if (o.nx != surface.nx || o.ny != surface.ny) {
        throw std::invalid_argument("landscape " + std::to_string(surface.id) +
                                    ": its stored options do not match its grid");
    }
    return o;
}

LandscapeSurface computeLandscape(const std::string& checkpoint, const LandscapeOptions& options,
                                  store::RunStore* store, int64_t runId,
                                  const LandscapeExecution& execution,
                                  const LandscapeCallback& onPoints,
                                  const std::atomic<bool>* cancel) {
    validate(execution);
    const Prepared p = prepare(checkpoint, options, cancel);
    const LandscapeOptions& o = p.options;
    LandscapeSurface s;
    s.runId = runId;
    s.checkpoint = checkpoint;
    s.step = p.source.step;
    s.kind = o.directions;
    s.mode = o.mode;
    s.nx = o.nx;
    s.ny = o.ny;
    s.xMin = o.xMin;
    s.xMax = o.xMax;
    s.yMin = o.yMin;
    s.yMax = o.yMax;
    s.seed = o.seed;
    s.samples = p.subset.size();
    s.optionsJson = optionsJson(o);
    s.status = store::status::kRunning;
    s.loss.assign(size_t(o.nx) * size_t(o.ny), kPending);
    s.accuracy = s.loss;
    return run(p, std::move(s), store, execution, onPoints, cancel);
}

LandscapeSurface resumeLandscape(store::RunStore& store, int64_t id,
                                 const LandscapeExecution& execution,
                                 const LandscapeCallback& onPoints,
                                 const std::atomic<bool>* cancel) {
    validate(execution);
    std::optional<LandscapeSurface> s = store.landscape(id);
    if (!s) {
        throw std::invalid_argument("no landscape with id " + std::to_string(id) + " in " +
                                    store.path());
    }
    if (s->status == store::status::kFinished) {
        throw std::invalid_argument("landscape " + std::to_string(id) + " has already finished");
    }
    const Prepared p = prepare(s->checkpoint, storedLandscapeOptions(*s), cancel);
    s->status = store::status::kRunning;
    return run(p, std::move(*s), &store, execution, onPoints, cancel);
}

void writeVtp(const LandscapeSurface& s, const std::string& path) {
    for (double v : s.loss) {
        if (std::isnan(v)) {
            throw std::invalid_argument(
                "landscape " + std::to_string(s.id) + " is not complete (status " + s.status +
                "): resume it before exporting (pending points have no height)");
        }
    }
    io::PolyData data;
    std::vector<double> loss, accuracy;
    for (int iy = 0; iy < s.ny; ++iy) {
        for (int ix = 0; ix < s.nx; ++ix) {
            const size_t i = size_t(iy) * size_t(s.nx) + size_t(ix);
            data.points.push_back({gridX(s, ix), gridY(s, iy), s.loss[i]});
            loss.push_back(s.loss[i]);
            accuracy.push_back(s.accuracy[i]);
        }
    }
    if (s.ny == 1) {
        std::vector<int64_t> line;
        for (int ix = 0; ix < s.nx; ++ix) {
            line.push_back(ix);
        }
        data.lines.push_back(std::move(line));
    } else {
        for (int iy = 0; iy + 1 < s.ny; ++iy) {
            for (int ix = 0; ix + 1 < s.nx; ++ix) {
                const int64_t a = int64_t(iy) * s.nx + ix;
                data.polys.push_back({a, a + 1, a + 1 + s.nx, a + s.nx});
            }
        }
    }
    data.pointData = {{"loss", std::move(loss)}, {"accuracy", std::move(accuracy)}};
    io::writeVtkPolyData(path, data);
}

}  // namespace qs::analysis
