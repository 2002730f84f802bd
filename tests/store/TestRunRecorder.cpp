// The run recorder when the store refuses a write: the store's error comes out of onEvents (for
// the session to report), the batch stays queued and is written once the store takes writes
// again, nothing recorded before is lost, and a run that cannot be recorded completely ends as
// failed with the store's message.
#include "engine/session/RunRecorder.h"
#include "engine/store/RunStore.h"
#include "support/ChildProcess.h"

#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QTest>

#include <sqlite3.h>

#include <sys/stat.h>

#include <stdexcept>

using qs::session::EpochEval;
using qs::session::EventBatch;
using qs::session::Finished;
using qs::session::LayerState;
using qs::session::LayerStates;
using qs::session::Progress;
using qs::session::RunRecorder;
using qs::session::StepMetrics;
using qs::store::MetricRow;
using qs::store::RunStore;
using qs::store::RunStoreOptions;
using qs::store::StoreError;
using qs::test::ChildProcess;
namespace status = qs::store::status;
using namespace std::chrono_literals;

namespace {

constexpr int kBusyTimeoutMs = 300;

/// Another connection that holds the store's write lock while it lives, as another process
/// in the middle of a long write would.
class LockHolder {
public:
    explicit LockHolder(const std::string& path) {
        if (sqlite3_open_v2(path.c_str(), &m_db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK ||
            sqlite3_exec(m_db, "BEGIN EXCLUSIVE; UPDATE runs SET name = name", nullptr, nullptr,
                         nullptr) != SQLITE_OK) {
            throw std::runtime_error("cannot take the lock: " + std::string(sqlite3_errmsg(m_db)));
        }
    }
    ~LockHolder() {
        sqlite3_exec(m_db, "ROLLBACK", nullptr, nullptr, nullptr);
        sqlite3_close_v2(m_db);
    }
    LockHolder(const LockHolder&) = delete;
    LockHolder& operator=(const LockHolder&) = delete;

private:
    sqlite3* m_db = nullptr;
};

/// A batch of `count` training-loss metrics from `firstStep`.
EventBatch stepBatch(int64_t firstStep, int64_t count) {
    EventBatch batch;
    for (int64_t step = firstStep; step < firstStep + count; ++step) {
        StepMetrics metrics;
        metrics.step = step;
        metrics.values["train/loss"] = 1.0 / double(step + 1);
        batch.events.emplace_back(std::move(metrics));
    }
    return batch;
}

EventBatch finishedBatch(const std::string& finishedStatus, const std::string& error = {}) {
    Finished finished;
    finished.status = finishedStatus;
    finished.error = error;
    finished.finalMetrics = {{"eval/acc", 0.5}};
    return EventBatch{0, {finished}};
}

/// Runs `record`; "" when it threw a StoreError of `kind`, else what happened.
std::string expectStoreError(StoreError::Kind kind, const std::function<void()>& record) {
    try {
        record();
    } catch (const StoreError& e) {
        return e.kind() == kind ? std::string() : std::string("wrong kind: ") + e.what();
    }
    return "no error";
}

}  // namespace

class TestRunRecorder : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();

    void recordsEventsStatusAndEnd();
    void busyStoreKeepsTheBatchAndWritesItLater();
    void failingStoreIsRetriedOnlyAfterTheInterval();
    void fullStoreEndsTheRunAsFailed();
    void rowsDroppedPastTheQueueLimitEndTheRunAsFailed();
    void readOnlyStoreIsReportedWithoutLosingAnything();

private:
    std::unique_ptr<RunStore> openStore(int64_t maxPageCount = 0) {
        RunStoreOptions options;
        options.busyTimeoutMs = kBusyTimeoutMs;
        options.maxPageCount = maxPageCount;
        return RunStore::open(m_path, options);
    }

    std::unique_ptr<QTemporaryDir> m_dir;
    std::string m_path;
};

void TestRunRecorder::init() {
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
    m_path = m_dir->filePath(QStringLiteral("runs.sqlite")).toStdString();
}

void TestRunRecorder::cleanup() {
    m_dir.reset();
}

void TestRunRecorder::recordsEventsStatusAndEnd() {
    auto store = openStore();
    const int64_t id = store->createRun("recorded", "{}", "{}");
    RunRecorder recorder(*store, id);
    EventBatch batch = stepBatch(0, 10);
    LayerStates states{9, {}};
    LayerState layer;
    layer.layer = "fc";
    layer.weightBits = 4;
    layer.weightSteps = {0.25};
    states.layers.push_back(layer);
    batch.events.push_back(states);
    batch.events.push_back(EpochEval{1, 9, 0.7, 0.6, {}});
    Progress paused;
    paused.phase = "paused";
    batch.events.push_back(paused);
    recorder.onEvents(batch);
    QCOMPARE(store->run(id)->status, std::string(status::kPaused));
    Progress training;
    training.phase = "training";
    recorder.onEvents(EventBatch{0, {training}});
    QCOMPARE(store->run(id)->status, std::string(status::kRunning));
    recorder.onEvents(finishedBatch(status::kFinished));

    QVERIFY(!recorder.isFailing());
    QVERIFY(recorder.isComplete());
    const auto run = store->run(id);
    QCOMPARE(run->status, std::string(status::kFinished));
    QCOMPARE(run->finalMetrics.at("eval/acc"), 0.5);
    QCOMPARE(store->metrics(id, "train/loss").size(), size_t(10));
    QCOMPARE(store->metrics(id, "eval/acc").size(), size_t(1));
    QCOMPARE(store->layerStates(id).size(), size_t(1));
}

void TestRunRecorder::busyStoreKeepsTheBatchAndWritesItLater() {
    auto store = openStore();
    const int64_t id = store->createRun("busy", "{}", "{}");
    RunRecorder recorder(*store, id, 0ms);
    recorder.onEvents(stepBatch(0, 10));
    {
        LockHolder other(m_path);
        Progress paused;
        paused.phase = "paused";
        EventBatch batch = stepBatch(10, 10);
        batch.events.push_back(paused);
        try {
            recorder.onEvents(batch);
            QFAIL("a batch was recorded while another connection held the lock");
        } catch (const StoreError& e) {
            QCOMPARE(e.kind(), StoreError::Kind::Busy);
            QVERIFY2(QString::fromUtf8(e.what()).startsWith(QString::fromStdString(m_path)),
                     e.what());
            QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("another Quantscape")),
                     e.what());
        }
        QVERIFY(recorder.isFailing());
        QCOMPARE(recorder.lastError()->kind(), StoreError::Kind::Busy);
        QCOMPARE(store->metrics(id).size(), size_t(10));  // what was recorded stays
    }
    // The next batch carries the refused one along, pause included.
    recorder.onEvents(stepBatch(20, 10));
    QVERIFY(!recorder.isFailing());
    QCOMPARE(store->run(id)->status, std::string(status::kPaused));
    const std::vector<MetricRow> rows = store->metrics(id);
    QCOMPARE(rows.size(), size_t(30));
    for (size_t i = 0; i < rows.size(); ++i) {
        QCOMPARE(rows[i].step, int64_t(i));
    }
    recorder.onEvents(finishedBatch(status::kFinished));
    QVERIFY(recorder.isComplete());
    QCOMPARE(store->run(id)->status, std::string(status::kFinished));
}

void TestRunRecorder::failingStoreIsRetriedOnlyAfterTheInterval() {
    auto store = openStore();
    const int64_t id = store->createRun("retried", "{}", "{}");
    RunRecorder recorder(*store, id, std::chrono::hours(1));
    {
        LockHolder other(m_path);
        QCOMPARE(
            expectStoreError(StoreError::Kind::Busy, [&] { recorder.onEvents(stepBatch(0, 10)); }),
            std::string());
        // Within the interval a batch only queues: no wait for the lock, no error.
        QElapsedTimer timer;
        timer.start();
        recorder.onEvents(stepBatch(10, 10));
        recorder.onEvents(stepBatch(20, 10));
        QVERIFY2(timer.elapsed() < kBusyTimeoutMs / 2,
                 qPrintable(QString::number(timer.elapsed())));
        QVERIFY(recorder.isFailing());
    }
    QVERIFY(store->metrics(id).empty());
    // The end is always tried, and writes everything that queued.
    recorder.onEvents(finishedBatch(status::kFinished));
    QVERIFY(!recorder.isFailing());
    QCOMPARE(store->metrics(id).size(), size_t(30));
    QCOMPARE(store->run(id)->status, std::string(status::kFinished));
}

void TestRunRecorder::fullStoreEndsTheRunAsFailed() {
    int64_t id = 0;
    int64_t pages = 0;
    {
        auto store = openStore();
        id = store->createRun("full", "{}", "{}");
        RunRecorder recorder(*store, id);
        recorder.onEvents(stepBatch(0, 100));
        sqlite3* db = nullptr;
        sqlite3_open(m_path.c_str(), &db);
        sqlite3_stmt* stmt = nullptr;
        sqlite3_prepare_v2(db, "PRAGMA page_count", -1, &stmt, nullptr);
        sqlite3_step(stmt);
        pages = sqlite3_column_int64(stmt, 0);
        sqlite3_finalize(stmt);
        sqlite3_close(db);
    }
    auto store = openStore(pages + 1);
    RunRecorder recorder(*store, id, 0ms);
    QCOMPARE(
        expectStoreError(StoreError::Kind::Full, [&] { recorder.onEvents(stepBatch(100, 5000)); }),
        std::string());
    QCOMPARE(store->metrics(id).size(), size_t(100));
    try {
        recorder.onEvents(finishedBatch(status::kFinished));
        QFAIL("a run that could not be recorded ended without an error");
    } catch (const StoreError& e) {
        QCOMPARE(e.kind(), StoreError::Kind::Full);
    }
    const auto run = store->run(id);
    QCOMPARE(run->status, std::string(status::kFailed));
    QVERIFY2(QString::fromStdString(run->error)
                 .startsWith(QStringLiteral("run %1 could not be recorded completely: %2: ")
                                 .arg(id)
                                 .arg(QString::fromStdString(m_path))),
             run->error.c_str());
    QVERIFY2(run->error.find("the disk holding the run store is full") != std::string::npos,
             run->error.c_str());
    QVERIFY2(run->error.find("(the job itself ended as finished)") != std::string::npos,
             run->error.c_str());
    QCOMPARE(store->metrics(id).size(), size_t(100));
    QCOMPARE(store->integrityCheck(), std::string("ok"));
}

void TestRunRecorder::rowsDroppedPastTheQueueLimitEndTheRunAsFailed() {
    auto store = openStore();
    const int64_t id = store->createRun("dropped", "{}", "{}");
    RunRecorder recorder(*store, id, std::chrono::hours(1));
    constexpr int64_t kOver = 10;
    {
        LockHolder other(m_path);
        QCOMPARE(
            expectStoreError(
                StoreError::Kind::Busy,
                [&] { recorder.onEvents(stepBatch(0, int64_t(RunRecorder::kMaxQueuedRows))); }),
            std::string());
        QVERIFY(recorder.isComplete());
        recorder.onEvents(stepBatch(int64_t(RunRecorder::kMaxQueuedRows), kOver));
        QVERIFY(!recorder.isComplete());
    }
    QCOMPARE(expectStoreError(StoreError::Kind::Other,
                              [&] { recorder.onEvents(finishedBatch(status::kCancelled)); }),
             std::string());
    // The newest rows were kept, the oldest dropped, and the run says so.
    const std::vector<MetricRow> rows = store->metrics(id);
    QCOMPARE(rows.size(), RunRecorder::kMaxQueuedRows);
    QCOMPARE(rows.front().step, kOver);
    const auto run = store->run(id);
    QCOMPARE(run->status, std::string(status::kFailed));
    QVERIFY2(run->error.find("10 rows were dropped while the run store kept failing") !=
                 std::string::npos,
             run->error.c_str());
    QVERIFY2(run->error.find("(the job itself ended as cancelled)") != std::string::npos,
             run->error.c_str());
}

void TestRunRecorder::readOnlyStoreIsReportedWithoutLosingAnything() {
    int64_t id = 0;
    {
        auto store = openStore();
        id = store->createRun("read-only", "{}", "{}");
        RunRecorder(*store, id).onEvents(stepBatch(0, 10));
    }
    QVERIFY(chmod(m_path.c_str(), 0444) == 0);
    QVERIFY(chmod(QFile::encodeName(m_dir->path()).constData(), 0755) == 0);
    ChildProcess child([&]() -> std::string {
        const std::string error = qs::test::dropRootPrivileges();
        if (!error.empty()) {
            return error;
        }
        auto store = openStore();
        QS_CHILD_CHECK(store->isReadOnly());
        RunRecorder recorder(*store, id, 0ms);
        const std::string batch = expectStoreError(StoreError::Kind::ReadOnly,
                                                   [&] { recorder.onEvents(stepBatch(10, 10)); });
        QS_CHILD_CHECK(batch.empty());
        QS_CHILD_CHECK(recorder.lastError()->what() ==
                       m_path + ": cannot append metrics to run " + std::to_string(id) +
                           ": the run store is read-only: runs cannot be recorded (check the "
                           "permissions of the file and its folder, and whether its disk is "
                           "mounted read-only)");
        const std::string end = expectStoreError(StoreError::Kind::ReadOnly, [&] {
            recorder.onEvents(finishedBatch(status::kFinished));
        });
        QS_CHILD_CHECK(end.empty());
        QS_CHILD_CHECK(store->metrics(id).size() == 10);
        return {};
    });
    const std::string result = child.result();
    chmod(m_path.c_str(), 0644);
    if (result.rfind("SKIP: ", 0) == 0) {
        QSKIP(result.c_str());
    }
    QVERIFY2(result.empty(), result.c_str());
    auto store = openStore();
    QCOMPARE(store->metrics(id).size(), size_t(10));
    QCOMPARE(store->integrityCheck(), std::string("ok"));
}

QTEST_GUILESS_MAIN(TestRunRecorder)
#include "TestRunRecorder.moc"
