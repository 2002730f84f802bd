// Run reports: everything is read from the run store, laid out once as HTML (the subset that
// both browsers and QTextDocument render), then written either with the figures inlined as
// base64 PNG, or paginated onto A4 with QPdfWriter.
#include "app/report/Report.h"

#include "app/report/ReportCharts.h"
#include "engine/store/RunStore.h"

#include <nlohmann/json.hpp>

#include <QAbstractTextDocumentLayout>
#include <QBuffer>
#include <QByteArray>
#include <QCryptographicHash>
#include <QDateTime>
#include <QFile>
#include <QFont>
#include <QFontMetricsF>
#include <QGuiApplication>
#include <QImage>
#include <QPageSize>
#include <QPainter>
#include <QPdfWriter>
#include <QSysInfo>
#include <QTextDocument>
#include <QTextFrame>
#include <QUrl>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>

namespace qs::report {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

// ---------------------------------------------------------------------------------------------
// The Qt application a report needs.

/// A QGuiApplication for the duration of one report when the process has no Qt application (the
/// CLI): fonts, QImage text and QPdfWriter need the GUI side of Qt, not a display.
class GuiAppScope {
public:
    GuiAppScope() {
        QCoreApplication* existing = QCoreApplication::instance();
        if (existing) {
            if (!qobject_cast<QGuiApplication*>(existing)) {
                // Drawing text needs the font database of a QGuiApplication; a plain
                // QCoreApplication cannot be upgraded, so say what the caller must do.
                throw std::runtime_error(
                    "report: the process has a QCoreApplication; a report needs a "
                    "QGuiApplication (or no Qt application at all)");
            }
            return;
        }
        const bool headless = qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM") &&
                              qEnvironmentVariableIsEmpty("DISPLAY") &&
                              qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY");
        m_argv = {m_name.data(), m_platform.data(), m_offscreen.data(), nullptr};
        m_argc = headless ? 3 : 1;
        m_app = std::make_unique<QGuiApplication>(m_argc, m_argv.data());
    }

private:
    // QGuiApplication keeps references to argc and argv: they live as long as it does.
    std::string m_name = "quantscape-report";
    std::string m_platform = "-platform";
    std::string m_offscreen = "offscreen";
    std::vector<char*> m_argv;
    int m_argc = 0;
    std::unique_ptr<QGuiApplication> m_app;
};

// ---------------------------------------------------------------------------------------------
// Formatting.

QString q(const std::string& s) {
    return QString::fromStdString(s);
}

QString esc(const QString& s) {
    return s.toHtmlEscaped();
}

/// Five significant digits: step sizes, errors, losses.
QString num(double v, int significant = 5) {
    if (!std::isfinite(v)) {
        return QStringLiteral("-");
    }
    return QString::number(v, 'g', significant);
}

QString percent(double fraction) {
    if (!std::isfinite(fraction)) {
        return QStringLiteral("-");
    }
    return QString::number(fraction * 100.0, 'f', 2) + QLatin1Char('%');
}

bool isAccuracyKey(const std::string& key) {
    const std::string last = key.substr(key.find_last_of('/') + 1);
    return last == "acc" || last == "best_acc" || last.rfind("acc_", 0) == 0 ||
           last.find("_acc") != std::string::npos;
}

/// Accuracies as percent with two decimals ("81.25%"), everything else with six digits.
QString metricText(const std::string& key, double v) {
    return isAccuracyKey(key) ? percent(v) : num(v, 6);
}

QString bitsText(int bits) {
    return bits > 0 ? QString::number(bits) : QStringLiteral("fp");
}

/// A spec value as text: strings bare, everything else as compact JSON.
std::string valueText(const json& v) {
    return v.is_string() ? v.get<std::string>() : v.dump();
}

/// A spec field by JSON pointer ("/method/name"); `fallback` when absent.
std::string specField(const json& spec, const char* pointer, const std::string& fallback = {}) {
    if (!spec.is_object()) {
        return fallback;
    }
    const json::json_pointer ptr(pointer);
    return spec.contains(ptr) ? valueText(spec.at(ptr)) : fallback;
}

/// Leaves of a JSON object by dotted path ("quant.layers.conv1.weight_bits" -> "8").
void flatten(const json& value, const std::string& prefix,
             std::vector<std::pair<std::string, std::string>>& out) {
    if (value.is_object() && !value.empty()) {
        for (auto it = value.begin(); it != value.end(); ++it) {
            flatten(it.value(), prefix.empty() ? it.key() : prefix + "." + it.key(), out);
        }
        return;
    }
    out.emplace_back(prefix, valueText(value));
}

/// SHA-256 of a file as 64 lowercase hex digits, streamed; empty when it cannot be read.
std::string fileSha256(const std::string& path) {
    QFile file(q(path));
    QCryptographicHash hash(QCryptographicHash::Sha256);
    if (!file.open(QIODevice::ReadOnly) || !hash.addData(&file)) {
        return {};
    }
    return hash.result().toHex().toStdString();
}

std::string currentUtc() {
    return QDateTime::currentDateTimeUtc().toString(Qt::ISODate).toStdString();
}

/// Whether `file` lies inside folder `dir` (both made absolute and normalised lexically, so
/// "out/run-1/../run-1/last.safetensors" is inside "out/run-1").
bool isInside(const std::string& file, const std::string& dir) {
    if (file.empty() || dir.empty()) {
        return false;
    }
    std::error_code ec;
    std::string f = fs::absolute(file, ec).lexically_normal().string();
    std::string d = fs::absolute(dir, ec).lexically_normal().string();
    while (d.size() > 1 && d.back() == '/') {
        d.pop_back();
    }
    return f.size() > d.size() && f.compare(0, d.size(), d) == 0 && f[d.size()] == '/';
}

// ---------------------------------------------------------------------------------------------
// HTML building.

struct Cell {
    Cell(QString t = {}) : text(std::move(t)) {}                     // NOLINT: implicit on purpose
    Cell(const char* t) : text(QString::fromUtf8(t)) {}              // NOLINT
    Cell(const std::string& t) : text(QString::fromStdString(t)) {}  // NOLINT
    Cell(QString t, bool h) : text(std::move(t)), highlight(h) {}
    QString text;            ///< plain text, escaped when written
    bool highlight = false;  ///< differs between the compared runs
};

using Row = std::vector<Cell>;

/// The report under construction: an HTML body and the images it refers to by name.
class Doc {
public:
    void h1(const QString& text) { m_html += QStringLiteral("<h1>%1</h1>\n").arg(esc(text)); }
    void h2(const QString& text) { m_html += QStringLiteral("<h2>%1</h2>\n").arg(esc(text)); }
    void h3(const QString& text) { m_html += QStringLiteral("<h3>%1</h3>\n").arg(esc(text)); }
    void p(const QString& text) { m_html += QStringLiteral("<p>%1</p>\n").arg(esc(text)); }
    void pre(const QString& text) { m_html += QStringLiteral("<pre>%1</pre>\n").arg(esc(text)); }

    void table(const Row& header, const std::vector<Row>& rows) {
        // Wide tables (the layer table) take the whole text width so their columns wrap less.
        QString t = QStringLiteral(
                        "<table border=\"1\" cellspacing=\"0\" cellpadding=\"3\" "
                        "class=\"data\"%1>\n<tr>")
                        .arg(header.size() > 5 ? QStringLiteral(" width=\"100%\"") : QString());
        for (const Cell& c : header) {
            t += QStringLiteral("<th>%1</th>").arg(esc(c.text));
        }
        t += QStringLiteral("</tr>\n");
        for (const Row& row : rows) {
            t += QStringLiteral("<tr>");
            for (const Cell& c : row) {
                t += c.highlight ? QStringLiteral("<td class=\"diff\" bgcolor=\"#ffe98a\">%1</td>")
                                 : QStringLiteral("<td>%1</td>");
                t = t.arg(esc(c.text));
            }
            t += QStringLiteral("</tr>\n");
        }
        m_html += t + QStringLiteral("</table>\n");
    }

    /// Adds a figure with a caption; a null image becomes the caption's "no data" text instead.
    void image(const QImage& image, const QString& caption, const QString& emptyText) {
        if (image.isNull()) {
            p(emptyText);
            return;
        }
        const QString name = QStringLiteral("image-%1.png").arg(m_images.size());
        m_images.push_back(image);
        // The width attribute keeps figures inside an A4 text column in the PDF; browsers also
        // honour the CSS max-width.
        m_html += QStringLiteral(
                      "<p class=\"figure\"><img src=\"%1\" width=\"%2\" alt=\"%3\"><br>"
                      "<i>%3</i></p>\n")
                      .arg(name)
                      .arg(std::min(image.width(), 620))
                      .arg(esc(caption));
    }

    const QString& html() const { return m_html; }
    const std::vector<QImage>& images() const { return m_images; }

private:
    QString m_html;
    std::vector<QImage> m_images;
};

// ---------------------------------------------------------------------------------------------
// What the store holds about a run.

struct RunData {
    store::RunRecord record;
    json spec;  ///< null when the stored spec is not JSON
    std::vector<store::MetricRow> metrics;
    int64_t layerStep = -1;
    std::vector<store::LayerStateRow> layers;  ///< at layerStep
    std::vector<store::SharpnessRow> sharpness;
    std::vector<store::LandscapeRow> landscapes;
    std::vector<store::HessianRow> hessian;
    std::vector<store::ArtifactRow> artifacts;

    QString title() const {
        return QStringLiteral("run %1 (%2)").arg(record.id).arg(q(record.name));
    }
    std::string method() const { return specField(spec, "/method/name", "?"); }
    bool quantized() const { return method() != "fp"; }
    const store::HessianRow* newestHessian() const {
        return hessian.empty() ? nullptr : &hessian.back();
    }
};

RunData loadRun(const store::RunStore& store, int64_t runId) {
    RunData d;
    auto record = store.run(runId);
    if (!record) {
        throw std::runtime_error("report: no run with id " + std::to_string(runId) + " in " +
                                 store.path());
    }
    d.record = std::move(*record);
    try {
        d.spec = json::parse(d.record.specJson);
    } catch (const json::exception&) {
        d.spec = nullptr;  // shown as stored text; every section copes with a null spec
    }
    d.metrics = store.metrics(runId);
    d.layerStep = store.lastLayerStateStep(runId);
    if (d.layerStep >= 0) {
        d.layers = store.layerStates(runId, d.layerStep);
    }
    d.sharpness = store.sharpness(runId);
    d.landscapes = store.landscapes(runId);
    d.hessian = store.hessianReports(runId);
    d.artifacts = store.artifacts(runId);
    return d;
}

/// The series of one metric as chart points (step, value).
std::vector<QPointF> series(const RunData& run, const std::string& key) {
    std::vector<QPointF> points;
    for (const store::MetricRow& m : run.metrics) {
        if (m.key == key) {
            points.emplace_back(double(m.step), m.value);
        }
    }
    return points;
}

bool hasMetric(const RunData& run, const std::string& key) {
    return std::any_of(run.metrics.begin(), run.metrics.end(),
                       [&](const store::MetricRow& m) { return m.key == key; });
}

QString methodDescription(const std::string& method) {
    static const std::map<std::string, QString> names = {
        {"fp", QStringLiteral("full-precision training")},
        {"lsq", QStringLiteral("LSQ: learned step size quantization-aware training")},
        {"squat", QStringLiteral("SQuAT: sharpness- and quantization-aware training (SAM on the "
                                 "latent weights, LSQ on the step sizes)")},
        {"nt", QStringLiteral("noise tempering: LSQ with annealed quantization noise")},
        {"ptq", QStringLiteral("post-training quantization: calibration only")}};
    const auto it = names.find(method);
    return it == names.end() ? QStringLiteral("unknown method") : it->second;
}

/// The run a quantized run started from: the newest finished run of that name for a
/// "run:NAME" reference, else the run whose checkpoint folder holds the file.
std::optional<store::RunRecord> sourceRun(const std::vector<store::RunRecord>& all,
                                          const RunData& run, const std::string& init) {
    if (init.rfind("run:", 0) == 0) {
        const std::string name = init.substr(4);
        for (const store::RunRecord& r : all) {  // newest first
            if (r.name == name && r.status == store::status::kFinished && r.id != run.record.id) {
                return r;
            }
        }
        return std::nullopt;
    }
    for (const store::RunRecord& r : all) {
        if (r.id != run.record.id && isInside(init, r.checkpointDir)) {
            return r;
        }
    }
    return std::nullopt;
}

/// Final metrics side by side: keys of every run, in the first run's order of appearance.
std::vector<std::string> metricKeys(const std::vector<const std::map<std::string, double>*>& ms) {
    std::vector<std::string> keys;
    std::set<std::string> seen;
    for (const auto* m : ms) {
        for (const auto& [k, v] : *m) {
            if (seen.insert(k).second) {
                keys.push_back(k);
            }
        }
    }
    return keys;
}

// ---------------------------------------------------------------------------------------------
// The sections of a run report.

void specSection(Doc& doc, const RunData& run) {
    doc.h2(QStringLiteral("Run spec"));
    doc.pre(run.spec.is_null() ? q(run.record.specJson) : q(run.spec.dump(2)));
}

void datasetSection(Doc& doc, const RunData& run) {
    doc.h2(QStringLiteral("Dataset"));
    const json data = run.spec.is_object() ? run.spec.value("data", json::object()) : json();
    if (!data.is_object() || data.empty()) {
        doc.p(QStringLiteral("The spec names no dataset."));
        return;
    }
    doc.p(QStringLiteral("%1, model %2.")
              .arg(q(specField(run.spec, "/data/dataset", "?")),
                   q(specField(run.spec, "/model/arch", "?"))));
    std::vector<std::pair<std::string, std::string>> fields;
    flatten(data, "data", fields);
    std::vector<Row> rows;
    for (const auto& [k, v] : fields) {
        rows.push_back({k, v.empty() ? std::string("(default)") : v});
    }
    doc.table({"setting", "value"}, rows);
}

void methodSection(Doc& doc, const RunData& run) {
    doc.h2(QStringLiteral("Method"));
    const std::string method = run.method();
    doc.p(QStringLiteral("%1: %2.").arg(q(method), methodDescription(method)));
    if (!run.spec.is_object()) {
        return;
    }
    std::vector<std::pair<std::string, std::string>> fields;
    const json m = run.spec.value("method", json::object());
    // Only the settings of the method that ran: the others are defaults it never read.
    if (m.contains(method) && m[method].is_object()) {
        flatten(m[method], "method." + method, fields);
    }
    if (m.contains("distill") && m["distill"].value("enabled", false)) {
        flatten(m["distill"], "method.distill", fields);
    }
    if (run.quantized() && run.spec.contains("quant")) {
        flatten(run.spec["quant"], "quant", fields);
    }
    if (run.spec.contains("optim")) {
        flatten(run.spec["optim"], "optim", fields);
    }
    for (const char* key : {"seed", "init_checkpoint"}) {
        if (run.spec.contains(key)) {
            fields.emplace_back(key, valueText(run.spec[key]));
        }
    }
    std::vector<Row> rows;
    for (const auto& [k, v] : fields) {
        rows.push_back({k, v});
    }
    doc.table({"setting", "value"}, rows);
}

void floatVsQuantizedSection(Doc& doc, const RunData& run,
                             const std::vector<store::RunRecord>& all) {
    doc.h2(QStringLiteral("Float vs quantized"));
    const std::string init = specField(run.spec, "/init_checkpoint");
    const auto& mine = run.record.finalMetrics;
    if (run.quantized() && !init.empty()) {
        const auto source = sourceRun(all, run, init);
        if (!source) {
            doc.p(QStringLiteral("Initialized from %1, which is not in the store: no recorded "
                                 "run's checkpoint folder holds it, so there is no float "
                                 "result to compare with.")
                      .arg(q(init)));
            std::vector<Row> rows;
            for (const auto& [k, v] : mine) {
                rows.push_back({k, metricText(k, v)});
            }
            doc.table({"final metric", run.title()}, rows);
            return;
        }
        doc.p(QStringLiteral("Initialized from %1, a checkpoint of run %2 (%3, %4).")
                  .arg(q(init), QString::number(source->id), q(source->name), q(source->status)));
        std::vector<Row> rows;
        for (const std::string& k : metricKeys({&source->finalMetrics, &mine})) {
            const auto a = source->finalMetrics.find(k);
            const auto b = mine.find(k);
            const bool both = a != source->finalMetrics.end() && b != mine.end();
            QString change = QStringLiteral("-");
            if (both) {
                const double d = b->second - a->second;
                change = isAccuracyKey(k) ? QString::number(d * 100.0, 'f', 2) + " pp" : num(d);
            }
            rows.push_back({k, a == source->finalMetrics.end() ? "-" : metricText(k, a->second),
                            b == mine.end() ? "-" : metricText(k, b->second), change});
        }
        doc.table({"final metric",
                   QStringLiteral("float: run %1 (%2)").arg(source->id).arg(q(source->name)),
                   QStringLiteral("quantized: %1").arg(run.title()), "change"},
                  rows);
        return;
    }
    if (run.quantized()) {
        doc.p(
            QStringLiteral("Trained from random initialization (no init_checkpoint): there is "
                           "no float run to compare with."));
    } else {
        // A float run: the quantized runs that started from its checkpoints, if any.
        std::vector<Row> rows;
        for (const store::RunRecord& r : all) {
            std::string theirInit;
            try {
                theirInit = specField(json::parse(r.specJson), "/init_checkpoint");
            } catch (const json::exception&) {
                continue;
            }
            if (r.id != run.record.id && isInside(theirInit, run.record.checkpointDir)) {
                const auto acc = r.finalMetrics.find("eval/acc");
                rows.push_back({QString::number(r.id), r.name, r.status,
                                acc == r.finalMetrics.end() ? "-" : percent(acc->second)});
            }
        }
        if (rows.empty()) {
            doc.p(
                QStringLiteral("A float run; no run in the store starts from its "
                               "checkpoints."));
        } else {
            doc.p(
                QStringLiteral("A float run; these runs in the store start from its "
                               "checkpoints:"));
            doc.table({"run", "name", "status", "eval/acc"}, rows);
        }
    }
    std::vector<Row> rows;
    for (const auto& [k, v] : mine) {
        rows.push_back({k, metricText(k, v)});
    }
    doc.table({"final metric", run.title()}, rows);
}

void modelSizeSection(Doc& doc, const RunData& run) {
    doc.h2(QStringLiteral("Model size"));
    const store::HessianRow* hessian = run.newestHessian();
    int64_t params = 0;
    std::map<std::string, int64_t> layerParams;
    if (hessian) {
        for (const auto& l : hessian->layers) {
            params += l.params;
            layerParams[l.layer] = l.params;
        }
    }
    const double floatBytes = 4.0 * double(params);
    const QString note = QStringLiteral(
        "Float size = 4 bytes x the weight parameters of the quantizable layers in the layer "
        "table (from the Hessian report's parameter counts); biases, normalization layers and "
        "layers outside the table are not counted, while an export also holds step sizes, zero "
        "points and metadata.");
    const store::ArtifactRow* exported = nullptr;
    for (const auto& a : run.artifacts) {
        if (a.kind == "safetensors") {
            exported = &a;  // oldest first: the last one is the newest export
        }
    }
    std::vector<Row> rows;
    if (params > 0) {
        rows.push_back({"weight parameters", QString::number(params)});
        rows.push_back({"float size", QStringLiteral("%1 bytes").arg(qint64(floatBytes))});
    } else {
        rows.push_back({"weight parameters", "unknown: no Hessian report with parameter counts"});
    }
    std::error_code ec;
    const int64_t exportBytes = exported && fs::is_regular_file(exported->path, ec)
                                    ? int64_t(fs::file_size(exported->path, ec))
                                    : -1;
    if (exported && exportBytes > 0) {
        rows.push_back({"exported safetensors",
                        QStringLiteral("%1 bytes (%2)").arg(exportBytes).arg(q(exported->path))});
        rows.push_back({"compression ratio",
                        params > 0 ? QStringLiteral("%1x (float size / export size)")
                                         .arg(QString::number(floatBytes / exportBytes, 'f', 2))
                                   : QStringLiteral("unknown (no parameter counts)")});
        doc.table({"", "value"}, rows);
        doc.p(note);
        return;
    }
    doc.p(exported ? QStringLiteral("The exported safetensors file %1 is missing; the ratio "
                                    "below is estimated from the bits.")
                         .arg(q(exported->path))
                   : QStringLiteral("No export of this run in the store; the ratio below is "
                                    "estimated from the bits."));
    // Estimate: weight bits per layer, float (32) where a layer has no weight quantizer.
    double quantBits = 0.0, floatBits = 0.0;
    int counted = 0;
    for (const auto& l : run.layers) {
        const double n = layerParams.count(l.layer) ? double(layerParams[l.layer]) : 1.0;
        quantBits += n * (l.weightBits > 0 ? l.weightBits : 32);
        floatBits += n * 32.0;
        ++counted;
    }
    if (counted == 0) {
        rows.push_back({"compression ratio (estimate)", run.quantized()
                                                            ? "unknown: no per-layer bits recorded"
                                                            : "1.00x (a float run)"});
    } else {
        const QString basis = params > 0 ? QStringLiteral("weighted by parameters")
                                         : QStringLiteral("unweighted mean over layers");
        rows.push_back({"compression ratio (estimate)",
                        QStringLiteral("%1x (32 bits / mean weight bits, %2)")
                            .arg(QString::number(floatBits / quantBits, 'f', 2), basis)});
        if (params > 0) {
            rows.push_back({"quantized weights (estimate)",
                            QStringLiteral("%1 bytes").arg(qint64(quantBits / 8.0))});
        }
    }
    doc.table({"", "value"}, rows);
    doc.p(note);
}

void layersSection(Doc& doc, const RunData& run) {
    doc.h2(QStringLiteral("Layers"));
    const store::HessianRow* hessian = run.newestHessian();
    std::map<std::string, const store::HessianLayerRow*> byName;
    std::set<int> omegaBits;
    if (hessian) {
        for (const auto& l : hessian->layers) {
            byName[l.layer] = &l;
            for (const auto& [b, v] : l.omega) {
                omegaBits.insert(b);
            }
        }
    }
    if (run.layers.empty() && !hessian) {
        doc.p(run.quantized() ? QStringLiteral("No per-layer quantizer states recorded.")
                              : QStringLiteral("A float run: no quantizers, so no per-layer "
                                               "states were recorded."));
        return;
    }
    if (!run.layers.empty()) {
        doc.p(QStringLiteral("Quantizer states at step %1 (the last recorded). Step sizes with "
                             "several values (per channel) show their mean. MSE: mean squared "
                             "quantization error; clip: fraction of values clipped.")
                  .arg(run.layerStep));
    }
    Row header = {"layer"};
    if (hessian) {
        header.push_back("params");
    }
    for (const char* h :
         {"W bits", "A bits", "W step", "A step", "W MSE", "A MSE", "W clip", "A clip"}) {
        header.push_back(h);
    }
    if (hessian) {
        header.push_back("Tr(H)");
        for (int b : omegaBits) {
            header.push_back(QStringLiteral("\u03a9(%1)").arg(b));
        }
    }
    auto hessianCells = [&](Row& row, const std::string& layer) {
        const auto it = byName.find(layer);
        if (!hessian) {
            return;
        }
        row.push_back(it == byName.end() ? Cell("-") : Cell(num(it->second->trace)));
        for (int b : omegaBits) {
            const bool has = it != byName.end() && it->second->omega.count(b);
            row.push_back(has ? num(it->second->omega.at(b)) : QStringLiteral("-"));
        }
    };
    std::vector<Row> rows;
    std::set<std::string> listed;
    for (const auto& l : run.layers) {
        listed.insert(l.layer);
        Row row = {l.layer};
        if (hessian) {
            const auto it = byName.find(l.layer);
            row.push_back(it == byName.end() ? QStringLiteral("-")
                                             : QString::number(it->second->params));
        }
        QString wStep = QStringLiteral("-");
        if (l.weightBits > 0 && !l.weightSteps.empty()) {
            double sum = 0.0;
            for (double s : l.weightSteps) {
                sum += s;
            }
            wStep = l.weightSteps.size() == 1 ? num(l.weightSteps.front())
                                              : QStringLiteral("%1 (mean of %2)")
                                                    .arg(num(sum / double(l.weightSteps.size())))
                                                    .arg(l.weightSteps.size());
        }
        row.push_back(bitsText(l.weightBits));
        row.push_back(bitsText(l.actBits));
        row.push_back(wStep);
        row.push_back(l.actBits > 0 ? num(l.actStep) : QStringLiteral("-"));
        row.push_back(l.weightBits > 0 ? num(l.weightError) : QStringLiteral("-"));
        row.push_back(l.actBits > 0 ? num(l.actError) : QStringLiteral("-"));
        row.push_back(l.weightBits > 0 ? percent(l.weightClipRate) : QStringLiteral("-"));
        row.push_back(l.actBits > 0 ? percent(l.actClipRate) : QStringLiteral("-"));
        hessianCells(row, l.layer);
        rows.push_back(row);
    }
    if (hessian) {
        // Layers the Hessian report measured but no quantizer state covers (a float run).
        for (const auto& hl : hessian->layers) {
            if (listed.count(hl.layer)) {
                continue;
            }
            Row row = {hl.layer, QString::number(hl.params), "fp", "fp", "-", "-", "-", "-", "-",
                       "-"};
            hessianCells(row, hl.layer);
            rows.push_back(row);
        }
    }
    doc.table(header, rows);
    if (hessian) {
        QStringList eig;
        for (double e : hessian->eigenvalues) {
            eig << num(e);
        }
        doc.p(QStringLiteral("Hessian report %1 (%2 mode, step %3, %4 samples, seed %5): top "
                             "eigenvalues %6; trace %7 +- %8 (%9 Hutchinson vectors). "
                             "Omega(b) = Tr(H)/n ||Q_b(W) - W||^2.")
                  .arg(hessian->id)
                  .arg(q(hessian->mode))
                  .arg(hessian->step)
                  .arg(hessian->samples)
                  .arg(qulonglong(hessian->seed))
                  .arg(eig.isEmpty() ? QStringLiteral("-") : eig.join(QStringLiteral(", ")))
                  .arg(num(hessian->trace), num(hessian->traceSe))
                  .arg(hessian->traceSamples));
    } else {
        doc.p(QStringLiteral("No Hessian report for this run (quantscape-cli hessian --run %1 "
                             "computes traces and Omega).")
                  .arg(run.record.id));
    }
}

void curvesSection(Doc& doc, const RunData& run) {
    doc.h2(QStringLiteral("Training curves"));
    std::vector<ChartSeries> loss, acc;
    int colour = 0;
    for (const char* key : {"train/loss", "eval/loss"}) {
        if (hasMetric(run, key)) {
            loss.push_back({key, seriesColor(colour++), series(run, key)});
        }
    }
    colour = 0;
    for (const char* key : {"train/acc", "eval/acc"}) {
        if (hasMetric(run, key)) {
            acc.push_back({key, seriesColor(colour++), series(run, key)});
        }
    }
    doc.image(
        lineChart(QStringLiteral("Loss"), QStringLiteral("step"), QStringLiteral("loss"), loss),
        QStringLiteral("Loss vs step (%1)").arg(run.title()), QStringLiteral("No loss recorded."));
    doc.image(lineChart(QStringLiteral("Accuracy"), QStringLiteral("step"),
                        QStringLiteral("accuracy"), acc),
              QStringLiteral("Accuracy vs step (%1)").arg(run.title()),
              QStringLiteral("No accuracy recorded."));
}

void landscapesSection(Doc& doc, const RunData& run) {
    doc.h2(QStringLiteral("Loss landscapes"));
    if (run.landscapes.empty()) {
        doc.p(QStringLiteral("No landscape computed for this run (quantscape-cli landscape --run "
                             "%1 computes one).")
                  .arg(run.record.id));
        return;
    }
    for (const auto& l : run.landscapes) {
        double best = std::numeric_limits<double>::infinity();
        int pending = 0;
        for (double v : l.loss) {
            std::isfinite(v) ? void(best = std::min(best, v)) : void(++pending);
        }
        const QString caption =
            QStringLiteral(
                "Landscape %1: %2 directions, %3 mode, step %4, %5x%6 grid over "
                "[%7, %8] x [%9, %10], %11 samples, seed %12, %13%14; lowest loss %15")
                .arg(l.id)
                .arg(q(l.kind), q(l.mode))
                .arg(l.step)
                .arg(l.nx)
                .arg(l.ny)
                .arg(num(l.xMin), num(l.xMax), num(l.yMin), num(l.yMax))
                .arg(l.samples)
                .arg(qulonglong(l.seed))
                .arg(q(l.status))
                .arg(pending ? QStringLiteral(", %1 points pending").arg(pending) : QString())
                .arg(num(best));
        QImage image;
        if (l.ny > 1) {
            image = heatmap(QStringLiteral("Landscape %1 (loss)").arg(l.id), l.nx, l.ny, l.xMin,
                            l.xMax, l.yMin, l.yMax, l.loss);
        } else {
            ChartSeries s{QStringLiteral("loss"), seriesColor(0), {}};
            for (int i = 0; i < l.nx && std::size_t(i) < l.loss.size(); ++i) {
                const double a = l.nx > 1 ? l.xMin + (l.xMax - l.xMin) * i / (l.nx - 1) : l.xMin;
                s.points.emplace_back(a, l.loss[std::size_t(i)]);
            }
            image = lineChart(QStringLiteral("Landscape %1 (loss along x)").arg(l.id),
                              QStringLiteral("a"), QStringLiteral("loss"), {s});
        }
        doc.image(image, caption,
                  QStringLiteral("Landscape %1 has no computed point yet.").arg(l.id));
    }
}

void sharpnessSection(Doc& doc, const RunData& run) {
    doc.h2(QStringLiteral("Sharpness"));
    if (run.sharpness.empty()) {
        doc.p(QStringLiteral("No sharpness measured for this run (quantscape-cli sharpness --run "
                             "%1 measures it).")
                  .arg(run.record.id));
        return;
    }
    std::vector<Row> rows;
    for (const auto& s : run.sharpness) {
        rows.push_back({s.measure, s.mode, num(s.radius), num(s.value), num(s.baseLoss),
                        num(s.perturbedLoss), QString::number(s.ascentSteps),
                        QString::number(s.samples), QString::number(s.step)});
    }
    doc.table({"measure", "mode", "radius", "sharpness", "loss", "perturbed loss", "ascent steps",
               "samples", "step"},
              rows);
    doc.p(
        QStringLiteral("rho-ball: max L(w + e) - L(w) over ||e|| <= rho; epsilon: percent of "
                       "1 + L(w) (ALGORITHMS.md section 6)."));
}

void environmentSection(Doc& doc, const std::vector<const RunData*>& runs) {
    doc.h2(QStringLiteral("Environment"));
    std::vector<Row> rows;
    const bool many = runs.size() > 1;
    for (const RunData* run : runs) {
        const QString prefix = many ? QStringLiteral("run %1: ").arg(run->record.id) : QString();
        try {
            const json versions = json::parse(run->record.versions);
            for (auto it = versions.begin(); versions.is_object() && it != versions.end(); ++it) {
                rows.push_back({prefix + q(it.key()), q(valueText(it.value()))});
            }
        } catch (const json::exception&) {
            rows.push_back({prefix + "versions", run->record.versions});
        }
        const std::string threads = specField(run->spec, "/threads", "?");
        rows.push_back(
            {prefix + "threads", threads == "0" ? QStringLiteral("0 (all cores)") : q(threads)});
        rows.push_back({prefix + "host", run->record.host});
        rows.push_back({prefix + "created", run->record.createdAt});
        rows.push_back({prefix + "finished", run->record.finishedAt.empty()
                                                 ? std::string("-")
                                                 : run->record.finishedAt});
        rows.push_back({prefix + "status", run->record.status});
    }
    rows.push_back({"report generated", currentUtc()});
    rows.push_back({"report host", QSysInfo::machineHostName()});
    rows.push_back({"report written with", QStringLiteral("Qt %1").arg(qVersion())});
    doc.table({"", "value"}, rows);
}

void checksumsSection(Doc& doc, const RunData& run) {
    doc.h2(QStringLiteral("Checksums"));
    if (run.artifacts.empty()) {
        doc.p(QStringLiteral("No exported files recorded for this run."));
        return;
    }
    std::vector<Row> rows;
    for (const auto& a : run.artifacts) {
        std::error_code ec;
        QString size = QStringLiteral("-");
        QString state = QStringLiteral("missing");
        bool changed = true;
        if (fs::is_regular_file(a.path, ec)) {
            size = QString::number(qint64(fs::file_size(a.path, ec)));
            // The store keeps the digest, not the size: a digest of the file as it is now is
            // what tells whether it still is the exported file.
            changed = fileSha256(a.path) != a.sha256;
            state = changed ? QStringLiteral("changed since export") : QStringLiteral("unchanged");
        }
        rows.push_back({Cell(q(a.kind)), Cell(q(a.path)), Cell(q(a.sha256)), Cell(size),
                        Cell(state, changed), Cell(q(a.createdAt))});
    }
    doc.table({"kind", "path", "sha256 (at export)", "bytes now", "state", "exported"}, rows);
}

void runReport(Doc& doc, const RunData& run, const std::vector<store::RunRecord>& all) {
    doc.h1(QStringLiteral("Quantscape run report: %1").arg(run.title()));
    doc.p(QStringLiteral("Status %1; created %2; finished %3; checkpoints in %4.")
              .arg(q(run.record.status), q(run.record.createdAt),
                   run.record.finishedAt.empty() ? QStringLiteral("-") : q(run.record.finishedAt),
                   run.record.checkpointDir.empty() ? QStringLiteral("-")
                                                    : q(run.record.checkpointDir)));
    if (!run.record.error.empty()) {
        doc.p(QStringLiteral("Error: %1").arg(q(run.record.error)));
    }
    specSection(doc, run);
    datasetSection(doc, run);
    methodSection(doc, run);
    floatVsQuantizedSection(doc, run, all);
    modelSizeSection(doc, run);
    layersSection(doc, run);
    curvesSection(doc, run);
    landscapesSection(doc, run);
    sharpnessSection(doc, run);
    environmentSection(doc, {&run});
    checksumsSection(doc, run);
}

// ---------------------------------------------------------------------------------------------
// The sections of a comparison report.

QString bitsSummary(const RunData& run) {
    if (!run.quantized()) {
        return QStringLiteral("float");
    }
    return QStringLiteral("W%1A%2").arg(q(specField(run.spec, "/quant/weight_bits", "?")),
                                        q(specField(run.spec, "/quant/act_bits", "?")));
}

void comparisonReport(Doc& doc, const std::vector<RunData>& runs) {
    doc.h1(QStringLiteral("Quantscape comparison report: %1 runs").arg(runs.size()));
    Row runHeader = {""};
    for (const RunData& r : runs) {
        runHeader.push_back(r.title());
    }

    doc.h2(QStringLiteral("Runs"));
    {
        std::vector<Row> rows(6);
        rows[0] = {"name"};
        rows[1] = {"status"};
        rows[2] = {"method"};
        rows[3] = {"bits"};
        rows[4] = {"dataset"};
        rows[5] = {"created"};
        for (const RunData& r : runs) {
            rows[0].push_back(r.record.name);
            rows[1].push_back(r.record.status);
            rows[2].push_back(r.method());
            rows[3].push_back(bitsSummary(r));
            rows[4].push_back(specField(r.spec, "/data/dataset", "?"));
            rows[5].push_back(r.record.createdAt);
        }
        doc.table(runHeader, rows);
    }

    doc.h2(QStringLiteral("Specs"));
    {
        doc.p(QStringLiteral("Every spec field side by side; highlighted rows differ."));
        std::vector<std::map<std::string, std::string>> fields;
        std::vector<std::string> order;
        std::set<std::string> seen;
        for (const RunData& r : runs) {
            std::vector<std::pair<std::string, std::string>> flat;
            flatten(r.spec, "", flat);
            fields.emplace_back(flat.begin(), flat.end());
            for (const auto& [k, v] : flat) {
                if (seen.insert(k).second) {
                    order.push_back(k);
                }
            }
        }
        std::vector<Row> rows;
        for (const std::string& k : order) {
            Row row = {k};
            std::set<std::string> distinct;
            std::vector<std::string> values;
            for (const auto& f : fields) {
                const auto it = f.find(k);
                values.push_back(it == f.end() ? std::string("(absent)") : it->second);
                distinct.insert(values.back());
            }
            const bool differs = distinct.size() > 1;
            row.front().highlight = differs;
            for (const std::string& v : values) {
                row.push_back(Cell(q(v), differs));
            }
            rows.push_back(row);
        }
        Row header = runHeader;
        header.front() = Cell("field");
        doc.table(header, rows);
    }

    doc.h2(QStringLiteral("Final metrics"));
    {
        std::vector<const std::map<std::string, double>*> ms;
        for (const RunData& r : runs) {
            ms.push_back(&r.record.finalMetrics);
        }
        std::vector<Row> rows;
        for (const std::string& k : metricKeys(ms)) {
            Row row = {k};
            for (const RunData& r : runs) {
                const auto it = r.record.finalMetrics.find(k);
                row.push_back(it == r.record.finalMetrics.end() ? QStringLiteral("-")
                                                                : metricText(k, it->second));
            }
            rows.push_back(row);
        }
        Row header = runHeader;
        header.front() = Cell("final metric");
        if (rows.empty()) {
            doc.p(QStringLiteral("None of these runs has final metrics."));
        } else {
            doc.table(header, rows);
        }
    }

    doc.h2(QStringLiteral("Training curves"));
    {
        std::vector<ChartSeries> loss, acc;
        for (std::size_t i = 0; i < runs.size(); ++i) {
            const RunData& r = runs[i];
            loss.push_back({r.title() + QStringLiteral(" train/loss"), seriesColor(int(i)),
                            series(r, "train/loss")});
            // Evaluation accuracy is what the runs are judged on; training accuracy only when
            // a run has no evaluation.
            const std::string key = hasMetric(r, "eval/acc") ? "eval/acc" : "train/acc";
            acc.push_back({r.title() + " " + q(key), seriesColor(int(i)), series(r, key)});
        }
        doc.image(lineChart(QStringLiteral("Training loss"), QStringLiteral("step"),
                            QStringLiteral("loss"), loss),
                  QStringLiteral("Training loss of every run vs step"),
                  QStringLiteral("No training loss recorded."));
        doc.image(lineChart(QStringLiteral("Accuracy"), QStringLiteral("step"),
                            QStringLiteral("accuracy"), acc),
                  QStringLiteral("Accuracy of every run vs step"),
                  QStringLiteral("No accuracy recorded."));
    }

    doc.h2(QStringLiteral("Per-layer bits"));
    {
        std::vector<std::string> order;
        std::set<std::string> seen;
        std::vector<std::map<std::string, QString>> bits;
        for (const RunData& r : runs) {
            std::map<std::string, QString> m;
            for (const auto& l : r.layers) {
                m[l.layer] =
                    QStringLiteral("W%1 A%2").arg(bitsText(l.weightBits), bitsText(l.actBits));
                if (seen.insert(l.layer).second) {
                    order.push_back(l.layer);
                }
            }
            bits.push_back(std::move(m));
        }
        if (order.empty()) {
            doc.p(QStringLiteral("No per-layer quantizer states recorded for these runs."));
        } else {
            std::vector<Row> rows;
            for (const std::string& layer : order) {
                std::vector<QString> values;
                std::set<QString> distinct;
                for (const auto& m : bits) {
                    const auto it = m.find(layer);
                    values.push_back(it == m.end() ? QStringLiteral("float") : it->second);
                    distinct.insert(values.back());
                }
                Row row = {Cell(q(layer), distinct.size() > 1)};
                for (const QString& v : values) {
                    row.push_back(Cell(v, distinct.size() > 1));
                }
                rows.push_back(row);
            }
            Row header = runHeader;
            header.front() = Cell("layer");
            doc.p(
                QStringLiteral("Weight (W) and activation (A) bits at each run's last recorded "
                               "step; fp = float slot; highlighted layers differ."));
            doc.table(header, rows);
        }
    }

    std::vector<const RunData*> pointers;
    for (const RunData& r : runs) {
        pointers.push_back(&r);
    }
    environmentSection(doc, pointers);
}

// ---------------------------------------------------------------------------------------------
// Output.

const char* kCss = R"(
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 10pt; color: #111; }
h1 { font-size: 17pt; color: #123; }
h2 { font-size: 13pt; color: #123; margin-top: 18px; border-bottom: 1px solid #999; }
table.data { border-collapse: collapse; border-color: #999; margin-bottom: 6px; }
th { background-color: #e8eef4; text-align: left; font-size: 8pt; }
td { font-size: 8pt; }
td.diff { background-color: #ffe98a; }
pre { font-family: "DejaVu Sans Mono", monospace; font-size: 8pt; background-color: #f6f6f6; }
img { max-width: 100%; }
p.figure { text-align: center; }
)";

QByteArray pngBytes(const QImage& image) {
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    image.save(&buffer, "PNG");
    return bytes;
}

QString wrapHtml(const QString& title, const QString& body) {
    return QStringLiteral(
               "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n<title>%1</title>\n"
               "<style>%2</style></head>\n<body>\n%3</body></html>\n")
        .arg(esc(title), QString::fromUtf8(kCss), body);
}

void writeHtml(const Doc& doc, const QString& title, const std::string& path) {
    QString html = doc.html();
    for (std::size_t i = 0; i < doc.images().size(); ++i) {
        html.replace(QStringLiteral("src=\"image-%1.png\"").arg(i),
                     QStringLiteral("src=\"data:image/png;base64,%1\"")
                         .arg(QString::fromLatin1(pngBytes(doc.images()[i]).toBase64())));
    }
    QFile file(q(path));
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate)) {
        throw std::runtime_error("report: cannot write " + path + ": " +
                                 file.errorString().toStdString());
    }
    const QByteArray bytes = wrapHtml(title, html).toUtf8();
    if (file.write(bytes) != bytes.size() || !file.flush()) {
        throw std::runtime_error("report: cannot write " + path + ": " +
                                 file.errorString().toStdString());
    }
}

/// Lays the document out on A4 pages (15 mm margins) and paints each with "page i of n" at the
/// bottom. Returns the page count. Modelled on QTextDocument::print, which numbers pages but
/// does not say how many it printed.
int writePdf(const Doc& doc, const QString& title, const std::string& path) {
    {
        // QPdfWriter reports no open error; probe the path first so the message can name it.
        QFile probe(q(path));
        if (!probe.open(QIODevice::WriteOnly | QIODevice::Truncate)) {
            throw std::runtime_error("report: cannot write " + path + ": " +
                                     probe.errorString().toStdString());
        }
    }
    QPdfWriter writer(q(path));
    writer.setPageSize(QPageSize(QPageSize::A4));
    writer.setPageMargins(QMarginsF(0, 0, 0, 0));
    writer.setResolution(300);
    writer.setTitle(title);
    writer.setCreator(QStringLiteral("Quantscape"));

    QTextDocument text;
    text.setDefaultStyleSheet(QString::fromUtf8(kCss));
    QFont font(QStringLiteral("DejaVu Sans"));
    font.setPointSizeF(9.0);
    text.setDefaultFont(font);
    for (std::size_t i = 0; i < doc.images().size(); ++i) {
        text.addResource(QTextDocument::ImageResource, QUrl(QStringLiteral("image-%1.png").arg(i)),
                         QVariant(doc.images()[i]));
    }
    // Laying out on the writer makes point sizes and image widths (in 96 dpi pixels) come out
    // at their physical size on paper.
    text.documentLayout()->setPaintDevice(&writer);
    text.setHtml(wrapHtml(title, doc.html()));
    const double dpi = writer.logicalDpiY();
    const double margin = 15.0 / 25.4 * dpi;
    const double footer = 8.0 / 25.4 * dpi;
    // The layout scales frame margins from 96 dpi pixels to the device, as it does image sizes.
    const double toLayout = 96.0 / dpi;
    QTextFrameFormat frame = text.rootFrame()->frameFormat();
    frame.setLeftMargin(margin * toLayout);
    frame.setRightMargin(margin * toLayout);
    frame.setTopMargin(margin * toLayout);
    frame.setBottomMargin((margin + footer) * toLayout);
    text.rootFrame()->setFrameFormat(frame);
    const QSizeF page(writer.width(), writer.height());
    text.setPageSize(page);
    const int pages = text.pageCount();

    QPainter painter;
    if (!painter.begin(&writer)) {
        throw std::runtime_error("report: cannot write " + path + ": the PDF writer failed");
    }
    QFont footerFont(font);
    footerFont.setPointSizeF(8.0);
    for (int i = 0; i < pages; ++i) {
        if (i > 0) {
            writer.newPage();
        }
        painter.save();
        const QRectF view(0, i * page.height(), page.width(), page.height());
        painter.translate(0, -view.top());
        painter.setClipRect(view);
        QAbstractTextDocumentLayout::PaintContext context;
        context.clip = view;
        context.palette.setColor(QPalette::Text, Qt::black);
        text.documentLayout()->draw(&painter, context);
        painter.restore();
        painter.setFont(footerFont);
        painter.setPen(Qt::black);
        const QString number = QStringLiteral("page %1 of %2").arg(i + 1).arg(pages);
        painter.drawText(QRectF(0, page.height() - margin - footer * 0.5, page.width(), footer),
                         Qt::AlignHCenter | Qt::AlignVCenter, number);
    }
    if (!painter.end()) {
        throw std::runtime_error("report: cannot write " + path + ": the PDF writer failed");
    }
    return pages;
}

std::string lowerExtension(const std::string& path) {
    std::string ext = fs::path(path).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    return ext;
}

}  // namespace

ReportSummary writeReport(const ReportOptions& options) {
    const std::string ext = lowerExtension(options.outPath);
    if (ext != ".html" && ext != ".htm" && ext != ".pdf") {
        throw std::runtime_error(
            "report: the output file must end in .html or .pdf (got " +
            (options.outPath.empty() ? std::string("no file") : options.outPath) + ")");
    }
    if (options.runs.empty()) {
        throw std::runtime_error("report: no run given");
    }
    std::error_code ec;
    if (options.dbPath.empty() || !fs::is_regular_file(options.dbPath, ec)) {
        // Opening would create an empty store; a report of a store that is not there is a typo.
        throw std::runtime_error("report: no run store at " + options.dbPath);
    }
    const auto store = store::RunStore::open(options.dbPath);
    std::vector<RunData> runs;
    for (int64_t id : options.runs) {
        runs.push_back(loadRun(*store, id));
    }
    const std::vector<store::RunRecord> all = store->listRuns();

    GuiAppScope app;
    Doc doc;
    QString title;
    if (runs.size() == 1) {
        runReport(doc, runs.front(), all);
        title = QStringLiteral("Quantscape report: %1").arg(runs.front().title());
    } else {
        comparisonReport(doc, runs);
        title = QStringLiteral("Quantscape comparison: %1 runs").arg(runs.size());
    }

    ReportSummary summary;
    summary.path = options.outPath;
    summary.images = int(doc.images().size());
    if (ext == ".pdf") {
        summary.pages = writePdf(doc, title, options.outPath);
    } else {
        writeHtml(doc, title, options.outPath);
    }
    summary.bytes = int64_t(fs::file_size(options.outPath, ec));
    if (ec || summary.bytes <= 0) {
        throw std::runtime_error("report: " + options.outPath + " was not written");
    }
    return summary;
}

}  // namespace qs::report
