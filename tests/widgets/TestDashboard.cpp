// Dashboard (with ActiveRunData) and CompareView: empty states that say why; a stored run
// restores every view; a live run streams in, and the histogram of the active layer is asked for
// while the run is live; switching runs keeps what the live run sent; the step-size layer chooser;
// the comparison's overlaid curves and per-run column groups.
#include "FakeBackend.h"
#include "visualization/BitWidthChart.h"
#include "visualization/QuantErrorChart.h"
#include "visualization/StepSizePlot.h"
#include "visualization/TrainingCurvesPlot.h"
#include "visualization/WeightHistogramPlot.h"
#include "widgets/ActiveRunData.h"
#include "widgets/CompareView.h"
#include "widgets/Dashboard.h"
#include "widgets/SelectionHub.h"

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
};

void TestDashboard::emptyWithoutRun() {
    Rig rig;
    for (int t = 0; t < Dashboard::TabCount; ++t) {
        QVERIFY(rig.dashboard.isEmptyState(Dashboard::Tab(t)));
        QCOMPARE(rig.dashboard.emptyStateTitle(Dashboard::Tab(t)),
                 QStringLiteral("No run selected"));
    }
    QCOMPARE(rig.dashboard.tabs()->count(), 4);
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

QTEST_MAIN(TestDashboard)
#include "TestDashboard.moc"
