// Plain Qt value types that carry a run's data into the views. Shared by visualization/,
// widgets/ and the bridge in app/; no engine header, no torch.
#pragma once

#include <QDateTime>
#include <QJsonObject>
#include <QMap>
#include <QMetaType>
#include <QString>
#include <QVector>

namespace qs::ui {

/// One scalar at a global step ("train/loss", "train/acc", "eval/loss", "eval/acc", "lr").
struct MetricPoint {
    qint64 step = 0;
    QString key;
    double value = 0.0;
};

/// One quantizable layer at a step. Bits 0 = that slot is float.
struct LayerRow {
    QString layer;                ///< parameter path, e.g. "layer1.0.conv1"
    QVector<qint64> weightShape;  ///< e.g. {16, 16, 3, 3}
    qint64 paramCount = 0;
    int weightBits = 0;
    int actBits = 0;
    QVector<double> weightSteps;  ///< one per tensor, or per output channel
    double actStep = 0.0;
    double weightError = 0.0;  ///< mean squared quantization error
    double actError = 0.0;
    double weightClipRate = 0.0;  ///< fraction in [0, 1]
    double actClipRate = 0.0;
};

struct LayerSnapshot {
    qint64 runId = 0;
    qint64 step = 0;
    QVector<LayerRow> layers;
};

/// Histogram of one layer's latent weights with its quantization grid: grid point k sits at
/// k * step for k in [-qn, qp].
struct WeightHistogram {
    qint64 runId = 0;
    qint64 step = 0;
    QString layer;
    double lo = 0.0;         ///< left edge of the first bin
    double hi = 0.0;         ///< right edge of the last bin
    QVector<double> counts;  ///< equal-width bins over [lo, hi]
    int bits = 0;            ///< 0: the layer's weights are float (no grid)
    double stepSize = 0.0;   ///< per-tensor step (the mean step when per-channel)
    double qn = 0.0;
    double qp = 0.0;
};

struct JobProgress {
    qint64 runId = 0;
    QString phase;  ///< "loading data", "training", "evaluating", "paused", ...
    int epoch = 0;
    int totalEpochs = 0;
    qint64 step = 0;
    qint64 totalSteps = 0;
    double elapsedSeconds = 0.0;
    double etaSeconds = -1.0;  ///< -1 while unknown
};

struct LogEntry {
    enum Level { Info, Warning, Error };
    Level level = Info;
    QString text;
    QDateTime time;
};

struct RunEnd {
    qint64 runId = 0;
    QString status;  ///< finished | failed | cancelled
    QString error;
    QMap<QString, double> finalMetrics;
    QString checkpoint;
};

/// One row of the run browser.
struct RunSummary {
    qint64 id = 0;
    QString name;
    QString status;
    QString method;  ///< fp, lsq, ...
    QString bits;    ///< "W4A4", "float"
    QString arch;
    QString dataset;
    QDateTime created;
    QDateTime finished;
    QMap<QString, double> finalMetrics;
};

/// One sharpness figure measured on a run's checkpoint (ALGORITHMS.md section 6).
struct SharpnessPoint {
    QString measure;      ///< "rho-ball" | "epsilon"
    QString mode;         ///< "float" | "dequantized" | "quantize-after"
    double radius = 0.0;  ///< rho, or eps for epsilon-sharpness
    double value = 0.0;   ///< rho-ball: max L(w+e) - L(w); epsilon: percent of 1 + L(w)
    double baseLoss = 0.0;
    double perturbedLoss = 0.0;
    qint64 samples = 0;
    qint64 step = 0;  ///< training step of the measured checkpoint
};

/// Everything the views show for one stored run.
struct RunData {
    RunSummary summary;
    QJsonObject spec;
    QVector<MetricPoint> metrics;         ///< ordered by step
    QVector<LayerSnapshot> layerHistory;  ///< ordered by step; the last one fills the layer table
    QVector<SharpnessPoint> sharpness;    ///< measured figures, oldest first
};

}  // namespace qs::ui

Q_DECLARE_METATYPE(qs::ui::MetricPoint)
Q_DECLARE_METATYPE(qs::ui::LayerSnapshot)
Q_DECLARE_METATYPE(qs::ui::WeightHistogram)
Q_DECLARE_METATYPE(qs::ui::JobProgress)
Q_DECLARE_METATYPE(qs::ui::LogEntry)
Q_DECLARE_METATYPE(qs::ui::RunEnd)
Q_DECLARE_METATYPE(qs::ui::RunSummary)
Q_DECLARE_METATYPE(qs::ui::SharpnessPoint)
