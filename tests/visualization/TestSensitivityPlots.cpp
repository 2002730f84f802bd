// Tests of the sensitivity charts: the per-layer Hessian trace with error bars, the Omega chart
// with the allocation marked, and the Pareto frontier with its budget. What they draw for given
// data, how a log axis copes with zero and negative values, the budget's choice, clicks, the empty
// state and 200 layers. `screenshots` renders each chart with ResNet-20-shaped data to PNGs
// (QS_SCREENSHOT_DIR, default the working directory) for a look by eye.
#include "PlotProbe.h"
#include "visualization/LayerTraceChart.h"
#include "visualization/OmegaChart.h"
#include "visualization/ParetoPlot.h"

#include <QDir>
#include <QElapsedTimer>
#include <QImage>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QToolTip>

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <optional>
#include <random>

using namespace qs::ui;
namespace probe = qs::ui::probe;
using probe::resnet20Layers;

namespace {

// ---------------------------------------------------------------------------------------------
// Synthetic figures shaped like a ResNet-20 analysis: traces from 1e-2 to 1e2 (largest in the
// first layers), Omegas from the quantization error of a uniform grid over [-0.1, 0.1].

const QVector<int> kCandidateBits{2, 3, 4, 8};

/// The weights of a ResNet-20 layer: 3x3 convolutions of 16, 32 or 64 channels, 1x1 shortcuts.
qint64 paramsOf(const QString& layer) {
    if (layer == QLatin1String("conv1")) {
        return 16 * 3 * 9;
    }
    if (layer == QLatin1String("fc")) {
        return 64 * 10;
    }
    const qint64 c = layer.startsWith(QLatin1String("layer3"))   ? 64
                     : layer.startsWith(QLatin1String("layer2")) ? 32
                                                                 : 16;
    if (layer.contains(QLatin1String("downsample"))) {
        return c * c / 2;
    }
    const bool firstOfStage = layer.endsWith(QLatin1String(".0.conv1")) && c > 16;
    return (firstOfStage ? c / 2 : c) * c * 9;
}

/// Omega_i(b) = Tr/n * ||Q_b(W) - W||^2 with the error n * delta^2 / 12 of a grid of step delta.
double omegaOf(double trace, int bits) {
    const double delta = 0.2 / (std::pow(2.0, bits) - 1.0);
    return trace * delta * delta / 12.0;
}

QVector<LayerSensitivity> sensitivities(const QStringList& names, unsigned seed = 3) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> jitter(-0.35, 0.35);
    std::uniform_real_distribution<double> relativeSe(0.04, 0.25);
    QVector<LayerSensitivity> layers;
    for (int i = 0; i < names.size(); ++i) {
        LayerSensitivity layer;
        layer.layer = names.at(i);
        layer.params = paramsOf(layer.layer);
        layer.macs = layer.params * 1024;
        // From 1e2 at the input down to 1e-2 at the end, with some scatter.
        const double depth = names.size() > 1 ? double(i) / (names.size() - 1) : 0.0;
        layer.trace = std::pow(10.0, 2.0 - 4.0 * depth + jitter(rng));
        layer.traceSe = layer.trace * relativeSe(rng);
        for (int bits : kCandidateBits) {
            layer.omega.insert(bits, omegaOf(layer.trace, bits));
        }
        layers.append(layer);
    }
    return layers;
}

double sizeOf(const QVector<LayerSensitivity>& layers, const QMap<QString, int>& bits) {
    double bytes = 0.0;
    for (const LayerSensitivity& layer : layers) {
        bytes += layer.params * bits.value(layer.layer) / 8.0;
    }
    return bytes;
}

FrontierPoint pointFor(const QVector<LayerSensitivity>& layers, const QMap<QString, int>& bits) {
    FrontierPoint point;
    point.bits = bits;
    point.sizeBytes = sizeOf(layers, bits);
    for (const LayerSensitivity& layer : layers) {
        const int b = bits.value(layer.layer);
        point.omega += layer.omega.value(b);
        point.bitOps += double(layer.macs) * b * 8;
    }
    return point;
}

/// A frontier from a Lagrangian sweep: for each lambda every layer picks the bits minimising
/// Omega + lambda * size; the distinct allocations, by size (about 60 for ResNet-20).
ParetoFrontier frontierOf(const QVector<LayerSensitivity>& layers) {
    ParetoFrontier frontier;
    QVector<QMap<QString, int>> seen;
    for (double e = -12.0; e <= 2.0; e += 0.01) {
        const double lambda = std::pow(10.0, e);
        QMap<QString, int> bits;
        for (const LayerSensitivity& layer : layers) {
            int best = kCandidateBits.first();
            double bestCost = HUGE_VAL;
            for (int b : kCandidateBits) {
                const double cost = layer.omega.value(b) + lambda * layer.params * b / 8.0;
                if (cost < bestCost) {
                    best = b;
                    bestCost = cost;
                }
            }
            bits.insert(layer.layer, best);
        }
        if (!seen.contains(bits)) {
            seen.append(bits);
            frontier.points.append(pointFor(layers, bits));
        }
    }
    std::sort(
        frontier.points.begin(), frontier.points.end(),
        [](const FrontierPoint& a, const FrontierPoint& b) { return a.sizeBytes < b.sizeBytes; });
    for (int b : kCandidateBits) {
        QMap<QString, int> bits;
        for (const LayerSensitivity& layer : layers) {
            bits.insert(layer.layer, b);
        }
        frontier.uniform.insert(b, pointFor(layers, bits));
    }
    return frontier;
}

/// A frontier of `count` points with sizes 1000, 2000, ... bytes and falling Omegas.
ParetoFrontier simpleFrontier(int count) {
    ParetoFrontier frontier;
    for (int i = 0; i < count; ++i) {
        FrontierPoint point;
        point.sizeBytes = 1000.0 * (i + 1);
        point.omega = std::pow(10.0, -0.1 * i);
        frontier.points.append(point);
    }
    return frontier;
}

QStringList manyLayers(int count) {
    QStringList names;
    for (int i = 0; i < count; ++i) {
        names << QStringLiteral("encoder.layer.%1.attention.self.query").arg(i);
    }
    return names;
}

/// A copy of the series of that name, if there is one.
std::optional<probe::Series> findSeries(const QVector<probe::Series>& series, const QString& name) {
    const auto it = std::find_if(series.cbegin(), series.cend(),
                                 [&](const probe::Series& s) { return s.name == name; });
    return it == series.cend() ? std::nullopt : std::optional<probe::Series>(*it);
}

/// Shows the widget at a fixed size and lays it out, for pixel positions and mouse events.
void showAt(PlotWidget& plot, int width, int height) {
    plot.resize(width, height);
    plot.show();
    QVERIFY(QTest::qWaitForWindowExposed(&plot));
    probe::replotNow(plot);
}

/// Moves the mouse over `pos` of the plot's surface, no button pressed.
void hover(PlotWidget& plot, const QPoint& pos) {
    QWidget* surface = probe::surface(plot);
    QMouseEvent move(QEvent::MouseMove, pos, surface->mapToGlobal(pos), Qt::NoButton, Qt::NoButton,
                     Qt::NoModifier);
    QCoreApplication::sendEvent(surface, &move);
}

/// Whether an exported image holds more than a blank canvas: some dark pixels (axes, text).
bool drewSomething(const QImage& image) {
    int dark = 0;
    for (int y = 0; y < image.height(); y += 2) {
        for (int x = 0; x < image.width(); x += 2) {
            dark += qGray(image.pixel(x, y)) < 128;
        }
    }
    return dark > 50;
}

enum class ChartKind { Trace, Omega, Pareto };

std::unique_ptr<PlotWidget> makeChart(ChartKind kind) {
    switch (kind) {
        case ChartKind::Trace:
            return std::make_unique<LayerTraceChart>();
        case ChartKind::Omega:
            return std::make_unique<OmegaChart>();
        case ChartKind::Pareto:
            return std::make_unique<ParetoPlot>();
    }
    return nullptr;
}

/// Fills the chart with ResNet-20 figures, or empties it when `layers` is empty.
void fill(ChartKind kind, PlotWidget& chart, const QVector<LayerSensitivity>& layers) {
    switch (kind) {
        case ChartKind::Trace:
            static_cast<LayerTraceChart&>(chart).setLayers(layers);
            break;
        case ChartKind::Omega:
            static_cast<OmegaChart&>(chart).setLayers(layers);
            break;
        case ChartKind::Pareto:
            static_cast<ParetoPlot&>(chart).setFrontier(layers.isEmpty() ? ParetoFrontier{}
                                                                         : frontierOf(layers));
            break;
    }
}

}  // namespace

Q_DECLARE_METATYPE(ChartKind)

class TestSensitivityPlots : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // --- LayerTraceChart ---
    void traceBarsAndErrorBarsHoldTheValues();
    void traceErrorBarsFollowTheStandardErrorCount();
    void traceLogAxisClampsZeroAndNegativeTraces();
    void traceLinearAxisShowsNegativeTraces();
    void traceClickEmitsLayerAndHoverReadsOut();
    // --- OmegaChart ---
    void omegaOneLinePerCandidateBits();
    void omegaMarksTheAllocation();
    void omegaClampsNonPositiveOmegas();
    // --- ParetoPlot ---
    void paretoStepLineAndUniformReferences();
    void paretoBudgetChoosesLargestPointWithin_data();
    void paretoBudgetChoosesLargestPointWithin();
    void paretoSortsTheFrontierAndPicksTheLowerOmegaOnTies();
    void paretoClickEmitsPointChosenAndHoverReadsOut();
    void paretoSizeUnitFollowsTheModel();
    void paretoClampsNonPositiveOmegas();
    // --- all three ---
    void emptyState_data();
    void emptyState();
    void twoHundredLayers();
    void screenshots();
};

// ---------------------------------------------------------------------------------------------

void TestSensitivityPlots::traceBarsAndErrorBarsHoldTheValues() {
    LayerTraceChart chart;
    const QVector<LayerSensitivity> layers = sensitivities(resnet20Layers());
    chart.setLayers(layers);

    QVERIFY(chart.isLogScale());
    QVERIFY(probe::isLogarithmic(chart, probe::Axis::Y));
    QCOMPARE(chart.layerNames(), resnet20Layers());
    const QVector<probe::Bars> bars = probe::bars(chart);
    QCOMPARE(bars.size(), 1);
    QCOMPARE(bars.at(0).keys.size(), layers.size());
    for (int i = 0; i < layers.size(); ++i) {
        QCOMPARE(bars.at(0).keys.at(i), double(i));
        QCOMPARE(bars.at(0).values.at(i), layers.at(i).trace);
    }

    const QVector<probe::ErrorBars> errors = probe::errorBars(chart);
    QCOMPARE(errors.size(), 1);
    QCOMPARE(errors.at(0).values, bars.at(0).values);
    for (int i = 0; i < layers.size(); ++i) {
        // Every synthetic interval stays above zero: +- 2 SE on both sides.
        QVERIFY(layers.at(i).trace - 2 * layers.at(i).traceSe > 0.0);
        QCOMPARE(errors.at(0).plus.at(i), 2 * layers.at(i).traceSe);
        QCOMPARE(errors.at(0).minus.at(i), 2 * layers.at(i).traceSe);
    }
    QVERIFY(errors.at(0).inLegend);
    QCOMPARE(errors.at(0).name, QStringLiteral("\u00b1 2 standard errors"));
    QVERIFY(probe::axisLabel(chart, probe::Axis::Y).contains(QStringLiteral("\u00b1 2 SE")));
    QVERIFY(chart.clampedLayers().isEmpty());
    QVERIFY(!probe::legendNames(chart).contains(clampedSeriesName()));

    // The axis holds every bar and both ends of every error bar.
    chart.rescale();
    const probe::Range y = probe::range(chart, probe::Axis::Y);
    for (const LayerSensitivity& layer : layers) {
        QVERIFY(y.contains(layer.trace - 2 * layer.traceSe));
        QVERIFY(y.contains(layer.trace + 2 * layer.traceSe));
    }

    // Layer names along x, every one readable at this width.
    showAt(chart, 1100, 460);
    QCOMPARE(probe::tickLabels(chart, probe::Axis::X), resnet20Layers());
}

void TestSensitivityPlots::traceErrorBarsFollowTheStandardErrorCount() {
    LayerTraceChart chart;
    const QVector<LayerSensitivity> layers = sensitivities(resnet20Layers());
    chart.setLayers(layers);
    chart.setStandardErrors(1);
    QCOMPARE(chart.standardErrors(), 1);
    probe::ErrorBars errors = probe::errorBars(chart).at(0);
    for (int i = 0; i < layers.size(); ++i) {
        QCOMPARE(errors.plus.at(i), layers.at(i).traceSe);
        QCOMPARE(errors.minus.at(i), layers.at(i).traceSe);
    }
    QCOMPARE(errors.name, QStringLiteral("\u00b1 1 standard error"));
    QVERIFY(probe::axisLabel(chart, probe::Axis::Y).contains(QStringLiteral("\u00b1 1 SE")));

    chart.setStandardErrors(5);  // clamped to 2
    QCOMPARE(chart.standardErrors(), 2);
    errors = probe::errorBars(chart).at(0);
    QCOMPARE(errors.plus.at(3), 2 * layers.at(3).traceSe);
}

void TestSensitivityPlots::traceLogAxisClampsZeroAndNegativeTraces() {
    LayerTraceChart chart;
    QVector<LayerSensitivity> layers = sensitivities(resnet20Layers());
    layers[4].trace = 0.0;
    layers[11].trace = -0.37;
    layers[15].trace = 0.05;  // its interval reaches below zero
    layers[15].traceSe = 0.04;
    chart.setLayers(layers);

    QCOMPARE(chart.clampedLayers(), (QStringList{layers.at(4).layer, layers.at(11).layer}));
    const probe::Bars bars = probe::bars(chart).at(0);
    QCOMPARE(bars.keys.size(), layers.size() - 2);
    QVERIFY(!bars.keys.contains(4) && !bars.keys.contains(11));
    QVERIFY(std::all_of(bars.values.cbegin(), bars.values.cend(), [](double v) { return v > 0; }));

    // The clamped ones get a marker of their own, named in the legend, below every bar and
    // inside the axis range, which stays positive.
    const std::optional<probe::Series> clamped =
        findSeries(probe::graphs(chart), clampedSeriesName());
    QVERIFY(clamped.has_value());
    QCOMPARE(clamped->keys, (QVector<double>{4, 11}));
    QVERIFY(clamped->hasMarkers);
    QVERIFY(probe::legendNames(chart).contains(clampedSeriesName()));
    chart.rescale();
    const probe::Range y = probe::range(chart, probe::Axis::Y);
    QVERIFY(y.lower > 0.0 && std::isfinite(y.upper));
    const double lowestBar = *std::min_element(bars.values.cbegin(), bars.values.cend());
    for (double v : clamped->values) {
        QVERIFY(y.contains(v) && v > y.lower && v < lowestBar);
    }

    // The interval of layer 15 ends at the axis bottom instead of at a negative value.
    const probe::ErrorBars errors = probe::errorBars(chart).at(0);
    const int at15 = errors.keys.indexOf(15);
    QCOMPARE(errors.plus.at(at15), 2 * 0.04);
    QVERIFY(qFuzzyCompare(errors.values.at(at15) - errors.minus.at(at15), y.lower));
    for (int i = 0; i < errors.minus.size(); ++i) {
        QVERIFY(errors.values.at(i) - errors.minus.at(i) >= y.lower * (1 - 1e-12));
    }

    // It draws: a log axis with no positive trace at all, too.
    QTemporaryDir dir;
    QVERIFY(chart.savePng(dir.filePath(QStringLiteral("clamped.png")), 800, 400));
    for (LayerSensitivity& layer : layers) {
        layer.trace = -std::abs(layer.trace);
    }
    chart.setLayers(layers);
    QCOMPARE(chart.clampedLayers().size(), layers.size());
    QVERIFY(probe::bars(chart).at(0).keys.isEmpty());
    chart.rescale();
    QVERIFY(probe::range(chart, probe::Axis::Y).lower > 0.0);
    const QString file = dir.filePath(QStringLiteral("negative.png"));
    QVERIFY(chart.savePng(file, 800, 400));
    QVERIFY(drewSomething(QImage(file)));
}

void TestSensitivityPlots::traceLinearAxisShowsNegativeTraces() {
    LayerTraceChart chart;
    QVector<LayerSensitivity> layers = sensitivities(resnet20Layers());
    layers[11].trace = -0.37;
    layers[11].traceSe = 0.1;
    chart.setLayers(layers);
    chart.setLogScale(false);

    QVERIFY(!probe::isLogarithmic(chart, probe::Axis::Y));
    QVERIFY(chart.clampedLayers().isEmpty());
    const probe::Bars bars = probe::bars(chart).at(0);
    QCOMPARE(bars.keys.size(), layers.size());
    QCOMPARE(bars.values.at(11), -0.37);
    const probe::ErrorBars errors = probe::errorBars(chart).at(0);
    QCOMPARE(errors.minus.at(11), 0.2);
    chart.rescale();
    const probe::Range y = probe::range(chart, probe::Axis::Y);
    QVERIFY(y.contains(-0.37 - 0.2));
    QVERIFY(y.contains(0.0));
    for (const LayerSensitivity& layer : layers) {
        QVERIFY(y.contains(layer.trace + 2 * layer.traceSe));
    }

    chart.setLogScale(true);
    QCOMPARE(chart.clampedLayers(), QStringList{layers.at(11).layer});
}

void TestSensitivityPlots::traceClickEmitsLayerAndHoverReadsOut() {
    LayerTraceChart chart;
    QVector<LayerSensitivity> layers = sensitivities(resnet20Layers());
    layers[9].trace = 1.2345;
    layers[9].traceSe = 0.0678;
    chart.setLayers(layers);
    showAt(chart, 1000, 460);

    // Hovering a layer shows its exact figures.
    hover(chart, probe::pixelAt(chart, 9, 0.1));
    QTRY_VERIFY(QToolTip::isVisible());
    QVERIFY2(QToolTip::text().contains(QStringLiteral("1.2345 \u00b1 0.0678")),
             qPrintable(QToolTip::text()));
    QVERIFY(QToolTip::text().contains(layers.at(9).layer));
    QToolTip::hideText();

    QSignalSpy clicked(&chart, &LayerTraceChart::layerClicked);
    QTest::mouseClick(probe::surface(chart), Qt::LeftButton, Qt::NoModifier,
                      probe::pixelAt(chart, 9, 1.0));
    QCOMPARE(clicked.count(), 1);
    QCOMPARE(clicked.at(0).at(0).toString(), resnet20Layers().at(9));
    chart.setSelectedLayer(resnet20Layers().at(9));
    QCOMPARE(probe::bars(chart).at(0).selectedKeys, (QVector<double>{9}));
}

// ---------------------------------------------------------------------------------------------

void TestSensitivityPlots::omegaOneLinePerCandidateBits() {
    OmegaChart chart;
    const QVector<LayerSensitivity> layers = sensitivities(resnet20Layers());
    chart.setLayers(layers);

    QCOMPARE(chart.candidateBits(), kCandidateBits);
    QVERIFY(probe::isLogarithmic(chart, probe::Axis::Y));
    const QVector<probe::Series> series = probe::graphs(chart);
    chart.rescale();
    const probe::Range y = probe::range(chart, probe::Axis::Y);
    QColor previous;
    for (int bits : kCandidateBits) {
        const std::optional<probe::Series> line =
            findSeries(series, QStringLiteral("%1 bits").arg(bits));
        QVERIFY2(line.has_value(), qPrintable(QString::number(bits)));
        QVERIFY(line->hasMarkers && line->inLegend);
        QCOMPARE(line->keys.size(), layers.size());
        for (int i = 0; i < layers.size(); ++i) {
            QCOMPARE(line->values.at(i), layers.at(i).omega.value(bits));
            QVERIFY(y.contains(line->values.at(i)));
        }
        QVERIFY(line->pen.color() != previous);  // each bit-width its own colour
        previous = line->pen.color();
    }
    // No allocation yet: nothing ringed, nothing in the legend for it.
    QVERIFY(findSeries(series, QStringLiteral("Allocated bits"))->keys.isEmpty());
    QVERIFY(!probe::legendNames(chart).contains(QStringLiteral("Allocated bits")));

    // Other candidates replace the lines.
    QVector<LayerSensitivity> fewer = layers;
    for (LayerSensitivity& layer : fewer) {
        layer.omega.remove(3);
        layer.omega.remove(8);
    }
    chart.setLayers(fewer);
    QCOMPARE(chart.candidateBits(), (QVector<int>{2, 4}));
    QVERIFY(!findSeries(probe::graphs(chart), QStringLiteral("3 bits")).has_value());
}

void TestSensitivityPlots::omegaMarksTheAllocation() {
    OmegaChart chart;
    const QVector<LayerSensitivity> layers = sensitivities(resnet20Layers());
    chart.setLayers(layers);
    QMap<QString, int> allocation;
    for (int i = 0; i < layers.size(); ++i) {
        if (i != 6) {  // layer 6 left out of the allocation
            allocation.insert(layers.at(i).layer, kCandidateBits.at(i % kCandidateBits.size()));
        }
    }
    allocation.insert(layers.at(7).layer, 5);  // bits without an Omega: no ring
    chart.setAllocation(allocation);
    QCOMPARE(chart.allocation(), allocation);

    const std::optional<probe::Series> rings =
        findSeries(probe::graphs(chart), QStringLiteral("Allocated bits"));
    QVERIFY(rings.has_value());
    QVERIFY(rings->hasMarkers && rings->inLegend);
    QCOMPARE(rings->keys.size(), layers.size() - 2);
    QVERIFY(!rings->keys.contains(6) && !rings->keys.contains(7));
    for (int j = 0; j < rings->keys.size(); ++j) {
        const LayerSensitivity& layer = layers.at(int(rings->keys.at(j)));
        // The ring sits on the Omega of the allocated bits, i.e. on that bit-width's marker.
        QCOMPARE(rings->values.at(j), layer.omega.value(allocation.value(layer.layer)));
    }

    // A new allocation moves the rings; the data stays.
    QMap<QString, int> allEight;
    for (const LayerSensitivity& layer : layers) {
        allEight.insert(layer.layer, 8);
    }
    chart.setAllocation(allEight);
    const std::optional<probe::Series> moved =
        findSeries(probe::graphs(chart), QStringLiteral("Allocated bits"));
    QCOMPARE(moved->values, findSeries(probe::graphs(chart), QStringLiteral("8 bits"))->values);

    chart.setAllocation({});
    QVERIFY(findSeries(probe::graphs(chart), QStringLiteral("Allocated bits"))->keys.isEmpty());
    QVERIFY(!probe::legendNames(chart).contains(QStringLiteral("Allocated bits")));
}

void TestSensitivityPlots::omegaClampsNonPositiveOmegas() {
    OmegaChart chart;
    QVector<LayerSensitivity> layers = sensitivities(resnet20Layers());
    layers[5].omega[2] = -1e-4;  // from a negative trace estimate
    layers[5].omega[3] = 0.0;
    chart.setLayers(layers);
    QMap<QString, int> allocation{{layers.at(5).layer, 2}};
    chart.setAllocation(allocation);

    const QVector<probe::Series> series = probe::graphs(chart);
    const std::optional<probe::Series> clamped = findSeries(series, clampedSeriesName());
    QVERIFY(clamped.has_value() && clamped->inLegend);
    QCOMPARE(clamped->keys, (QVector<double>{5, 5}));
    // Not on the lines (a gap), but ringed at the clamped height when allocated.
    QVERIFY(std::isnan(findSeries(series, QStringLiteral("2 bits"))->values.at(5)));
    QVERIFY(std::isnan(findSeries(series, QStringLiteral("3 bits"))->values.at(5)));
    QCOMPARE(findSeries(series, QStringLiteral("Allocated bits"))->values,
             (QVector<double>{clamped->values.at(0)}));
    chart.rescale();
    const probe::Range y = probe::range(chart, probe::Axis::Y);
    QVERIFY(y.lower > 0.0 && y.contains(clamped->values.at(0)));
    for (const LayerSensitivity& layer : layers) {
        for (double omega : layer.omega) {
            QVERIFY(omega <= 0.0 || omega > clamped->values.at(0));
        }
    }
}

// ---------------------------------------------------------------------------------------------

void TestSensitivityPlots::paretoStepLineAndUniformReferences() {
    ParetoPlot plot;
    const QVector<LayerSensitivity> layers = sensitivities(resnet20Layers());
    const ParetoFrontier frontier = frontierOf(layers);
    QVERIFY(frontier.points.size() >= 40);
    plot.setFrontier(frontier);

    QVERIFY(probe::isLogarithmic(plot, probe::Axis::Y));
    QCOMPARE(plot.sizeUnit(), QStringLiteral("kB"));
    QCOMPARE(probe::axisLabel(plot, probe::Axis::X), QStringLiteral("Model size (kB)"));
    const QVector<probe::Series> series = probe::graphs(plot);
    const std::optional<probe::Series> line = findSeries(series, QStringLiteral("Pareto frontier"));
    QVERIFY(line.has_value() && line->hasMarkers);
    QCOMPARE(line->keys.size(), frontier.points.size());
    for (int i = 0; i < frontier.points.size(); ++i) {
        QCOMPARE(line->keys.at(i), frontier.points.at(i).sizeBytes / 1000.0);
        QCOMPARE(line->values.at(i), frontier.points.at(i).omega);
    }

    const std::optional<probe::Series> uniform = findSeries(series, QStringLiteral("Uniform bits"));
    QVERIFY(uniform.has_value() && uniform->inLegend);
    QCOMPARE(uniform->keys.size(), 4);
    QCOMPARE(uniform->values.at(2), frontier.uniform.value(4).omega);
    const QStringList texts = probe::visibleTexts(plot);
    for (const QString& label : {QStringLiteral("2-bit"), QStringLiteral("3-bit"),
                                 QStringLiteral("4-bit"), QStringLiteral("8-bit")}) {
        QVERIFY2(texts.contains(label), qPrintable(label));
    }

    plot.rescale();
    const probe::Range x = probe::range(plot, probe::Axis::X);
    const probe::Range y = probe::range(plot, probe::Axis::Y);
    for (const FrontierPoint& point : frontier.points + frontier.uniform.values().toVector()) {
        QVERIFY(x.contains(point.sizeBytes / 1000.0));
        QVERIFY(y.contains(point.omega));
    }

    // Without uniform points: no reference series in the legend, no labels.
    ParetoFrontier bare = frontier;
    bare.uniform.clear();
    plot.setFrontier(bare);
    QVERIFY(!probe::legendNames(plot).contains(QStringLiteral("Uniform bits")));
    QVERIFY(!probe::visibleTexts(plot).contains(QStringLiteral("4-bit")));
}

void TestSensitivityPlots::paretoBudgetChoosesLargestPointWithin_data() {
    QTest::addColumn<double>("budget");
    QTest::newRow("below the smallest") << 999.0;
    QTest::newRow("exactly the smallest") << 1000.0;
    QTest::newRow("between two points") << 7450.5;
    QTest::newRow("exactly a point") << 23000.0;
    QTest::newRow("just under a point") << 22999.9;
    QTest::newRow("above the largest") << 1e9;
    QTest::newRow("no budget") << 0.0;
}

void TestSensitivityPlots::paretoBudgetChoosesLargestPointWithin() {
    QFETCH(double, budget);
    ParetoPlot plot;
    const ParetoFrontier frontier = simpleFrontier(60);
    plot.setFrontier(frontier);
    plot.setBudget(budget);

    // The expectation, straight from the definition: the largest size within the budget.
    int expected = -1;
    for (int i = 0; i < frontier.points.size(); ++i) {
        const double size = frontier.points.at(i).sizeBytes;
        if (budget > 0.0 && size <= budget &&
            (expected < 0 || size > frontier.points.at(expected).sizeBytes)) {
            expected = i;
        }
    }
    QCOMPARE(plot.chosenIndex(), expected);
    QCOMPARE(plot.budget(), budget);

    const std::optional<probe::Series> ring =
        findSeries(probe::graphs(plot), QStringLiteral("Chosen for the budget"));
    QVERIFY(ring.has_value());
    if (expected >= 0) {
        QCOMPARE(ring->keys, (QVector<double>{frontier.points.at(expected).sizeBytes / 1000.0}));
        QCOMPARE(ring->values, (QVector<double>{frontier.points.at(expected).omega}));
    } else {
        QVERIFY(ring->keys.isEmpty());
    }
    QCOMPARE(ring->inLegend, expected >= 0);

    // The budget line and its label show where the budget is, and what it buys.
    const QStringList texts = probe::visibleTexts(plot);
    const auto label = std::find_if(texts.cbegin(), texts.cend(), [](const QString& text) {
        return text.startsWith(QStringLiteral("budget"));
    });
    if (budget > 0.0) {
        QVERIFY(label != texts.cend());
        QVERIFY(label->contains(expected >= 0 ? QStringLiteral("chosen")
                                              : QStringLiteral("no allocation fits")));
        plot.rescale();
        QVERIFY(probe::range(plot, probe::Axis::X).contains(budget / 1000.0));
    } else {
        QVERIFY(label == texts.cend());
    }
    QCOMPARE(probe::lineItemCount(plot), 1);
}

void TestSensitivityPlots::paretoSortsTheFrontierAndPicksTheLowerOmegaOnTies() {
    ParetoPlot plot;
    ParetoFrontier frontier = simpleFrontier(10);
    std::reverse(frontier.points.begin(), frontier.points.end());
    FrontierPoint tie = frontier.points.at(4);  // 6000 bytes
    tie.omega *= 0.5;
    frontier.points.append(tie);
    plot.setFrontier(frontier);

    const QVector<FrontierPoint>& sorted = plot.frontier().points;
    QCOMPARE(sorted.size(), 11);
    for (int i = 1; i < sorted.size(); ++i) {
        QVERIFY(sorted.at(i - 1).sizeBytes <= sorted.at(i).sizeBytes);
    }
    plot.setBudget(6500.0);
    QCOMPARE(sorted.at(plot.chosenIndex()).sizeBytes, 6000.0);
    QCOMPARE(sorted.at(plot.chosenIndex()).omega, tie.omega);

    // A new frontier keeps the budget and chooses again.
    plot.setFrontier(simpleFrontier(3));
    QCOMPARE(plot.budget(), 6500.0);
    QCOMPARE(plot.chosenIndex(), 2);
}

void TestSensitivityPlots::paretoClickEmitsPointChosenAndHoverReadsOut() {
    ParetoPlot plot;
    const ParetoFrontier frontier = frontierOf(sensitivities(resnet20Layers()));
    plot.setFrontier(frontier);
    plot.setBudget(frontier.points.at(30).sizeBytes);
    showAt(plot, 900, 520);
    QSignalSpy chosen(&plot, &ParetoPlot::pointChosen);

    // Points far enough apart on screen to be told apart by a click.
    for (int index : {5, 17, int(frontier.points.size()) - 1}) {
        const FrontierPoint& point = frontier.points.at(index);
        const QPoint pixel = probe::pixelAt(plot, point.sizeBytes / 1000.0, point.omega);
        QTest::mouseClick(probe::surface(plot), Qt::LeftButton, Qt::NoModifier,
                          pixel + QPoint(2, -1));
        QCOMPARE(chosen.count(), 1);
        QCOMPARE(chosen.takeFirst().at(0).toInt(), index);
    }
    // The plot does not move the budget by itself.
    QCOMPARE(plot.chosenIndex(), 30);

    // Hovering a point reads out its size, Omega and bits.
    const FrontierPoint& point = frontier.points.at(17);
    hover(plot, probe::pixelAt(plot, point.sizeBytes / 1000.0, point.omega));
    QTRY_VERIFY(QToolTip::isVisible());
    const QString tip = QToolTip::text();
    QVERIFY2(tip.contains(QStringLiteral("Frontier point 17")), qPrintable(tip));
    QVERIFY(tip.contains(QString::number(point.omega, 'g', 3)));
    QVERIFY(tip.contains(QString::number(point.sizeBytes / 1000.0, 'f', 1) + " kB"));
    QToolTip::hideText();

    // Far from every marker: nothing.
    const QPoint corner = probe::pixelAt(plot, frontier.points.last().sizeBytes / 1000.0,
                                         frontier.points.first().omega);
    QTest::mouseClick(probe::surface(plot), Qt::LeftButton, Qt::NoModifier, corner);
    QCOMPARE(chosen.count(), 0);
}

void TestSensitivityPlots::paretoSizeUnitFollowsTheModel() {
    ParetoPlot plot;
    ParetoFrontier frontier = simpleFrontier(5);
    for (FrontierPoint& point : frontier.points) {
        point.sizeBytes *= 3000.0;  // 3 MB to 15 MB
    }
    plot.setFrontier(frontier);
    QCOMPARE(plot.sizeUnit(), QStringLiteral("MB"));
    QCOMPARE(plot.unitBytes(), 1e6);
    QCOMPARE(probe::graphs(plot).at(0).keys.at(0), 3.0);
    QCOMPARE(probe::axisLabel(plot, probe::Axis::X), QStringLiteral("Model size (MB)"));

    for (FrontierPoint& point : frontier.points) {
        point.sizeBytes /= 1e5;  // 30 to 150 bytes
    }
    plot.setFrontier(frontier);
    QCOMPARE(plot.sizeUnit(), QStringLiteral("B"));
    QCOMPARE(probe::graphs(plot).at(0).keys.at(0), 30.0);
}

void TestSensitivityPlots::paretoClampsNonPositiveOmegas() {
    ParetoPlot plot;
    ParetoFrontier frontier = simpleFrontier(8);
    frontier.points[7].omega = -2e-3;  // sums of negative trace estimates
    frontier.uniform.insert(8, frontier.points.at(7));
    plot.setFrontier(frontier);
    plot.setBudget(1e6);
    QCOMPARE(plot.chosenIndex(), 7);

    const QVector<probe::Series> series = probe::graphs(plot);
    QVERIFY(std::isnan(findSeries(series, QStringLiteral("Pareto frontier"))->values.at(7)));
    const std::optional<probe::Series> clamped = findSeries(series, clampedSeriesName());
    QVERIFY(clamped.has_value() && clamped->inLegend);
    QCOMPARE(clamped->keys, (QVector<double>{8.0, 8.0}));
    plot.rescale();
    const probe::Range y = probe::range(plot, probe::Axis::Y);
    QVERIFY(y.lower > 0.0 && y.contains(clamped->values.at(0)));
    // The chosen point and the uniform reference are drawn where the clamped marker is.
    QCOMPARE(findSeries(series, QStringLiteral("Chosen for the budget"))->values,
             (QVector<double>{clamped->values.at(0)}));
    QCOMPARE(findSeries(series, QStringLiteral("Uniform bits"))->values,
             (QVector<double>{clamped->values.at(0)}));
}

// ---------------------------------------------------------------------------------------------

void TestSensitivityPlots::emptyState_data() {
    QTest::addColumn<ChartKind>("kind");
    QTest::newRow("trace") << ChartKind::Trace;
    QTest::newRow("omega") << ChartKind::Omega;
    QTest::newRow("pareto") << ChartKind::Pareto;
}

void TestSensitivityPlots::emptyState() {
    QFETCH(ChartKind, kind);
    std::unique_ptr<PlotWidget> chart = makeChart(kind);
    QVERIFY(chart->isEmptyStateVisible());
    QTemporaryDir dir;
    QVERIFY(chart->savePng(dir.filePath(QStringLiteral("empty.png")), 500, 300));
    QVERIFY(!probe::legendShown(*chart));

    fill(kind, *chart, sensitivities(resnet20Layers()));
    QVERIFY(!chart->isEmptyStateVisible());
    QVERIFY(probe::legendShown(*chart));
    if (kind == ChartKind::Pareto) {
        static_cast<ParetoPlot&>(*chart).setBudget(150e3);
    }

    fill(kind, *chart, {});
    QVERIFY(chart->isEmptyStateVisible());
    QVERIFY(!probe::legendShown(*chart));
    for (const probe::Series& series : probe::graphs(*chart)) {
        QVERIFY2(series.keys.isEmpty(), qPrintable(series.name));
    }
    for (const probe::Bars& bars : probe::bars(*chart)) {
        QVERIFY(bars.keys.isEmpty());
    }
    const QString file = dir.filePath(QStringLiteral("emptied.png"));
    QVERIFY(chart->savePng(file, 500, 300));
    QVERIFY(drewSomething(QImage(file)));
    if (kind == ChartKind::Pareto) {
        auto& pareto = static_cast<ParetoPlot&>(*chart);
        QCOMPARE(pareto.chosenIndex(), -1);
        QVERIFY(!probe::visibleTexts(pareto).join(' ').contains(QStringLiteral("budget")));
    }
}

void TestSensitivityPlots::twoHundredLayers() {
    const QStringList names = manyLayers(200);
    const QVector<LayerSensitivity> layers = sensitivities(names);
    QElapsedTimer timer;
    timer.start();

    LayerTraceChart trace;
    trace.setLayers(layers);
    QCOMPARE(probe::bars(trace).at(0).keys.size(), 200);
    QCOMPARE(probe::errorBars(trace).at(0).plus.size(), 200);
    showAt(trace, 1000, 460);
    // The names are thinned out so they do not overlap, but still name their layers.
    const QStringList ticks = probe::tickLabels(trace, probe::Axis::X);
    QVERIFY(ticks.size() > 5 && ticks.size() < 200);
    for (const QString& tick : ticks) {
        QVERIFY(names.contains(tick));
    }

    OmegaChart omega;
    omega.setLayers(layers);
    QMap<QString, int> allocation;
    for (const QString& name : names) {
        allocation.insert(name, 4);
    }
    omega.setAllocation(allocation);
    QCOMPARE(findSeries(probe::graphs(omega), QStringLiteral("Allocated bits"))->keys.size(), 200);

    ParetoPlot pareto;
    pareto.setFrontier(frontierOf(layers));
    pareto.setBudget(pareto.frontier().points.at(pareto.frontier().points.size() / 2).sizeBytes);
    QCOMPARE(pareto.chosenIndex(), pareto.frontier().points.size() / 2);

    QTemporaryDir dir;
    for (PlotWidget* chart : std::initializer_list<PlotWidget*>{&trace, &omega, &pareto}) {
        const QString file = dir.filePath(QStringLiteral("many.png"));
        QVERIFY(chart->savePng(file, 1200, 500));
        QVERIFY(drewSomething(QImage(file)));
    }
    QVERIFY2(timer.elapsed() < 5000, qPrintable(QString::number(timer.elapsed())));
}

void TestSensitivityPlots::screenshots() {
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
    const QVector<LayerSensitivity> layers = sensitivities(resnet20Layers());
    const ParetoFrontier frontier = frontierOf(layers);
    const FrontierPoint& chosen = frontier.points.at(frontier.points.size() / 2);

    LayerTraceChart trace;
    trace.setLayers(layers);
    trace.setSelectedLayer(QStringLiteral("layer2.1.conv1"));
    save(trace, QStringLiteral("layer_traces.png"), 900, 440);
    QVector<LayerSensitivity> withNegative = layers;
    withNegative[13].trace = -0.02;
    withNegative[18].trace = 0.0;
    trace.setLayers(withNegative);
    trace.setStandardErrors(1);
    save(trace, QStringLiteral("layer_traces_clamped.png"), 900, 440);
    trace.setLogScale(false);
    save(trace, QStringLiteral("layer_traces_linear.png"), 900, 440);

    OmegaChart omega;
    omega.setLayers(layers);
    omega.setAllocation(chosen.bits);
    save(omega, QStringLiteral("omega.png"), 900, 460);

    ParetoPlot pareto;
    pareto.setFrontier(frontier);
    pareto.setBudget(chosen.sizeBytes * 1.01);
    save(pareto, QStringLiteral("pareto.png"), 900, 500);
    pareto.setBudget(frontier.points.at(frontier.points.size() - 8).sizeBytes * 1.002);
    save(pareto, QStringLiteral("pareto_large_budget.png"), 900, 500);

    const QVector<LayerSensitivity> many = sensitivities(manyLayers(200));
    trace.setLayers(many);
    trace.setLogScale(true);
    save(trace, QStringLiteral("layer_traces_200.png"), 1200, 460);
    omega.setLayers(many);
    save(omega, QStringLiteral("omega_200.png"), 1200, 460);
}

QTEST_MAIN(TestSensitivityPlots)
#include "TestSensitivityPlots.moc"
