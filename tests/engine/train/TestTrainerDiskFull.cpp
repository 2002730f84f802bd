// A training run whose checkpoint folder fills up: the run fails with an error naming the file
// and saying the disk is full, nothing recorded before is lost (the store's rows, epoch 1's
// checkpoint and last.safetensors, no stray temporary file), and once there is space again the
// run resumes from last.safetensors and finishes with the numbers of an uninterrupted run.
//
// The checkpoint folder is a small tmpfs mounted in a private mount namespace (as root, or as
// root of a user namespace), so the whole scenario runs in a forked child; the run store lies
// outside that tmpfs, in the test's temporary folder, and is checked again by the parent once
// the child (and its mount) is gone. The child enters the namespace first, while it is still
// single-threaded (a user namespace requires it, and the session's threads must be inside).
// Where no mount namespace can be had the test fails: the issue's "a full disk loses nothing
// already recorded" would otherwise go unchecked without anybody noticing.
#include "engine/io/Safetensors.h"
#include "engine/session/RunSpec.h"
#include "engine/session/Session.h"
#include "engine/store/RunStore.h"
#include "support/ChildProcess.h"
#include "support/TestFiles.h"
#include "support/TinyDataset.h"

#include <QDir>
#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QTest>

#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>

using namespace qs::session;
using qs::store::MetricRow;
using qs::store::RunStore;
namespace runStatus = qs::store::status;
namespace fs = std::filesystem;

namespace {

/// What a child that passed starts its report with; what follows is for the log.
constexpr const char* kPassed = "passed\n";

/// The names in a folder, sorted.
std::set<std::string> entries(const std::string& dir) {
    std::set<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir)) {
        names.insert(entry.path().filename().string());
    }
    return names;
}

std::string joined(const std::set<std::string>& names) {
    std::string out;
    for (const std::string& name : names) {
        out += (out.empty() ? "" : ", ") + name;
    }
    return "{" + out + "}";
}

/// Empty when both series are identical (every step, key and value); else the first difference.
std::string seriesDifference(const std::vector<MetricRow>& a, const std::vector<MetricRow>& b) {
    for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
        if (a[i].step != b[i].step || a[i].key != b[i].key || a[i].value != b[i].value) {
            std::ostringstream os;
            os.precision(17);
            os << "row " << i << ": " << a[i].key << "@" << a[i].step << "=" << a[i].value << " vs "
               << b[i].key << "@" << b[i].step << "=" << b[i].value;
            return os.str();
        }
    }
    if (a.size() != b.size()) {
        return std::to_string(a.size()) + " rows vs " + std::to_string(b.size()) + " rows";
    }
    return {};
}

std::vector<MetricRow> upToStep(std::vector<MetricRow> rows, int64_t step) {
    rows.erase(
        std::remove_if(rows.begin(), rows.end(), [&](const MetricRow& r) { return r.step > step; }),
        rows.end());
    return rows;
}

std::map<std::string, double> withoutTimings(std::map<std::string, double> metrics) {
    for (auto it = metrics.begin(); it != metrics.end();) {
        it = it->first.rfind("time/", 0) == 0 ? metrics.erase(it) : std::next(it);
    }
    return metrics;
}

/// "" when `path` loads as a safetensors checkpoint of epoch index `epoch` at `step`.
std::string checkCheckpoint(const std::string& path, int epoch, int64_t step) {
    try {
        const qs::io::SafetensorsFile file = qs::io::SafetensorsFile::load(path);
        QS_CHILD_CHECK2(file.tensors().size() > 50, path);
        QS_CHILD_CHECK2(file.find("fc.weight") != nullptr, path);
        QS_CHILD_CHECK2(file.metadata().at("epoch") == std::to_string(epoch), path);
        QS_CHILD_CHECK2(file.metadata().at("step") == std::to_string(step), path);
    } catch (const std::exception& e) {
        return path + " does not load: " + e.what();
    }
    return {};
}

int64_t fileSize(const std::string& path) {
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    return ec ? -1 : int64_t(size);
}

}  // namespace

class TestTrainerDiskFull : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();

    void fullCheckpointDiskFailsTheRunAndLosesNothing_data();
    void fullCheckpointDiskFailsTheRunAndLosesNothing();

private:
    RunSpec tinySpec() const;
    SessionOptions options(const std::string& outDir) const;
    std::string scenario(int fittingFiles, const std::string& failingFile,
                         const std::set<std::string>& kept) const;

    QTemporaryDir m_dir;
    std::string m_data;
    // Per data row: each row has its own store and folders.
    std::string m_db;
    std::string m_reference;  ///< the uninterrupted run's checkpoint folder
    std::string m_out;        ///< the checkpoint folder that fills up (the tmpfs)
};

void TestTrainerDiskFull::initTestCase() {
    QVERIFY(m_dir.isValid());
    m_data = m_dir.filePath(QStringLiteral("tiny")).toStdString();
    QVERIFY(QDir().mkpath(QString::fromStdString(m_data)));
    qs::test::writeTinyDataset(m_data);
}

RunSpec TestTrainerDiskFull::tinySpec() const {
    RunSpec s;
    s.name = "disk full";
    s.model.arch = "resnet20";
    s.data.dataset = "mnist";
    s.data.path = m_data;
    s.data.augment = false;
    s.data.batchSize = 32;  // 256 images: 8 steps an epoch
    s.data.evalBatchSize = 128;
    s.method.name = "fp";
    s.optim.lr = 0.05;
    s.optim.epochs = 3;
    s.seed = 11;
    s.threads = 1;
    s.logEvery = 2;
    s.stateEvery = 4;
    return s;
}

SessionOptions TestTrainerDiskFull::options(const std::string& outDir) const {
    SessionOptions o;
    o.dbPath = m_db;
    o.outDir = outDir;
    return o;
}

/// The whole scenario, in the child: "passed\n" and what it measured, else what failed. The
/// tmpfs holds `fittingFiles` checkpoint files and half another; the run fails writing
/// `failingFile` of epoch 2 and leaves `kept` in its folder.
std::string TestTrainerDiskFull::scenario(int fittingFiles, const std::string& failingFile,
                                          const std::set<std::string>& kept) const {
    // The shared helpers say "SKIP: why" where the store tests may skip; this one may not.
    const auto mustHave = [](const std::string& error) {
        return "this test needs a private mount namespace and a tmpfs, and fails without them: " +
               error;
    };
    std::string error = qs::test::enterMountNamespace();
    if (!error.empty()) {
        return mustHave(error);
    }
    std::ostringstream report;
    QElapsedTimer timer;
    timer.start();

    // 1. The same run without a limit: its checkpoints' size sizes the tmpfs, and its numbers
    // are what the interrupted run must end with.
    Finished reference;
    int64_t referenceId = 0;
    {
        Session session;
        referenceId = session.start(tinySpec(), options(m_reference));
        reference = session.wait();
    }
    QS_CHILD_CHECK2(reference.status == "finished", reference.error);
    const std::string referenceDir = m_reference + "/run-" + std::to_string(referenceId);
    int64_t checkpointBytes = 0;
    for (const char* file : {"epoch-1.safetensors", "epoch-2.safetensors", "epoch-3.safetensors",
                             "last.safetensors"}) {
        checkpointBytes = std::max(checkpointBytes, fileSize(referenceDir + "/" + file));
    }
    QS_CHILD_CHECK(checkpointBytes > 100'000);
    // Each epoch writes epoch-N.safetensors, then last.safetensors, each through a .tmp file
    // renamed over the name: with room for epoch 1's two files and half a third, epoch 2's own
    // file runs out of space halfway; with room for three and a half, epoch 2's file fits and
    // the new last.safetensors (beside the old one until the rename) does not.
    const int64_t page = sysconf(_SC_PAGESIZE);
    const int64_t checkpointPages = (checkpointBytes + page - 1) / page;
    const int64_t tmpfsBytes = (fittingFiles * checkpointPages + checkpointPages / 2) * page;
    report << "checkpoint file: " << checkpointBytes << " bytes (" << checkpointPages
           << " pages of " << page << ")\n"
           << "tmpfs: " << tmpfsBytes << " bytes\n"
           << "reference run: " << timer.elapsed() << " ms\n";
    error = qs::test::mountSmallTmpfs(m_out, tmpfsBytes);
    if (!error.empty()) {
        return mustHave(error);
    }

    // 2. The run whose checkpoint folder fills up at epoch 2.
    timer.restart();
    Finished failed;
    int64_t runId = 0;
    {
        Session session;
        runId = session.start(tinySpec(), options(m_out));
        failed = session.wait();
    }
    report << "failing run: " << timer.elapsed() << " ms\n"
           << "error: " << failed.error << "\n";
    const std::string runDir = m_out + "/run-" + std::to_string(runId);
    const std::string last = runDir + "/last.safetensors";
    QS_CHILD_CHECK2(failed.status == "failed", failed.status + ": " + failed.error);
    QS_CHILD_CHECK(failed.runId == runId);
    // The file that did not fit, and why.
    QS_CHILD_CHECK2(
        failed.error == runDir + "/" + failingFile +
                            ": cannot write: No space left on device (epoch 2's checkpoint; the "
                            "earlier checkpoints are intact: make room for two checkpoint files "
                            "and resume the run)",
        failed.error);
    {
        auto store = RunStore::open(m_db);
        const auto record = store->run(runId);
        QS_CHILD_CHECK(record.has_value());
        QS_CHILD_CHECK2(record->status == runStatus::kFailed, record->status);
        QS_CHILD_CHECK2(record->error == failed.error, record->error);
        QS_CHILD_CHECK(!record->finishedAt.empty());
        // Everything recorded up to the failure: both epochs' training rows and evaluations (the
        // evaluation comes before the checkpoint), exactly as the uninterrupted run has them.
        const std::vector<MetricRow> rows = store->metrics(runId);
        QS_CHILD_CHECK(store->metrics(runId, "train/loss").size() == 8);
        QS_CHILD_CHECK(store->metrics(runId, "eval/acc").size() == 2);
        const std::string difference =
            seriesDifference(upToStep(store->metrics(referenceId), 16), rows);
        QS_CHILD_CHECK2(difference.empty(), difference);
        QS_CHILD_CHECK(store->lastLayerStateStep(runId) == 16);
        QS_CHILD_CHECK(store->integrityCheck() == "ok");
    }
    // Every checkpoint file written is intact, byte for byte the uninterrupted run's (and
    // last.safetensors still epoch 1's), and the torn file left nothing behind.
    const std::set<std::string> left = entries(runDir);
    QS_CHILD_CHECK2(left == kept, joined(left));
    for (const std::string& name : kept) {
        const bool isLast = name == "last.safetensors";
        const int epoch = isLast ? 1 : name[6] - '0';  // "epoch-N.safetensors"
        error = checkCheckpoint(runDir + "/" + name, epoch - 1, 8 * epoch);
        if (!error.empty()) {
            return error;
        }
        const std::string same = isLast ? "epoch-1.safetensors" : name;
        QS_CHILD_CHECK2(qs::test::readBytes(runDir + "/" + name) ==
                            qs::test::readBytes(referenceDir + "/" + same),
                        name);
    }
    struct statvfs disk {};
    QS_CHILD_CHECK(statvfs(m_out.c_str(), &disk) == 0);
    report << "free on the tmpfs after the failure: " << int64_t(disk.f_bavail) * disk.f_frsize
           << " bytes\n";

    // 3. Space again (the disk grown to hold every checkpoint): the run resumes from
    // last.safetensors and ends as the uninterrupted run did.
    error = qs::test::mountSmallTmpfs(m_out, 8 * checkpointPages * page, true);
    if (!error.empty()) {
        return mustHave(error);
    }
    timer.restart();
    Finished resumed;
    {
        Session session;
        session.resumeRun(runId, options(m_out));
        resumed = session.wait();
    }
    report << "resumed run: " << timer.elapsed() << " ms\n";
    QS_CHILD_CHECK2(resumed.status == "finished", resumed.status + ": " + resumed.error);
    QS_CHILD_CHECK(resumed.runId == runId);
    QS_CHILD_CHECK(resumed.checkpoint == last);
    QS_CHILD_CHECK(withoutTimings(resumed.finalMetrics) == withoutTimings(reference.finalMetrics));
    const std::set<std::string> files = entries(runDir);
    QS_CHILD_CHECK2(files == (std::set<std::string>{"epoch-1.safetensors", "epoch-2.safetensors",
                                                    "epoch-3.safetensors", "last.safetensors"}),
                    joined(files));
    for (int epoch = 1; epoch <= 3; ++epoch) {
        const std::string name = "/epoch-" + std::to_string(epoch) + ".safetensors";
        error = checkCheckpoint(runDir + name, epoch - 1, 8 * epoch);
        if (!error.empty()) {
            return error;
        }
        QS_CHILD_CHECK2(
            qs::test::readBytes(runDir + name) == qs::test::readBytes(referenceDir + name), name);
    }
    QS_CHILD_CHECK(qs::test::readBytes(last) ==
                   qs::test::readBytes(referenceDir + "/last.safetensors"));
    return kPassed + report.str();
}

void TestTrainerDiskFull::fullCheckpointDiskFailsTheRunAndLosesNothing_data() {
    QTest::addColumn<int>("fittingFiles");
    QTest::addColumn<QString>("failingFile");
    QTest::addColumn<QStringList>("kept");
    QTest::newRow("epoch 2's file does not fit")
        << 2 << QStringLiteral("epoch-2.safetensors")
        << QStringList{QStringLiteral("epoch-1.safetensors"), QStringLiteral("last.safetensors")};
    QTest::newRow("epoch 2's last.safetensors does not fit")
        << 3 << QStringLiteral("last.safetensors")
        << QStringList{QStringLiteral("epoch-1.safetensors"), QStringLiteral("epoch-2.safetensors"),
                       QStringLiteral("last.safetensors")};
}

void TestTrainerDiskFull::fullCheckpointDiskFailsTheRunAndLosesNothing() {
    QFETCH(int, fittingFiles);
    QFETCH(QString, failingFile);
    QFETCH(QStringList, kept);
    std::set<std::string> keptFiles;
    for (const QString& name : kept) {
        keptFiles.insert(name.toStdString());
    }
    // Each row its own store and folders: a fresh mount point, run ids from 1.
    const QDir folder(m_dir.filePath(QStringLiteral("row-%1").arg(fittingFiles)));
    m_db = folder.filePath(QStringLiteral("runs.sqlite")).toStdString();
    m_reference = folder.filePath(QStringLiteral("reference")).toStdString();
    m_out = folder.filePath(QStringLiteral("checkpoints")).toStdString();
    QVERIFY(QDir().mkpath(QString::fromStdString(m_out)));  // the mount point

    std::string result;
    {
        qs::test::ChildProcess child(
            [&] { return scenario(fittingFiles, failingFile.toStdString(), keptFiles); });
        result = child.result(150'000);
    }
    QVERIFY2(result.rfind(kPassed, 0) == 0, result.c_str());
    qInfo().noquote() << QString::fromStdString(result.substr(std::strlen(kPassed))).trimmed();

    // The store outlives the child's mount: both runs are there, the resumed one complete.
    auto store = RunStore::open(m_db);
    const auto runs = store->listRuns();
    QCOMPARE(runs.size(), size_t(2));
    const int64_t reference = std::min(runs[0].id, runs[1].id);
    const int64_t resumed = std::max(runs[0].id, runs[1].id);
    for (const auto& run : runs) {
        QCOMPARE(run.status, std::string(runStatus::kFinished));
        QCOMPARE(run.error, std::string());
    }
    QCOMPARE(store->run(resumed)->checkpointDir, m_out + "/run-" + std::to_string(resumed));
    QCOMPARE(store->metrics(resumed, "train/loss").size(), size_t(12));
    QCOMPARE(store->metrics(resumed, "eval/acc").size(), size_t(3));
    QCOMPARE(QString::fromStdString(
                 seriesDifference(store->metrics(reference), store->metrics(resumed))),
             QString());
    QCOMPARE(withoutTimings(store->run(resumed)->finalMetrics),
             withoutTimings(store->run(reference)->finalMetrics));
    QCOMPARE(store->integrityCheck(), std::string("ok"));
}

QTEST_GUILESS_MAIN(TestTrainerDiskFull)
#include "TestTrainerDiskFull.moc"
