// Two processes on one run store, as two Quantscape windows or a window and a CLI run are: both
// record at once without losing or damaging anything, and a writer that holds the lock past the
// busy timeout makes the other's write fail with a message that says so, losing nothing.
#include "engine/store/RunStore.h"
#include "support/ChildProcess.h"

#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QTest>

#include <sqlite3.h>

#include <unistd.h>

#include <map>

using qs::store::LayerStateRow;
using qs::store::MetricRow;
using qs::store::RunRecord;
using qs::store::RunStore;
using qs::store::RunStoreOptions;
using qs::store::StoreError;
using qs::test::ChildProcess;
namespace status = qs::store::status;

namespace {

constexpr int kWriters = 2;
constexpr int kRunsPerWriter = 2;
constexpr int kBatches = 250;
constexpr int kRowsPerBatch = 20;

/// What writer `writer` records for its run `run` at `step`; the parent recomputes it.
double valueAt(int writer, int run, int64_t step) {
    return writer * 1e6 + run * 1e5 + double(step) * 0.25;
}

std::string runName(int writer, int run) {
    return "writer " + std::to_string(writer) + " run " + std::to_string(run);
}

/// A writer process: waits at the gate, then records its runs batch by batch, interleaving its
/// runs (as a window with a queue would) so both processes contend for the lock all along.
std::string writeRuns(const std::string& path, int writer, int gate) {
    char byte = 0;
    if (read(gate, &byte, 1) != 0) {
        return "the gate did not open";
    }
    auto store = RunStore::open(path);
    std::vector<int64_t> ids;
    for (int r = 0; r < kRunsPerWriter; ++r) {
        ids.push_back(store->createRun(runName(writer, r), "{}", "{}"));
    }
    for (int b = 0; b < kBatches; ++b) {
        for (int r = 0; r < kRunsPerWriter; ++r) {
            std::vector<MetricRow> rows;
            for (int i = 0; i < kRowsPerBatch; ++i) {
                const int64_t step = int64_t(b) * kRowsPerBatch + i;
                rows.push_back({step, "train/loss", valueAt(writer, r, step)});
            }
            store->appendMetrics(ids[size_t(r)], rows);
            LayerStateRow state;
            state.step = rows.back().step;
            state.layer = "layer1.0.conv1";
            state.weightBits = 4;
            state.weightSteps = {valueAt(writer, r, state.step), 0.5};
            store->appendLayerStates(ids[size_t(r)], {state});
        }
    }
    for (int r = 0; r < kRunsPerWriter; ++r) {
        store->setFinalMetrics(ids[size_t(r)], {{"eval/acc", valueAt(writer, r, -1)}});
        store->setStatus(ids[size_t(r)], status::kFinished);
    }
    return {};
}

/// A raw connection in another process that takes the write lock (BEGIN EXCLUSIVE plus a
/// write), says so on `ready`, and keeps it until `release` is closed.
std::string holdWriteLock(const std::string& path, int ready, int release) {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
        return "raw open failed";
    }
    if (sqlite3_exec(db,
                     "BEGIN EXCLUSIVE; INSERT INTO runs (name, status, spec_json, created_at, "
                     "updated_at, host, pid, versions) VALUES ('held', 'queued', '{}', 'x', 'x', "
                     "'h', 0, '{}')",
                     nullptr, nullptr, nullptr) != SQLITE_OK) {
        const std::string message = sqlite3_errmsg(db);
        sqlite3_close(db);
        return "could not take the lock: " + message;
    }
    const char byte = 1;
    if (write(ready, &byte, 1) != 1) {
        return "could not report the lock";
    }
    char ignored = 0;
    while (read(release, &ignored, 1) > 0) {
    }
    // Rolled back: the store must not depend on what the lock holder was doing.
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(db);
    return {};
}

}  // namespace

class TestRunStoreProcesses : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();

    void defaultBusyTimeoutIsTenSeconds();
    void twoProcessesRecordAtOnce();
    void lockHeldPastTheTimeoutIsAClearError();

private:
    std::unique_ptr<QTemporaryDir> m_dir;
    std::string m_path;
};

void TestRunStoreProcesses::init() {
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
    m_path = m_dir->filePath(QStringLiteral("runs.sqlite")).toStdString();
}

void TestRunStoreProcesses::cleanup() {
    m_dir.reset();
}

void TestRunStoreProcesses::defaultBusyTimeoutIsTenSeconds() {
    // Long enough for another process's largest batch or first-open migration.
    QCOMPARE(RunStoreOptions().busyTimeoutMs, 10000);
    QCOMPARE(RunStoreOptions().maxPageCount, int64_t(0));
}

void TestRunStoreProcesses::twoProcessesRecordAtOnce() {
    auto reader = RunStore::open(m_path);  // the store exists before the writers start
    int gate[2];
    QVERIFY(pipe(gate) == 0);
    std::vector<std::unique_ptr<ChildProcess>> writers;
    for (int w = 0; w < kWriters; ++w) {
        writers.push_back(std::make_unique<ChildProcess>([&, w] {
            close(gate[1]);
            return writeRuns(m_path, w, gate[0]);
        }));
    }
    close(gate[0]);
    close(gate[1]);  // both start together

    // This process browses meanwhile, as a third window would: reads never wait or fail.
    int reads = 0;
    const auto anyRunning = [&] {
        bool running = false;
        for (auto& writer : writers) {
            running = writer->running() || running;
        }
        return running;
    };
    while (anyRunning()) {
        for (const RunRecord& run : reader->listRuns()) {
            reader->metrics(run.id, "train/loss");
        }
        ++reads;
    }
    for (int w = 0; w < kWriters; ++w) {
        const std::string result = writers[size_t(w)]->result();
        QVERIFY2(result.empty(), ("writer " + std::to_string(w) + ": " + result).c_str());
    }
    QVERIFY(reads > 0);

    auto store = RunStore::open(m_path);
    QCOMPARE(store->integrityCheck(), std::string("ok"));
    std::map<std::string, RunRecord> byName;
    for (const RunRecord& run : store->listRuns()) {
        byName[run.name] = run;
    }
    QCOMPARE(byName.size(), size_t(kWriters * kRunsPerWriter));
    for (int w = 0; w < kWriters; ++w) {
        for (int r = 0; r < kRunsPerWriter; ++r) {
            const auto it = byName.find(runName(w, r));
            QVERIFY2(it != byName.end(), runName(w, r).c_str());
            const RunRecord& run = it->second;
            QCOMPARE(run.status, std::string(status::kFinished));
            QCOMPARE(run.finalMetrics.at("eval/acc"), valueAt(w, r, -1));
            const std::vector<MetricRow> rows = store->metrics(run.id);
            QCOMPARE(rows.size(), size_t(kBatches * kRowsPerBatch));
            for (size_t i = 0; i < rows.size(); ++i) {
                if (rows[i].step != int64_t(i) || rows[i].value != valueAt(w, r, int64_t(i))) {
                    QFAIL(qPrintable(QStringLiteral("%1: row %2 is step %3 value %4")
                                         .arg(QString::fromStdString(run.name))
                                         .arg(i)
                                         .arg(rows[i].step)
                                         .arg(rows[i].value, 0, 'g', 17)));
                }
            }
            const std::vector<LayerStateRow> states = store->layerStates(run.id);
            QCOMPARE(states.size(), size_t(kBatches));
            for (size_t b = 0; b < states.size(); ++b) {
                const int64_t step = int64_t(b + 1) * kRowsPerBatch - 1;
                QCOMPARE(states[b].step, step);
                QCOMPARE(states[b].weightSteps, (std::vector<double>{valueAt(w, r, step), 0.5}));
            }
        }
    }
}

void TestRunStoreProcesses::lockHeldPastTheTimeoutIsAClearError() {
    constexpr int kTimeoutMs = 500;
    RunStoreOptions options;
    options.busyTimeoutMs = kTimeoutMs;
    auto store = RunStore::open(m_path, options);
    const int64_t id = store->createRun("recorded before", "{}", "{}");
    std::vector<MetricRow> before;
    for (int64_t step = 0; step < 100; ++step) {
        before.push_back({step, "train/loss", 1.0 / double(step + 1)});
    }
    store->appendMetrics(id, before);
    // A run whose process has gone, to be marked interrupted by the next open.
    int64_t orphan = 0;
    {
        int fds[2];
        QVERIFY(pipe(fds) == 0);
        ChildProcess creator([&]() -> std::string {
            auto own = RunStore::open(m_path, options);
            const int64_t created = own->createRun("orphan", "{}", "{}");
            return write(fds[1], &created, sizeof created) == sizeof created ? "" : "write";
        });
        QCOMPARE(creator.result(), std::string());
        QVERIFY(read(fds[0], &orphan, sizeof orphan) == sizeof orphan);
        close(fds[0]);
        close(fds[1]);
    }

    int ready[2];
    int release[2];
    QVERIFY(pipe(ready) == 0 && pipe(release) == 0);
    ChildProcess holder([&] {
        close(ready[0]);
        close(release[1]);
        return holdWriteLock(m_path, ready[1], release[0]);
    });
    close(ready[1]);
    close(release[0]);
    char byte = 0;
    const bool locked = read(ready[0], &byte, 1) == 1;
    close(ready[0]);
    if (!locked) {
        QFAIL(("the lock holder failed: " + holder.result()).c_str());
    }

    const std::vector<MetricRow> more = {{100, "train/loss", 0.01}, {101, "train/loss", 0.009}};
    const auto expectBusy = [&](const std::function<void()>& write, const char* which) {
        QElapsedTimer timer;
        timer.start();
        try {
            write();
            QFAIL(qPrintable(QStringLiteral("%1 succeeded while another process held the lock")
                                 .arg(QLatin1String(which))));
        } catch (const StoreError& e) {
            const QString message = QString::fromUtf8(e.what());
            QVERIFY2(e.kind() == StoreError::Kind::Busy, e.what());
            QVERIFY2(message.startsWith(QString::fromStdString(m_path) + QStringLiteral(": ")),
                     e.what());
            QVERIFY2(message.contains(QStringLiteral("the run store is busy: another Quantscape "
                                                     "instance or process has kept it locked")),
                     e.what());
        }
        // It waited for the lock (the busy timeout) before giving up, and not much longer.
        QVERIFY2(timer.elapsed() >= kTimeoutMs - 50, qPrintable(QString::number(timer.elapsed())));
        QVERIFY2(timer.elapsed() < kTimeoutMs + 4000, qPrintable(QString::number(timer.elapsed())));
    };
    expectBusy([&] { store->appendMetrics(id, more); }, "appendMetrics");
    if (QTest::currentTestFailed()) {
        return;
    }
    expectBusy([&] { store->createRun("while locked", "{}", "{}"); }, "createRun");
    if (QTest::currentTestFailed()) {
        return;
    }
    expectBusy([&] { store->setStatus(id, status::kFinished); }, "setStatus");
    if (QTest::currentTestFailed()) {
        return;
    }

    // Reading goes on meanwhile, in this connection and in a newly opened one (the window that
    // opens a store another process is writing to): that open leaves marking the orphan
    // interrupted to a later open rather than failing.
    QCOMPARE(store->metrics(id).size(), before.size());
    {
        auto browser = RunStore::open(m_path, options);
        QCOMPARE(browser->listRuns().size(), size_t(2));
        QCOMPARE(browser->metrics(id).size(), before.size());
        QCOMPARE(browser->run(orphan)->status, std::string(status::kRunning));
    }

    close(release[1]);  // the other process rolls back and exits
    QCOMPARE(holder.result(), std::string());

    // Once the lock is gone, writes succeed again and nothing recorded before was lost.
    store->appendMetrics(id, more);
    store->setStatus(id, status::kFinished);
    const std::vector<MetricRow> rows = store->metrics(id);
    QCOMPARE(rows.size(), before.size() + more.size());
    QCOMPARE(rows.front().value, before.front().value);
    QCOMPARE(rows.back().value, more.back().value);
    QCOMPARE(store->listRuns().size(), size_t(2));
    QCOMPARE(store->run(id)->status, std::string(status::kFinished));
    QCOMPARE(store->integrityCheck(), std::string("ok"));
    QCOMPARE(RunStore::open(m_path)->run(orphan)->status, std::string(status::kInterrupted));
}

QTEST_GUILESS_MAIN(TestRunStoreProcesses)
#include "TestRunStoreProcesses.moc"
