// The run store's landscapes: round trip with pending (NaN) points, updates, listing by run,
// cascade on run delete, and refusal of values that do not fill the grid, whether they come
// from the caller or from a damaged row (raw sqlite3 stands in for the damage).
#include "engine/store/RunStore.h"

#include <QTemporaryDir>
#include <QTest>

#include <sqlite3.h>

#include <cmath>
#include <limits>
#include <string>

using qs::store::LandscapeRow;
using qs::store::RunStore;
using qs::store::StoreError;
namespace status = qs::store::status;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

LandscapeRow sampleRow(int64_t runId) {
    LandscapeRow r;
    r.runId = runId;
    r.checkpoint = "/tmp/run-1/last.safetensors";
    r.step = 840;
    r.kind = "random";
    r.mode = "quantize-after";
    r.nx = 3;
    r.ny = 2;
    r.xMin = -1.0;
    r.xMax = 1.0;
    r.yMin = -0.5;
    r.yMax = 0.25;
    r.seed = 123;
    r.samples = 2000;
    r.optionsJson = R"({"directions":"random"})";
    r.status = status::kRunning;
    r.loss = {0.5, kNaN, 0.75, kNaN, 1.0 / 3.0, 2.0};
    r.accuracy = {0.9, kNaN, 0.8, kNaN, 0.7, 0.1};
    return r;
}

bool sameValues(const std::vector<double>& a, const std::vector<double>& b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))) {
            return false;
        }
    }
    return true;
}

void rawExec(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    QCOMPARE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
    QCOMPARE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close_v2(db);
}

}  // namespace

class TestLandscapeStore : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init();
    void roundTripKeepsPendingPoints();
    void updateReplacesValuesAndStatus();
    void listsByRunAndCascades();
    void refusesValuesThatDoNotFillTheGrid_data();
    void refusesValuesThatDoNotFillTheGrid();
    void damagedBlobIsAClearError_data();
    void damagedBlobIsAClearError();

private:
    QTemporaryDir m_dir;
    std::string m_db;
    int m_count = 0;
};

void TestLandscapeStore::init() {
    QVERIFY(m_dir.isValid());
    m_db = m_dir.filePath(QStringLiteral("runs-%1.sqlite").arg(++m_count)).toStdString();
}

void TestLandscapeStore::roundTripKeepsPendingPoints() {
    auto store = RunStore::open(m_db);
    const int64_t run = store->createRun("r", "{}", "{}");
    const LandscapeRow row = sampleRow(run);
    const int64_t id = store->addLandscape(row);
    QVERIFY(id > 0);
    const auto back = store->landscape(id);
    QVERIFY(back.has_value());
    QCOMPARE(back->id, id);
    QCOMPARE(back->runId, run);
    QCOMPARE(back->checkpoint, row.checkpoint);
    QCOMPARE(back->step, row.step);
    QCOMPARE(back->kind, row.kind);
    QCOMPARE(back->mode, row.mode);
    QCOMPARE(back->nx, 3);
    QCOMPARE(back->ny, 2);
    QCOMPARE(back->xMin, -1.0);
    QCOMPARE(back->xMax, 1.0);
    QCOMPARE(back->yMin, -0.5);
    QCOMPARE(back->yMax, 0.25);
    QCOMPARE(back->seed, uint64_t(123));
    QCOMPARE(back->samples, int64_t(2000));
    QCOMPARE(back->optionsJson, row.optionsJson);
    QCOMPARE(back->status, std::string(status::kRunning));
    QVERIFY(sameValues(back->loss, row.loss));  // bitwise, NaN (pending) included
    QVERIFY(std::isnan(back->loss[1]) && std::isnan(back->accuracy[3]));
    QVERIFY(sameValues(back->accuracy, row.accuracy));
    QVERIFY(!back->createdAt.empty());
    QCOMPARE(back->updatedAt, back->createdAt);
    QVERIFY(!store->landscape(id + 1).has_value());

    // A loose checkpoint: no run.
    LandscapeRow loose = sampleRow(0);
    const int64_t looseId = store->addLandscape(loose);
    QCOMPARE(store->landscape(looseId)->runId, int64_t(0));
}

void TestLandscapeStore::updateReplacesValuesAndStatus() {
    auto store = RunStore::open(m_db);
    const int64_t id = store->addLandscape(sampleRow(0));
    const std::vector<double> loss{0.5, 0.6, 0.75, 0.8, 1.0 / 3.0, 2.0};
    const std::vector<double> acc{0.9, 0.85, 0.8, 0.75, 0.7, 0.1};
    store->updateLandscape(id, status::kFinished, loss, acc);
    const auto back = store->landscape(id);
    QCOMPARE(back->status, std::string(status::kFinished));
    QVERIFY(sameValues(back->loss, loss));
    QVERIFY(sameValues(back->accuracy, acc));
    QCOMPARE(back->kind, std::string("random"));  // the rest is untouched
    try {
        store->updateLandscape(id + 7, status::kFinished, loss, acc);
        QFAIL("an unknown landscape was updated");
    } catch (const StoreError& e) {
        QVERIFY2(std::string(e.what()).find("no such landscape") != std::string::npos, e.what());
    }
}

void TestLandscapeStore::listsByRunAndCascades() {
    auto store = RunStore::open(m_db);
    const int64_t a = store->createRun("a", "{}", "{}");
    const int64_t b = store->createRun("b", "{}", "{}");
    const int64_t a1 = store->addLandscape(sampleRow(a));
    const int64_t b1 = store->addLandscape(sampleRow(b));
    const int64_t a2 = store->addLandscape(sampleRow(a));
    const int64_t loose = store->addLandscape(sampleRow(0));
    const auto ofA = store->landscapes(a);
    QCOMPARE(ofA.size(), size_t(2));
    QCOMPARE(ofA[0].id, a1);  // oldest first
    QCOMPARE(ofA[1].id, a2);
    QCOMPARE(store->landscapes(0).size(), size_t(4));
    store->deleteRun(a);
    QVERIFY(!store->landscape(a1).has_value());
    QVERIFY(store->landscape(b1).has_value());
    QVERIFY(store->landscape(loose).has_value());
    QCOMPARE(store->landscapes(0).size(), size_t(2));
}

void TestLandscapeStore::refusesValuesThatDoNotFillTheGrid_data() {
    QTest::addColumn<int>("nx");
    QTest::addColumn<int>("lossCount");
    QTest::addColumn<int>("accCount");
    QTest::addColumn<QString>("expected");
    QTest::newRow("short loss") << 3 << 5 << 6 << QStringLiteral("5 losses and 6 accuracies");
    QTest::newRow("long accuracy") << 3 << 6 << 7 << QStringLiteral("6 losses and 7 accuracies");
    QTest::newRow("empty grid") << 0 << 0 << 0 << QStringLiteral("nx, ny >= 1");
}

void TestLandscapeStore::refusesValuesThatDoNotFillTheGrid() {
    QFETCH(int, nx);
    QFETCH(int, lossCount);
    QFETCH(int, accCount);
    QFETCH(QString, expected);
    auto store = RunStore::open(m_db);
    LandscapeRow row = sampleRow(0);
    row.nx = nx;
    row.loss.resize(size_t(lossCount), 1.0);
    row.accuracy.resize(size_t(accCount), 1.0);
    try {
        store->addLandscape(row);
        QFAIL("values that do not fill the grid were stored");
    } catch (const StoreError& e) {
        QVERIFY2(QString::fromUtf8(e.what()).contains(expected), e.what());
        QVERIFY2(std::string(e.what()).find(m_db) != std::string::npos, e.what());
    }
    if (nx > 0) {
        const int64_t id = store->addLandscape(sampleRow(0));
        QVERIFY_THROWS_EXCEPTION(
            StoreError, store->updateLandscape(id, status::kFinished, row.loss, row.accuracy));
    }
    QCOMPARE(store->landscapes(0).size(), size_t(nx > 0 ? 1 : 0));
}

void TestLandscapeStore::damagedBlobIsAClearError_data() {
    QTest::addColumn<QString>("sql");
    QTest::addColumn<QString>("expected");
    QTest::newRow("blob cut mid-double")
        << QStringLiteral("UPDATE landscapes SET loss_values = zeroblob(13)")
        << QStringLiteral("loss_values is a blob of 13 bytes");
    QTest::newRow("too few doubles")
        << QStringLiteral("UPDATE landscapes SET acc_values = zeroblob(40)")
        << QStringLiteral("6 losses and 5 accuracies for a 3 x 2 grid");
    QTest::newRow("grid grown") << QStringLiteral("UPDATE landscapes SET nx = 4")
                                << QStringLiteral("6 losses and 6 accuracies for a 4 x 2 grid");
    QTest::newRow("text for a blob") << QStringLiteral("UPDATE landscapes SET loss_values = 'x'")
                                     << QStringLiteral("loss_values is not a blob");
}

void TestLandscapeStore::damagedBlobIsAClearError() {
    QFETCH(QString, sql);
    QFETCH(QString, expected);
    int64_t id = 0;
    {
        auto store = RunStore::open(m_db);
        id = store->addLandscape(sampleRow(0));
    }
    rawExec(m_db, sql.toStdString());
    auto store = RunStore::open(m_db);
    for (int call = 0; call < 2; ++call) {
        try {
            if (call == 0) {
                store->landscape(id);
            } else {
                store->landscapes(0);
            }
            QFAIL("a damaged landscape row was read without error");
        } catch (const StoreError& e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains(expected), e.what());
            QVERIFY2(std::string(e.what()).find(m_db) != std::string::npos, e.what());
        }
    }
}

QTEST_GUILESS_MAIN(TestLandscapeStore)
#include "TestLandscapeStore.moc"
