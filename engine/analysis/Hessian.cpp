#include "engine/analysis/Hessian.h"

#include "engine/analysis/AnalysisModel.h"
#include "engine/analysis/HessianCore.h"
#include "engine/store/RunStore.h"
#include "engine/util/Threads.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/function.h>
#include <torch/nn/functional/loss.h>
#include <torch/torch.h>

#include <cmath>
#include <set>
#include <stdexcept>
#include <unordered_map>

namespace qs::analysis {

namespace {

using TensorList = std::vector<torch::Tensor>;

double dot(const TensorList& a, const TensorList& b) {
    double sum = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        sum += (a[i].to(torch::kDouble) * b[i].to(torch::kDouble)).sum().item<double>();
    }
    return sum;
}

/// Scales to unit norm over all the tensors (a zero vector stays zero).
void normalize(TensorList& v) {
    const double norm = std::sqrt(dot(v, v));
    if (norm > 0.0) {
        for (auto& t : v) {
            t = t / norm;
        }
    }
}

/// v <- v - sum_j <v, u_j> u_j for unit vectors u_j (Gram-Schmidt, one pass per vector).
void orthogonalize(TensorList& v, const std::vector<TensorList>& basis) {
    for (const TensorList& u : basis) {
        const double c = dot(v, u);
        for (std::size_t i = 0; i < v.size(); ++i) {
            v[i] = v[i] - c * u[i];
        }
    }
}

void stopIfAsked(const PassCallback& callback) {
    if (callback && !callback()) {
        throw AnalysisCancelled();
    }
}

torch::Generator generator(uint64_t seed) {
    return at::make_generator<at::CPUGeneratorImpl>(seed);
}

}  // namespace

EigenResult topEigen(const TensorList& params, const HvpFunction& hvp, int k, int maxIterations,
                     double tolerance, uint64_t seed, const PassCallback& onIteration) {
    if (k < 1) {
        throw std::invalid_argument("top-k eigenvalues: k must be at least 1 (got " +
                                    std::to_string(k) + ")");
    }
    if (maxIterations < 1 || !(tolerance > 0.0)) {
        throw std::invalid_argument(
            "power iteration: max iterations and tolerance must be positive");
    }
    torch::NoGradGuard noGrad;  // the products build their own graphs; the vectors need none
    torch::Generator gen = generator(seed);
    EigenResult r;
    for (int j = 0; j < k; ++j) {
        TensorList v;
        for (const auto& p : params) {
            v.push_back(torch::randn(p.sizes(), gen, p.options().requires_grad(false)));
        }
        normalize(v);
        double eigenvalue = 0.0;
        int iterations = 0;
        for (int it = 0; it < maxIterations; ++it) {
            orthogonalize(v, r.vectors);
            normalize(v);
            TensorList hv = hvp(v);
            ++iterations;
            stopIfAsked(onIteration);
            const double rayleigh = dot(hv, v);
            v = std::move(hv);
            normalize(v);
            const bool converged = it > 0 && std::abs(rayleigh - eigenvalue) <
                                                 tolerance * (std::abs(eigenvalue) + 1e-6);
            eigenvalue = rayleigh;
            if (converged) {
                break;
            }
        }
        orthogonalize(v, r.vectors);
        normalize(v);
        r.values.push_back(eigenvalue);
        r.vectors.push_back(std::move(v));
        r.iterations.push_back(iterations);
    }
    return r;
}

TraceEstimate hutchinsonTrace(const TensorList& params, const HvpFunction& hvp,
                              const std::vector<std::vector<std::size_t>>& blocks, int samples,
                              uint64_t seed, const PassCallback& onSample) {
    if (samples < 1) {
        throw std::invalid_argument("Hutchinson trace: samples must be at least 1 (got " +
                                    std::to_string(samples) + ")");
    }
    for (const auto& block : blocks) {
        for (std::size_t i : block) {
            if (i >= params.size()) {
                throw std::invalid_argument("Hutchinson trace: block index " + std::to_string(i) +
                                            " out of range (" + std::to_string(params.size()) +
                                            " tensors)");
            }
        }
    }
    torch::NoGradGuard noGrad;
    torch::Generator gen = generator(seed);
    std::vector<double> totals;
    std::vector<std::vector<double>> perBlock(blocks.size());
    for (int s = 0; s < samples; ++s) {
        TensorList v;
        for (const auto& p : params) {
            v.push_back(torch::randint(0, 2, p.sizes(), gen, p.options().requires_grad(false))
                            .mul_(2)
                            .sub_(1));
        }
        const TensorList hv = hvp(v);
        stopIfAsked(onSample);
        std::vector<double> perTensor(params.size());
        double total = 0.0;
        for (std::size_t i = 0; i < params.size(); ++i) {
            perTensor[i] =
                (v[i].to(torch::kDouble) * hv[i].to(torch::kDouble)).sum().item<double>();
            total += perTensor[i];
        }
        totals.push_back(total);
        for (std::size_t b = 0; b < blocks.size(); ++b) {
            double sum = 0.0;
            for (std::size_t i : blocks[b]) {
                sum += perTensor[i];
            }
            perBlock[b].push_back(sum);
        }
    }
    const auto meanAndSe = [](const std::vector<double>& x) {
        double mean = 0.0;
        for (double xi : x) {
            mean += xi;
        }
        mean /= double(x.size());
        if (x.size() < 2) {
            return std::make_pair(mean, 0.0);
        }
        double ss = 0.0;
        for (double xi : x) {
            ss += (xi - mean) * (xi - mean);
        }
        return std::make_pair(mean, std::sqrt(ss / double(x.size() - 1) / double(x.size())));
    };
    TraceEstimate r;
    r.samples = samples;
    std::tie(r.trace, r.traceSe) = meanAndSe(totals);
    for (const auto& values : perBlock) {
        const auto [mean, se] = meanAndSe(values);
        r.blockTrace.push_back(mean);
        r.blockTraceSe.push_back(se);
    }
    return r;
}

HvpFunction lossHvp(const TensorList& params, BatchLoss batchLoss, int64_t batches,
                    bool cacheGraph) {
    const auto gradient = [&params, batchLoss](int64_t b) {
        torch::AutoGradMode enable(true);
        return torch::autograd::grad({batchLoss(b)}, params, {}, /*retain_graph=*/true,
                                     /*create_graph=*/true, /*allow_unused=*/true);
    };
    // Hv of the gradients given: one backward over all their graphs at once.
    const auto product = [&params](const std::vector<TensorList>& grads, const TensorList& v,
                                   bool keepGraph) {
        torch::AutoGradMode enable(true);
        torch::Tensor inner;
        for (const TensorList& g : grads) {
            for (std::size_t i = 0; i < g.size(); ++i) {
                if (g[i].defined() && g[i].requires_grad()) {
                    const torch::Tensor term = (g[i] * v[i]).sum();
                    inner = inner.defined() ? inner + term : term;
                }
            }
        }
        TensorList hv;
        if (inner.defined()) {
            hv = torch::autograd::grad({inner}, params, {}, keepGraph, false, true);
        } else {
            hv.resize(params.size());  // the loss is at most linear in the parameters
        }
        for (std::size_t i = 0; i < params.size(); ++i) {
            hv[i] = hv[i].defined() ? hv[i].detach() : torch::zeros_like(params[i]);
        }
        return hv;
    };
    if (cacheGraph) {
        auto cache = std::make_shared<std::vector<TensorList>>();
        return [=](const TensorList& v) {
            if (cache->empty()) {
                for (int64_t b = 0; b < batches; ++b) {
                    cache->push_back(gradient(b));
                }
            }
            return product(*cache, v, true);
        };
    }
    return [=](const TensorList& v) {
        TensorList sum;
        for (int64_t b = 0; b < batches; ++b) {
            TensorList hv = product({gradient(b)}, v, false);
            if (sum.empty()) {
                sum = std::move(hv);
            } else {
                for (std::size_t i = 0; i < sum.size(); ++i) {
                    sum[i] += hv[i];
                }
            }
        }
        return sum;
    };
}

HvpFunction modelHvp(models::NetworkImpl& model, const TensorList& params,
                     const data::TensorSet& data, int batchSize, bool cacheGraph) {
    if (batchSize < 1) {
        throw std::invalid_argument("Hessian-vector product: batch size must be positive");
    }
    const int64_t n = data.size();
    const BatchLoss loss = [&model, &data, batchSize, n](int64_t b) {
        const int64_t begin = b * batchSize;
        const int64_t len = std::min<int64_t>(batchSize, n - begin);
        return models::taskLoss(model.forward(data::inputBatch(data, begin, len)),
                                data.labels.narrow(0, begin, len), at::Reduction::Sum) /
               double(n);
    };
    return lossHvp(params, loss, (n + batchSize - 1) / batchSize, cacheGraph);
}

namespace {

/// Multiply-accumulates of one sample per layer: weight elements times the positions the layer
/// applied them at in a forward of that sample (QuantLayer::positionsPerSample).
std::map<std::string, int64_t> layerMacs(models::NetworkImpl& model, const torch::Tensor& sample) {
    torch::NoGradGuard noGrad;
    model.forward(data::trimPadding(sample.unsqueeze(0)));
    std::map<std::string, int64_t> macs;
    for (auto& [path, layer] : model.quantLayers()) {
        macs[path] = layer->quantWeight().numel() * layer->positionsPerSample();
    }
    return macs;
}

/// ||Q_b(W) - W||^2 with the engine's initial LSQ step size for b bits.
double quantizationError(const torch::Tensor& w, int bits, bool perChannel) {
    torch::NoGradGuard noGrad;
    quant::Quantizer q(
        quant::QuantizerOptions(bits, /*is_signed=*/true).channels(perChannel ? w.size(0) : 0));
    q->initializeFrom(w);
    return (q->forward(w.detach()) - w.detach()).to(torch::kDouble).pow(2).sum().item<double>();
}

void checkOptions(const HessianOptions& o) {
    if (!o.mode.empty()) {
        checkMode(o.mode);
    }
    if (o.topK < 1) {
        throw std::invalid_argument("top-k: must be at least 1 (got " + std::to_string(o.topK) +
                                    ")");
    }
    if (o.samples < 1 || o.batchSize < 1 || o.traceSamples < 0 || o.maxIterations < 1 ||
        !(o.tolerance > 0.0)) {
        throw std::invalid_argument(
            "Hessian options: samples, batch size, max iterations and tolerance must be "
            "positive, trace samples >= 0");
    }
    for (int b : o.candidateBits) {
        if (b < 2 || b > 8) {
            throw std::invalid_argument("candidate bits: each must be in 2..8 (got " +
                                        std::to_string(b) + ")");
        }
    }
}

}  // namespace

HessianReport analyzeHessian(const std::string& checkpoint, const HessianOptions& options,
                             const AnalysisProgress& progress, const std::atomic<bool>* cancel) {
    checkOptions(options);
    const CheckpointSpec source = readCheckpointSpec(checkpoint, options.dataPath);
    HessianReport report;
    report.checkpoint = checkpoint;
    report.step = source.step;
    report.method = source.spec.method.name;
    report.mode = options.mode.empty() ? defaultModes(source.spec).front() : options.mode;
    report.seed = options.seed;

    engine::applyThreadCount(options.threads);
    torch::manual_seed(options.seed);
    const data::TensorSet subset = analysisSubset(source, true, options.samples, options.seed);
    report.samples = subset.size();

    // Latent weights (for Omega) and shapes (for MACs) come from the float view of the model.
    models::Network latent = loadAnalysisModel(source, "float", subset);
    const std::map<std::string, int64_t> macs = layerMacs(*latent, subset.inputs[0]);

    models::Network model = loadAnalysisModel(source, report.mode, subset);
    const PerturbedParams perturbed = perturbedParameters(*model);
    std::unordered_map<std::string, std::size_t> indexOf;
    for (std::size_t i = 0; i < perturbed.names.size(); ++i) {
        indexOf[perturbed.names[i]] = i;
    }
    std::vector<std::vector<std::size_t>> blocks;
    for (auto& [path, layer] : model->quantLayers()) {
        LayerHessian l;
        l.layer = path;
        l.params = layer->quantWeight().numel();
        l.macs = macs.at(path);
        report.layers.push_back(l);
        blocks.push_back({indexOf.at(path + ".weight")});
    }

    const HvpFunction hvp =
        modelHvp(*model, perturbed.tensors, subset, options.batchSize, options.cacheGraph);
    const int total = options.topK * options.maxIterations + options.traceSamples;
    int done = 0;
    std::string phase;
    const PassCallback onProduct = [&]() {
        ++done;
        if (progress) {
            progress(phase, double(done) / double(std::max(1, total)));
        }
        return !(cancel && cancel->load());
    };
    phase = "eigenvalues, " + report.mode;
    const EigenResult eig = topEigen(perturbed.tensors, hvp, options.topK, options.maxIterations,
                                     options.tolerance, options.seed, onProduct);
    report.eigenvalues = eig.values;
    report.eigenIterations = eig.iterations;
    // Iterations left unspent by early convergence leave the fraction behind: catch up.
    done = options.topK * options.maxIterations;
    if (options.traceSamples > 0) {
        phase = "trace, " + report.mode;
        const TraceEstimate tr = hutchinsonTrace(perturbed.tensors, hvp, blocks,
                                                 options.traceSamples, options.seed + 1, onProduct);
        report.trace = tr.trace;
        report.traceSe = tr.traceSe;
        report.traceSamples = tr.samples;
        const bool perChannel = source.spec.quant.perChannel;
        auto latentLayers = latent->quantLayers();
        for (std::size_t i = 0; i < report.layers.size(); ++i) {
            LayerHessian& l = report.layers[i];
            l.trace = tr.blockTrace[i];
            l.traceSe = tr.blockTraceSe[i];
            const torch::Tensor& w = latentLayers[i].second->quantWeight();
            for (int b : options.candidateBits) {
                l.omega[b] = l.trace / double(l.params) * quantizationError(w, b, perChannel);
            }
        }
    }
    return report;
}

int64_t recordHessian(store::RunStore& store, int64_t runId, const HessianReport& report) {
    store::HessianRow row;
    row.runId = runId;
    row.checkpoint = report.checkpoint;
    row.step = report.step;
    row.mode = report.mode;
    row.samples = report.samples;
    row.seed = report.seed;
    row.traceSamples = report.traceSamples;
    row.eigenvalues = report.eigenvalues;
    row.trace = report.traceSamples > 0 ? report.trace : std::nan("");
    row.traceSe = report.traceSamples > 0 ? report.traceSe : std::nan("");
    for (const LayerHessian& l : report.layers) {
        store::HessianLayerRow lr;
        lr.layer = l.layer;
        lr.params = l.params;
        lr.macs = l.macs;
        lr.trace = report.traceSamples > 0 ? l.trace : std::nan("");
        lr.traceSe = report.traceSamples > 0 ? l.traceSe : std::nan("");
        lr.omega = l.omega;
        row.layers.push_back(lr);
    }
    const int64_t id = store.addHessian(row);
    if (runId > 0) {
        if (const auto record = store.run(runId)) {
            std::map<std::string, double> metrics = record->finalMetrics;
            if (!report.eigenvalues.empty()) {
                metrics["hessian/top_eigenvalue/" + report.mode] = report.eigenvalues.front();
            }
            if (report.traceSamples > 0) {
                metrics["hessian/trace/" + report.mode] = report.trace;
            }
            store.setFinalMetrics(runId, metrics);
        }
    }
    return id;
}

session::RunSpec checkpointRunSpec(const std::string& checkpoint) {
    return readCheckpointSpec(checkpoint, {}).spec;
}

HessianReport reportFromRow(const store::HessianRow& row) {
    HessianReport r;
    r.checkpoint = row.checkpoint;
    r.step = row.step;
    r.mode = row.mode;
    r.samples = row.samples;
    r.seed = row.seed;
    r.eigenvalues = row.eigenvalues;
    r.trace = row.trace;
    r.traceSe = row.traceSe;
    r.traceSamples = row.traceSamples;
    for (const store::HessianLayerRow& lr : row.layers) {
        LayerHessian l;
        l.layer = lr.layer;
        l.params = lr.params;
        l.macs = lr.macs;
        l.trace = lr.trace;
        l.traceSe = lr.traceSe;
        l.omega = lr.omega;
        r.layers.push_back(l);
    }
    return r;
}

}  // namespace qs::analysis
