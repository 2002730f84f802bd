// SensitivityPanel with the FakeBackend: "Analyse Hessian" sends the request the controls
// describe and lists the report with its charts filled; the frontier is the fake's brute-force
// one and the budget slider chooses among its points, the chosen bits showing in the panel's table,
// the Omega chart and the layer table's Allocated column; "Train with this allocation" makes the
// fake start (or queue) a run whose spec has those bits per layer; the backend's errors are shown.
#include "FakeBackend.h"
#include "visualization/LayerTraceChart.h"
#include "visualization/OmegaChart.h"
#include "visualization/ParetoPlot.h"
#include "widgets/ActiveRunData.h"
#include "widgets/AnalysisControls.h"
#include "widgets/Dashboard.h"
#include "widgets/JobControls.h"
#include "widgets/JobQueue.h"
#include "widgets/LayerTableModel.h"
#include "widgets/LayerTableView.h"
#include "widgets/MainWindow.h"
#include "widgets/NotificationBar.h"
#include "widgets/RunConfigPanel.h"
#include "widgets/SelectionHub.h"
#include "widgets/SensitivityPanel.h"

#include <QComboBox>
#include <QJsonObject>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSlider>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTableWidget>
#include <QTest>

using namespace qs::ui;
using qs::test::FakeBackend;

namespace {

struct Rig {
    FakeBackend backend;
    SelectionHub hub;
    ActiveRunData data{&backend, &hub};
    AnalysisControls controls{&backend, &data};
    SensitivityPanel panel{&data, &hub};
    LayerTableView layers{&data, &hub};
    Rig() { panel.setAnalysisControls(&controls); }
    qint64 addRun(const QString& name = QStringLiteral("lsq w4a4")) {
        return backend.addStoredRun(
            FakeBackend::makeRun(name, QStringLiteral("lsq"), 4, 4, 0.9012));
    }
    QString allocatedInLayerTable(const QString& layer) const {
        LayerTableModel* m = layers.model();
        return m->index(m->rowOf(layer), LayerTableModel::Allocated).data().toString();
    }
};

QString bitsText(int bits) {
    return bits == 0 ? QStringLiteral("fp") : QString::number(bits);
}

int weightBitsIn(const QJsonObject& spec, const QString& layer) {
    return spec.value(QStringLiteral("quant"))
        .toObject()
        .value(QStringLiteral("layers"))
        .toObject()
        .value(layer)
        .toObject()
        .value(QStringLiteral("weight_bits"))
        .toInt(-1);
}

}  // namespace

class TestSensitivityPanel : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void emptyStatesSayWhatToDo();
    void analyseListsTheReport();
    void frontierIsTheBruteForceOne();
    void budgetChoosesTheAllocation();
    void reportsOfTheRunAreListed();
    void backendErrorsAreShown();
    void analyseDisabledWhileRunTrains();
    void trainWithAllocationStartsTheRun();
    void trainWithAllocationQueuesWhileBusy();
};

void TestSensitivityPanel::initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("QuantscapeTests"));
    QCoreApplication::setApplicationName(QStringLiteral("test_sensitivity_panel"));
    QSettings().clear();
}

void TestSensitivityPanel::emptyStatesSayWhatToDo() {
    Rig rig;
    QVERIFY(rig.panel.isEmptyStateVisible());
    QCOMPARE(rig.panel.emptyTitle(), QStringLiteral("No run selected"));
    QVERIFY(!rig.panel.analyseButton()->isEnabled());
    rig.hub.setActiveRun(rig.addRun());
    QVERIFY(rig.panel.isEmptyStateVisible());
    QCOMPARE(rig.panel.emptyTitle(), QStringLiteral("No Hessian analysis for this run yet"));
    QVERIFY(rig.panel.analyseButton()->isEnabled());
    QCOMPARE(rig.panel.reportCombo()->count(), 0);
    QVERIFY(!rig.panel.trainButton()->isEnabled());
    QVERIFY(rig.hub.plannedAllocation().isEmpty());
}

void TestSensitivityPanel::analyseListsTheReport() {
    Rig rig;
    const qint64 id = rig.addRun();
    rig.hub.setActiveRun(id);
    SensitivityPanel& p = rig.panel;
    p.samplesSpin()->setValue(256);
    p.traceSamplesSpin()->setValue(20);
    p.modeCombo()->setCurrentIndex(p.modeCombo()->findData(QStringLiteral("float")));
    QSignalSpy analysed(&rig.backend, &RunBackend::hessianAnalyzed);
    QTest::mouseClick(p.analyseButton(), Qt::LeftButton);
    QCOMPARE(rig.backend.hessianRequests().size(), 1);
    const auto [runId, r] = rig.backend.hessianRequests().first();
    QCOMPARE(runId, id);
    QCOMPARE(r.samples, 256);
    QCOMPARE(r.traceSamples, 20);
    QCOMPARE(r.mode, QStringLiteral("float"));
    QVERIFY(p.isAnalysing());
    QVERIFY(p.isProgressVisible());
    QVERIFY(!p.analyseButton()->isEnabled());
    QVERIFY(p.cancelButton()->isEnabled());
    QVERIFY(analysed.wait());
    QVERIFY(!p.isProgressVisible());
    QVERIFY(p.analyseButton()->isEnabled());
    QCOMPARE(p.reportCombo()->count(), 1);
    const HessianSummary h = analysed.at(0).at(0).value<HessianSummary>();
    QCOMPARE(p.shownReport(), h.id);
    QVERIFY(!p.isEmptyStateVisible());
    QCOMPARE(p.traceChart()->layers().size(), 22);
    QCOMPARE(p.traceChart()->layerNames().first(), QStringLiteral("conv1"));
    QCOMPARE(p.omegaChart()->layers().size(), 22);
    QCOMPARE(p.omegaChart()->candidateBits(), (QVector<int>{2, 3, 4, 8}));
    QVERIFY(!p.paretoPlot()->frontier().points.isEmpty());
    QVERIFY(p.summaryText().contains(QStringLiteral("total trace")));
    QVERIFY(p.summaryText().contains(QStringLiteral("22 layers")));
    QVERIFY(p.summaryText().contains(QStringLiteral("(float)")));
    QVERIFY(p.summaryText().contains(QLocale().toString(h.eigenvalues.first(), 'g', 4)));
    // Stored: there when the run is opened again.
    rig.hub.setActiveRun(0);
    rig.hub.setActiveRun(id);
    QCOMPARE(p.shownReport(), h.id);
}

void TestSensitivityPanel::frontierIsTheBruteForceOne() {
    Rig rig;
    const qint64 id = rig.addRun();
    const qint64 report = rig.backend.addStoredHessian(id);
    QString error;
    const ParetoFrontier f = rig.backend.paretoFrontier(report, &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QVERIFY(f.points.size() >= 3);
    QCOMPARE(f.uniform.keys(), (QList<int>{2, 3, 4, 8}));
    for (int i = 1; i < f.points.size(); ++i) {
        QVERIFY(f.points[i].sizeBytes > f.points[i - 1].sizeBytes);
        QVERIFY(f.points[i].omega < f.points[i - 1].omega);
    }
    // No uniform allocation beats the frontier: some point is as small and as insensitive.
    for (const FrontierPoint& u : f.uniform) {
        const bool dominated =
            std::any_of(f.points.begin(), f.points.end(), [&](const FrontierPoint& p) {
                return p.sizeBytes <= u.sizeBytes && p.omega <= u.omega;
            });
        QVERIFY(dominated);
    }
    // Every point assigns every layer, the stem and the head at 8 bits (the policy).
    for (const FrontierPoint& p : f.points) {
        QCOMPARE(p.bits.size(), 22);
        QCOMPARE(p.bits.value(QStringLiteral("conv1")), 8);
        QCOMPARE(p.bits.value(QStringLiteral("fc")), 8);
    }
    QCOMPARE(f.points.first().bits.value(QStringLiteral("layer2.1.conv1")), 2);
    QCOMPARE(f.points.last().bits.value(QStringLiteral("layer2.1.conv1")), 8);
}

void TestSensitivityPanel::budgetChoosesTheAllocation() {
    Rig rig;
    const qint64 id = rig.addRun();
    const qint64 report = rig.backend.addStoredHessian(id);
    rig.hub.setActiveRun(id);
    SensitivityPanel& p = rig.panel;
    QCOMPARE(p.shownReport(), report);
    const ParetoFrontier& f = p.frontier();
    const QVector<FrontierPoint>& points = p.paretoPlot()->frontier().points;
    // The budget starts at the size of uniform 4 bits; the best point within it is chosen.
    QCOMPARE(p.budget(), f.uniform.value(4).sizeBytes);
    QCOMPARE(p.paretoPlot()->budget(), p.budget());
    int expected = -1;
    for (int i = 0; i < points.size(); ++i) {
        if (points[i].sizeBytes <= p.budget()) {
            expected = i;
        }
    }
    QVERIFY(expected >= 0);
    QCOMPARE(p.chosenIndex(), expected);
    QCOMPARE(p.chosenAllocation(), points[expected].bits);
    QCOMPARE(p.omegaChart()->allocation(), points[expected].bits);
    QCOMPARE(rig.hub.plannedAllocation(), points[expected].bits);
    QVERIFY(p.trainButton()->isEnabled());
    QVERIFY(p.budgetText().contains(QStringLiteral("uniform 4-bit")));

    // The smallest budget: the first point, 2 bits in the middle layers.
    p.budgetSlider()->setValue(0);
    QCOMPARE(p.chosenIndex(), 0);
    QCOMPARE(p.budget(), points.first().sizeBytes);
    QCOMPARE(rig.hub.plannedAllocation(), points.first().bits);
    QCOMPARE(rig.allocatedInLayerTable(QStringLiteral("layer2.1.conv1")), QStringLiteral("2"));
    QCOMPARE(rig.allocatedInLayerTable(QStringLiteral("conv1")), QStringLiteral("8"));
    // The panel's table: one row per layer with its bits and its Omega at those bits.
    QTableWidget* table = p.allocationTable();
    QCOMPARE(table->rowCount(), 22);
    const HessianSummary h = rig.backend.hessianReports(id).first();
    for (int row = 0; row < table->rowCount(); ++row) {
        const QString layer = table->item(row, SensitivityPanel::LayerColumn)->text();
        QCOMPARE(layer, h.layers[row].layer);
        const int bits = points.first().bits.value(layer);
        QCOMPARE(table->item(row, SensitivityPanel::BitsColumn)->text(), bitsText(bits));
        QVERIFY(!table->item(row, SensitivityPanel::OmegaColumn)->text().isEmpty());
    }
    // The largest: every layer at 8 bits.
    p.budgetSlider()->setValue(p.budgetSlider()->maximum());
    QCOMPARE(p.chosenIndex(), int(points.size()) - 1);
    QCOMPARE(rig.allocatedInLayerTable(QStringLiteral("layer2.1.conv1")), QStringLiteral("8"));
    // In between, the slider moves through the points in order of size.
    int last = -1;
    for (int v = 0; v <= p.budgetSlider()->maximum(); v += 50) {
        p.budgetSlider()->setValue(v);
        QVERIFY(p.chosenIndex() >= last);
        QVERIFY(points[p.chosenIndex()].sizeBytes <= p.budget());
        last = p.chosenIndex();
    }
    // A click on a frontier point moves the budget to it.
    Q_EMIT p.paretoPlot()->pointChosen(1);
    QCOMPARE(p.chosenIndex(), 1);
    QCOMPARE(p.budget(), points[1].sizeBytes);
    QCOMPARE(rig.hub.plannedAllocation(), points[1].bits);
    // Another run: no allocation any more.
    rig.hub.setActiveRun(rig.addRun(QStringLiteral("other")));
    QVERIFY(rig.hub.plannedAllocation().isEmpty());
    QCOMPARE(rig.allocatedInLayerTable(QStringLiteral("conv1")), QString());
}

void TestSensitivityPanel::reportsOfTheRunAreListed() {
    Rig rig;
    const qint64 id = rig.addRun();
    const qint64 first = rig.backend.addStoredHessian(id);
    const qint64 second = rig.backend.addStoredHessian(id);
    rig.backend.addStoredHessian(rig.addRun(QStringLiteral("other")));
    rig.hub.setActiveRun(id);
    SensitivityPanel& p = rig.panel;
    QCOMPARE(p.reportCombo()->count(), 2);
    QCOMPARE(p.shownReport(), second);  // the newest
    p.reportCombo()->setCurrentIndex(p.reportCombo()->findData(first));
    Q_EMIT p.reportCombo()->activated(p.reportCombo()->currentIndex());
    QCOMPARE(p.shownReport(), first);
    QVERIFY(p.reportCombo()->currentText().startsWith(QStringLiteral("#%1").arg(first)));
}

void TestSensitivityPanel::backendErrorsAreShown() {
    Rig rig;
    const qint64 id = rig.addRun();
    const qint64 report = rig.backend.addStoredHessian(id);
    rig.backend.failNextFrontier(QStringLiteral("run 1: the spec's quantization policy is float"));
    rig.hub.setActiveRun(id);
    SensitivityPanel& p = rig.panel;
    QCOMPARE(p.shownReport(), report);
    QCOMPARE(p.errorText(),
             QStringLiteral("No allocation for report %1: run 1: the spec's quantization policy "
                            "is float")
                 .arg(report));
    QVERIFY(p.paretoPlot()->frontier().points.isEmpty());
    QVERIFY(!p.trainButton()->isEnabled());
    QVERIFY(!p.budgetSlider()->isEnabled());
    QVERIFY(!p.isEmptyStateVisible());  // the curvature is still there
    QCOMPARE(p.traceChart()->layers().size(), 22);
    // Shown again: the frontier comes back.
    p.showReport(report);
    QCOMPARE(p.errorText(), QString());
    QVERIFY(p.trainButton()->isEnabled());
    // The allocation's spec refused.
    QSignalSpy errors(&p, &SensitivityPanel::errorOccurred);
    QSignalSpy train(&p, &SensitivityPanel::trainRequested);
    rig.backend.failNextAllocation(QStringLiteral("report 1: checkpoint last.safetensors is gone"));
    QVERIFY(!p.trainWithAllocation());
    QCOMPARE(train.count(), 0);
    QCOMPARE(errors.count(), 1);
    const QString text = QStringLiteral(
        "Could not make a spec for this allocation: report 1: checkpoint last.safetensors is "
        "gone");
    QCOMPARE(errors.at(0).at(0).toString(), text);
    QCOMPARE(p.errorText(), text);
}

void TestSensitivityPanel::analyseDisabledWhileRunTrains() {
    Rig rig;
    const qint64 id = rig.addRun();
    rig.hub.setActiveRun(id);
    QVERIFY(rig.panel.analyseButton()->isEnabled());
    QString error;
    rig.backend.startRun(rig.backend.presetSpec(QStringLiteral("smoke")), &error);
    rig.hub.setActiveRun(id);
    QVERIFY(!rig.panel.analyseButton()->isEnabled());
    QCOMPARE(rig.panel.analyseButton()->toolTip(),
             QStringLiteral("A run is training; analyses wait until it ends."));
    rig.backend.finishLive(QStringLiteral("finished"));
    QVERIFY(rig.panel.analyseButton()->isEnabled());
    // A cancelled analysis ends with the engine's message; the panel is ready again.
    QSignalSpy failed(&rig.controls, &AnalysisControls::errorOccurred);
    QTest::mouseClick(rig.panel.analyseButton(), Qt::LeftButton);
    QVERIFY(rig.panel.isAnalysing());
    QTest::mouseClick(rig.panel.cancelButton(), Qt::LeftButton);
    QCOMPARE(failed.count(), 1);
    QCOMPARE(failed.at(0).at(0).toString(),
             QStringLiteral("Hessian analysis of run %1 cancelled").arg(id));
    QVERIFY(!rig.panel.isAnalysing());
    QVERIFY(!rig.panel.isProgressVisible());
    QVERIFY(rig.panel.analyseButton()->isEnabled());
    QTest::qWait(50);
    QCOMPARE(rig.panel.reportCombo()->count(), 0);  // nothing recorded
}

void TestSensitivityPanel::trainWithAllocationStartsTheRun() {
    FakeBackend backend;
    const qint64 id = backend.addStoredRun(
        FakeBackend::makeRun(QStringLiteral("lsq w4a4"), QStringLiteral("lsq"), 4, 4, 0.9));
    const qint64 report = backend.addStoredHessian(id);
    MainWindow window(&backend);
    window.show();
    window.hub()->setActiveRun(id);
    window.dashboard()->tabs()->setCurrentIndex(Dashboard::SensitivityTab);
    SensitivityPanel* p = window.dashboard()->sensitivityPanel();
    QCOMPARE(p->shownReport(), report);
    p->budgetSlider()->setValue(0);
    const QMap<QString, int> bits = p->chosenAllocation();
    QCOMPARE(bits.size(), 22);
    // The layer table of the window shows the allocation.
    LayerTableModel* layers = window.layerTable()->model();
    QCOMPARE(
        layers->index(layers->rowOf(QStringLiteral("layer3.2.conv2")), LayerTableModel::Allocated)
            .data()
            .toString(),
        bitsText(bits.value(QStringLiteral("layer3.2.conv2"))));

    QTest::mouseClick(p->trainButton(), Qt::LeftButton);
    QCOMPARE(backend.startedSpecs().size(), 1);
    const QJsonObject spec = backend.startedSpecs().first();
    for (auto it = bits.begin(); it != bits.end(); ++it) {
        QCOMPARE(weightBitsIn(spec, it.key()), it.value());
    }
    QCOMPARE(spec.value(QStringLiteral("init_checkpoint")).toString(), backend.checkpointPath(id));
    QCOMPARE(spec.value(QStringLiteral("method")).toObject().value(QStringLiteral("name")),
             QJsonValue(QStringLiteral("lsq")));
    // Through the config panel, as the Run button would: it holds the spec that runs.
    QCOMPARE(window.configPanel()->spec(), spec);
    QVERIFY(backend.isRunning());
    QCOMPARE(window.hub()->activeRun(), backend.liveRunId());
    QCOMPARE(window.dashboard()->tabs()->currentIndex(), int(Dashboard::CurvesTab));
    QVERIFY(!window.notificationBar()->isVisible());
}

void TestSensitivityPanel::trainWithAllocationQueuesWhileBusy() {
    FakeBackend backend;
    const qint64 id = backend.addStoredRun(
        FakeBackend::makeRun(QStringLiteral("lsq w4a4"), QStringLiteral("lsq"), 4, 4, 0.9));
    backend.addStoredHessian(id);
    MainWindow window(&backend);
    window.show();
    QString error;
    backend.startRun(backend.presetSpec(QStringLiteral("smoke")), &error);
    window.hub()->setActiveRun(id);
    SensitivityPanel* p = window.dashboard()->sensitivityPanel();
    QVERIFY(p->trainButton()->isEnabled());
    QVERIFY(p->trainWithAllocation());
    QCOMPARE(backend.startedSpecs().size(), 1);  // only the run that trains
    QCOMPARE(window.jobControls()->queue()->count(), 1);
    // Starts when the engine is free.
    backend.finishLive(QStringLiteral("finished"));
    QCOMPARE(backend.startedSpecs().size(), 2);
    QVERIFY(backend.startedSpecs()
                .last()
                .value(QStringLiteral("name"))
                .toString()
                .contains(QStringLiteral("mixed")));
    // Bits the engine cannot train are refused, naming the field.
    const QJsonObject bad = backend.allocationSpec(1, {{QStringLiteral("conv1"), 9}}, &error);
    QVERIFY(bad.isEmpty());
    QCOMPARE(error, QStringLiteral("quant.layers.conv1.weight_bits: must be 0 (float) or 2..8 "
                                   "bits (got 9)"));
}

QTEST_MAIN(TestSensitivityPanel)
#include "TestSensitivityPanel.moc"
