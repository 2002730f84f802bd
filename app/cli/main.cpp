// quantscape-cli: train runs headless, list presets, browse the run store.
#include "app/cli/AnalysisCommands.h"
#include "app/cli/CliSupport.h"
#include "app/cli/ProgressPrinter.h"
#include "engine/analysis/Sharpness.h"
#include "engine/data/ImageSet.h"
#include "engine/io/Safetensors.h"
#include "engine/session/Presets.h"
#include "engine/session/Session.h"
#include "engine/session/Worker.h"
#include "engine/store/RunStore.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

namespace qs::cli {
int cmdReport(Args& args);  // CmdReport.cpp: HTML/PDF run reports (app/report)
int cmdExport(Args& args);  // CmdExport.cpp: quantized safetensors, encodings, ONNX
}  // namespace qs::cli

namespace {

using namespace qs;
using cli::UsageError;
namespace fs = std::filesystem;

constexpr const char* kUsage = R"(usage: quantscape-cli COMMAND [OPTIONS]

Commands:
  train   --spec FILE | --preset NAME [--set KEY=VALUE ...] [--db PATH] [--out DIR]
          [--threads N] [--nproc N]  train a run; progress on stderr, result table on stdout;
                                    --nproc N: data-parallel over N local processes (c10d)
  train   --resume RUN_ID [--db PATH] [--threads N]
                                    continue an interrupted, failed or cancelled run from its
                                    last epoch checkpoint (with its recorded process count)
  train   (--spec FILE | --preset NAME ...) --rank 0 --world-size W --master-addr A
          --master-port P           rank 0 of a launch across hosts: records the run
  train   --rank R --world-size W --master-addr A --master-port P [--threads N]
          [--connect-timeout S]     rank R > 0: takes the run from rank 0, records nothing
  demo    [--db PATH] [--out DIR] [--threads N]
                                    the headless demo: ResNet-20 float on Fashion-MNIST (3
                                    epochs), then LSQ W4A4 from that checkpoint (2 epochs)
  sharpness --run RUN_ID | --checkpoint FILE [--db PATH] [--measure rho-ball|epsilon|both]
          [--mode float|dequantized|quantize-after|auto] [--rho R] [--steps K] [--eps E]
          [--eps-steps K] [--samples N] [--batch-size B] [--seed S] [--data DIR] [--threads N]
          [--json]                  rho-ball and epsilon sharpness of a stored checkpoint
                                    (ALGORITHMS.md section 6); recorded in the store, with a
                                    run's figures also among its final metrics
  hessian --run RUN_ID | --checkpoint FILE [--db PATH] [--mode float|dequantized|quantize-after|
          auto] [--samples N] [--batch-size B] [--top-k K] [--trace-samples N] [--bits 2,3,4,8]
          [--seed S] [--data DIR] [--threads N] [--json]
                                    top Hessian eigenvalues, Hutchinson traces per layer and
                                    sensitivities Omega(b) (ALGORITHMS.md section 5); recorded
                                    in the store
  allocate --run RUN_ID | --checkpoint FILE [--db PATH] (--budget-mb X | --budget-ratio R |
          --avg-bits B) [--bitops-budget G] [--bits 2,3,4,8] [--frontier] [--spec-out FILE]
          [--json]                  mixed-precision weight bits from the newest stored Hessian
                                    report (computed when none); --spec-out writes a spec for
                                    train --spec
  landscape --run RUN_ID | --checkpoint FILE [--db PATH] [--directions random|hessian|
          interpolation] [--other FILE | --other-run RUN_ID] [--grid NX[xNY]] [--range A:B[,C:D]]
          [--mode float|dequantized|quantize-after|auto] [--samples N] [--split train|test]
          [--seed S] [--batch-size B] [--data DIR] [--threads N] [--parallel auto|points|
          intra-op] [--vtp FILE] [--json]
                                    loss landscape f(a, b) = L(w + a dx + b dy) on a grid
                                    (ALGORITHMS.md section 7), coarse to fine; recorded in the
                                    store as it goes; --vtp writes it for ParaView
  landscape --resume LANDSCAPE_ID [--db PATH] [--threads N] [--parallel ...] [--vtp FILE]
          [--json]                  compute the pending points of an unfinished landscape
  landscape --list [--run RUN_ID] [--db PATH] [--json]
                                    stored landscapes
  export  --run RUN_ID | --checkpoint FILE --format safetensors|encodings|onnx --out FILE
          [--db PATH]               the quantized model: integer codes (packed below 5 bits)
                                    with step sizes, an AIMET-style encodings JSON, or ONNX with
                                    QuantizeLinear/DequantizeLinear pairs; a run's export is
                                    recorded in the store with its SHA-256
  report  --run RUN_ID [--run RUN_ID ...] --out FILE.html|FILE.pdf [--db PATH]
                                    a run report (spec, metrics, layers, curves, landscapes,
                                    checksums), or with two or more runs a comparison; HTML is
                                    self-contained, PDF is A4
  presets [--show NAME]             list the built-in presets, or print one as a spec file
  runs list [--json] [--db PATH]    every run in the store, newest first
  runs show RUN_ID [--json] [--db PATH]
                                    one run: spec, status, final metrics, last layer states
  --version, --help

Defaults: --db $XDG_DATA_HOME/quantscape/runs.sqlite, --out $XDG_DATA_HOME/quantscape/checkpoints
(XDG_DATA_HOME defaults to ~/.local/share). --threads 0 means all cores.
Exit codes: 0 done, 1 the run failed or was cancelled, 2 bad usage or spec, 3 bad data, file
or store.
)";

void onSignal(int) {
    cli::interrupted() = true;
}

struct TrainOptions {
    std::string dbPath = cli::defaultDbPath();
    std::string outDir = cli::defaultOutDir();
    int threads = -1;  // -1: as the spec says
};

std::string readTextFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw UsageError("cannot read spec file " + path);
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

/// Runs one job to its end; Ctrl-C cancels it cleanly (the run is kept, marked cancelled).
session::Finished runJob(const std::function<void(session::Session&)>& launch) {
    session::Session session;
    cli::ProgressPrinter printer;
    session::Subscription sub = session.subscribe(&printer);
    launch(session);
    bool cancelSent = false;
    while (session.isRunning()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (cli::interrupted() && !cancelSent) {
            printer.finishLine();
            std::cerr << "interrupted: cancelling after the current step...\n";
            session.cancel();
            cancelSent = true;
        }
    }
    session::Finished finished = session.wait();
    printer.finishLine();
    return finished;
}

std::string bitsText(const session::RunSpec& spec) {
    if (!spec.isQuantized()) {
        return "float";
    }
    return "W" + std::to_string(spec.quant.weightBits) + "A" + std::to_string(spec.quant.actBits);
}

std::string metric(const std::map<std::string, double>& m, const char* key, bool percent,
                   int decimals = 3) {
    auto it = m.find(key);
    if (it == m.end()) {
        return "-";
    }
    return percent ? cli::formatPercent(it->second) : cli::formatFixed(it->second, decimals);
}

std::vector<std::string> resultRow(int64_t runId, const session::RunSpec& spec,
                                   const session::Finished& f) {
    return {std::to_string(runId),
            spec.name,
            spec.method.name,
            bitsText(spec),
            f.status,
            metric(f.finalMetrics, "eval/acc", true),
            metric(f.finalMetrics, "eval/best_acc", true),
            metric(f.finalMetrics, "eval/loss", false),
            metric(f.finalMetrics, "time/step_ms", false, 1),
            metric(f.finalMetrics, "time/total_s", false, 0)};
}

const std::vector<std::string> kResultHeader = {"run",     "name",     "method",   "bits",
                                                "status",  "eval acc", "best acc", "eval loss",
                                                "step ms", "total s"};

int reportEnd(const session::Finished& f) {
    if (f.status == "failed") {
        return 1;  // the error itself reached stderr through the progress printer's log
    }
    if (f.status == "cancelled") {
        std::cerr << "cancelled: resume with `quantscape-cli train --resume " << f.runId << "`\n";
        return 1;
    }
    if (!f.checkpoint.empty()) {
        std::cerr << "checkpoint: " << f.checkpoint << "\n";
    }
    return 0;
}

int cmdTrain(cli::Args& args) {
    TrainOptions opts;
    std::string specFile, presetName;
    std::vector<std::string> sets;
    long long resumeId = 0;
    // Data-parallel: --nproc N local processes, or one rank of a launch across hosts.
    long long nproc = 0, rank = -1, worldSize = 0;
    session::DistributedLaunch launch;
    bool portGiven = false;
    double connectTimeout = 60.0;
    while (!args.done()) {
        const std::string a = args.next();
        if (a == "--nproc") {
            nproc = args.integer(a);
        } else if (a == "--rank") {
            rank = args.integer(a);
        } else if (a == "--world-size") {
            worldSize = args.integer(a);
        } else if (a == "--master-addr") {
            launch.masterAddr = args.value(a);
        } else if (a == "--master-port") {
            launch.masterPort = int(args.integer(a));
            portGiven = true;
        } else if (a == "--connect-timeout") {
            connectTimeout = double(args.integer(a));
        } else if (a == "--spec") {
            specFile = args.value(a);
        } else if (a == "--preset") {
            presetName = args.value(a);
        } else if (a == "--set") {
            sets.push_back(args.value(a));
        } else if (a == "--db") {
            opts.dbPath = args.value(a);
        } else if (a == "--out") {
            opts.outDir = args.value(a);
        } else if (a == "--threads") {
            opts.threads = int(args.integer(a));
        } else if (a == "--resume") {
            resumeId = args.integer(a);
        } else {
            throw UsageError("train: unknown option " + a);
        }
    }
    if (nproc != 0 && (nproc < 1 || nproc > 1024)) {
        throw UsageError("train: --nproc must be in [1, 1024]");
    }
    if (rank >= 0 || worldSize > 0) {
        if (nproc != 0) {
            throw UsageError(
                "train: --nproc starts local processes; --rank/--world-size are "
                "for a launch across hosts: use one or the other");
        }
        if (rank < 0 || worldSize < 1 || rank >= worldSize || !portGiven) {
            throw UsageError(
                "train: a launch across hosts needs --rank R --world-size W "
                "--master-addr A --master-port P with 0 <= R < W");
        }
        if (launch.masterPort < 1 || launch.masterPort > 65535) {
            throw UsageError("train: --master-port must be in [1, 65535]");
        }
    }
    if (rank > 0) {
        // A worker: the spec, the data recipe and the run store all stay with rank 0.
        if (!specFile.empty() || !presetName.empty() || !sets.empty() || resumeId > 0) {
            throw UsageError(
                "train --rank R (R > 0) takes the run from rank 0: drop --spec, "
                "--preset, --set and --resume");
        }
        session::WorkerOptions w;
        w.rank = int(rank);
        w.worldSize = int(worldSize);
        w.masterAddr = launch.masterAddr;
        w.masterPort = launch.masterPort;
        w.threads = opts.threads >= 0 ? opts.threads : 0;
        w.connectTimeoutS = connectTimeout;
        const session::Finished f = session::runWorker(w, [&](const session::LogLine& line) {
            std::cerr << "[rank " << rank << "] " << line.text << "\n";
        });
        if (f.status != "finished" && f.status != "cancelled") {
            std::cerr << "error: " << f.error << "\n";
            return 1;
        }
        return 0;
    }
    launch.startLocalWorkers = rank < 0;
    if (resumeId > 0) {
        if (!specFile.empty() || !presetName.empty() || !sets.empty()) {
            throw UsageError(
                "train --resume takes the spec recorded with the run; drop --spec, "
                "--preset and --set");
        }
        session::SessionOptions so{opts.dbPath, opts.outDir};
        so.threads = opts.threads;
        so.distributed = launch;
        const auto record = store::RunStore::open(opts.dbPath)->run(resumeId);
        session::Finished f = runJob([&](session::Session& s) { s.resumeRun(resumeId, so); });
        const session::RunSpec spec = session::RunSpec::fromJson(record ? record->specJson : "{}");
        std::cout << cli::formatTable(kResultHeader, {resultRow(resumeId, spec, f)});
        return reportEnd(f);
    }
    if (specFile.empty() == presetName.empty()) {
        throw UsageError("train needs exactly one of --spec FILE or --preset NAME");
    }
    session::RunSpec spec = specFile.empty() ? session::preset(presetName)
                                             : session::RunSpec::fromJson(readTextFile(specFile));
    if (opts.threads >= 0) {
        sets.push_back("threads=" + std::to_string(opts.threads));
    }
    if (nproc > 0 || worldSize > 0) {
        sets.push_back("distributed.processes=" + std::to_string(nproc > 0 ? nproc : worldSize));
    }
    spec = session::applyOverrides(spec, sets);
    if (spec.isQuantized() && spec.initCheckpoint.empty()) {
        std::cerr << "note: no init_checkpoint: the quantized model trains from random "
                     "initialisation (LSQ is meant to fine-tune a float checkpoint)\n";
    }
    fs::create_directories(fs::path(opts.dbPath).parent_path().empty()
                               ? fs::path(".")
                               : fs::path(opts.dbPath).parent_path());
    int64_t runId = 0;
    session::Finished f = runJob([&](session::Session& s) {
        session::SessionOptions so{opts.dbPath, opts.outDir};
        so.distributed = launch;
        runId = s.start(spec, so);
        std::cerr << "run " << runId << " (" << spec.name << ") recorded in " << opts.dbPath
                  << "\n";
    });
    std::cout << cli::formatTable(kResultHeader, {resultRow(runId, spec, f)});
    return reportEnd(f);
}

int cmdDemo(cli::Args& args) {
    TrainOptions opts;
    while (!args.done()) {
        const std::string a = args.next();
        if (a == "--db") {
            opts.dbPath = args.value(a);
        } else if (a == "--out") {
            opts.outDir = args.value(a);
        } else if (a == "--threads") {
            opts.threads = int(args.integer(a));
        } else {
            throw UsageError("demo: unknown option " + a);
        }
    }
    fs::create_directories(fs::path(opts.dbPath).parent_path());
    std::vector<std::string> threadSet;
    if (opts.threads >= 0) {
        threadSet.push_back("threads=" + std::to_string(opts.threads));
    }
    std::vector<std::vector<std::string>> rows;
    std::string floatCheckpoint;
    for (const char* stage : {"demo-float", "demo-lsq-w4a4"}) {
        std::vector<std::string> sets = threadSet;
        if (!floatCheckpoint.empty()) {
            sets.push_back("init_checkpoint=" + floatCheckpoint);
        }
        const session::RunSpec spec = session::applyOverrides(session::preset(stage), sets);
        std::cerr << "== " << stage << ": " << spec.model.arch << " " << bitsText(spec) << " on "
                  << spec.data.dataset << ", " << spec.optim.epochs << " epoch(s)\n";
        int64_t runId = 0;
        session::Finished f = runJob([&](session::Session& s) {
            runId = s.start(spec, {opts.dbPath, opts.outDir});
        });
        rows.push_back(resultRow(runId, spec, f));
        if (f.status != "finished") {
            std::cout << cli::formatTable(kResultHeader, rows);
            return reportEnd(f);
        }
        floatCheckpoint = f.checkpoint;
    }
    std::cout << cli::formatTable(kResultHeader, rows);
    std::cout << "runs recorded in " << opts.dbPath << "\n";
    return 0;
}

int cmdSharpness(cli::Args& args) {
    std::string dbPath = cli::defaultDbPath();
    std::string checkpoint;
    int64_t runId = 0;
    bool asJson = false;
    analysis::SharpnessOptions o;
    while (!args.done()) {
        const std::string a = args.next();
        if (a == "--run") {
            runId = args.integer(a);
        } else if (a == "--checkpoint") {
            checkpoint = args.value(a);
        } else if (a == "--db") {
            dbPath = args.value(a);
        } else if (a == "--measure") {
            const std::string m = args.value(a);
            if (m != "rho-ball" && m != "epsilon" && m != "both") {
                throw UsageError("--measure: rho-ball, epsilon or both (got " + m + ")");
            }
            o.measures = m == "both" ? std::vector<std::string>{"rho-ball", "epsilon"}
                                     : std::vector<std::string>{m};
        } else if (a == "--mode") {
            const std::string m = args.value(a);
            if (m != "float" && m != "dequantized" && m != "quantize-after" && m != "auto") {
                throw UsageError("--mode: float, dequantized, quantize-after or auto (got " + m +
                                 ")");
            }
            o.modes = m == "auto" ? std::vector<std::string>{} : std::vector<std::string>{m};
        } else if (a == "--rho") {
            o.rho = args.real(a);
        } else if (a == "--steps") {
            o.rhoSteps = int(args.integer(a));
        } else if (a == "--eps") {
            o.eps = args.real(a);
        } else if (a == "--eps-steps") {
            o.epsSteps = int(args.integer(a));
        } else if (a == "--samples") {
            o.samples = args.integer(a);
        } else if (a == "--batch-size") {
            o.batchSize = int(args.integer(a));
        } else if (a == "--seed") {
            o.seed = uint64_t(args.integer(a));
        } else if (a == "--data") {
            o.dataPath = args.value(a);
        } else if (a == "--threads") {
            o.threads = int(args.integer(a));
        } else if (a == "--json") {
            asJson = true;
        } else {
            throw UsageError("sharpness: unknown option " + a);
        }
    }
    if ((runId > 0) == !checkpoint.empty()) {
        throw UsageError("sharpness: give exactly one of --run RUN_ID and --checkpoint FILE");
    }
    if (!(o.rho > 0.0) || !(o.eps > 0.0) || o.rhoSteps < 1 || o.epsSteps < 1 || o.samples < 1 ||
        o.batchSize < 1 || o.threads < 0) {
        throw UsageError(
            "sharpness: --rho, --eps, --steps, --eps-steps, --samples and "
            "--batch-size must be positive, --threads >= 0");
    }
    std::unique_ptr<store::RunStore> store;
    if (runId > 0) {
        store = store::RunStore::open(dbPath);
        checkpoint = analysis::runCheckpoint(*store, runId);
    } else if (!fs::exists(dbPath)) {
        // A loose checkpoint is still recorded when a store exists; none is created for it.
    } else {
        store = store::RunStore::open(dbPath);
    }
    std::atomic<bool> cancel{false};
    std::string lastLine;
    const auto report = analysis::measureSharpness(
        checkpoint, o,
        [&](const std::string& phase, double fraction) {
            cancel = cli::interrupted().load();
            std::ostringstream line;
            line << "\r" << phase << ": " << int(fraction * 100.0 + 0.5) << "%   ";
            if (line.str() != lastLine) {
                std::cerr << line.str() << std::flush;
                lastLine = line.str();
            }
        },
        &cancel);
    std::cerr << "\n";
    if (store) {
        analysis::recordSharpness(*store, runId, report);
    }
    if (asJson) {
        nlohmann::json out = {{"checkpoint", report.checkpoint},
                              {"step", report.step},
                              {"method", report.method},
                              {"figures", nlohmann::json::array()}};
        for (const auto& f : report.figures) {
            out["figures"].push_back({{"measure", f.measure},
                                      {"mode", f.mode},
                                      {"radius", f.radius},
                                      {"value", f.value},
                                      {"base_loss", f.baseLoss},
                                      {"perturbed_loss", f.perturbedLoss},
                                      {"ascent_steps", f.ascentSteps},
                                      {"samples", f.samples},
                                      {"seed", f.seed}});
        }
        std::cout << out.dump(2) << "\n";
        return 0;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& f : report.figures) {
        rows.push_back({f.measure, f.mode, cli::formatFixed(f.radius, 4),
                        cli::formatFixed(f.value, 5), cli::formatFixed(f.baseLoss, 5),
                        cli::formatFixed(f.perturbedLoss, 5), std::to_string(f.samples)});
    }
    std::cout << "checkpoint " << report.checkpoint << " (" << report.method << ", step "
              << report.step << ")\n"
              << cli::formatTable(
                     {"measure", "mode", "radius", "sharpness", "loss", "perturbed", "samples"},
                     rows);
    return 0;
}

int cmdPresets(cli::Args& args) {
    if (!args.done()) {
        const std::string a = args.next();
        if (a != "--show") {
            throw UsageError("presets: unknown option " + a);
        }
        std::cout << session::preset(args.value(a)).toJson() << "\n";
        return 0;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& p : session::presets()) {
        rows.push_back({p.name, p.description});
    }
    std::cout << cli::formatTable({"preset", "description"}, rows);
    return 0;
}

nlohmann::json runJson(const store::RunRecord& r) {
    nlohmann::json j{{"id", r.id},
                     {"name", r.name},
                     {"status", r.status},
                     {"created", r.createdAt},
                     {"updated", r.updatedAt},
                     {"finished", r.finishedAt},
                     {"host", r.host},
                     {"checkpoint_dir", r.checkpointDir},
                     {"error", r.error},
                     {"final_metrics", r.finalMetrics}};
    try {
        const auto spec = session::RunSpec::fromJson(r.specJson);
        j["method"] = spec.method.name;
        j["bits"] = bitsText(spec);
        j["spec"] = nlohmann::json::parse(spec.toJson());
    } catch (const session::SpecError& e) {
        j["spec_error"] = e.what();  // a spec from a newer version: show the run anyway
    }
    return j;
}

int cmdRuns(cli::Args& args) {
    if (args.done()) {
        throw UsageError("runs needs a subcommand: list or show RUN_ID");
    }
    const std::string sub = args.next();
    std::string dbPath = cli::defaultDbPath();
    bool json = false;
    long long runId = 0;
    if (sub == "show") {
        runId = args.integer("runs show");
    } else if (sub != "list") {
        throw UsageError("runs: unknown subcommand " + sub);
    }
    while (!args.done()) {
        const std::string a = args.next();
        if (a == "--json") {
            json = true;
        } else if (a == "--db") {
            dbPath = args.value(a);
        } else {
            throw UsageError("runs " + sub + ": unknown option " + a);
        }
    }
    if (!fs::exists(dbPath)) {
        throw store::StoreError(dbPath + ": no run store here yet (train a run first)");
    }
    auto store = store::RunStore::open(dbPath);
    if (sub == "list") {
        const auto runs = store->listRuns();
        if (json) {
            nlohmann::json arr = nlohmann::json::array();
            for (const auto& r : runs) {
                arr.push_back(runJson(r));
            }
            std::cout << arr.dump(2) << "\n";
            return 0;
        }
        std::vector<std::vector<std::string>> rows;
        for (const auto& r : runs) {
            const nlohmann::json j = runJson(r);
            rows.push_back({std::to_string(r.id), r.name, r.status, j.value("method", "?"),
                            j.value("bits", "?"), metric(r.finalMetrics, "eval/acc", true),
                            metric(r.finalMetrics, "eval/best_acc", true), r.createdAt});
        }
        std::cout << cli::formatTable(
            {"id", "name", "status", "method", "bits", "eval acc", "best acc", "created"}, rows);
        return 0;
    }
    const auto r = store->run(runId);
    if (!r) {
        throw UsageError("no run with id " + std::to_string(runId) + " in " + dbPath);
    }
    nlohmann::json j = runJson(*r);
    const int64_t lastStep = store->lastLayerStateStep(runId);
    nlohmann::json layers = nlohmann::json::array();
    std::vector<std::vector<std::string>> rows;
    for (const auto& l : store->layerStates(runId, lastStep)) {
        layers.push_back({{"layer", l.layer},
                          {"weight_bits", l.weightBits},
                          {"act_bits", l.actBits},
                          {"weight_steps", l.weightSteps},
                          {"act_step", l.actStep},
                          {"weight_error", l.weightError},
                          {"act_error", l.actError},
                          {"weight_clip_rate", l.weightClipRate},
                          {"act_clip_rate", l.actClipRate}});
        const double ws = l.weightSteps.empty() ? 0.0 : l.weightSteps.front();
        rows.push_back({l.layer, l.weightBits ? std::to_string(l.weightBits) : "fp",
                        l.actBits ? std::to_string(l.actBits) : "fp", cli::formatFixed(ws, 5),
                        cli::formatFixed(l.actStep, 5), cli::formatFixed(l.weightError, 7),
                        cli::formatPercent(l.weightClipRate)});
    }
    j["layer_states_step"] = lastStep;
    j["layer_states"] = layers;
    if (json) {
        std::cout << j.dump(2) << "\n";
        return 0;
    }
    std::cout << "run " << r->id << ": " << r->name << " (" << r->status << ")\n"
              << "created " << r->createdAt << " on " << r->host << ", finished "
              << (r->finishedAt.empty() ? "-" : r->finishedAt) << "\n"
              << "method " << j.value("method", "?") << ", bits " << j.value("bits", "?") << "\n";
    if (!r->error.empty()) {
        std::cout << "error: " << r->error << "\n";
    }
    for (const auto& [k, v] : r->finalMetrics) {
        std::cout << "  " << k << " = " << v << "\n";
    }
    if (!rows.empty()) {
        std::cout << "\nlayer states at step " << lastStep << ":\n"
                  << cli::formatTable(
                         {"layer", "W bits", "A bits", "W step", "A step", "W mse", "W clip"},
                         rows);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::signal(SIGINT, onSignal);
    std::signal(SIGTERM, onSignal);
    if (argc < 2) {
        std::cerr << kUsage;
        return 2;
    }
    const std::string command = argv[1];
    try {
        cli::Args args(argc, argv, 2);
        if (command == "train") {
            return cmdTrain(args);
        }
        if (command == "demo") {
            return cmdDemo(args);
        }
        if (command == "sharpness") {
            return cmdSharpness(args);
        }
        if (command == "landscape") {
            return cli::cmdLandscape(args);
        }
        if (command == "hessian") {
            return cli::cmdHessian(args);
        }
        if (command == "allocate") {
            return cli::cmdAllocate(args);
        }
        if (command == "export") {
            return cli::cmdExport(args);
        }
        if (command == "report") {
            return cli::cmdReport(args);
        }
        if (command == "presets") {
            return cmdPresets(args);
        }
        if (command == "runs") {
            return cmdRuns(args);
        }
        if (command == "--version") {
            std::cout << "quantscape-cli " << QS_VERSION << "\n";
            return 0;
        }
        if (command == "--help" || command == "-h" || command == "help") {
            std::cout << kUsage;
            return 0;
        }
        throw UsageError("unknown command " + command);
    } catch (const UsageError& e) {
        std::cerr << "quantscape-cli: " << e.what() << "\n(see quantscape-cli --help)\n";
        return 2;
    } catch (const session::SpecError& e) {
        std::cerr << "quantscape-cli: invalid spec: " << e.what() << "\n";
        return 2;
    } catch (const store::StoreError& e) {
        std::cerr << "quantscape-cli: run store: " << e.what() << "\n";
        return 3;
    } catch (const data::DataError& e) {
        std::cerr << "quantscape-cli: data: " << e.what() << "\n";
        return 3;
    } catch (const io::FormatError& e) {
        std::cerr << "quantscape-cli: " << e.what() << "\n";
        return 3;
    } catch (const analysis::AnalysisCancelled& e) {
        std::cerr << "quantscape-cli: " << e.what() << "\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "quantscape-cli: " << e.what() << "\n";
        return 3;
    }
}
