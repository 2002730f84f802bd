// The desktop window over the real engine: a MainWindow on an EngineBackend (store, checkpoints
// and a tiny MNIST-layout dataset in a temporary folder; QSettings in Qt's test locations).
// The config panel's edits are validated and normalized by the engine; Run and Cancel drive real
// runs to "finished" and "cancelled"; every view is rendered to PNGs in QS_SCREENSHOT_DIR
// (default: <executable dir>/screenshots) and checked for size and content.
#include "app/bridge/EngineBackend.h"
#include "engine/session/RunSpec.h"
#include "engine/store/RunStore.h"
#include "support/TinyDataset.h"
#include "support/TinySpecJson.h"
#include "support/TinyText.h"
#include "visualization/TrainingCurvesPlot.h"
#include "widgets/AnalysisControls.h"
#include "widgets/Dashboard.h"
#include "widgets/JobControls.h"
#include "widgets/LandscapePanel.h"
#include "widgets/LayerTableModel.h"
#include "widgets/LayerTableView.h"
#include "widgets/MainWindow.h"
#include "widgets/RunBrowser.h"
#include "widgets/RunConfigPanel.h"
#include "widgets/RunListModel.h"
#include "widgets/SelectionHub.h"
#include "widgets/SensitivityPanel.h"

#include <QAbstractItemModel>
#include <QAction>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFile>
#include <QImage>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QScrollArea>
#include <QSet>
#include <QSettings>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTableView>
#include <QTemporaryDir>
#include <QToolButton>
#include <QtTest>

#include <memory>

using namespace qs;
using qs::ui::Dashboard;
using qs::ui::MainWindow;

namespace {

QJsonValue valueAt(const QJsonObject& spec, const QString& dotted) {
    const QStringList parts = dotted.split(QLatin1Char('.'));
    QJsonValue v = spec.value(parts[0]);
    for (int i = 1; i < parts.size(); ++i) {
        v = v.toObject().value(parts[i]);
    }
    return v;
}

void settle() {
    for (int i = 0; i < 5; ++i) {
        QCoreApplication::processEvents();
        QTest::qWait(20);
    }
}

int distinctColours(const QImage& image) {
    const QImage img = image.convertToFormat(QImage::Format_RGB32);
    QSet<QRgb> colours;
    for (int y = 0; y < img.height(); y += 2) {
        const auto* line = reinterpret_cast<const QRgb*>(img.constScanLine(y));
        for (int x = 0; x < img.width(); x += 2) {
            colours.insert(line[x]);
        }
    }
    return colours.size();
}

QString statusOf(const app::EngineBackend& backend, qint64 id) {
    for (const ui::RunSummary& r : backend.listRuns()) {
        if (r.id == id) {
            return r.status;
        }
    }
    return {};
}

}  // namespace

class TestGuiWithEngine : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void configPanelProducesTheSpecTheEngineValidates();
    void jobControlsRunATinySpecToTheEnd_andCancel();
    void screenshotsOfEveryView();
    void runBrowserListsSortsAndFiltersARealStore();
    void landscapeAndAllocationFromTheWindow();
    void bertRunFromTheWindow();
    void exportAndReportFromTheWindow();
    void twoProcessRunFromTheWindow();

private:
    QJsonObject tinySpec(const QString& name, int epochs = 2) const;
    /// Runs the tiny spec from the window's Run action until the store says "finished".
    qint64 runToTheEnd(app::EngineBackend& backend, MainWindow& window, const QString& name);

    QTemporaryDir m_tmp;
    QString m_data;
    QString m_glue;  ///< a tiny SST-2 folder
    QString m_store;
    QString m_out;
};

void TestGuiWithEngine::initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("QuantscapeTests"));
    QCoreApplication::setApplicationName(QStringLiteral("test_gui_with_engine"));
    QVERIFY(m_tmp.isValid());
    m_data = m_tmp.filePath(QStringLiteral("tiny"));
    QVERIFY(QDir().mkpath(m_data));
    qs::test::writeTinyDataset(m_data.toStdString());
    m_glue = m_tmp.filePath(QStringLiteral("glue"));
    qs::test::writeTinySst2(m_glue.toStdString());
    m_store = m_tmp.filePath(QStringLiteral("runs.sqlite"));
    m_out = m_tmp.filePath(QStringLiteral("out"));
}

void TestGuiWithEngine::init() {
    QSettings().clear();
}

QJsonObject TestGuiWithEngine::tinySpec(const QString& name, int epochs) const {
    return qs::test::tinySpecJson(m_data, name, QStringLiteral("lsq"), epochs);
}

qint64 TestGuiWithEngine::runToTheEnd(app::EngineBackend& backend, MainWindow& window,
                                      const QString& name) {
    window.configPanel()->setSpec(tinySpec(name));
    if (!window.configPanel()->isValid()) {
        qWarning("spec refused: %s", qPrintable(window.configPanel()->message()));
        return 0;
    }
    QAction* run = window.jobControls()->runAction();
    if (!run->isEnabled()) {
        return 0;
    }
    run->trigger();
    const qint64 id = backend.currentRunId();
    if (id <= 0) {
        return 0;
    }
    if (!QTest::qWaitFor([&] { return statusOf(backend, id) == QLatin1String("finished"); },
                         150000) ||
        !QTest::qWaitFor([&] { return !backend.isRunning(); }, 10000)) {
        qWarning("run %lld did not finish: %s", id, qPrintable(statusOf(backend, id)));
        return 0;
    }
    settle();
    return id;
}

void TestGuiWithEngine::configPanelProducesTheSpecTheEngineValidates() {
    app::EngineBackend backend(m_store, m_out);
    MainWindow window(&backend);
    ui::RunConfigPanel* panel = window.configPanel();
    panel->setSpec(tinySpec(QStringLiteral("edited")));
    QVERIFY2(panel->isValid(), qPrintable(panel->message()));

    // Edit a few fields through the panel's own editors.
    auto* lr = qobject_cast<QDoubleSpinBox*>(panel->fieldWidget(QStringLiteral("optim.lr")));
    auto* epochs = qobject_cast<QSpinBox*>(panel->fieldWidget(QStringLiteral("optim.epochs")));
    auto* batch = qobject_cast<QSpinBox*>(panel->fieldWidget(QStringLiteral("data.batch_size")));
    auto* bits = qobject_cast<QSpinBox*>(panel->fieldWidget(QStringLiteral("quant.weight_bits")));
    auto* arch = qobject_cast<QComboBox*>(panel->fieldWidget(QStringLiteral("model.arch")));
    QVERIFY(lr && epochs && batch && bits && arch);
    lr->setValue(0.02);
    epochs->setValue(3);
    batch->setValue(64);
    bits->setValue(3);
    const int resnet32 = arch->findData(QStringLiteral("resnet32"));
    QVERIFY(resnet32 >= 0);
    arch->setCurrentIndex(resnet32);

    const QJsonObject spec = panel->spec();
    QCOMPARE(valueAt(spec, QStringLiteral("optim.lr")).toDouble(), 0.02);
    QCOMPARE(valueAt(spec, QStringLiteral("optim.epochs")).toInt(), 3);
    QCOMPARE(valueAt(spec, QStringLiteral("data.batch_size")).toInt(), 64);
    QCOMPARE(valueAt(spec, QStringLiteral("quant.weight_bits")).toInt(), 3);
    QCOMPARE(valueAt(spec, QStringLiteral("model.arch")).toString(), QStringLiteral("resnet32"));
    const ui::SpecProblem verdict = backend.validate(spec);
    QVERIFY2(verdict.ok(), qPrintable(verdict.message));
    QVERIFY2(panel->isValid(), qPrintable(panel->message()));
    const QJsonObject normalized = backend.normalized(spec);
    QVERIFY(!normalized.isEmpty());
    for (const char* f :
         {"optim.lr", "optim.epochs", "data.batch_size", "quant.weight_bits", "model.arch"}) {
        const QString field = QString::fromLatin1(f);
        QVERIFY2(valueAt(normalized, field) == valueAt(spec, field), f);
    }
    QCOMPARE(normalized, spec);  // the panel holds a complete spec already

    // A value the engine refuses, through the editor: the engine's own message, field marked.
    lr->setValue(0.0);
    const ui::SpecProblem badLr = backend.validate(panel->spec());
    QVERIFY(!badLr.ok());
    QCOMPARE(badLr.field, QStringLiteral("optim.lr"));
    QVERIFY(!panel->isValid());
    QCOMPARE(panel->problem().message, badLr.message);
    QCOMPARE(panel->message(), badLr.message);
    QVERIFY(panel->isMarked(lr));
    QVERIFY(!panel->isMarked(epochs));
    lr->setValue(0.02);
    QVERIFY2(panel->isValid(), qPrintable(panel->message()));
    QVERIFY(!panel->isMarked(lr));

    // An unknown architecture, through setSpec.
    QJsonObject badArch = tinySpec(QStringLiteral("bad arch"));
    badArch.insert(QStringLiteral("model"), QJsonObject{{"arch", "vgg16"}});
    panel->setSpec(badArch);
    const ui::SpecProblem archProblem = backend.validate(badArch);
    QVERIFY(!archProblem.ok());
    QCOMPARE(archProblem.field, QStringLiteral("model.arch"));
    QVERIFY(!panel->isValid());
    QCOMPARE(panel->problem().message, archProblem.message);
    QCOMPARE(panel->message(), archProblem.message);
    QVERIFY(panel->isMarked(arch));
}

void TestGuiWithEngine::jobControlsRunATinySpecToTheEnd_andCancel() {
    app::EngineBackend backend(m_store, m_out);
    MainWindow window(&backend);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    ui::JobControls* jobs = window.jobControls();
    QCOMPARE(jobs->runAction()->shortcut(), QKeySequence(QStringLiteral("Ctrl+R")));

    window.configPanel()->setSpec(tinySpec(QStringLiteral("gui tiny")));
    QVERIFY2(window.configPanel()->isValid(), qPrintable(window.configPanel()->message()));
    QVERIFY(jobs->runAction()->isEnabled());
    jobs->runAction()->trigger();
    QVERIFY(backend.isRunning());
    const qint64 id = backend.currentRunId();
    QVERIFY(id > 0);
    QVERIFY(jobs->cancelAction()->isEnabled());
    QVERIFY(!jobs->runAction()->isEnabled());
    QTRY_COMPARE_WITH_TIMEOUT(statusOf(backend, id), QStringLiteral("finished"), 150000);
    QTRY_VERIFY_WITH_TIMEOUT(!backend.isRunning(), 10000);
    settle();
    QCOMPARE(window.hub()->activeRun(), id);
    QVERIFY(!window.dashboard()->curvesPlot()->runIds().isEmpty());
    QVERIFY(window.dashboard()->curvesPlot()->runIds().contains(id));
    QVERIFY(!window.dashboard()->isEmptyState(Dashboard::CurvesTab));
    QTRY_COMPARE_WITH_TIMEOUT(window.layerTable()->model()->rowCount(), 22, 5000);
    QVERIFY(jobs->runAction()->isEnabled());

    // A long run, cancelled from the window while it trains.
    QSignalSpy metrics(&backend, &ui::RunBackend::metricsAppended);
    window.configPanel()->setSpec(tinySpec(QStringLiteral("gui long"), 200));
    jobs->runAction()->trigger();
    QVERIFY(backend.isRunning());
    const qint64 longId = backend.currentRunId();
    QVERIFY(longId > id);
    QTRY_VERIFY_WITH_TIMEOUT(metrics.count() >= 1, 60000);
    QCOMPARE(statusOf(backend, longId), QStringLiteral("running"));
    QVERIFY(jobs->cancelAction()->isEnabled());
    jobs->cancelAction()->trigger();
    QTRY_COMPARE_WITH_TIMEOUT(statusOf(backend, longId), QStringLiteral("cancelled"), 60000);
    QTRY_VERIFY_WITH_TIMEOUT(!backend.isRunning(), 10000);
    QCOMPARE(statusOf(backend, id), QStringLiteral("finished"));
    QTRY_VERIFY(jobs->runAction()->isEnabled());
}

void TestGuiWithEngine::screenshotsOfEveryView() {
    const QString dir =
        qEnvironmentVariableIsSet("QS_SCREENSHOT_DIR")
            ? qEnvironmentVariable("QS_SCREENSHOT_DIR")
            : QCoreApplication::applicationDirPath() + QStringLiteral("/screenshots");
    QVERIFY(QDir().mkpath(dir));
    const QString prefix = QGuiApplication::platformName() + QLatin1Char('-');

    app::EngineBackend backend(m_store, m_out);
    MainWindow window(&backend);
    window.resize(1400, 900);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));

    // The finished run of the previous test, or one of our own (when run alone).
    qint64 id = 0;
    for (const ui::RunSummary& r : backend.listRuns()) {
        if (r.status == QLatin1String("finished")) {
            id = r.id;
            break;
        }
    }
    if (id == 0) {
        id = runToTheEnd(backend, window, QStringLiteral("gui screenshots"));
    }
    QVERIFY(id > 0);
    QCOMPARE(statusOf(backend, id), QStringLiteral("finished"));

    window.runBrowser()->refresh();
    window.runBrowser()->selectRuns({id});
    window.runBrowser()->openAction()->trigger();
    QCOMPARE(window.hub()->activeRun(), id);
    QTRY_COMPARE_WITH_TIMEOUT(window.layerTable()->model()->rowCount(), 22, 5000);
    window.hub()->setActiveLayer(QStringLiteral("layer2.0.conv2"));
    window.resize(1400, 900);
    settle();
    QCOMPARE(window.size(), QSize(1400, 900));

    auto save = [&](const QString& name) {
        settle();
        const QImage grabbed = window.grab().toImage();
        QVERIFY(!grabbed.isNull());
        const QString path = QDir(dir).filePath(prefix + name);
        QVERIFY2(grabbed.save(path), qPrintable(path));
        const QImage image(path);
        QVERIFY2(!image.isNull(), qPrintable(path));
        const QSize expected = window.size() * window.devicePixelRatio();
        QCOMPARE(image.size(), expected);
        const int colours = distinctColours(image);
        QVERIFY2(colours > 50, qPrintable(QStringLiteral("%1: %2 colours").arg(path).arg(colours)));
        qInfo("screenshot: %s (%dx%d, %d colours)", qPrintable(path), image.width(), image.height(),
              colours);
    };

    save(QStringLiteral("engine-main-window.png"));
    static const char* const tabNames[Dashboard::TabCount] = {
        "curves", "bits-error", "step-sizes", "histogram", "sharpness", "landscape", "sensitivity"};
    QTabWidget* tabs = window.dashboard()->tabs();
    QCOMPARE(tabs->count(), int(Dashboard::TabCount));
    for (int t = 0; t < Dashboard::TabCount; ++t) {
        tabs->setCurrentIndex(t);
        save(QStringLiteral("engine-dashboard-%1.png").arg(QString::fromLatin1(tabNames[t])));
    }
}

// The run browser over runs written straight into a real SQLite store, as another process
// (quantscape-cli) would write them.
void TestGuiWithEngine::runBrowserListsSortsAndFiltersARealStore() {
    QTemporaryDir dir;
    const std::string db = dir.filePath(QStringLiteral("browser.sqlite")).toStdString();
    {
        auto store = qs::store::RunStore::open(db);
        struct Made {
            const char* name;
            const char* method;
            int bits;
            const char* status;
            double acc;
        };
        const Made made[] = {{"alpha float", "fp", 4, qs::store::status::kFinished, 0.91},
                             {"beta w2", "lsq", 2, qs::store::status::kFailed, 0.0},
                             {"gamma w4", "lsq", 4, qs::store::status::kFinished, 0.89}};
        for (const Made& m : made) {
            qs::session::RunSpec spec;
            spec.name = m.name;
            spec.method.name = m.method;
            spec.quant.weightBits = spec.quant.actBits = m.bits;
            const int64_t id = store->createRun(m.name, spec.toJson(), "{}");
            if (m.acc > 0) {
                store->setFinalMetrics(id, {{"eval/acc", m.acc}, {"eval/best_acc", m.acc}});
            }
            store->setStatus(id, m.status, m.acc > 0 ? "" : "diverged");
        }
    }
    app::EngineBackend backend(QString::fromStdString(db), dir.filePath(QStringLiteral("out")));
    MainWindow window(&backend);
    window.show();
    settle();
    ui::RunBrowser* browser = window.runBrowser();
    QSortFilterProxyModel* proxy = browser->proxy();
    QTRY_COMPARE(proxy->rowCount(), 3);
    auto namesInViewOrder = [&] {
        QStringList names;
        for (int r = 0; r < proxy->rowCount(); ++r) {
            names << proxy->index(r, ui::RunListModel::Name).data().toString();
        }
        return names;
    };
    const QStringList listed = namesInViewOrder();
    QCOMPARE(QSet<QString>(listed.begin(), listed.end()),
             (QSet<QString>{"alpha float", "beta w2", "gamma w4"}));

    // Sorting by accuracy puts the best run first when descending.
    browser->tableView()->sortByColumn(ui::RunListModel::EvalAcc, Qt::DescendingOrder);
    QCOMPARE(namesInViewOrder().first(), QStringLiteral("alpha float"));
    browser->tableView()->sortByColumn(ui::RunListModel::Name, Qt::AscendingOrder);
    QCOMPARE(namesInViewOrder(), (QStringList{"alpha float", "beta w2", "gamma w4"}));

    // The filter matches method, status and bits.
    browser->filterEdit()->setText(QStringLiteral("lsq"));
    QCOMPARE(namesInViewOrder(), (QStringList{"beta w2", "gamma w4"}));
    browser->filterEdit()->setText(QStringLiteral("failed"));
    QCOMPARE(namesInViewOrder(), (QStringList{"beta w2"}));
    browser->filterEdit()->setText(QStringLiteral("W4A4"));
    QCOMPARE(namesInViewOrder(), (QStringList{"gamma w4"}));
    browser->filterEdit()->clear();
    QCOMPARE(proxy->rowCount(), 3);

    // A rename through the backend reaches the store and the browser.
    const qint64 gamma =
        proxy->index(2, ui::RunListModel::Id).data(ui::RunListModel::RunIdRole).toLongLong();
    QString error;
    QVERIFY2(backend.renameRun(gamma, QStringLiteral("gamma renamed"), &error), qPrintable(error));
    QTRY_VERIFY(namesInViewOrder().contains(QStringLiteral("gamma renamed")));
    QCOMPARE(qs::store::RunStore::open(db)->run(gamma)->name, std::string("gamma renamed"));
}

// The analyses end to end from the window over the real engine: a landscape computed from the
// Landscape tab streams into the views and is stored; a Hessian analysis from the Sensitivity
// tab gives the engine's Pareto frontier, the budget's allocation shows in the layer table, and
// "Train with this allocation" trains a run with exactly those per-layer bits.
void TestGuiWithEngine::landscapeAndAllocationFromTheWindow() {
    app::EngineBackend backend(m_store, m_out);
    MainWindow window(&backend);
    window.resize(1400, 900);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    const qint64 id = runToTheEnd(backend, window, QStringLiteral("gui analyses"));
    QVERIFY(id > 0);
    window.runBrowser()->refresh();
    window.runBrowser()->selectRuns({id});
    window.runBrowser()->openAction()->trigger();
    QCOMPARE(window.hub()->activeRun(), id);

    ui::LandscapePanel* landscape = window.dashboard()->landscapePanel();
    window.dashboard()->tabs()->setCurrentIndex(Dashboard::LandscapeTab);
    landscape->gridSpin()->setValue(7);
    landscape->samplesSpin()->setValue(64);
    QVERIFY(landscape->computeButton()->isEnabled());
    QSignalSpy started(&backend, &ui::RunBackend::landscapeStarted);
    QSignalSpy finished(&backend, &ui::RunBackend::landscapeFinished);
    landscape->computeButton()->click();
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 120000);
    QCOMPARE(started.count(), 1);
    QTRY_VERIFY(!landscape->isComputing());
    const ui::LandscapeSurface shown = landscape->shownSurface();
    const auto stored = finished[0][0].value<ui::LandscapeSurface>();
    QCOMPARE(shown.id, stored.id);
    QCOMPARE(shown.nx, 7);
    QCOMPARE(shown.finishedCount(), 49);
    QCOMPARE(shown.loss, stored.loss);
    QCOMPARE(backend.landscapes(id).size(), 1);
    QCOMPARE(landscape->landscapeList()->count(), 1);

    ui::SensitivityPanel* sensitivity = window.dashboard()->sensitivityPanel();
    window.dashboard()->tabs()->setCurrentIndex(Dashboard::SensitivityTab);
    sensitivity->samplesSpin()->setValue(64);
    sensitivity->traceSamplesSpin()->setValue(4);
    QSignalSpy analyzed(&backend, &ui::RunBackend::hessianAnalyzed);
    QSignalSpy failed(&backend, &ui::RunBackend::analysisFailed);
    QVERIFY(sensitivity->analyseButton()->isEnabled());
    sensitivity->analyseButton()->click();
    QTRY_COMPARE_WITH_TIMEOUT(analyzed.count() + failed.count(), 1, 180000);
    QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed[0][1].toString()));
    const auto report = analyzed[0][0].value<ui::HessianSummary>();
    QTRY_COMPARE(sensitivity->shownReport(), report.id);
    QVERIFY(sensitivity->frontier().points.size() >= 3);

    // A budget between the smallest and the largest allocation: the layer table shows the
    // chosen point's bits.
    // Copies: the panel's frontier goes when the trained run below becomes the shown one.
    const QVector<ui::FrontierPoint> points = sensitivity->frontier().points;
    const ui::FrontierPoint middle = points[points.size() / 2];
    sensitivity->setBudget(middle.sizeBytes);
    QCOMPARE(sensitivity->chosenAllocation(), middle.bits);
    settle();
    QAbstractItemModel* layers = window.layerTable()->model();
    int shownBits = 0;
    for (int row = 0; row < layers->rowCount(); ++row) {
        const QString layer =
            layers->index(row, 0).data(ui::LayerTableModel::LayerNameRole).toString();
        if (middle.bits.contains(layer)) {
            QCOMPARE(layers->index(row, ui::LayerTableModel::Allocated).data().toString(),
                     QString::number(middle.bits.value(layer)));
            ++shownBits;
        }
    }
    QCOMPARE(shownBits, middle.bits.size());
    const QString dir = qEnvironmentVariable("QS_SCREENSHOT_DIR");
    if (!dir.isEmpty()) {
        const QString prefix = QGuiApplication::platformName() + QLatin1Char('-');
        sensitivity->setPage(ui::SensitivityPanel::Page::Allocation);
        settle();
        QVERIFY(window.grab().save(QDir(dir).filePath(prefix + "engine-allocation.png")));
        window.dashboard()->tabs()->setCurrentIndex(Dashboard::LandscapeTab);
        settle();
        QVERIFY(window.grab().save(QDir(dir).filePath(prefix + "engine-landscape.png")));
        window.dashboard()->tabs()->setCurrentIndex(Dashboard::SensitivityTab);
    }

    // Train it: a new run whose spec carries exactly the allocation.
    QSignalSpy runs(&backend, &ui::RunBackend::runStarted);
    QVERIFY(sensitivity->trainButton()->isEnabled());
    sensitivity->trainButton()->click();
    QTRY_COMPARE_WITH_TIMEOUT(runs.count(), 1, 10000);
    const qint64 trained = runs[0][0].toLongLong();
    const QJsonObject spec = runs[0][1].toJsonObject();
    QVERIFY(trained > id);
    QCOMPARE(spec.value(QStringLiteral("name")).toString(), QStringLiteral("gui analyses-mp"));
    const QJsonObject perLayer = valueAt(spec, QStringLiteral("quant.layers")).toObject();
    int checked = 0;
    for (auto it = middle.bits.begin(); it != middle.bits.end(); ++it) {
        if (perLayer.contains(it.key())) {
            QCOMPARE(
                perLayer.value(it.key()).toObject().value(QStringLiteral("weight_bits")).toInt(),
                it.value());
            ++checked;
        }
    }
    QVERIFY(checked >= 18);
    QTRY_COMPARE_WITH_TIMEOUT(statusOf(backend, trained), QStringLiteral("finished"), 150000);
}

// A BERT run like a ResNet run: the panel shows BERT's fields, the engine trains it, the layer
// table lists BERT's layers grouped by encoder layer, and the window renders it.
void TestGuiWithEngine::bertRunFromTheWindow() {
    app::EngineBackend backend(m_store, m_out);
    MainWindow window(&backend);
    window.resize(1400, 900);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    ui::RunConfigPanel* panel = window.configPanel();

    // The SpamAssassin presets load; a quantized one names the float run it needs first.
    panel->applyPreset(QStringLiteral("bert-spam-float"));
    QVERIFY2(panel->isValid(), qPrintable(panel->message()));
    QCOMPARE(valueAt(panel->spec(), QStringLiteral("model.arch")).toString(),
             QStringLiteral("bert"));
    panel->applyPreset(QStringLiteral("bert-spam-squat-w4a8"));
    QVERIFY(!panel->isValid());
    QVERIFY2(
        panel->message().contains(QStringLiteral("quantscape-cli train --preset bert-spam-float")),
        qPrintable(panel->message()));

    const QJsonObject spec{
        {"version", 1},
        {"name", "gui bert"},
        {"model", QJsonObject{{"arch", "bert"},
                              {"bert", QJsonObject{{"layers", 2},
                                                   {"hidden", 32},
                                                   {"heads", 2},
                                                   {"intermediate", 64},
                                                   {"max_positions", 64},
                                                   {"vocab_size", 200},
                                                   {"dropout", 0.0}}}}},
        {"data", QJsonObject{{"dataset", "glue"},
                             {"task", "SST-2"},
                             {"path", m_glue},
                             {"max_length", 24},
                             {"vocab_min_frequency", 1},
                             {"batch_size", 16},
                             {"eval_batch_size", 64}}},
        {"method", QJsonObject{{"name", "lsq"}}},
        {"quant", QJsonObject{{"weight_bits", 4}, {"act_bits", 8}}},
        {"optim", QJsonObject{{"optimizer", "adamw"},
                              {"lr", 0.003},
                              {"schedule", "linear"},
                              {"warmup_epochs", 0.5},
                              {"epochs", 2}}},
        {"threads", 1},
        {"log_every", 5},
        {"state_every", 10},
    };
    panel->setSpec(spec);
    QVERIFY2(panel->isValid(), qPrintable(panel->message()));
    // BERT's fields apply, the image-only ones do not.
    for (const char* f : {"model.bert.layers", "data.task", "data.max_length",
                          "quant.embedding_bits", "quant.attention_bits", "quant.group_rows"}) {
        QVERIFY2(panel->fieldWidget(QLatin1String(f))->isEnabled(), f);
    }
    for (const char* f : {"model.in_channels", "data.augment", "data.crop_padding"}) {
        QVERIFY2(!panel->fieldWidget(QLatin1String(f))->isEnabled(), f);
    }

    QAction* run = window.jobControls()->runAction();
    QVERIFY(run->isEnabled());
    run->trigger();
    const qint64 id = backend.currentRunId();
    QVERIFY(id > 0);
    QTRY_COMPARE_WITH_TIMEOUT(statusOf(backend, id), QStringLiteral("finished"), 150000);
    QTRY_VERIFY_WITH_TIMEOUT(!backend.isRunning(), 10000);
    settle();
    QCOMPARE(window.hub()->activeRun(), id);
    QVERIFY(window.dashboard()->curvesPlot()->runIds().contains(id));

    // Word embedding, 6 linear layers per encoder layer, pooler, classifier.
    QAbstractItemModel* layers = window.layerTable()->model();
    QTRY_COMPARE_WITH_TIMEOUT(layers->rowCount(), 15, 5000);
    QStringList names;
    for (int r = 0; r < layers->rowCount(); ++r) {
        names << layers->index(r, 0).data(ui::LayerTableModel::LayerNameRole).toString();
    }
    QVERIFY2(names.contains(QStringLiteral("bert.encoder.layer.1.attention.self.query")),
             qPrintable(names.join(QLatin1Char(' '))));
    const int query = names.indexOf(QStringLiteral("bert.encoder.layer.1.attention.self.query"));
    QCOMPARE(layers->index(query, 0).data(ui::LayerTableModel::BlockRole).toString(),
             QStringLiteral("bert.encoder.layer.1"));
    QCOMPARE(layers->index(names.indexOf(QStringLiteral("classifier")), 0)
                 .data(ui::LayerTableModel::BlockRole)
                 .toString(),
             QString());

    // The analyses work on a BERT run as on a ResNet: a landscape from the Landscape tab and a
    // Hessian report (with BERT's layers and its allocation frontier) from the Sensitivity tab.
    ui::LandscapePanel* landscape = window.dashboard()->landscapePanel();
    window.dashboard()->tabs()->setCurrentIndex(Dashboard::LandscapeTab);
    landscape->gridSpin()->setValue(5);
    landscape->samplesSpin()->setValue(32);
    QSignalSpy finished(&backend, &ui::RunBackend::landscapeFinished);
    QSignalSpy failed(&backend, &ui::RunBackend::analysisFailed);
    QVERIFY(landscape->computeButton()->isEnabled());
    landscape->computeButton()->click();
    QTRY_COMPARE_WITH_TIMEOUT(finished.count() + failed.count(), 1, 120000);
    QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed[0][1].toString()));
    QTRY_COMPARE(landscape->shownSurface().finishedCount(), 25);
    ui::SensitivityPanel* sensitivity = window.dashboard()->sensitivityPanel();
    window.dashboard()->tabs()->setCurrentIndex(Dashboard::SensitivityTab);
    sensitivity->samplesSpin()->setValue(32);
    sensitivity->traceSamplesSpin()->setValue(4);
    QSignalSpy analyzed(&backend, &ui::RunBackend::hessianAnalyzed);
    QTRY_VERIFY(sensitivity->analyseButton()->isEnabled());
    sensitivity->analyseButton()->click();
    QTRY_COMPARE_WITH_TIMEOUT(analyzed.count() + failed.count(), 1, 180000);
    QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed[0][1].toString()));
    const auto report = analyzed[0][0].value<ui::HessianSummary>();
    QCOMPARE(report.layers.size(), 15);
    QTRY_COMPARE(sensitivity->shownReport(), report.id);
    QVERIFY(sensitivity->frontier().points.size() >= 3);
    settle();
    const QImage sensitivityShot = window.grab().toImage();
    window.dashboard()->tabs()->setCurrentIndex(Dashboard::CurvesTab);

    const QString dir =
        qEnvironmentVariableIsSet("QS_SCREENSHOT_DIR")
            ? qEnvironmentVariable("QS_SCREENSHOT_DIR")
            : QCoreApplication::applicationDirPath() + QStringLiteral("/screenshots");
    QVERIFY(QDir().mkpath(dir));
    window.hub()->setActiveLayer(QStringLiteral("bert.encoder.layer.0.attention.self.value"));
    settle();
    const QString path = QDir(dir).filePath(QGuiApplication::platformName() +
                                            QStringLiteral("-engine-bert-run.png"));
    QVERIFY(window.grab().toImage().save(path));
    QVERIFY(sensitivityShot.save(QDir(dir).filePath(
        QGuiApplication::platformName() + QStringLiteral("-engine-bert-sensitivity.png"))));
    QVERIFY(distinctColours(QImage(path)) > 50);
}

// Export and Report on a finished run: the export runs on the analysis worker and is recorded
// with the run; the notification names the file and offers to open it; the report lists the
// export's checksum.
void TestGuiWithEngine::exportAndReportFromTheWindow() {
    app::EngineBackend backend(m_store, m_out);
    MainWindow window(&backend);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    qint64 id = 0;
    for (const ui::RunSummary& r : backend.listRuns()) {
        if (r.status == QLatin1String("finished") && r.method == QLatin1String("lsq")) {
            id = r.id;
            break;
        }
    }
    if (id == 0) {
        id = runToTheEnd(backend, window, QStringLiteral("gui export"));
    }
    QVERIFY(id > 0);
    const QString onnx = m_tmp.filePath(QStringLiteral("gui-export.onnx"));
    QVERIFY(window.analysisControls()->exportRun(id, QStringLiteral("onnx"), onnx));
    auto* notice = window.findChild<QLabel*>(QStringLiteral("notificationText"));
    auto* open = window.findChild<QToolButton*>(QStringLiteral("notificationOpen"));
    QVERIFY(notice && open);
    QTRY_VERIFY_WITH_TIMEOUT(notice->text().contains(QStringLiteral("exported as onnx")), 60000);
    QVERIFY2(notice->text().contains(onnx), qPrintable(notice->text()));
    QVERIFY(open->isVisible());
    QVERIFY(QFile::exists(onnx));
    QVERIFY(!backend.isAnalysing());

    const QString html = m_tmp.filePath(QStringLiteral("gui-report.html"));
    QVERIFY(window.analysisControls()->writeReport({id}, html));
    QVERIFY2(notice->text().contains(QStringLiteral("Report of run %1 written").arg(id)),
             qPrintable(notice->text()));
    QFile f(html);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QString text = QString::fromUtf8(f.readAll());
    const auto store = store::RunStore::open(m_store.toStdString());
    const auto artifacts = store->artifacts(id);
    QVERIFY(!artifacts.empty());
    QVERIFY(text.contains(QString::fromStdString(artifacts.back().sha256)));

    // A report the backend cannot write is an error in the strip, not a crash.
    QVERIFY(!window.analysisControls()->writeReport({id}, m_tmp.filePath(QStringLiteral("x.doc"))));
    QVERIFY2(notice->text().contains(QStringLiteral("Cannot write the report")),
             qPrintable(notice->text()));
    QVERIFY(!open->isVisible());
}

// Data-parallel training from the window: the run panel's Processes field starts a run with two
// local processes (rank 1 is quantscape-cli, found through QS_WORKER_EXECUTABLE); it finishes,
// records its world size and the worker's log, and a long one cancels from the window with no
// process left behind.
void TestGuiWithEngine::twoProcessRunFromTheWindow() {
    app::EngineBackend backend(m_store, m_out);
    MainWindow window(&backend);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    ui::RunConfigPanel* panel = window.configPanel();
    ui::JobControls* jobs = window.jobControls();
    auto* processes = panel->findChild<QSpinBox*>(QStringLiteral("distributed.processes"));
    QVERIFY(processes);
    QCOMPARE(processes->value(), 1);

    QJsonObject spec = tinySpec(QStringLiteral("gui two processes"), 1);
    spec.insert(QStringLiteral("threads"), 2);
    panel->setSpec(spec);
    processes->setValue(2);
    QVERIFY2(panel->isValid(), qPrintable(panel->message()));
    if (qEnvironmentVariableIsSet("QS_SCREENSHOT_DIR")) {
        // The Run section with its Processes field, for a person to look at.
        window.resize(1400, 900);
        panel->findChild<QScrollArea*>(QStringLiteral("specScroll"))
            ->ensureWidgetVisible(processes);
        settle();
        QVERIFY(window.grab().save(QDir(qEnvironmentVariable("QS_SCREENSHOT_DIR"))
                                       .filePath(QGuiApplication::platformName() +
                                                 QStringLiteral("-engine-run-processes.png"))));
    }
    QCOMPARE(panel->spec()
                 .value(QStringLiteral("distributed"))
                 .toObject()
                 .value(QStringLiteral("processes"))
                 .toInt(),
             2);
    jobs->runAction()->trigger();
    const qint64 id = backend.currentRunId();
    QVERIFY(id > 0);
    QTRY_COMPARE_WITH_TIMEOUT(statusOf(backend, id), QStringLiteral("finished"), 150000);
    QTRY_VERIFY_WITH_TIMEOUT(!backend.isRunning(), 10000);
    const auto record = qs::store::RunStore::open(m_store.toStdString())->run(id);
    QVERIFY(record);
    QCOMPARE(qs::session::RunSpec::fromJson(record->specJson).distributed.processes, 2);
    QFile log(QDir(m_out).filePath(QStringLiteral("run-%1/worker-1.log").arg(id)));
    QVERIFY2(log.open(QIODevice::ReadOnly), qPrintable(log.fileName()));
    QVERIFY(log.readAll().contains("[rank 1] epoch 1/1"));

    // A long two-process run, cancelled from the window: rank 0 tells rank 1 at the next step.
    QSignalSpy metrics(&backend, &ui::RunBackend::metricsAppended);
    spec = tinySpec(QStringLiteral("gui two processes long"), 200);
    spec.insert(QStringLiteral("threads"), 2);
    panel->setSpec(spec);
    processes->setValue(2);
    jobs->runAction()->trigger();
    const qint64 longId = backend.currentRunId();
    QVERIFY(longId > id);
    QTRY_VERIFY_WITH_TIMEOUT(metrics.count() >= 1, 60000);
    jobs->cancelAction()->trigger();
    QTRY_COMPARE_WITH_TIMEOUT(statusOf(backend, longId), QStringLiteral("cancelled"), 60000);
    QTRY_VERIFY_WITH_TIMEOUT(!backend.isRunning(), 10000);
    QFile longLog(QDir(m_out).filePath(QStringLiteral("run-%1/worker-1.log").arg(longId)));
    QVERIFY(longLog.open(QIODevice::ReadOnly));
    const QByteArray text = longLog.readAll();
    QVERIFY2(!text.contains("error"), text.constData());
}

QTEST_MAIN(TestGuiWithEngine)
#include "TestGuiWithEngine.moc"
