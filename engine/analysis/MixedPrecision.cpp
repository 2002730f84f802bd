#include "engine/analysis/MixedPrecision.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>

namespace qs::analysis {

namespace {

constexpr const char* kDownsample = ".downsample.0";

/// Bits a slot costs: float counts as 32.
int64_t storedBits(int bits) {
    return bits == 0 ? 32 : bits;
}

std::string megabytes(double bytes) {
    char text[64];
    std::snprintf(text, sizeof text, "%.6f MB (%.0f bytes)", bytes / 1e6, bytes);
    return text;
}

/// Layers that share bits, resolved: either fixed (fixedBits >= 0) or allocated with one cost
/// per candidate.
struct Group {
    std::vector<std::size_t> members;
    int fixedBits = -1;
    std::vector<int64_t> sizeBits;  ///< per candidate
    std::vector<int64_t> bitOps;
    std::vector<double> omega;
};

struct Prepared {
    std::vector<Group> allocated;
    int64_t fixedSizeBits = 0;
    int64_t fixedBitOps = 0;
    std::vector<int> fixedBitsOf;  ///< per layer: its fixed bits, or -1
};

Prepared prepare(const AllocationProblem& p) {
    if (p.candidateBits.empty()) {
        throw std::invalid_argument("allocation: no candidate bit-widths");
    }
    std::set<int> seenBits;
    for (int b : p.candidateBits) {
        if (b < 1 || b > 16 || !seenBits.insert(b).second) {
            throw std::invalid_argument(
                "allocation: candidate bits must be distinct, in 1..16 (got " + std::to_string(b) +
                ")");
        }
    }
    std::map<std::string, std::size_t> index;
    for (std::size_t i = 0; i < p.layers.size(); ++i) {
        const LayerCost& l = p.layers[i];
        if (!index.emplace(l.layer, i).second) {
            throw std::invalid_argument("allocation: layer " + l.layer + " appears twice");
        }
        if (l.params < 0 || l.macs < 0) {
            throw std::invalid_argument("allocation: layer " + l.layer +
                                        ": negative parameter or MAC count");
        }
    }
    // Union of the tie groups; every other layer is a group of its own.
    std::vector<int> groupOf(p.layers.size(), -1);
    std::vector<std::vector<std::size_t>> groups;
    for (const auto& tie : p.ties) {
        std::vector<std::size_t> members;
        for (const std::string& name : tie) {
            auto it = index.find(name);
            if (it == index.end()) {
                throw std::invalid_argument("allocation: tied layer " + name + " is not a layer");
            }
            if (groupOf[it->second] >= 0) {
                throw std::invalid_argument("allocation: layer " + name +
                                            " is in more than one tie group");
            }
            groupOf[it->second] = int(groups.size());
            members.push_back(it->second);
        }
        if (!members.empty()) {
            groups.push_back(members);
        }
    }
    for (std::size_t i = 0; i < p.layers.size(); ++i) {
        if (groupOf[i] < 0) {
            groupOf[i] = int(groups.size());
            groups.push_back({i});
        }
    }
    Prepared out;
    out.fixedBitsOf.assign(p.layers.size(), -1);
    for (const auto& members : groups) {
        Group g;
        g.members = members;
        for (std::size_t i : members) {
            const int f = p.layers[i].fixedBits;
            if (f >= 0 && g.fixedBits >= 0 && f != g.fixedBits) {
                throw std::invalid_argument("allocation: layer " + p.layers[i].layer +
                                            " is tied to a layer fixed at other bits");
            }
            if (f >= 0) {
                g.fixedBits = f;
            }
        }
        if (g.fixedBits >= 0) {
            for (std::size_t i : members) {
                const LayerCost& l = p.layers[i];
                out.fixedBitsOf[i] = g.fixedBits;
                out.fixedSizeBits += l.params * storedBits(g.fixedBits);
                out.fixedBitOps += l.macs * storedBits(g.fixedBits) * storedBits(l.actBits);
            }
            continue;
        }
        for (int b : p.candidateBits) {
            int64_t size = 0, ops = 0;
            double omega = 0.0;
            for (std::size_t i : members) {
                const LayerCost& l = p.layers[i];
                auto it = l.omega.find(b);
                if (it == l.omega.end() || !std::isfinite(it->second)) {
                    throw std::invalid_argument("allocation: layer " + l.layer +
                                                " has no Omega for " + std::to_string(b) + " bits");
                }
                size += l.params * b;
                ops += l.macs * b * storedBits(l.actBits);
                omega += it->second;
            }
            g.sizeBits.push_back(size);
            g.bitOps.push_back(ops);
            g.omega.push_back(omega);
        }
        out.allocated.push_back(std::move(g));
    }
    return out;
}

/// A partial allocation after some groups: its totals and how it was reached.
struct State {
    int64_t sizeBits = 0;
    int64_t bitOps = 0;
    double omega = 0.0;
    int parent = -1;  ///< index in the previous stage
    int choice = -1;  ///< candidate index of this stage's group
};

/// Keeps the states no other state beats in every one of (size, [bit-ops,] Omega); ties keep
/// one of the equal states.
std::vector<State> nonDominated(std::vector<State> states, bool withBitOps) {
    std::sort(states.begin(), states.end(), [withBitOps](const State& a, const State& b) {
        if (a.sizeBits != b.sizeBits) {
            return a.sizeBits < b.sizeBits;
        }
        if (withBitOps && a.bitOps != b.bitOps) {
            return a.bitOps < b.bitOps;
        }
        return a.omega < b.omega;
    });
    std::vector<State> kept;
    if (!withBitOps) {
        for (const State& s : states) {
            if (kept.empty() || s.omega < kept.back().omega) {
                kept.push_back(s);
            }
        }
        return kept;
    }
    // Sweep by size; the staircase holds, for the states kept so far (all no larger), the least
    // Omega reachable at each bit-op count: keys increasing, Omega strictly decreasing.
    std::map<int64_t, double> staircase;
    for (const State& s : states) {
        auto it = staircase.upper_bound(s.bitOps);
        if (it != staircase.begin() && std::prev(it)->second <= s.omega) {
            continue;
        }
        kept.push_back(s);
        while (it != staircase.end() && it->second >= s.omega) {
            it = staircase.erase(it);
        }
        staircase[s.bitOps] = s.omega;
    }
    return kept;
}

}  // namespace

std::vector<std::vector<std::string>> residualTies(const std::vector<std::string>& layers) {
    const std::set<std::string> known(layers.begin(), layers.end());
    const std::string suffix = kDownsample;
    std::vector<std::vector<std::string>> ties;
    for (const std::string& name : layers) {
        if (name.size() > suffix.size() &&
            name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
            const std::string partner = name.substr(0, name.size() - suffix.size()) + ".conv2";
            if (known.count(partner)) {
                ties.push_back({partner, name});
            }
        }
    }
    return ties;
}

AllocationProblem allocationProblem(const HessianReport& report, const session::RunSpec& spec,
                                    const std::vector<int>& candidateBits) {
    AllocationProblem p;
    p.candidateBits = candidateBits;
    std::vector<std::string> names;
    for (std::size_t i = 0; i < report.layers.size(); ++i) {
        const LayerHessian& l = report.layers[i];
        LayerCost c;
        c.layer = l.layer;
        c.params = l.params;
        c.macs = l.macs;
        c.omega = l.omega;
        c.actBits = spec.quant.actBits;
        const bool edge = spec.firstLastRuleCovers(i, report.layers.size());
        if (edge && spec.firstLastRule() == "8bit") {
            c.fixedBits = c.actBits = 8;
        } else if (edge && spec.firstLastRule() == "float") {
            c.fixedBits = c.actBits = 0;
        }
        auto it = spec.quant.layers.find(l.layer);
        if (it != spec.quant.layers.end() && it->second.actBits >= 0) {
            c.actBits = it->second.actBits;
        }
        p.layers.push_back(c);
        names.push_back(l.layer);
    }
    p.ties = residualTies(names);
    return p;
}

double minimumSizeBytes(const AllocationProblem& problem) {
    const Prepared prep = prepare(problem);
    int64_t bits = prep.fixedSizeBits;
    for (const Group& g : prep.allocated) {
        bits += *std::min_element(g.sizeBits.begin(), g.sizeBits.end());
    }
    return double(bits) / 8.0;
}

AllocationResult allocateBits(const AllocationProblem& problem, const AllocationBudget& budget) {
    const Prepared prep = prepare(problem);
    const bool withBitOps = budget.bitOps > 0.0;
    int64_t minBits = prep.fixedSizeBits, minOps = prep.fixedBitOps;
    for (const Group& g : prep.allocated) {
        minBits += *std::min_element(g.sizeBits.begin(), g.sizeBits.end());
        minOps += *std::min_element(g.bitOps.begin(), g.bitOps.end());
    }
    if (!(budget.sizeBytes >= double(minBits) / 8.0)) {
        throw std::invalid_argument(
            "size budget " + megabytes(budget.sizeBytes) + " is below the smallest possible size " +
            megabytes(double(minBits) / 8.0) + " (every allocated layer at its fewest bits)");
    }
    if (withBitOps && budget.bitOps < double(minOps)) {
        throw std::invalid_argument("bit-op budget " + std::to_string(budget.bitOps / 1e9) +
                                    " G is below the smallest possible " +
                                    std::to_string(double(minOps) / 1e9) + " G");
    }

    // One stage per allocated group; the frontier of every size comes out of the last stage.
    std::vector<std::vector<State>> stages;
    stages.push_back({State{prep.fixedSizeBits, prep.fixedBitOps, 0.0, -1, -1}});
    for (const Group& g : prep.allocated) {
        const std::vector<State>& previous = stages.back();
        std::vector<State> next;
        next.reserve(previous.size() * g.sizeBits.size());
        for (std::size_t s = 0; s < previous.size(); ++s) {
            for (std::size_t c = 0; c < g.sizeBits.size(); ++c) {
                State n{previous[s].sizeBits + g.sizeBits[c], previous[s].bitOps + g.bitOps[c],
                        previous[s].omega + g.omega[c], int(s), int(c)};
                if (withBitOps && double(n.bitOps) > budget.bitOps) {
                    continue;
                }
                next.push_back(n);
            }
        }
        stages.push_back(nonDominated(std::move(next), withBitOps));
    }

    const auto unwind = [&](const State& last) {
        Allocation a;
        a.bits.resize(problem.layers.size());
        for (std::size_t i = 0; i < a.bits.size(); ++i) {
            a.bits[i] = prep.fixedBitsOf[i];
        }
        a.omega = last.omega;
        a.sizeBytes = double(last.sizeBits) / 8.0;
        a.bitOps = double(last.bitOps);
        const State* s = &last;
        for (std::size_t k = prep.allocated.size(); k > 0; --k) {
            for (std::size_t i : prep.allocated[k - 1].members) {
                a.bits[i] = problem.candidateBits[std::size_t(s->choice)];
            }
            s = &stages[k - 1][std::size_t(s->parent)];
        }
        return a;
    };
    AllocationResult result;
    for (const State& s : nonDominated(stages.back(), false)) {
        result.frontier.push_back(unwind(s));
    }
    // Sizes increase and Omega decreases along the frontier: the last point that fits wins.
    for (const Allocation& a : result.frontier) {
        if (a.sizeBytes <= budget.sizeBytes) {
            result.best = a;
        }
    }
    return result;
}

session::RunSpec allocationSpec(const session::RunSpec& base, const AllocationProblem& problem,
                                const Allocation& allocation, const std::string& checkpoint,
                                const std::string& method) {
    if (allocation.bits.size() != problem.layers.size()) {
        throw std::invalid_argument("allocation: " + std::to_string(allocation.bits.size()) +
                                    " bit-widths for " + std::to_string(problem.layers.size()) +
                                    " layers");
    }
    session::RunSpec spec = base;
    spec.name = base.name + "-mp";
    spec.method.name = method;
    spec.initCheckpoint = checkpoint;
    for (std::size_t i = 0; i < problem.layers.size(); ++i) {
        if (problem.layers[i].fixedBits < 0) {
            spec.quant.layers[problem.layers[i].layer].weightBits = allocation.bits[i];
        }
    }
    return session::RunSpec::fromJson(spec.toJson());
}

}  // namespace qs::analysis
