// quantscape-cli report: a run report, or a comparison of several runs, as self-contained HTML
// or A4 PDF (app/report). Reads only the run store; no torch runs here.
#include "app/cli/CliSupport.h"
#include "app/report/Report.h"
#include "engine/store/RunStore.h"

#include <filesystem>
#include <iostream>
#include <stdexcept>

namespace qs::cli {

int cmdReport(Args& args) {
    report::ReportOptions options;
    options.dbPath = defaultDbPath();
    while (!args.done()) {
        const std::string a = args.next();
        if (a == "--run") {
            const long long id = args.integer(a);
            if (id < 1) {
                throw UsageError("report: --run takes a run id >= 1 (got " + std::to_string(id) +
                                 ")");
            }
            options.runs.push_back(id);
        } else if (a == "--out") {
            options.outPath = args.value(a);
        } else if (a == "--db") {
            options.dbPath = args.value(a);
        } else {
            throw UsageError("report: unknown option " + a);
        }
    }
    if (options.runs.empty()) {
        throw UsageError("report needs --run RUN_ID (twice or more for a comparison)");
    }
    std::string ext = std::filesystem::path(options.outPath).extension().string();
    for (char& c : ext) {
        c = char(std::tolower(static_cast<unsigned char>(c)));
    }
    if (ext != ".html" && ext != ".htm" && ext != ".pdf") {
        throw UsageError("report: --out must name a .html or .pdf file (got " +
                         (options.outPath.empty() ? std::string("none") : options.outPath) + ")");
    }
    if (!std::filesystem::exists(options.dbPath)) {
        throw store::StoreError(options.dbPath + ": no run store here yet (train a run first)");
    }
    {
        // Unknown runs are reported here, before any drawing starts, like the analysis
        // commands do (exit code 3).
        const auto store = store::RunStore::open(options.dbPath);
        for (int64_t id : options.runs) {
            if (!store->run(id)) {
                throw std::runtime_error("no run with id " + std::to_string(id) + " in " +
                                         options.dbPath);
            }
        }
    }
    const report::ReportSummary s = report::writeReport(options);
    std::cout << "report written: " << s.path << " (" << s.bytes << " bytes, " << s.images
              << " images";
    if (s.pages > 0) {
        std::cout << ", " << s.pages << " pages";
    }
    std::cout << ")\n";
    return 0;
}

}  // namespace qs::cli
