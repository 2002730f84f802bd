// RunListModel and RunBrowser: formatting and raw sort values, numeric sorting, the filter over
// name/method/status/bits, and the actions (open, compare, rename, delete) with their effects on
// the hub and the store.
#include "FakeBackend.h"
#include "widgets/RunBrowser.h"
#include "widgets/RunListModel.h"
#include "widgets/SelectionHub.h"

#include <QAction>
#include <QBrush>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QTest>

using namespace qs::ui;
using qs::test::FakeBackend;

namespace {

/// A store with four runs: fp float 91.5 %, lsq W4A4 90.1 %, lsq W2A2 84.7 %, a failed W3A3.
struct Store {
    FakeBackend backend;
    qint64 fp, w4, w2, failed;
    Store() {
        fp = backend.addStoredRun(FakeBackend::makeRun(QStringLiteral("baseline float"),
                                                       QStringLiteral("fp"), 0, 0, 0.915, 1));
        w4 = backend.addStoredRun(FakeBackend::makeRun(QStringLiteral("lsq four bit"),
                                                       QStringLiteral("lsq"), 4, 4, 0.901, 1));
        w2 = backend.addStoredRun(FakeBackend::makeRun(QStringLiteral("lsq two bit"),
                                                       QStringLiteral("lsq"), 2, 2, 0.847, 1));
        RunData bad = FakeBackend::makeRun(QStringLiteral("diverged"), QStringLiteral("lsq"), 3, 3,
                                           0.1, 1, QStringLiteral("failed"));
        bad.summary.finalMetrics.clear();
        failed = backend.addStoredRun(bad);
    }
};

QVector<qint64> idsInViewOrder(const RunBrowser& b) {
    QVector<qint64> ids;
    for (int r = 0; r < b.proxy()->rowCount(); ++r) {
        ids << b.proxy()->index(r, 0).data(RunListModel::RunIdRole).toLongLong();
    }
    return ids;
}

}  // namespace

class TestRunBrowser : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void modelFormatsAndSortValues();
    void sortsNumerically();
    void filters_data();
    void filters();
    void openSetsActiveRun();
    void compareNeedsTwoRuns();
    void renameInPlace();
    void renameFailureIsReported();
    void deleteAsksAndUpdatesHub();
    void refreshesOnRunsChangedKeepingSelection();
};

void TestRunBrowser::modelFormatsAndSortValues() {
    Store s;
    RunListModel model;
    model.setRuns(s.backend.listRuns());
    QCOMPARE(model.rowCount(), 4);
    QCOMPARE(model.columnCount(), int(RunListModel::ColumnCount));
    const int r = model.rowOf(s.w4);
    auto at = [&](int column, int role = Qt::DisplayRole) {
        return model.index(r, column).data(role);
    };
    QCOMPARE(at(RunListModel::Name).toString(), QStringLiteral("lsq four bit"));
    QCOMPARE(at(RunListModel::Status).toString(), QStringLiteral("finished"));
    QCOMPARE(at(RunListModel::Method).toString(), QStringLiteral("lsq"));
    QCOMPARE(at(RunListModel::Bits).toString(), QStringLiteral("W4A4"));
    QCOMPARE(at(RunListModel::Arch).toString(), QStringLiteral("resnet20"));
    QCOMPARE(at(RunListModel::EvalAcc).toString(), QStringLiteral("90.10 %"));
    QCOMPARE(at(RunListModel::BestAcc).toString(), QStringLiteral("90.41 %"));
    QCOMPARE(at(RunListModel::EvalAcc, RunListModel::SortRole).toDouble(), 0.901);
    QCOMPARE(at(RunListModel::Id, RunListModel::SortRole).toLongLong(), s.w4);
    QCOMPARE(at(RunListModel::Created).toString(),
             s.backend.loadRun(s.w4).summary.created.toString(QStringLiteral("yyyy-MM-dd HH:mm")));
    QCOMPARE(at(RunListModel::Status, Qt::ForegroundRole).value<QBrush>().color(),
             RunListModel::statusColor(QStringLiteral("finished")));
    QVERIFY(RunListModel::statusColor(QStringLiteral("failed")) !=
            RunListModel::statusColor(QStringLiteral("finished")));
    QVERIFY(at(RunListModel::EvalAcc, Qt::TextAlignmentRole).toInt() & Qt::AlignRight);
    QCOMPARE(at(RunListModel::Name, RunListModel::FilterTextRole).toString(),
             QStringLiteral("lsq four bit lsq finished w4a4"));
    // A run without final metrics shows a dash and sorts below every real accuracy.
    const int f = model.rowOf(s.failed);
    QCOMPARE(model.index(f, RunListModel::EvalAcc).data().toString(), QStringLiteral("–"));
    QCOMPARE(model.index(f, RunListModel::EvalAcc).data(RunListModel::SortRole).toDouble(), -1.0);
    QVERIFY(model.flags(model.index(r, RunListModel::Name)) & Qt::ItemIsEditable);
    QVERIFY(!(model.flags(model.index(r, RunListModel::Status)) & Qt::ItemIsEditable));
    QCOMPARE(model.headerData(RunListModel::EvalAcc, Qt::Horizontal).toString(),
             QStringLiteral("Eval acc"));
}

void TestRunBrowser::sortsNumerically() {
    Store s;
    SelectionHub hub;
    RunBrowser browser(&s.backend, &hub);
    // Newest first by default.
    QCOMPARE(idsInViewOrder(browser), (QVector<qint64>{s.failed, s.w2, s.w4, s.fp}));
    browser.tableView()->sortByColumn(RunListModel::EvalAcc, Qt::DescendingOrder);
    QCOMPARE(idsInViewOrder(browser), (QVector<qint64>{s.fp, s.w4, s.w2, s.failed}));
    browser.tableView()->sortByColumn(RunListModel::Name, Qt::AscendingOrder);
    QCOMPARE(idsInViewOrder(browser), (QVector<qint64>{s.fp, s.failed, s.w4, s.w2}));
}

void TestRunBrowser::filters_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<int>("rows");
    QTest::addColumn<QString>("count");
    QTest::newRow("method") << QStringLiteral("lsq") << 3 << QStringLiteral("3 of 4 runs");
    QTest::newRow("bits, any case") << QStringLiteral("w2a2") << 1 << QStringLiteral("1 of 4 runs");
    QTest::newRow("status") << QStringLiteral("failed") << 1 << QStringLiteral("1 of 4 runs");
    QTest::newRow("name words") << QStringLiteral("four") << 1 << QStringLiteral("1 of 4 runs");
    QTest::newRow("all words must match")
        << QStringLiteral("lsq W4A4") << 1 << QStringLiteral("1 of 4 runs");
    QTest::newRow("float") << QStringLiteral("float") << 1 << QStringLiteral("1 of 4 runs");
    QTest::newRow("nothing") << QStringLiteral("resnet") << 0 << QStringLiteral("0 of 4 runs");
    QTest::newRow("empty") << QString() << 4 << QStringLiteral("4 runs");
}

void TestRunBrowser::filters() {
    QFETCH(QString, text);
    QFETCH(int, rows);
    QFETCH(QString, count);
    Store s;
    SelectionHub hub;
    RunBrowser browser(&s.backend, &hub);
    browser.filterEdit()->setText(text);
    QCOMPARE(browser.proxy()->rowCount(), rows);
    bool found = false;
    for (QLabel* l : browser.findChildren<QLabel*>()) {
        found = found || l->text() == count;
    }
    QVERIFY2(found, qPrintable(count));
}

void TestRunBrowser::openSetsActiveRun() {
    Store s;
    SelectionHub hub;
    RunBrowser browser(&s.backend, &hub);
    QVERIFY(!browser.openAction()->isEnabled());
    browser.selectRuns({s.w2});
    QVERIFY(browser.openAction()->isEnabled());
    browser.openAction()->trigger();
    QCOMPARE(hub.activeRun(), s.w2);
    // The active run is shown in bold.
    const QModelIndex i =
        browser.proxy()->mapFromSource(browser.model()->index(browser.model()->rowOf(s.w2), 1));
    QVERIFY(i.data(Qt::FontRole).value<QFont>().bold());
}

void TestRunBrowser::compareNeedsTwoRuns() {
    Store s;
    SelectionHub hub;
    RunBrowser browser(&s.backend, &hub);
    QSignalSpy requested(&browser, &RunBrowser::compareRequested);
    browser.selectRuns({s.w4});
    QVERIFY(!browser.compareAction()->isEnabled());
    browser.compareAction()->trigger();
    QCOMPARE(requested.count(), 0);
    QVERIFY(hub.selectedRuns().isEmpty());
    browser.selectRuns({s.w4, s.w2, s.fp});
    QVERIFY(browser.compareAction()->isEnabled());
    QVERIFY(!browser.openAction()->isEnabled());
    QVERIFY(!browser.renameAction()->isEnabled());
    QVERIFY(browser.deleteAction()->isEnabled());
    browser.compareAction()->trigger();
    QCOMPARE(requested.count(), 1);
    QCOMPARE(hub.selectedRuns(), (QVector<qint64>{s.w2, s.w4, s.fp}));  // view order
}

void TestRunBrowser::renameInPlace() {
    Store s;
    SelectionHub hub;
    RunBrowser browser(&s.backend, &hub);
    QSignalSpy errors(&browser, &RunBrowser::errorOccurred);
    QSignalSpy changed(&s.backend, &FakeBackend::runsChanged);
    const QModelIndex name = browser.proxy()->mapFromSource(
        browser.model()->index(browser.model()->rowOf(s.w4), RunListModel::Name));
    QVERIFY(browser.proxy()->setData(name, QStringLiteral("  lsq w4a4 final  ")));
    QTRY_COMPARE(s.backend.loadRun(s.w4).summary.name, QStringLiteral("lsq w4a4 final"));
    QCOMPARE(changed.count(), 1);
    QCOMPARE(
        browser.model()->index(browser.model()->rowOf(s.w4), RunListModel::Name).data().toString(),
        QStringLiteral("lsq w4a4 final"));
    // An empty or unchanged name is no rename.
    const QModelIndex again = browser.proxy()->mapFromSource(
        browser.model()->index(browser.model()->rowOf(s.w4), RunListModel::Name));
    QVERIFY(!browser.proxy()->setData(again, QStringLiteral("   ")));
    QTest::qWait(20);
    QCOMPARE(changed.count(), 1);
    QCOMPARE(errors.count(), 0);
}

void TestRunBrowser::renameFailureIsReported() {
    Store s;
    SelectionHub hub;
    RunBrowser browser(&s.backend, &hub);
    QSignalSpy errors(&browser, &RunBrowser::errorOccurred);
    const int row = browser.model()->rowOf(s.fp);
    QString ignored;
    // The run disappears behind the browser's back (another process deleted it).
    s.backend.blockSignals(true);
    QVERIFY(s.backend.deleteRun(s.fp, &ignored));
    s.backend.blockSignals(false);
    QVERIFY(browser.model()->setData(browser.model()->index(row, RunListModel::Name),
                                     QStringLiteral("new")));
    QTRY_COMPARE(errors.count(), 1);
    QCOMPARE(errors.at(0).at(0).toString(),
             QStringLiteral("Could not rename run %1: no run %1").arg(s.fp));
    QCOMPARE(browser.model()->rowCount(), 3);  // refreshed from the store
}

void TestRunBrowser::deleteAsksAndUpdatesHub() {
    Store s;
    SelectionHub hub;
    RunBrowser browser(&s.backend, &hub);
    hub.setActiveRun(s.w2);
    hub.setSelectedRuns({s.w4, s.w2, s.fp});
    QVector<qint64> asked;
    bool answer = false;
    browser.setDeleteConfirmation([&](const QVector<qint64>& ids) {
        asked = ids;
        return answer;
    });
    browser.selectRuns({s.w2, s.fp});
    browser.deleteAction()->trigger();
    QCOMPARE(asked, (QVector<qint64>{s.w2, s.fp}));
    QCOMPARE(s.backend.listRuns().size(), 4);  // declined: nothing deleted

    answer = true;
    browser.deleteAction()->trigger();
    QCOMPARE(s.backend.listRuns().size(), 2);
    QCOMPARE(browser.model()->rowCount(), 2);
    QCOMPARE(hub.activeRun(), 0);
    QCOMPARE(hub.selectedRuns(), (QVector<qint64>{s.w4}));
}

void TestRunBrowser::refreshesOnRunsChangedKeepingSelection() {
    Store s;
    SelectionHub hub;
    RunBrowser browser(&s.backend, &hub);
    browser.selectRuns({s.w4});
    const qint64 added = s.backend.addStoredRun(
        FakeBackend::makeRun(QStringLiteral("new"), QStringLiteral("lsq"), 3, 3, 0.88, 1));
    QCOMPARE(browser.model()->rowCount(), 5);
    QVERIFY(browser.model()->rowOf(added) >= 0);
    QCOMPARE(browser.selectedRunIds(), (QVector<qint64>{s.w4}));
}

QTEST_MAIN(TestRunBrowser)
#include "TestRunBrowser.moc"
