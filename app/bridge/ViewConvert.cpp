#include "app/bridge/ViewConvert.h"

#include "engine/session/RunSpec.h"

#include <QDateTime>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <unordered_map>

namespace qs::app {

QString toQString(const std::string& text) {
    return QString::fromStdString(text);
}

QMap<QString, double> toQMap(const std::map<std::string, double>& values) {
    QMap<QString, double> out;
    for (const auto& [key, value] : values) {
        out.insert(toQString(key), value);
    }
    return out;
}

void appendMetricPoints(const session::StepMetrics& metrics, QVector<ui::MetricPoint>& out) {
    for (const auto& [key, value] : metrics.values) {
        out.append(ui::MetricPoint{metrics.step, toQString(key), value});
    }
}

void appendMetricPoints(const session::EpochEval& eval, QVector<ui::MetricPoint>& out) {
    out.append(ui::MetricPoint{eval.step, QStringLiteral("eval/loss"), eval.loss});
    if (std::isfinite(eval.accuracy)) {
        out.append(ui::MetricPoint{eval.step, QStringLiteral("eval/acc"), eval.accuracy});
    }
    for (const auto& [name, value] : eval.metrics) {
        out.append(ui::MetricPoint{eval.step, QStringLiteral("eval/") + toQString(name), value});
    }
    out.append(ui::MetricPoint{eval.step, QStringLiteral("epoch"), double(eval.epoch)});
}

ui::SharpnessPoint toSharpnessPoint(const analysis::SharpnessFigure& figure, int64_t step) {
    ui::SharpnessPoint p;
    p.measure = toQString(figure.measure);
    p.mode = toQString(figure.mode);
    p.radius = figure.radius;
    p.value = figure.value;
    p.baseLoss = figure.baseLoss;
    p.perturbedLoss = figure.perturbedLoss;
    p.samples = figure.samples;
    p.step = step;
    return p;
}

ui::SharpnessPoint toSharpnessPoint(const store::SharpnessRow& row) {
    ui::SharpnessPoint p;
    p.measure = toQString(row.measure);
    p.mode = toQString(row.mode);
    p.radius = row.radius;
    p.value = row.value;
    p.baseLoss = row.baseLoss;
    p.perturbedLoss = row.perturbedLoss;
    p.samples = row.samples;
    p.step = row.step;
    return p;
}

ui::LandscapeSurface toLandscapeSurface(const store::LandscapeRow& row, const QString& runName) {
    ui::LandscapeSurface s;
    s.id = row.id;
    s.runId = row.runId;
    s.step = row.step;
    const QString owner =
        runName.isEmpty()
            ? QString::fromStdString(std::filesystem::path(row.checkpoint).filename().string())
            : runName;
    s.label = QStringLiteral("%1 · step %2").arg(owner).arg(row.step);
    s.kind = toQString(row.kind);
    s.mode = toQString(row.mode);
    s.status = toQString(row.status);
    s.seed = row.seed;
    s.samples = int(row.samples);
    s.nx = row.nx;
    s.ny = row.ny;
    s.xMin = row.xMin;
    s.xMax = row.xMax;
    s.yMin = row.yMin;
    s.yMax = row.yMax;
    s.loss = QVector<double>(row.loss.begin(), row.loss.end());
    s.accuracy = QVector<double>(row.accuracy.begin(), row.accuracy.end());
    return s;
}

ui::LandscapePoints toLandscapePoints(const analysis::LandscapePoints& points) {
    ui::LandscapePoints out;
    out.id = points.id;
    out.points.reserve(int(points.points.size()));
    for (const analysis::LandscapePoint& p : points.points) {
        out.points.append({p.ix, p.iy, p.loss, p.accuracy});
    }
    return out;
}

ui::HessianSummary toHessianSummary(const store::HessianRow& row) {
    ui::HessianSummary h;
    h.id = row.id;
    h.runId = row.runId;
    h.step = row.step;
    h.mode = toQString(row.mode);
    h.eigenvalues = QVector<double>(row.eigenvalues.begin(), row.eigenvalues.end());
    h.trace = row.trace;
    h.traceSe = row.traceSe;
    for (const store::HessianLayerRow& l : row.layers) {
        ui::LayerSensitivity layer;
        layer.layer = toQString(l.layer);
        layer.params = l.params;
        layer.macs = l.macs;
        layer.trace = l.trace;
        layer.traceSe = l.traceSe;
        for (const auto& [bits, omega] : l.omega) {
            layer.omega.insert(bits, omega);
        }
        h.layers.append(layer);
    }
    return h;
}

ui::LayerRow toLayerRow(const session::LayerState& s) {
    ui::LayerRow row;
    row.layer = toQString(s.layer);
    row.weightShape = QVector<qint64>(s.weightShape.begin(), s.weightShape.end());
    row.paramCount = s.paramCount;
    row.weightBits = s.weightBits;
    row.actBits = s.actBits;
    row.weightSteps = QVector<double>(s.weightSteps.begin(), s.weightSteps.end());
    row.actStep = s.actStep;
    row.weightError = s.weightError;
    row.actError = s.actError;
    row.weightClipRate = s.weightClipRate;
    row.actClipRate = s.actClipRate;
    return row;
}

ui::LayerSnapshot toLayerSnapshot(int64_t runId, const session::LayerStates& states) {
    ui::LayerSnapshot snapshot;
    snapshot.runId = runId;
    snapshot.step = states.step;
    snapshot.layers.reserve(int(states.layers.size()));
    for (const session::LayerState& s : states.layers) {
        snapshot.layers.append(toLayerRow(s));
    }
    return snapshot;
}

ui::WeightHistogram toWeightHistogram(int64_t runId, const session::WeightHistogram& h) {
    ui::WeightHistogram out;
    out.runId = runId;
    out.step = h.step;
    out.layer = toQString(h.layer);
    out.lo = h.lo;
    out.hi = h.hi;
    out.counts = QVector<double>(h.counts.begin(), h.counts.end());
    out.bits = h.bits;
    out.stepSize = h.stepSize;
    out.qn = h.qn;
    out.qp = h.qp;
    return out;
}

ui::JobProgress toJobProgress(int64_t runId, const session::Progress& p) {
    ui::JobProgress out;
    out.runId = runId;
    out.phase = toQString(p.phase);
    out.epoch = p.epoch;
    out.totalEpochs = p.totalEpochs;
    out.step = p.step;
    out.totalSteps = p.totalSteps;
    out.elapsedSeconds = p.elapsedSeconds;
    out.etaSeconds = p.etaSeconds;
    return out;
}

ui::LogEntry toLogEntry(const session::LogLine& line) {
    ui::LogEntry out;
    switch (line.level) {
        case session::LogLevel::Info:
            out.level = ui::LogEntry::Info;
            break;
        case session::LogLevel::Warning:
            out.level = ui::LogEntry::Warning;
            break;
        case session::LogLevel::Error:
            out.level = ui::LogEntry::Error;
            break;
    }
    out.text = toQString(line.text);
    out.time = QDateTime::currentDateTime();
    return out;
}

ui::RunEnd toRunEnd(const session::Finished& f) {
    ui::RunEnd out;
    out.runId = f.runId;
    out.status = toQString(f.status);
    out.error = toQString(f.error);
    out.finalMetrics = toQMap(f.finalMetrics);
    out.checkpoint = toQString(f.checkpoint);
    return out;
}

namespace {

QDateTime parseTime(const std::string& iso) {
    if (iso.empty()) {
        return {};
    }
    return QDateTime::fromString(toQString(iso), Qt::ISODate);
}

}  // namespace

ui::RunSummary toRunSummary(const store::RunRecord& r) {
    ui::RunSummary out;
    out.id = r.id;
    out.name = toQString(r.name);
    out.status = toQString(r.status);
    out.created = parseTime(r.createdAt);
    out.finished = parseTime(r.finishedAt);
    out.finalMetrics = toQMap(r.finalMetrics);
    try {
        const session::RunSpec spec = session::RunSpec::fromJson(r.specJson);
        out.method = toQString(spec.method.name);
        out.bits = spec.isQuantized()
                       ? QStringLiteral("W%1A%2").arg(spec.quant.weightBits).arg(spec.quant.actBits)
                       : QStringLiteral("float");
        out.arch = toQString(spec.model.arch);
        out.dataset = toQString(spec.data.dataset);
    } catch (const std::exception&) {
        // A spec written by a newer or broken build: the row still shows name, status, times.
    }
    return out;
}

QVector<ui::LayerSnapshot> toLayerHistory(int64_t runId,
                                          const std::vector<store::LayerStateRow>& rows,
                                          const std::vector<session::LayerState>& planned) {
    std::unordered_map<std::string, std::size_t> order;
    for (std::size_t i = 0; i < planned.size(); ++i) {
        order.emplace(planned[i].layer, i);
    }
    auto rank = [&](const QString& layer) {
        auto it = order.find(layer.toStdString());
        return it == order.end() ? planned.size() : it->second;
    };

    QVector<ui::LayerSnapshot> history;
    for (const store::LayerStateRow& r : rows) {
        if (history.isEmpty() || history.last().step != r.step) {
            ui::LayerSnapshot snapshot;
            snapshot.runId = runId;
            snapshot.step = r.step;
            history.append(snapshot);
        }
        ui::LayerRow row;
        row.layer = toQString(r.layer);
        row.weightBits = r.weightBits;
        row.actBits = r.actBits;
        row.weightSteps = QVector<double>(r.weightSteps.begin(), r.weightSteps.end());
        row.actStep = r.actStep;
        row.weightError = r.weightError;
        row.actError = r.actError;
        row.weightClipRate = r.weightClipRate;
        row.actClipRate = r.actClipRate;
        auto it = order.find(r.layer);
        if (it != order.end()) {
            const session::LayerState& p = planned[it->second];
            row.weightShape = QVector<qint64>(p.weightShape.begin(), p.weightShape.end());
            row.paramCount = p.paramCount;
        }
        history.last().layers.append(row);
    }
    for (ui::LayerSnapshot& snapshot : history) {
        std::stable_sort(snapshot.layers.begin(), snapshot.layers.end(),
                         [&](const ui::LayerRow& a, const ui::LayerRow& b) {
                             return rank(a.layer) < rank(b.layer);
                         });
    }
    return history;
}

}  // namespace qs::app
