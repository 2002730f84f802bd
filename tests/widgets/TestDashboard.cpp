// Dashboard (with ActiveRunData) and CompareView: empty states that say why; a stored run
// restores every view; a live run streams in, and the histogram of the active layer is asked for
// while the run is live; switching runs keeps what the live run sent; the step-size layer chooser;
// the comparison's overlaid curves and per-run column groups; the method-state plot shows exactly
// the series a run streams, stored or live; the sharpness table fills from the stored run and
// from a measurement, and the measure action follows the run's state.
#include "FakeBackend.h"
#include "visualization/BitWidthChart.h"
#include "visualization/MethodStatePlot.h"
#include "visualization/QuantErrorChart.h"
#include "visualization/StepSizePlot.h"
#include "visualization/TrainingCurvesPlot.h"
#include "visualization/WeightHistogramPlot.h"
#include "widgets/ActiveRunData.h"
#include "widgets/AnalysisControls.h"
#include "widgets/CompareView.h"
#include "widgets/Dashboard.h"
#include "widgets/SelectionHub.h"
#include "widgets/SharpnessPanel.h"

#include <QAction>
#include <QListWidget>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTest>

using namespace qs::ui;
using qs::test::FakeBackend;

namespace {

struct Rig {
    FakeBackend backend;
    SelectionHub hub;
    ActiveRunData data{&backend, &hub};
    Dashboard dashboard{&data, &hub};
};

int countKey(const QVector<MetricPoint>& points, const QString& key) {
    return int(std::count_if(points.begin(), points.end(),
                             [&](const MetricPoint& p) { return p.key == key; }));
}

}  // namespace

class TestDashboard : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void emptyWithoutRun();
    void storedRunRestoresEveryView();
    void liveRunStreamsIn();
    void histogramRequestedForActiveLayerWhileLive();
    void switchingAwayFromLiveRunLosesNothing();
    void stepLayerChooser();
    void compareViewOverlaysRuns();
    void compareViewNeedsTwoRuns();
    void methodStatePlotShowsThePresentSeries_data();
    void methodStatePlotShowsThePresentSeries();
    void methodStatePlotStreamsLive();
    void methodStatePlotKeepsToMethodKeys();
    void sharpnessTableFillsFromRunData();
    void sharpnessTableFillsFromMeasurement();
    void failedMeasurementIsReported();
    void measureActionFollowsTheRun();
};

void TestDashboard::emptyWithoutRun() {
    Rig rig;
    for (int t = 0; t < Dashboard::TabCount; ++t) {
        QVERIFY(rig.dashboard.isEmptyState(Dashboard::Tab(t)));
        QCOMPARE(rig.dashboard.emptyStateTitle(Dashboard::Tab(t)),
                 QStringLiteral("No run selected"));
    }
    QCOMPARE(rig.dashboard.tabs()->count(), 7);
    QCOMPARE(rig.dashboard.tabs()->tabText(Dashboard::SharpnessTab), QStringLiteral("Sharpness"));
    QCOMPARE(rig.dashboard.tabs()->tabText(Dashboard::LandscapeTab), QStringLiteral("Landscape"));
    QCOMPARE(rig.dashboard.tabs()->tabText(Dashboard::SensitivityTab),
             QStringLiteral("Sensitivity"));
    QVERIFY(rig.dashboard.bannerText().contains(QStringLiteral("No run selected")));
}

void TestDashboard::storedRunRestoresEveryView() {
    Rig rig;
    const RunData run =
        FakeBackend::makeRun(QStringLiteral("resnet20 w4a4"), QStringLiteral("lsq"), 4, 4, 0.9012);
    const qint64 id = rig.backend.addStoredRun(run);
    rig.hub.setActiveRun(id);
    QVERIFY(!rig.dashboard.isEmptyState(Dashboard::CurvesTab));
    QVERIFY(!rig.dashboard.isEmptyState(Dashboard::BitsTab));
    QVERIFY(!rig.dashboard.isEmptyState(Dashboard::StepsTab));
    QCOMPARE(rig.dashboard.curvesPlot()->runIds(), QList<qint64>{id});
    QCOMPARE(rig.dashboard.bitWidthChart()->layerNames().size(), 22);
    QCOMPARE(rig.dashboard.quantErrorChart()->layerNames().size(), 22);
    QCOMPARE(rig.dashboard.stepSizePlot()->layers().size(), 22);
    QCOMPARE(rig.dashboard.stepLayerChooser()->count(), 22);
    QVERIFY(rig.dashboard.bannerText().contains(QStringLiteral("resnet20 w4a4")));
    QVERIFY(rig.dashboard.bannerText().contains(QStringLiteral("finished")));
    QVERIFY(rig.dashboard.bannerText().contains(QStringLiteral("90.12 %")));
    // Histograms are not stored: the tab says so once a layer is picked.
    QCOMPARE(rig.dashboard.emptyStateTitle(Dashboard::HistogramTab),
             QStringLiteral("No layer selected"));
    rig.hub.setActiveLayer(QStringLiteral("layer1.0.conv1"));
    QVERIFY(rig.dashboard.isEmptyState(Dashboard::HistogramTab));
    QCOMPARE(rig.dashboard.emptyStateTitle(Dashboard::HistogramTab),
             QStringLiteral("No histogram for layer1.0.conv1"));
    QVERIFY(rig.backend.histogramRequests().isEmpty());  // not live: nothing to ask
    // Closing the run empties every view again.
    rig.hub.setActiveRun(0);
    QVERIFY(rig.dashboard.isEmptyState(Dashboard::CurvesTab));
    QVERIFY(rig.dashboard.curvesPlot()->runIds().isEmpty());
}

void TestDashboard::liveRunStreamsIn() {
    Rig rig;
    QString error;
    const qint64 id = rig.backend.startRun(rig.backend.presetSpec(QStringLiteral("smoke")), &error);
    QCOMPARE(rig.hub.activeRun(), id);
    QCOMPARE(rig.dashboard.emptyStateTitle(Dashboard::CurvesTab),
             QStringLiteral("Waiting for the first metrics"));
    QCOMPARE(rig.dashboard.emptyStateTitle(Dashboard::BitsTab),
             QStringLiteral("Waiting for layer states"));
    QVERIFY(rig.dashboard.bannerText().contains(QStringLiteral("running")));
    rig.backend.streamLive(0, 32);
    QVERIFY(!rig.dashboard.isEmptyState(Dashboard::CurvesTab));
    QVERIFY(!rig.dashboard.isEmptyState(Dashboard::StepsTab));
    QCOMPARE(rig.dashboard.curvesPlot()->runIds(), QList<qint64>{id});
    QCOMPARE(rig.dashboard.stepSizePlot()->layers().size(), 22);
    QCOMPARE(rig.data.data().layerHistory.size(), 4);  // steps 0, 8, 16, 24
    QCOMPARE(countKey(rig.data.data().metrics, QStringLiteral("eval/acc")), 1);  // epoch end
    rig.backend.finishLive(QStringLiteral("finished"));
    QVERIFY(!rig.data.isLive());
    QVERIFY(rig.dashboard.bannerText().contains(QStringLiteral("finished")));
    QVERIFY(rig.dashboard.bannerText().contains(QStringLiteral("eval acc")));
}

void TestDashboard::histogramRequestedForActiveLayerWhileLive() {
    Rig rig;
    QString error;
    rig.backend.setAnswerHistograms(false);
    rig.backend.startRun(rig.backend.presetSpec(QStringLiteral("smoke")), &error);
    rig.backend.streamLive(0, 10);
    rig.hub.setActiveLayer(QStringLiteral("layer2.1.conv1"));
    QCOMPARE(rig.backend.histogramRequests(), QStringList{QStringLiteral("layer2.1.conv1")});
    QCOMPARE(rig.dashboard.emptyStateTitle(Dashboard::HistogramTab),
             QStringLiteral("Waiting for the histogram of layer2.1.conv1"));
    // A histogram of another layer (an answer to an older request) is not shown.
    Q_EMIT rig.backend.histogramUpdated(
        FakeBackend::makeHistogram(rig.backend.liveRunId(), 10, QStringLiteral("conv1"), 8));
    QVERIFY(rig.dashboard.isEmptyState(Dashboard::HistogramTab));
    Q_EMIT rig.backend.histogramUpdated(FakeBackend::makeHistogram(
        rig.backend.liveRunId(), 10, QStringLiteral("layer2.1.conv1"), 4));
    QVERIFY(!rig.dashboard.isEmptyState(Dashboard::HistogramTab));
    QCOMPARE(rig.dashboard.histogramPlot()->gridLineCount(), 16);  // codes -8..7
    QVERIFY(rig.dashboard.histogramPlot()->title().startsWith(QStringLiteral("layer2.1.conv1")));
    // Changing the layer asks again and drops the old histogram.
    rig.hub.setActiveLayer(QStringLiteral("fc"));
    QCOMPARE(rig.backend.histogramRequests().last(), QStringLiteral("fc"));
    QVERIFY(rig.dashboard.isEmptyState(Dashboard::HistogramTab));
    // After the run ends nothing is asked any more.
    rig.backend.finishLive(QStringLiteral("finished"));
    rig.hub.setActiveLayer(QStringLiteral("conv1"));
    QCOMPARE(rig.backend.histogramRequests().size(), 2);
}

void TestDashboard::switchingAwayFromLiveRunLosesNothing() {
    Rig rig;
    const qint64 stored = rig.backend.addStoredRun(
        FakeBackend::makeRun(QStringLiteral("old"), QStringLiteral("fp"), 0, 0, 0.91, 1));
    QString error;
    const qint64 live =
        rig.backend.startRun(rig.backend.presetSpec(QStringLiteral("smoke")), &error);
    rig.backend.streamLive(0, 12);
    const int before = rig.data.data().metrics.size();
    QVERIFY(before > 0);
    rig.hub.setActiveRun(stored);
    QCOMPARE(rig.dashboard.curvesPlot()->runIds(), QList<qint64>{stored});
    rig.backend.streamLive(12, 24);  // arrives while another run is shown
    QCOMPARE(rig.dashboard.curvesPlot()->runIds(), QList<qint64>{stored});
    rig.hub.setActiveRun(live);
    QVERIFY(rig.data.isLive());
    QVERIFY(rig.data.data().metrics.size() > before);
    QCOMPARE(rig.data.data().layerHistory.size(), 3);  // 0, 8, 16
    QCOMPARE(rig.dashboard.curvesPlot()->runIds(), QList<qint64>{live});
}

void TestDashboard::stepLayerChooser() {
    Rig rig;
    const qint64 a = rig.backend.addStoredRun(
        FakeBackend::makeRun(QStringLiteral("a"), QStringLiteral("lsq"), 4, 4, 0.9, 1));
    const qint64 b = rig.backend.addStoredRun(
        FakeBackend::makeRun(QStringLiteral("b"), QStringLiteral("lsq"), 2, 2, 0.85, 1));
    rig.hub.setActiveRun(a);
    QListWidget* chooser = rig.dashboard.stepLayerChooser();
    QCOMPARE(rig.dashboard.visibleStepLayers().size(), 22);
    chooser->item(0)->setCheckState(Qt::Unchecked);  // conv1
    QCOMPARE(rig.dashboard.visibleStepLayers().size(), 21);
    QVERIFY(!rig.dashboard.visibleStepLayers().contains(QStringLiteral("conv1")));
    rig.hub.setActiveRun(b);  // the choice is kept for the next run
    QVERIFY(!rig.dashboard.visibleStepLayers().contains(QStringLiteral("conv1")));
    QCOMPARE(chooser->item(0)->checkState(), Qt::Unchecked);
    // Clicking a layer's name makes it the active layer.
    Q_EMIT chooser->itemClicked(chooser->item(4));
    QCOMPARE(rig.hub.activeLayer(), chooser->item(4)->text());
    QCOMPARE(rig.dashboard.stepSizePlot()->selectedLayer(), chooser->item(4)->text());
}

void TestDashboard::compareViewOverlaysRuns() {
    FakeBackend backend;
    SelectionHub hub;
    CompareView view(&backend, &hub);
    const qint64 a = backend.addStoredRun(
        FakeBackend::makeRun(QStringLiteral("lsq w4a4"), QStringLiteral("lsq"), 4, 4, 0.9012, 1));
    const qint64 b = backend.addStoredRun(
        FakeBackend::makeRun(QStringLiteral("lsq w2a2"), QStringLiteral("lsq"), 2, 2, 0.8471, 1));
    hub.setSelectedRuns({a, b});
    QVERIFY(!view.isEmptyState());
    QCOMPARE(view.shownRuns(), (QVector<qint64>{a, b}));
    QCOMPARE(view.curvesPlot()->runIds(), (QList<qint64>{a, b}));
    QTableWidget* table = view.layerTable();
    QCOMPARE(table->rowCount(), 22);
    QCOMPARE(table->columnCount(), 1 + 2 * CompareView::kColumnsPerRun);
    QCOMPARE(view.groupTitle(0), QStringLiteral("#%1 lsq w4a4 · 90.12 %").arg(a));
    QCOMPARE(view.groupTitle(1), QStringLiteral("#%1 lsq w2a2 · 84.71 %").arg(b));
    QCOMPARE(table->horizontalHeaderItem(1)->text(), QStringLiteral("Bits"));
    QCOMPARE(table->horizontalHeaderItem(2)->text(), QStringLiteral("W step"));
    QCOMPARE(table->horizontalHeaderItem(3)->text(), QStringLiteral("W error"));
    QCOMPARE(table->item(1, 0)->text(), QStringLiteral("layer1.0.conv1"));
    QCOMPARE(table->item(1, 1)->text(), QStringLiteral("W4 A4"));
    QCOMPARE(table->item(1, 4)->text(), QStringLiteral("W2 A2"));
    QVERIFY(table->item(1, 1)->font().bold());  // differs between the runs
    QCOMPARE(table->item(0, 1)->text(), QStringLiteral("W8 A8"));
    QVERIFY(!table->item(0, 1)->font().bold());  // conv1: 8 bits in both
    const double step = backend.loadRun(b).layerHistory.last().layers[1].weightSteps[0];
    QCOMPARE(table->item(1, 5)->text(), QLocale().toString(step, 'g', 4));
    // Final metrics side by side: evaluation first, then the sharpness one run has measured.
    QString error;
    QVERIFY(backend.measureSharpness(b, &error));
    QTRY_VERIFY(!backend.isAnalysing());
    view.updateFromModel();  // as a store change would
    QTableWidget* metrics = view.metricsTable();
    QCOMPARE(metrics->columnCount(), 3);
    QCOMPARE(metrics->horizontalHeaderItem(2)->text(), QStringLiteral("#%1").arg(b));
    QStringList keys;
    for (int r = 0; r < metrics->rowCount(); ++r) {
        keys << metrics->item(r, 0)->text();
    }
    QCOMPARE(keys, (QStringList{QStringLiteral("eval/acc"), QStringLiteral("eval/best_acc"),
                                QStringLiteral("eval/loss"),
                                QStringLiteral("sharpness/epsilon/dequantized"),
                                QStringLiteral("sharpness/epsilon/quantize-after"),
                                QStringLiteral("sharpness/rho-ball/dequantized"),
                                QStringLiteral("sharpness/rho-ball/quantize-after")}));
    QCOMPARE(metrics->item(0, 1)->text(), QLocale().toString(90.12, 'f', 2) + QStringLiteral(" %"));
    QCOMPARE(metrics->item(3, 1)->text(), QStringLiteral("–"));  // a's sharpness: not measured
    QCOMPARE(metrics->item(3, 2)->text(), QLocale().toString(1.37, 'g', 3) + QStringLiteral(" %"));
    QCOMPARE(metrics->item(5, 2)->text(), QLocale().toString(0.0421, 'g', 4));
}

void TestDashboard::compareViewNeedsTwoRuns() {
    FakeBackend backend;
    SelectionHub hub;
    CompareView view(&backend, &hub);
    QVERIFY(view.isEmptyState());
    const qint64 a = backend.addStoredRun(
        FakeBackend::makeRun(QStringLiteral("a"), QStringLiteral("lsq"), 4, 4, 0.9, 1));
    hub.setSelectedRuns({a});
    QVERIFY(view.isEmptyState());
    QCOMPARE(view.layerTable()->rowCount(), 0);
}

void TestDashboard::methodStatePlotShowsThePresentSeries_data() {
    QTest::addColumn<QString>("method");
    QTest::addColumn<QStringList>("series");
    QTest::newRow("fp: none") << QStringLiteral("fp") << QStringList();
    QTest::newRow("lsq: step-size gradient")
        << QStringLiteral("lsq") << QStringList{QStringLiteral("quant/step_grad_norm")};
    // The clean train loss comes along as the reference of the perturbed loss.
    QTest::newRow("squat: perturbed loss, gap, norms")
        << QStringLiteral("squat")
        << QStringList{QStringLiteral("squat/perturbed_loss"),
                       QStringLiteral("train/loss"),
                       QStringLiteral("squat/loss_gap"),
                       QStringLiteral("quant/step_grad_norm"),
                       QStringLiteral("squat/grad_norm"),
                       QStringLiteral("squat/perturb_norm"),
                       QStringLiteral("squat/rho")};
    QTest::newRow("nt: lambda") << QStringLiteral("nt")
                                << QStringList{QStringLiteral("nt/lambda"),
                                               QStringLiteral("quant/step_grad_norm")};
}

void TestDashboard::methodStatePlotShowsThePresentSeries() {
    QFETCH(QString, method);
    QFETCH(QStringList, series);
    Rig rig;
    const qint64 id =
        rig.backend.addStoredRun(FakeBackend::makeRun(QStringLiteral("run"), method, 4, 4, 0.9, 1));
    rig.hub.setActiveRun(id);
    MethodStatePlot* plot = rig.dashboard.methodStatePlot();
    QCOMPARE(plot->seriesKeys(), series);
    QCOMPARE(plot->isEmptyStateVisible(), series.isEmpty());
    if (series.isEmpty()) {
        QCOMPARE(plot->emptyText(), QStringLiteral("Float training (fp) streams no method state"));
    }
    // The loss curves above are untouched by the method's keys.
    QVERIFY(!rig.dashboard.isEmptyState(Dashboard::CurvesTab));
    QCOMPARE(rig.dashboard.curvesPlot()->runIds(), QList<qint64>{id});
    rig.hub.setActiveRun(0);
    QVERIFY(plot->seriesKeys().isEmpty());
    QCOMPARE(plot->emptyText(), QStringLiteral("No run selected"));
}

void TestDashboard::methodStatePlotStreamsLive() {
    Rig rig;
    QJsonObject spec = rig.backend.presetSpec(QStringLiteral("smoke"));
    QJsonObject method = spec.value(QStringLiteral("method")).toObject();
    method.insert(QStringLiteral("name"), QStringLiteral("nt"));
    spec.insert(QStringLiteral("method"), method);
    QString error;
    rig.backend.startRun(spec, &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    MethodStatePlot* plot = rig.dashboard.methodStatePlot();
    QVERIFY(plot->isEmptyStateVisible());
    QCOMPARE(plot->emptyText(), QStringLiteral("Waiting for the method's state (nt)"));
    rig.backend.streamLive(0, 16);
    QCOMPARE(plot->seriesKeys(),
             (QStringList{QStringLiteral("nt/lambda"), QStringLiteral("quant/step_grad_norm")}));
    QVERIFY(!plot->isEmptyStateVisible());
    rig.backend.streamLive(16, 32);
    QCOMPARE(plot->seriesKeys().size(), 2);
    QCOMPARE(countKey(rig.data.data().metrics, QStringLiteral("nt/lambda")), 8);  // every 4 steps
}

void TestDashboard::methodStatePlotKeepsToMethodKeys() {
    MethodStatePlot plot;
    QVERIFY(MethodStatePlot::isMethodKey(QStringLiteral("distill/soft_loss")));
    QVERIFY(!MethodStatePlot::isMethodKey(QStringLiteral("train/loss")));
    QVERIFY(!MethodStatePlot::isMethodKey(QStringLiteral("lr")));
    QVERIFY(MethodStatePlot::isNormKey(QStringLiteral("squat/grad_norm")));
    QVERIFY(!MethodStatePlot::isNormKey(QStringLiteral("nt/lambda")));
    plot.addPoints({{0, QStringLiteral("train/loss"), 2.0},
                    {0, QStringLiteral("train/acc"), 0.2},
                    {0, QStringLiteral("lr"), 0.1},
                    {0, QStringLiteral("distill/soft_loss"), 1.2},
                    {0, QStringLiteral("quant/new_norm"), 0.0},  // not on a log axis
                    {20, QStringLiteral("quant/new_norm"), 0.3},
                    {20, QStringLiteral("squat/grad_norm"), qQNaN()}});
    // A key the plot does not know still gets a series, named by its key; no clean loss
    // without a perturbed loss to compare it with.
    QCOMPARE(plot.seriesKeys(),
             (QStringList{QStringLiteral("distill/soft_loss"), QStringLiteral("quant/new_norm")}));
    QCOMPARE(MethodStatePlot::seriesName(QStringLiteral("quant/new_norm")),
             QStringLiteral("quant/new_norm"));
    // A perturbed loss arriving later brings the clean loss received so far.
    plot.addPoints({{40, QStringLiteral("train/loss"), 1.8},
                    {40, QStringLiteral("squat/perturbed_loss"), 1.9}});
    QCOMPARE(plot.seriesKeys().first(), QStringLiteral("squat/perturbed_loss"));
    QCOMPARE(plot.seriesKeys().at(1), QStringLiteral("train/loss"));
    plot.clear();
    QVERIFY(plot.seriesKeys().isEmpty());
}

void TestDashboard::sharpnessTableFillsFromRunData() {
    Rig rig;
    RunData run =
        FakeBackend::makeRun(QStringLiteral("squat"), QStringLiteral("squat"), 4, 4, 0.9, 1);
    run.sharpness = FakeBackend::makeSharpness(false, 469);
    const qint64 id = rig.backend.addStoredRun(run);
    rig.hub.setActiveRun(id);
    QVERIFY(!rig.dashboard.isEmptyState(Dashboard::SharpnessTab));
    SharpnessPanel* panel = rig.dashboard.sharpnessPanel();
    QTableWidget* table = panel->table();
    QCOMPARE(table->rowCount(), 4);
    QCOMPARE(table->columnCount(), int(SharpnessPanel::ColumnCount));
    QCOMPARE(table->horizontalHeaderItem(SharpnessPanel::BaseLoss)->text(),
             QStringLiteral("Base loss"));
    QCOMPARE(table->item(0, SharpnessPanel::Measure)->text(), QStringLiteral("ρ-ball"));
    QCOMPARE(table->item(0, SharpnessPanel::Mode)->text(), QStringLiteral("dequantized"));
    QCOMPARE(table->item(0, SharpnessPanel::Radius)->text(), QLocale().toString(0.05, 'g', 3));
    QCOMPARE(table->item(0, SharpnessPanel::Value)->text(), QLocale().toString(0.0421, 'g', 4));
    QCOMPARE(table->item(1, SharpnessPanel::Measure)->text(), QStringLiteral("ε-sharpness"));
    QCOMPARE(table->item(1, SharpnessPanel::Value)->text(),
             QLocale().toString(1.37, 'g', 3) + QStringLiteral(" %"));
    QCOMPARE(table->item(3, SharpnessPanel::Mode)->text(), QStringLiteral("quantize-after"));
    QCOMPARE(table->item(0, SharpnessPanel::Samples)->text(), QLocale().toString(1000));
    QVERIFY(panel->captionText().contains(QStringLiteral("4 figures")));
    QVERIFY(panel->captionText().contains(QStringLiteral("step 469")));
    // Another run without figures says how to get them.
    const qint64 other = rig.backend.addStoredRun(
        FakeBackend::makeRun(QStringLiteral("fp"), QStringLiteral("fp"), 0, 0, 0.9, 1));
    rig.hub.setActiveRun(other);
    QCOMPARE(table->rowCount(), 0);
    QVERIFY(panel->captionText().contains(QStringLiteral("Not measured yet")));
}

void TestDashboard::sharpnessTableFillsFromMeasurement() {
    Rig rig;
    const qint64 id = rig.backend.addStoredRun(
        FakeBackend::makeRun(QStringLiteral("fp"), QStringLiteral("fp"), 0, 0, 0.9, 1));
    const qint64 other = rig.backend.addStoredRun(
        FakeBackend::makeRun(QStringLiteral("lsq"), QStringLiteral("lsq"), 4, 4, 0.9, 1));
    rig.hub.setActiveRun(id);
    SharpnessPanel* panel = rig.dashboard.sharpnessPanel();
    QCOMPARE(panel->table()->rowCount(), 0);
    QSignalSpy progress(&rig.data, &ActiveRunData::analysisProgress);
    QSignalSpy appended(&rig.data, &ActiveRunData::sharpnessAppended);
    QString error;
    QVERIFY(rig.backend.measureSharpness(id, &error));
    QVERIFY(rig.backend.isAnalysing());
    QTRY_COMPARE(appended.count(), 1);
    QCOMPARE(progress.count(), 2);
    QCOMPARE(progress.at(0).at(0).toString(), QStringLiteral("rho-ball, dequantized"));
    QVERIFY(!panel->isProgressVisible());  // ended with the figures
    // A float model: rho-ball and epsilon in the float mode.
    QCOMPARE(panel->table()->rowCount(), 2);
    QCOMPARE(panel->table()->item(0, SharpnessPanel::Mode)->text(), QStringLiteral("float"));
    QCOMPARE(rig.data.data().sharpness.size(), 2);
    // Figures of a run that is not shown leave the table alone.
    QVERIFY(rig.backend.measureSharpness(other, &error));
    QTRY_VERIFY(!rig.backend.isAnalysing());
    QCOMPARE(appended.count(), 1);
    QCOMPARE(panel->table()->rowCount(), 2);
    // ...and are there when that run is opened (read from the store).
    rig.hub.setActiveRun(other);
    QCOMPARE(panel->table()->rowCount(), 4);
    QCOMPARE(rig.backend.loadRun(other).summary.finalMetrics.value(
                 QStringLiteral("sharpness/rho-ball/quantize-after")),
             0.0421 * 1.6);
}

void TestDashboard::failedMeasurementIsReported() {
    Rig rig;
    AnalysisControls controls(&rig.backend, &rig.data);
    const qint64 id = rig.backend.addStoredRun(
        FakeBackend::makeRun(QStringLiteral("lsq"), QStringLiteral("lsq"), 4, 4, 0.9, 1));
    rig.hub.setActiveRun(id);
    QSignalSpy errors(&controls, &AnalysisControls::errorOccurred);
    QSignalSpy ended(&rig.data, &ActiveRunData::analysisEnded);
    rig.backend.failAnalysis(QStringLiteral("Sharpness of run 1: no checkpoint"));
    QVERIFY(controls.measureSharpness(id));
    QTRY_COMPARE(errors.count(), 1);
    QCOMPARE(errors.at(0).at(0).toString(), QStringLiteral("Sharpness of run 1: no checkpoint"));
    QCOMPARE(ended.count(), 1);
    QVERIFY(!rig.dashboard.sharpnessPanel()->isProgressVisible());
    QCOMPARE(rig.dashboard.sharpnessPanel()->table()->rowCount(), 0);
    // A refusal comes back at once, naming the run.
    rig.backend.failNextAnalysisStart(QStringLiteral("an analysis is in progress"));
    QVERIFY(!controls.measureSharpness(id));
    QCOMPARE(errors.count(), 2);
    QCOMPARE(errors.at(1).at(0).toString(),
             QStringLiteral("Could not measure the sharpness of run %1: an analysis is in "
                            "progress")
                 .arg(id));
}

void TestDashboard::measureActionFollowsTheRun() {
    Rig rig;
    AnalysisControls controls(&rig.backend, &rig.data);
    rig.dashboard.setSharpnessAction(controls.measureSharpnessAction());
    QAction* measure = controls.measureSharpnessAction();
    QVERIFY(!measure->isEnabled());  // no run
    const qint64 id = rig.backend.addStoredRun(
        FakeBackend::makeRun(QStringLiteral("lsq"), QStringLiteral("lsq"), 4, 4, 0.9, 1));
    const qint64 failed = rig.backend.addStoredRun(FakeBackend::makeRun(
        QStringLiteral("bad"), QStringLiteral("lsq"), 4, 4, 0.9, 1, QStringLiteral("failed")));
    rig.hub.setActiveRun(failed);
    QVERIFY(!measure->isEnabled());
    rig.hub.setActiveRun(id);
    QVERIFY(measure->isEnabled());
    QSignalSpy started(&controls, &AnalysisControls::analysisStarted);
    measure->trigger();
    QCOMPARE(rig.backend.sharpnessRequests(), QVector<qint64>{id});
    QCOMPARE(started.count(), 1);
    QVERIFY(!measure->isEnabled());  // one analysis at a time
    QTRY_VERIFY(measure->isEnabled());
    QCOMPARE(rig.dashboard.sharpnessPanel()->table()->rowCount(), 4);
    // Not while a run trains.
    QString error;
    rig.backend.startRun(rig.backend.presetSpec(QStringLiteral("smoke")), &error);
    QVERIFY(!measure->isEnabled());
    rig.backend.finishLive(QStringLiteral("finished"));
    QVERIFY(measure->isEnabled());  // the run that just ended is shown, and has a checkpoint
}

QTEST_MAIN(TestDashboard)
#include "TestDashboard.moc"
