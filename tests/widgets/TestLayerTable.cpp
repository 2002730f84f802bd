// LayerTableModel and LayerTableView: text and roles per column (fp, dashes, percent, aligned
// numbers), numeric sorting through the proxy, updates that keep the rows' identity, and the view
// following the active run (stored or live) with its empty states.
#include "FakeBackend.h"
#include "widgets/ActiveRunData.h"
#include "widgets/LayerTableModel.h"
#include "widgets/LayerTableView.h"
#include "widgets/SelectionHub.h"

#include <QBrush>
#include <QFont>
#include <QHeaderView>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QStackedWidget>
#include <QTableView>
#include <QTest>

using namespace qs::ui;
using qs::test::FakeBackend;

namespace {

QVector<LayerRow> sampleRows() {
    LayerRow conv1;
    conv1.layer = QStringLiteral("conv1");
    conv1.weightShape = {16, 1, 3, 3};
    conv1.paramCount = 144;
    conv1.weightBits = 8;
    conv1.actBits = 8;
    conv1.weightSteps = {0.0123456};
    conv1.actStep = 0.25;
    conv1.weightError = 1.234e-5;
    conv1.actError = 0.0021;
    conv1.weightClipRate = 0.0125;
    conv1.actClipRate = 0.25;

    LayerRow block;
    block.layer = QStringLiteral("layer1.0.conv1");
    block.weightShape = {16, 16, 3, 3};
    block.paramCount = 2304;
    block.weightBits = 2;
    block.actBits = 4;
    block.weightSteps = {0.1, 0.2, 0.3, 0.4};  // per channel: the mean is shown
    block.actStep = 0.5;
    block.weightError = 0.004;
    block.actError = 0.01;
    block.weightClipRate = 0.05;
    block.actClipRate = 0.02;

    LayerRow fc;
    fc.layer = QStringLiteral("fc");
    fc.weightShape = {10, 64};
    fc.paramCount = 640;
    fc.weightBits = 0;  // float
    fc.actBits = 0;
    return {conv1, block, fc};
}

}  // namespace

class TestLayerTable : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void displayText_data();
    void displayText();
    void rolesAndHeaders();
    void proxySortsNumericallyAndLayersInForwardOrder();
    void allocationColumnFollowsTheHub();
    void sameLayersUpdateInPlace();
    void viewFollowsStoredRun();
    void viewFollowsLiveRunAndShowsEmptyStates();
};

void TestLayerTable::displayText_data() {
    QTest::addColumn<int>("row");
    QTest::addColumn<int>("column");
    QTest::addColumn<QString>("text");
    QTest::newRow("layer") << 1 << int(LayerTableModel::Layer) << QStringLiteral("layer1.0.conv1");
    QTest::newRow("shape") << 1 << int(LayerTableModel::Shape) << QStringLiteral("16×16×3×3");
    QTest::newRow("fc shape") << 2 << int(LayerTableModel::Shape) << QStringLiteral("10×64");
    QTest::newRow("params grouped") << 1 << int(LayerTableModel::Params) << QStringLiteral("2,304");
    QTest::newRow("w bits") << 1 << int(LayerTableModel::WBits) << QStringLiteral("2");
    QTest::newRow("a bits") << 0 << int(LayerTableModel::ABits) << QStringLiteral("8");
    QTest::newRow("float bits") << 2 << int(LayerTableModel::WBits) << QStringLiteral("fp");
    QTest::newRow("step 4 digits") << 0 << int(LayerTableModel::WStep) << QStringLiteral("0.01235");
    QTest::newRow("per-channel mean") << 1 << int(LayerTableModel::WStep) << QStringLiteral("0.25");
    QTest::newRow("a step") << 1 << int(LayerTableModel::AStep) << QStringLiteral("0.5");
    QTest::newRow("small error") << 0 << int(LayerTableModel::WError) << QStringLiteral("1.23e-05");
    QTest::newRow("error, same form")
        << 0 << int(LayerTableModel::AError) << QStringLiteral("2.10e-03");
    QTest::newRow("clip percent") << 0 << int(LayerTableModel::WClip) << QStringLiteral("1.25 %");
    QTest::newRow("clip large") << 0 << int(LayerTableModel::AClip) << QStringLiteral("25.0 %");
    QTest::newRow("float step") << 2 << int(LayerTableModel::WStep) << QStringLiteral("–");
    QTest::newRow("float error") << 2 << int(LayerTableModel::AError) << QStringLiteral("–");
    QTest::newRow("float clip") << 2 << int(LayerTableModel::WClip) << QStringLiteral("–");
}

void TestLayerTable::displayText() {
    QFETCH(int, row);
    QFETCH(int, column);
    QFETCH(QString, text);
    LayerTableModel model;
    model.setLayers(sampleRows());
    QCOMPARE(model.index(row, column).data().toString(), text);
}

void TestLayerTable::rolesAndHeaders() {
    LayerTableModel model;
    model.setLayers(sampleRows());
    QCOMPARE(model.rowCount(), 3);
    QCOMPARE(model.columnCount(), 12);
    const QStringList headers{"Layer",  "Shape",   "Params",  "W bits", "A bits", "W step",
                              "A step", "W error", "A error", "W clip", "A clip", "Alloc."};
    for (int c = 0; c < headers.size(); ++c) {
        QCOMPARE(model.headerData(c, Qt::Horizontal).toString(), headers[c]);
        QVERIFY(!model.headerData(c, Qt::Horizontal, Qt::ToolTipRole).toString().isEmpty());
    }
    auto alignment = [&](int column) {
        return Qt::Alignment(model.index(0, column).data(Qt::TextAlignmentRole).toInt());
    };
    QVERIFY(alignment(LayerTableModel::Params) & Qt::AlignRight);
    QVERIFY(alignment(LayerTableModel::WError) & Qt::AlignRight);
    QVERIFY(alignment(LayerTableModel::Layer) & Qt::AlignLeft);
    QCOMPARE(model.index(1, LayerTableModel::WStep).data(LayerTableModel::SortRole).toDouble(),
             0.25);
    QCOMPARE(model.index(1, LayerTableModel::Params).data(LayerTableModel::SortRole).toLongLong(),
             2304);
    QCOMPARE(model.index(2, LayerTableModel::WBits).data(LayerTableModel::SortRole).toInt(), 32);
    QCOMPARE(model.index(1, LayerTableModel::WClip).data(LayerTableModel::LayerNameRole).toString(),
             QStringLiteral("layer1.0.conv1"));
    QCOMPARE(model.index(1, 0).data(LayerTableModel::BlockRole).toString(),
             QStringLiteral("layer1.0"));
    QCOMPARE(model.index(0, 0).data(LayerTableModel::BlockRole).toString(), QString());
    QVERIFY(model.index(1, LayerTableModel::WStep).data(Qt::ToolTipRole).toString().contains("4"));
    QVERIFY(
        model.index(2, LayerTableModel::WBits).data(Qt::ForegroundRole).value<QBrush>().style() !=
        Qt::NoBrush);
    QCOMPARE(model.rowOf(QStringLiteral("fc")), 2);
    QCOMPARE(model.rowOf(QStringLiteral("nope")), -1);
    QCOMPARE(LayerTableModel::blockOf(QStringLiteral("layer2.0.downsample.0")),
             QStringLiteral("layer2.0"));
    QCOMPARE(LayerTableModel::blockOf(QStringLiteral("bert.encoder.layer.3.attention.self.query")),
             QStringLiteral("bert.encoder.layer.3"));
}

void TestLayerTable::proxySortsNumericallyAndLayersInForwardOrder() {
    FakeBackend backend;
    const qint64 id = backend.addStoredRun(
        FakeBackend::makeRun(QStringLiteral("r"), QStringLiteral("lsq"), 4, 4, 0.9, 1));
    SelectionHub hub;
    ActiveRunData data(&backend, &hub);
    LayerTableView view(&data, &hub);
    hub.setActiveRun(id);
    QSortFilterProxyModel* proxy = view.proxy();
    QCOMPARE(proxy->rowCount(), 22);
    auto layerAt = [&](int r) { return proxy->index(r, 0).data().toString(); };
    QCOMPARE(layerAt(0), QStringLiteral("conv1"));
    QCOMPARE(layerAt(21), QStringLiteral("fc"));  // forward order, not alphabetical
    view.tableView()->sortByColumn(LayerTableModel::Params, Qt::DescendingOrder);
    QVERIFY(layerAt(0).startsWith(QStringLiteral("layer3.")));
    QCOMPARE(proxy->index(0, LayerTableModel::Params).data().toString(), QStringLiteral("36,864"));
    QCOMPARE(layerAt(21), QStringLiteral("conv1"));  // 144 weights, the smallest
    view.tableView()->sortByColumn(LayerTableModel::WBits, Qt::AscendingOrder);
    QCOMPARE(proxy->index(21, LayerTableModel::WBits).data().toString(), QStringLiteral("8"));
    QCOMPARE(proxy->index(0, LayerTableModel::WBits).data().toString(), QStringLiteral("4"));
}

void TestLayerTable::allocationColumnFollowsTheHub() {
    FakeBackend backend;
    const qint64 id = backend.addStoredRun(
        FakeBackend::makeRun(QStringLiteral("r"), QStringLiteral("lsq"), 4, 4, 0.9, 1));
    SelectionHub hub;
    ActiveRunData data(&backend, &hub);
    LayerTableView view(&data, &hub);
    hub.setActiveRun(id);
    LayerTableModel* model = view.model();
    const int row = model->rowOf(QStringLiteral("layer1.0.conv1"));
    const int fc = model->rowOf(QStringLiteral("fc"));
    auto allocated = [&](int r) { return model->index(r, LayerTableModel::Allocated).data(); };
    QCOMPARE(allocated(row).toString(), QString());  // no allocation chosen: empty, hidden
    QVERIFY(view.tableView()->isColumnHidden(LayerTableModel::Allocated));
    // Shown right after W bits, whatever its place in the model.
    QHeaderView* header = view.tableView()->horizontalHeader();
    QCOMPARE(header->visualIndex(LayerTableModel::Allocated),
             header->visualIndex(LayerTableModel::WBits) + 1);
    QSignalSpy changed(model, &QAbstractItemModel::dataChanged);
    hub.setPlannedAllocation({{QStringLiteral("layer1.0.conv1"), 2}, {QStringLiteral("fc"), 8}});
    QCOMPARE(changed.count(), 1);
    QVERIFY(!view.tableView()->isColumnHidden(LayerTableModel::Allocated));
    QCOMPARE(allocated(row).toString(), QStringLiteral("2"));
    QCOMPARE(allocated(fc).toString(), QStringLiteral("8"));
    QCOMPARE(allocated(model->rowOf(QStringLiteral("layer1.0.conv2"))).toString(), QString());
    // Fewer bits than the run has now stand out (bold, blue); the same bits recede (grey).
    QCOMPARE(model->index(row, LayerTableModel::Allocated).data(Qt::FontRole).value<QFont>().bold(),
             true);
    QCOMPARE(model->index(row, LayerTableModel::Allocated)
                 .data(Qt::ForegroundRole)
                 .value<QBrush>()
                 .color(),
             QColor(0x15, 0x65, 0xc0));
    QVERIFY(!model->index(fc, LayerTableModel::Allocated).data(Qt::FontRole).isValid());
    QVERIFY(model->index(row, LayerTableModel::Allocated)
                .data(Qt::ToolTipRole)
                .toString()
                .contains(QStringLiteral("(now 4)")));
    QCOMPARE(model->index(row, LayerTableModel::Allocated).data(LayerTableModel::SortRole).toInt(),
             2);
    hub.setPlannedAllocation({});
    QCOMPARE(allocated(row).toString(), QString());
    QVERIFY(view.tableView()->isColumnHidden(LayerTableModel::Allocated));
}

void TestLayerTable::sameLayersUpdateInPlace() {
    LayerTableModel model;
    model.setLayers(sampleRows());
    QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    QVector<LayerRow> rows = sampleRows();
    rows[1].weightError = 0.5;
    model.setLayers(rows);
    QCOMPARE(reset.count(), 0);
    QCOMPARE(changed.count(), 1);
    QCOMPARE(model.index(1, LayerTableModel::WError).data().toString(), QStringLiteral("5.00e-01"));
    rows.removeLast();
    model.setLayers(rows);
    QCOMPARE(reset.count(), 1);
    QCOMPARE(model.rowCount(), 2);
}

void TestLayerTable::viewFollowsStoredRun() {
    FakeBackend backend;
    const qint64 a = backend.addStoredRun(
        FakeBackend::makeRun(QStringLiteral("a"), QStringLiteral("lsq"), 4, 4, 0.9, 1));
    const qint64 b = backend.addStoredRun(
        FakeBackend::makeRun(QStringLiteral("b"), QStringLiteral("fp"), 0, 0, 0.91, 1));
    SelectionHub hub;
    ActiveRunData data(&backend, &hub);
    LayerTableView view(&data, &hub);
    auto* stack = view.findChild<QStackedWidget*>();
    QVERIFY(stack->currentWidget() != view.tableView());  // empty state without a run
    hub.setActiveRun(a);
    QCOMPARE(stack->currentWidget(), view.tableView());
    const LayerRow last = backend.loadRun(a).layerHistory.last().layers[3];
    QCOMPARE(view.model()->layers()[3].weightError, last.weightError);
    hub.setActiveRun(b);
    QCOMPARE(view.model()->index(5, LayerTableModel::WBits).data().toString(),
             QStringLiteral("fp"));
    hub.setActiveRun(0);
    QCOMPARE(view.model()->rowCount(), 0);
    QVERIFY(stack->currentWidget() != view.tableView());
}

void TestLayerTable::viewFollowsLiveRunAndShowsEmptyStates() {
    FakeBackend backend;
    SelectionHub hub;
    ActiveRunData data(&backend, &hub);
    LayerTableView view(&data, &hub);
    QString error;
    const qint64 id = backend.startRun(backend.presetSpec(QStringLiteral("smoke")), &error);
    QVERIFY2(id > 0, qPrintable(error));
    QCOMPARE(hub.activeRun(), id);  // the views follow the run just started
    QVERIFY(data.isLive());
    QCOMPARE(view.model()->rowCount(), 0);
    backend.streamLive(0, 9);  // state_every = 8: snapshots at steps 0 and 8
    QCOMPARE(view.model()->rowCount(), 22);
    QCOMPARE(data.data().layerHistory.size(), 2);
    QCOMPARE(data.data().layerHistory.last().step, 8);
    hub.setActiveLayer(QStringLiteral("layer1.2.conv1"));
    QCOMPARE(view.selectedLayer(), QStringLiteral("layer1.2.conv1"));
    backend.streamLive(9, 17);
    QCOMPARE(view.selectedLayer(), QStringLiteral("layer1.2.conv1"));  // kept across updates
    QCOMPARE(data.data().layerHistory.last().step, 16);
}

QTEST_MAIN(TestLayerTable)
#include "TestLayerTable.moc"
