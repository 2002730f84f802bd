// EngineBackend over a real Session and run store: specs validated and normalized by the
// engine, planned layers, missing paths, and real (tiny) runs streamed as signals, recorded,
// reloaded, cancelled, renamed and deleted. Store and checkpoints live in a temporary folder.
#include "app/bridge/EngineBackend.h"
#include "engine/session/RunSpec.h"
#include "support/TinyDataset.h"
#include "support/TinySpecJson.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QThread>
#include <QtTest>

#include <algorithm>
#include <cmath>

using namespace qs;

namespace {

/// Dotted paths of every leaf of a JSON object ("optim.lr", "quant.layers").
QStringList leafPaths(const QJsonObject& object, const QString& prefix = {}) {
    QStringList out;
    for (auto it = object.begin(); it != object.end(); ++it) {
        const QString path = prefix.isEmpty() ? it.key() : prefix + QLatin1Char('.') + it.key();
        if (it.value().isObject() && it.key() != QLatin1String("layers")) {
            out += leafPaths(it.value().toObject(), path);
        } else {
            out << path;
        }
    }
    out.sort();
    return out;
}

QJsonObject withField(QJsonObject spec, const QString& dotted, const QJsonValue& value) {
    const QStringList parts = dotted.split(QLatin1Char('.'));
    if (parts.size() == 1) {
        spec.insert(parts[0], value);
    } else {
        QJsonObject child = spec.value(parts[0]).toObject();
        child.insert(parts[1], value);
        spec.insert(parts[0], child);
    }
    return spec;
}

/// The engine's own verdict on a spec, for comparing with what the backend reports.
ui::SpecProblem engineVerdict(const QJsonObject& spec) {
    try {
        session::RunSpec::fromJson(QJsonDocument(spec).toJson().toStdString()).validate();
        return {};
    } catch (const session::SpecError& e) {
        return {QString::fromStdString(e.field()), QString::fromUtf8(e.what())};
    }
}

/// Sorts by (step, key), the store's order.
QVector<ui::MetricPoint> byStepAndKey(QVector<ui::MetricPoint> points) {
    std::stable_sort(points.begin(), points.end(),
                     [](const ui::MetricPoint& a, const ui::MetricPoint& b) {
                         return a.step != b.step ? a.step < b.step : a.key < b.key;
                     });
    return points;
}

int countKey(const QVector<ui::MetricPoint>& points, const QString& key) {
    return int(std::count_if(points.begin(), points.end(),
                             [&](const ui::MetricPoint& p) { return p.key == key; }));
}

}  // namespace

class TestEngineBackend : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();

    void validateReportsTheEnginesFieldAndMessage_data();
    void validateReportsTheEnginesFieldAndMessage();
    void validateAcceptsGoodSpecsAndPresets();
    void normalizedFillsEveryField();
    void plannedLayersOfResnet20();
    void missingPathsNamesTheField_data();
    void missingPathsNamesTheField();
    void versionsNameEveryLibrary();

    void runStreamsSignalsAndIsRecorded();
    void cancelledRunWithHistogramPauseAndRefusals();
    void renameAndDelete();
    void badSpecStartsNothing();
    void unreadableStoreGivesErrorsNotExceptions();
    void sharpnessIsMeasuredOffTheGuiThreadAndRecorded();
    void landscapeStreamsCancelsAndResumes();
    void trainingSnapshotsArriveAsLandscapes();
    void hessianFrontierAndAllocationSpec();

private:
    QJsonObject tinySpec(const QString& name, int epochs = 2) const;
    std::unique_ptr<app::EngineBackend> makeBackend() const {
        return std::make_unique<app::EngineBackend>(m_store, m_out);
    }

    QTemporaryDir m_tmp;
    QString m_data;
    QString m_case;
    QString m_store;
    QString m_out;
    int m_caseNo = 0;
};

void TestEngineBackend::initTestCase() {
    QVERIFY(m_tmp.isValid());
    m_data = m_tmp.filePath(QStringLiteral("tiny"));
    QVERIFY(QDir().mkpath(m_data));
    qs::test::writeTinyDataset(m_data.toStdString());
}

void TestEngineBackend::init() {
    // A fresh store and output folder per test function.
    m_case = m_tmp.filePath(QStringLiteral("case-%1").arg(++m_caseNo));
    QVERIFY(QDir().mkpath(m_case));
    m_store = m_case + QStringLiteral("/runs.sqlite");
    m_out = m_case + QStringLiteral("/out");
}

QJsonObject TestEngineBackend::tinySpec(const QString& name, int epochs) const {
    return qs::test::tinySpecJson(m_data, name, QStringLiteral("lsq"), epochs);
}

void TestEngineBackend::validateReportsTheEnginesFieldAndMessage_data() {
    QTest::addColumn<QString>("field");
    QTest::addColumn<QJsonValue>("value");
    QTest::addColumn<QString>("message");  // exact; empty: compare with the engine only
    QTest::newRow("negative learning rate")
        << QStringLiteral("optim.lr") << QJsonValue(-1)
        << QStringLiteral("optim.lr: must be in (0, 10] (got -1)");
    QTest::newRow("unknown field") << QStringLiteral("optim.learning_rate") << QJsonValue(0.1)
                                   << QStringLiteral("optim.learning_rate: unknown field");
    QTest::newRow("unknown architecture")
        << QStringLiteral("model.arch") << QJsonValue(QStringLiteral("vgg16")) << QString();
    QTest::newRow("nine bits") << QStringLiteral("quant.weight_bits") << QJsonValue(9) << QString();
    QTest::newRow("batch size of a string")
        << QStringLiteral("data.batch_size") << QJsonValue(QStringLiteral("big")) << QString();
}

void TestEngineBackend::validateReportsTheEnginesFieldAndMessage() {
    QFETCH(QString, field);
    QFETCH(QJsonValue, value);
    QFETCH(QString, message);
    const auto backend = makeBackend();
    const QJsonObject spec = withField(tinySpec(QStringLiteral("bad")), field, value);
    const ui::SpecProblem problem = backend->validate(spec);
    QVERIFY(!problem.ok());
    QCOMPARE(problem.field, field);
    QVERIFY2(problem.message.startsWith(field + QStringLiteral(": ")), qPrintable(problem.message));
    if (!message.isEmpty()) {
        QCOMPARE(problem.message, message);
    }
    const ui::SpecProblem engine = engineVerdict(spec);
    QCOMPARE(problem.field, engine.field);
    QCOMPARE(problem.message, engine.message);
    QVERIFY(backend->normalized(spec).isEmpty());
    QVERIFY(backend->plannedLayers(spec).isEmpty());
}

void TestEngineBackend::validateAcceptsGoodSpecsAndPresets() {
    const auto backend = makeBackend();
    const ui::SpecProblem problem = backend->validate(tinySpec(QStringLiteral("good")));
    QVERIFY2(problem.ok(), qPrintable(problem.message));
    QVERIFY(problem.field.isEmpty());
    const QVector<ui::PresetInfo> presets = backend->presets();
    QVERIFY(presets.size() >= 2);
    for (const ui::PresetInfo& preset : presets) {
        QVERIFY(!preset.description.isEmpty());
        const QJsonObject spec = backend->presetSpec(preset.name);
        QVERIFY2(!spec.isEmpty(), qPrintable(preset.name));
        QVERIFY2(backend->validate(spec).ok(), qPrintable(backend->validate(spec).message));
        QCOMPARE(backend->normalized(spec), spec);  // a preset's spec is already complete
    }
    QVERIFY(backend->presetSpec(QStringLiteral("no-such-preset")).isEmpty());
}

void TestEngineBackend::normalizedFillsEveryField() {
    const auto backend = makeBackend();
    const QJsonObject full =
        backend->normalized(QJsonObject{{"name", "sparse"}, {"optim", QJsonObject{{"lr", 0.025}}}});
    const QJsonObject reference =
        QJsonDocument::fromJson(QByteArray::fromStdString(session::RunSpec{}.toJson())).object();
    QVERIFY(!reference.isEmpty());
    QCOMPARE(leafPaths(full), leafPaths(reference));
    QVERIFY(leafPaths(full).contains(QStringLiteral("data.batch_size")));
    QCOMPARE(full.value("name").toString(), QStringLiteral("sparse"));
    QCOMPARE(full.value("optim").toObject().value("lr").toDouble(), 0.025);
    QCOMPARE(full.value("model").toObject().value("arch").toString(), QStringLiteral("resnet20"));
    QCOMPARE(full.value("version").toInt(), session::kRunSpecVersion);
    // Normalizing is idempotent.
    QCOMPARE(backend->normalized(full), full);
}

void TestEngineBackend::plannedLayersOfResnet20() {
    const auto backend = makeBackend();
    const QVector<ui::LayerRow> rows = backend->plannedLayers(tinySpec(QStringLiteral("plan")));
    QCOMPARE(rows.size(), 22);
    QCOMPARE(rows.first().layer, QStringLiteral("conv1"));
    QCOMPARE(rows.first().weightBits, 8);  // first and last layers: 8 bits by default
    QCOMPARE(rows.first().weightShape, (QVector<qint64>{16, 1, 3, 3}));  // MNIST: one channel
    QCOMPARE(rows.first().paramCount, qint64(16 * 9));
    QCOMPARE(rows[1].layer, QStringLiteral("layer1.0.conv1"));
    QCOMPARE(rows[1].weightBits, 4);
    QCOMPARE(rows[1].actBits, 4);
    QCOMPARE(rows.last().layer, QStringLiteral("fc"));
    QCOMPARE(rows.last().weightBits, 8);
    QCOMPARE(rows.last().weightShape, (QVector<qint64>{10, 64}));

    // The spec's per-layer overrides and method are the engine's to apply.
    QJsonObject fp = withField(tinySpec(QStringLiteral("fp")), QStringLiteral("method.name"),
                               QJsonValue(QStringLiteral("fp")));
    const QVector<ui::LayerRow> floatRows = backend->plannedLayers(fp);
    QCOMPARE(floatRows.size(), 22);
    QCOMPARE(floatRows[1].weightBits, 0);
    QJsonObject mixed = tinySpec(QStringLiteral("mixed"));
    mixed.insert(
        QStringLiteral("quant"),
        QJsonObject{{"layers", QJsonObject{{"layer1.0.conv1", QJsonObject{{"weight_bits", 2}}}}}});
    QCOMPARE(backend->plannedLayers(mixed)[1].weightBits, 2);
}

void TestEngineBackend::missingPathsNamesTheField_data() {
    QTest::addColumn<QString>("dataPath");    // "TINY": the tiny dataset
    QTest::addColumn<QString>("checkpoint");  // "FILE": an existing file
    QTest::addColumn<QStringList>("expected");
    QTest::newRow("all there") << "TINY"
                               << "" << QStringList{};
    QTest::newRow("missing dataset folder")
        << "/nonexistent/quantscape/data"
        << "" << QStringList{"data.path: /nonexistent/quantscape/data"};
    QTest::newRow("dataset path is a file") << "FILE"
                                            << "" << QStringList{"data.path: FILE"};
    QTest::newRow("missing checkpoint")
        << "TINY"
        << "/nonexistent/init.safetensors"
        << QStringList{"init_checkpoint: /nonexistent/init.safetensors"};
    QTest::newRow("existing checkpoint") << "TINY"
                                         << "FILE" << QStringList{};
    QTest::newRow("reference to a run that is not there")
        << "TINY"
        << "run:demo-float"
        << QStringList{
               "init_checkpoint: no finished run named 'demo-float' with a checkpoint in "
               "STORE (train it first, e.g. quantscape-cli train --preset demo-float)"};
    QTest::newRow("both missing") << "/nonexistent/d"
                                  << "/nonexistent/c.safetensors"
                                  << QStringList{"data.path: /nonexistent/d",
                                                 "init_checkpoint: /nonexistent/c.safetensors"};
}

void TestEngineBackend::missingPathsNamesTheField() {
    QFETCH(QString, dataPath);
    QFETCH(QString, checkpoint);
    QFETCH(QStringList, expected);
    const QString file = m_case + QStringLiteral("/init.safetensors");
    {
        QFile f(file);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("x");
    }
    auto resolve = [&](QString s) {
        return s.replace(QStringLiteral("TINY"), m_data).replace(QStringLiteral("FILE"), file);
    };
    QJsonObject spec = withField(tinySpec(QStringLiteral("paths")), QStringLiteral("data.path"),
                                 resolve(dataPath));
    if (!checkpoint.isEmpty()) {
        spec.insert(QStringLiteral("init_checkpoint"), resolve(checkpoint));
    }
    expected.replaceInStrings(QStringLiteral("FILE"), file);
    expected.replaceInStrings(QStringLiteral("STORE"), m_store);
    const auto backend = makeBackend();
    QCOMPARE(backend->missingPaths(spec), expected);
}

void TestEngineBackend::versionsNameEveryLibrary() {
    const auto backend = makeBackend();
    const QMap<QString, QString> v = backend->versions();
    QCOMPARE(v.keys(), (QStringList{"LibTorch", "Qt", "Quantscape", "SQLite"}));
    QCOMPARE(v.value("Qt"), QString::fromLatin1(qVersion()));
    QCOMPARE(v.value("Quantscape"), QStringLiteral("0.1.0"));
    QVERIFY2(v.value("SQLite").startsWith(QStringLiteral("3.")), qPrintable(v.value("SQLite")));
    QVERIFY2(
        QRegularExpression(QStringLiteral("^\\d+\\.\\d+")).match(v.value("LibTorch")).hasMatch(),
        qPrintable(v.value("LibTorch")));
}

void TestEngineBackend::runStreamsSignalsAndIsRecorded() {
    const auto backend = makeBackend();
    QSignalSpy started(backend.get(), &ui::RunBackend::runStarted);
    QSignalSpy finished(backend.get(), &ui::RunBackend::runFinished);
    QSignalSpy progress(backend.get(), &ui::RunBackend::progressChanged);
    QSignalSpy logs(backend.get(), &ui::RunBackend::logAppended);
    QVector<ui::MetricPoint> live;
    QVector<ui::LayerSnapshot> liveSnapshots;
    QStringList order;  // runFinished and runsChanged, in the order they came
    bool onGui = true;
    QThread* const gui = QThread::currentThread();
    connect(backend.get(), &ui::RunBackend::metricsAppended, this,
            [&](qint64, const QVector<ui::MetricPoint>& points) {
                onGui = onGui && QThread::currentThread() == gui;
                live += points;
            });
    connect(backend.get(), &ui::RunBackend::layerStatesUpdated, this,
            [&](const ui::LayerSnapshot& s) {
                onGui = onGui && QThread::currentThread() == gui;
                liveSnapshots.append(s);
            });
    connect(backend.get(), &ui::RunBackend::runFinished, this,
            [&](const ui::RunEnd&) { order << QStringLiteral("finished"); });
    connect(backend.get(), &ui::RunBackend::runsChanged, this,
            [&] { order << QStringLiteral("runsChanged"); });

    QString error;
    const qint64 id = backend->startRun(tinySpec(QStringLiteral("tiny")), &error);
    QVERIFY2(id > 0, qPrintable(error));
    QVERIFY(backend->isRunning());
    QCOMPARE(backend->currentRunId(), id);
    QCOMPARE(started.count(), 1);
    QCOMPARE(started.at(0).at(0).toLongLong(), id);
    const QJsonObject startedSpec = started.at(0).at(1).toJsonObject();
    QCOMPARE(startedSpec.value("name").toString(), QStringLiteral("tiny"));
    QVERIFY(startedSpec.value("data").toObject().contains(QStringLiteral("eval_batch_size")));
    QCOMPARE(order, QStringList{"runsChanged"});

    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 180000);
    const ui::RunEnd end = finished.at(0).at(0).value<ui::RunEnd>();
    QVERIFY2(end.status == QLatin1String("finished"), qPrintable(end.status + ": " + end.error));
    QCOMPARE(end.runId, id);
    QVERIFY(end.finalMetrics.contains(QStringLiteral("eval/acc")));
    QVERIFY(!backend->isRunning());
    QCOMPARE(order, (QStringList{"runsChanged", "finished", "runsChanged"}));
    QVERIFY(onGui);

    // What streamed live.
    QVERIFY(countKey(live, QStringLiteral("train/loss")) >= 8);  // 16 steps, logged every 2
    QCOMPARE(countKey(live, QStringLiteral("eval/acc")), 2);     // one per epoch
    QVERIFY(!liveSnapshots.isEmpty());
    QCOMPARE(liveSnapshots.last().layers.size(), 22);
    QCOMPARE(liveSnapshots.last().runId, id);
    QCOMPARE(liveSnapshots.last().layers.first().layer, QStringLiteral("conv1"));
    QCOMPARE(liveSnapshots.last().layers[1].weightBits, 4);
    QVERIFY(liveSnapshots.last().layers[1].weightSteps.first() > 0.0);
    QVERIFY(progress.count() >= 1);
    const ui::JobProgress lastProgress = progress.last().at(0).value<ui::JobProgress>();
    QCOMPARE(lastProgress.runId, id);
    QCOMPARE(lastProgress.totalEpochs, 2);
    QVERIFY(lastProgress.step > 0);
    // Everything arrived in far fewer signals than the engine had events.
    QVERIFY(progress.count() < 100);
    Q_UNUSED(logs);

    // The store has it, finished, with the same numbers the GUI saw.
    const QVector<ui::RunSummary> runs = backend->listRuns();
    QCOMPARE(runs.size(), 1);
    QCOMPARE(runs[0].id, id);
    QCOMPARE(runs[0].name, QStringLiteral("tiny"));
    QCOMPARE(runs[0].status, QStringLiteral("finished"));
    QCOMPARE(runs[0].method, QStringLiteral("lsq"));
    QCOMPARE(runs[0].bits, QStringLiteral("W4A4"));
    QCOMPARE(runs[0].arch, QStringLiteral("resnet20"));
    QCOMPARE(runs[0].dataset, QStringLiteral("mnist"));
    QVERIFY(runs[0].created.isValid());
    QVERIFY(runs[0].finished.isValid());
    QCOMPARE(runs[0].finalMetrics.value("eval/acc"), end.finalMetrics.value("eval/acc"));

    const ui::RunData data = backend->loadRun(id);
    QCOMPARE(data.summary.id, id);
    QCOMPARE(data.spec, startedSpec);
    QCOMPARE(countKey(data.metrics, QStringLiteral("train/loss")),
             countKey(live, QStringLiteral("train/loss")));
    QCOMPARE(countKey(data.metrics, QStringLiteral("eval/acc")), 2);
    for (int i = 1; i < data.metrics.size(); ++i) {
        QVERIFY(data.metrics[i - 1].step <= data.metrics[i].step);
    }
    const QVector<ui::MetricPoint> liveSorted = byStepAndKey(live);
    QCOMPARE(data.metrics.size(), liveSorted.size());
    for (int i = 0; i < liveSorted.size(); ++i) {
        QCOMPARE(data.metrics[i].step, liveSorted[i].step);
        QCOMPARE(data.metrics[i].key, liveSorted[i].key);
        QCOMPARE(data.metrics[i].value, liveSorted[i].value);
    }
    QCOMPARE(data.layerHistory.size(), liveSnapshots.size());
    for (int i = 0; i < data.layerHistory.size(); ++i) {
        const ui::LayerSnapshot& stored = data.layerHistory[i];
        const ui::LayerSnapshot& seen = liveSnapshots[i];
        QCOMPARE(stored.step, seen.step);
        QCOMPARE(stored.runId, id);
        QCOMPARE(stored.layers.size(), 22);
        for (int l = 0; l < 22; ++l) {  // forward order, shapes filled from the model
            QCOMPARE(stored.layers[l].layer, seen.layers[l].layer);
            QCOMPARE(stored.layers[l].weightShape, seen.layers[l].weightShape);
            QCOMPARE(stored.layers[l].paramCount, seen.layers[l].paramCount);
            QCOMPARE(stored.layers[l].weightBits, seen.layers[l].weightBits);
            QCOMPARE(stored.layers[l].weightSteps, seen.layers[l].weightSteps);
            QCOMPARE(stored.layers[l].weightError, seen.layers[l].weightError);
        }
    }
    QCOMPARE(backend->loadRun(id + 100).summary.id, qint64(0));
}

void TestEngineBackend::cancelledRunWithHistogramPauseAndRefusals() {
    const auto backend = makeBackend();
    QSignalSpy finished(backend.get(), &ui::RunBackend::runFinished);
    QSignalSpy histograms(backend.get(), &ui::RunBackend::histogramUpdated);
    QSignalSpy progress(backend.get(), &ui::RunBackend::progressChanged);
    QSignalSpy metrics(backend.get(), &ui::RunBackend::metricsAppended);

    QJsonObject spec = tinySpec(QStringLiteral("long"), 200);
    QString error;
    const qint64 id = backend->startRun(spec, &error);
    QVERIFY2(id > 0, qPrintable(error));
    QTRY_VERIFY_WITH_TIMEOUT(metrics.count() >= 1, 60000);

    // One job at a time, and the running run cannot be deleted.
    QString busy;
    QCOMPARE(backend->startRun(tinySpec(QStringLiteral("second")), &busy), qint64(0));
    QVERIFY2(busy.contains(QStringLiteral("still running")), qPrintable(busy));
    QString refused;
    QVERIFY(!backend->deleteRun(id, &refused));
    QVERIFY2(refused.contains(QStringLiteral("running")), qPrintable(refused));
    QCOMPARE(backend->listRuns().size(), 1);

    backend->requestHistogram(QStringLiteral("layer1.0.conv1"));
    QTRY_VERIFY_WITH_TIMEOUT(histograms.count() >= 1, 60000);
    const ui::WeightHistogram h = histograms.last().at(0).value<ui::WeightHistogram>();
    QCOMPARE(h.layer, QStringLiteral("layer1.0.conv1"));
    QCOMPARE(h.runId, id);
    QCOMPARE(h.bits, 4);
    QVERIFY(h.step > 0);
    QVERIFY(h.stepSize > 0.0);
    QCOMPARE(h.qn, 8.0);
    QCOMPARE(h.qp, 7.0);
    QVERIFY(h.hi > h.lo);
    QVERIFY(!h.counts.isEmpty());
    double total = 0;
    for (double c : h.counts) {
        total += c;
    }
    QCOMPARE(total, double(16 * 16 * 9));  // every weight of the layer in some bin

    // Pause: the job says so and stops stepping; resume: it goes on.
    backend->pauseRun();
    QVERIFY(backend->isPaused());
    QTRY_VERIFY_WITH_TIMEOUT(
        !progress.isEmpty() &&
            progress.last().at(0).value<ui::JobProgress>().phase == QLatin1String("paused"),
        30000);
    const int metricsWhilePaused = metrics.count();
    QTest::qWait(400);
    QCOMPARE(metrics.count(), metricsWhilePaused);
    backend->resumeRun();
    QVERIFY(!backend->isPaused());
    QTRY_VERIFY_WITH_TIMEOUT(metrics.count() > metricsWhilePaused, 30000);

    backend->cancelRun();
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
    const ui::RunEnd end = finished.at(0).at(0).value<ui::RunEnd>();
    QCOMPARE(end.runId, id);
    QCOMPARE(end.status, QStringLiteral("cancelled"));
    QVERIFY(!backend->isRunning());
    const QVector<ui::RunSummary> runs = backend->listRuns();
    QCOMPARE(runs.size(), 1);
    QCOMPARE(runs[0].status, QStringLiteral("cancelled"));

    // Right after the end a new run starts (the old worker is joined, not in the way).
    const qint64 next = backend->startRun(tinySpec(QStringLiteral("after"), 1), &error);
    QVERIFY2(next > id, qPrintable(error));
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, 180000);
    QCOMPARE(finished.at(1).at(0).value<ui::RunEnd>().status, QStringLiteral("finished"));
    QCOMPARE(backend->listRuns().size(), 2);
}

void TestEngineBackend::renameAndDelete() {
    const auto backend = makeBackend();
    QSignalSpy finished(backend.get(), &ui::RunBackend::runFinished);
    QString error;
    const qint64 id = backend->startRun(tinySpec(QStringLiteral("to rename"), 1), &error);
    QVERIFY2(id > 0, qPrintable(error));
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 180000);

    QSignalSpy changed(backend.get(), &ui::RunBackend::runsChanged);
    QVERIFY2(backend->renameRun(id, QStringLiteral("renamed"), &error), qPrintable(error));
    QCOMPARE(changed.count(), 1);
    QCOMPARE(backend->listRuns().value(0).name, QStringLiteral("renamed"));
    QCOMPARE(backend->loadRun(id).summary.name, QStringLiteral("renamed"));

    QString noRun;
    QVERIFY(!backend->renameRun(id + 1, QStringLiteral("x"), &noRun));
    QCOMPARE(noRun, QStringLiteral("no run with id %1 in %2").arg(id + 1).arg(m_store));
    QString empty;
    QVERIFY(!backend->renameRun(id, QStringLiteral("  "), &empty));
    QVERIFY(!empty.isEmpty());
    QVERIFY(!backend->renameRun(id, QStringLiteral("  "), nullptr));  // null error pointer is fine
    QCOMPARE(changed.count(), 1);

    QVERIFY2(backend->deleteRun(id, &error), qPrintable(error));
    QCOMPARE(changed.count(), 2);
    QVERIFY(backend->listRuns().isEmpty());
    QCOMPARE(backend->loadRun(id).summary.id, qint64(0));
    QString gone;
    QVERIFY(!backend->deleteRun(id, &gone));
    QCOMPARE(gone, QStringLiteral("no run with id %1 in %2").arg(id).arg(m_store));
    QCOMPARE(changed.count(), 2);
}

void TestEngineBackend::badSpecStartsNothing() {
    const auto backend = makeBackend();
    QSignalSpy started(backend.get(), &ui::RunBackend::runStarted);
    QSignalSpy changed(backend.get(), &ui::RunBackend::runsChanged);
    QString error;
    const QJsonObject bad =
        withField(tinySpec(QStringLiteral("bad")), QStringLiteral("optim.lr"), QJsonValue(-1));
    QCOMPARE(backend->startRun(bad, &error), qint64(0));
    QCOMPARE(error, QStringLiteral("optim.lr: must be in (0, 10] (got -1)"));
    QCOMPARE(backend->startRun(bad, nullptr), qint64(0));
    QCOMPARE(started.count(), 0);
    QCOMPARE(changed.count(), 0);
    QVERIFY(!backend->isRunning());
    QVERIFY(backend->listRuns().isEmpty());
}

void TestEngineBackend::unreadableStoreGivesErrorsNotExceptions() {
    const QByteArray junk(4096, 'j');
    {
        QFile f(m_store);
        QVERIFY(f.open(QIODevice::WriteOnly));
        QCOMPARE(f.write(junk), qint64(junk.size()));
    }
    const auto backend = makeBackend();
    QSignalSpy started(backend.get(), &ui::RunBackend::runStarted);
    QVERIFY(backend->listRuns().isEmpty());
    // The run browser shows why the list is empty.
    QVERIFY2(backend->storeProblem().contains(m_store), qPrintable(backend->storeProblem()));
    QCOMPARE(backend->loadRun(1).summary.id, qint64(0));
    QString error;
    QVERIFY(!backend->renameRun(1, QStringLiteral("x"), &error));
    QVERIFY2(error.contains(m_store), qPrintable(error));
    error.clear();
    QVERIFY(!backend->deleteRun(1, &error));
    QVERIFY2(error.contains(m_store), qPrintable(error));
    error.clear();
    QCOMPARE(backend->startRun(tinySpec(QStringLiteral("nowhere")), &error), qint64(0));
    QVERIFY2(error.contains(m_store), qPrintable(error));
    QCOMPARE(started.count(), 0);
    QVERIFY(!backend->isRunning());
    QFile f(m_store);
    QVERIFY(f.open(QIODevice::ReadOnly));
    QCOMPARE(f.readAll(), junk);  // refused, not "repaired"
}

void TestEngineBackend::sharpnessIsMeasuredOffTheGuiThreadAndRecorded() {
    const auto backend = makeBackend();
    QSignalSpy finished(backend.get(), &ui::RunBackend::runFinished);
    QString error;
    const qint64 id = backend->startRun(tinySpec(QStringLiteral("to measure"), 1), &error);
    QVERIFY2(id > 0, qPrintable(error));
    QString busy;
    QVERIFY(!backend->measureSharpness(id, &busy));  // still training
    QVERIFY2(busy.contains(QStringLiteral("measure sharpness after it ends")), qPrintable(busy));
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 180000);

    QSignalSpy measured(backend.get(), &ui::RunBackend::sharpnessMeasured);
    QSignalSpy failed(backend.get(), &ui::RunBackend::analysisFailed);
    QVector<double> fractions;
    bool onGui = true;
    QThread* const gui = QThread::currentThread();
    connect(backend.get(), &ui::RunBackend::analysisProgress, this,
            [&](qint64 run, const QString&, double fraction) {
                onGui = onGui && QThread::currentThread() == gui && run == id;
                fractions.append(fraction);
            });
    QVERIFY2(backend->measureSharpness(id, &error), qPrintable(error));
    QVERIFY(backend->isAnalysing());
    QString second;
    QVERIFY(!backend->measureSharpness(id, &second));  // one analysis at a time
    QVERIFY(!second.isEmpty());
    QString start;
    QCOMPARE(backend->startRun(tinySpec(QStringLiteral("meanwhile"), 1), &start), qint64(0));
    QVERIFY(!start.isEmpty());
    QTRY_COMPARE_WITH_TIMEOUT(measured.count() + failed.count(), 1, 180000);
    QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed[0][1].toString()));
    QVERIFY(!backend->isAnalysing());
    QVERIFY(onGui);
    QVERIFY(!fractions.isEmpty());
    QCOMPARE(fractions.last(), 1.0);

    // Both measures in both quantized modes, recorded in the store and shown by loadRun.
    const auto points = measured[0][1].value<QVector<ui::SharpnessPoint>>();
    QCOMPARE(points.size(), 4);
    const ui::RunData data = backend->loadRun(id);
    QCOMPARE(data.sharpness.size(), 4);
    for (int i = 0; i < 4; ++i) {
        QCOMPARE(data.sharpness[i].measure, points[i].measure);
        QCOMPARE(data.sharpness[i].mode, points[i].mode);
        QCOMPARE(data.sharpness[i].value, points[i].value);
        QVERIFY(points[i].perturbedLoss >= points[i].baseLoss);
    }
    QCOMPARE(points[0].mode, QStringLiteral("dequantized"));
    QCOMPARE(points[2].mode, QStringLiteral("quantize-after"));
    QCOMPARE(data.summary.finalMetrics.value(QStringLiteral("sharpness/rho-ball/dequantized")),
             points[0].value);

    QString none;
    QVERIFY(!backend->measureSharpness(id + 7, &none));
    QCOMPARE(none, QStringLiteral("no run with id %1 in %2").arg(id + 7).arg(m_store));
}

void TestEngineBackend::landscapeStreamsCancelsAndResumes() {
    const auto backend = makeBackend();
    QSignalSpy finishedRun(backend.get(), &ui::RunBackend::runFinished);
    QString error;
    const qint64 id = backend->startRun(tinySpec(QStringLiteral("landscape"), 1), &error);
    QVERIFY2(id > 0, qPrintable(error));
    ui::LandscapeRequest request;
    request.nx = 9;
    request.ny = 7;
    request.samples = 64;
    QString busy;
    QVERIFY(!backend->computeLandscape(id, request, &busy));  // still training
    QVERIFY2(busy.contains(QStringLiteral("compute its landscape after it ends")),
             qPrintable(busy));
    QTRY_COMPARE_WITH_TIMEOUT(finishedRun.count(), 1, 180000);

    // Cancel as soon as the first points arrive: the surface ends part-way, stored, resumable.
    QSignalSpy started(backend.get(), &ui::RunBackend::landscapeStarted);
    QSignalSpy points(backend.get(), &ui::RunBackend::landscapePointsArrived);
    QSignalSpy finished(backend.get(), &ui::RunBackend::landscapeFinished);
    QSignalSpy failed(backend.get(), &ui::RunBackend::analysisFailed);
    connect(backend.get(), &ui::RunBackend::landscapePointsArrived, backend.get(),
            &ui::RunBackend::cancelAnalysis);
    QVERIFY2(backend->computeLandscape(id, request, &error), qPrintable(error));
    QVERIFY(backend->isAnalysing());
    QTRY_COMPARE_WITH_TIMEOUT(finished.count() + failed.count(), 1, 120000);
    QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed[0][1].toString()));
    QVERIFY(!backend->isAnalysing());
    QCOMPARE(started.count(), 1);
    QVERIFY(points.count() >= 1);
    const auto announced = started[0][0].value<ui::LandscapeSurface>();
    auto partial = finished[0][0].value<ui::LandscapeSurface>();
    QVERIFY(announced.id > 0);
    QCOMPARE(partial.id, announced.id);
    QCOMPARE(partial.runId, id);
    QCOMPARE(partial.nx, 9);
    QCOMPARE(partial.ny, 7);
    QCOMPARE(partial.kind, QStringLiteral("random"));
    QCOMPARE(partial.mode, QStringLiteral("dequantized"));  // the LSQ run's default
    QCOMPARE(partial.status, QStringLiteral("cancelled"));
    QVERIFY(partial.label.startsWith(QStringLiteral("landscape · step ")));
    QVERIFY(partial.finishedCount() > 0);
    QVERIFY(partial.finishedCount() < 63);
    // Every streamed point is in the stored surface, with the same values.
    ui::LandscapeSurface streamed = announced;
    for (const QList<QVariant>& args : points) {
        QVERIFY(ui::applyLandscapePoints(streamed, args[0].value<ui::LandscapePoints>()));
    }
    for (int i = 0; i < streamed.loss.size(); ++i) {
        if (!std::isnan(streamed.loss[i])) {
            QCOMPARE(partial.loss[i], streamed.loss[i]);
        }
    }
    disconnect(backend.get(), &ui::RunBackend::landscapePointsArrived, backend.get(),
               &ui::RunBackend::cancelAnalysis);

    // Resume: only the pending points, then a complete surface equal to a fresh computation.
    finished.clear();
    QVERIFY2(backend->resumeLandscape(partial.id, &error), qPrintable(error));
    QTRY_COMPARE_WITH_TIMEOUT(finished.count() + failed.count(), 1, 120000);
    QVERIFY(failed.isEmpty());
    const auto resumed = finished[0][0].value<ui::LandscapeSurface>();
    QCOMPARE(resumed.id, partial.id);
    QCOMPARE(resumed.status, QStringLiteral("finished"));
    QCOMPARE(resumed.finishedCount(), 63);
    QString done;
    QVERIFY(!backend->resumeLandscape(partial.id, &done));
    QCOMPARE(done, QStringLiteral("landscape %1 is already complete").arg(partial.id));

    finished.clear();
    QVERIFY2(backend->computeLandscape(id, request, &error), qPrintable(error));
    QTRY_COMPARE_WITH_TIMEOUT(finished.count() + failed.count(), 1, 120000);
    const auto fresh = finished[0][0].value<ui::LandscapeSurface>();
    QVERIFY(fresh.id != resumed.id);
    for (int i = 0; i < fresh.loss.size(); ++i) {
        QVERIFY2(qAbs(fresh.loss[i] - resumed.loss[i]) <= 1e-5 * qAbs(fresh.loss[i]),
                 qPrintable(QStringLiteral("point %1: %2 vs %3")
                                .arg(i)
                                .arg(fresh.loss[i])
                                .arg(resumed.loss[i])));
    }

    const QVector<ui::LandscapeSurface> stored = backend->landscapes(id);
    QCOMPARE(stored.size(), 2);
    QCOMPARE(stored[0].id, resumed.id);
    QCOMPARE(stored[0].loss, resumed.loss);
    QVERIFY(backend->landscapes(id + 9).isEmpty());
    QString none;
    QVERIFY(!backend->resumeLandscape(9999, &none));
    QVERIFY2(none.startsWith(QStringLiteral("no landscape with id 9999")), qPrintable(none));
}

void TestEngineBackend::trainingSnapshotsArriveAsLandscapes() {
    const auto backend = makeBackend();
    QJsonObject spec = tinySpec(QStringLiteral("snapshots"), 2);
    spec.insert(QStringLiteral("analysis"),
                QJsonObject{{QStringLiteral("landscape"),
                             QJsonObject{{QStringLiteral("epochs"), QJsonArray{1, 2}},
                                         {QStringLiteral("nx"), 5},
                                         {QStringLiteral("ny"), 5},
                                         {QStringLiteral("samples"), 32}}}});
    QSignalSpy snapshots(backend.get(), &ui::RunBackend::landscapeFinished);
    QSignalSpy finished(backend.get(), &ui::RunBackend::runFinished);
    QString error;
    const qint64 id = backend->startRun(spec, &error);
    QVERIFY2(id > 0, qPrintable(error));
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 180000);
    QCOMPARE(finished[0][0].value<ui::RunEnd>().status, QStringLiteral("finished"));
    const QVector<ui::LandscapeSurface> stored = backend->landscapes(id);
    QCOMPARE(stored.size(), 2);
    QVERIFY(stored[0].step < stored[1].step);
    QCOMPARE(stored[0].seed, stored[1].seed);
    // Each snapshot was announced while the run went on (the last may share a flush with the
    // run's end), as the store holds it.
    QVERIFY(snapshots.count() >= 1);
    const auto first = snapshots[0][0].value<ui::LandscapeSurface>();
    QCOMPARE(first.id, stored[0].id);
    QCOMPARE(first.status, QStringLiteral("finished"));
    QCOMPARE(first.finishedCount(), 25);
}

void TestEngineBackend::hessianFrontierAndAllocationSpec() {
    const auto backend = makeBackend();
    QSignalSpy finishedRun(backend.get(), &ui::RunBackend::runFinished);
    QString error;
    const qint64 id = backend->startRun(tinySpec(QStringLiteral("hessian"), 1), &error);
    QVERIFY2(id > 0, qPrintable(error));
    QTRY_COMPARE_WITH_TIMEOUT(finishedRun.count(), 1, 180000);

    QSignalSpy analyzed(backend.get(), &ui::RunBackend::hessianAnalyzed);
    QSignalSpy failed(backend.get(), &ui::RunBackend::analysisFailed);
    ui::HessianRequest request;
    request.samples = 64;
    request.topK = 1;
    request.traceSamples = 4;
    request.candidateBits = {2, 4, 8};
    QVERIFY2(backend->analyzeHessian(id, request, &error), qPrintable(error));
    QTRY_COMPARE_WITH_TIMEOUT(analyzed.count() + failed.count(), 1, 180000);
    QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed[0][1].toString()));
    const auto summary = analyzed[0][0].value<ui::HessianSummary>();
    QCOMPARE(summary.runId, id);
    QCOMPARE(summary.eigenvalues.size(), 1);
    // Every quantizable layer of the model, in the order the layer table plans them.
    const QVector<ui::LayerRow> planned =
        backend->plannedLayers(tinySpec(QStringLiteral("hessian"), 1));
    QCOMPARE(summary.layers.size(), planned.size());
    for (int i = 0; i < planned.size(); ++i) {
        QCOMPARE(summary.layers[i].layer, planned[i].layer);
    }
    QCOMPARE(summary.layers.first().omega.keys(), (QList<int>{2, 4, 8}));
    const QVector<ui::HessianSummary> reports = backend->hessianReports(id);
    QCOMPARE(reports.size(), 1);
    QCOMPARE(reports[0].id, summary.id);
    QCOMPARE(reports[0].trace, summary.trace);
    QCOMPARE(backend->loadRun(id).summary.finalMetrics.value(
                 QStringLiteral("hessian/top_eigenvalue/dequantized")),
             summary.eigenvalues[0]);

    // The frontier: sizes up, Omega down, every point between the uniform extremes.
    const ui::ParetoFrontier frontier = backend->paretoFrontier(summary.id, &error);
    QVERIFY2(frontier.points.size() >= 3, qPrintable(error));
    QCOMPARE(frontier.runId, id);
    for (int i = 1; i < frontier.points.size(); ++i) {
        QVERIFY(frontier.points[i].sizeBytes > frontier.points[i - 1].sizeBytes);
        QVERIFY(frontier.points[i].omega < frontier.points[i - 1].omega);
    }
    QCOMPARE(frontier.uniform.keys(), (QList<int>{2, 4, 8}));
    QCOMPARE(frontier.points.first().sizeBytes, frontier.uniform[2].sizeBytes);
    // (The last point need not be uniform 8-bit: with few Hutchinson samples a layer's trace
    // estimate may be negative, and then more bits do not lower its Omega.)
    QVERIFY(frontier.points.last().sizeBytes <= frontier.uniform[8].sizeBytes);
    for (const ui::FrontierPoint& u : frontier.uniform) {
        // No uniform allocation beats the frontier at its size.
        const auto within =
            std::find_if(frontier.points.rbegin(), frontier.points.rend(),
                         [&](const ui::FrontierPoint& p) { return p.sizeBytes <= u.sizeBytes; });
        QVERIFY(within != frontier.points.rend());
        QVERIFY(within->omega <= u.omega + 1e-12 * qAbs(u.omega));
    }
    QCOMPARE(frontier.points.first().bits.value(QStringLiteral("layer1.0.conv1")), 2);

    // The middle point's allocation as a spec the engine accepts, with those bits per layer.
    const ui::FrontierPoint& middle = frontier.points[frontier.points.size() / 2];
    const QJsonObject spec = backend->allocationSpec(summary.id, middle.bits, &error);
    QVERIFY2(!spec.isEmpty(), qPrintable(error));
    QVERIFY2(backend->validate(spec).ok(), qPrintable(backend->validate(spec).message));
    QCOMPARE(spec.value(QStringLiteral("name")).toString(), QStringLiteral("hessian-mp"));
    QVERIFY(spec.value(QStringLiteral("init_checkpoint"))
                .toString()
                .endsWith(QStringLiteral(".safetensors")));
    const QJsonObject layers =
        spec.value(QStringLiteral("quant")).toObject().value(QStringLiteral("layers")).toObject();
    int checked = 0;
    for (auto it = middle.bits.begin(); it != middle.bits.end(); ++it) {
        if (layers.contains(it.key())) {
            QCOMPARE(layers.value(it.key()).toObject().value(QStringLiteral("weight_bits")).toInt(),
                     it.value());
            ++checked;
        }
    }
    QVERIFY(checked >= 18);

    QVERIFY(backend->paretoFrontier(summary.id + 5, &error).points.isEmpty());
    QVERIFY2(error.contains(QStringLiteral("no Hessian report")), qPrintable(error));
    QVERIFY(backend->allocationSpec(summary.id, {}, &error).isEmpty());
    QVERIFY2(error.contains(QStringLiteral("no bit-width for layer")), qPrintable(error));
}

QTEST_GUILESS_MAIN(TestEngineBackend)
#include "TestEngineBackend.moc"
