// Mixed-precision bit allocation from Hessian sensitivities (ALGORITHMS.md section 5, HAWQ-V2/V3):
// choose each layer's weight bit-width from the candidates so that sum Omega_i(b_i) is smallest
// under a model-size budget (and optionally a bit-operations budget), layers that must share bits
// tied together; the whole size-vs-Omega Pareto frontier comes from the same pass. Torch-free.
#pragma once

#include "engine/analysis/Hessian.h"
#include "engine/session/RunSpec.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace qs::analysis {

/// One layer as the allocation sees it.
struct LayerCost {
    std::string layer;
    int64_t params = 0;           ///< n_i: the layer costs n_i * b_i bits
    int64_t macs = 0;             ///< per sample: the layer costs macs * b_i * actBits bit-ops
    int actBits = 8;              ///< input bit-width (0: float, counted as 32)
    std::map<int, double> omega;  ///< Omega_i(b) for every candidate b (allocated layers)
    /// -1: allocated; otherwise kept at these bits (0 = float, 32 bits) and not allocated, as
    /// the first/last layer policy does.
    int fixedBits = -1;
};

struct AllocationProblem {
    std::vector<LayerCost> layers;
    std::vector<int> candidateBits{2, 3, 4, 8};
    /// Groups of layer names that must get the same bits (each layer in at most one group).
    std::vector<std::vector<std::string>> ties;
};

struct AllocationBudget {
    double sizeBytes = 0.0;  ///< bytes of the quantized weights, sum n_i b_i / 8 (all layers)
    double bitOps = 0.0;     ///< sum macs_i b_i a_i per sample; <= 0: no bit-op budget
};

/// One allocation: bits per layer in the problem's order.
struct Allocation {
    std::vector<int> bits;  ///< fixed layers hold their fixed bits (0 = float)
    double omega = 0.0;     ///< sum over the allocated layers of Omega_i(b_i)
    double sizeBytes = 0.0;
    double bitOps = 0.0;
};

struct AllocationResult {
    Allocation best;  ///< the smallest Omega within the budget
    /// Pareto frontier (size vs Omega) of every allocation within the bit-op budget: sizes
    /// strictly increasing, Omega strictly decreasing; each point is optimal for any size budget
    /// from its size up to the next point's.
    std::vector<Allocation> frontier;
};

/// Ties of a ResNet: a block's "<block>.downsample.0" shortcut conv shares bits with that
/// block's "<block>.conv2" (the residual sum adds their outputs).
std::vector<std::vector<std::string>> residualTies(const std::vector<std::string>& layers);

/// The problem for a report under a spec's quantization policy: the first and last layers are
/// fixed at 8 bits ("8bit") or float ("float") or allocated like the rest ("same"); input bits
/// are the spec's act_bits (8 for first/last under "8bit"); ties from residualTies.
AllocationProblem allocationProblem(const HessianReport& report, const session::RunSpec& spec,
                                    const std::vector<int>& candidateBits);

/// The smallest possible size in bytes: every allocated group at its smallest candidate.
double minimumSizeBytes(const AllocationProblem& problem);

/// Exact solution by dynamic programming over the tie groups (a multiple-choice knapsack): the
/// states after each group are the partial allocations not dominated in (size, bit-ops, Omega),
/// so the frontier of the last stage holds the optimum of every size budget at once
/// (Nemhauser-Ullmann). Throws std::invalid_argument for an inconsistent problem (naming the
/// layer: unknown tie, missing Omega, conflicting fixed bits) and for a budget below the
/// minimum (naming the minimum).
AllocationResult allocateBits(const AllocationProblem& problem, const AllocationBudget& budget);

/// The run spec that trains the allocation: `base` (the analysed checkpoint's own spec) with
/// method `method`, init_checkpoint = `checkpoint`, the name suffixed "-mp", and
/// quant.layers.<path>.weight_bits set for every allocated layer (fixed layers keep the spec's
/// first/last policy). Validated by RunSpec::fromJson (throws SpecError).
session::RunSpec allocationSpec(const session::RunSpec& base, const AllocationProblem& problem,
                                const Allocation& allocation, const std::string& checkpoint,
                                const std::string& method = "lsq");

}  // namespace qs::analysis
