#include "widgets/MainWindow.h"

#include "widgets/AboutDialog.h"
#include "widgets/ActiveRunData.h"
#include "widgets/AnalysisControls.h"
#include "widgets/CompareView.h"
#include "widgets/Dashboard.h"
#include "widgets/Icons.h"
#include "widgets/JobControls.h"
#include "widgets/JobQueue.h"
#include "widgets/JobQueueView.h"
#include "widgets/JobStatusWidget.h"
#include "widgets/LayerTableModel.h"
#include "widgets/LayerTableView.h"
#include "widgets/LogConsole.h"
#include "widgets/NotificationBar.h"
#include "widgets/RunBackend.h"
#include "widgets/RunBrowser.h"
#include "widgets/RunConfigPanel.h"
#include "widgets/SelectionHub.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDialog>
#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QHeaderView>
#include <QJsonDocument>
#include <QMenu>
#include <QMenuBar>
#include <QScreen>
#include <QSettings>
#include <QSplitter>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableView>
#include <QToolBar>
#include <QVBoxLayout>

namespace qs::ui {
namespace {

constexpr int kSettingsVersion = 1;
// First dock sizes: the form and the layer table readable, the dashboard as large as possible.
constexpr int kConfigWidth = 330;
constexpr int kLayersWidth = 440;
constexpr int kBottomHeight = 200;

QDockWidget* makeDock(const QString& title, const QString& name, QWidget* content) {
    auto* dock = new QDockWidget(title);
    dock->setObjectName(name);
    dock->setWidget(content);
    dock->setFeatures(QDockWidget::DockWidgetClosable | QDockWidget::DockWidgetMovable |
                      QDockWidget::DockWidgetFloatable);
    return dock;
}

}  // namespace

MainWindow::MainWindow(RunBackend* backend, QWidget* parent)
    : QMainWindow(parent),
      m_backend(backend),
      m_hub(new SelectionHub(this)),
      m_data(new ActiveRunData(backend, m_hub, this)),
      m_config(new RunConfigPanel(backend)),
      m_dashboard(new Dashboard(m_data, m_hub)),
      m_compare(new CompareView(backend, m_hub)),
      m_layers(new LayerTableView(m_data, m_hub)),
      m_browser(new RunBrowser(backend, m_hub)),
      m_log(new LogConsole),
      m_jobs(new JobControls(backend, m_config, this)),
      m_analyses(new AnalysisControls(backend, m_data, this)),
      m_queueView(nullptr),
      m_status(new JobStatusWidget(backend)),
      m_notice(new NotificationBar),
      m_compareWindow(new QDialog(this)) {
    setObjectName(QStringLiteral("MainWindow"));
    setWindowTitle(tr("Quantscape"));
    setWindowIcon(Icons::icon(Icons::AppLogo));
    setDockNestingEnabled(true);
    setDocumentMode(false);

    m_config->setRunActions({m_jobs->runAction(), m_jobs->addToQueueAction()});
    m_dashboard->setSharpnessAction(m_analyses->measureSharpnessAction());
    m_dashboard->setAnalysisControls(m_analyses);
    m_queueView = new JobQueueView(m_jobs->queue(), m_jobs->runQueueAction());

    // The comparison gets a window of its own: it needs room (overlaid curves and a table
    // with three columns per run) and is looked at beside the dashboard, not instead of it.
    m_compareWindow->setObjectName(QStringLiteral("compareWindow"));
    m_compareWindow->setWindowTitle(tr("Compare runs · Quantscape"));
    m_compareWindow->setWindowFlag(Qt::Window);
    m_compareWindow->setModal(false);
    auto* compareLayout = new QVBoxLayout(m_compareWindow);
    compareLayout->setContentsMargins(6, 6, 6, 6);
    compareLayout->addWidget(m_compare);
    m_compareWindow->resize(1100, 760);
    auto* centre = new QWidget;
    auto* centreLayout = new QVBoxLayout(centre);
    centreLayout->setContentsMargins(4, 4, 4, 0);
    centreLayout->setSpacing(4);
    centreLayout->addWidget(m_notice);
    centreLayout->addWidget(m_dashboard, 1);
    setCentralWidget(centre);

    createDocks();
    createMenusAndToolbar();
    statusBar()->addPermanentWidget(m_status);
    statusBar()->setSizeGripEnabled(true);
    connectNotifications();

    // The first thing a new user sees should fit a laptop screen.
    resize(1400, 900);
    m_defaultState = saveState(kSettingsVersion);
    restoreSettings();
}

MainWindow::~MainWindow() = default;

void MainWindow::createDocks() {
    // The bottom dock spans under the centre and the layer table; the config keeps the full
    // height on the left, where its form needs it.
    setCorner(Qt::BottomLeftCorner, Qt::LeftDockWidgetArea);
    setCorner(Qt::BottomRightCorner, Qt::BottomDockWidgetArea);

    m_configDock = makeDock(tr("Run configuration"), QStringLiteral("configDock"), m_config);
    m_layersDock = makeDock(tr("Layers"), QStringLiteral("layersDock"), m_layers);
    m_runsDock = makeDock(tr("Runs"), QStringLiteral("runsDock"), m_browser);
    m_logDock = makeDock(tr("Log"), QStringLiteral("logDock"), m_log);
    m_queueDock = makeDock(tr("Queue"), QStringLiteral("queueDock"), m_queueView);

    addDockWidget(Qt::LeftDockWidgetArea, m_configDock);
    addDockWidget(Qt::RightDockWidgetArea, m_layersDock);
    addDockWidget(Qt::BottomDockWidgetArea, m_runsDock);
    addDockWidget(Qt::BottomDockWidgetArea, m_logDock);
    addDockWidget(Qt::BottomDockWidgetArea, m_queueDock);
    tabifyDockWidget(m_runsDock, m_logDock);
    tabifyDockWidget(m_logDock, m_queueDock);
    m_runsDock->raise();

    // The layer table's secondary columns are one right-click away (header menu); the ones shown
    // fit the dock beside a readable dashboard.
    QTableView* table = m_layers->tableView();
    for (int c :
         {int(LayerTableModel::Shape), int(LayerTableModel::Params), int(LayerTableModel::AStep),
          int(LayerTableModel::AError), int(LayerTableModel::WClip), int(LayerTableModel::AClip)}) {
        table->setColumnHidden(c, true);
    }

    resizeDocks({m_configDock, m_layersDock}, {kConfigWidth, kLayersWidth}, Qt::Horizontal);
    resizeDocks({m_runsDock}, {kBottomHeight}, Qt::Vertical);
}

void MainWindow::createMenusAndToolbar() {
    auto* loadSpec = new QAction(Icons::icon(Icons::Load), tr("&Load spec…"), this);
    loadSpec->setObjectName(QStringLiteral("actionLoadSpec"));
    loadSpec->setShortcut(QKeySequence::Open);
    connect(loadSpec, &QAction::triggered, m_config, &RunConfigPanel::loadSpecDialog);
    auto* saveSpec = new QAction(Icons::icon(Icons::Save), tr("&Save spec…"), this);
    saveSpec->setObjectName(QStringLiteral("actionSaveSpec"));
    saveSpec->setShortcut(QKeySequence::Save);
    connect(saveSpec, &QAction::triggered, m_config, &RunConfigPanel::saveSpecDialog);
    auto* quit = new QAction(tr("&Quit"), this);
    quit->setObjectName(QStringLiteral("actionQuit"));
    quit->setShortcut(QKeySequence::Quit);
    quit->setMenuRole(QAction::QuitRole);
    connect(quit, &QAction::triggered, this, &QWidget::close);

    QMenu* file = menuBar()->addMenu(tr("&File"));
    file->addAction(loadSpec);
    file->addAction(saveSpec);
    file->addSeparator();
    file->addAction(quit);

    QMenu* run = menuBar()->addMenu(tr("&Run"));
    run->addAction(m_jobs->runAction());
    run->addAction(m_jobs->pauseAction());
    run->addAction(m_jobs->resumeAction());
    run->addAction(m_jobs->cancelAction());
    run->addSeparator();
    run->addAction(m_jobs->addToQueueAction());
    run->addAction(m_jobs->runQueueAction());
    run->addSeparator();
    run->addAction(m_browser->openAction());
    run->addAction(m_browser->compareAction());
    run->addSeparator();
    run->addAction(m_analyses->measureSharpnessAction());
    auto* exportAction = run->addAction(tr("&Export quantized model…"));
    exportAction->setObjectName(QStringLiteral("actionExport"));
    exportAction->setToolTip(
        tr("Write the shown run's model as packed integer codes "
           "(safetensors), encodings JSON or ONNX with QDQ pairs"));
    connect(exportAction, &QAction::triggered, this, &MainWindow::exportShownRun);
    auto* reportAction = run->addAction(tr("Write &report…"));
    reportAction->setObjectName(QStringLiteral("actionReport"));
    reportAction->setToolTip(
        tr("An HTML or PDF report of the runs selected in the run browser "
           "(a comparison for several), or of the shown run"));
    connect(reportAction, &QAction::triggered, this, &MainWindow::reportRuns);

    QMenu* view = menuBar()->addMenu(tr("&View"));
    for (QDockWidget* d : {m_configDock, m_layersDock, m_runsDock, m_logDock, m_queueDock}) {
        view->addAction(d->toggleViewAction());
    }
    view->addSeparator();
    auto* showCompare = view->addAction(Icons::icon(Icons::Compare), tr("&Compare runs"));
    connect(showCompare, &QAction::triggered, this, &MainWindow::showCompare);
    view->addSeparator();
    auto* reset = view->addAction(tr("&Reset layout"));
    reset->setObjectName(QStringLiteral("actionResetLayout"));
    connect(reset, &QAction::triggered, this, &MainWindow::resetLayout);

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    auto* about = help->addAction(Icons::icon(Icons::AppLogo), tr("&About Quantscape"));
    about->setObjectName(QStringLiteral("actionAbout"));
    about->setMenuRole(QAction::AboutRole);
    connect(about, &QAction::triggered, this, &MainWindow::showAbout);

    QToolBar* bar = addToolBar(tr("Main"));
    bar->setObjectName(QStringLiteral("mainToolBar"));
    bar->setMovable(false);
    bar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    bar->setIconSize(QSize(20, 20));
    bar->addAction(m_jobs->runAction());
    bar->addAction(m_jobs->pauseAction());
    bar->addAction(m_jobs->resumeAction());
    bar->addAction(m_jobs->cancelAction());
    bar->addSeparator();
    bar->addAction(m_jobs->addToQueueAction());
    bar->addSeparator();
    bar->addAction(loadSpec);
    bar->addAction(saveSpec);
    bar->addSeparator();
    bar->addAction(m_browser->openAction());
    bar->addAction(m_browser->compareAction());
}

void MainWindow::connectNotifications() {
    connect(m_backend, &RunBackend::logAppended, m_log, &LogConsole::appendEntries);
    connect(m_config, &RunConfigPanel::messageLogged, m_log, &LogConsole::appendMessage);
    connect(m_jobs, &JobControls::messageLogged, m_log, &LogConsole::appendMessage);
    // Errors never close the window: they go to the notification strip and the log.
    auto error = [this](const QString& text) {
        m_notice->showError(text);
        m_log->appendMessage(LogEntry::Error, text);
        statusBar()->showMessage(text, 8000);
    };
    connect(m_jobs, &JobControls::errorOccurred, this, error);
    connect(m_browser, &RunBrowser::errorOccurred, this, error);
    connect(m_dashboard, &Dashboard::errorOccurred, this, error);
    connect(m_config, &RunConfigPanel::messageLogged, this,
            [this](LogEntry::Level level, const QString& text) {
                if (level == LogEntry::Error) {
                    m_notice->showError(text);
                } else {
                    statusBar()->showMessage(text, 5000);
                }
            });
    // A run that starts makes the last run's (or last attempt's) notice stale.
    connect(m_backend, &RunBackend::runStarted, m_notice, &NotificationBar::dismiss);
    connect(m_browser, &RunBrowser::compareRequested, this, &MainWindow::showCompare);

    // Analyses: the browser picks a run, the controls start it; progress goes to the status bar
    // and the sharpness tab (which the view switches to, so the figures appear where expected).
    connect(m_browser, &RunBrowser::sharpnessRequested, m_analyses,
            &AnalysisControls::measureSharpness);
    connect(m_analyses, &AnalysisControls::analysisStarted, this, [this](qint64 runId) {
        if (m_hub->activeRun() != runId) {
            return;
        }
        switch (m_analyses->currentKind()) {
            case AnalysisControls::Kind::Landscape:
                m_dashboard->tabs()->setCurrentIndex(Dashboard::LandscapeTab);
                break;
            case AnalysisControls::Kind::Hessian:
                m_dashboard->tabs()->setCurrentIndex(Dashboard::SensitivityTab);
                break;
            default:
                m_dashboard->tabs()->setCurrentIndex(Dashboard::SharpnessTab);
                break;
        }
    });
    // Training an allocation from the sensitivity tab goes through the config panel and the
    // Run button's path (validation, queue while a run trains); a run that starts is followed
    // on its curves.
    connect(m_dashboard, &Dashboard::trainRequested, this, [this](const QJsonObject& spec) {
        const qint64 before = m_hub->activeRun();
        m_configDock->show();
        m_configDock->raise();
        if (m_jobs->runSpec(spec) && m_hub->activeRun() != before) {
            m_dashboard->tabs()->setCurrentIndex(Dashboard::CurvesTab);
        }
    });
    connect(m_analyses, &AnalysisControls::errorOccurred, this, error);
    connect(m_analyses, &AnalysisControls::resultReady, m_notice, &NotificationBar::showFile);
    connect(m_analyses, &AnalysisControls::messageLogged, m_log, &LogConsole::appendMessage);
    connect(m_analyses, &AnalysisControls::statusMessage, this,
            [this](const QString& text, int timeoutMs) {
                if (text.isEmpty()) {
                    statusBar()->clearMessage();
                } else {
                    statusBar()->showMessage(text, timeoutMs);
                }
            });
}

void MainWindow::exportShownRun() {
    const qint64 runId = m_hub->activeRun();
    if (runId == 0) {
        m_notice->showError(tr("Open a run first: an export writes a run's last checkpoint."));
        return;
    }
    const QString onnx = tr("ONNX with QDQ pairs (*.onnx)");
    const QString encodings = tr("Encodings JSON (*.json)");
    QString filter = tr("Quantized safetensors (*.safetensors)");
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Export run %1").arg(runId),
        QDir::home().filePath(QStringLiteral("run-%1.safetensors").arg(runId)),
        QStringList{filter, encodings, onnx}.join(QStringLiteral(";;")), &filter);
    if (path.isEmpty()) {
        return;
    }
    const QString format = filter == onnx || path.endsWith(QLatin1String(".onnx"))
                               ? QStringLiteral("onnx")
                           : filter == encodings || path.endsWith(QLatin1String(".json"))
                               ? QStringLiteral("encodings")
                               : QStringLiteral("safetensors");
    m_analyses->exportRun(runId, format, path);
}

void MainWindow::reportRuns() {
    QVector<qint64> runs = m_browser->selectedRunIds();
    if (runs.isEmpty() && m_hub->activeRun() != 0) {
        runs = {m_hub->activeRun()};
    }
    if (runs.isEmpty()) {
        m_notice->showError(tr("Select runs in the run browser, or open one, to report on."));
        return;
    }
    const QString html = tr("Self-contained HTML (*.html)");
    QString filter = html;
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Write report"),
        QDir::home().filePath(QStringLiteral("run-%1-report.html").arg(runs.first())),
        QStringList{html, tr("PDF (*.pdf)")}.join(QStringLiteral(";;")), &filter);
    if (!path.isEmpty()) {
        m_analyses->writeReport(runs, path);
    }
}

void MainWindow::showCompare() {
    m_compareWindow->show();
    m_compareWindow->raise();
    m_compareWindow->activateWindow();
}

void MainWindow::showAbout() {
    auto* dialog = new AboutDialog(m_backend->versions(), this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->open();
}

void MainWindow::resetLayout() {
    for (QDockWidget* d : {m_configDock, m_layersDock, m_runsDock, m_logDock, m_queueDock}) {
        d->setFloating(false);
        d->show();
    }
    restoreState(m_defaultState, kSettingsVersion);
    resizeDocks({m_configDock, m_layersDock}, {kConfigWidth, kLayersWidth}, Qt::Horizontal);
    resizeDocks({m_runsDock}, {kBottomHeight}, Qt::Vertical);
}

void MainWindow::saveSettings() const {
    QSettings s;
    s.beginGroup(QStringLiteral("MainWindow"));
    s.setValue(QStringLiteral("geometry"), saveGeometry());
    s.setValue(QStringLiteral("state"), saveState(kSettingsVersion));
    s.setValue(QStringLiteral("compareGeometry"), m_compareWindow->saveGeometry());
    s.setValue(QStringLiteral("dashboardTab"), m_dashboard->tabs()->currentIndex());
    s.beginGroup(QStringLiteral("splitters"));
    for (const QSplitter* sp : findChildren<QSplitter*>()) {
        if (!sp->objectName().isEmpty()) {
            s.setValue(sp->objectName(), sp->saveState());
        }
    }
    s.endGroup();
    s.beginGroup(QStringLiteral("layerColumns"));
    const QTableView* table = m_layers->tableView();
    for (int c = 0; c < LayerTableModel::ColumnCount; ++c) {
        // The Allocated column follows the chosen allocation, not a setting.
        if (c != LayerTableModel::Allocated) {
            s.setValue(QString::number(c), table->isColumnHidden(c));
        }
    }
    s.endGroup();
    s.endGroup();
    s.setValue(QStringLiteral("RunConfig/lastSpec"),
               QString::fromUtf8(QJsonDocument(m_config->spec()).toJson(QJsonDocument::Compact)));
}

void MainWindow::restoreSettings() {
    QSettings s;
    s.beginGroup(QStringLiteral("MainWindow"));
    const QByteArray geometry = s.value(QStringLiteral("geometry")).toByteArray();
    if (!geometry.isEmpty()) {
        restoreGeometry(geometry);
    }
    const QByteArray state = s.value(QStringLiteral("state")).toByteArray();
    if (!state.isEmpty()) {
        restoreState(state, kSettingsVersion);
    }
    const QByteArray compareGeometry = s.value(QStringLiteral("compareGeometry")).toByteArray();
    if (!compareGeometry.isEmpty()) {
        m_compareWindow->restoreGeometry(compareGeometry);
    }
    m_dashboard->tabs()->setCurrentIndex(s.value(QStringLiteral("dashboardTab"), 0).toInt());
    s.beginGroup(QStringLiteral("splitters"));
    for (QSplitter* sp : findChildren<QSplitter*>()) {
        const QByteArray st = s.value(sp->objectName()).toByteArray();
        if (!sp->objectName().isEmpty() && !st.isEmpty()) {
            sp->restoreState(st);
        }
    }
    s.endGroup();
    s.beginGroup(QStringLiteral("layerColumns"));
    QTableView* table = m_layers->tableView();
    for (const QString& key : s.childKeys()) {
        if (key.toInt() != LayerTableModel::Allocated) {
            table->setColumnHidden(key.toInt(), s.value(key).toBool());
        }
    }
    s.endGroup();
    s.endGroup();
    const QString spec = s.value(QStringLiteral("RunConfig/lastSpec")).toString();
    if (!spec.isEmpty()) {
        const QJsonDocument doc = QJsonDocument::fromJson(spec.toUtf8());
        if (doc.isObject()) {
            m_config->setSpec(doc.object());
        }
    }
}

void MainWindow::closeEvent(QCloseEvent* event) {
    saveSettings();
    QMainWindow::closeEvent(event);
}

}  // namespace qs::ui
