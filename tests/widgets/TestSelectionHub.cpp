// SelectionHub: setters signal only real changes; the shared selection flows from the layer
// table through the hub into the charts (and back from a chart click to the table).
#include "FakeBackend.h"
#include "visualization/BitWidthChart.h"
#include "visualization/QuantErrorChart.h"
#include "visualization/StepSizePlot.h"
#include "widgets/ActiveRunData.h"
#include "widgets/Dashboard.h"
#include "widgets/LayerTableModel.h"
#include "widgets/LayerTableView.h"
#include "widgets/SelectionHub.h"

#include <QItemSelectionModel>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QTest>

using namespace qs::ui;
using qs::test::FakeBackend;

class TestSelectionHub : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void settersSignalOnlyChanges();
    void layerTableSelectionReachesCharts();
    void chartClickReachesLayerTable();
    void layerSelectionSurvivesSortingAndRunSwitch();
};

void TestSelectionHub::settersSignalOnlyChanges() {
    SelectionHub hub;
    QSignalSpy run(&hub, &SelectionHub::activeRunChanged);
    QSignalSpy layer(&hub, &SelectionHub::activeLayerChanged);
    QSignalSpy selected(&hub, &SelectionHub::selectedRunsChanged);

    hub.setActiveRun(3);
    hub.setActiveRun(3);
    QCOMPARE(run.count(), 1);
    QCOMPARE(run.at(0).at(0).toLongLong(), 3);
    QCOMPARE(hub.activeRun(), 3);
    hub.setActiveRun(0);
    QCOMPARE(run.count(), 2);

    hub.setActiveLayer(QStringLiteral("layer1.0.conv1"));
    hub.setActiveLayer(QStringLiteral("layer1.0.conv1"));
    QCOMPARE(layer.count(), 1);
    QCOMPARE(hub.activeLayer(), QStringLiteral("layer1.0.conv1"));

    hub.setSelectedRuns({1, 2});
    hub.setSelectedRuns({1, 2});
    QCOMPARE(selected.count(), 1);
    hub.setSelectedRuns({2, 1});  // order matters: it is the comparison's column order
    QCOMPARE(selected.count(), 2);
    QCOMPARE(hub.selectedRuns(), (QVector<qint64>{2, 1}));
}

void TestSelectionHub::layerTableSelectionReachesCharts() {
    FakeBackend backend;
    const qint64 id = backend.addStoredRun(
        FakeBackend::makeRun(QStringLiteral("w4a4"), QStringLiteral("lsq"), 4, 4, 0.9));
    SelectionHub hub;
    ActiveRunData data(&backend, &hub);
    LayerTableView table(&data, &hub);
    Dashboard dashboard(&data, &hub);
    hub.setActiveRun(id);
    QCOMPARE(table.model()->rowCount(), 22);

    QSignalSpy layerSpy(&hub, &SelectionHub::activeLayerChanged);
    const int row = table.model()->rowOf(QStringLiteral("layer2.0.downsample.0"));
    QVERIFY(row > 0);
    const QModelIndex index = table.proxy()->mapFromSource(table.model()->index(row, 0));
    table.tableView()->selectionModel()->select(
        index, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);

    QCOMPARE(layerSpy.count(), 1);
    QCOMPARE(hub.activeLayer(), QStringLiteral("layer2.0.downsample.0"));
    QCOMPARE(dashboard.bitWidthChart()->selectedLayer(), QStringLiteral("layer2.0.downsample.0"));
    QCOMPARE(dashboard.quantErrorChart()->selectedLayer(), QStringLiteral("layer2.0.downsample.0"));
    QCOMPARE(dashboard.stepSizePlot()->selectedLayer(), QStringLiteral("layer2.0.downsample.0"));
}

void TestSelectionHub::chartClickReachesLayerTable() {
    FakeBackend backend;
    const qint64 id = backend.addStoredRun(
        FakeBackend::makeRun(QStringLiteral("w4a4"), QStringLiteral("lsq"), 4, 4, 0.9));
    SelectionHub hub;
    ActiveRunData data(&backend, &hub);
    LayerTableView table(&data, &hub);
    Dashboard dashboard(&data, &hub);
    hub.setActiveRun(id);

    Q_EMIT dashboard.bitWidthChart()->layerClicked(QStringLiteral("layer3.2.conv2"));
    QCOMPARE(hub.activeLayer(), QStringLiteral("layer3.2.conv2"));
    QCOMPARE(table.selectedLayer(), QStringLiteral("layer3.2.conv2"));
    QCOMPARE(dashboard.bitWidthChart()->selectedLayer(), QStringLiteral("layer3.2.conv2"));
}

void TestSelectionHub::layerSelectionSurvivesSortingAndRunSwitch() {
    FakeBackend backend;
    const qint64 a = backend.addStoredRun(
        FakeBackend::makeRun(QStringLiteral("a"), QStringLiteral("lsq"), 4, 4, 0.9));
    const qint64 b = backend.addStoredRun(
        FakeBackend::makeRun(QStringLiteral("b"), QStringLiteral("lsq"), 2, 2, 0.85));
    SelectionHub hub;
    ActiveRunData data(&backend, &hub);
    LayerTableView table(&data, &hub);
    hub.setActiveRun(a);
    hub.setActiveLayer(QStringLiteral("layer1.1.conv2"));
    table.tableView()->sortByColumn(LayerTableModel::WError, Qt::DescendingOrder);
    QCOMPARE(table.selectedLayer(), QStringLiteral("layer1.1.conv2"));
    // The hub does not echo: sorting moved the row but not the hub's layer.
    QCOMPARE(hub.activeLayer(), QStringLiteral("layer1.1.conv2"));
    hub.setActiveRun(b);
    QCOMPARE(table.selectedLayer(), QStringLiteral("layer1.1.conv2"));
}

QTEST_MAIN(TestSelectionHub)
#include "TestSelectionHub.moc"
