// MainWindow with the FakeBackend: it assembles every panel (docks, menus, toolbar, status bar),
// engine errors appear in the window without closing it, the layout resets, and geometry, dock
// state, splitters and the last spec come back from QSettings. `screenshots` fills the window with
// a finished ResNet-20 W4A4 run and saves PNGs of the window and each dashboard tab into
// QS_SCREENSHOT_DIR (default: the working directory).
#include "FakeBackend.h"
#include "visualization/TrainingCurvesPlot.h"
#include "widgets/ActiveRunData.h"
#include "widgets/AnalysisControls.h"
#include "widgets/CompareView.h"
#include "widgets/Dashboard.h"
#include "widgets/JobControls.h"
#include "widgets/JobStatusWidget.h"
#include "widgets/LandscapePanel.h"
#include "widgets/LayerTableModel.h"
#include "widgets/LayerTableView.h"
#include "widgets/LogConsole.h"
#include "widgets/MainWindow.h"
#include "widgets/NotificationBar.h"
#include "widgets/RunBrowser.h"
#include "widgets/RunConfigPanel.h"
#include "widgets/RunListModel.h"
#include "widgets/SelectionHub.h"
#include "widgets/SensitivityPanel.h"
#include "widgets/SharpnessPanel.h"
#include "widgets/SpecFieldBinder.h"

#include <QAction>
#include <QComboBox>
#include <QDialog>
#include <QDir>
#include <QDockWidget>
#include <QLineEdit>
#include <QMenuBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSettings>
#include <QSignalSpy>
#include <QSlider>
#include <QSplitter>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableView>
#include <QTableWidget>
#include <QTest>
#include <QToolBar>

using namespace qs::ui;
using qs::test::FakeBackend;

namespace {

QStringList menuTexts(QMenu* menu) {
    QStringList out;
    for (QAction* a : menu->actions()) {
        if (!a->isSeparator()) {
            out << a->text().remove(QLatin1Char('&'));
        }
    }
    return out;
}

QMenu* menuNamed(QMainWindow& w, const QString& title) {
    for (QAction* a : w.menuBar()->actions()) {
        if (a->text().remove(QLatin1Char('&')) == title) {
            return a->menu();
        }
    }
    return nullptr;
}

/// A run history like a user's after an afternoon of work.
void addHistory(FakeBackend& backend) {
    backend.addStoredRun(FakeBackend::makeRun(QStringLiteral("resnet20 float baseline"),
                                              QStringLiteral("fp"), 0, 0, 0.9153));
    backend.addStoredRun(FakeBackend::makeRun(QStringLiteral("lsq w3a3 from float"),
                                              QStringLiteral("lsq"), 3, 3, 0.8921));
    backend.addStoredRun(FakeBackend::makeRun(QStringLiteral("lsq w2a2 from float"),
                                              QStringLiteral("lsq"), 2, 2, 0.8536));
    RunData failed = FakeBackend::makeRun(QStringLiteral("lsq w2a2 lr 0.5"), QStringLiteral("lsq"),
                                          2, 2, 0.1, 1, QStringLiteral("failed"));
    failed.summary.finalMetrics.clear();
    failed.metrics.resize(30);
    failed.layerHistory.resize(2);
    backend.addStoredRun(failed);
}

/// Runs a full ResNet-20 W4A4 spec through the window: started with the Run action, streamed
/// to the end with a histogram of one layer, finished.
qint64 runW4A4(FakeBackend& backend, MainWindow& window) {
    QJsonObject spec = backend.presetSpec(QStringLiteral("smoke"));
    spec.insert(QStringLiteral("name"), QStringLiteral("resnet20 lsq w4a4"));
    QJsonObject data = spec.value(QStringLiteral("data")).toObject();
    data.insert(QStringLiteral("train_limit"), 0);
    data.insert(QStringLiteral("test_limit"), 0);
    data.insert(QStringLiteral("batch_size"), 128);
    spec.insert(QStringLiteral("data"), data);
    QJsonObject optim = spec.value(QStringLiteral("optim")).toObject();
    optim.insert(QStringLiteral("epochs"), 3);
    spec.insert(QStringLiteral("optim"), optim);
    spec.insert(QStringLiteral("log_every"), 20);
    spec.insert(QStringLiteral("state_every"), 100);
    window.configPanel()->setSpec(spec);
    window.jobControls()->runAction()->trigger();
    const qint64 id = backend.liveRunId();
    for (qint64 s = 0; s < 1407; s += 200) {
        backend.streamLive(s, std::min<qint64>(s + 200, 1407));
    }
    window.hub()->setActiveLayer(QStringLiteral("layer2.0.conv2"));
    backend.finishLive(QStringLiteral("finished"));
    return id;
}

void settle() {
    for (int i = 0; i < 5; ++i) {
        QCoreApplication::processEvents();
        QTest::qWait(20);
    }
}

}  // namespace

class TestMainWindow : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void init();
    void assemblesEveryPanel();
    void menusAndToolbar();
    void startErrorShownInWindow();
    void failedRunShownInWindow();
    void openingStoredRunFillsViews();
    void measureSharpnessFromBrowser();
    void compareFromBrowserOpensCompareWindow();
    void resetLayoutRestoresDocks();
    void restoresSettings();
    void screenshots();
};

void TestMainWindow::initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("QuantscapeTests"));
    QCoreApplication::setApplicationName(QStringLiteral("test_main_window"));
}

void TestMainWindow::init() {
    QSettings().clear();
}

void TestMainWindow::assemblesEveryPanel() {
    FakeBackend backend;
    MainWindow window(&backend);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QCOMPARE(window.windowTitle(), QStringLiteral("Quantscape"));
    QCOMPARE(window.size(), QSize(1400, 900));
    QCOMPARE(window.dockWidgetArea(window.configDock()), Qt::LeftDockWidgetArea);
    QCOMPARE(window.dockWidgetArea(window.layersDock()), Qt::RightDockWidgetArea);
    QCOMPARE(window.dockWidgetArea(window.runsDock()), Qt::BottomDockWidgetArea);
    QCOMPARE(window.dockWidgetArea(window.logDock()), Qt::BottomDockWidgetArea);
    QCOMPARE(window.tabifiedDockWidgets(window.runsDock()).size(), 2);  // log and queue
    QVERIFY(window.configDock()->isVisible());
    QVERIFY(window.layersDock()->isVisible());
    QVERIFY(window.runsDock()->isVisible());
    QCOMPARE(window.configDock()->widget(), window.configPanel());
    QCOMPARE(window.centralWidget()->findChild<Dashboard*>(), window.dashboard());
    QVERIFY(!window.compareWindow()->isVisible());  // opens on Compare
    QVERIFY(window.statusBar()->isAncestorOf(window.jobStatus()));
    QVERIFY(!window.notificationBar()->isVisible());
    // Sensible first sizes: the dashboard keeps most of the width.
    QVERIFY(window.configDock()->width() >= 320);
    QVERIFY(window.layersDock()->width() >= 380);
    QVERIFY(window.dashboard()->width() >= 560);
    QVERIFY(window.dashboard()->height() >= 480);
    QVERIFY(window.jobControls()->runAction()->isEnabled());
}

void TestMainWindow::menusAndToolbar() {
    FakeBackend backend;
    MainWindow window(&backend);
    QCOMPARE(menuTexts(menuNamed(window, QStringLiteral("File"))),
             (QStringList{"Load spec…", "Save spec…", "Quit"}));
    QCOMPARE(menuTexts(menuNamed(window, QStringLiteral("Run"))),
             (QStringList{"Run", "Pause", "Resume", "Cancel", "Add to queue", "Run queue", "Open",
                          "Compare", "Measure sharpness", "Export quantized model…",
                          "Write report…"}));
    const QStringList view = menuTexts(menuNamed(window, QStringLiteral("View")));
    for (const char* t : {"Run configuration", "Layers", "Runs", "Log", "Queue", "Reset layout"}) {
        QVERIFY2(view.contains(QString::fromUtf8(t)), t);
    }
    QCOMPARE(menuTexts(menuNamed(window, QStringLiteral("Help"))),
             QStringList{QStringLiteral("About Quantscape")});
    auto* bar = window.findChild<QToolBar*>(QStringLiteral("mainToolBar"));
    QVERIFY(bar);
    QVERIFY(bar->actions().contains(window.jobControls()->runAction()));
    QVERIFY(bar->actions().contains(window.jobControls()->cancelAction()));
    for (QAction* a : bar->actions()) {
        QVERIFY2(a->isSeparator() || !a->icon().isNull(), qPrintable(a->text()));
    }
    // The View menu's dock toggles work.
    window.show();
    window.logDock()->toggleViewAction()->trigger();
    QVERIFY(window.logDock()->isHidden());
}

void TestMainWindow::startErrorShownInWindow() {
    FakeBackend backend;
    MainWindow window(&backend);
    window.show();
    backend.failNextStart(QStringLiteral("/home/u/runs.sqlite: database is locked"));
    window.jobControls()->runAction()->trigger();
    QVERIFY(window.isVisible());
    QVERIFY(window.notificationBar()->isVisible());
    QCOMPARE(window.notificationBar()->text(),
             QStringLiteral("Could not start \"smoke\": /home/u/runs.sqlite: database is locked"));
    QVERIFY(window.logConsole()->plainText().contains(QStringLiteral("database is locked")));
    QVERIFY(window.jobControls()->runAction()->isEnabled());  // the user can try again
}

void TestMainWindow::failedRunShownInWindow() {
    FakeBackend backend;
    MainWindow window(&backend);
    window.show();
    window.jobControls()->runAction()->trigger();
    const qint64 id = backend.liveRunId();
    backend.streamLive(0, 5);
    backend.finishLive(QStringLiteral("failed"),
                       QStringLiteral("train-images-idx3-ubyte.gz: header says 60000 images, file "
                                      "holds 1024"));
    QVERIFY(window.isVisible());
    QVERIFY(window.notificationBar()->isVisible());
    QCOMPARE(window.notificationBar()->kind(), NotificationBar::Error);
    QVERIFY(window.notificationBar()->text().startsWith(QStringLiteral("Run %1 failed: ").arg(id)));
    QVERIFY(window.logConsole()->plainText().contains(QStringLiteral("header says 60000 images")));
    // What was recorded stays visible.
    QCOMPARE(window.hub()->activeRun(), id);
    QVERIFY(!window.dashboard()->isEmptyState(Dashboard::CurvesTab));
    QVERIFY(window.dashboard()->bannerText().contains(QStringLiteral("failed")));
}

void TestMainWindow::openingStoredRunFillsViews() {
    FakeBackend backend;
    addHistory(backend);
    MainWindow window(&backend);
    window.show();
    QCOMPARE(window.runBrowser()->model()->rowCount(), 4);
    window.runBrowser()->selectRuns({2});
    window.runBrowser()->openAction()->trigger();
    QCOMPARE(window.hub()->activeRun(), 2);
    QCOMPARE(window.layerTable()->model()->rowCount(), 22);
    QCOMPARE(window.dashboard()->curvesPlot()->runIds(), QList<qint64>{2});
}

void TestMainWindow::measureSharpnessFromBrowser() {
    FakeBackend backend;
    addHistory(backend);
    MainWindow window(&backend);
    window.show();
    RunBrowser* browser = window.runBrowser();
    browser->selectRuns({4});  // failed: nothing to measure
    QVERIFY(!browser->sharpnessAction()->isEnabled());
    browser->selectRuns({2, 3});
    QVERIFY(!browser->sharpnessAction()->isEnabled());
    browser->selectRuns({2});
    QVERIFY(browser->sharpnessAction()->isEnabled());
    browser->sharpnessAction()->trigger();
    // The run opens on its sharpness tab, which fills when the figures arrive.
    QCOMPARE(window.hub()->activeRun(), 2);
    QCOMPARE(window.dashboard()->tabs()->currentIndex(), int(Dashboard::SharpnessTab));
    QVERIFY(!browser->sharpnessAction()->isEnabled());  // one analysis at a time
    QVERIFY(!window.analysisControls()->measureSharpnessAction()->isEnabled());
    QTRY_COMPARE(window.dashboard()->sharpnessPanel()->table()->rowCount(), 4);
    QCOMPARE(window.statusBar()->currentMessage(),
             QStringLiteral("Sharpness of run 2 measured: 4 figures"));
    QVERIFY(window.logConsole()->plainText().contains(
        QStringLiteral("Sharpness of run 2 measured: 4 figures")));
    QVERIFY(browser->sharpnessAction()->isEnabled());
    QVERIFY(!window.notificationBar()->isVisible());
    // A failure goes to the notification strip, like a run's.
    backend.failAnalysis(QStringLiteral("Sharpness of run 2: last.safetensors: no such file"));
    window.analysisControls()->measureSharpnessAction()->trigger();
    QTRY_VERIFY(window.notificationBar()->isVisible());
    QCOMPARE(window.notificationBar()->text(),
             QStringLiteral("Sharpness of run 2: last.safetensors: no such file"));
    QCOMPARE(window.dashboard()->sharpnessPanel()->table()->rowCount(), 4);
}

void TestMainWindow::compareFromBrowserOpensCompareWindow() {
    FakeBackend backend;
    addHistory(backend);
    MainWindow window(&backend);
    window.show();
    window.runBrowser()->selectRuns({1, 2, 3});
    window.runBrowser()->compareAction()->trigger();
    QVERIFY(window.compareWindow()->isVisible());
    QVERIFY(window.compareWindow()->isAncestorOf(window.compareView()));
    QVERIFY(!window.compareWindow()->isModal());
    QCOMPARE(window.compareView()->shownRuns(), (QVector<qint64>{3, 2, 1}));  // view order
    QVERIFY(window.isVisible());
}

void TestMainWindow::resetLayoutRestoresDocks() {
    FakeBackend backend;
    MainWindow window(&backend);
    window.show();
    window.layersDock()->hide();
    window.configDock()->setFloating(true);
    window.resetLayout();
    QVERIFY(window.layersDock()->isVisible());
    QVERIFY(!window.configDock()->isFloating());
    QCOMPARE(window.dockWidgetArea(window.configDock()), Qt::LeftDockWidgetArea);
    QCOMPARE(window.dockWidgetArea(window.layersDock()), Qt::RightDockWidgetArea);
}

void TestMainWindow::restoresSettings() {
    FakeBackend backend;
    {
        MainWindow window(&backend);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        qobject_cast<QLineEdit*>(window.configPanel()->fieldWidget(QStringLiteral("name")))
            ->setText(QStringLiteral("remembered spec"));
        window.resize(1200, 760);
        window.logDock()->hide();
        window.dashboard()->tabs()->setCurrentIndex(Dashboard::StepsTab);
        window.layerTable()->tableView()->setColumnHidden(LayerTableModel::WClip, false);
        auto* split = window.findChild<QSplitter*>(QStringLiteral("bitsSplitter"));
        split->setSizes({300, 100});
        settle();
        window.close();  // saves
    }
    QSettings s;
    QVERIFY(s.contains(QStringLiteral("MainWindow/geometry")));
    QVERIFY(s.contains(QStringLiteral("MainWindow/state")));
    QVERIFY(s.contains(QStringLiteral("RunConfig/lastSpec")));

    MainWindow again(&backend);
    again.show();
    QVERIFY(QTest::qWaitForWindowExposed(&again));
    QCOMPARE(again.configPanel()->spec().value(QStringLiteral("name")).toString(),
             QStringLiteral("remembered spec"));
    QCOMPARE(again.size(), QSize(1200, 760));
    QVERIFY(again.logDock()->isHidden());
    QVERIFY(again.runsDock()->isVisible());
    QCOMPARE(again.dashboard()->tabs()->currentIndex(), int(Dashboard::StepsTab));
    QVERIFY(!again.layerTable()->tableView()->isColumnHidden(LayerTableModel::WClip));
    QVERIFY(again.layerTable()->tableView()->isColumnHidden(LayerTableModel::AClip));
    const QList<int> sizes = again.findChild<QSplitter*>(QStringLiteral("bitsSplitter"))->sizes();
    QVERIFY2(sizes.value(0) > 2 * sizes.value(1),
             qPrintable(QStringLiteral("%1 %2").arg(sizes.value(0)).arg(sizes.value(1))));
}

void TestMainWindow::screenshots() {
    const QString dir = qEnvironmentVariableIsSet("QS_SCREENSHOT_DIR")
                            ? qEnvironmentVariable("QS_SCREENSHOT_DIR")
                            : QDir::currentPath();
    QVERIFY(QDir().mkpath(dir));
    auto save = [&dir](QWidget& w, const QString& name) {
        settle();
        const QString path = QDir(dir).filePath(name);
        const QImage image = w.grab().toImage();
        QVERIFY(!image.isNull());
        QVERIFY2(image.save(path), qPrintable(path));
        qInfo("screenshot: %s (%dx%d)", qPrintable(path), image.width(), image.height());
        if (auto* mw = qobject_cast<MainWindow*>(&w)) {
            qInfo("  docks: config %d, layers %d, runs height %d, dashboard %dx%d",
                  mw->configDock()->width(), mw->layersDock()->width(), mw->runsDock()->height(),
                  mw->dashboard()->width(), mw->dashboard()->height());
        }
    };

    FakeBackend backend;
    MainWindow window(&backend);
    window.resize(1400, 900);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    save(window, QStringLiteral("main-window-empty.png"));

    addHistory(backend);
    window.logConsole()->appendMessage(
        LogEntry::Info,
        QStringLiteral("Opened run store /home/u/.local/share/quantscape/runs.sqlite"));
    const qint64 id = runW4A4(backend, window);
    QCOMPARE(window.hub()->activeRun(), id);
    QCOMPARE(window.layerTable()->model()->rowCount(), 22);
    QVERIFY(!window.dashboard()->isEmptyState(Dashboard::HistogramTab));
    window.runBrowser()->selectRuns({id});
    QCOMPARE(window.size(), QSize(1400, 900));
    save(window, QStringLiteral("main-window.png"));

    const char* names[Dashboard::SharpnessTab + 1] = {"curves", "bits-error", "step-sizes",
                                                      "histogram", "sharpness"};
    for (int t = 0; t <= Dashboard::SharpnessTab; ++t) {
        window.dashboard()->tabs()->setCurrentIndex(t);
        QVERIFY(!window.dashboard()->isEmptyState(Dashboard::Tab(t)));
        save(window, QStringLiteral("main-window-%1.png").arg(QLatin1String(names[t])));
        save(*window.dashboard(), QStringLiteral("dashboard-%1.png").arg(QLatin1String(names[t])));
    }

    // A SQuAT run: its state under the loss curves, and its sharpness measured from the browser.
    const qint64 squat = backend.addStoredRun(FakeBackend::makeRun(
        QStringLiteral("resnet20 squat w4a4"), QStringLiteral("squat"), 4, 4, 0.9034));
    window.runBrowser()->selectRuns({squat});
    window.runBrowser()->sharpnessAction()->trigger();
    QTRY_COMPARE(window.dashboard()->sharpnessPanel()->table()->rowCount(), 4);
    save(*window.dashboard(), QStringLiteral("dashboard-squat-sharpness.png"));
    window.dashboard()->tabs()->setCurrentIndex(Dashboard::CurvesTab);
    save(*window.dashboard(), QStringLiteral("dashboard-squat-curves.png"));
    save(window, QStringLiteral("main-window-squat.png"));
    // The configuration with SQuAT's options in view.
    RunConfigPanel* config = window.configPanel();
    QJsonObject squatSpec = config->spec();
    SpecFieldBinder::setValueAt(squatSpec, QStringLiteral("method.name"), QStringLiteral("squat"));
    config->setSpec(squatSpec);
    config->findChild<QScrollArea*>(QStringLiteral("specScroll"))
        ->ensureWidgetVisible(config->fieldWidget(QStringLiteral("method.distill.temperature")));
    save(*window.configDock(), QStringLiteral("config-squat.png"));

    // The landscape and sensitivity tabs of the W4A4 run: snapshots taken as it trained (on
    // one set of directions, flatter each epoch), the float baseline's landscape to compare
    // with, and a Hessian report with an allocation chosen under a budget.
    const LandscapeRequest directions;
    for (int epoch = 1; epoch <= 3; ++epoch) {
        backend.addStoredLandscape(FakeBackend::makeLandscape(
            id, 469 * epoch, directions, 0.3 + 0.2 * (3 - epoch), 1.0 + 0.8 * (3 - epoch)));
    }
    backend.addStoredLandscape(FakeBackend::makeLandscape(1, 1407, directions, 0.25, 0.6));
    const qint64 report = backend.addStoredHessian(id);
    window.runBrowser()->selectRuns({id});
    window.runBrowser()->openAction()->trigger();
    QCOMPARE(window.hub()->activeRun(), id);
    window.dashboard()->tabs()->setCurrentIndex(Dashboard::LandscapeTab);
    LandscapePanel* landscape = window.dashboard()->landscapePanel();
    QCOMPARE(landscape->snapshotSteps(), (QVector<qint64>{469, 938, 1407}));
    QVERIFY(!window.dashboard()->isEmptyState(Dashboard::LandscapeTab));
    QVERIFY(!landscape->isEmptyStateVisible());
    save(window, QStringLiteral("main-window-landscape.png"));
    save(*window.dashboard(), QStringLiteral("dashboard-landscape.png"));
    landscape->snapshotSlider()->setValue(0);
    QCOMPARE(landscape->shownSurface().step, qint64(469));
    save(*window.dashboard(), QStringLiteral("dashboard-landscape-snapshot.png"));
    // A landscape on Hessian directions, half computed.
    backend.setLandscapeBatches(6, 1500);
    landscape->directionsCombo()->setCurrentIndex(
        landscape->directionsCombo()->findData(QStringLiteral("hessian")));
    QSignalSpy points(&backend, &RunBackend::landscapePointsArrived);
    landscape->computeButton()->click();
    QTRY_VERIFY(landscape->isComputing());
    QVERIFY(points.wait(5000));
    QVERIFY(landscape->shownSurface().finishedCount() > 0);
    save(window, QStringLiteral("main-window-landscape-computing.png"));
    landscape->cancelButton()->click();
    QTRY_COMPARE(landscape->shownSurface().status, QStringLiteral("cancelled"));
    save(*window.dashboard(), QStringLiteral("dashboard-landscape-cancelled.png"));
    // Beside the float baseline, on the same directions.
    landscape->showLandscape(backend.landscapes(id).at(2).id);
    QVERIFY(landscape->compareWith(1));
    QCOMPARE(landscape->view(), LandscapePanel::View::Compare);
    save(*window.dashboard(), QStringLiteral("dashboard-landscape-compare.png"));
    landscape->setOverlaid(true);
    save(*window.dashboard(), QStringLiteral("dashboard-landscape-overlaid.png"));
    landscape->setOverlaid(false);

    window.dashboard()->tabs()->setCurrentIndex(Dashboard::SensitivityTab);
    SensitivityPanel* sensitivity = window.dashboard()->sensitivityPanel();
    QCOMPARE(sensitivity->shownReport(), report);
    QVERIFY(!sensitivity->isEmptyStateVisible());
    save(window, QStringLiteral("main-window-sensitivity.png"));
    save(*window.dashboard(), QStringLiteral("dashboard-sensitivity-traces.png"));
    sensitivity->setPage(SensitivityPanel::Page::Omega);
    save(*window.dashboard(), QStringLiteral("dashboard-sensitivity-omega.png"));
    sensitivity->setPage(SensitivityPanel::Page::Allocation);
    sensitivity->budgetSlider()->setValue(sensitivity->budgetSlider()->maximum() / 5);
    QVERIFY(sensitivity->chosenIndex() >= 0);
    QVERIFY(!window.layerTable()
                 ->model()
                 ->index(0, LayerTableModel::Allocated)
                 .data()
                 .toString()
                 .isEmpty());
    save(window, QStringLiteral("main-window-allocation.png"));
    save(*window.dashboard(), QStringLiteral("dashboard-sensitivity-allocation.png"));
    save(*window.layersDock(), QStringLiteral("layers-allocation.png"));
    window.dashboard()->tabs()->setCurrentIndex(Dashboard::CurvesTab);

    window.runBrowser()->selectRuns({1, 2, id});
    window.runBrowser()->compareAction()->trigger();
    window.logDock()->raise();
    save(*window.compareWindow(), QStringLiteral("compare-window.png"));
    save(window, QStringLiteral("main-window-log.png"));

    // The configuration's inline validation, as a user sees it.
    window.runsDock()->raise();
    qobject_cast<QLineEdit*>(window.configPanel()->fieldWidget(QStringLiteral("optim.milestones")))
        ->setText(QStringLiteral("2, 1"));
    QTableWidget* overrides = window.configPanel()->layerOverrideTable();
    overrides->item(1, RunConfigPanel::LayerWBits)->setData(RunConfigPanel::OverrideRole, 2);
    QVERIFY(!window.configPanel()->checkBeforeRun());  // as when the user presses Run
    save(*window.configDock(), QStringLiteral("config-invalid.png"));
    QVERIFY(!window.configPanel()->isValid());
}

QTEST_MAIN(TestMainWindow)
#include "TestMainWindow.moc"
