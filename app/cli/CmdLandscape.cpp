// quantscape-cli landscape: computes, resumes and lists loss landscapes (ALGORITHMS.md section 7).
#include "app/cli/AnalysisCommands.h"
#include "engine/analysis/Landscape.h"
#include "engine/analysis/Sharpness.h"
#include "engine/store/RunStore.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <limits>
#include <memory>
#include <sstream>

namespace qs::cli {

namespace {

namespace fs = std::filesystem;
using analysis::LandscapeSurface;

/// "21" or "41x31".
void parseGrid(const std::string& text, int& nx, int& ny, bool& square) {
    const std::size_t x = text.find('x');
    auto side = [&](const std::string& s) {
        char* end = nullptr;
        const long v = std::strtol(s.c_str(), &end, 10);
        if (s.empty() || *end != '\0' || v < 1 || v > 100000) {
            throw UsageError("--grid: NX or NXxNY with sides >= 1 (got \"" + text + "\")");
        }
        return int(v);
    };
    nx = side(text.substr(0, x));
    square = x == std::string::npos;
    ny = square ? nx : side(text.substr(x + 1));
}

/// "A:B" or "A:B,C:D".
void parseRange(const std::string& text, analysis::LandscapeOptions& o) {
    auto pair = [&](const std::string& s, double& lo, double& hi) {
        const std::size_t colon = s.find(':');
        try {
            std::size_t used1 = 0, used2 = 0;
            if (colon != std::string::npos) {
                const std::string a = s.substr(0, colon), b = s.substr(colon + 1);
                lo = std::stod(a, &used1);
                hi = std::stod(b, &used2);
                if (used1 == a.size() && used2 == b.size() && std::isfinite(lo) &&
                    std::isfinite(hi) && lo < hi) {
                    return;
                }
            }
        } catch (const std::logic_error&) {
        }
        throw UsageError("--range: A:B or A:B,C:D with finite A < B and C < D (got \"" + text +
                         "\")");
    };
    const std::size_t comma = text.find(',');
    pair(text.substr(0, comma), o.xMin, o.xMax);
    if (comma == std::string::npos) {
        o.yMin = o.xMin;
        o.yMax = o.xMax;
    } else {
        pair(text.substr(comma + 1), o.yMin, o.yMax);
    }
}

std::string fixedOrDash(double v, int decimals) {
    return std::isnan(v) ? "-" : formatFixed(v, decimals);
}

int64_t pendingPoints(const LandscapeSurface& s) {
    int64_t n = 0;
    for (double v : s.loss) {
        n += std::isnan(v) ? 1 : 0;
    }
    return n;
}

nlohmann::json surfaceJson(const LandscapeSurface& s, double seconds) {
    auto values = [](const std::vector<double>& v) {
        nlohmann::json a = nlohmann::json::array();
        for (double x : v) {
            a.push_back(std::isnan(x) ? nlohmann::json(nullptr) : nlohmann::json(x));
        }
        return a;
    };
    nlohmann::json j{{"id", s.id},
                     {"run_id", s.runId},
                     {"checkpoint", s.checkpoint},
                     {"step", s.step},
                     {"directions", s.kind},
                     {"mode", s.mode},
                     {"nx", s.nx},
                     {"ny", s.ny},
                     {"x_range", {s.xMin, s.xMax}},
                     {"y_range", {s.yMin, s.yMax}},
                     {"seed", s.seed},
                     {"samples", s.samples},
                     {"status", s.status},
                     {"pending", pendingPoints(s)},
                     {"loss", values(s.loss)},
                     {"accuracy", values(s.accuracy)}};
    if (seconds >= 0.0) {
        j["seconds"] = seconds;
    }
    return j;
}

/// Min and max loss over the finished points and the loss at (0, 0) when (0, 0) is on the grid.
struct Summary {
    double minLoss = std::numeric_limits<double>::quiet_NaN();
    double maxLoss = std::numeric_limits<double>::quiet_NaN();
    double minX = 0.0, minY = 0.0;
    double originLoss = std::numeric_limits<double>::quiet_NaN();
};

Summary summarize(const LandscapeSurface& s) {
    Summary r;
    for (int iy = 0; iy < s.ny; ++iy) {
        for (int ix = 0; ix < s.nx; ++ix) {
            const double v = s.loss[size_t(iy) * size_t(s.nx) + size_t(ix)];
            if (std::isnan(v)) {
                continue;
            }
            const double x = analysis::gridX(s, ix), y = analysis::gridY(s, iy);
            if (std::isnan(r.minLoss) || v < r.minLoss) {
                r.minLoss = v;
                r.minX = x;
                r.minY = y;
            }
            if (std::isnan(r.maxLoss) || v > r.maxLoss) {
                r.maxLoss = v;
            }
            if (x == 0.0 && y == 0.0) {
                r.originLoss = v;
            }
        }
    }
    return r;
}

void printSurface(const LandscapeSurface& s, double seconds, const std::string& dbPath) {
    const Summary m = summarize(s);
    std::ostringstream grid, range;
    grid << s.nx << "x" << s.ny;
    range << "[" << s.xMin << ", " << s.xMax << "]";
    if (s.ny > 1) {
        range << " x [" << s.yMin << ", " << s.yMax << "]";
    }
    std::cout << "landscape " << (s.id > 0 ? std::to_string(s.id) : "(not stored)") << " of "
              << s.checkpoint << " (step " << s.step << ")\n"
              << formatTable({"directions", "mode", "grid", "range", "samples", "status",
                              "min loss", "at (x, y)", "max loss", "loss at (0, 0)", "seconds"},
                             {{s.kind, s.mode, grid.str(), range.str(), std::to_string(s.samples),
                               s.status, fixedOrDash(m.minLoss, 5),
                               "(" + formatFixed(m.minX, 3) + ", " + formatFixed(m.minY, 3) + ")",
                               fixedOrDash(m.maxLoss, 5), fixedOrDash(m.originLoss, 5),
                               formatFixed(seconds, 1)}});
    if (s.id > 0) {
        std::cout << "recorded in " << dbPath << "\n";
    }
}

int listLandscapes(const std::string& dbPath, int64_t runId, bool asJson) {
    if (!fs::exists(dbPath)) {
        throw store::StoreError(dbPath + ": no run store here yet");
    }
    const auto rows = store::RunStore::open(dbPath)->landscapes(runId);
    if (asJson) {
        nlohmann::json a = nlohmann::json::array();
        for (const auto& s : rows) {
            nlohmann::json j = surfaceJson(s, -1.0);
            j["created"] = s.createdAt;
            a.push_back(std::move(j));
        }
        std::cout << a.dump(2) << "\n";
        return 0;
    }
    std::vector<std::vector<std::string>> table;
    for (const auto& s : rows) {
        const double done = 1.0 - double(pendingPoints(s)) / double(std::max(1, s.nx * s.ny));
        table.push_back({std::to_string(s.id), s.runId > 0 ? std::to_string(s.runId) : "-",
                         std::to_string(s.step), s.kind, s.mode,
                         std::to_string(s.nx) + "x" + std::to_string(s.ny), s.status,
                         formatPercent(done), fixedOrDash(summarize(s).minLoss, 5), s.createdAt});
    }
    std::cout << formatTable({"id", "run", "step", "directions", "mode", "grid", "status", "done",
                              "min loss", "created"},
                             table);
    return 0;
}

}  // namespace

int cmdLandscape(Args& args) {
    std::string dbPath = defaultDbPath();
    std::string checkpoint, vtpPath;
    int64_t runId = 0, otherRunId = 0, resumeId = 0;
    bool asJson = false, list = false, squareGrid = true, gridGiven = false, rangeGiven = false;
    analysis::LandscapeOptions o;
    analysis::LandscapeExecution exec;
    std::vector<std::string> computeOnly;  // options a resume or a listing does not take
    while (!args.done()) {
        const std::string a = args.next();
        const bool shared = a == "--db" || a == "--json" || a == "--threads" || a == "--parallel" ||
                            a == "--vtp" || a == "--run" || a == "--resume" || a == "--list" ||
                            a == "--checkpoint";
        if (!shared) {
            computeOnly.push_back(a);
        }
        if (a == "--run") {
            runId = args.integer(a);
        } else if (a == "--checkpoint") {
            checkpoint = args.value(a);
        } else if (a == "--resume") {
            resumeId = args.integer(a);
        } else if (a == "--list") {
            list = true;
        } else if (a == "--db") {
            dbPath = args.value(a);
        } else if (a == "--directions") {
            o.directions = args.value(a);
            if (o.directions != "random" && o.directions != "hessian" &&
                o.directions != "interpolation") {
                throw UsageError("--directions: random, hessian or interpolation (got " +
                                 o.directions + ")");
            }
        } else if (a == "--other") {
            o.otherCheckpoint = args.value(a);
        } else if (a == "--other-run") {
            otherRunId = args.integer(a);
        } else if (a == "--grid") {
            parseGrid(args.value(a), o.nx, o.ny, squareGrid);
            gridGiven = true;
        } else if (a == "--range") {
            parseRange(args.value(a), o);
            rangeGiven = true;
        } else if (a == "--mode") {
            const std::string m = args.value(a);
            if (m != "float" && m != "dequantized" && m != "quantize-after" && m != "auto") {
                throw UsageError("--mode: float, dequantized, quantize-after or auto (got " + m +
                                 ")");
            }
            o.mode = m == "auto" ? std::string() : m;
        } else if (a == "--samples") {
            o.samples = args.integer(a);
        } else if (a == "--split") {
            const std::string s = args.value(a);
            if (s != "train" && s != "test") {
                throw UsageError("--split: train or test (got " + s + ")");
            }
            o.testSplit = s == "test";
        } else if (a == "--seed") {
            o.seed = uint64_t(args.integer(a));
        } else if (a == "--batch-size") {
            o.batchSize = int(args.integer(a));
        } else if (a == "--data") {
            o.dataPath = args.value(a);
        } else if (a == "--threads") {
            exec.threads = int(args.integer(a));
        } else if (a == "--parallel") {
            exec.parallel = args.value(a);
            if (exec.parallel != "auto" && exec.parallel != "points" &&
                exec.parallel != "intra-op") {
                throw UsageError("--parallel: auto, points or intra-op (got " + exec.parallel +
                                 ")");
            }
        } else if (a == "--vtp") {
            vtpPath = args.value(a);
        } else if (a == "--json") {
            asJson = true;
        } else {
            throw UsageError("landscape: unknown option " + a);
        }
    }
    if (exec.threads < 0 || o.samples < 1 || o.batchSize < 1) {
        throw UsageError("landscape: --samples and --batch-size must be positive, --threads >= 0");
    }
    if (list) {
        if (resumeId > 0 || !checkpoint.empty() || !computeOnly.empty() || !vtpPath.empty()) {
            throw UsageError("landscape --list takes only --run, --db and --json");
        }
        return listLandscapes(dbPath, runId, asJson);
    }
    if (resumeId > 0) {
        if (runId > 0 || !checkpoint.empty() || !computeOnly.empty()) {
            throw UsageError(
                "landscape --resume takes the options stored with the landscape; only --db, "
                "--threads, --parallel, --vtp and --json go with it");
        }
    } else if ((runId > 0) == !checkpoint.empty()) {
        throw UsageError(
            "landscape: give exactly one of --run RUN_ID, --checkpoint FILE, --resume ID and "
            "--list");
    }
    if (o.directions == "interpolation") {
        if (o.otherCheckpoint.empty() == (otherRunId <= 0)) {
            throw UsageError(
                "landscape: interpolation needs exactly one of --other FILE and "
                "--other-run RUN_ID");
        }
        if (gridGiven && !squareGrid && o.ny != 1) {
            throw UsageError("landscape: interpolation is a 1D curve: --grid NX");
        }
        o.ny = 1;
        if (!gridGiven) {
            o.nx = 51;
        }
        if (!rangeGiven) {
            o.xMin = -0.5;  // both ends and a margin around them
            o.xMax = 1.5;
        }
    } else if (!o.otherCheckpoint.empty() || otherRunId > 0) {
        throw UsageError("landscape: --other and --other-run go with --directions interpolation");
    }

    std::unique_ptr<store::RunStore> store;
    if (resumeId > 0 || runId > 0 || otherRunId > 0) {
        store = store::RunStore::open(dbPath);
    } else if (fs::exists(dbPath)) {
        store = store::RunStore::open(dbPath);  // a loose checkpoint is recorded where a store is
    }
    if (runId > 0) {
        checkpoint = analysis::runCheckpoint(*store, runId);
    }
    if (otherRunId > 0) {
        o.otherCheckpoint = analysis::runCheckpoint(*store, otherRunId);
    }

    // Progress on stderr: one line per finished batch (a grid row of a pass), with the rate of
    // this process (a resume starts part-way) and the time left at that rate.
    double totalPoints = double(o.nx) * double(o.ny);
    if (resumeId > 0) {
        const auto row = store->landscape(resumeId);
        if (!row) {
            throw UsageError("no landscape with id " + std::to_string(resumeId) + " in " + dbPath);
        }
        if (row->status == store::status::kFinished) {
            throw UsageError("landscape " + std::to_string(resumeId) + " has already finished");
        }
        totalPoints = double(row->nx) * double(row->ny);
    }
    const auto start = std::chrono::steady_clock::now();
    int64_t computed = 0;
    const analysis::LandscapeCallback onPoints = [&](const analysis::LandscapePoints& p) {
        computed += int64_t(p.points.size());
        const double elapsed =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const double rate = double(computed) / std::max(1e-9, elapsed);
        const double eta = (1.0 - p.fraction) * totalPoints / std::max(1e-9, rate);
        std::cerr << "\rlandscape" << (p.id > 0 ? " " + std::to_string(p.id) : std::string())
                  << ": " << int(p.fraction * 100.0) << "%, " << formatFixed(rate, 2)
                  << " points/s, ETA " << formatFixed(eta, 0) << " s   " << std::flush;
    };

    const std::atomic<bool>* cancel = &interrupted();
    LandscapeSurface s;
    if (resumeId > 0) {
        s = analysis::resumeLandscape(*store, resumeId, exec, onPoints, cancel);
    } else {
        std::cerr << "landscape of " << checkpoint << ": " << o.directions << " directions, "
                  << o.nx << "x" << o.ny << " points"
                  << (store ? ", recorded in " + dbPath : std::string()) << "\n";
        s = analysis::computeLandscape(checkpoint, o, store.get(), runId, exec, onPoints, cancel);
    }
    std::cerr << "\n";
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!vtpPath.empty()) {
        if (pendingPoints(s) == 0) {
            analysis::writeVtp(s, vtpPath);
            std::cerr << "wrote " << vtpPath << "\n";
        } else {
            std::cerr << "not writing " << vtpPath << ": the landscape is not complete\n";
        }
    }
    if (asJson) {
        std::cout << surfaceJson(s, seconds).dump(2) << "\n";
    } else {
        printSurface(s, seconds, dbPath);
    }
    if (s.status != store::status::kFinished) {
        if (s.id > 0) {
            std::cerr << "cancelled: resume with `quantscape-cli landscape --resume " << s.id
                      << " --db " << dbPath << "`\n";
        } else {
            std::cerr << "cancelled (not resumable: no run store at " << dbPath << ")\n";
        }
        return 1;
    }
    return 0;
}

}  // namespace qs::cli
