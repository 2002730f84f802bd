// The trainer end to end through the public Session API: tiny real training runs on a learnable
// 12x12 dataset (the class decides which quadrant is bright), checked through the run store, the
// observer's event batches and the checkpoint files. Loss goes down, quantizer states are
// recorded, numbers reproduce, pause/resume/cancel work from another thread, a cancelled run
// resumes to the same numbers, warm starts load, and bad checkpoints or data fail cleanly.
#include "engine/analysis/Sharpness.h"
#include "engine/session/Events.h"
#include "engine/session/RunSpec.h"
#include "engine/session/Session.h"
#include "engine/store/RunStore.h"
#include "support/TestFiles.h"
#include "support/TinyDataset.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <numeric>
#include <random>
#include <set>
#include <stdexcept>

using namespace qs::session;
using qs::store::LayerStateRow;
using qs::store::MetricRow;
using qs::store::RunStore;
namespace runStatus = qs::store::status;

namespace {

template <class... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

/// Where a run is, as far as its events tell.
struct Seen {
    int64_t step = 0;   ///< the highest step of any StepMetrics or Progress
    int evalEpoch = 0;  ///< the last EpochEval's epoch
    std::string phase;  ///< the last Progress's phase
    bool finished = false;
};

/// Keeps every batch an observer receives (on the worker thread) and lets the test thread wait
/// for what the events say, without sleeping.
class Recorder : public Observer {
public:
    void onEvents(const EventBatch& batch) override {
        {
            std::lock_guard<std::mutex> lock(m_mutex);
            m_batches.push_back(batch);
            for (const Event& event : batch.events) {
                std::visit(
                    Overloaded{
                        [&](const StepMetrics& m) { m_seen.step = std::max(m_seen.step, m.step); },
                        [&](const Progress& p) {
                            m_seen.step = std::max(m_seen.step, p.step);
                            m_seen.phase = p.phase;
                        },
                        [&](const EpochEval& e) { m_seen.evalEpoch = e.epoch; },
                        [&](const Finished&) { m_seen.finished = true; },
                        [](const auto&) {},
                    },
                    event);
            }
        }
        m_changed.notify_all();
    }

    /// Waits until `done(seen)` holds; false on timeout.
    bool waitFor(const std::function<bool(const Seen&)>& done, int timeoutMs = 20000) {
        std::unique_lock<std::mutex> lock(m_mutex);
        return m_changed.wait_for(lock, std::chrono::milliseconds(timeoutMs),
                                  [&] { return done(m_seen); });
    }

    int64_t step() const {
        std::lock_guard<std::mutex> lock(m_mutex);
        return m_seen.step;
    }

    std::vector<EventBatch> batches() const {
        std::lock_guard<std::mutex> lock(m_mutex);
        return m_batches;
    }

    template <class T>
    std::vector<T> events() const {
        std::vector<T> out;
        for (const EventBatch& batch : batches()) {
            for (const Event& event : batch.events) {
                if (const T* e = std::get_if<T>(&event)) {
                    out.push_back(*e);
                }
            }
        }
        return out;
    }

    std::vector<std::string> logTexts() const {
        std::vector<std::string> out;
        for (const LogLine& l : events<LogLine>()) {
            out.push_back(l.text);
        }
        return out;
    }

private:
    mutable std::mutex m_mutex;
    std::condition_variable m_changed;
    std::vector<EventBatch> m_batches;
    Seen m_seen;
};

struct RunResult {
    int64_t id = 0;
    Finished finished;
};

bool contains(const std::vector<std::string>& lines, const std::string& line) {
    return std::find(lines.begin(), lines.end(), line) != lines.end();
}

bool hasPrefix(const std::string& s, const std::string& prefix) {
    return s.compare(0, prefix.size(), prefix) == 0;
}

/// Final metrics without the timings, which differ from run to run by nature.
std::map<std::string, double> withoutTimings(std::map<std::string, double> metrics) {
    for (auto it = metrics.begin(); it != metrics.end();) {
        it = hasPrefix(it->first, "time/") ? metrics.erase(it) : std::next(it);
    }
    return metrics;
}

/// Empty when both series are identical (every step, key and value); else the first difference.
QString seriesDifference(const std::vector<MetricRow>& a, const std::vector<MetricRow>& b) {
    for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
        if (a[i].step != b[i].step || a[i].key != b[i].key || a[i].value != b[i].value) {
            return QStringLiteral("row %1: %2@%3=%4 vs %5@%6=%7")
                .arg(i)
                .arg(QString::fromStdString(a[i].key))
                .arg(a[i].step)
                .arg(a[i].value, 0, 'g', 17)
                .arg(QString::fromStdString(b[i].key))
                .arg(b[i].step)
                .arg(b[i].value, 0, 'g', 17);
        }
    }
    if (a.size() != b.size()) {
        return QStringLiteral("%1 rows vs %2 rows").arg(a.size()).arg(b.size());
    }
    return {};
}

QString layerStateDifference(const std::vector<LayerStateRow>& a,
                             const std::vector<LayerStateRow>& b) {
    for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
        const LayerStateRow& x = a[i];
        const LayerStateRow& y = b[i];
        if (x.step != y.step || x.layer != y.layer || x.weightBits != y.weightBits ||
            x.actBits != y.actBits || x.weightSteps != y.weightSteps || x.actStep != y.actStep ||
            x.weightError != y.weightError || x.actError != y.actError ||
            x.weightClipRate != y.weightClipRate || x.actClipRate != y.actClipRate) {
            return QStringLiteral(
                       "row %1: %2@%3 (w err %4, a clip %5) vs %6@%7 (w err %8, a clip %9)")
                .arg(i)
                .arg(QString::fromStdString(x.layer))
                .arg(x.step)
                .arg(x.weightError)
                .arg(x.actClipRate)
                .arg(QString::fromStdString(y.layer))
                .arg(y.step)
                .arg(y.weightError)
                .arg(y.actClipRate);
        }
    }
    if (a.size() != b.size()) {
        return QStringLiteral("%1 rows vs %2 rows").arg(a.size()).arg(b.size());
    }
    return {};
}

/// Writes the first `keep` bytes of `from` to `to`.
void writeTruncatedCopy(const std::string& from, const std::string& to, std::size_t keep) {
    std::vector<uint8_t> bytes = qs::test::readBytes(from);
    bytes.resize(std::min(keep, bytes.size()));
    qs::test::writeBytes(to, bytes);
}

std::vector<uint8_t> randomBytes(std::size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<uint8_t> bytes(n);
    for (uint8_t& b : bytes) {
        b = uint8_t(rng());
    }
    return bytes;
}

}  // namespace

class TestTrainer : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();

    void floatRunLearnsAndWritesCheckpoints();
    void lsqRunRecordsLayerStates();
    void histogramStreamsTheRequestedLayer();
    void sameSeedReproducesEveryNumber_data();
    void sameSeedReproducesEveryNumber();
    void observerGetsThrottledBatches();
    void pauseHoldsAndResumeFinishes();
    void cancelEndsPromptly_data();
    void cancelEndsPromptly();
    void resumedRunMatchesUninterruptedRun_data();
    void resumedRunMatchesUninterruptedRun();
    void resumeDropsRowsPastTheCheckpoint();
    void resumeRunRefuses_data();
    void resumeRunRefuses();
    void warmStartLoadsFloatCheckpoint();
    void badInitCheckpointFailsTheRun_data();
    void badInitCheckpointFailsTheRun();
    void badDataFailsTheRun_data();
    void badDataFailsTheRun();
    void methodsRecordTheirState_data();
    void methodsRecordTheirState();
    void ptqCalibratesWithoutTraining_data();
    void ptqCalibratesWithoutTraining();
    void runReferencesResolveToCheckpoints();
    void sharpnessOfStoredCheckpoints();
    void sharpnessRefusesBadInput();
    void storeThatFillsUpStopsTheRun();

private:
    RunSpec tinySpec(const std::string& name) const;
    SessionOptions options(double eventInterval = 0.05) const;
    RunResult runToEnd(const RunSpec& spec, Observer* observer = nullptr,
                       double eventInterval = 0.05) const;
    std::unique_ptr<RunStore> store() const { return RunStore::open(m_db); }
    std::string runDir(int64_t id) const { return m_out + "/run-" + std::to_string(id); }
    /// A finished 2-epoch float run (trained once, on first use).
    const RunResult& floatRun();

    QTemporaryDir m_dir;
    std::string m_data;  ///< the tiny dataset's folder
    std::string m_db;
    std::string m_out;
    RunResult m_float;
    double m_floatAcc = 0.0;
};

void TestTrainer::initTestCase() {
    QVERIFY(m_dir.isValid());
    m_data = m_dir.filePath(QStringLiteral("tiny")).toStdString();
    QVERIFY(QDir().mkpath(QString::fromStdString(m_data)));
    qs::test::writeTinyDataset(m_data);
    m_db = m_dir.filePath(QStringLiteral("runs.sqlite")).toStdString();
    m_out = m_dir.filePath(QStringLiteral("checkpoints")).toStdString();
}

void TestTrainer::init() {
    // Every run ends before its test function returns: nothing may be left running or paused.
    for (const auto& r : store()->listRuns()) {
        QVERIFY2(r.status != runStatus::kRunning && r.status != runStatus::kPaused, r.name.c_str());
    }
}

RunSpec TestTrainer::tinySpec(const std::string& name) const {
    RunSpec s;
    s.name = name;
    s.model.arch = "resnet20";
    s.data.dataset = "mnist";
    s.data.path = m_data;
    s.data.augment = false;
    s.data.batchSize = 32;
    s.data.evalBatchSize = 128;
    s.method.name = "fp";
    s.optim.lr = 0.05;
    s.optim.epochs = 2;
    s.seed = 11;
    s.threads = 1;
    s.logEvery = 2;
    s.stateEvery = 4;
    return s;
}

SessionOptions TestTrainer::options(double eventInterval) const {
    SessionOptions o;
    o.dbPath = m_db;
    o.outDir = m_out;
    o.eventInterval = eventInterval;
    return o;
}

RunResult TestTrainer::runToEnd(const RunSpec& spec, Observer* observer,
                                double eventInterval) const {
    Session session;
    Subscription sub;
    if (observer != nullptr) {
        sub = session.subscribe(observer);
    }
    RunResult r;
    r.id = session.start(spec, options(eventInterval));
    r.finished = session.wait();
    return r;
}

const RunResult& TestTrainer::floatRun() {
    if (m_float.id == 0) {
        m_float = runToEnd(tinySpec("float"));
        const auto acc = m_float.finished.finalMetrics.find("eval/acc");
        m_floatAcc = acc == m_float.finished.finalMetrics.end() ? 0.0 : acc->second;
    }
    return m_float;
}

void TestTrainer::floatRunLearnsAndWritesCheckpoints() {
    const RunResult& run = floatRun();
    const Finished& f = run.finished;
    QVERIFY(run.id > 0);
    QCOMPARE(f.runId, run.id);
    QCOMPARE(f.status, std::string("finished"));
    QCOMPARE(f.error, std::string());

    auto s = store();
    const auto record = s->run(run.id);
    QVERIFY(record.has_value());
    QCOMPARE(record->status, std::string(runStatus::kFinished));
    QVERIFY(!record->finishedAt.empty());
    QCOMPARE(record->checkpointDir, runDir(run.id));

    // 256 images in batches of 32: 8 steps an epoch, a train/loss row every 2 steps.
    const std::vector<MetricRow> loss = s->metrics(run.id, "train/loss");
    QCOMPARE(loss.size(), size_t(8));
    QCOMPARE(loss.front().step, int64_t(2));
    QCOMPARE(loss.back().step, int64_t(16));
    QVERIFY2(
        loss.front().value > loss.back().value,
        qPrintable(
            QStringLiteral("first %1, last %2").arg(loss.front().value).arg(loss.back().value)));

    const std::vector<MetricRow> acc = s->metrics(run.id, "eval/acc");
    QCOMPARE(acc.size(), size_t(2));
    QCOMPARE(acc[0].step, int64_t(8));
    QCOMPARE(acc[1].step, int64_t(16));
    // Four balanced classes: chance is 25 %.
    QVERIFY2(acc.back().value > 0.6, qPrintable(QString::number(acc.back().value)));

    for (const char* key : {"eval/acc", "eval/loss", "eval/best_acc", "train/loss", "time/step_ms",
                            "time/total_s", "steps"}) {
        QVERIFY2(record->finalMetrics.count(key) == 1, key);
        QVERIFY2(f.finalMetrics.count(key) == 1, key);
    }
    QCOMPARE(record->finalMetrics.at("eval/acc"), acc.back().value);
    QCOMPARE(record->finalMetrics.at("steps"), 16.0);
    QCOMPARE(record->finalMetrics.at("eval/best_acc"), std::max(acc[0].value, acc[1].value));
    QVERIFY(record->finalMetrics.at("time/step_ms") > 0.0);

    for (const char* file : {"epoch-1.safetensors", "epoch-2.safetensors", "last.safetensors"}) {
        const QString path = QString::fromStdString(runDir(run.id) + "/" + file);
        QVERIFY2(QFile::exists(path), qPrintable(path));
        QVERIFY(QFile(path).size() > 100'000);  // ResNet-20 holds ~270k float parameters
    }
    QCOMPARE(f.checkpoint, runDir(run.id) + "/last.safetensors");
}

void TestTrainer::lsqRunRecordsLayerStates() {
    RunSpec spec = tinySpec("lsq w4a4");
    spec.method.name = "lsq";
    spec.optim.epochs = 1;
    const RunResult run = runToEnd(spec);
    QCOMPARE(run.finished.status, std::string("finished"));

    auto s = store();
    const std::vector<LayerStateRow> rows = s->layerStates(run.id);
    // States before training (step 0), after the steps observed every 4 (the 1st and the 5th)
    // and after the epoch's evaluation (step 8).
    std::set<int64_t> steps;
    std::set<std::string> layers;
    for (const LayerStateRow& r : rows) {
        steps.insert(r.step);
        layers.insert(r.layer);
    }
    QCOMPARE(steps, (std::set<int64_t>{0, 1, 5, 8}));
    // ResNet-20: the stem, 9 blocks x 2 convs, 2 downsampling shortcuts, the classifier.
    QCOMPARE(layers.size(), size_t(22));
    for (const char* layer : {"conv1", "layer1.0.conv1", "layer2.0.downsample.0", "fc"}) {
        QVERIFY2(layers.count(layer) == 1, layer);
    }
    QCOMPARE(s->lastLayerStateStep(run.id), int64_t(8));

    for (const LayerStateRow& r : s->layerStates(run.id, 8)) {
        const QByteArray where = QByteArray::fromStdString(r.layer);
        // The default first/last policy keeps the stem and the classifier at 8 bits.
        const int bits = r.layer == "conv1" || r.layer == "fc" ? 8 : 4;
        QCOMPARE(r.weightBits, bits);
        QCOMPARE(r.actBits, bits);
        QVERIFY2(r.weightSteps.size() == 1, where);  // per-tensor step sizes
        QVERIFY2(r.weightSteps[0] > 0.0, where);
        QVERIFY2(r.actStep > 0.0, where);
        QVERIFY2(r.weightClipRate >= 0.0 && r.weightClipRate <= 1.0, where);
        QVERIFY2(r.actClipRate >= 0.0 && r.actClipRate <= 1.0, where);
        QVERIFY2(r.weightError > 0.0, where);  // 4 or 8 bits cannot hold float weights exactly
    }
    // The step sizes were learned: they moved from their data-driven start.
    const std::vector<LayerStateRow> at1 = s->layerStates(run.id, 1);
    const std::vector<LayerStateRow> at8 = s->layerStates(run.id, 8);
    QCOMPARE(at1.size(), at8.size());
    int moved = 0;
    for (std::size_t i = 0; i < at1.size(); ++i) {
        moved += at1[i].weightSteps != at8[i].weightSteps ? 1 : 0;
    }
    QVERIFY2(moved > 10, qPrintable(QString::number(moved)));
}

void TestTrainer::histogramStreamsTheRequestedLayer() {
    RunSpec spec = tinySpec("histogram");
    spec.method.name = "lsq";
    spec.optim.epochs = 1;
    Recorder recorder;
    Session session;
    Subscription sub = session.subscribe(&recorder);
    session.requestHistogram("layer1.0.conv1");  // chosen before the run: it stays chosen
    session.start(spec, options(0.01));
    QCOMPARE(session.wait().status, std::string("finished"));

    const std::vector<WeightHistogram> hs = recorder.events<WeightHistogram>();
    // At once (the fresh request at step 1), then every log_every = 2 steps of 8.
    QCOMPARE(hs.size(), size_t(5));
    for (const WeightHistogram& h : hs) {
        QCOMPARE(h.layer, std::string("layer1.0.conv1"));
        QCOMPARE(h.bits, 4);
        QCOMPARE(h.qn, 8.0);
        QCOMPARE(h.qp, 7.0);
        QVERIFY(h.stepSize > 0.0);
        // The range covers the whole grid, and every one of the 16x16x3x3 weights is counted.
        QVERIFY(h.lo <= -8.0 * h.stepSize && h.hi >= 7.0 * h.stepSize);
        QCOMPARE(std::accumulate(h.counts.begin(), h.counts.end(), 0.0), 2304.0);
    }
    QVERIFY(hs.front().step < hs.back().step);

    // An unknown layer yields nothing, and the run is unaffected.
    Recorder quiet;
    Session other;
    Subscription otherSub = other.subscribe(&quiet);
    other.requestHistogram("no.such.layer");
    other.start(spec, options(0.01));
    QCOMPARE(other.wait().status, std::string("finished"));
    QVERIFY(quiet.events<WeightHistogram>().empty());
}

void TestTrainer::sameSeedReproducesEveryNumber_data() {
    QTest::addColumn<QString>("method");
    QTest::addColumn<int>("threads");
    QTest::newRow("float, 1 thread") << QStringLiteral("fp") << 1;
    QTest::newRow("lsq W4A4, 2 threads") << QStringLiteral("lsq") << 2;
}

void TestTrainer::sameSeedReproducesEveryNumber() {
    QFETCH(QString, method);
    QFETCH(int, threads);
    RunSpec spec = tinySpec("determinism");
    spec.method.name = method.toStdString();
    spec.threads = threads;
    spec.optim.epochs = 1;
    spec.data.trainLimit = 128;  // 4 steps: two threads on a busy machine are slow
    spec.logEvery = 1;
    spec.stateEvery = 2;
    const RunResult a = runToEnd(spec);
    const RunResult b = runToEnd(spec);
    spec.seed += 1;
    const RunResult c = runToEnd(spec);
    for (const RunResult* r : {&a, &b, &c}) {
        QCOMPARE(r->finished.status, std::string("finished"));
    }

    auto s = store();
    const std::vector<MetricRow> ma = s->metrics(a.id);
    // loss, acc, lr (and for lsq the step-size gradient norm) each step; the evaluation
    QCOMPARE(ma.size(), size_t(4 * (spec.isQuantized() ? 4 : 3) + 3));
    QCOMPARE(seriesDifference(ma, s->metrics(b.id)), QString());
    QCOMPARE(layerStateDifference(s->layerStates(a.id), s->layerStates(b.id)), QString());
    QCOMPARE(withoutTimings(a.finished.finalMetrics), withoutTimings(b.finished.finalMetrics));

    // Another seed: another initialisation and batch order, so other losses.
    const std::vector<MetricRow> la = s->metrics(a.id, "train/loss");
    const std::vector<MetricRow> lc = s->metrics(c.id, "train/loss");
    QCOMPARE(la.size(), lc.size());
    int differing = 0;
    for (std::size_t i = 0; i < la.size(); ++i) {
        differing += la[i].value != lc[i].value ? 1 : 0;
    }
    QCOMPARE(differing, int(la.size()));
}

void TestTrainer::observerGetsThrottledBatches() {
    RunSpec spec = tinySpec("throttled");
    spec.data.batchSize = 4;  // 64 steps, each a few milliseconds
    spec.optim.epochs = 1;
    spec.logEvery = 1;
    Recorder recorder;
    QElapsedTimer timer;
    timer.start();
    const RunResult run = runToEnd(spec, &recorder, 0.5);
    const double seconds = double(timer.elapsed()) / 1000.0;
    QCOMPARE(run.finished.status, std::string("finished"));

    const std::vector<EventBatch> batches = recorder.batches();
    QVERIFY(!batches.empty());
    int finishedCount = 0;
    for (std::size_t i = 0; i < batches.size(); ++i) {
        QCOMPARE(batches[i].runId, run.id);
        QVERIFY(!batches[i].events.empty());
        int progress = 0;
        for (const Event& e : batches[i].events) {
            progress += std::holds_alternative<Progress>(e) ? 1 : 0;
            finishedCount += std::holds_alternative<Finished>(e) ? 1 : 0;
        }
        QVERIFY2(
            progress <= 1,
            qPrintable(QStringLiteral("batch %1 has %2 Progress events").arg(i).arg(progress)));
    }
    QCOMPARE(finishedCount, 1);
    const Event& last = batches.back().events.back();
    QVERIFY(std::holds_alternative<Finished>(last));
    QCOMPARE(std::get<Finished>(last).status, std::string("finished"));
    QCOMPARE(std::get<Finished>(last).runId, run.id);

    // Throttling drops nothing but progress: every step's metrics arrive, in order.
    const std::vector<StepMetrics> metrics = recorder.events<StepMetrics>();
    QCOMPARE(metrics.size(), size_t(64));
    for (std::size_t i = 0; i < metrics.size(); ++i) {
        QCOMPARE(metrics[i].step, int64_t(i + 1));
    }
    // At most one batch per 0.5 s, plus the flushes at phase changes and the end.
    const auto bound = std::size_t(seconds / 0.5) + 6;
    QVERIFY2(
        batches.size() <= bound && batches.size() < metrics.size() / 4,
        qPrintable(
            QStringLiteral("%1 batches for 64 steps in %2 s").arg(batches.size()).arg(seconds)));
}

void TestTrainer::pauseHoldsAndResumeFinishes() {
    RunSpec spec = tinySpec("paused");
    spec.data.batchSize = 8;  // 32 steps an epoch
    spec.logEvery = 1;
    Recorder recorder;
    Session session;
    const Subscription sub = session.subscribe(&recorder);
    const int64_t id = session.start(spec, options());
    QVERIFY(recorder.waitFor([](const Seen& s) { return s.step >= 3; }));
    session.pause();
    QVERIFY(session.isPaused());
    // The worker says so once it holds (the recorder has written the status just before).
    QVERIFY(recorder.waitFor([](const Seen& s) { return s.phase == "paused"; }));
    QCOMPARE(store()->run(id)->status, std::string(runStatus::kPaused));
    QVERIFY(session.isRunning());

    const int64_t heldAt = recorder.step();
    const std::vector<MetricRow> storedAtPause = store()->metrics(id, "train/loss");
    QVERIFY(heldAt < 64);
    QTest::qWait(300);  // nothing may happen while paused: give it time to (wrongly) go on
    QCOMPARE(recorder.step(), heldAt);
    QCOMPARE(store()->metrics(id, "train/loss").size(), storedAtPause.size());
    QCOMPARE(store()->run(id)->status, std::string(runStatus::kPaused));
    const std::vector<Progress> progress = recorder.events<Progress>();
    QVERIFY(!progress.empty());
    QCOMPARE(progress.back().phase, std::string("paused"));
    QCOMPARE(progress.back().step, heldAt);

    session.resume();
    QVERIFY(!session.isPaused());
    QVERIFY(recorder.waitFor([&](const Seen& s) { return s.step > heldAt; }));
    const Finished f = session.wait();
    QCOMPARE(f.status, std::string("finished"));
    const auto record = store()->run(id);
    QCOMPARE(record->status, std::string(runStatus::kFinished));
    QCOMPARE(record->finalMetrics.at("steps"), 64.0);
    QCOMPARE(store()->metrics(id, "train/loss").size(), size_t(64));
}

void TestTrainer::cancelEndsPromptly_data() {
    QTest::addColumn<bool>("pausedFirst");
    QTest::newRow("while training") << false;
    QTest::newRow("while paused") << true;
}

void TestTrainer::cancelEndsPromptly() {
    QFETCH(bool, pausedFirst);
    RunSpec spec = tinySpec("cancelled");
    spec.data.batchSize = 4;  // 64 steps an epoch, 192 in all: far from done when cancelled
    spec.optim.epochs = 3;
    spec.logEvery = 1;
    Recorder recorder;
    Session session;
    const Subscription sub = session.subscribe(&recorder);
    const int64_t id = session.start(spec, options());
    QVERIFY(recorder.waitFor([](const Seen& s) { return s.step >= 3; }));
    if (pausedFirst) {
        session.pause();
        QTRY_COMPARE(store()->run(id)->status, std::string(runStatus::kPaused));
    }
    QElapsedTimer timer;
    timer.start();
    session.cancel();
    const Finished f = session.wait();
    QVERIFY2(timer.elapsed() < 2000, qPrintable(QString::number(timer.elapsed())));
    QVERIFY(!session.isRunning());

    QCOMPARE(f.status, std::string("cancelled"));
    QCOMPARE(f.error, std::string());
    QVERIFY(f.finalMetrics.at("steps") < 192.0);
    QCOMPARE(f.finalMetrics.count("eval/acc"), size_t(0));  // no evaluation of a torn epoch
    const auto record = store()->run(id);
    QCOMPARE(record->status, std::string(runStatus::kCancelled));
    QVERIFY(!record->finishedAt.empty());
    QCOMPARE(record->finalMetrics.at("steps"), f.finalMetrics.at("steps"));
    QVERIFY(recorder.waitFor([](const Seen& s) { return s.finished; }, 0));
}

void TestTrainer::resumedRunMatchesUninterruptedRun_data() {
    QTest::addColumn<QString>("method");
    QTest::newRow("float") << QStringLiteral("fp");
    QTest::newRow("lsq W4A4") << QStringLiteral("lsq");
    QTest::newRow("squat W4A4") << QStringLiteral("squat");
    QTest::newRow("nt W4A4") << QStringLiteral("nt");
}

void TestTrainer::resumedRunMatchesUninterruptedRun() {
    QFETCH(QString, method);
    RunSpec spec = tinySpec("resume " + method.toStdString());
    spec.method.name = method.toStdString();
    spec.data.batchSize = 16;  // 16 steps an epoch
    spec.optim.epochs = 3;
    spec.logEvery = 1;
    spec.stateEvery = 4;
    const RunResult a = runToEnd(spec);
    QCOMPARE(a.finished.status, std::string("finished"));

    int64_t b = 0;
    {
        Recorder recorder;
        Session session;
        const Subscription sub = session.subscribe(&recorder);
        b = session.start(spec, options(0.0));
        // Cancel once epoch 2 has recorded a few steps: those rows lie past the checkpoint.
        QVERIFY(recorder.waitFor([](const Seen& s) { return s.evalEpoch >= 1 && s.step >= 19; }));
        session.cancel();
        const Finished f = session.wait();
        QCOMPARE(f.status, std::string("cancelled"));
        QVERIFY2(f.finalMetrics.at("steps") < 32.0,
                 qPrintable(QString::number(f.finalMetrics.at("steps"))));
    }
    QCOMPARE(store()->run(b)->status, std::string(runStatus::kCancelled));
    QVERIFY(QFile::exists(QString::fromStdString(runDir(b) + "/epoch-1.safetensors")));
    QVERIFY(!QFile::exists(QString::fromStdString(runDir(b) + "/epoch-2.safetensors")));

    Recorder resumed;
    Finished f;
    {
        Session session;
        const Subscription sub = session.subscribe(&resumed);
        session.resumeRun(b, options());
        f = session.wait();
    }
    QCOMPARE(f.status, std::string("finished"));
    QCOMPARE(f.runId, b);
    QVERIFY(contains(resumed.logTexts(), "resuming after epoch 1 (step 16)"));
    QCOMPARE(resumed.events<StepMetrics>().front().step, int64_t(17));

    auto s = store();
    QCOMPARE(s->run(b)->status, std::string(runStatus::kFinished));
    QCOMPARE(seriesDifference(s->metrics(a.id, "eval/acc"), s->metrics(b, "eval/acc")), QString());
    QCOMPARE(seriesDifference(s->metrics(a.id), s->metrics(b)), QString());
    QCOMPARE(withoutTimings(s->run(b)->finalMetrics), withoutTimings(a.finished.finalMetrics));
    // One row per (step, key): 3 keys a step (loss, accuracy, lr) plus the method's own, 3 an
    // evaluation; nothing left from the torn epoch.
    const std::map<std::string, std::size_t> methodKeys{
        {"fp", 0}, {"lsq", 1}, {"squat", 6}, {"nt", 2}};
    QCOMPARE(s->metrics(b).size(), size_t(48 * (3 + methodKeys.at(spec.method.name)) + 3 * 3));
    QVERIFY(QFile::exists(QString::fromStdString(runDir(b) + "/epoch-3.safetensors")));

    // Per-layer states: equal everywhere but at the resume step (checked on its own below).
    auto awayFrom = [](std::vector<LayerStateRow> rows, int64_t step) {
        rows.erase(std::remove_if(rows.begin(), rows.end(),
                                  [&](const LayerStateRow& r) { return r.step == step; }),
                   rows.end());
        return rows;
    };
    const std::vector<LayerStateRow> statesA = s->layerStates(a.id);
    const std::vector<LayerStateRow> statesB = s->layerStates(b);
    QCOMPARE(layerStateDifference(awayFrom(statesA, 16), awayFrom(statesB, 16)), QString());
    QCOMPARE(layerStateDifference(statesA, statesB), QString());
}

void TestTrainer::resumeDropsRowsPastTheCheckpoint() {
    RunSpec spec = tinySpec("resume twice");
    spec.data.batchSize = 16;  // 16 steps an epoch
    spec.optim.epochs = 3;
    spec.logEvery = 1;
    int64_t id = 0;
    {
        Recorder recorder;
        Session session;
        const Subscription sub = session.subscribe(&recorder);
        id = session.start(spec, options(0.0));
        QVERIFY(recorder.waitFor([](const Seen& s) { return s.evalEpoch >= 1 && s.step >= 19; }));
        session.cancel();
        QCOMPARE(session.wait().status, std::string("cancelled"));
    }
    auto pastCheckpoint = [&] {
        int64_t last = 0;
        for (const MetricRow& row : store()->metrics(id)) {
            last = std::max(last, row.step);
        }
        return last;
    };
    QVERIFY2(pastCheckpoint() >= 19, qPrintable(QString::number(pastCheckpoint())));

    // Resumed, then cancelled again before its first step: the history must end at the
    // checkpoint (step 16), not keep the torn epoch's rows from the first attempt.
    Recorder recorder;
    Session session;
    const Subscription sub = session.subscribe(&recorder);
    session.resumeRun(id, options());
    session.cancel();
    const Finished f = session.wait();
    QCOMPARE(f.status, std::string("cancelled"));
    QVERIFY(contains(recorder.logTexts(), "resuming after epoch 1 (step 16)"));
    QCOMPARE(f.finalMetrics.at("steps"), 16.0);
    QVERIFY(recorder.events<StepMetrics>().empty());
    QCOMPARE(pastCheckpoint(), int64_t(16));
}

void TestTrainer::resumeRunRefuses_data() {
    QTest::addColumn<QString>("what");
    QTest::newRow("a finished run") << QStringLiteral("finished");
    QTest::newRow("a run with no checkpoint") << QStringLiteral("no checkpoint");
    QTest::newRow("an unknown run") << QStringLiteral("unknown");
}

void TestTrainer::resumeRunRefuses() {
    QFETCH(QString, what);
    int64_t id = 0;
    std::string expected;
    if (what == QLatin1String("finished")) {
        id = floatRun().id;
        expected = "run " + std::to_string(id) + " has already finished";
    } else if (what == QLatin1String("no checkpoint")) {
        RunSpec spec = tinySpec("no checkpoint");
        spec.data.path = m_data + "/missing";
        id = runToEnd(spec).id;
        QCOMPARE(store()->run(id)->status, std::string(runStatus::kFailed));
        expected = "run " + std::to_string(id) +
                   " has no checkpoint to resume from (it stopped before its first epoch ended); "
                   "start it again instead";
    } else {
        id = 9999;
        expected = "no run with id 9999 in " + m_db;
    }
    Session session;
    std::string error = "no exception";
    try {
        session.resumeRun(id, options());
    } catch (const std::invalid_argument& e) {
        error = e.what();
    }
    QCOMPARE(error, expected);
    QVERIFY(!session.isRunning());
}

void TestTrainer::warmStartLoadsFloatCheckpoint() {
    const std::string checkpoint = floatRun().finished.checkpoint;
    QVERIFY(!checkpoint.empty());
    QVERIFY2(m_floatAcc > 0.6, qPrintable(QString::number(m_floatAcc)));

    // A tiny learning rate: the quantized model stays next to the float one it started from.
    RunSpec spec = tinySpec("warm lsq");
    spec.method.name = "lsq";
    spec.quant.weightBits = 8;
    spec.quant.actBits = 8;
    spec.optim.epochs = 1;
    spec.optim.lr = 1e-4;
    spec.initCheckpoint = checkpoint;
    Recorder warm;
    const RunResult run = runToEnd(spec, &warm);
    QCOMPARE(run.finished.status, std::string("finished"));
    QVERIFY(contains(warm.logTexts(), "warm start from " + checkpoint));
    const std::vector<EpochEval> evals = warm.events<EpochEval>();
    QCOMPARE(evals.size(), size_t(1));
    QVERIFY2(evals[0].accuracy >= m_floatAcc - 0.1,
             qPrintable(QStringLiteral("W8A8 from float: %1, float: %2")
                            .arg(evals[0].accuracy)
                            .arg(m_floatAcc)));

    // The same run from random weights is nowhere near: the warm start is what made it good.
    spec.initCheckpoint.clear();
    Recorder cold;
    QCOMPARE(runToEnd(spec, &cold).finished.status, std::string("finished"));
    QVERIFY(!contains(cold.logTexts(), "warm start from " + checkpoint));
    const std::vector<EpochEval> coldEvals = cold.events<EpochEval>();
    QCOMPARE(coldEvals.size(), size_t(1));
    QVERIFY2(
        coldEvals[0].accuracy < evals[0].accuracy - 0.2,
        qPrintable(
            QStringLiteral("cold %1, warm %2").arg(coldEvals[0].accuracy).arg(evals[0].accuracy)));
}

void TestTrainer::badInitCheckpointFailsTheRun_data() {
    QTest::addColumn<QString>("kind");
    QTest::addColumn<QString>("arch");
    QTest::addColumn<int>("numClasses");
    QTest::addColumn<QString>("expected");  // a pattern for the whole error; %1 = the path
    QTest::newRow("truncated file")
        << QStringLiteral("truncated") << QStringLiteral("resnet20") << 0
        << QStringLiteral(
               "cannot load checkpoint: %1: header length \\d+ is past the end of the "
               "4000-byte file");
    QTest::newRow("random bytes")
        << QStringLiteral("random") << QStringLiteral("resnet20") << 0
        << QStringLiteral(
               "cannot load checkpoint: %1: header length \\d+ exceeds the 100000000-byte limit");
    QTest::newRow("empty file") << QStringLiteral("empty") << QStringLiteral("resnet20") << 0
                                << QStringLiteral(
                                       "cannot load checkpoint: %1: file is 0 bytes, too short "
                                       "for the 8-byte header length");
    QTest::newRow("missing file")
        << QStringLiteral("missing") << QStringLiteral("resnet20") << 0
        << QStringLiteral("cannot load checkpoint: %1: cannot open: No such file or directory");
    QTest::newRow("a folder") << QStringLiteral("folder") << QStringLiteral("resnet20") << 0
                              << QStringLiteral("cannot load checkpoint: %1: .+");
    QTest::newRow("resnet20 checkpoint for a resnet32 run")
        << QStringLiteral("float") << QStringLiteral("resnet32") << 0
        << QStringLiteral(
               "%1: tensor 'layer1\\.3\\.conv1\\.weight' is missing \\(is this a checkpoint of "
               "the same architecture\\?\\)");
    QTest::newRow("resnet32 checkpoint for a resnet20 run")
        << QStringLiteral("resnet32") << QStringLiteral("resnet20") << 0
        << QStringLiteral("%1: tensor 'layer1\\.3\\..+");
    QTest::newRow("classifier of another shape")
        << QStringLiteral("float") << QStringLiteral("resnet20") << 4
        << QStringLiteral(
               "%1: tensor 'fc\\.weight' has shape \\[10, 64\\] but the model expects \\[4, 64\\]");
}

void TestTrainer::badInitCheckpointFailsTheRun() {
    QFETCH(QString, kind);
    QFETCH(QString, arch);
    QFETCH(int, numClasses);
    QFETCH(QString, expected);
    const std::string floatCheckpoint = floatRun().finished.checkpoint;
    std::string path = m_dir.filePath(QStringLiteral("bad-") + kind).toStdString();
    if (kind == QLatin1String("truncated")) {
        writeTruncatedCopy(floatCheckpoint, path, 4000);
    } else if (kind == QLatin1String("random")) {
        qs::test::writeBytes(path, randomBytes(4096, 5));
    } else if (kind == QLatin1String("empty")) {
        qs::test::writeBytes(path, {});
    } else if (kind == QLatin1String("folder")) {
        QVERIFY(QDir().mkpath(QString::fromStdString(path)));
    } else if (kind == QLatin1String("float")) {
        path = floatCheckpoint;
    } else if (kind == QLatin1String("resnet32")) {
        RunSpec other = tinySpec("resnet32 donor");
        other.model.arch = "resnet32";
        other.optim.epochs = 1;
        other.data.trainLimit = 32;
        other.data.testLimit = 32;
        const RunResult donor = runToEnd(other);
        QCOMPARE(donor.finished.status, std::string("finished"));
        path = donor.finished.checkpoint;
    }
    RunSpec spec = tinySpec("bad init " + kind.toStdString());
    spec.method.name = "lsq";
    spec.model.arch = arch.toStdString();
    spec.model.numClasses = numClasses;
    spec.optim.epochs = 1;
    spec.initCheckpoint = path;
    Recorder recorder;
    const RunResult run = runToEnd(spec, &recorder);

    const QRegularExpression want(QStringLiteral("^%1$").arg(
        expected.arg(QRegularExpression::escape(QString::fromStdString(path)))));
    const QString error = QString::fromStdString(run.finished.error);
    QVERIFY2(
        want.match(error).hasMatch(),
        qPrintable(QStringLiteral("status %1, error \"%2\"\ndoes not match %3")
                       .arg(QString::fromStdString(run.finished.status), error, want.pattern())));
    QCOMPARE(run.finished.status, std::string("failed"));
    const auto record = store()->run(run.id);
    QCOMPARE(record->status, std::string(runStatus::kFailed));
    QCOMPARE(record->error, run.finished.error);
    QVERIFY(store()->metrics(run.id).empty());
    QVERIFY(!QFile::exists(QString::fromStdString(runDir(run.id) + "/last.safetensors")));
    const std::vector<LogLine> logs = recorder.events<LogLine>();
    QVERIFY(!logs.empty());
    QCOMPARE(logs.back().level, LogLevel::Error);
    QCOMPARE(logs.back().text, run.finished.error);
}

void TestTrainer::badDataFailsTheRun_data() {
    QTest::addColumn<QString>("damage");
    QTest::addColumn<QString>("expected");  // %1 = the dataset folder
    QTest::newRow("missing folder")
        << QStringLiteral("missing")
        << QStringLiteral(
               "folder %1: missing train-images-idx3-ubyte (or train-images-idx3-ubyte.gz)");
    QTest::newRow("missing test labels")
        << QStringLiteral("no test labels")
        << QStringLiteral(
               "folder %1: missing t10k-labels-idx1-ubyte (or t10k-labels-idx1-ubyte.gz)");
    QTest::newRow("truncated training images")
        << QStringLiteral("truncated")
        << QStringLiteral(
               "%1/train-images-idx3-ubyte: header says 256 images of 12x12 but the file holds "
               "200 (28800 of 36864 data bytes)");
    QTest::newRow("truncated gzip test images")
        << QStringLiteral("truncated gzip")
        << QStringLiteral("%1/t10k-images-idx3-ubyte.gz: gzip stream is truncated");
    QTest::newRow("label out of range")
        << QStringLiteral("bad label")
        << QStringLiteral(
               "%1/train-labels-idx1-ubyte: label 10 at index 5 is out of range [0, 10)");
}

void TestTrainer::badDataFailsTheRun() {
    QFETCH(QString, damage);
    QFETCH(QString, expected);
    const std::string dir = m_dir.filePath(QStringLiteral("data-") + damage).toStdString();
    if (damage != QLatin1String("missing")) {
        QVERIFY(QDir().mkpath(QString::fromStdString(dir)));
        qs::test::TinyDatasetOptions options;
        options.gzip = damage == QLatin1String("truncated gzip");
        qs::test::writeTinyDataset(dir, options);
    }
    if (damage == QLatin1String("no test labels")) {
        QVERIFY(QFile::remove(QString::fromStdString(dir + "/t10k-labels-idx1-ubyte")));
    } else if (damage == QLatin1String("truncated")) {
        const std::string file = dir + "/train-images-idx3-ubyte";
        writeTruncatedCopy(file, file, 16 + 200 * 144);
    } else if (damage == QLatin1String("truncated gzip")) {
        const std::string file = dir + "/t10k-images-idx3-ubyte.gz";
        writeTruncatedCopy(file, file, qs::test::readBytes(file).size() / 2);
    } else if (damage == QLatin1String("bad label")) {
        const std::string file = dir + "/train-labels-idx1-ubyte";
        std::vector<uint8_t> bytes = qs::test::readBytes(file);
        bytes[8 + 5] = 10;
        qs::test::writeBytes(file, bytes);
    }
    RunSpec spec = tinySpec("bad data " + damage.toStdString());
    spec.data.path = dir;
    const RunResult run = runToEnd(spec);

    const std::string want = expected.arg(QString::fromStdString(dir)).toStdString();
    QCOMPARE(run.finished.status, std::string("failed"));
    QCOMPARE(run.finished.error, want);
    const auto record = store()->run(run.id);
    QCOMPARE(record->status, std::string(runStatus::kFailed));
    QCOMPARE(record->error, want);
    QVERIFY(store()->metrics(run.id).empty());
    QVERIFY(!QFile::exists(QString::fromStdString(runDir(run.id))));
}

void TestTrainer::methodsRecordTheirState_data() {
    QTest::addColumn<QString>("method");
    QTest::addColumn<QStringList>("sets");
    QTest::addColumn<QStringList>("keys");  ///< the method keys every logged step must carry
    const QStringList squatKeys{"quant/step_grad_norm", "squat/rho",
                                "squat/grad_norm",      "squat/perturb_norm",
                                "squat/perturbed_loss", "squat/loss_gap"};
    QTest::newRow("lsq") << "lsq" << QStringList{} << QStringList{"quant/step_grad_norm"};
    QTest::newRow("squat per-step") << "squat" << QStringList{} << squatKeys;
    QTest::newRow("squat quantized site, ASAM")
        << "squat"
        << QStringList{"method.squat.site=quantized", "method.squat.asam=true",
                       "method.squat.rho=0.5"}
        << squatKeys;
    QTest::newRow("squat alternate 2:1")
        << "squat" << QStringList{"method.squat.schedule=alternate", "method.squat.k=2"}
        << squatKeys;
    QTest::newRow("squat joint") << "squat" << QStringList{"method.squat.joint=true"} << squatKeys;
    QTest::newRow("squat rho warm-up")
        << "squat" << QStringList{"method.squat.rho_warmup_epochs=1"} << squatKeys;
    QTest::newRow("nt") << "nt" << QStringList{}
                        << QStringList{"quant/step_grad_norm", "nt/lambda"};
    QTest::newRow("nt normal, s/2, learnable g")
        << "nt"
        << QStringList{"method.nt.distribution=normal", "method.nt.amplitude=half-step",
                       "method.nt.learn_grad_scale=true", "method.nt.activations=false"}
        << QStringList{"quant/step_grad_norm", "nt/lambda"};
    QTest::newRow("lsq distilled")
        << "lsq" << QStringList{"method.distill.enabled=true", "method.distill.alpha=0.7"}
        << QStringList{"quant/step_grad_norm", "distill/soft_loss"};
}

void TestTrainer::methodsRecordTheirState() {
    QFETCH(QString, method);
    QFETCH(QStringList, sets);
    QFETCH(QStringList, keys);
    const std::string checkpoint = floatRun().finished.checkpoint;
    RunSpec spec = tinySpec("method " + std::string(QTest::currentDataTag()));
    spec.method.name = method.toStdString();
    spec.initCheckpoint = checkpoint;
    spec.optim.lr = 0.01;
    spec.optim.epochs = 2;
    std::vector<std::string> assignments;
    for (const QString& a : sets) {
        assignments.push_back(a.toStdString());
    }
    spec = applyOverrides(spec, assignments);
    Recorder recorder;
    const RunResult run = runToEnd(spec, &recorder);
    QVERIFY2(run.finished.status == "finished", run.finished.error.c_str());

    auto s = store();
    const std::vector<MetricRow> loss = s->metrics(run.id, "train/loss");
    QVERIFY(loss.size() >= 4);
    std::set<std::string> present;
    for (const MetricRow& r : s->metrics(run.id)) {
        present.insert(r.key);
    }
    for (const QString& key : keys) {
        // Every logged step carries the key, with a finite value.
        const std::vector<MetricRow> rows = s->metrics(run.id, key.toStdString());
        QVERIFY2(rows.size() == loss.size(), qPrintable(key));
        for (const MetricRow& r : rows) {
            QVERIFY2(std::isfinite(r.value), qPrintable(key));
            // Norms, rho, lambda and losses are not negative; only the loss gap may be.
            QVERIFY2(r.value >= 0.0 || key == QLatin1String("squat/loss_gap"), qPrintable(key));
        }
        present.erase(key.toStdString());
    }
    for (const char* plain : {"train/loss", "train/acc", "lr", "eval/loss", "eval/acc", "epoch"}) {
        present.erase(plain);
    }
    QVERIFY2(present.empty(), present.empty() ? "" : present.begin()->c_str());

    const double rho = spec.method.squat.rho;
    if (method == QLatin1String("squat") && !spec.method.squat.asam && !spec.method.squat.joint &&
        spec.method.squat.rhoWarmupEpochs == 0.0) {
        // Plain SAM: ||e|| is rho exactly (up to float rounding), and the perturbed loss is
        // above the clean one on average.
        for (const MetricRow& r : s->metrics(run.id, "squat/perturb_norm")) {
            QVERIFY2(std::abs(r.value - rho) < 1e-4 * rho, qPrintable(QString::number(r.value)));
        }
        double gap = 0.0;
        for (const MetricRow& r : s->metrics(run.id, "squat/loss_gap")) {
            gap += r.value;
        }
        QVERIFY2(gap > 0.0, qPrintable(QString::number(gap)));
    }
    if (spec.method.squat.rhoWarmupEpochs > 0.0 && method == QLatin1String("squat")) {
        // rho ramps up over the first epoch, then stays.
        const std::vector<MetricRow> rhos = s->metrics(run.id, "squat/rho");
        QVERIFY(rhos.front().value < 0.5 * rho);
        QCOMPARE(rhos.back().value, rho);
    }
    if (method == QLatin1String("nt")) {
        // lambda_t falls from about lambda0 to below end_lambda (reached at 80% of the steps).
        const std::vector<MetricRow> lambdas = s->metrics(run.id, "nt/lambda");
        for (std::size_t i = 1; i < lambdas.size(); ++i) {
            QVERIFY(lambdas[i].value < lambdas[i - 1].value);
        }
        QVERIFY2(lambdas.front().value > 0.8, qPrintable(QString::number(lambdas.front().value)));
        QVERIFY2(lambdas.back().value < 0.02, qPrintable(QString::number(lambdas.back().value)));
    }
    // Quantized from a good float checkpoint, every method keeps a usable model.
    const double acc = run.finished.finalMetrics.at("eval/acc");
    QVERIFY2(acc > 0.5, qPrintable(QString::number(acc)));
}

void TestTrainer::ptqCalibratesWithoutTraining_data() {
    QTest::addColumn<QString>("calibration");
    QTest::newRow("minmax") << "minmax";
    QTest::newRow("percentile") << "percentile";
    QTest::newRow("mse") << "mse";
}

void TestTrainer::ptqCalibratesWithoutTraining() {
    QFETCH(QString, calibration);
    const std::string checkpoint = floatRun().finished.checkpoint;
    RunSpec spec = tinySpec("ptq " + calibration.toStdString());
    spec.method.name = "ptq";
    spec.method.ptq.calibration = calibration.toStdString();
    spec.method.ptq.batches = 2;
    spec.quant.weightBits = 8;
    spec.quant.actBits = 8;
    spec.initCheckpoint = checkpoint;
    Recorder recorder;
    const RunResult run = runToEnd(spec, &recorder);
    QVERIFY2(run.finished.status == "finished", run.finished.error.c_str());
    auto s = store();
    // No training: no step metrics, one evaluation at step 0.
    QVERIFY(s->metrics(run.id, "train/loss").empty());
    const std::vector<MetricRow> acc = s->metrics(run.id, "eval/acc");
    QCOMPARE(acc.size(), size_t(1));
    QCOMPARE(acc[0].step, int64_t(0));
    // At 8 bits calibration alone keeps the float model's accuracy.
    QVERIFY2(acc[0].value > m_floatAcc - 0.05,
             qPrintable(QStringLiteral("%1 vs float %2").arg(acc[0].value).arg(m_floatAcc)));
    // Every quantizer was calibrated: no step size is left at its initial 1.
    const std::vector<LayerStateRow> states = s->layerStates(run.id, 0);
    QVERIFY(!states.empty());
    for (const LayerStateRow& r : states) {
        QVERIFY(r.weightBits == 8 && r.actBits == 8);
        QVERIFY2(r.actStep > 0.0 && r.actStep != 1.0, r.layer.c_str());
        for (double w : r.weightSteps) {
            QVERIFY2(w > 0.0 && w < 0.5, r.layer.c_str());
        }
    }
    QVERIFY(QFile::exists(QString::fromStdString(runDir(run.id) + "/last.safetensors")));
    QVERIFY(contains(recorder.logTexts(), "warm start from " + checkpoint));
}

void TestTrainer::runReferencesResolveToCheckpoints() {
    const RunResult& fp = floatRun();
    RunSpec spec = tinySpec("by reference");
    spec.method.name = "ptq";
    spec.method.ptq.batches = 1;
    spec.initCheckpoint = "run:float";
    const RunResult run = runToEnd(spec);
    QVERIFY2(run.finished.status == "finished", run.finished.error.c_str());
    // The recorded spec names the file the run really started from.
    const RunSpec recorded = RunSpec::fromJson(store()->run(run.id)->specJson);
    QCOMPARE(recorded.initCheckpoint, fp.finished.checkpoint);

    spec.initCheckpoint = "run:no such run";
    Session session;
    try {
        session.start(spec, options());
        QFAIL("a reference to a missing run was accepted");
    } catch (const SpecError& e) {
        QCOMPARE(e.field(), std::string("init_checkpoint"));
        QVERIFY2(
            std::string(e.what()).find("no finished run named 'no such run'") != std::string::npos,
            e.what());
    }
    SessionOptions noStore = options();
    noStore.dbPath.clear();
    spec.initCheckpoint = "run:float";
    QVERIFY_THROWS_EXCEPTION(SpecError, session.start(spec, noStore));
}

void TestTrainer::sharpnessOfStoredCheckpoints() {
    const RunResult& fp = floatRun();
    qs::analysis::SharpnessOptions o;
    o.samples = 64;
    o.batchSize = 32;
    o.threads = 1;
    o.dataPath = m_data;
    std::vector<std::string> phases;
    const auto floatReport = qs::analysis::measureSharpness(
        fp.finished.checkpoint, o, [&](const std::string& phase, double) {
            if (phases.empty() || phases.back() != phase) {
                phases.push_back(phase);
            }
        });
    QCOMPARE(floatReport.method, std::string("fp"));
    QCOMPARE(floatReport.step, int64_t(fp.finished.finalMetrics.at("steps")));
    QCOMPARE(floatReport.figures.size(), size_t(2));
    QCOMPARE(phases, (std::vector<std::string>{"rho-ball, float", "epsilon, float"}));
    for (const auto& f : floatReport.figures) {
        QCOMPARE(f.mode, std::string("float"));
        QCOMPARE(f.samples, int64_t(64));
        QVERIFY(f.value >= 0.0);
        QVERIFY(f.perturbedLoss >= f.baseLoss);
    }
    // Deterministic: the same options give the same figures.
    const auto again = qs::analysis::measureSharpness(fp.finished.checkpoint, o);
    QCOMPARE(again.figures[0].value, floatReport.figures[0].value);
    // A larger ball is at least as sharp.
    o.rho = 0.5;
    const auto wide = qs::analysis::measureSharpness(fp.finished.checkpoint, o);
    QVERIFY(wide.figures[0].value >= floatReport.figures[0].value);
    o.rho = 0.05;

    // A quantized run: both modes, agreeing on the loss at e = 0; recorded in the store.
    RunSpec spec = tinySpec("sharp lsq");
    spec.method.name = "lsq";
    spec.optim.epochs = 1;
    spec.optim.lr = 0.01;
    spec.initCheckpoint = fp.finished.checkpoint;
    const RunResult q = runToEnd(spec);
    QCOMPARE(q.finished.status, std::string("finished"));
    auto s = store();
    const std::string ck = qs::analysis::runCheckpoint(*s, q.id);
    QCOMPARE(ck, q.finished.checkpoint);
    o.measures = {"rho-ball"};
    const auto qReport = qs::analysis::measureSharpness(ck, o);
    QCOMPARE(qReport.figures.size(), size_t(2));
    QCOMPARE(qReport.figures[0].mode, std::string("dequantized"));
    QCOMPARE(qReport.figures[1].mode, std::string("quantize-after"));
    QVERIFY(std::abs(qReport.figures[0].baseLoss - qReport.figures[1].baseLoss) < 1e-5);
    qs::analysis::recordSharpness(*s, q.id, qReport);
    const auto rows = s->sharpness(q.id);
    QCOMPARE(rows.size(), size_t(2));
    QCOMPARE(rows[1].mode, std::string("quantize-after"));
    QCOMPARE(rows[1].value, qReport.figures[1].value);
    QCOMPARE(rows[1].checkpoint, ck);
    const auto record = s->run(q.id);
    QCOMPARE(record->finalMetrics.at("sharpness/rho-ball/dequantized"), qReport.figures[0].value);
    QVERIFY(record->finalMetrics.count("eval/acc"));  // earlier final metrics are kept
}

void TestTrainer::sharpnessRefusesBadInput() {
    const std::string checkpoint = floatRun().finished.checkpoint;
    qs::analysis::SharpnessOptions o;
    o.samples = 32;
    o.threads = 1;
    o.dataPath = m_data;
    const std::string cut = m_dir.filePath(QStringLiteral("cut.safetensors")).toStdString();
    writeTruncatedCopy(checkpoint, cut, 100);
    try {
        qs::analysis::measureSharpness(cut, o);
        QFAIL("a truncated checkpoint was accepted");
    } catch (const std::runtime_error& e) {
        QVERIFY2(std::string(e.what()).find(cut) != std::string::npos, e.what());
    }
    o.modes = {"sideways"};
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, qs::analysis::measureSharpness(checkpoint, o));
    o.modes.clear();
    std::atomic<bool> cancel{true};
    QVERIFY_THROWS_EXCEPTION(qs::analysis::AnalysisCancelled,
                             qs::analysis::measureSharpness(checkpoint, o, {}, &cancel));
    // A run without a checkpoint has nothing to measure.
    auto s = store();
    const int64_t id = s->createRun("no checkpoint", tinySpec("x").toJson(), "{}");
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, qs::analysis::runCheckpoint(*s, id));
    s->setStatus(id, runStatus::kFailed, "test");
}

// A run store that fills up while a run trains (SQLite's real "full", from a page cap on the
// connection): the run stops instead of training on unrecorded, ends failed with the store's
// message, and what was recorded before stays readable.
void TestTrainer::storeThatFillsUpStopsTheRun() {
    const std::string db = m_dir.filePath(QStringLiteral("small.sqlite")).toStdString();
    RunStore::open(db).reset();  // the schema, checkpointed into the main file on close
    const int64_t pages = int64_t(QFileInfo(QString::fromStdString(db)).size() / 4096);
    QVERIFY(pages > 0);
    RunSpec spec = tinySpec("fills the store");
    spec.data.batchSize = 8;  // 32 steps an epoch
    spec.optim.epochs = 100;
    spec.logEvery = 1;
    SessionOptions o = options();
    o.dbPath = db;
    o.store.maxPageCount = pages + 24;  // room for a few hundred metric rows
    Session session;
    QElapsedTimer timer;
    timer.start();
    const int64_t id = session.start(spec, o);
    const Finished f = session.wait();
    QCOMPARE(f.status, std::string("failed"));
    QVERIFY2(f.error.find("the run could not be recorded") != std::string::npos, f.error.c_str());
    QVERIFY2(f.error.find("full") != std::string::npos, f.error.c_str());
    QVERIFY2(timer.elapsed() < 120000, qPrintable(QString::number(timer.elapsed())));
    // Stopped long before its 3,200 steps; what was written is there and readable.
    const auto s = RunStore::open(db);
    const std::vector<MetricRow> losses = s->metrics(id, "train/loss");
    QVERIFY(!losses.empty());
    QVERIFY2(losses.size() < 3200, qPrintable(QString::number(losses.size())));
    for (size_t i = 0; i < losses.size(); ++i) {
        QCOMPARE(losses[i].step, int64_t(i + 1));  // no hole: refused batches were not skipped
    }
}

QTEST_GUILESS_MAIN(TestTrainer)
#include "TestTrainer.moc"
