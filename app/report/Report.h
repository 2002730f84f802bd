// Run reports a colleague can read without the app: one run, or a comparison of several, as a
// self-contained HTML file (images embedded as base64 PNG) or an A4 PDF with page numbers.
// Everything comes from the run store (engine/store/RunStore.h). Qt-free header: the CLI, which
// also sees torch headers elsewhere, includes only this (STACK.md trap 1); the implementation
// uses Qt Gui and no torch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qs::report {

struct ReportOptions {
    std::vector<int64_t> runs;  ///< one run: a run report; two or more: a comparison report
    std::string dbPath;         ///< the run store
    std::string outPath;        ///< *.html (self-contained, images embedded as base64 PNG) or *.pdf
};

struct ReportSummary {
    std::string path;   ///< the file written (outPath)
    int64_t bytes = 0;  ///< its size
    int images = 0;     ///< charts and landscape renders embedded
    int pages = 0;      ///< PDF: A4 pages; HTML: 0
};

/// Writes the report. Works without a display and without a QApplication: when
/// QCoreApplication::instance() is null it creates a QGuiApplication for the call (platform
/// "offscreen" when none is set and there is no DISPLAY or WAYLAND_DISPLAY), and destroys it
/// before returning. Throws std::runtime_error naming the problem: no run given, an unknown run,
/// a missing store, an unwritable file, an extension other than .html or .pdf.
/// Example:
///   qs::report::ReportOptions o;
///   o.runs = {3};
///   o.dbPath = "/tmp/runs.sqlite";
///   o.outPath = "/tmp/run-3.pdf";
///   qs::report::ReportSummary s = qs::report::writeReport(o);  // s.pages >= 2
ReportSummary writeReport(const ReportOptions& options);

}  // namespace qs::report
