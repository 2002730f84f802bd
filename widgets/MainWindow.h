// The desktop window. It only assembles: the run configuration in the left dock, the dashboard in
// the centre, the layer table in the right dock, the run browser, log and queue tabbed in the
// bottom dock, the run comparison in a window of its own; menus, toolbar and status bar over the
// panels' actions.
// Window geometry, dock layout, splitter sizes and the last spec persist in QSettings.
#pragma once

#include <QByteArray>
#include <QMainWindow>

class QDockWidget;
class QDialog;

namespace qs::ui {

class ActiveRunData;
class AnalysisControls;
class CompareView;
class Dashboard;
class JobControls;
class JobQueueView;
class JobStatusWidget;
class LayerTableView;
class LogConsole;
class NotificationBar;
class RunBackend;
class RunBrowser;
class RunConfigPanel;
class SelectionHub;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    /// The backend is not owned; it must outlive the window.
    explicit MainWindow(RunBackend* backend, QWidget* parent = nullptr);
    ~MainWindow() override;

    SelectionHub* hub() const { return m_hub; }
    ActiveRunData* activeRunData() const { return m_data; }
    RunConfigPanel* configPanel() const { return m_config; }
    Dashboard* dashboard() const { return m_dashboard; }
    CompareView* compareView() const { return m_compare; }
    LayerTableView* layerTable() const { return m_layers; }
    RunBrowser* runBrowser() const { return m_browser; }
    LogConsole* logConsole() const { return m_log; }
    JobControls* jobControls() const { return m_jobs; }
    AnalysisControls* analysisControls() const { return m_analyses; }
    JobStatusWidget* jobStatus() const { return m_status; }
    NotificationBar* notificationBar() const { return m_notice; }
    /// The window holding the comparison (opened by Compare).
    QDialog* compareWindow() const { return m_compareWindow; }

    QDockWidget* configDock() const { return m_configDock; }
    QDockWidget* layersDock() const { return m_layersDock; }
    QDockWidget* runsDock() const { return m_runsDock; }
    QDockWidget* logDock() const { return m_logDock; }
    QDockWidget* queueDock() const { return m_queueDock; }

public Q_SLOTS:
    /// Writes geometry, dock state, splitter sizes and the current spec to QSettings.
    void saveSettings() const;
    /// Reads them back (called by the constructor).
    void restoreSettings();
    /// Puts every dock back where a fresh window has it.
    void resetLayout();
    void showAbout();
    /// Shows the comparison window (Compare in the run browser does this too).
    void showCompare();
    /// Asks where to export the shown run (the file type picks the format) and exports it.
    void exportShownRun();
    /// Asks where to write the report of the runs selected in the run browser (or the shown
    /// run) and writes it.
    void reportRuns();

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    void createDocks();
    void createMenusAndToolbar();
    void connectNotifications();

    RunBackend* m_backend;
    SelectionHub* m_hub;
    ActiveRunData* m_data;
    RunConfigPanel* m_config;
    Dashboard* m_dashboard;
    CompareView* m_compare;
    LayerTableView* m_layers;
    RunBrowser* m_browser;
    LogConsole* m_log;
    JobControls* m_jobs;
    AnalysisControls* m_analyses;
    JobQueueView* m_queueView;
    JobStatusWidget* m_status;
    NotificationBar* m_notice;
    QDialog* m_compareWindow;
    QDockWidget* m_configDock = nullptr;
    QDockWidget* m_layersDock = nullptr;
    QDockWidget* m_runsDock = nullptr;
    QDockWidget* m_logDock = nullptr;
    QDockWidget* m_queueDock = nullptr;
    QByteArray m_defaultState;
};

}  // namespace qs::ui
