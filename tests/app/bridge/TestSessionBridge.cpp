// SessionBridge: engine events from a worker thread reach the GUI thread coalesced (bounded
// signal counts, >= 50 ms between flushes) without losing a metric point, a layer snapshot or a
// log line, and with the newest progress/histogram winning.
#include "app/bridge/SessionBridge.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QSignalSpy>
#include <QThread>
#include <QtTest>

#include <atomic>
#include <chrono>
#include <thread>

using namespace qs;

namespace {

session::LayerStates layerStates(int64_t step) {
    session::LayerStates s;
    s.step = step;
    for (int i = 0; i < 22; ++i) {
        session::LayerState l;
        l.layer = i == 0 ? "conv1" : i == 21 ? "fc" : "layer1." + std::to_string(i) + ".conv1";
        l.weightShape = {16, 16, 3, 3};
        l.paramCount = 2304;
        l.weightBits = 4;
        l.actBits = 4;
        l.weightSteps = {0.01 * double(step % 97 + 1)};
        l.actStep = 0.1 + double(i);
        l.weightError = 1e-4 * double(step);
        s.layers.push_back(l);
    }
    return s;
}

session::WeightHistogram histogram(int64_t step) {
    session::WeightHistogram h;
    h.step = step;
    h.layer = "layer1.0.conv1";
    h.lo = -0.5;
    h.hi = 0.5;
    h.counts.assign(80, double(step));
    h.bits = 4;
    h.stepSize = 0.05;
    h.qn = 8;
    h.qp = 7;
    return h;
}

session::Progress progress(int64_t step) {
    return session::Progress{
        "training", 1, 3, step, 10000, double(step) / 1000.0, double(10000 - step) / 1000.0};
}

}  // namespace

class TestSessionBridge : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { qs::app::registerViewMetaTypes(); }

    void burstIsCoalescedWithoutLoss() {
        constexpr int64_t kSteps = 10000;
        constexpr int64_t kRun = 7;
        app::SessionBridge bridge;
        QThread* const gui = QCoreApplication::instance()->thread();
        QVERIFY(bridge.thread() == gui);

        QElapsedTimer clock;
        clock.start();
        bool allOnGui = true;
        // Emission times per kind, in ns since `clock` started.
        QVector<qint64> metricTimes, layerTimes, histTimes, progressTimes, logTimes;
        QVector<ui::MetricPoint> points;
        qint64 metricsRunId = -1;
        QVector<ui::LayerSnapshot> snapshots;
        ui::WeightHistogram lastHistogram;
        ui::JobProgress lastProgress;
        QVector<ui::LogEntry> logs;
        QVector<ui::RunEnd> ends;
        bool endAfterData = true;

        auto stamp = [&](QVector<qint64>& times) {
            allOnGui = allOnGui && QThread::currentThread() == gui;
            times.append(clock.nsecsElapsed());
            endAfterData = endAfterData && ends.isEmpty();
        };
        connect(&bridge, &app::SessionBridge::metricsAppended, this,
                [&](qint64 runId, const QVector<ui::MetricPoint>& p) {
                    stamp(metricTimes);
                    metricsRunId = runId;
                    points += p;
                });
        connect(&bridge, &app::SessionBridge::layerStatesUpdated, this,
                [&](const QVector<ui::LayerSnapshot>& s) {
                    stamp(layerTimes);
                    snapshots += s;
                });
        connect(&bridge, &app::SessionBridge::histogramUpdated, this,
                [&](const ui::WeightHistogram& h) {
                    stamp(histTimes);
                    lastHistogram = h;
                });
        connect(&bridge, &app::SessionBridge::progressChanged, this, [&](const ui::JobProgress& p) {
            stamp(progressTimes);
            lastProgress = p;
        });
        connect(&bridge, &app::SessionBridge::logAppended, this,
                [&](const QVector<ui::LogEntry>& l) {
                    stamp(logTimes);
                    logs += l;
                });
        connect(&bridge, &app::SessionBridge::runFinished, this, [&](const ui::RunEnd& end) {
            allOnGui = allOnGui && QThread::currentThread() == gui;
            ends.append(end);
        });

        // 10,000 step metrics, each in its own batch (the worst case for the bridge), with
        // progress every step, a layer snapshot every 100 steps, a histogram every 250 and a log
        // line every 500; then the end. Paced over ~0.4 s (one batch every 40 us), so the burst
        // spans several flush intervals while the GUI thread is flushing.
        std::atomic<qint64> burstNs{0};
        int calls = 0;
        std::thread worker([&] {
            QElapsedTimer burst;
            burst.start();
            const auto begin = std::chrono::steady_clock::now();
            for (int64_t step = 1; step <= kSteps; ++step) {
                std::this_thread::sleep_until(begin + std::chrono::microseconds(40 * step));
                session::EventBatch batch;
                batch.runId = kRun;
                batch.events.emplace_back(
                    session::StepMetrics{step, 1, {{"train/loss", 1.0 / step}}});
                batch.events.emplace_back(progress(step));
                if (step % 100 == 0) {
                    batch.events.emplace_back(layerStates(step));
                }
                if (step % 250 == 0) {
                    batch.events.emplace_back(histogram(step));
                }
                if (step % 500 == 0) {
                    batch.events.emplace_back(
                        session::LogLine{session::LogLevel::Info, "step " + std::to_string(step)});
                }
                bridge.onEvents(batch);
                ++calls;
            }
            burstNs = burst.nsecsElapsed();
            session::EventBatch last;
            last.runId = kRun;
            last.events.emplace_back(
                session::Finished{kRun, "finished", "", {{"eval/acc", 0.5}}, ""});
            bridge.onEvents(last);
        });
        QTRY_VERIFY_WITH_TIMEOUT(!ends.isEmpty(), 20000);
        worker.join();
        QCoreApplication::processEvents();  // anything still queued must be empty by now
        QTest::qWait(2 * app::SessionBridge::kMinFlushIntervalMs);

        QVERIFY(allOnGui);
        QCOMPARE(calls, int(kSteps));

        // Nothing lost, nothing reordered.
        QCOMPARE(metricsRunId, kRun);
        QCOMPARE(points.size(), int(kSteps));
        for (int i = 0; i < points.size(); ++i) {
            QCOMPARE(points[i].step, qint64(i + 1));
            QCOMPARE(points[i].key, QStringLiteral("train/loss"));
            QCOMPARE(points[i].value, 1.0 / double(i + 1));
        }
        QCOMPARE(snapshots.size(), int(kSteps / 100));
        for (int i = 0; i < snapshots.size(); ++i) {
            QCOMPARE(snapshots[i].step, qint64((i + 1) * 100));
            QCOMPARE(snapshots[i].runId, kRun);
        }
        QCOMPARE(logs.size(), int(kSteps / 500));
        QCOMPARE(logs.last().text, QStringLiteral("step 10000"));
        QVERIFY(logs.last().time.isValid());

        // The newest progress, layer state and histogram win.
        QCOMPARE(lastProgress.runId, kRun);
        QCOMPARE(lastProgress.step, kSteps);
        QCOMPARE(lastProgress.phase, QStringLiteral("training"));
        QCOMPARE(lastProgress.totalSteps, kSteps);
        QCOMPARE(lastProgress.etaSeconds, 0.0);
        const session::LayerStates sentStates = layerStates(kSteps);
        const ui::LayerSnapshot& got = snapshots.last();
        QCOMPARE(got.layers.size(), int(sentStates.layers.size()));
        QCOMPARE(got.layers.first().layer, QStringLiteral("conv1"));
        QCOMPARE(got.layers.last().layer, QStringLiteral("fc"));
        QCOMPARE(got.layers[5].weightSteps,
                 QVector<double>(sentStates.layers[5].weightSteps.begin(),
                                 sentStates.layers[5].weightSteps.end()));
        QCOMPARE(got.layers[5].weightError, sentStates.layers[5].weightError);
        QCOMPARE(got.layers[5].weightShape, (QVector<qint64>{16, 16, 3, 3}));
        QCOMPARE(lastHistogram.step, kSteps);
        QCOMPARE(lastHistogram.runId, kRun);
        QCOMPARE(lastHistogram.layer, QStringLiteral("layer1.0.conv1"));
        QCOMPARE(lastHistogram.bits, 4);
        QCOMPARE(lastHistogram.stepSize, 0.05);
        QCOMPARE(lastHistogram.counts, QVector<double>(80, double(kSteps)));

        // The end comes once, after every data signal of its run.
        QCOMPARE(ends.size(), 1);
        QCOMPARE(ends.first().runId, kRun);
        QCOMPARE(ends.first().status, QStringLiteral("finished"));
        QCOMPARE(ends.first().finalMetrics.value(QStringLiteral("eval/acc")), 0.5);
        QVERIFY(endAfterData);

        // Bounded: flushes are >= 50 ms apart, so a burst of D ms yields at most D/50 + 2
        // signals of a kind (one may be under way as the burst starts, one after it ends).
        const qint64 burstMs = burstNs.load() / 1000000;
        const int bound = int(burstMs / app::SessionBridge::kMinFlushIntervalMs) + 2;
        qInfo(
            "burst of %d batches took %lld ms: %d metric, %d layer, %d histogram, %d progress, "
            "%d log signals (bound %d)",
            calls, burstMs, int(metricTimes.size()), int(layerTimes.size()), int(histTimes.size()),
            int(progressTimes.size()), int(logTimes.size()), bound);
        for (const QVector<qint64>* times :
             {&metricTimes, &layerTimes, &histTimes, &progressTimes, &logTimes}) {
            QVERIFY(!times->isEmpty());
            QVERIFY2(times->size() <= bound, qPrintable(QString::number(times->size())));
            QVERIFY(times->size() <= 100);  // never anywhere near one per batch
            for (int i = 1; i < times->size(); ++i) {
                const qint64 gapNs = (*times)[i] - (*times)[i - 1];
                QVERIFY2(
                    gapNs >= qint64(app::SessionBridge::kMinFlushIntervalMs) * 1000000 - 500000,
                    qPrintable(QStringLiteral("flushes %1 ms apart").arg(gapNs / 1e6)));
            }
        }
        // The flushes really were spaced while events kept coming (not one flush at the end).
        QVERIFY2(metricTimes.size() >= 3, qPrintable(QString::number(metricTimes.size())));
        if (burstMs < 450) {
            // A burst under half a second gives at most 10 signals of each kind.
            QVERIFY(metricTimes.size() <= 10);
            QVERIFY(progressTimes.size() <= 10);
        }
    }

    void runsDoNotMix() {
        // A run ends and the next one starts before the GUI thread has flushed: the first run's
        // data and end are delivered before anything of the second, each with its own id.
        app::SessionBridge bridge;
        QStringList order;
        connect(&bridge, &app::SessionBridge::metricsAppended, this,
                [&](qint64 runId, const QVector<ui::MetricPoint>& p) {
                    order << QStringLiteral("metrics %1 x%2").arg(runId).arg(p.size());
                });
        connect(&bridge, &app::SessionBridge::progressChanged, this, [&](const ui::JobProgress& p) {
            order << QStringLiteral("progress %1 step %2").arg(p.runId).arg(p.step);
        });
        connect(&bridge, &app::SessionBridge::runFinished, this, [&](const ui::RunEnd& end) {
            order << QStringLiteral("end %1 %2").arg(end.runId).arg(end.status);
        });
        bridge.onEvents(
            {1, {session::StepMetrics{10, 1, {{"lr", 0.1}, {"train/loss", 2.0}}}, progress(10)}});
        bridge.onEvents({1, {progress(20), session::Finished{1, "cancelled", "", {}, ""}}});
        bridge.onEvents({2, {session::StepMetrics{5, 1, {{"train/loss", 3.0}}}, progress(5)}});
        bridge.onEvents({2, {session::EpochEval{1, 8, 0.7, 0.25, {}}}});
        QTRY_COMPARE_WITH_TIMEOUT(order.size(), 5, 5000);
        QCOMPARE(order, (QStringList{"metrics 1 x2", "progress 1 step 20", "end 1 cancelled",
                                     "metrics 2 x4", "progress 2 step 5"}));
    }

    void epochEvalBecomesEvalPoints() {
        app::SessionBridge bridge;
        QSignalSpy spy(&bridge, &app::SessionBridge::metricsAppended);
        bridge.onEvents({3, {session::EpochEval{2, 16, 0.75, 0.625, {}}}});
        QTRY_COMPARE_WITH_TIMEOUT(spy.count(), 1, 5000);
        const auto points = spy.at(0).at(1).value<QVector<ui::MetricPoint>>();
        QCOMPARE(spy.at(0).at(0).toLongLong(), qint64(3));
        QCOMPARE(points.size(), 3);
        QCOMPARE(points[0].key, QStringLiteral("eval/loss"));
        QCOMPARE(points[0].value, 0.75);
        QCOMPARE(points[1].key, QStringLiteral("eval/acc"));
        QCOMPARE(points[1].value, 0.625);
        QCOMPARE(points[1].step, qint64(16));
        QCOMPARE(points[2].key, QStringLiteral("epoch"));
        QCOMPARE(points[2].value, 2.0);
    }

    void destroyedWithAFlushPending() {
        // Events queued for a bridge that is gone must be dropped, not delivered to freed memory.
        int received = 0;
        {
            app::SessionBridge bridge;
            connect(&bridge, &app::SessionBridge::progressChanged, this,
                    [&](const ui::JobProgress&) { ++received; });
            bridge.onEvents({1, {progress(1)}});
        }
        QTest::qWait(3 * app::SessionBridge::kMinFlushIntervalMs);
        QCOMPARE(received, 0);
    }
};

QTEST_GUILESS_MAIN(TestSessionBridge)
#include "TestSessionBridge.moc"
