// The run store's Hessian reports: a full round trip (eigenvalues, NaN traces, per-layer traces,
// MACs and Omega per bit-width), listing by run and by checkpoint, reading one by id, the cascade
// with its run, and a damaged omega_json row reported with the file and the column.
#include "engine/store/RunStore.h"

#include <QTemporaryDir>
#include <QTest>

#include <sqlite3.h>

#include <cmath>

using qs::store::HessianLayerRow;
using qs::store::HessianRow;
using qs::store::RunStore;
using qs::store::StoreError;

namespace {

HessianRow sampleRow(int64_t runId, const std::string& checkpoint, double scale) {
    HessianRow row;
    row.runId = runId;
    row.checkpoint = checkpoint;
    row.step = 40;
    row.mode = "dequantized";
    row.samples = 500;
    row.seed = 123;
    row.traceSamples = 100;
    row.eigenvalues = {12.5 * scale, -3.25 * scale};
    row.trace = 99.5 * scale;
    row.traceSe = 1.5;
    HessianLayerRow a;
    a.layer = "conv1";
    a.params = 144;
    a.macs = 112896;
    a.trace = 4.0 * scale;
    a.traceSe = 0.5;
    a.omega = {{2, 0.125}, {3, 0.0625}, {4, 1e-3}, {8, 1e-7}};
    HessianLayerRow b;
    b.layer = "layer1.0.conv1";
    b.params = 2304;
    b.macs = 2359296;
    b.trace = std::nan("");  // not computed
    b.traceSe = std::nan("");
    row.layers = {a, b};
    return row;
}

}  // namespace

class TestHessianStore : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init();
    void reportRoundTrips();
    void listsByRunAndByCheckpoint();
    void deletingTheRunDeletesItsReports();
    void damagedOmegaJsonNamesFileAndColumn();

private:
    QTemporaryDir m_dir;
    std::string m_path;
    int m_case = 0;
};

void TestHessianStore::init() {
    QVERIFY(m_dir.isValid());
    m_path = m_dir.filePath(QStringLiteral("runs-%1.sqlite").arg(++m_case)).toStdString();
}

void TestHessianStore::reportRoundTrips() {
    auto store = RunStore::open(m_path);
    const int64_t run = store->createRun("r", "{}", "{}");
    const HessianRow written = sampleRow(run, "/ck/last.safetensors", 1.0);
    const int64_t id = store->addHessian(written);
    QVERIFY(id > 0);
    const auto read = store->hessianReport(id);
    QVERIFY(read.has_value());
    QCOMPARE(read->id, id);
    QCOMPARE(read->runId, run);
    QCOMPARE(read->checkpoint, written.checkpoint);
    QCOMPARE(read->step, written.step);
    QCOMPARE(read->mode, written.mode);
    QCOMPARE(read->samples, written.samples);
    QCOMPARE(read->seed, written.seed);
    QCOMPARE(read->traceSamples, written.traceSamples);
    QCOMPARE(read->eigenvalues, written.eigenvalues);
    QCOMPARE(read->trace, written.trace);
    QCOMPARE(read->traceSe, written.traceSe);
    QVERIFY(!read->createdAt.empty());
    QCOMPARE(read->layers.size(), std::size_t(2));
    for (std::size_t i = 0; i < 2; ++i) {
        const HessianLayerRow& w = written.layers[i];
        const HessianLayerRow& r = read->layers[i];
        QCOMPARE(r.layer, w.layer);  // forward order kept
        QCOMPARE(r.params, w.params);
        QCOMPARE(r.macs, w.macs);
        QCOMPARE(r.omega, w.omega);
    }
    QCOMPARE(read->layers[0].trace, 4.0);
    QVERIFY(std::isnan(read->layers[1].trace) && std::isnan(read->layers[1].traceSe));
    QVERIFY(!store->hessianReport(id + 1).has_value());
}

void TestHessianStore::listsByRunAndByCheckpoint() {
    auto store = RunStore::open(m_path);
    const int64_t run = store->createRun("r", "{}", "{}");
    const int64_t first = store->addHessian(sampleRow(run, "/a.safetensors", 1.0));
    store->addHessian(sampleRow(0, "/loose.safetensors", 2.0));
    const int64_t third = store->addHessian(sampleRow(run, "/a.safetensors", 3.0));
    const auto ofRun = store->hessianReports(run);
    QCOMPARE(ofRun.size(), std::size_t(2));
    QCOMPARE(ofRun[0].id, first);  // oldest first
    QCOMPARE(ofRun[1].id, third);
    QCOMPARE(ofRun[1].eigenvalues[0], 12.5 * 3.0);
    const auto loose = store->hessianReportsForCheckpoint("/loose.safetensors");
    QCOMPARE(loose.size(), std::size_t(1));
    QCOMPARE(loose[0].runId, int64_t(0));
    QCOMPARE(loose[0].layers.size(), std::size_t(2));
    QCOMPARE(store->hessianReportsForCheckpoint("/a.safetensors").size(), std::size_t(2));
    QVERIFY(store->hessianReportsForCheckpoint("/none").empty());
    QVERIFY(store->hessianReports(run + 1).empty());
}

void TestHessianStore::deletingTheRunDeletesItsReports() {
    auto store = RunStore::open(m_path);
    const int64_t run = store->createRun("r", "{}", "{}");
    const int64_t id = store->addHessian(sampleRow(run, "/a.safetensors", 1.0));
    store->deleteRun(run);
    QVERIFY(!store->hessianReport(id).has_value());
    QCOMPARE(store->integrityCheck(), std::string("ok"));
}

void TestHessianStore::damagedOmegaJsonNamesFileAndColumn() {
    int64_t id = 0;
    {
        auto store = RunStore::open(m_path);
        id = store->addHessian(sampleRow(0, "/a.safetensors", 1.0));
    }
    sqlite3* db = nullptr;
    QCOMPARE(sqlite3_open(m_path.c_str(), &db), SQLITE_OK);
    QCOMPARE(sqlite3_exec(db,
                          "UPDATE hessian_layers SET omega_json = '{\"omega\": {\"two\": 1}, "
                          "\"macs\": 3}' WHERE layer = 'conv1'",
                          nullptr, nullptr, nullptr),
             SQLITE_OK);
    sqlite3_close(db);
    auto store = RunStore::open(m_path);
    try {
        store->hessianReport(id);
        QFAIL("a damaged row was read");
    } catch (const StoreError& e) {
        QCOMPARE(QString::fromStdString(e.what()),
                 QString::fromStdString(m_path) +
                     QStringLiteral(": cannot read Hessian report %1: bad row: omega_json of "
                                    "layer conv1 has a bit-width key that is not a number: 'two'")
                         .arg(id));
    }
    db = nullptr;
    QCOMPARE(sqlite3_open(m_path.c_str(), &db), SQLITE_OK);
    QCOMPARE(sqlite3_exec(db, "UPDATE hessian_layers SET omega_json = 'not json'", nullptr, nullptr,
                          nullptr),
             SQLITE_OK);
    sqlite3_close(db);
    try {
        store->hessianReportsForCheckpoint("/a.safetensors");
        QFAIL("a damaged row was read");
    } catch (const StoreError& e) {
        QVERIFY2(QString::fromStdString(e.what()).contains(
                     QStringLiteral("column omega_json is not JSON")),
                 e.what());
    }
}

QTEST_GUILESS_MAIN(TestHessianStore)
#include "TestHessianStore.moc"
