// What the method benchmarks share: train a spec to the end in a work folder, then measure the
// checkpoint's rho-ball sharpness in each of its default modes. Header-only.
#pragma once

#include "engine/analysis/Sharpness.h"
#include "engine/session/Session.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

namespace qs::bench {

struct Row {
    double acc = 0.0;
    double stepMs = 0.0;
    double seconds = 0.0;
    std::string checkpoint;
    std::map<std::string, double> sharpness;  ///< mode -> rho-ball value
};

/// Trains `spec` with a run store and checkpoints under `work`; exits the program on failure.
inline Row train(const session::RunSpec& spec, const std::string& work) {
    session::Session session;
    const auto t0 = std::chrono::steady_clock::now();
    session.start(spec, {work + "/bench.sqlite", work + "/checkpoints"});
    const session::Finished f = session.wait();
    if (f.status != "finished") {
        std::fprintf(stderr, "%s: %s %s\n", spec.name.c_str(), f.status.c_str(), f.error.c_str());
        std::exit(1);
    }
    Row r;
    r.acc = f.finalMetrics.at("eval/acc");
    r.stepMs = f.finalMetrics.at("time/step_ms");
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.checkpoint = f.checkpoint;
    std::fprintf(stderr, "%s: %.2f%% in %.0f s\n", spec.name.c_str(), 100 * r.acc, r.seconds);
    return r;
}

/// Rho-ball sharpness (rho 0.05, 5 ascent steps) on `samples` training examples (0: the
/// analysis default, 1,000), in batches of `batchSize` (0: default).
inline void measure(Row& r, int threads, int64_t samples = 0, int batchSize = 0) {
    analysis::SharpnessOptions o;
    o.measures = {"rho-ball"};
    o.threads = threads;
    if (samples > 0) {
        o.samples = samples;
    }
    if (batchSize > 0) {
        o.batchSize = batchSize;
    }
    const auto report = analysis::measureSharpness(r.checkpoint, o);
    for (const auto& f : report.figures) {
        r.sharpness[f.mode] = f.value;
    }
}

}  // namespace qs::bench
