#include "HessianCases.h"

#include "engine/analysis/AnalysisModel.h"
#include "engine/analysis/HessianCore.h"
#include "engine/analysis/Sharpness.h"
#include "engine/session/RunSpec.h"
#include "engine/train/Methods.h"
#include "engine/train/Trainer.h"

#include <torch/torch.h>

#include <cmath>
#include <stdexcept>

namespace qs::test::hessian {

namespace {

using TensorList = std::vector<torch::Tensor>;
const auto kDouble = torch::TensorOptions().dtype(torch::kDouble);

torch::Tensor matrixTensor(const Matrix& m) {
    torch::Tensor t = torch::empty({int64_t(m.size()), int64_t(m.size())}, kDouble);
    for (std::size_t i = 0; i < m.size(); ++i) {
        for (std::size_t j = 0; j < m.size(); ++j) {
            t[int64_t(i)][int64_t(j)] = m[i][j];
        }
    }
    return t;
}

/// Splits a flat vector into tensors of the given sizes.
TensorList splitVector(const Vec& x, const std::vector<int64_t>& split, bool requiresGrad) {
    TensorList out;
    int64_t at = 0;
    for (int64_t n : split) {
        torch::Tensor t = torch::empty({n}, kDouble);
        for (int64_t i = 0; i < n; ++i) {
            t[i] = x[std::size_t(at + i)];
        }
        at += n;
        out.push_back(t.set_requires_grad(requiresGrad));
    }
    return out;
}

Vec flatten(const TensorList& ts) {
    Vec out;
    for (const auto& t : ts) {
        const torch::Tensor c = t.detach().to(torch::kDouble).contiguous().view(-1);
        out.insert(out.end(), c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
    }
    return out;
}

/// H v for a dense symmetric H over the split tensors.
analysis::HvpFunction exactProduct(const Matrix& h) {
    const torch::Tensor ht = matrixTensor(h);
    return [ht](const TensorList& v) {
        TensorList flat;
        for (const auto& t : v) {
            flat.push_back(t.reshape({-1}));
        }
        const torch::Tensor hv = torch::mv(ht, torch::cat(flat));
        TensorList out;
        int64_t at = 0;
        for (const auto& t : v) {
            out.push_back(hv.narrow(0, at, t.numel()).view(t.sizes()));
            at += t.numel();
        }
        return out;
    };
}

std::vector<int64_t> sizesOf(const Matrix& h, const std::vector<int64_t>& split) {
    int64_t total = 0;
    for (int64_t n : split) {
        total += n;
    }
    if (total != int64_t(h.size())) {
        throw std::invalid_argument("the split does not cover the matrix");
    }
    return split;
}

double norm(const TensorList& ts) {
    double s = 0.0;
    for (const auto& t : ts) {
        s += t.to(torch::kDouble).pow(2).sum().item<double>();
    }
    return std::sqrt(s);
}

double dot(const TensorList& a, const TensorList& b) {
    double s = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        s += (a[i].to(torch::kDouble) * b[i].to(torch::kDouble)).sum().item<double>();
    }
    return s;
}

double relativeDistance(const TensorList& a, const TensorList& b) {
    TensorList d;
    for (std::size_t i = 0; i < a.size(); ++i) {
        d.push_back(a[i] - b[i]);
    }
    return norm(d) / norm(a);
}

}  // namespace

Vec quadraticHvp(const std::vector<Matrix>& batchMatrices, const std::vector<int64_t>& split,
                 const Vec& w, const Vec& v, bool cacheGraph) {
    const TensorList params = splitVector(w, split, true);
    std::vector<torch::Tensor> a;
    for (const Matrix& m : batchMatrices) {
        a.push_back(matrixTensor(m));
    }
    const analysis::BatchLoss loss = [&](int64_t b) {
        const torch::Tensor x = torch::cat(params);
        return 0.5 * torch::dot(x, torch::mv(a[std::size_t(b)], x));
    };
    const analysis::HvpFunction hvp =
        analysis::lossHvp(params, loss, int64_t(batchMatrices.size()), cacheGraph);
    Vec out = flatten(hvp(splitVector(v, split, false)));
    if (cacheGraph) {
        // The cached graphs serve a second product just as well.
        const Vec again = flatten(hvp(splitVector(v, split, false)));
        if (again != out) {
            throw std::runtime_error("the second product from the cached graphs differs");
        }
    }
    return out;
}

EigenOut eigenOfMatrix(const Matrix& h, const std::vector<int64_t>& split, int k, int maxIterations,
                       double tolerance, uint64_t seed) {
    const TensorList params = splitVector(Vec(h.size(), 0.0), sizesOf(h, split), false);
    const analysis::EigenResult r =
        analysis::topEigen(params, exactProduct(h), k, maxIterations, tolerance, seed);
    EigenOut out;
    out.values = r.values;
    out.iterations = r.iterations;
    for (const auto& v : r.vectors) {
        out.vectors.push_back(flatten(v));
    }
    return out;
}

TraceOut traceOfMatrix(const Matrix& h, const std::vector<int64_t>& split, int samples,
                       uint64_t seed) {
    const TensorList params = splitVector(Vec(h.size(), 0.0), sizesOf(h, split), false);
    std::vector<std::vector<std::size_t>> blocks;
    for (std::size_t i = 0; i < split.size(); ++i) {
        blocks.push_back({i});
    }
    const analysis::TraceEstimate r =
        analysis::hutchinsonTrace(params, exactProduct(h), blocks, samples, seed);
    return {r.trace, r.traceSe, r.blockTrace, r.blockTraceSe};
}

std::string eigenError(int k) {
    const Matrix h{{2.0, 0.0}, {0.0, 1.0}};
    try {
        eigenOfMatrix(h, {2}, k, 10, 1e-3, 1);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return {};
}

int productsBeforeCancel(int after) {
    const Matrix h{{3.0, 1.0}, {1.0, 2.0}};
    const TensorList params = splitVector(Vec(2, 0.0), {2}, false);
    int products = 0;
    try {
        analysis::topEigen(params, exactProduct(h), 2, 100, 1e-12, 1, [&]() {
            ++products;
            return products < after;
        });
    } catch (const analysis::AnalysisCancelled&) {
        return products;
    }
    return -1;
}

ModelHvpCheck checkModelHvp(bool quantized) {
    torch::manual_seed(5);
    session::RunSpec spec;
    spec.model.arch = "resnet20";
    spec.method.name = quantized ? "lsq" : "fp";
    spec.quant.weightBits = 4;
    spec.quant.actBits = 4;
    models::Network model = train::buildModel(spec, 1, 4);
    const torch::Dtype dtype = quantized ? torch::kFloat : torch::kDouble;
    data::TensorSet set;
    set.inputs = torch::randn({24, 1, 8, 8}).to(dtype);
    set.labels = torch::randint(0, 4, {24}, torch::TensorOptions().dtype(torch::kLong));
    set.numClasses = 4;
    model->to(dtype);
    model->eval();
    {
        torch::NoGradGuard noGrad;
        model->forward(set.inputs);  // initialises the quantizers' step sizes
    }
    for (auto& item : model->named_parameters()) {
        if (train::isQuantizerParameter(item.key())) {
            item.value().set_requires_grad(false);
        }
    }
    const TensorList params = analysis::perturbedParameters(*model).tensors;
    TensorList u, v;
    for (const auto& p : params) {
        u.push_back(torch::randn(p.sizes(), p.options().requires_grad(false)));
        v.push_back(torch::randn(p.sizes(), p.options().requires_grad(false)));
    }
    const analysis::HvpFunction cached = analysis::modelHvp(*model, params, set, 10, true);
    const analysis::HvpFunction direct = analysis::modelHvp(*model, params, set, 10, false);
    const TensorList hv = cached(v);
    const TensorList hu = cached(u);
    ModelHvpCheck out;
    out.hvNorm = norm(hv);
    const double uhv = dot(u, hv), vhu = dot(v, hu);
    out.symmetryError = std::abs(uhv - vhu) / (std::abs(uhv) + std::abs(vhu));
    out.cacheError = relativeDistance(hv, direct(v));
    out.finiteDifferenceError = std::nan("");
    if (!quantized) {
        const auto gradientAt = [&](double eps) {
            {
                torch::NoGradGuard noGrad;
                for (std::size_t i = 0; i < params.size(); ++i) {
                    params[i].add_(v[i], eps);
                }
            }
            const torch::Tensor loss =
                torch::cross_entropy_loss(model->forward(set.inputs), set.labels);
            TensorList g = torch::autograd::grad({loss}, params, {}, false, false, true);
            {
                torch::NoGradGuard noGrad;
                for (std::size_t i = 0; i < params.size(); ++i) {
                    params[i].sub_(v[i], eps);
                    if (!g[i].defined()) {
                        g[i] = torch::zeros_like(params[i]);
                    }
                }
            }
            return g;
        };
        // Small enough that no ReLU of the ~10^5 in the batch changes side (a kink would put a
        // jump into the difference quotient); double precision keeps the rounding error small.
        const double eps = 1e-8;
        const TensorList plus = gradientAt(eps), minus = gradientAt(-eps);
        TensorList fd;
        for (std::size_t i = 0; i < params.size(); ++i) {
            fd.push_back((plus[i] - minus[i]) / (2.0 * eps));
        }
        out.finiteDifferenceError = relativeDistance(hv, fd);
    }
    return out;
}

}  // namespace qs::test::hessian
