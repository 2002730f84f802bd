// quantscape-cli hessian (ALGORITHMS.md section 5: top eigenvalues, Hutchinson traces per layer,
// sensitivities Omega_i(b)) and allocate (mixed-precision bits from a stored Hessian report
// under a size or bit-op budget, the Pareto frontier, a run spec ready to train).
#include "app/cli/AnalysisCommands.h"
#include "engine/analysis/Hessian.h"
#include "engine/analysis/MixedPrecision.h"
#include "engine/store/RunStore.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

namespace qs::cli {

namespace {

namespace fs = std::filesystem;

/// "2,3,4,8" -> {2, 3, 4, 8}.
std::vector<int> parseBits(const std::string& text) {
    std::vector<int> bits;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
        std::size_t used = 0;
        int b = 0;
        try {
            b = std::stoi(item, &used);
        } catch (const std::logic_error&) {
            used = 0;
        }
        if (used == 0 || used != item.size() || b < 2 || b > 8) {
            throw UsageError("--bits: a comma-separated list of bit-widths in 2..8 (got " + text +
                             ")");
        }
        bits.push_back(b);
    }
    if (bits.empty()) {
        throw UsageError("--bits: a comma-separated list of bit-widths in 2..8 (got " + text + ")");
    }
    return bits;
}

/// What both commands share: which checkpoint, which store, and the options of a Hessian
/// computation.
struct Target {
    int64_t runId = 0;
    std::string checkpoint;
    std::string dbPath = defaultDbPath();
    bool asJson = false;
    analysis::HessianOptions hessian;
};

/// Reads one option both commands know; false when `a` is not one of them.
bool readCommonOption(const std::string& a, Args& args, Target& t) {
    if (a == "--run") {
        t.runId = args.integer(a);
    } else if (a == "--checkpoint") {
        t.checkpoint = args.value(a);
    } else if (a == "--db") {
        t.dbPath = args.value(a);
    } else if (a == "--json") {
        t.asJson = true;
    } else if (a == "--mode") {
        const std::string m = args.value(a);
        if (m != "float" && m != "dequantized" && m != "quantize-after" && m != "auto") {
            throw UsageError("--mode: float, dequantized, quantize-after or auto (got " + m + ")");
        }
        t.hessian.mode = m == "auto" ? std::string() : m;
    } else if (a == "--samples") {
        t.hessian.samples = args.integer(a);
    } else if (a == "--batch-size") {
        t.hessian.batchSize = int(args.integer(a));
    } else if (a == "--trace-samples") {
        t.hessian.traceSamples = int(args.integer(a));
    } else if (a == "--bits") {
        t.hessian.candidateBits = parseBits(args.value(a));
    } else if (a == "--seed") {
        t.hessian.seed = uint64_t(args.integer(a));
    } else if (a == "--threads") {
        t.hessian.threads = int(args.integer(a));
    } else if (a == "--data") {
        t.hessian.dataPath = args.value(a);
    } else {
        return false;
    }
    return true;
}

/// Checks the target and opens the store: a run needs it; a loose checkpoint is recorded when
/// a store exists, and none is created for it.
std::unique_ptr<store::RunStore> openTarget(const std::string& command, Target& t) {
    if ((t.runId > 0) == !t.checkpoint.empty()) {
        throw UsageError(command + ": give exactly one of --run RUN_ID and --checkpoint FILE");
    }
    if (t.hessian.samples < 1 || t.hessian.batchSize < 1 || t.hessian.traceSamples < 1 ||
        t.hessian.topK < 1 || t.hessian.threads < 0) {
        throw UsageError(command +
                         ": --samples, --batch-size, --top-k and --trace-samples must be "
                         "positive, --threads >= 0");
    }
    std::unique_ptr<store::RunStore> store;
    if (t.runId > 0) {
        store = store::RunStore::open(t.dbPath);
        t.checkpoint = analysis::runCheckpoint(*store, t.runId);
    } else if (fs::exists(t.dbPath)) {
        store = store::RunStore::open(t.dbPath);
    }
    return store;
}

/// Computes a report with progress on stderr; Ctrl-C cancels. Bad options are usage errors.
analysis::HessianReport computeReport(const Target& t) {
    std::atomic<bool> cancel{false};
    std::string lastLine;
    try {
        analysis::HessianReport report = analysis::analyzeHessian(
            t.checkpoint, t.hessian,
            [&](const std::string& phase, double fraction) {
                cancel = interrupted().load();
                std::ostringstream line;
                line << "\r" << phase << ": " << int(fraction * 100.0 + 0.5) << "%   ";
                if (line.str() != lastLine) {
                    std::cerr << line.str() << std::flush;
                    lastLine = line.str();
                }
            },
            &cancel);
        std::cerr << "\n";
        return report;
    } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
    }
}

std::string scientific(double value) {
    if (std::isnan(value)) {
        return "-";
    }
    std::ostringstream s;
    s.precision(4);
    s << value;
    return s.str();
}

nlohmann::json reportJson(const analysis::HessianReport& r, int64_t id) {
    nlohmann::json layers = nlohmann::json::array();
    for (const auto& l : r.layers) {
        nlohmann::json omega = nlohmann::json::object();
        for (const auto& [bits, value] : l.omega) {
            omega[std::to_string(bits)] = value;
        }
        layers.push_back({{"layer", l.layer},
                          {"params", l.params},
                          {"macs", l.macs},
                          {"trace", l.trace},
                          {"trace_se", l.traceSe},
                          {"omega", omega}});
    }
    return {{"id", id},
            {"checkpoint", r.checkpoint},
            {"step", r.step},
            {"method", r.method},
            {"mode", r.mode},
            {"samples", r.samples},
            {"seed", r.seed},
            {"eigenvalues", r.eigenvalues},
            {"eigen_iterations", r.eigenIterations},
            {"trace", r.trace},
            {"trace_se", r.traceSe},
            {"trace_samples", r.traceSamples},
            {"layers", layers}};
}

void printReport(const analysis::HessianReport& r) {
    std::cout << "checkpoint " << r.checkpoint << " (" << r.method << ", step " << r.step
              << ", mode " << r.mode << ", " << r.samples << " samples)\n";
    std::vector<std::vector<std::string>> eig;
    for (std::size_t i = 0; i < r.eigenvalues.size(); ++i) {
        eig.push_back({std::to_string(i + 1), scientific(r.eigenvalues[i]),
                       std::to_string(r.eigenIterations.at(i))});
    }
    std::cout << formatTable({"eigenvalue", "value", "iterations"}, eig);
    std::cout << "trace " << scientific(r.trace) << " +- " << scientific(r.traceSe) << " ("
              << r.traceSamples << " Hutchinson samples)\n";
    std::vector<std::string> header{"layer", "params", "MACs", "trace", "+- se"};
    const std::map<int, double> firstOmega =
        r.layers.empty() ? std::map<int, double>{} : r.layers.front().omega;
    for (const auto& entry : firstOmega) {
        header.push_back("Omega(" + std::to_string(entry.first) + ")");
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& l : r.layers) {
        std::vector<std::string> row{l.layer, std::to_string(l.params), std::to_string(l.macs),
                                     scientific(l.trace), scientific(l.traceSe)};
        for (const auto& entry : firstOmega) {
            auto it = l.omega.find(entry.first);
            row.push_back(it == l.omega.end() ? "-" : scientific(it->second));
        }
        rows.push_back(row);
    }
    std::cout << formatTable(header, rows);
}

/// The newest stored report of the target with a trace and Omega at every candidate bit-width.
std::optional<analysis::HessianReport> storedReport(const store::RunStore& store, const Target& t,
                                                    int64_t& id) {
    const std::vector<store::HessianRow> rows =
        t.runId > 0 ? store.hessianReports(t.runId)
                    : store.hessianReportsForCheckpoint(t.checkpoint);
    for (auto it = rows.rbegin(); it != rows.rend(); ++it) {
        bool usable = it->traceSamples > 0 && !it->layers.empty();
        for (const auto& layer : it->layers) {
            for (int b : t.hessian.candidateBits) {
                usable = usable && layer.omega.count(b) > 0;
            }
        }
        if (usable) {
            id = it->id;
            return analysis::reportFromRow(*it);
        }
    }
    return std::nullopt;
}

std::string bytesText(double bytes) {
    return formatFixed(bytes / 1e6, 4) + " MB";
}

std::vector<std::string> totalsRow(const analysis::Allocation& a, int64_t params) {
    return {bytesText(a.sizeBytes), formatFixed(a.sizeBytes * 8.0 / double(params), 3),
            scientific(a.omega), formatFixed(a.bitOps / 1e9, 4)};
}

nlohmann::json allocationJson(const analysis::AllocationProblem& p, const analysis::Allocation& a) {
    nlohmann::json bits = nlohmann::json::object();
    for (std::size_t i = 0; i < p.layers.size(); ++i) {
        bits[p.layers[i].layer] = a.bits[i];
    }
    return {{"bits", bits}, {"size_bytes", a.sizeBytes}, {"omega", a.omega}, {"bit_ops", a.bitOps}};
}

}  // namespace

int cmdHessian(Args& args) {
    Target t;
    while (!args.done()) {
        const std::string a = args.next();
        if (readCommonOption(a, args, t)) {
            continue;
        }
        if (a == "--top-k") {
            t.hessian.topK = int(args.integer(a));
        } else {
            throw UsageError("hessian: unknown option " + a);
        }
    }
    const std::unique_ptr<store::RunStore> store = openTarget("hessian", t);
    const analysis::HessianReport report = computeReport(t);
    const int64_t id = store ? analysis::recordHessian(*store, t.runId, report) : 0;
    if (t.asJson) {
        std::cout << reportJson(report, id).dump(2) << "\n";
    } else {
        printReport(report);
    }
    return 0;
}

int cmdAllocate(Args& args) {
    Target t;
    t.hessian.topK = 1;  // the allocation needs only the traces
    double budgetMb = 0.0, budgetRatio = 0.0, avgBits = 0.0, bitOpsG = 0.0;
    bool frontier = false;
    std::string specOut;
    while (!args.done()) {
        const std::string a = args.next();
        if (readCommonOption(a, args, t)) {
            continue;
        }
        if (a == "--budget-mb") {
            budgetMb = args.real(a);
        } else if (a == "--budget-ratio") {
            budgetRatio = args.real(a);
        } else if (a == "--avg-bits") {
            avgBits = args.real(a);
        } else if (a == "--bitops-budget") {
            bitOpsG = args.real(a);
            if (!(bitOpsG > 0.0)) {
                throw UsageError("--bitops-budget: must be positive");
            }
        } else if (a == "--frontier") {
            frontier = true;
        } else if (a == "--spec-out") {
            specOut = args.value(a);
        } else {
            throw UsageError("allocate: unknown option " + a);
        }
    }
    if (int(budgetMb > 0.0) + int(budgetRatio > 0.0) + int(avgBits > 0.0) != 1 || budgetMb < 0.0 ||
        budgetRatio < 0.0 || avgBits < 0.0) {
        throw UsageError(
            "allocate: give exactly one positive budget: --budget-mb, --budget-ratio or "
            "--avg-bits");
    }
    std::unique_ptr<store::RunStore> store = openTarget("allocate", t);
    int64_t reportId = 0;
    std::optional<analysis::HessianReport> report;
    if (store) {
        report = storedReport(*store, t, reportId);
    }
    if (report) {
        std::cerr << "using Hessian report " << reportId << " (" << report->mode << ", "
                  << report->samples << " samples)\n";
    } else {
        std::cerr << "no stored Hessian report of this checkpoint: computing one\n";
        report = computeReport(t);
        if (store) {
            reportId = analysis::recordHessian(*store, t.runId, *report);
        }
    }

    const session::RunSpec base = analysis::checkpointRunSpec(t.checkpoint);
    const analysis::AllocationProblem problem =
        analysis::allocationProblem(*report, base, t.hessian.candidateBits);
    int64_t params = 0;
    for (const auto& l : problem.layers) {
        params += l.params;
    }
    analysis::AllocationBudget budget;
    budget.sizeBytes = budgetMb > 0.0      ? budgetMb * 1e6
                       : budgetRatio > 0.0 ? double(params) * 4.0 / budgetRatio
                                           : avgBits * double(params) / 8.0;
    budget.bitOps = bitOpsG * 1e9;
    analysis::AllocationResult result;
    try {
        result = analysis::allocateBits(problem, budget);
    } catch (const std::invalid_argument& e) {
        throw UsageError(std::string("allocate: ") + e.what());
    }
    const session::RunSpec spec =
        analysis::allocationSpec(base, problem, result.best, t.checkpoint);
    if (!specOut.empty()) {
        std::ofstream out(specOut, std::ios::binary | std::ios::trunc);
        out << spec.toJson() << "\n";
        if (!out.flush()) {
            throw std::runtime_error("cannot write the spec to " + specOut);
        }
        std::cerr << "spec written to " << specOut << " (quantscape-cli train --spec " << specOut
                  << ")\n";
    }

    if (t.asJson) {
        nlohmann::json out = {{"report_id", reportId},
                              {"checkpoint", t.checkpoint},
                              {"budget_bytes", budget.sizeBytes},
                              {"bitops_budget", budget.bitOps},
                              {"allocation", allocationJson(problem, result.best)},
                              {"spec", nlohmann::json::parse(spec.toJson())}};
        if (frontier) {
            out["frontier"] = nlohmann::json::array();
            for (const auto& a : result.frontier) {
                out["frontier"].push_back(allocationJson(problem, a));
            }
        }
        std::cout << out.dump(2) << "\n";
        return 0;
    }
    std::vector<std::vector<std::string>> rows;
    for (std::size_t i = 0; i < problem.layers.size(); ++i) {
        const auto& l = problem.layers[i];
        const int bits = result.best.bits[i];
        auto omega = l.omega.find(bits);
        rows.push_back({l.layer, std::to_string(l.params), std::to_string(l.macs),
                        bits == 0 ? "float" : std::to_string(bits),
                        l.fixedBits >= 0
                            ? "fixed"
                            : (omega == l.omega.end() ? "-" : scientific(omega->second))});
    }
    std::cout << "allocation for " << t.checkpoint << " under " << bytesText(budget.sizeBytes)
              << (budget.bitOps > 0.0 ? " and " + formatFixed(budget.bitOps / 1e9, 4) + " G bit-ops"
                                      : std::string())
              << "\n"
              << formatTable({"layer", "params", "MACs", "bits", "Omega"}, rows)
              << formatTable({"size", "avg bits", "Omega", "G bit-ops"},
                             {totalsRow(result.best, params)});
    if (frontier) {
        std::vector<std::vector<std::string>> points;
        for (const auto& a : result.frontier) {
            points.push_back(totalsRow(a, params));
        }
        std::cout << "\nPareto frontier (" << points.size() << " points)\n"
                  << formatTable({"size", "avg bits", "Omega", "G bit-ops"}, points);
    }
    return 0;
}

}  // namespace qs::cli
