// Tests of the run store: round trips, cascades, ordering, schema versions, damaged files, bad
// rows and the detection of interrupted runs. Raw sqlite3 access stands in for what the API
// cannot do on purpose (other hosts, damaged rows, foreign files).
#include "engine/store/RunStore.h"
#include "support/TestFiles.h"

#include <QElapsedTimer>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

#include <sqlite3.h>

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <thread>

using qs::store::LayerStateRow;
using qs::store::MetricRow;
using qs::store::RunRecord;
using qs::store::RunStore;
using qs::store::SharpnessRow;
using qs::store::StoreError;
namespace status = qs::store::status;

namespace {

/// A second, plain connection to the same file.
class RawDb {
public:
    explicit RawDb(const std::string& path) {
        if (sqlite3_open_v2(path.c_str(), &m_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                            nullptr) != SQLITE_OK) {
            throw std::runtime_error("raw open failed: " + path);
        }
        sqlite3_busy_timeout(m_db, 5000);
    }
    ~RawDb() { sqlite3_close_v2(m_db); }
    RawDb(const RawDb&) = delete;
    RawDb& operator=(const RawDb&) = delete;

    void exec(const std::string& sql) {
        char* error = nullptr;
        if (sqlite3_exec(m_db, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
            const std::string message = error != nullptr ? error : "?";
            sqlite3_free(error);
            throw std::runtime_error("raw exec failed: " + sql + ": " + message);
        }
    }
    int64_t integer(const std::string& sql) {
        sqlite3_stmt* stmt = prepareAndStep(sql);
        const int64_t value = sqlite3_column_int64(stmt, 0);
        sqlite3_finalize(stmt);
        return value;
    }
    std::string text(const std::string& sql) {
        sqlite3_stmt* stmt = prepareAndStep(sql);
        const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
        const std::string value = data != nullptr ? data : "";
        sqlite3_finalize(stmt);
        return value;
    }
    std::vector<uint8_t> blob(const std::string& sql) {
        sqlite3_stmt* stmt = prepareAndStep(sql);
        const auto* data = static_cast<const uint8_t*>(sqlite3_column_blob(stmt, 0));
        std::vector<uint8_t> value(data, data + sqlite3_column_bytes(stmt, 0));
        sqlite3_finalize(stmt);
        return value;
    }

private:
    sqlite3_stmt* prepareAndStep(const std::string& sql) {
        sqlite3_stmt* stmt = nullptr;
        if (sqlite3_prepare_v2(m_db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK ||
            sqlite3_step(stmt) != SQLITE_ROW) {
            const std::string message = sqlite3_errmsg(m_db);
            sqlite3_finalize(stmt);
            throw std::runtime_error("raw query failed: " + sql + ": " + message);
        }
        return stmt;
    }
    sqlite3* m_db = nullptr;
};

std::string thisHost() {
    char buffer[256] = {};
    gethostname(buffer, sizeof buffer - 1);
    return buffer;
}

/// Creates a run from a child process that then exits, so the run's owner pid is dead (and
/// reaped). Returns the run id, or -1 if the child failed.
int64_t createRunInExitedChild(const std::string& path, const std::string& runStatus,
                               int64_t* childPid = nullptr) {
    int fds[2];
    if (pipe(fds) != 0) {
        return -1;
    }
    const pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        int64_t id = -1;
        try {
            auto store = RunStore::open(path);
            id = store->createRun("orphan", "{}", "{}");
            store->setStatus(id, runStatus);
        } catch (...) {
            id = -1;
        }
        const bool written = write(fds[1], &id, sizeof id) == sizeof id;
        // _exit: the Qt Test machinery copied into the child must not run its cleanup.
        _exit(written && id > 0 ? 0 : 1);
    }
    close(fds[1]);
    int64_t id = -1;
    if (pid < 0 || read(fds[0], &id, sizeof id) != sizeof id) {
        id = -1;
    }
    close(fds[0]);
    int wstatus = 0;
    if (pid > 0) {
        waitpid(pid, &wstatus, 0);
    }
    if (childPid != nullptr) {
        *childPid = pid;
    }
    return WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0 ? id : -1;
}

bool sameBits(double a, double b) {
    return std::memcmp(&a, &b, sizeof a) == 0;
}

const QRegularExpression kIsoUtc(QStringLiteral("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$"));

bool isIsoUtc(const std::string& s) {
    return kIsoUtc.match(QString::fromStdString(s)).hasMatch();
}

}  // namespace

class TestRunStore : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();

    void roundTripsAcrossReopen();
    void weightStepsRoundTripExactly_data();
    void weightStepsRoundTripExactly();
    void metricsFilterOrderAndReplace();
    void layerStatesByStep();
    void renameAndCheckpointDir();
    void statusTransitions();
    void unknownRunOrStatusIsAnError_data();
    void unknownRunOrStatusIsAnError();
    void deleteCascades();
    void listRunsNewestFirst();
    void schemaVersionAndJournalMode();
    void refusesNewerSchema();
    void migratesVersion1AndKeepsItsRuns();
    void sharpnessRowsRoundTrip();
    void refusesDamagedFile_data();
    void refusesDamagedFile();
    void refusesForeignDatabase();
    void lockedFileIsAnError();
    void liveOwnerIsNotInterrupted();
    void deadOwnerIsInterrupted_data();
    void deadOwnerIsInterrupted();
    void badRowIsAnError_data();
    void badRowIsAnError();
    void failedBatchRollsBack();
    void concurrentAppendsFromThreads();
    void concurrentFirstOpensFromProcesses();

private:
    std::unique_ptr<QTemporaryDir> m_dir;
    std::string m_path;
};

void TestRunStore::init() {
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
    m_path = m_dir->filePath(QStringLiteral("runs.sqlite")).toStdString();
}

void TestRunStore::cleanup() {
    m_dir.reset();
}

void TestRunStore::roundTripsAcrossReopen() {
    const std::string spec = R"({"model":"resnet20","bits":{"*":4}})";
    const std::string versions = R"({"torch":"2.1.0","qt":"6.4.2"})";
    int64_t id = 0;
    {
        auto store = RunStore::open(m_path);
        id = store->createRun("lsq-4bit", spec, versions);
        QVERIFY(id > 0);
        store->appendMetrics(id, {{0, "train/loss", 2.5}, {0, "train/acc", 0.1}});
        store->appendMetrics(id, {{10, "train/loss", 1.25}});
        LayerStateRow state;
        state.step = 10;
        state.layer = "layer1.0.conv1";
        state.weightBits = 4;
        state.actBits = 8;
        state.weightSteps = {0.01, 0.02, 0.03};
        state.actStep = 0.05;
        state.weightError = 1e-4;
        state.actError = 2e-4;
        state.weightClipRate = 0.01;
        state.actClipRate = 0.002;
        store->appendLayerStates(id, {state});
        store->setCheckpointDir(id, "/tmp/ckpt/lsq-4bit");
        store->setFinalMetrics(id, {{"eval/acc", 0.91}, {"eval/loss", 0.3}});
    }

    auto store = RunStore::open(m_path);
    const std::optional<RunRecord> run = store->run(id);
    QVERIFY(run.has_value());
    QCOMPARE(run->id, id);
    QCOMPARE(run->name, std::string("lsq-4bit"));
    QCOMPARE(run->status, std::string(status::kRunning));
    QCOMPARE(run->specJson, spec);
    QCOMPARE(run->versions, versions);
    QCOMPARE(run->host, thisHost());
    QCOMPARE(run->pid, int64_t(getpid()));
    QCOMPARE(run->checkpointDir, std::string("/tmp/ckpt/lsq-4bit"));
    QVERIFY2(isIsoUtc(run->createdAt), run->createdAt.c_str());
    QVERIFY2(isIsoUtc(run->updatedAt), run->updatedAt.c_str());
    QVERIFY(run->finishedAt.empty());
    QVERIFY(run->error.empty());
    const std::map<std::string, double> finals{{"eval/acc", 0.91}, {"eval/loss", 0.3}};
    QCOMPARE(run->finalMetrics, finals);

    const std::vector<MetricRow> metrics = store->metrics(id);
    QCOMPARE(metrics.size(), size_t(3));
    QCOMPARE(metrics[0].step, int64_t(0));
    QCOMPARE(metrics[0].key, std::string("train/acc"));  // same step: ordered by key
    QCOMPARE(metrics[0].value, 0.1);
    QCOMPARE(metrics[1].key, std::string("train/loss"));
    QCOMPARE(metrics[1].value, 2.5);
    QCOMPARE(metrics[2].step, int64_t(10));
    QCOMPARE(metrics[2].value, 1.25);

    const std::vector<LayerStateRow> states = store->layerStates(id);
    QCOMPARE(states.size(), size_t(1));
    const LayerStateRow& s = states[0];
    QCOMPARE(s.step, int64_t(10));
    QCOMPARE(s.layer, std::string("layer1.0.conv1"));
    QCOMPARE(s.weightBits, 4);
    QCOMPARE(s.actBits, 8);
    QCOMPARE(s.weightSteps, (std::vector<double>{0.01, 0.02, 0.03}));
    QCOMPARE(s.actStep, 0.05);
    QCOMPARE(s.weightError, 1e-4);
    QCOMPARE(s.actError, 2e-4);
    QCOMPARE(s.weightClipRate, 0.01);
    QCOMPARE(s.actClipRate, 0.002);

    // listRuns carries the final metrics too.
    const std::vector<RunRecord> runs = store->listRuns();
    QCOMPARE(runs.size(), size_t(1));
    QCOMPARE(runs[0].finalMetrics, finals);
}

void TestRunStore::weightStepsRoundTripExactly_data() {
    QTest::addColumn<std::vector<double>>("steps");
    QTest::newRow("empty (float layer)") << std::vector<double>{};
    QTest::newRow("one per tensor") << std::vector<double>{0.1};
    std::vector<double> perChannel;
    for (int i = 0; i < 512; ++i) {
        perChannel.push_back(std::ldexp(1.0 + i / 1024.0, -(i % 40)) / 3.0);
    }
    QTest::newRow("512 per-channel") << perChannel;
    QTest::newRow("extremes") << std::vector<double>{std::numeric_limits<double>::denorm_min(),
                                                     std::numeric_limits<double>::max(),
                                                     std::numeric_limits<double>::lowest(),
                                                     -0.0,
                                                     std::numeric_limits<double>::infinity(),
                                                     -std::numeric_limits<double>::infinity(),
                                                     std::nextafter(1.0, 2.0)};
    QTest::newRow("NaN inside the blob")
        << std::vector<double>{1.0, std::numeric_limits<double>::quiet_NaN(), 2.0};
}

void TestRunStore::weightStepsRoundTripExactly() {
    QFETCH(std::vector<double>, steps);
    int64_t id = 0;
    {
        auto store = RunStore::open(m_path);
        id = store->createRun("steps", "{}", "{}");
        LayerStateRow row;
        row.step = 3;
        row.layer = "fc";
        row.weightBits = steps.empty() ? 0 : 3;
        row.weightSteps = steps;
        store->appendLayerStates(id, {row});
    }
    auto store = RunStore::open(m_path);
    const std::vector<LayerStateRow> rows = store->layerStates(id);
    QCOMPARE(rows.size(), size_t(1));
    QCOMPARE(rows[0].weightSteps.size(), steps.size());
    for (size_t i = 0; i < steps.size(); ++i) {
        QVERIFY2(sameBits(rows[0].weightSteps[i], steps[i]), qPrintable(QString::number(i)));
    }
    // The blob is a documented format (little-endian doubles), readable without this code.
    RawDb raw(m_path);
    const std::vector<uint8_t> blob = raw.blob("SELECT weight_steps FROM layer_states");
    QCOMPARE(blob.size(), steps.size() * 8);
    if (!steps.empty()) {
        uint64_t bits = 0;
        for (int b = 7; b >= 0; --b) {
            bits = (bits << 8) | blob[size_t(b)];
        }
        double first = 0;
        std::memcpy(&first, &bits, sizeof first);
        QVERIFY(sameBits(first, steps[0]));
    }
}

void TestRunStore::metricsFilterOrderAndReplace() {
    auto store = RunStore::open(m_path);
    const int64_t id = store->createRun("m", "{}", "{}");
    const int64_t other = store->createRun("other", "{}", "{}");
    store->appendMetrics(id, {{20, "train/loss", 0.5},
                              {0, "train/loss", 2.0},
                              {10, "train/loss", 1.0},
                              {10, "eval/acc", 0.4}});
    store->appendMetrics(other, {{5, "train/loss", 9.0}});

    const std::vector<MetricRow> loss = store->metrics(id, "train/loss");
    QCOMPARE(loss.size(), size_t(3));
    QCOMPARE(loss[0].step, int64_t(0));
    QCOMPARE(loss[1].step, int64_t(10));
    QCOMPARE(loss[2].step, int64_t(20));
    QCOMPARE(loss[2].value, 0.5);
    QCOMPARE(store->metrics(id, "eval/acc").size(), size_t(1));
    QCOMPARE(store->metrics(id).size(), size_t(4));
    QVERIFY(store->metrics(id, "no/such/key").empty());

    // A resumed run re-logs a step: the newer value replaces the older one.
    store->appendMetrics(id, {{10, "train/loss", 1.5}});
    const std::vector<MetricRow> replaced = store->metrics(id, "train/loss");
    QCOMPARE(replaced.size(), size_t(3));
    QCOMPARE(replaced[1].value, 1.5);

    // A diverged loss is recorded, and comes back as NaN; infinities are kept as such.
    store->appendMetrics(id, {{30, "train/loss", std::numeric_limits<double>::quiet_NaN()},
                              {40, "train/loss", std::numeric_limits<double>::infinity()}});
    const std::vector<MetricRow> diverged = store->metrics(id, "train/loss");
    QCOMPARE(diverged.size(), size_t(5));
    QVERIFY(std::isnan(diverged[3].value));
    QVERIFY(std::isinf(diverged[4].value) && diverged[4].value > 0);

    QCOMPARE(store->metrics(other).size(), size_t(1));
}

void TestRunStore::layerStatesByStep() {
    auto store = RunStore::open(m_path);
    const int64_t id = store->createRun("ls", "{}", "{}");
    const int64_t empty = store->createRun("no states", "{}", "{}");
    std::vector<LayerStateRow> rows;
    for (int64_t step : {20, 0, 10}) {
        for (const char* layer : {"layer2.conv", "layer1.conv"}) {
            LayerStateRow row;
            row.step = step;
            row.layer = layer;
            row.weightBits = 2;
            row.weightSteps = {double(step)};
            rows.push_back(row);
        }
    }
    store->appendLayerStates(id, rows);

    QCOMPARE(store->layerStates(id).size(), size_t(6));
    const std::vector<LayerStateRow> atTen = store->layerStates(id, 10);
    QCOMPARE(atTen.size(), size_t(2));
    QCOMPARE(atTen[0].layer, std::string("layer1.conv"));
    QCOMPARE(atTen[1].layer, std::string("layer2.conv"));
    QCOMPARE(atTen[0].weightSteps, std::vector<double>{10.0});
    QVERIFY(store->layerStates(id, 5).empty());
    QCOMPARE(store->lastLayerStateStep(id), int64_t(20));
    QCOMPARE(store->lastLayerStateStep(empty), int64_t(-1));
    QCOMPARE(store->lastLayerStateStep(12345), int64_t(-1));
}

void TestRunStore::renameAndCheckpointDir() {
    auto store = RunStore::open(m_path);
    const int64_t id = store->createRun("before", "{}", "{}");
    store->renameRun(id, "after: ünïcode & 'quotes'");
    store->setCheckpointDir(id, "/data/ckpt/run 7");
    const std::optional<RunRecord> run = store->run(id);
    QVERIFY(run.has_value());
    QCOMPARE(run->name, std::string("after: ünïcode & 'quotes'"));
    QCOMPARE(run->checkpointDir, std::string("/data/ckpt/run 7"));
    QVERIFY(!store->run(id + 1000).has_value());
}

void TestRunStore::statusTransitions() {
    auto store = RunStore::open(m_path);
    const int64_t id = store->createRun("s", "{}", "{}");

    store->setStatus(id, status::kPaused);
    QCOMPARE(store->run(id)->status, std::string(status::kPaused));
    QVERIFY(store->run(id)->finishedAt.empty());

    store->setStatus(id, status::kFailed, "CUDA out of memory");
    RunRecord run = *store->run(id);
    QCOMPARE(run.status, std::string(status::kFailed));
    QCOMPARE(run.error, std::string("CUDA out of memory"));
    QVERIFY2(isIsoUtc(run.finishedAt), run.finishedAt.c_str());

    // Resuming elsewhere: the run is re-claimed by this process, finish time and error cleared.
    {
        RawDb raw(m_path);
        raw.exec("UPDATE runs SET pid = 1, host = 'elsewhere' WHERE id = " + std::to_string(id));
    }
    store->setStatus(id, status::kRunning);
    run = *store->run(id);
    QCOMPARE(run.status, std::string(status::kRunning));
    QCOMPARE(run.pid, int64_t(getpid()));
    QCOMPARE(run.host, thisHost());
    QVERIFY(run.finishedAt.empty());
    QVERIFY(run.error.empty());

    store->setStatus(id, status::kFinished);
    run = *store->run(id);
    QCOMPARE(run.status, std::string(status::kFinished));
    QVERIFY(isIsoUtc(run.finishedAt));
}

void TestRunStore::unknownRunOrStatusIsAnError_data() {
    QTest::addColumn<int>("call");
    QTest::addColumn<QString>("expected");
    QTest::newRow("setStatus, no such run") << 0 << "no such run";
    QTest::newRow("setStatus, unknown status") << 1 << "unknown status 'done'";
    QTest::newRow("rename, no such run") << 2 << "no such run";
    QTest::newRow("checkpoint dir, no such run") << 3 << "no such run";
    QTest::newRow("final metrics, no such run") << 4 << "no such run";
    QTest::newRow("delete, no such run") << 5 << "no such run";
    QTest::newRow("metrics, no such run") << 6 << "FOREIGN KEY constraint failed";
    QTest::newRow("layer states, no such run") << 7 << "FOREIGN KEY constraint failed";
    QTest::newRow("metrics, empty key") << 8 << "empty metric key at step 3";
}

void TestRunStore::unknownRunOrStatusIsAnError() {
    QFETCH(int, call);
    QFETCH(QString, expected);
    auto store = RunStore::open(m_path);
    const int64_t id = store->createRun("exists", "{}", "{}");
    const int64_t missing = id + 41;
    try {
        switch (call) {
            case 0:
                store->setStatus(missing, status::kFinished);
                break;
            case 1:
                store->setStatus(id, "done");
                break;
            case 2:
                store->renameRun(missing, "x");
                break;
            case 3:
                store->setCheckpointDir(missing, "/x");
                break;
            case 4:
                store->setFinalMetrics(missing, {{"eval/acc", 1.0}});
                break;
            case 5:
                store->deleteRun(missing);
                break;
            case 6:
                store->appendMetrics(missing, {{0, "train/loss", 1.0}});
                break;
            case 7:
                store->appendLayerStates(missing, {LayerStateRow{}});
                break;
            case 8:
                store->appendMetrics(id, {{2, "a", 1.0}, {3, "", 1.0}});
                break;
        }
        QFAIL("no StoreError");
    } catch (const StoreError& e) {
        const QString message = QString::fromUtf8(e.what());
        QVERIFY2(message.startsWith(QString::fromStdString(m_path)), e.what());
        QVERIFY2(message.contains(expected), e.what());
    }
    // Nothing was half-written and the store is still usable.
    QCOMPARE(store->run(id)->status, std::string(status::kRunning));
    QVERIFY(store->metrics(id).empty());
    store->appendMetrics(id, {{1, "ok", 1.0}});
    QCOMPARE(store->metrics(id).size(), size_t(1));
}

void TestRunStore::deleteCascades() {
    auto store = RunStore::open(m_path);
    const int64_t doomed = store->createRun("doomed", "{}", "{}");
    const int64_t kept = store->createRun("kept", "{}", "{}");
    for (int64_t id : {doomed, kept}) {
        store->appendMetrics(id, {{0, "train/loss", 1.0}, {1, "train/loss", 0.9}});
        LayerStateRow row;
        row.layer = "conv1";
        row.weightSteps = {0.1, 0.2};
        store->appendLayerStates(id, {row});
        store->setFinalMetrics(id, {{"eval/acc", 0.5}});
    }
    store->deleteRun(doomed);
    QVERIFY(!store->run(doomed).has_value());

    // Count in the tables themselves: the API would answer "empty" for a deleted run anyway.
    RawDb raw(m_path);
    for (const char* table : {"metrics", "layer_states", "final_metrics"}) {
        const std::string where = " WHERE run_id = ";
        QCOMPARE(raw.integer(std::string("SELECT count(*) FROM ") + table + where +
                             std::to_string(doomed)),
                 int64_t(0));
    }
    QCOMPARE(raw.integer("SELECT count(*) FROM metrics WHERE run_id = " + std::to_string(kept)),
             int64_t(2));
    QCOMPARE(store->layerStates(kept).size(), size_t(1));
    QCOMPARE(store->run(kept)->finalMetrics.size(), size_t(1));
    QCOMPARE(store->listRuns().size(), size_t(1));
}

void TestRunStore::listRunsNewestFirst() {
    auto store = RunStore::open(m_path);
    const int64_t a = store->createRun("a", "{}", "{}");
    const int64_t b = store->createRun("b", "{}", "{}");
    const int64_t c = store->createRun("c", "{}", "{}");
    // Created within one second: the later id is the newer run.
    std::vector<RunRecord> runs = store->listRuns();
    QCOMPARE(runs.size(), size_t(3));
    QCOMPARE(runs[0].id, c);
    QCOMPARE(runs[1].id, b);
    QCOMPARE(runs[2].id, a);
    QCOMPARE(runs[0].name, std::string("c"));

    // The creation time decides before the id does.
    {
        RawDb raw(m_path);
        raw.exec("UPDATE runs SET created_at = '2099-01-01T00:00:00Z' WHERE id = " +
                 std::to_string(a));
    }
    runs = store->listRuns();
    QCOMPARE(runs[0].id, a);
    QCOMPARE(runs[1].id, c);
    QCOMPARE(runs[2].id, b);
}

void TestRunStore::schemaVersionAndJournalMode() {
    QVERIFY(RunStore::currentSchemaVersion() >= 1);
    {
        auto store = RunStore::open(m_path);
        QCOMPARE(store->schemaVersion(), RunStore::currentSchemaVersion());
        QCOMPARE(store->path(), m_path);
        QCOMPARE(store->integrityCheck(), std::string("ok"));
    }
    RawDb raw(m_path);
    QCOMPARE(raw.integer("PRAGMA user_version"), int64_t(RunStore::currentSchemaVersion()));
    QCOMPARE(raw.text("PRAGMA journal_mode"), std::string("wal"));
    for (const char* table : {"runs", "metrics", "layer_states", "final_metrics", "landscapes",
                              "artifacts", "sharpness", "hessian", "hessian_layers"}) {
        QVERIFY2(raw.integer(std::string("SELECT count(*) FROM sqlite_master WHERE type = "
                                         "'table' AND name = '") +
                             table + "'") == 1,
                 table);
    }
    // Reopening an up-to-date file changes nothing.
    auto again = RunStore::open(m_path);
    QCOMPARE(again->schemaVersion(), RunStore::currentSchemaVersion());
}

void TestRunStore::migratesVersion1AndKeepsItsRuns() {
    // A version-1 file (before the sharpness, Hessian and resumable landscape tables) with a
    // run in it.
    int64_t id = 0;
    {
        auto store = RunStore::open(m_path);
        id = store->createRun("old", "{}", "{}");
        store->appendMetrics(id, {{1, "train/loss", 2.5}});
    }
    {
        RawDb raw(m_path);
        for (const char* table : {"sharpness", "hessian_layers", "hessian", "landscapes"}) {
            raw.exec(std::string("DROP TABLE ") + table);
        }
        raw.exec(
            "CREATE TABLE landscapes (id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL "
            "REFERENCES runs(id) ON DELETE CASCADE, step INTEGER NOT NULL, kind TEXT NOT NULL, "
            "nx INTEGER NOT NULL, ny INTEGER NOT NULL, grid_values BLOB NOT NULL, "
            "directions_seed INTEGER NOT NULL, mode TEXT NOT NULL, created_at TEXT NOT NULL)");
        raw.exec("CREATE INDEX landscapes_run_step ON landscapes(run_id, step)");
        raw.exec("PRAGMA user_version = 1");
    }
    auto store = RunStore::open(m_path);
    QCOMPARE(store->schemaVersion(), RunStore::currentSchemaVersion());
    QCOMPARE(store->run(id)->name, std::string("old"));
    QCOMPARE(store->metrics(id).size(), size_t(1));
    QVERIFY(store->sharpness(id).empty());
    SharpnessRow row;
    row.runId = id;
    row.checkpoint = "c.safetensors";
    row.measure = "rho-ball";
    row.mode = "float";
    store->addSharpness(row);
    QCOMPARE(store->sharpness(id).size(), size_t(1));
    QCOMPARE(store->integrityCheck(), std::string("ok"));
}

void TestRunStore::sharpnessRowsRoundTrip() {
    auto store = RunStore::open(m_path);
    const int64_t id = store->createRun("sharp", "{}", "{}");
    SharpnessRow a;
    a.runId = id;
    a.checkpoint = "/x/last.safetensors";
    a.step = 469;
    a.measure = "rho-ball";
    a.mode = "quantize-after";
    a.radius = 0.05;
    a.value = 0.123456789012345;
    a.baseLoss = 0.25;
    a.perturbedLoss = 0.373456789012345;
    a.ascentSteps = 5;
    a.samples = 1000;
    a.seed = 123;
    SharpnessRow b = a;
    b.measure = "epsilon";
    b.mode = "dequantized";
    b.value = std::numeric_limits<double>::quiet_NaN();  // NULL in SQLite, NaN back
    const int64_t ia = store->addSharpness(a);
    const int64_t ib = store->addSharpness(b);
    QVERIFY(ib > ia);
    SharpnessRow loose = a;  // a checkpoint outside any run
    loose.runId = 0;
    store->addSharpness(loose);
    const auto rows = store->sharpness(id);
    QCOMPARE(rows.size(), size_t(2));
    QCOMPARE(rows[0].id, ia);
    QCOMPARE(rows[0].runId, id);
    QCOMPARE(rows[0].checkpoint, a.checkpoint);
    QCOMPARE(rows[0].step, a.step);
    QCOMPARE(rows[0].measure, a.measure);
    QCOMPARE(rows[0].mode, a.mode);
    QCOMPARE(rows[0].radius, a.radius);
    QCOMPARE(rows[0].value, a.value);
    QCOMPARE(rows[0].baseLoss, a.baseLoss);
    QCOMPARE(rows[0].perturbedLoss, a.perturbedLoss);
    QCOMPARE(rows[0].ascentSteps, 5);
    QCOMPARE(rows[0].samples, int64_t(1000));
    QCOMPARE(rows[0].seed, uint64_t(123));
    QVERIFY(!rows[0].createdAt.empty());
    QVERIFY(std::isnan(rows[1].value));
    // Deleting the run deletes its figures.
    store->deleteRun(id);
    QVERIFY(store->sharpness(id).empty());
}

void TestRunStore::refusesNewerSchema() {
    RunStore::open(m_path).reset();
    const int newer = RunStore::currentSchemaVersion() + 1;
    {
        RawDb raw(m_path);
        raw.exec("PRAGMA user_version = " + std::to_string(newer));
    }
    try {
        RunStore::open(m_path);
        QFAIL("a newer schema was opened");
    } catch (const StoreError& e) {
        const QString message = QString::fromUtf8(e.what());
        QVERIFY2(message.contains(QString::fromStdString(m_path)), e.what());
        QVERIFY2(message.contains(QStringLiteral("schema version %1 is newer").arg(newer)),
                 e.what());
    }
    RawDb raw(m_path);
    QCOMPARE(raw.integer("PRAGMA user_version"), int64_t(newer));  // left untouched
}

void TestRunStore::refusesDamagedFile_data() {
    QTest::addColumn<int>("damage");
    QTest::addColumn<QString>("expected");
    QTest::newRow("random bytes") << 0 << "file is not a database";
    QTest::newRow("text file") << 1 << "file is not a database";
    QTest::newRow("truncated to half") << 2 << "malformed";
    QTest::newRow("truncated inside the header") << 3 << "malformed";
    QTest::newRow("header magic overwritten") << 4 << "file is not a database";
}

void TestRunStore::refusesDamagedFile() {
    QFETCH(int, damage);
    QFETCH(QString, expected);
    std::vector<uint8_t> bytes;
    if (damage == 0) {
        std::mt19937 random(42);
        bytes.resize(64 * 1024);
        for (uint8_t& b : bytes) {
            b = uint8_t(random());
        }
    } else if (damage == 1) {
        const std::string text = "name,loss\nrun1,0.5\n# not a database, just a CSV file\n";
        for (int i = 0; i < 100; ++i) {
            bytes.insert(bytes.end(), text.begin(), text.end());
        }
    } else {
        {
            auto store = RunStore::open(m_path);
            const int64_t id = store->createRun("big", "{}", "{}");
            std::vector<MetricRow> rows;
            for (int64_t step = 0; step < 20000; ++step) {
                rows.push_back({step, "train/loss", 1.0 / double(step + 1)});
            }
            store->appendMetrics(id, rows);
        }  // closing checkpoints the WAL: the main file holds everything
        bytes = qs::test::readBytes(m_path);
        QVERIFY(bytes.size() > 100 * 1024);
        if (damage == 2) {
            bytes.resize(bytes.size() / 2);
        } else if (damage == 3) {
            bytes.resize(50);
        } else {
            std::memcpy(bytes.data(), "Not SQLite fmt\0", 16);
        }
    }
    qs::test::writeBytes(m_path, bytes);

    try {
        auto store = RunStore::open(m_path);
        // Damage past the pages that open reads would only show up here.
        store->listRuns();
        for (const RunRecord& run : store->listRuns()) {
            store->metrics(run.id);
        }
        QFAIL("a damaged file was opened and read without error");
    } catch (const StoreError& e) {
        const QString message = QString::fromUtf8(e.what());
        QVERIFY2(message.startsWith(QString::fromStdString(m_path) + QStringLiteral(": ")),
                 e.what());
        QVERIFY2(message.contains(expected), e.what());
    }
}

void TestRunStore::refusesForeignDatabase() {
    {
        RawDb raw(m_path);
        raw.exec("CREATE TABLE contacts (name TEXT, phone TEXT)");
        raw.exec("INSERT INTO contacts VALUES ('a', '1')");
    }
    try {
        RunStore::open(m_path);
        QFAIL("another application's database was opened");
    } catch (const StoreError& e) {
        QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("not a Quantscape run store")),
                 e.what());
    }
    RawDb raw(m_path);  // and it was not modified
    QCOMPARE(raw.integer("SELECT count(*) FROM sqlite_master"), int64_t(1));
}

void TestRunStore::lockedFileIsAnError() {
    RawDb holder(m_path);
    holder.exec("PRAGMA locking_mode = EXCLUSIVE");
    holder.exec("BEGIN EXCLUSIVE");
    holder.exec("CREATE TABLE held (x)");
    qs::store::RunStoreOptions options;
    options.busyTimeoutMs = 1000;
    QElapsedTimer timer;
    timer.start();
    try {
        RunStore::open(m_path, options);
        QFAIL("a locked file was opened");
    } catch (const StoreError& e) {
        const QString message = QString::fromUtf8(e.what());
        QVERIFY2(message.startsWith(QString::fromStdString(m_path)), e.what());
        QVERIFY2(message.contains(QStringLiteral("the run store is busy: another Quantscape "
                                                 "instance or process has kept it locked")),
                 e.what());
        QCOMPARE(e.kind(), StoreError::Kind::Busy);
    }
    // It waited for the lock (busy timeout) rather than failing at once.
    QVERIFY(timer.elapsed() >= 900);
}

void TestRunStore::liveOwnerIsNotInterrupted() {
    int64_t running = 0;
    int64_t paused = 0;
    {
        auto store = RunStore::open(m_path);
        running = store->createRun("live", "{}", "{}");
        paused = store->createRun("live, paused", "{}", "{}");
        store->setStatus(paused, status::kPaused);
    }
    // This process (the owner) is alive, as another CLI writing to the same store would be.
    auto store = RunStore::open(m_path);
    QCOMPARE(store->run(running)->status, std::string(status::kRunning));
    QCOMPARE(store->run(paused)->status, std::string(status::kPaused));
}

void TestRunStore::deadOwnerIsInterrupted_data() {
    QTest::addColumn<QString>("statusAtExit");
    QTest::addColumn<bool>("otherHost");
    QTest::addColumn<QString>("expected");
    QTest::newRow("running") << status::kRunning << false << status::kInterrupted;
    QTest::newRow("paused") << status::kPaused << false << status::kInterrupted;
    QTest::newRow("finished stays") << status::kFinished << false << status::kFinished;
    QTest::newRow("queued stays") << status::kQueued << false << status::kQueued;
    QTest::newRow("cancelled stays") << status::kCancelled << false << status::kCancelled;
    // A pid of another machine says nothing about processes here.
    QTest::newRow("running on another host") << status::kRunning << true << status::kRunning;
}

void TestRunStore::deadOwnerIsInterrupted() {
    QFETCH(QString, statusAtExit);
    QFETCH(bool, otherHost);
    QFETCH(QString, expected);
    int64_t childPid = 0;
    const int64_t id = createRunInExitedChild(m_path, statusAtExit.toStdString(), &childPid);
    QVERIFY(id > 0);
    QVERIFY(kill(pid_t(childPid), 0) != 0 && errno == ESRCH);  // really gone
    if (otherHost) {
        RawDb raw(m_path);
        raw.exec("UPDATE runs SET host = 'other-host' WHERE id = " + std::to_string(id));
    }
    const int64_t mine = [&] {
        auto store = RunStore::open(m_path);
        return store->createRun("mine", "{}", "{}");
    }();

    auto store = RunStore::open(m_path);
    const RunRecord run = *store->run(id);
    QCOMPARE(QString::fromStdString(run.status), expected);
    QCOMPARE(run.pid, childPid);
    QCOMPARE(store->run(mine)->status, std::string(status::kRunning));
}

void TestRunStore::badRowIsAnError_data() {
    QTest::addColumn<QString>("sql");
    QTest::addColumn<int>("read");
    QTest::addColumn<QString>("expected");
    QTest::newRow("metric value is text")
        << "INSERT INTO metrics VALUES (1, 0, 'train/loss', 'abc')" << 0 << "column value";
    QTest::newRow("metric step is a real")
        << "INSERT INTO metrics VALUES (1, 0.5, 'train/loss', 1.0)" << 0 << "column step";
    QTest::newRow("weight steps of 7 bytes")
        << "INSERT INTO layer_states VALUES (1, 0, 'fc', 4, 8, x'00112233445566', 0, 0, 0, 0, 0)"
        << 1 << "7 bytes";
    QTest::newRow("weight steps not a blob")
        << "INSERT INTO layer_states VALUES (1, 0, 'fc', 4, 8, 'text', 0, 0, 0, 0, 0)" << 1
        << "column weight_steps";
    QTest::newRow("bits out of range")
        << "INSERT INTO layer_states VALUES (1, 0, 'fc', 99999999999, 8, x'', 0, 0, 0, 0, 0)" << 1
        << "out of range";
    QTest::newRow("run name is a blob")
        << "UPDATE runs SET name = x'0102' WHERE id = 1" << 2 << "column name";
    QTest::newRow("final metric is text")
        << "INSERT INTO final_metrics VALUES (1, 'eval/acc', 'high')" << 3 << "column value";
}

void TestRunStore::badRowIsAnError() {
    QFETCH(QString, sql);
    QFETCH(int, read);
    QFETCH(QString, expected);
    auto store = RunStore::open(m_path);
    QCOMPARE(store->createRun("victim", "{}", "{}"), int64_t(1));
    {
        RawDb raw(m_path);
        raw.exec(sql.toStdString());
    }
    try {
        switch (read) {
            case 0:
                store->metrics(1);
                break;
            case 1:
                store->layerStates(1);
                break;
            case 2:
                store->listRuns();
                break;
            case 3:
                store->run(1);
                break;
        }
        QFAIL("a bad row was read without error");
    } catch (const StoreError& e) {
        const QString message = QString::fromUtf8(e.what());
        QVERIFY2(message.startsWith(QString::fromStdString(m_path)), e.what());
        QVERIFY2(message.contains(QStringLiteral("bad row")), e.what());
        QVERIFY2(message.contains(expected), e.what());
    }
}

void TestRunStore::failedBatchRollsBack() {
    auto store = RunStore::open(m_path);
    const int64_t id = store->createRun("batch", "{}", "{}");
    {
        // A failure injected at the 6th row of the batch, after five rows were inserted.
        RawDb raw(m_path);
        raw.exec(
            "CREATE TRIGGER fail_at_step_5 BEFORE INSERT ON metrics WHEN NEW.step = 5 "
            "BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
    }
    std::vector<MetricRow> rows;
    for (int64_t step = 0; step < 10; ++step) {
        rows.push_back({step, "train/loss", double(step)});
    }
    try {
        store->appendMetrics(id, rows);
        QFAIL("the injected failure did not surface");
    } catch (const StoreError& e) {
        QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("injected failure")),
                 e.what());
    }
    QVERIFY(store->metrics(id).empty());  // all or nothing

    rows.erase(rows.begin() + 5);
    store->appendMetrics(id, rows);
    QCOMPARE(store->metrics(id).size(), size_t(9));
    QCOMPARE(store->integrityCheck(), std::string("ok"));
}

void TestRunStore::concurrentAppendsFromThreads() {
    auto store = RunStore::open(m_path);
    constexpr int kThreads = 4;
    constexpr int kBatches = 50;
    constexpr int kRows = 20;
    std::vector<int64_t> ids;
    for (int t = 0; t < kThreads; ++t) {
        ids.push_back(store->createRun("thread " + std::to_string(t), "{}", "{}"));
    }
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            try {
                for (int b = 0; b < kBatches; ++b) {
                    std::vector<MetricRow> rows;
                    for (int r = 0; r < kRows; ++r) {
                        const int64_t step = int64_t(b) * kRows + r;
                        rows.push_back({step, "train/loss", double(step) + t});
                    }
                    store->appendMetrics(ids[size_t(t)], rows);
                    store->listRuns();
                }
            } catch (const std::exception&) {
                ++failures;
            }
        });
    }
    for (std::thread& thread : threads) {
        thread.join();
    }
    QCOMPARE(failures.load(), 0);
    for (int t = 0; t < kThreads; ++t) {
        const std::vector<MetricRow> rows = store->metrics(ids[size_t(t)]);
        QCOMPARE(rows.size(), size_t(kBatches * kRows));
        QCOMPARE(rows.back().value, double(kBatches * kRows - 1) + t);
    }
}

void TestRunStore::concurrentFirstOpensFromProcesses() {
    // Several CLIs started at once on a new file: each must see one migrated schema.
    constexpr int kChildren = 6;
    int gate[2];
    QVERIFY(pipe(gate) == 0);
    std::vector<pid_t> children;
    for (int i = 0; i < kChildren; ++i) {
        const pid_t pid = fork();
        if (pid == 0) {
            close(gate[1]);
            char byte = 0;
            // Blocks until the parent closes the gate, so all children open together.
            const bool released = read(gate[0], &byte, 1) == 0;
            int code = released ? 0 : 3;
            try {
                auto store = RunStore::open(m_path);
                const int64_t id = store->createRun("child " + std::to_string(i), "{}", "{}");
                store->appendMetrics(id, {{0, "train/loss", double(i)}});
                store->setStatus(id, status::kFinished);
            } catch (const std::exception& e) {
                std::fprintf(stderr, "child %d: %s\n", i, e.what());
                code = 2;
            }
            _exit(code);
        }
        QVERIFY(pid > 0);
        children.push_back(pid);
    }
    close(gate[0]);
    close(gate[1]);
    int failed = 0;
    for (pid_t pid : children) {
        int wstatus = 0;
        waitpid(pid, &wstatus, 0);
        if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
            ++failed;
        }
    }
    QCOMPARE(failed, 0);
    auto store = RunStore::open(m_path);
    QCOMPARE(store->schemaVersion(), RunStore::currentSchemaVersion());
    const std::vector<RunRecord> runs = store->listRuns();
    QCOMPARE(runs.size(), size_t(kChildren));
    for (const RunRecord& run : runs) {
        QCOMPARE(run.status, std::string(status::kFinished));
        QCOMPARE(store->metrics(run.id).size(), size_t(1));
    }
    QCOMPARE(store->integrityCheck(), std::string("ok"));
}

QTEST_GUILESS_MAIN(TestRunStore)
#include "TestRunStore.moc"
