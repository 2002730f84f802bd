// A writer killed with SIGKILL in the middle of its batches: the file must stay intact, the run
// must read as interrupted, and every batch the writer saw committed must be there.
#include "engine/store/RunStore.h"

#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QTest>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>

using qs::store::LayerStateRow;
using qs::store::MetricRow;
using qs::store::RunStore;

namespace {

constexpr int64_t kRowsPerBatch = 100;
// Bounds the child if the parent dies without killing it (it would also get SIGPIPE).
constexpr int64_t kMaxBatches = 200000;
constexpr int kDeadlineMs = 15000;

/// The value the writer records at a step; the reader recomputes it bit for bit.
double valueAt(int64_t step) {
    return std::sin(double(step) * 1e-3) * 10.0 + double(step);
}

bool writeAll(int fd, int64_t value) {
    const char* p = reinterpret_cast<const char*>(&value);
    size_t left = sizeof value;
    while (left > 0) {
        const ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        p += n;
        left -= size_t(n);
    }
    return true;
}

/// Reads one int64 before the deadline; false on timeout or EOF.
bool readValue(int fd, const QElapsedTimer& timer, int64_t* value) {
    char* p = reinterpret_cast<char*>(value);
    size_t left = sizeof *value;
    while (left > 0) {
        const qint64 remaining = kDeadlineMs - timer.elapsed();
        if (remaining <= 0) {
            return false;
        }
        pollfd pfd{fd, POLLIN, 0};
        const int ready = poll(&pfd, 1, int(remaining));
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        if (ready <= 0) {
            return false;
        }
        const ssize_t n = read(fd, p, left);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        p += n;
        left -= size_t(n);
    }
    return true;
}

/// The child: writes the run id, then after each committed batch its last step, until killed.
[[noreturn]] void runWriter(const std::string& path, int fd) {
    try {
        auto store = RunStore::open(path);
        const int64_t id = store->createRun("killed mid-write", "{}", "{}");
        if (!writeAll(fd, id)) {
            _exit(3);
        }
        std::vector<MetricRow> rows(static_cast<size_t>(kRowsPerBatch));
        for (int64_t batch = 0; batch < kMaxBatches; ++batch) {
            const int64_t first = batch * kRowsPerBatch;
            for (int64_t i = 0; i < kRowsPerBatch; ++i) {
                rows[size_t(i)] = {first + i, "train/loss", valueAt(first + i)};
            }
            store->appendMetrics(id, rows);
            LayerStateRow state;
            state.step = first + kRowsPerBatch - 1;
            state.layer = "layer1.0.conv1";
            state.weightBits = 4;
            state.weightSteps = {valueAt(state.step), 0.5};
            store->appendLayerStates(id, {state});
            if (!writeAll(fd, state.step)) {
                _exit(3);
            }
        }
    } catch (...) {
        _exit(2);
    }
    _exit(0);
}

/// Kills and reaps the child if a check fails before the test does it.
struct ChildGuard {
    pid_t pid = -1;
    ~ChildGuard() {
        if (pid > 0) {
            kill(pid, SIGKILL);
            waitpid(pid, nullptr, 0);
        }
    }
};

}  // namespace

class TestRunStoreKill : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void killedWriterLosesOnlyTheUnfinishedBatch_data();
    void killedWriterLosesOnlyTheUnfinishedBatch();
};

void TestRunStoreKill::killedWriterLosesOnlyTheUnfinishedBatch_data() {
    QTest::addColumn<int>("batchesBeforeKill");
    QTest::newRow("after the first batch") << 1;
    QTest::newRow("after 10 batches") << 10;
    QTest::newRow("after 200 batches") << 200;
}

void TestRunStoreKill::killedWriterLosesOnlyTheUnfinishedBatch() {
    QFETCH(int, batchesBeforeKill);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const std::string path = dir.filePath(QStringLiteral("runs.sqlite")).toStdString();

    int fds[2];
    QVERIFY(pipe(fds) == 0);
    ChildGuard child;
    child.pid = fork();
    QVERIFY(child.pid >= 0);
    if (child.pid == 0) {
        close(fds[0]);
        runWriter(path, fds[1]);  // never returns: _exit skips the Qt cleanup copied into us
    }
    close(fds[1]);

    QElapsedTimer timer;
    timer.start();
    int64_t runId = 0;
    QVERIFY2(readValue(fds[0], timer, &runId), "the writer never created its run");
    int64_t lastCommitted = -1;
    for (int seen = 0; seen < batchesBeforeKill; ++seen) {
        QVERIFY2(readValue(fds[0], timer, &lastCommitted), "the writer stopped reporting");
    }
    QCOMPARE(kill(child.pid, SIGKILL), 0);
    int wstatus = 0;
    QCOMPARE(waitpid(child.pid, &wstatus, 0), child.pid);
    child.pid = -1;
    close(fds[0]);
    // Killed by us, not exited on an error of its own.
    QVERIFY(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL);
    QCOMPARE(lastCommitted, batchesBeforeKill * kRowsPerBatch - 1);

    auto store = RunStore::open(path);
    QCOMPARE(store->integrityCheck(), std::string("ok"));
    const std::optional<qs::store::RunRecord> run = store->run(runId);
    QVERIFY(run.has_value());
    QCOMPARE(run->status, std::string(qs::store::status::kInterrupted));

    // Batches are all or nothing: whole batches, contiguous from step 0, at least up to the last
    // one reported (the writer may have committed more before the kill landed).
    const std::vector<MetricRow> rows = store->metrics(runId, "train/loss");
    QVERIFY(int64_t(rows.size()) >= lastCommitted + 1);
    QCOMPARE(int64_t(rows.size()) % kRowsPerBatch, int64_t(0));
    for (size_t i = 0; i < rows.size(); ++i) {
        if (rows[i].step != int64_t(i) || rows[i].value != valueAt(int64_t(i))) {
            QFAIL(qPrintable(QStringLiteral("row %1 is step %2 value %3")
                                 .arg(i)
                                 .arg(rows[i].step)
                                 .arg(rows[i].value, 0, 'g', 17)));
        }
    }
    const std::vector<LayerStateRow> states = store->layerStates(runId);
    QVERIFY(int64_t(states.size()) >= batchesBeforeKill);
    for (size_t i = 0; i < states.size(); ++i) {
        const int64_t step = int64_t(i + 1) * kRowsPerBatch - 1;
        QCOMPARE(states[i].step, step);
        QCOMPARE(states[i].weightSteps, (std::vector<double>{valueAt(step), 0.5}));
    }
    QCOMPARE(store->lastLayerStateStep(runId), states.back().step);
}

QTEST_GUILESS_MAIN(TestRunStoreKill)
#include "TestRunStoreKill.moc"
