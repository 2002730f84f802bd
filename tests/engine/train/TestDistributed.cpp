// Data-parallel training over c10d through the public Session API: real worker processes
// (quantscape-cli train --rank 1 ..., found through QS_WORKER_EXECUTABLE) on loopback.
// - 2 processes reproduce the loss trajectory of 1 process with the same global batch (a tiny
//   BERT: LayerNorm and no dropout, so the only difference is the order of floating-point sums);
// - a ResNet (BatchNorm) run finishes with rank 0 alone recording;
// - a killed peer ends the run with "lost contact", a stopped one with the timeout error, a rank
//   that never joins with "did not join"; a failed run resumes with its processes.
#include "engine/session/RunSpec.h"
#include "engine/session/Session.h"
#include "engine/store/RunStore.h"
#include "support/TinyBertSpec.h"
#include "support/TinyDataset.h"
#include "support/TinyText.h"

#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QTest>

#include <dirent.h>
#include <unistd.h>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace qs::session;
using qs::store::RunStore;

namespace {

/// Child processes of this process whose command line has "--rank" (the workers).
std::vector<pid_t> workerPids() {
    std::vector<pid_t> out;
    DIR* proc = opendir("/proc");
    if (!proc) {
        return out;
    }
    while (dirent* e = readdir(proc)) {
        const pid_t pid = pid_t(std::atoi(e->d_name));
        if (pid <= 0) {
            continue;
        }
        std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
        std::string line;
        std::getline(stat, line);
        const auto close = line.rfind(')');
        if (close == std::string::npos) {
            continue;
        }
        std::istringstream rest(line.substr(close + 2));
        char state = 0;
        pid_t parent = 0;
        rest >> state >> parent;
        if (parent != getpid() || state == 'Z') {
            continue;
        }
        std::ifstream cmd("/proc/" + std::to_string(pid) + "/cmdline");
        const std::string args((std::istreambuf_iterator<char>(cmd)), {});
        if (args.find("--rank") != std::string::npos) {
            out.push_back(pid);
        }
    }
    closedir(proc);
    return out;
}

}  // namespace

class TestDistributed : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void twoProcessesReproduceOne_data();
    void twoProcessesReproduceOne();
    void resnetRunRecordsOnceWithItsWorldSize();
    void killedPeerEndsTheRunAndItResumes();
    void stoppedPeerEndsTheRunAfterTheTimeout();
    void rankThatNeverJoinsTimesOut();

private:
    RunSpec tinyResnet(const std::string& name) const;
    /// Starts the run and returns its id; the session keeps running.
    int64_t start(Session& session, const RunSpec& spec) const;
    std::unique_ptr<RunStore> store() const { return RunStore::open(m_db); }

    QTemporaryDir m_dir;
    std::string m_glue, m_images, m_db, m_out;
};

void TestDistributed::initTestCase() {
    QVERIFY(m_dir.isValid());
    const char* exe = std::getenv("QS_WORKER_EXECUTABLE");
    QVERIFY2(exe && ::access(exe, X_OK) == 0, "QS_WORKER_EXECUTABLE must name quantscape-cli");
    m_glue = m_dir.filePath(QStringLiteral("glue")).toStdString();
    qs::test::writeTinySst2(m_glue);
    m_images = m_dir.filePath(QStringLiteral("images")).toStdString();
    std::filesystem::create_directories(m_images);
    qs::test::writeTinyDataset(m_images);
    m_db = m_dir.filePath(QStringLiteral("runs.sqlite")).toStdString();
    m_out = m_dir.filePath(QStringLiteral("out")).toStdString();
}

RunSpec TestDistributed::tinyResnet(const std::string& name) const {
    RunSpec s;
    s.name = name;
    s.model.arch = "resnet20";
    s.data.dataset = "mnist";
    s.data.path = m_images;
    s.data.augment = false;
    s.data.batchSize = 8;  // 32 steps an epoch
    s.data.evalBatchSize = 128;
    s.method.name = "lsq";
    s.quant.weightBits = 4;
    s.quant.actBits = 4;
    s.optim.lr = 0.05;
    s.optim.epochs = 3;
    s.seed = 11;
    s.threads = 2;  // one per process
    s.logEvery = 1;
    s.stateEvery = 8;
    s.distributed.processes = 2;
    s.distributed.timeoutS = 5;
    return s;
}

int64_t TestDistributed::start(Session& session, const RunSpec& spec) const {
    SessionOptions o;
    o.dbPath = m_db;
    o.outDir = m_out;
    return session.start(spec, o);
}

void TestDistributed::twoProcessesReproduceOne_data() {
    QTest::addColumn<QString>("method");
    QTest::newRow("lsq w4a8") << QStringLiteral("lsq");
    QTest::newRow("squat w4a8") << QStringLiteral("squat");
}

void TestDistributed::twoProcessesReproduceOne() {
    QFETCH(QString, method);
    std::vector<std::vector<qs::store::MetricRow>> losses;
    std::vector<Finished> results;
    std::vector<int64_t> ids;
    for (int processes : {1, 2}) {
        RunSpec s =
            qs::test::tinyBertSpec(m_glue, method.toStdString() + "-" + std::to_string(processes));
        s.method.name = method.toStdString();
        s.quant.weightBits = 4;
        s.quant.actBits = 8;
        s.optim.epochs = 2;
        s.logEvery = 1;  // every step's global loss
        s.distributed.processes = processes;
        s.threads = processes;  // one thread per process either way
        Session session;
        ids.push_back(start(session, s));
        results.push_back(session.wait());
        QVERIFY2(results.back().status == "finished", results.back().error.c_str());
        losses.push_back(store()->metrics(ids.back(), "train/loss"));
    }
    // Same global batches (text padded to the global batch's length), same initial weights
    // (rank 0's), LSQ's step sizes initialised from the global batch (the processes' means
    // averaged), gradients averaged, SQuAT's perturbation from the global gradient norm. What
    // differs is the order of floating-point sums (two half-batch means and an all-reduce
    // instead of one mean): the first step's loss is identical and the next ones differ by
    // rounding (measured: about 1e-7 relative at steps 2-3). Later, rounding meets 4-bit
    // rounding boundaries and AdamW's normalised updates, which amplify it (measured: 1e-4
    // relative by step 9, under 2e-3 over 40 steps); 2e-2 bounds that. A missing gradient
    // all-reduce stops the run (the processes' parameters are compared every epoch), and a
    // wrong batch share, per-process step sizes or local padding differ by 1e-5 and more at
    // steps 1-3 (local padding, measured: 5e-5 at step 1).
    QCOMPARE(losses[1].size(), losses[0].size());
    QVERIFY(losses[0].size() >= 10);
    double worst = 0.0;
    for (size_t i = 0; i < losses[0].size(); ++i) {
        QCOMPARE(losses[1][i].step, losses[0][i].step);
        const double a = losses[0][i].value, b = losses[1][i].value;
        const double relative = std::abs(a - b) / std::abs(a);
        const double bound = i == 0 ? 1e-6 : i < 3 ? 1e-5 : 2e-2;
        QVERIFY2(relative <= bound, qPrintable(QStringLiteral("step %1: %2 vs %3")
                                                   .arg(losses[0][i].step)
                                                   .arg(a, 0, 'g', 9)
                                                   .arg(b, 0, 'g', 9)));
        worst = std::max(worst, relative);
    }
    qInfo("largest relative loss difference over %zu steps: %.3g", losses[0].size(), worst);
    // Not the accuracy: after 2 epochs from scratch this model is near chance on the 96 dev
    // sentences, and rounding differences flip predictions at its decision boundary (measured:
    // 3 of 96 apart in a Release build, 7 at -O2 under the sanitizers, eval losses within 1e-3).
    const double loss1 = results[0].finalMetrics.at("eval/loss");
    const double loss2 = results[1].finalMetrics.at("eval/loss");
    qInfo("eval loss %.6g vs %.6g, eval acc %.4f vs %.4f", loss1, loss2,
          results[0].finalMetrics.at("eval/acc"), results[1].finalMetrics.at("eval/acc"));
    QVERIFY2(std::abs(loss1 - loss2) <= 2e-2 * loss1,
             qPrintable(QStringLiteral("%1 vs %2").arg(loss1).arg(loss2)));
}

void TestDistributed::resnetRunRecordsOnceWithItsWorldSize() {
    const size_t runsBefore = store()->listRuns().size();
    RunSpec spec = tinyResnet("resnet-2");
    spec.optim.epochs = 1;
    Session session;
    const int64_t id = start(session, spec);
    const Finished f = session.wait();
    QVERIFY2(f.status == "finished", f.error.c_str());
    const auto s = store();
    QCOMPARE(s->listRuns().size(), runsBefore + 1);  // rank 1 recorded nothing
    const auto record = s->run(id);
    QVERIFY(record);
    QCOMPARE(RunSpec::fromJson(record->specJson).distributed.processes, 2);
    QCOMPARE(record->finalMetrics.at("steps"), 32.0);  // global batches, as with 1 process
    QCOMPARE(s->metrics(id, "train/loss").size(), size_t(32));
    QVERIFY(record->finalMetrics.at("eval/acc") > 0.25);  // 4 classes: above chance
    // The worker's output is kept beside the run's checkpoints.
    const std::string log = m_out + "/run-" + std::to_string(id) + "/worker-1.log";
    std::ifstream in(log);
    const std::string text((std::istreambuf_iterator<char>(in)), {});
    QVERIFY2(text.find("[rank 1] epoch 1/1") != std::string::npos, text.c_str());
    QVERIFY(workerPids().empty());  // reaped
}

void TestDistributed::killedPeerEndsTheRunAndItResumes() {
    Session session;
    const int64_t id = start(session, tinyResnet("killed"));
    // After the first epoch's checkpoint, during the second epoch.
    QTRY_VERIFY_WITH_TIMEOUT(store()->metrics(id, "eval/acc").size() == 1, 60000);
    const std::vector<pid_t> pids = workerPids();
    QCOMPARE(pids.size(), size_t(1));
    QCOMPARE(::kill(pids[0], SIGKILL), 0);
    QElapsedTimer timer;
    timer.start();
    const Finished f = session.wait();
    QCOMPARE(f.status, std::string("failed"));
    QVERIFY2(f.error.find("lost contact with a peer process") != std::string::npos ||
                 f.error.find("no answer from a peer process") != std::string::npos,
             f.error.c_str());
    QVERIFY2(f.error.find("rank 1 was killed by signal 9") != std::string::npos, f.error.c_str());
    QVERIFY(timer.elapsed() < 30000);
    QCOMPARE(store()->run(id)->status, std::string(qs::store::status::kFailed));

    // The failed run resumes from its last epoch checkpoint, with two processes again.
    Session again;
    SessionOptions o;
    o.dbPath = m_db;
    o.outDir = m_out;
    again.resumeRun(id, o);
    const Finished resumed = again.wait();
    QVERIFY2(resumed.status == "finished", resumed.error.c_str());
    QCOMPARE(resumed.finalMetrics.at("steps"), 96.0);
    QCOMPARE(store()->metrics(id, "eval/acc").size(), size_t(3));
}

void TestDistributed::stoppedPeerEndsTheRunAfterTheTimeout() {
    RunSpec spec = tinyResnet("stopped");
    spec.distributed.timeoutS = 3;
    Session session;
    const int64_t id = start(session, spec);
    QTRY_VERIFY_WITH_TIMEOUT(store()->metrics(id, "train/loss").size() >= 3, 60000);
    const std::vector<pid_t> pids = workerPids();
    QCOMPARE(pids.size(), size_t(1));
    QElapsedTimer timer;
    timer.start();
    QCOMPARE(::kill(pids[0], SIGSTOP), 0);  // alive but silent: only the timeout can tell
    const Finished f = session.wait();
    ::kill(pids[0], SIGKILL);
    QCOMPARE(f.status, std::string("failed"));
    QVERIFY2(f.error.find("no answer from a peer process within 3 s") != std::string::npos,
             f.error.c_str());
    QVERIFY2(timer.elapsed() >= 2500 && timer.elapsed() < 30000,
             qPrintable(QString::number(timer.elapsed())));
}

void TestDistributed::rankThatNeverJoinsTimesOut() {
    RunSpec spec = tinyResnet("alone");
    spec.distributed.timeoutS = 2;
    Session session;
    SessionOptions o;
    o.dbPath = m_db;
    o.outDir = m_out;
    o.distributed.startLocalWorkers = false;  // rank 1 would be started by hand elsewhere
    QElapsedTimer timer;
    timer.start();
    session.start(spec, o);
    const Finished f = session.wait();
    QCOMPARE(f.status, std::string("failed"));
    QVERIFY2(f.error.find("rank 1 of 2 did not join within 2 s") != std::string::npos,
             f.error.c_str());
    QVERIFY(timer.elapsed() < 20000);
}

QTEST_GUILESS_MAIN(TestDistributed)
#include "TestDistributed.moc"
