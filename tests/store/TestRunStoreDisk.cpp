// A run store on a read-only or full disk: a clear error naming the file, nothing recorded before
// lost, a read-only store still browsable, and writes working again once there is space.
//
// Read-only cases run in a child process: as root, permission bits stop nothing, so the child
// either becomes nobody (permissions) or bind-mounts the folder read-only in a private mount
// namespace (a read-only disk, which stops root too). The full disk is SQLite's own "full"
// error, from a page cap (RunStoreOptions::maxPageCount) and, where a mount namespace is
// allowed, from a real tmpfs running out of space.
#include "engine/store/RunStore.h"
#include "support/ChildProcess.h"
#include "support/TestFiles.h"

#include <QDir>
#include <QTemporaryDir>
#include <QTest>

#include <sqlite3.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <functional>

using qs::store::LayerStateRow;
using qs::store::MetricRow;
using qs::store::RunRecord;
using qs::store::RunStore;
using qs::store::RunStoreOptions;
using qs::store::StoreError;
using qs::test::ChildProcess;
namespace status = qs::store::status;

namespace {

enum class ReadOnlyBy { File, Folder, FolderOnly, Mount };

constexpr int64_t kKeptMetrics = 300;
constexpr int64_t kKeptStates = 3;
constexpr const char* kReadOnlyText = "the run store is read-only: runs cannot be recorded";
constexpr const char* kFullText = "the disk holding the run store is full";

double valueAt(int64_t step) {
    return 1.0 / double(step + 1);
}

/// Records the run every test starts from; returns its id.
int64_t recordKeptRun(const std::string& path) {
    auto store = RunStore::open(path);
    const int64_t id = store->createRun("kept", "{\"seed\": 1}", "{}");
    std::vector<MetricRow> rows;
    for (int64_t step = 0; step < kKeptMetrics; ++step) {
        rows.push_back({step, "train/loss", valueAt(step)});
    }
    store->appendMetrics(id, rows);
    for (int64_t i = 0; i < kKeptStates; ++i) {
        LayerStateRow state;
        state.step = i * 100;
        state.layer = "layer1.0.conv1";
        state.weightBits = 4;
        state.weightSteps = {0.1, 0.2};
        store->appendLayerStates(id, {state});
    }
    store->setFinalMetrics(id, {{"eval/acc", 0.75}});
    store->setStatus(id, status::kFinished);
    return id;
}

/// "" when the store holds exactly the kept run, else what differs.
std::string checkKeptRun(const RunStore& store, int64_t id) {
    const std::vector<RunRecord> runs = store.listRuns();
    QS_CHILD_CHECK(runs.size() == 1);
    QS_CHILD_CHECK(runs[0].id == id && runs[0].name == "kept");
    QS_CHILD_CHECK(runs[0].status == status::kFinished);
    QS_CHILD_CHECK(runs[0].finalMetrics.at("eval/acc") == 0.75);
    const std::vector<MetricRow> rows = store.metrics(id);
    QS_CHILD_CHECK(int64_t(rows.size()) == kKeptMetrics);
    for (const MetricRow& row : rows) {
        QS_CHILD_CHECK(row.value == valueAt(row.step));
    }
    QS_CHILD_CHECK(int64_t(store.layerStates(id).size()) == kKeptStates);
    return {};
}

/// "" when `write` throws a StoreError of `kind` whose message starts with the file and says
/// `text`, else what happened.
std::string expectRefused(const std::string& path, StoreError::Kind kind, const std::string& text,
                          const std::string& which, const std::function<void()>& write) {
    try {
        write();
    } catch (const StoreError& e) {
        const std::string message = e.what();
        if (e.kind() != kind || message.rfind(path + ": ", 0) != 0 ||
            message.find(text) == std::string::npos) {
            return which + ": unexpected error: " + message;
        }
        return {};
    }
    return which + " succeeded";
}

/// In the child: makes the folder read-only for it the way `by` says.
std::string becomeReadOnly(ReadOnlyBy by, const std::string& folder) {
    if (by == ReadOnlyBy::Mount) {
        std::string error = qs::test::enterMountNamespace();
        return error.empty() ? qs::test::bindMountReadOnly(folder) : error;
    }
    const std::string error = qs::test::dropRootPrivileges();
    if (error.empty() && access(folder.c_str(), R_OK | X_OK) != 0) {
        return "SKIP: the test folder is not reachable as nobody: " + folder;
    }
    return error;
}

int64_t pageCount(const std::string& path) {
    sqlite3* db = nullptr;
    sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_stmt* stmt = nullptr;
    int64_t pages = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA page_count", -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
        pages = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
    sqlite3_close_v2(db);
    return pages;
}

std::vector<MetricRow> metricRows(int64_t firstStep, int64_t count) {
    std::vector<MetricRow> rows;
    for (int64_t step = firstStep; step < firstStep + count; ++step) {
        rows.push_back({step, "train/loss", valueAt(step)});
    }
    return rows;
}

}  // namespace

class TestRunStoreDisk : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();

    void readOnlyStoreIsBrowsableAndRefusesWrites_data();
    void readOnlyStoreIsBrowsableAndRefusesWrites();
    void newStoreInReadOnlyFolderIsRefused_data();
    void newStoreInReadOnlyFolderIsRefused();
    void fullStoreRollsBackAndKeepsWhatWasRecorded();
    void fullDiskRollsBackAndKeepsWhatWasRecorded();

private:
    std::unique_ptr<QTemporaryDir> m_dir;
    std::string m_folder;
    std::string m_path;
};

void TestRunStoreDisk::init() {
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
    // Another user (nobody) must reach the store's folder through the temporary one.
    QVERIFY(chmod(QFile::encodeName(m_dir->path()).constData(), 0755) == 0);
    QVERIFY(QDir(m_dir->path()).mkdir(QStringLiteral("store")));
    m_folder = m_dir->filePath(QStringLiteral("store")).toStdString();
    m_path = m_folder + "/runs.sqlite";
}

void TestRunStoreDisk::cleanup() {
    // Writable again, or the temporary folder could not be removed.
    chmod(m_folder.c_str(), 0755);
    m_dir.reset();
}

void TestRunStoreDisk::readOnlyStoreIsBrowsableAndRefusesWrites_data() {
    QTest::addColumn<int>("by");
    QTest::newRow("read-only file") << int(ReadOnlyBy::File);
    QTest::newRow("read-only file in a read-only folder") << int(ReadOnlyBy::Folder);
    QTest::newRow("writable file in a read-only folder") << int(ReadOnlyBy::FolderOnly);
    QTest::newRow("read-only mount") << int(ReadOnlyBy::Mount);
}

void TestRunStoreDisk::readOnlyStoreIsBrowsableAndRefusesWrites() {
    QFETCH(int, by);
    const auto readOnlyBy = ReadOnlyBy(by);
    const int64_t id = recordKeptRun(m_path);  // closed: the WAL is folded into the file
    const std::vector<uint8_t> bytes = qs::test::readBytes(m_path);
    const mode_t fileMode = readOnlyBy == ReadOnlyBy::FolderOnly ? 0666
                            : readOnlyBy == ReadOnlyBy::Mount    ? 0644
                                                                 : 0444;
    // A writable folder for the read-only file: SQLite may create its WAL index there.
    const mode_t folderMode = readOnlyBy == ReadOnlyBy::File    ? 0777
                              : readOnlyBy == ReadOnlyBy::Mount ? 0755
                                                                : 0555;
    QVERIFY(chmod(m_path.c_str(), fileMode) == 0);
    QVERIFY(chmod(m_folder.c_str(), folderMode) == 0);

    ChildProcess child([&]() -> std::string {
        const std::string error = becomeReadOnly(readOnlyBy, m_folder);
        if (!error.empty()) {
            return error;
        }
        auto store = RunStore::open(m_path);
        QS_CHILD_CHECK(store->isReadOnly());
        // Browsing works: every run and its rows as recorded.
        std::string problem = checkKeptRun(*store, id);
        if (!problem.empty()) {
            return problem;
        }
        QS_CHILD_CHECK(store->integrityCheck() == "ok");
        const std::vector<std::pair<std::string, std::function<void()>>> writes = {
            {"createRun", [&] { store->createRun("new", "{}", "{}"); }},
            {"appendMetrics", [&] { store->appendMetrics(id, metricRows(1000, 10)); }},
            {"appendLayerStates", [&] { store->appendLayerStates(id, {LayerStateRow{}}); }},
            {"setStatus", [&] { store->setStatus(id, status::kFailed, "x"); }},
            {"setFinalMetrics",
             [&] {
                 store->setFinalMetrics(id, {{"eval/acc", 0.1}});
             }},
            {"renameRun", [&] { store->renameRun(id, "renamed"); }},
            {"truncateAfter", [&] { store->truncateAfter(id, 10); }},
            {"deleteRun", [&] { store->deleteRun(id); }},
        };
        for (const auto& [which, write] : writes) {
            problem =
                expectRefused(m_path, StoreError::Kind::ReadOnly, kReadOnlyText, which, write);
            if (!problem.empty()) {
                return problem;
            }
        }
        // And it still reads after the refused writes.
        return checkKeptRun(*store, id);
    });
    const std::string result = child.result();
    chmod(m_folder.c_str(), 0755);
    chmod(m_path.c_str(), 0644);
    if (result.rfind("SKIP: ", 0) == 0) {
        QSKIP(result.c_str());
    }
    QVERIFY2(result.empty(), result.c_str());

    // The file was not touched, nothing was left beside it (a WAL or index made by a read-only
    // connection gets the file's read-only mode and would keep the store read-only), and a
    // writer finds everything in place.
    QVERIFY(qs::test::readBytes(m_path) == bytes);
    QVERIFY(access((m_path + "-wal").c_str(), F_OK) != 0);
    QVERIFY(access((m_path + "-shm").c_str(), F_OK) != 0);
    auto store = RunStore::open(m_path);
    QVERIFY(!store->isReadOnly());
    QCOMPARE(store->integrityCheck(), std::string("ok"));
    const std::string problem = checkKeptRun(*store, id);
    QVERIFY2(problem.empty(), problem.c_str());
    store->appendMetrics(id, metricRows(kKeptMetrics, 10));
    QCOMPARE(int64_t(store->metrics(id).size()), kKeptMetrics + 10);
}

void TestRunStoreDisk::newStoreInReadOnlyFolderIsRefused_data() {
    QTest::addColumn<int>("by");
    QTest::newRow("read-only folder") << int(ReadOnlyBy::Folder);
    QTest::newRow("read-only mount") << int(ReadOnlyBy::Mount);
}

void TestRunStoreDisk::newStoreInReadOnlyFolderIsRefused() {
    QFETCH(int, by);
    const auto readOnlyBy = ReadOnlyBy(by);
    QVERIFY(chmod(m_folder.c_str(), readOnlyBy == ReadOnlyBy::Mount ? 0755 : 0555) == 0);
    ChildProcess child([&]() -> std::string {
        const std::string error = becomeReadOnly(readOnlyBy, m_folder);
        if (!error.empty()) {
            return error;
        }
        const std::string problem =
            expectRefused(m_path, StoreError::Kind::ReadOnly,
                          std::string("cannot create the run store: ") + kReadOnlyText, "open",
                          [&] { RunStore::open(m_path); });
        if (!problem.empty()) {
            return problem;
        }
        QS_CHILD_CHECK(access(m_path.c_str(), F_OK) != 0);
        return {};
    });
    const std::string result = child.result();
    if (result.rfind("SKIP: ", 0) == 0) {
        QSKIP(result.c_str());
    }
    QVERIFY2(result.empty(), result.c_str());
}

void TestRunStoreDisk::fullStoreRollsBackAndKeepsWhatWasRecorded() {
    const int64_t id = recordKeptRun(m_path);
    int64_t scratch = 0;
    {
        auto store = RunStore::open(m_path);
        scratch = store->createRun("scratch", "{}", "{}");
        store->appendMetrics(scratch, metricRows(0, 5000));
    }
    const int64_t pages = pageCount(m_path);
    QVERIFY(pages > 10);
    RunStoreOptions options;
    options.maxPageCount = pages + 2;  // room for a few rows, not for a batch of thousands
    auto store = RunStore::open(m_path, options);

    // A batch whose first rows fit and whose later rows do not: all or nothing.
    const std::string problem =
        expectRefused(m_path, StoreError::Kind::Full, kFullText, "a batch past the limit",
                      [&] { store->appendMetrics(id, metricRows(kKeptMetrics, 5000)); });
    QVERIFY2(problem.empty(), problem.c_str());
    const std::string again = expectRefused(
        m_path, StoreError::Kind::Full, "what was recorded before is intact",
        "the same batch again", [&] { store->appendMetrics(id, metricRows(kKeptMetrics, 5000)); });
    QVERIFY2(again.empty(), again.c_str());
    QCOMPARE(int64_t(store->metrics(id).size()), kKeptMetrics);
    QCOMPARE(store->integrityCheck(), std::string("ok"));

    // Space freed inside the store (a deleted run) takes small writes under the same limit.
    store->deleteRun(scratch);
    store->appendMetrics(id, metricRows(kKeptMetrics, 50));
    store->setStatus(id, status::kFinished);
    QCOMPARE(int64_t(store->metrics(id).size()), kKeptMetrics + 50);
    store.reset();

    // Without the limit the big batch goes in, after everything kept.
    store = RunStore::open(m_path);
    store->appendMetrics(id, metricRows(kKeptMetrics + 50, 5000));
    const std::vector<MetricRow> rows = store->metrics(id);
    QCOMPARE(int64_t(rows.size()), kKeptMetrics + 50 + 5000);
    for (const MetricRow& row : rows) {
        QCOMPARE(row.value, valueAt(row.step));
    }
    QCOMPARE(store->integrityCheck(), std::string("ok"));
}

void TestRunStoreDisk::fullDiskRollsBackAndKeepsWhatWasRecorded() {
    constexpr int64_t kBatch = 100;
    ChildProcess child([&]() -> std::string {
        std::string error = qs::test::enterMountNamespace();
        if (error.empty()) {
            error = qs::test::mountSmallTmpfs(m_folder, 384 * 1024);
        }
        if (!error.empty()) {
            return error;
        }
        // Room to give back once the disk is full.
        const std::string filler = m_folder + "/filler";
        qs::test::writeBytes(filler, std::vector<uint8_t>(96 * 1024, 0xAB));

        auto store = RunStore::open(m_path);
        const int64_t id = store->createRun("fills the disk", "{}", "{}");
        int64_t committed = 0;
        std::string failure;
        for (int batch = 0; batch < 100000 && failure.empty(); ++batch) {
            failure = expectRefused(m_path, StoreError::Kind::Full, kFullText, "append", [&] {
                store->appendMetrics(id, metricRows(committed * kBatch, kBatch));
            });
            if (failure == "append succeeded") {
                ++committed;
                failure.clear();
                continue;
            }
            if (!failure.empty()) {
                return failure;
            }
            break;  // refused as full, as it should be
        }
        QS_CHILD_CHECK(committed > 0);
        // Every committed batch is there, nothing of the refused one.
        QS_CHILD_CHECK(int64_t(store->metrics(id).size()) == committed * kBatch);
        QS_CHILD_CHECK(store->integrityCheck() == "ok");

        // Space given back on the disk: small writes succeed again.
        QS_CHILD_CHECK(std::remove(filler.c_str()) == 0);
        store->appendMetrics(id, metricRows(committed * kBatch, kBatch));
        store->setStatus(id, status::kFinished);
        QS_CHILD_CHECK(int64_t(store->metrics(id).size()) == (committed + 1) * kBatch);
        for (const MetricRow& row : store->metrics(id)) {
            QS_CHILD_CHECK(row.value == valueAt(row.step));
        }
        store.reset();
        store = RunStore::open(m_path);
        QS_CHILD_CHECK(store->integrityCheck() == "ok");
        QS_CHILD_CHECK(int64_t(store->metrics(id).size()) == (committed + 1) * kBatch);
        return {};
    });
    const std::string result = child.result();
    if (result.rfind("SKIP: ", 0) == 0) {
        QSKIP(result.c_str());
    }
    QVERIFY2(result.empty(), result.c_str());
}

QTEST_GUILESS_MAIN(TestRunStoreDisk)
#include "TestRunStoreDisk.moc"
