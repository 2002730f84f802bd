// Tests of the QCustomPlot charts: what they draw for given data (series, bars, grid lines,
// ranges, selection), the empty state, exports, and that bursts of appends stay cheap and are
// repainted in one queued replot. `screenshots` renders every plot with realistic data to PNGs
// (QS_SCREENSHOT_DIR, default the working directory) for a look by eye.
#include "PlotProbe.h"
#include "visualization/BitWidthChart.h"
#include "visualization/QuantErrorChart.h"
#include "visualization/StepSizePlot.h"
#include "visualization/TrainingCurvesPlot.h"
#include "visualization/WeightHistogramPlot.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QImage>
#include <QMenu>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QWheelEvent>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>

using namespace qs::ui;
namespace probe = qs::ui::probe;
using probe::resnet20Layers;

namespace {

// ---------------------------------------------------------------------------------------------
// Synthetic data shaped like a real ResNet-20 / CIFAR-10 run (390 steps per epoch).

constexpr int kStepsPerEpoch = 390;

/// Channels of a ResNet-20 layer: 16, 32 or 64 by stage, 10 for fc.
int outChannels(const QString& layer) {
    if (layer == QLatin1String("fc")) {
        return 10;
    }
    if (layer.startsWith(QLatin1String("layer2"))) {
        return 32;
    }
    if (layer.startsWith(QLatin1String("layer3"))) {
        return 64;
    }
    return 16;
}

/// W8A8 at the ends, W4A4 inside: the usual mixed-precision policy.
QVector<LayerRow> resnet20Rows(double trainingProgress = 1.0) {
    const QStringList names = resnet20Layers();
    QVector<LayerRow> rows;
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> jitter(0.7, 1.3);
    for (int i = 0; i < names.size(); ++i) {
        LayerRow row;
        row.layer = names.at(i);
        const bool edge = i == 0 || i == names.size() - 1;
        row.weightBits = edge ? 8 : 4;
        row.actBits = edge ? 8 : 4;
        const int channels = outChannels(row.layer);
        row.weightShape = {channels, channels, 3, 3};
        row.paramCount = channels * channels * 9;
        const double base = edge ? 0.004 : 0.05 * (1.0 + 0.02 * i);
        for (int c = 0; c < channels; ++c) {
            row.weightSteps.append(base * jitter(rng) * (1.0 - 0.15 * trainingProgress));
        }
        row.actStep = edge ? 0.02 : 0.15;
        row.weightError = (edge ? 2e-7 : 4e-5) * jitter(rng) * (1.0 + 0.05 * i);
        row.actError = (edge ? 8e-7 : 2e-4) * jitter(rng);
        row.weightClipRate = (edge ? 0.0005 : 0.012) * jitter(rng);
        row.actClipRate = (edge ? 0.001 : 0.03) * jitter(rng);
        rows.append(row);
    }
    return rows;
}

/// Metrics of `epochs` epochs: noisy train loss/acc every 10 steps, eval once per epoch.
QVector<MetricPoint> trainingMetrics(int epochs, double finalAcc = 0.91, unsigned seed = 1) {
    QVector<MetricPoint> points;
    std::mt19937 rng(seed);
    std::normal_distribution<double> noise(0.0, 1.0);
    for (qint64 step = 10; step <= epochs * kStepsPerEpoch; step += 10) {
        const double t = double(step);
        const double loss = 0.28 + 2.0 * std::exp(-t / 700.0);
        const double acc = finalAcc - (finalAcc - 0.1) * std::exp(-t / 650.0);
        points.append({step, QStringLiteral("train/loss"), loss + 0.05 * noise(rng)});
        points.append(
            {step, QStringLiteral("train/acc"), std::clamp(acc + 0.015 * noise(rng), 0.0, 1.0)});
        points.append({step, QStringLiteral("lr"), 0.1});
        if (step % kStepsPerEpoch == 0) {
            points.append({step, QStringLiteral("eval/loss"), loss + 0.08});
            points.append({step, QStringLiteral("eval/acc"), acc - 0.02});
            points.append({step, QStringLiteral("epoch"), double(step / kStepsPerEpoch)});
        }
    }
    return points;
}

QVector<LayerSnapshot> stepHistory(int snapshots) {
    QVector<LayerSnapshot> history;
    const QStringList names = resnet20Layers();
    for (int s = 0; s < snapshots; ++s) {
        LayerSnapshot snapshot;
        snapshot.runId = 1;
        snapshot.step = qint64(s) * 200;
        const double t = double(snapshot.step);
        QVector<LayerRow> rows = resnet20Rows();
        for (int i = 0; i < rows.size(); ++i) {
            // Each layer drifts towards its own level: some grow, most shrink early in training.
            const double target = 1.0 + 0.35 * std::sin(1.7 * i);
            const double drift = 1.0 + (target - 1.0) * (1.0 - std::exp(-t / 1500.0));
            for (double& step : rows[i].weightSteps) {
                step *= drift;
            }
        }
        snapshot.layers = rows;
        history.append(snapshot);
    }
    return history;
}

/// Gaussian weights (sigma 0.05) in 81 bins, with the grid of a `bits`-bit signed quantizer
/// whose clip range covers about 2.7 sigma (LSQ's usual outcome at 4 bits).
WeightHistogram gaussianHistogram(int bits, double qn, double qp, int bins = 81) {
    WeightHistogram h;
    h.runId = 1;
    h.step = 4680;
    h.layer = QStringLiteral("layer2.1.conv1");
    const double sigma = 0.05;
    h.lo = -4.0 * sigma;
    h.hi = 4.0 * sigma;
    const double width = (h.hi - h.lo) / bins;
    for (int i = 0; i < bins; ++i) {
        const double x = h.lo + (i + 0.5) * width;
        h.counts.append(std::round(9216.0 * width / (sigma * std::sqrt(2.0 * M_PI)) *
                                   std::exp(-0.5 * x * x / (sigma * sigma))));
    }
    h.bits = bits;
    h.qn = qn;
    h.qp = qp;
    h.stepSize = bits > 0 ? 2.7 * sigma / std::max(qp, 1.0) : 0.0;
    return h;
}

QVector<MetricPoint> burst(qint64 firstStep, int steps) {
    QVector<MetricPoint> points;
    for (int i = 0; i < steps; ++i) {
        const qint64 step = firstStep + i;
        points.append({step, QStringLiteral("train/loss"), 2.0 / (1.0 + step * 0.01)});
        points.append({step, QStringLiteral("train/acc"), 1.0 - 0.9 / (1.0 + step * 0.01)});
    }
    return points;
}

const probe::Series* findSeries(const QVector<probe::Series>& series, const QString& name) {
    const auto it = std::find_if(series.cbegin(), series.cend(),
                                 [&](const probe::Series& s) { return s.name == name; });
    return it == series.cend() ? nullptr : &*it;
}

const probe::Bars* findBars(const QVector<probe::Bars>& bars, const QString& name) {
    const auto it = std::find_if(bars.cbegin(), bars.cend(),
                                 [&](const probe::Bars& b) { return b.name == name; });
    return it == bars.cend() ? nullptr : &*it;
}

/// Shows the widget at a fixed size and lays it out, for pixel positions and mouse events.
void showAt(PlotWidget& plot, int width, int height) {
    plot.resize(width, height);
    plot.show();
    QVERIFY(QTest::qWaitForWindowExposed(&plot));
    probe::replotNow(plot);
}

void wheelZoom(PlotWidget& plot) {
    QWidget* surface = probe::surface(plot);
    const QPointF pos = probe::axisRectCentre(plot);
    QWheelEvent event(pos, surface->mapToGlobal(pos), QPoint(), QPoint(0, 120), Qt::NoButton,
                      Qt::NoModifier, Qt::NoScrollPhase, false);
    QCoreApplication::sendEvent(surface, &event);
}

enum class PlotKind { TrainingCurves, BitWidth, StepSize, QuantError, Histogram };

std::unique_ptr<PlotWidget> makePlot(PlotKind kind) {
    switch (kind) {
        case PlotKind::TrainingCurves:
            return std::make_unique<TrainingCurvesPlot>();
        case PlotKind::BitWidth:
            return std::make_unique<BitWidthChart>();
        case PlotKind::StepSize:
            return std::make_unique<StepSizePlot>();
        case PlotKind::QuantError:
            return std::make_unique<QuantErrorChart>();
        case PlotKind::Histogram:
            return std::make_unique<WeightHistogramPlot>();
    }
    return nullptr;
}

void fill(PlotKind kind, PlotWidget& plot) {
    switch (kind) {
        case PlotKind::TrainingCurves:
            static_cast<TrainingCurvesPlot&>(plot).addPoints(1, QStringLiteral("lsq-w4a4"),
                                                             trainingMetrics(12));
            break;
        case PlotKind::BitWidth:
            static_cast<BitWidthChart&>(plot).setLayers(resnet20Rows());
            break;
        case PlotKind::StepSize:
            static_cast<StepSizePlot&>(plot).setSnapshots(stepHistory(24));
            break;
        case PlotKind::QuantError:
            static_cast<QuantErrorChart&>(plot).setLayers(resnet20Rows());
            break;
        case PlotKind::Histogram:
            static_cast<WeightHistogramPlot&>(plot).setHistogram(gaussianHistogram(4, 8, 7));
            break;
    }
}

void empty(PlotKind kind, PlotWidget& plot) {
    switch (kind) {
        case PlotKind::TrainingCurves:
            static_cast<TrainingCurvesPlot&>(plot).clear();
            break;
        case PlotKind::BitWidth:
            static_cast<BitWidthChart&>(plot).setLayers({});
            break;
        case PlotKind::StepSize:
            static_cast<StepSizePlot&>(plot).clear();
            break;
        case PlotKind::QuantError:
            static_cast<QuantErrorChart&>(plot).setLayers({});
            break;
        case PlotKind::Histogram:
            static_cast<WeightHistogramPlot&>(plot).clear();
            break;
    }
}

}  // namespace

Q_DECLARE_METATYPE(PlotKind)

class TestPlots : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // --- TrainingCurvesPlot ---
    void curvesCreateSeriesLazilyAndIgnoreOtherKeys();
    void curvesAppendAcrossBursts();
    void curvesOverlayRunsAndRemoveOne();
    void curvesRescaleContainsDataUntilUserZooms();
    void curvesAppendBurstsCheaplyWithQueuedReplots();
    // --- BitWidthChart ---
    void bitWidthHasOneBarPerLayerSlot();
    void bitWidthHighlightsSelectedLayer();
    void bitWidthClickEmitsLayer();
    // --- QuantErrorChart ---
    void quantErrorBarsOnLogAxisAndClipRatesOnRight();
    // --- StepSizePlot ---
    void stepSizeOneLinePerQuantizedLayer();
    void stepSizeVisibleLayersAndLegend();
    void stepSizeSelectedLayerIsThicker();
    // --- WeightHistogramPlot ---
    void histogramGridLines_data();
    void histogramGridLines();
    // --- all plots ---
    void emptyState_data();
    void emptyState();
    void contextMenuOffersResetAndExport();
    void savePng_data();
    void savePng();
    void savePdf_data();
    void savePdf();
    void screenshots();
};

// ---------------------------------------------------------------------------------------------

void TestPlots::curvesCreateSeriesLazilyAndIgnoreOtherKeys() {
    TrainingCurvesPlot plot;
    plot.addPoints(7, QStringLiteral("run"),
                   {{10, QStringLiteral("train/loss"), 2.0},
                    {10, QStringLiteral("lr"), 0.1},
                    {20, QStringLiteral("train/loss"), 1.8},
                    {20, QStringLiteral("epoch"), 1.0}});
    QVector<probe::Series> series = probe::graphs(plot);
    QCOMPARE(series.size(), 1);
    QCOMPARE(series.at(0).name, QStringLiteral("run \u00b7 train loss"));
    QCOMPARE(series.at(0).keys, (QVector<double>{10, 20}));
    QCOMPARE(series.at(0).values, (QVector<double>{2.0, 1.8}));
    QVERIFY(!series.at(0).onRightAxis);

    plot.addPoints(7, QStringLiteral("run"),
                   {{30, QStringLiteral("train/acc"), 0.4},
                    {30, QStringLiteral("eval/loss"), 1.9},
                    {30, QStringLiteral("eval/acc"), 0.35}});
    series = probe::graphs(plot);
    QCOMPARE(series.size(), 4);
    const probe::Series* trainAcc = findSeries(series, QStringLiteral("run \u00b7 train acc"));
    const probe::Series* evalLoss = findSeries(series, QStringLiteral("run \u00b7 eval loss"));
    const probe::Series* evalAcc = findSeries(series, QStringLiteral("run \u00b7 eval acc"));
    QVERIFY(trainAcc && evalLoss && evalAcc);
    QVERIFY(trainAcc->onRightAxis);
    QVERIFY(evalAcc->onRightAxis);
    QVERIFY(!evalLoss->onRightAxis);
    // Eval is one point per epoch: drawn with markers; train is a plain line.
    QVERIFY(evalLoss->hasMarkers);
    QVERIFY(!series.at(0).hasMarkers);
    QCOMPARE(evalAcc->values, (QVector<double>{0.35}));
    QCOMPARE(probe::legendItemCount(plot), 4);
    QVERIFY(probe::legendShown(plot));

    // A non-finite value is dropped rather than flattening the axis.
    plot.addPoints(7, QString(), {{40, QStringLiteral("train/loss"), std::nan("")}});
    QCOMPARE(probe::graphs(plot).at(0).keys.size(), 2);
}

void TestPlots::curvesAppendAcrossBursts() {
    TrainingCurvesPlot plot;
    const QVector<MetricPoint> all = trainingMetrics(3);
    int trainLoss = 0;
    int evalAcc = 0;
    for (const MetricPoint& p : all) {
        trainLoss += p.key == QLatin1String("train/loss");
        evalAcc += p.key == QLatin1String("eval/acc");
    }
    for (int begin = 0; begin < all.size(); begin += 37) {
        plot.addPoints(1, QStringLiteral("a"), all.mid(begin, 37));
    }
    const QVector<probe::Series> series = probe::graphs(plot);
    QCOMPARE(series.size(), 4);
    QCOMPARE(findSeries(series, QStringLiteral("a \u00b7 train loss"))->keys.size(), trainLoss);
    QCOMPARE(findSeries(series, QStringLiteral("a \u00b7 eval acc"))->keys.size(), evalAcc);
    QCOMPARE(evalAcc, 3);
    const QVector<double> keys = findSeries(series, QStringLiteral("a \u00b7 train loss"))->keys;
    QVERIFY(std::is_sorted(keys.cbegin(), keys.cend()));
}

void TestPlots::curvesOverlayRunsAndRemoveOne() {
    TrainingCurvesPlot plot;
    plot.addPoints(1, QStringLiteral("fp32"), trainingMetrics(2, 0.92, 1));
    plot.addPoints(2, QStringLiteral("w4a4"), trainingMetrics(2, 0.89, 2));
    QVector<probe::Series> series = probe::graphs(plot);
    QCOMPARE(series.size(), 8);
    QCOMPARE(plot.runIds(), (QList<qint64>{1, 2}));
    const QColor first = findSeries(series, QStringLiteral("fp32 \u00b7 train loss"))->pen.color();
    const QColor second = findSeries(series, QStringLiteral("w4a4 \u00b7 train loss"))->pen.color();
    QVERIFY2(first != second, "each run has its own colour");
    // Train and eval of one run: same colour, different line style.
    const probe::Series* evalLoss = findSeries(series, QStringLiteral("fp32 \u00b7 eval loss"));
    QCOMPARE(evalLoss->pen.color(), first);
    QVERIFY(evalLoss->pen.style() !=
            findSeries(series, QStringLiteral("fp32 \u00b7 train loss"))->pen.style());
    QCOMPARE(probe::legendItemCount(plot), 8);

    plot.removeRun(1);
    series = probe::graphs(plot);
    QCOMPARE(series.size(), 4);
    for (const probe::Series& s : series) {
        QVERIFY2(s.name.startsWith(QLatin1String("w4a4")), qPrintable(s.name));
    }
    QCOMPARE(probe::legendItemCount(plot), 4);
    plot.removeRun(99);  // unknown: nothing happens
    QCOMPARE(probe::graphs(plot).size(), 4);

    // The freed colour goes to the next run.
    plot.addPoints(3, QStringLiteral("w2a2"), trainingMetrics(1));
    QCOMPARE(findSeries(probe::graphs(plot), QStringLiteral("w2a2 \u00b7 train loss"))->pen.color(),
             first);

    plot.clear();
    QCOMPARE(probe::graphs(plot).size(), 0);
    QVERIFY(plot.runIds().isEmpty());
    QVERIFY(plot.isEmptyStateVisible());
    QVERIFY(!probe::legendShown(plot));
}

void TestPlots::curvesRescaleContainsDataUntilUserZooms() {
    TrainingCurvesPlot plot;
    showAt(plot, 800, 500);
    plot.addPoints(1, QStringLiteral("r"), trainingMetrics(3));
    plot.rescale();
    auto containsAll = [&plot] {
        for (const probe::Series& s : probe::graphs(plot)) {
            const probe::Range x = probe::range(plot, probe::Axis::X);
            const probe::Range y =
                probe::range(plot, s.onRightAxis ? probe::Axis::Y2 : probe::Axis::Y);
            for (int i = 0; i < s.keys.size(); ++i) {
                if (!x.contains(s.keys.at(i)) || !y.contains(s.values.at(i))) {
                    return false;
                }
            }
        }
        return true;
    };
    QVERIFY(containsAll());
    QVERIFY(plot.isAutoRangeEnabled());
    // Accuracy is a fraction: its axis stays inside [0, 1].
    QVERIFY(probe::range(plot, probe::Axis::Y2).lower >= 0.0);
    QVERIFY(probe::range(plot, probe::Axis::Y2).upper <= 1.0);

    // A wheel zoom by the user stops automatic fitting, new data does not move the view...
    wheelZoom(plot);
    QVERIFY(!plot.isAutoRangeEnabled());
    const probe::Range zoomed = probe::range(plot, probe::Axis::X);
    plot.addPoints(1, QStringLiteral("r"), burst(5000, 50));
    plot.rescale();
    QCoreApplication::processEvents();
    QCOMPARE(probe::range(plot, probe::Axis::X).upper, zoomed.upper);
    QVERIFY(!containsAll());
    // ... until "Reset view".
    plot.resetView();
    QVERIFY(plot.isAutoRangeEnabled());
    QVERIFY(containsAll());
    QVERIFY(probe::range(plot, probe::Axis::X).contains(5049));
}

void TestPlots::curvesAppendBurstsCheaplyWithQueuedReplots() {
    TrainingCurvesPlot plot;
    showAt(plot, 800, 500);
    QCoreApplication::processEvents();
    probe::ReplotCounter replots(plot);

    // 100 bursts of 100 points each (50 steps x 2 keys), as the bridge delivers them, each
    // followed by rescale() as the dashboard does.
    QElapsedTimer timer;
    timer.start();
    for (int b = 0; b < 100; ++b) {
        plot.addPoints(1, QStringLiteral("live"), burst(qint64(b) * 50, 50));
        plot.rescale();
    }
    const qint64 appendMs = timer.elapsed();
    QCOMPARE(replots.count(), 0);  // nothing was drawn synchronously
    QCoreApplication::processEvents();
    const qint64 totalMs = timer.elapsed();
    qInfo("10,000 points in 100 bursts: %lld ms to append, %lld ms with the replot", appendMs,
          totalMs);

    QVERIFY2(totalMs < 2000, qPrintable(QStringLiteral("%1 ms").arg(totalMs)));
    QVERIFY2(replots.count() >= 1 && replots.count() <= 2,
             qPrintable(QStringLiteral("%1 replots").arg(replots.count())));
    int points = 0;
    for (const probe::Series& s : probe::graphs(plot)) {
        points += static_cast<int>(s.keys.size());
    }
    QCOMPARE(points, 10000);
    // The deferred fit ran with the replot: the whole series is in view.
    QVERIFY(probe::range(plot, probe::Axis::X).contains(0));
    QVERIFY(probe::range(plot, probe::Axis::X).contains(4999));
}

// ---------------------------------------------------------------------------------------------

void TestPlots::bitWidthHasOneBarPerLayerSlot() {
    BitWidthChart chart;
    QVector<LayerRow> rows = resnet20Rows();
    rows[0].weightBits = 0;  // conv1 left float
    rows[0].actBits = 0;
    rows[21].actBits = 0;  // fc's input activations float
    rows[5].weightBits = 2;
    chart.setLayers(rows);

    QCOMPARE(chart.layerNames().size(), 22);
    QCOMPARE(chart.layerNames().at(9), QStringLiteral("layer2.0.downsample.0"));
    const QVector<probe::Bars> bars = probe::bars(chart);
    const probe::Bars* weights = findBars(bars, QStringLiteral("Weights"));
    const probe::Bars* acts = findBars(bars, QStringLiteral("Activations"));
    const probe::Bars* weightsFloat = findBars(bars, QStringLiteral("Weights: float"));
    const probe::Bars* actsFloat = findBars(bars, QStringLiteral("Activations: float"));
    QVERIFY(weights && acts && weightsFloat && actsFloat);
    // Every layer has exactly one bar per slot: quantized or float.
    QCOMPARE(weights->keys.size() + weightsFloat->keys.size(), 22);
    QCOMPARE(acts->keys.size() + actsFloat->keys.size(), 22);
    QCOMPARE(weightsFloat->keys, (QVector<double>{0}));
    QCOMPARE(actsFloat->keys, (QVector<double>{0, 21}));
    QCOMPARE(weights->values.at(weights->keys.indexOf(5)), 2.0);
    QCOMPARE(weights->values.at(weights->keys.indexOf(1)), 4.0);
    QCOMPARE(weights->values.at(weights->keys.indexOf(21)), 8.0);
    // Float slots: hatched, and labelled.
    QCOMPARE(weightsFloat->brush.style(), Qt::BDiagPattern);
    QCOMPARE(weights->brush.style(), Qt::SolidPattern);
    QCOMPARE(probe::visibleTexts(chart).count(QStringLiteral("fp")), 3);
    QVERIFY(!chart.isEmptyStateVisible());
    chart.rescale();
    QVERIFY(probe::range(chart, probe::Axis::Y).upper > 8.0);
    QVERIFY(probe::range(chart, probe::Axis::X).contains(-0.5));
    QVERIFY(probe::range(chart, probe::Axis::X).contains(21.5));

    // Tick labels: the layer names (every one fits at this width).
    showAt(chart, 1100, 420);
    QCOMPARE(probe::tickLabels(chart, probe::Axis::X), resnet20Layers());

    // Fewer layers replace the old ones.
    chart.setLayers(rows.mid(0, 3));
    QCOMPARE(findBars(probe::bars(chart), QStringLiteral("Weights"))->keys.size() +
                 findBars(probe::bars(chart), QStringLiteral("Weights: float"))->keys.size(),
             3);
}

void TestPlots::bitWidthHighlightsSelectedLayer() {
    BitWidthChart chart;
    QVector<LayerRow> rows = resnet20Rows();
    rows[0].weightBits = 0;
    chart.setLayers(rows);
    chart.setSelectedLayer(QStringLiteral("layer2.0.conv1"));
    const int index = resnet20Layers().indexOf(QStringLiteral("layer2.0.conv1"));
    QCOMPARE(chart.selectedLayer(), QStringLiteral("layer2.0.conv1"));

    QVector<probe::Bars> bars = probe::bars(chart);
    for (const QString& name : {QStringLiteral("Weights"), QStringLiteral("Activations")}) {
        const probe::Bars* b = findBars(bars, name);
        QCOMPARE(b->selectedKeys, (QVector<double>{double(index)}));
        QVERIFY(b->selectedBrush.color() != b->brush.color());
        QVERIFY(b->selectedPen.widthF() > b->pen.widthF());
    }
    QVERIFY(findBars(bars, QStringLiteral("Weights: float"))->selectedKeys.isEmpty());

    // A float slot is highlighted too.
    chart.setSelectedLayer(QStringLiteral("conv1"));
    bars = probe::bars(chart);
    QCOMPARE(findBars(bars, QStringLiteral("Weights: float"))->selectedKeys, (QVector<double>{0}));
    QVERIFY(findBars(bars, QStringLiteral("Weights"))->selectedKeys.isEmpty());

    // Replacing the data keeps the selection on the same layer.
    chart.setLayers(rows);
    QCOMPARE(findBars(probe::bars(chart), QStringLiteral("Activations"))->selectedKeys,
             (QVector<double>{0}));

    chart.setSelectedLayer(QStringLiteral("no.such.layer"));
    for (const probe::Bars& b : probe::bars(chart)) {
        QVERIFY(b.selectedKeys.isEmpty());
    }
}

void TestPlots::bitWidthClickEmitsLayer() {
    BitWidthChart chart;
    chart.setLayers(resnet20Rows());
    showAt(chart, 1000, 420);
    QSignalSpy clicked(&chart, &BitWidthChart::layerClicked);
    QTest::mouseClick(probe::surface(chart), Qt::LeftButton, Qt::NoModifier,
                      probe::pixelAt(chart, 7, 2.0));
    QCOMPARE(clicked.count(), 1);
    QCOMPARE(clicked.at(0).at(0).toString(), resnet20Layers().at(7));
    // The chart does not select by itself: the owner decides.
    QVERIFY(chart.selectedLayer().isEmpty());

    // A drag pans; it is not a click.
    QWidget* surface = probe::surface(chart);
    const QPoint from = probe::pixelAt(chart, 3, 2.0);
    QTest::mousePress(surface, Qt::LeftButton, Qt::NoModifier, from);
    QMouseEvent move(QEvent::MouseMove, from + QPoint(60, 0), surface->mapToGlobal(from),
                     Qt::NoButton, Qt::LeftButton, Qt::NoModifier);
    QCoreApplication::sendEvent(surface, &move);
    QTest::mouseRelease(surface, Qt::LeftButton, Qt::NoModifier, from + QPoint(60, 0));
    QCOMPARE(clicked.count(), 1);
    QVERIFY(!chart.isAutoRangeEnabled());
}

// ---------------------------------------------------------------------------------------------

void TestPlots::quantErrorBarsOnLogAxisAndClipRatesOnRight() {
    QuantErrorChart chart;
    QVector<LayerRow> rows = resnet20Rows();
    rows[0].weightBits = 0;  // float: no error bar, no clip marker
    rows[0].weightError = 0.0;
    rows[3].actError = 0.0;  // exact: nothing to draw on a log axis
    chart.setLayers(rows);

    QVERIFY(probe::isLogarithmic(chart, probe::Axis::Y));
    const QVector<probe::Bars> bars = probe::bars(chart);
    const probe::Bars* weights = findBars(bars, QStringLiteral("Weight MSE"));
    const probe::Bars* acts = findBars(bars, QStringLiteral("Activation MSE"));
    QVERIFY(weights && acts);
    QCOMPARE(weights->keys.size(), 21);
    QCOMPARE(acts->keys.size(), 21);
    QVERIFY(!weights->keys.contains(0));
    QVERIFY(!acts->keys.contains(3));
    QCOMPARE(weights->values.at(weights->keys.indexOf(4)), rows[4].weightError);

    const QVector<probe::Series> series = probe::graphs(chart);
    const probe::Series* weightClip = findSeries(series, QStringLiteral("Weights clipped"));
    const probe::Series* actClip = findSeries(series, QStringLiteral("Activations clipped"));
    QVERIFY(weightClip && actClip);
    QVERIFY(weightClip->onRightAxis && actClip->onRightAxis);
    QCOMPARE(weightClip->keys.size(), 21);
    QCOMPARE(actClip->keys.size(), 22);
    QCOMPARE(actClip->values.at(5), rows[5].actClipRate);

    chart.rescale();
    const probe::Range y = probe::range(chart, probe::Axis::Y);
    for (double v : weights->values + acts->values) {
        QVERIFY2(y.contains(v), qPrintable(QString::number(v)));
    }
    const probe::Range y2 = probe::range(chart, probe::Axis::Y2);
    for (double v : weightClip->values + actClip->values) {
        QVERIFY(y2.contains(v));
    }

    chart.setSelectedLayer(QStringLiteral("layer3.0.downsample.0"));
    const int index = resnet20Layers().indexOf(QStringLiteral("layer3.0.downsample.0"));
    QCOMPARE(findBars(probe::bars(chart), QStringLiteral("Weight MSE"))->selectedKeys,
             (QVector<double>{double(index)}));
    QSignalSpy clicked(&chart, &QuantErrorChart::layerClicked);
    showAt(chart, 1000, 420);
    QTest::mouseClick(probe::surface(chart), Qt::LeftButton, Qt::NoModifier,
                      probe::pixelAt(chart, 12, 1e-5));
    QCOMPARE(clicked.count(), 1);
    QCOMPARE(clicked.at(0).at(0).toString(), resnet20Layers().at(12));
}

// ---------------------------------------------------------------------------------------------

void TestPlots::stepSizeOneLinePerQuantizedLayer() {
    StepSizePlot plot;
    const QVector<LayerSnapshot> history = stepHistory(5);
    LayerSnapshot first = history.at(0);
    first.layers[21].weightBits = 0;  // fc float at first: no step, no line yet
    plot.appendSnapshot(first);
    QCOMPARE(probe::graphs(plot).size(), 21);
    for (int s = 1; s < history.size(); ++s) {
        plot.appendSnapshot(history.at(s));
    }
    const QVector<probe::Series> series = probe::graphs(plot);
    QCOMPARE(series.size(), 22);
    QCOMPARE(plot.layers(), resnet20Layers());
    QCOMPARE(findSeries(series, QStringLiteral("conv1"))->keys.size(), 5);
    QCOMPARE(findSeries(series, QStringLiteral("fc"))->keys.size(), 4);
    QCOMPARE(findSeries(series, QStringLiteral("conv1"))->keys,
             (QVector<double>{0, 200, 400, 600, 800}));
    // Per-channel steps are shown as their mean.
    const QVector<double> steps = history.at(2).layers.at(4).weightSteps;
    double mean = 0.0;
    for (double s : steps) {
        mean += s / steps.size();
    }
    QVERIFY(qFuzzyCompare(findSeries(series, resnet20Layers().at(4))->values.at(2), mean));
    QVERIFY(probe::isLogarithmic(plot, probe::Axis::Y));
    plot.rescale();
    for (const probe::Series& s : series) {
        for (double v : s.values) {
            QVERIFY(probe::range(plot, probe::Axis::Y).contains(v));
        }
    }

    // setSnapshots replaces everything.
    plot.setSnapshots(stepHistory(3));
    QCOMPARE(probe::graphs(plot).size(), 22);
    QCOMPARE(findSeries(probe::graphs(plot), QStringLiteral("fc"))->keys.size(), 3);
    plot.clear();
    QCOMPARE(probe::graphs(plot).size(), 0);
    QVERIFY(plot.isEmptyStateVisible());
}

void TestPlots::stepSizeVisibleLayersAndLegend() {
    StepSizePlot plot;
    plot.setSnapshots(stepHistory(4));
    auto visibleNames = [&plot] {
        QStringList names;
        for (const probe::Series& s : probe::graphs(plot)) {
            if (s.visible) {
                names.append(s.name);
            }
        }
        return names;
    };
    // All 22: too many for a legend; coloured by depth with a note instead.
    QCOMPARE(visibleNames().size(), 22);
    QVERIFY(!probe::legendShown(plot));
    const QStringList texts = probe::visibleTexts(plot);
    QVERIFY(std::any_of(texts.cbegin(), texts.cend(),
                        [](const QString& t) { return t.contains(QLatin1String("22 layers")); }));

    const QStringList some{QStringLiteral("conv1"), QStringLiteral("layer2.0.conv1"),
                           QStringLiteral("fc")};
    plot.setVisibleLayers(some);
    QCOMPARE(visibleNames(), some);
    QVERIFY(probe::legendShown(plot));
    QCOMPARE(probe::legendItemCount(plot), 3);
    const QVector<probe::Series> series = probe::graphs(plot);
    QVERIFY(findSeries(series, some.at(0))->pen.color() !=
            findSeries(series, some.at(1))->pen.color());

    const QStringList eight = resnet20Layers().mid(0, StepSizePlot::kMaxLegendLayers);
    plot.setVisibleLayers(eight);
    QVERIFY(probe::legendShown(plot));
    QCOMPARE(probe::legendItemCount(plot), 8);
    plot.setVisibleLayers(resnet20Layers().mid(0, StepSizePlot::kMaxLegendLayers + 1));
    QVERIFY(!probe::legendShown(plot));

    plot.setVisibleLayers({});
    QCOMPARE(visibleNames().size(), 22);
}

void TestPlots::stepSizeSelectedLayerIsThicker() {
    StepSizePlot plot;
    plot.setSnapshots(stepHistory(4));
    plot.setSelectedLayer(QStringLiteral("layer3.1.conv2"));
    QCOMPARE(plot.selectedLayer(), QStringLiteral("layer3.1.conv2"));
    const QVector<probe::Series> series = probe::graphs(plot);
    const double selected = findSeries(series, QStringLiteral("layer3.1.conv2"))->pen.widthF();
    for (const probe::Series& s : series) {
        if (s.name != QLatin1String("layer3.1.conv2")) {
            QVERIFY2(s.pen.widthF() < selected, qPrintable(s.name));
        }
    }
    plot.setSelectedLayer(QString());
    const QVector<probe::Series> after = probe::graphs(plot);
    QCOMPARE(findSeries(after, QStringLiteral("layer3.1.conv2"))->pen.widthF(),
             findSeries(after, QStringLiteral("conv1"))->pen.widthF());
}

// ---------------------------------------------------------------------------------------------

void TestPlots::histogramGridLines_data() {
    QTest::addColumn<int>("bits");
    QTest::addColumn<double>("qn");
    QTest::addColumn<double>("qp");
    QTest::addColumn<int>("lines");
    QTest::addColumn<QString>("precision");
    QTest::newRow("3-bit signed: k in [-4, 3]") << 3 << 4.0 << 3.0 << 8 << "W3";
    QTest::newRow("4-bit signed: k in [-8, 7]") << 4 << 8.0 << 7.0 << 16 << "W4";
    QTest::newRow("2-bit unsigned: k in [0, 3]") << 2 << 0.0 << 3.0 << 4 << "W2";
    QTest::newRow("8-bit signed: k in [-128, 127]") << 8 << 128.0 << 127.0 << 256 << "W8";
    QTest::newRow("float: no grid") << 0 << 0.0 << 0.0 << 0 << "float";
}

void TestPlots::histogramGridLines() {
    QFETCH(int, bits);
    QFETCH(double, qn);
    QFETCH(double, qp);
    QFETCH(int, lines);
    QFETCH(QString, precision);
    WeightHistogramPlot plot;
    const WeightHistogram h = gaussianHistogram(bits, qn, qp);
    plot.setHistogram(h);
    QCOMPARE(plot.gridLineCount(), lines);
    QCOMPARE(probe::lineItemCount(plot), lines);
    QCOMPARE(plot.title(), QStringLiteral("layer2.1.conv1 at step 4680, ") + precision);
    const QVector<probe::Series> series = probe::graphs(plot);
    QCOMPARE(series.size(), 1);
    QCOMPARE(series.at(0).keys.size(), h.counts.size() + 1);  // bin edges, closing point at hi
    QCOMPARE(series.at(0).keys.first(), h.lo);
    QCOMPARE(series.at(0).keys.last(), h.hi);
    plot.rescale();
    const probe::Range x = probe::range(plot, probe::Axis::X);
    QVERIFY(x.contains(h.lo) && x.contains(h.hi));
    if (bits > 0) {
        QVERIFY(x.contains(-qn * h.stepSize) && x.contains(qp * h.stepSize));
    }
    const double peak = *std::max_element(h.counts.cbegin(), h.counts.cend());
    QVERIFY(probe::range(plot, probe::Axis::Y).contains(peak));

    // A new histogram replaces the grid instead of adding to it.
    plot.setHistogram(gaussianHistogram(3, 4, 3));
    QCOMPARE(probe::lineItemCount(plot), 8);
    plot.clear();
    QCOMPARE(probe::lineItemCount(plot), 0);
    QVERIFY(plot.title().isEmpty());
}

// ---------------------------------------------------------------------------------------------

void TestPlots::emptyState_data() {
    QTest::addColumn<PlotKind>("kind");
    QTest::addColumn<QString>("defaultText");
    const QString noRun = QStringLiteral("No run selected");
    QTest::newRow("training curves") << PlotKind::TrainingCurves << noRun;
    QTest::newRow("bit widths") << PlotKind::BitWidth << noRun;
    QTest::newRow("step sizes") << PlotKind::StepSize << noRun;
    QTest::newRow("quantization error") << PlotKind::QuantError << noRun;
    QTest::newRow("weight histogram") << PlotKind::Histogram << QStringLiteral("No layer selected");
}

void TestPlots::emptyState() {
    QFETCH(PlotKind, kind);
    QFETCH(QString, defaultText);
    std::unique_ptr<PlotWidget> plot = makePlot(kind);
    QVERIFY(plot->isEmptyStateVisible());
    QCOMPARE(plot->emptyText(), defaultText);
    QVERIFY(probe::visibleTexts(*plot).contains(defaultText));

    fill(kind, *plot);
    QVERIFY(!plot->isEmptyStateVisible());
    QVERIFY(!probe::visibleTexts(*plot).contains(defaultText));

    empty(kind, *plot);
    QVERIFY(plot->isEmptyStateVisible());
    plot->setEmptyText(QStringLiteral("Waiting for the first epoch"));
    QCOMPARE(plot->emptyText(), QStringLiteral("Waiting for the first epoch"));
    QVERIFY(probe::visibleTexts(*plot).contains(QStringLiteral("Waiting for the first epoch")));
}

void TestPlots::contextMenuOffersResetAndExport() {
    TrainingCurvesPlot plot;
    plot.addPoints(1, QStringLiteral("r"), trainingMetrics(2));
    showAt(plot, 700, 400);
    wheelZoom(plot);
    QVERIFY(!plot.isAutoRangeEnabled());

    QWidget* surface = probe::surface(plot);
    const QPoint pos = probe::axisRectCentre(plot);
    QContextMenuEvent event(QContextMenuEvent::Mouse, pos, surface->mapToGlobal(pos));
    QCoreApplication::sendEvent(surface, &event);
    auto* menu = plot.findChild<QMenu*>();
    QVERIFY(menu != nullptr);
    QStringList texts;
    for (QAction* action : menu->actions()) {
        if (!action->isSeparator()) {
            texts.append(action->text());
        }
    }
    QCOMPARE(texts, (QStringList{QStringLiteral("Reset view"), QStringLiteral("Save as PNG..."),
                                 QStringLiteral("Save as PDF...")}));
    menu->actions().at(0)->trigger();
    QVERIFY(plot.isAutoRangeEnabled());
    menu->close();
}

void TestPlots::savePng_data() {
    QTest::addColumn<PlotKind>("kind");
    QTest::addColumn<QSize>("size");
    QTest::newRow("training curves 640x480") << PlotKind::TrainingCurves << QSize(640, 480);
    QTest::newRow("bit widths 1200x400") << PlotKind::BitWidth << QSize(1200, 400);
    QTest::newRow("step sizes 800x450") << PlotKind::StepSize << QSize(800, 450);
    QTest::newRow("quantization error 300x200 (small)") << PlotKind::QuantError << QSize(300, 200);
    QTest::newRow("weight histogram 1920x1080") << PlotKind::Histogram << QSize(1920, 1080);
    QTest::newRow("empty training curves 500x300") << PlotKind::TrainingCurves << QSize(500, 300);
}

void TestPlots::savePng() {
    QFETCH(PlotKind, kind);
    QFETCH(QSize, size);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    std::unique_ptr<PlotWidget> plot = makePlot(kind);
    if (!QString(QTest::currentDataTag()).startsWith(QLatin1String("empty"))) {
        fill(kind, *plot);
    }
    const QString file = dir.filePath(QStringLiteral("plot.png"));
    QVERIFY(plot->savePng(file, size.width(), size.height()));
    QImage image;
    QVERIFY(image.load(file, "PNG"));
    QCOMPARE(image.size(), size);
    // Not a blank canvas: the plot drew something dark (axes, text) on white.
    int dark = 0;
    for (int y = 0; y < image.height(); y += 2) {
        for (int x = 0; x < image.width(); x += 2) {
            dark += qGray(image.pixel(x, y)) < 128;
        }
    }
    QVERIFY(dark > 50);
}

void TestPlots::savePdf_data() {
    QTest::addColumn<PlotKind>("kind");
    QTest::newRow("training curves") << PlotKind::TrainingCurves;
    QTest::newRow("quantization error") << PlotKind::QuantError;
    QTest::newRow("weight histogram") << PlotKind::Histogram;
}

void TestPlots::savePdf() {
    QFETCH(PlotKind, kind);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    std::unique_ptr<PlotWidget> plot = makePlot(kind);
    fill(kind, *plot);
    const QString file = dir.filePath(QStringLiteral("plot.pdf"));
    QVERIFY(plot->savePdf(file, 640, 400));
    QFile pdf(file);
    QVERIFY(pdf.open(QIODevice::ReadOnly));
    QCOMPARE(pdf.read(4), QByteArray("%PDF"));
    QVERIFY(pdf.size() > 1000);
}

// ---------------------------------------------------------------------------------------------

void TestPlots::screenshots() {
    const QString dirPath = qEnvironmentVariableIsSet("QS_SCREENSHOT_DIR")
                                ? qEnvironmentVariable("QS_SCREENSHOT_DIR")
                                : QDir::currentPath();
    QDir dir(dirPath);
    QVERIFY(dir.mkpath(QStringLiteral(".")));
    auto save = [&dir](PlotWidget& plot, const QString& name, int width, int height) {
        const QString file = dir.filePath(name);
        QVERIFY2(plot.savePng(file, width, height), qPrintable(file));
        QCOMPARE(QImage(file).size(), QSize(width, height));
        qInfo("wrote %s", qPrintable(file));
    };

    TrainingCurvesPlot curves;
    curves.addPoints(1, QStringLiteral("fp32"), trainingMetrics(12, 0.925, 1));
    save(curves, QStringLiteral("training_curves.png"), 900, 500);
    curves.addPoints(2, QStringLiteral("lsq-w4a4"), trainingMetrics(12, 0.905, 2));
    save(curves, QStringLiteral("training_curves_two_runs.png"), 900, 500);

    BitWidthChart bits;
    QVector<LayerRow> rows = resnet20Rows();
    rows[21].actBits = 0;  // one float slot, to show how it looks
    bits.setLayers(rows);
    bits.setSelectedLayer(QStringLiteral("layer2.1.conv1"));
    save(bits, QStringLiteral("bit_widths.png"), 900, 420);

    StepSizePlot steps;
    steps.setSnapshots(stepHistory(24));
    steps.setSelectedLayer(QStringLiteral("layer2.1.conv1"));
    save(steps, QStringLiteral("step_sizes_all.png"), 900, 480);
    steps.setVisibleLayers({QStringLiteral("conv1"), QStringLiteral("layer1.0.conv1"),
                            QStringLiteral("layer2.1.conv1"),
                            QStringLiteral("layer3.0.downsample.0"), QStringLiteral("fc")});
    save(steps, QStringLiteral("step_sizes_some.png"), 900, 480);

    QuantErrorChart errors;
    errors.setLayers(resnet20Rows());
    errors.setSelectedLayer(QStringLiteral("layer2.1.conv1"));
    save(errors, QStringLiteral("quant_errors.png"), 900, 420);

    WeightHistogramPlot histogram;
    histogram.setHistogram(gaussianHistogram(4, 8, 7));
    save(histogram, QStringLiteral("weight_histogram_w4.png"), 800, 450);
    histogram.setHistogram(gaussianHistogram(0, 0, 0));
    save(histogram, QStringLiteral("weight_histogram_float.png"), 800, 450);

    TrainingCurvesPlot none;
    save(none, QStringLiteral("empty_state.png"), 640, 360);
}

QTEST_MAIN(TestPlots)
#include "TestPlots.moc"
