// The dashboard's "Landscape" tab: the loss landscapes of the shown run (ALGORITHMS.md section 7).
// A side column lists the run's stored landscapes (snapshots taken while it trained and computed
// ones, finished or not), chooses a run to compare with, and describes a new landscape
// (directions, grid, range, mode, samples, seed) with Compute, Cancel and Resume; the views show
// the chosen landscape as a 3D surface, a heatmap, 1D curves, or beside the other run's matching
// landscape. A landscape being computed fills in as its points arrive. Snapshots of one set of
// directions at several steps get a slider. Where VTK cannot render (no X display) the heatmap
// stands in for the 3D view, with a note.
//
// Fed by ActiveRunData (the shown run, its landscapes, their live points); analyses start through
// AnalysisControls, so one place knows what runs. Reads the other runs' landscapes for the
// comparison from the backend.
#pragma once

#include "visualization/LandscapeData.h"
#include "widgets/RunBackend.h"

#include <QWidget>

class QButtonGroup;
class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QFormLayout;
class QLabel;
class QListWidget;
class QProgressBar;
class QPushButton;
class QSlider;
class QSpinBox;
class QStackedWidget;
class QToolButton;

namespace qs::ui {

class ActiveRunData;
class AnalysisControls;
class EmptyStateWidget;
class LandscapeComparison;
class LandscapeCurves;
class LandscapeHeatmap;
class LandscapeView;

class LandscapePanel : public QWidget {
    Q_OBJECT
public:
    /// The views of the shown landscape.
    enum class View { Surface3D, Heatmap, Curves, Compare };

    explicit LandscapePanel(ActiveRunData* data, QWidget* parent = nullptr);
    ~LandscapePanel() override;

    /// Where Compute, Cancel and Resume go; without it they stay disabled.
    void setAnalysisControls(AnalysisControls* controls);

    /// The landscape the controls describe now, for the shown run.
    LandscapeRequest request() const;
    /// The landscape shown (0: none) and its current data, live points included.
    qint64 shownLandscape() const { return m_shownId; }
    LandscapeSurface shownSurface() const;
    /// Shows a landscape of the shown run (selects it in the list).
    void showLandscape(qint64 id);
    /// True while a landscape of the shown run is being computed.
    bool isComputing() const { return m_liveId != 0; }

    View view() const { return m_view; }
    /// Switches the view; one that cannot show the landscape (3D without an X display or for a
    /// 1D landscape, Compare without a compared run) is ignored.
    void setView(View view);
    bool isViewAvailable(View view) const;

    /// Steps of the stored snapshots comparable with the shown landscape (same directions,
    /// seed, mode, grid and range), ascending; empty when there are fewer than two.
    QVector<qint64> snapshotSteps() const;
    /// "step 938 (end of epoch 2 of 3)" for the snapshot shown; empty without snapshots.
    QString snapshotText() const;

    /// Compares with a landscape of another run: the one on the same directions, grid and
    /// range if it has one, else its newest, and switches to the Compare view (1D landscapes:
    /// both curves in the Curves view); 0 ends the comparison. Returns whether one was found.
    bool compareWith(qint64 runId);
    qint64 comparedRun() const { return m_compareRun; }
    qint64 comparedLandscape() const { return m_compare.id; }
    /// Overlays the compared landscape on the shown one instead of side by side.
    void setOverlaid(bool overlaid);
    /// Shows or hides the side column (the list, the new-landscape form, the display options).
    /// The Compare view hides it on the way in, to give both views the width, and brings it
    /// back on the way out unless the user chose otherwise meanwhile.
    void setControlsVisible(bool visible);
    bool areControlsVisible() const;

    /// Writes the current view as PNG; false when nothing is drawn or it could not be written.
    bool saveScreenshot(const QString& fileName);

    /// "alpha 0.10, beta -0.25: loss 0.412, accuracy 88.1%" after a pick; empty before.
    QString readoutText() const;
    /// The line above the views saying why the 3D view is not used, or what failed.
    QString noteText() const;
    bool isEmptyStateVisible() const;
    QString emptyTitle() const;
    bool isProgressVisible() const;

    QComboBox* directionsCombo() const { return m_directions; }
    QComboBox* towardsCombo() const { return m_towards; }
    QSpinBox* gridSpin() const { return m_grid; }
    QDoubleSpinBox* rangeSpin() const { return m_range; }
    QComboBox* modeCombo() const { return m_mode; }
    QSpinBox* samplesSpin() const { return m_samples; }
    QSpinBox* seedSpin() const { return m_seed; }
    QPushButton* computeButton() const { return m_computeButton; }
    QPushButton* cancelButton() const { return m_cancelButton; }
    QPushButton* resumeButton() const { return m_resumeButton; }
    QListWidget* landscapeList() const { return m_list; }
    QComboBox* compareCombo() const { return m_compareCombo; }
    QSlider* snapshotSlider() const { return m_snapshotSlider; }
    QCheckBox* logScaleBox() const { return m_logScale; }
    QCheckBox* contoursBox() const { return m_contours; }
    QCheckBox* clampBox() const { return m_clamp; }
    QDoubleSpinBox* clampSpin() const { return m_clampMax; }
    LandscapeView* surfaceView() const { return m_view3d; }
    LandscapeHeatmap* heatmap() const { return m_heatmap; }
    LandscapeCurves* curves() const { return m_curves; }
    LandscapeComparison* comparison() const { return m_comparison; }
    /// The two heatmaps side by side that stand in for the comparison without an X display.
    LandscapeHeatmap* comparisonHeatmap(int index) const { return m_compareMaps[index ? 1 : 0]; }

public Q_SLOTS:
    /// Asks for a file name and saves the current view there.
    void saveScreenshotDialog();

Q_SIGNALS:
    /// Something went wrong that the user should see (a screenshot that could not be written).
    void errorOccurred(const QString& message);

private:
    QWidget* buildSideColumn();
    QWidget* buildViewArea();

    void updateFromModel();
    void fillRunChoosers();
    void fillList();
    void updateActions();
    void updateViewButtons();
    void updateStack();
    /// Hides the side column on the way into the Compare view, shows it on the way out.
    void updateSideColumn();
    /// Frames the 3D cameras for the views' real size once they are shown (after layout).
    void frameCamerasWhenShown();
    void updateSnapshotSlider();
    void updateNote();
    /// Puts the shown landscape (and the compared one) into the views.
    void renderShown();
    void renderComparison();
    /// Puts both comparison heatmaps on the union of the two landscapes' loss ranges.
    void updateCompareRange();

    void onCompute();
    void onCancel();
    void onResume();
    void onListSelectionChanged();
    void onDirectionsChanged();
    void onSnapshotMoved(int index);
    void onCompareChosen(int index);
    void onDisplayChanged();
    void onPointPicked(int ix, int iy, double alpha, double beta, double loss, double accuracy);
    /// "alpha 0.10, beta -0.25: loss 0.412, accuracy 88.1%" (no beta for a curve).
    static QString readoutFor(bool curve, double alpha, double beta, double loss, double accuracy);
    void onLandscapeStarted(const LandscapeSurface& surface);
    void onPointsArrived(const LandscapePoints& points, double fraction);
    void onLandscapeFinished(const LandscapeSurface& surface);
    void onAnalysisProgress(const QString& phase, double fraction);
    void onAnalysisEnded();
    void resetView();

    /// The landscape of another run to compare the shown one with (see compareWith); id 0
    /// when it has none.
    LandscapeSurface matchingLandscape(qint64 runId) const;
    /// The snapshots comparable with the shown landscape, by step (one per step).
    QVector<const LandscapeSurface*> snapshotGroup() const;
    /// The best 2D view where a 2D landscape is shown: 3D where VTK renders, else the heatmap.
    View default2DView() const;

    ActiveRunData* m_data;
    RunBackend* m_backend;
    AnalysisControls* m_controls = nullptr;

    qint64 m_shownId = 0;
    qint64 m_liveId = 0;  ///< the shown run's landscape being computed
    View m_view = View::Heatmap;
    View m_chosen2DView = View::Heatmap;  ///< the user's last 2D view
    qint64 m_compareRun = 0;
    LandscapeSurface m_compare;  ///< the compared landscape (id 0: none)
    QVector<qint64> m_snapshotIds;
    QString m_readout;
    QString m_lastDir;

    // Side column.
    QListWidget* m_list;
    QPushButton* m_resumeButton;
    QComboBox* m_compareCombo;
    QFormLayout* m_form = nullptr;
    QComboBox* m_directions;
    QComboBox* m_towards;
    QSpinBox* m_grid;
    QDoubleSpinBox* m_range;
    QComboBox* m_mode;
    QSpinBox* m_samples;
    QSpinBox* m_seed;
    QPushButton* m_computeButton;
    QPushButton* m_cancelButton;
    QCheckBox* m_logScale;
    QCheckBox* m_contours;
    QCheckBox* m_clamp;
    QDoubleSpinBox* m_clampMax;

    // View area.
    QWidget* m_side = nullptr;
    QToolButton* m_sideToggle = nullptr;
    bool m_sideAutoHidden = false;  ///< hidden by entering the Compare view
    int m_lastPage = 0;
    /// The 3D camera was last framed for another grid, or while the view was hidden (and so
    /// for the wrong size): it is framed again when the 3D view is shown.
    bool m_cameraStale = true;
    QString m_cameraGrid;
    QButtonGroup* m_viewButtons;
    QToolButton* m_resetButton;
    QToolButton* m_saveButton;
    QLabel* m_note;
    QProgressBar* m_progress;
    QStackedWidget* m_stack;
    EmptyStateWidget* m_empty;
    LandscapeView* m_view3d;
    LandscapeHeatmap* m_heatmap;
    LandscapeCurves* m_curves;
    QStackedWidget* m_comparePage;
    LandscapeComparison* m_comparison;
    LandscapeHeatmap* m_compareMaps[2];
    QLabel* m_compareCaptions[2];
    QWidget* m_snapshotRow;
    QSlider* m_snapshotSlider;
    QLabel* m_snapshotLabel;
    QLabel* m_readoutLabel;
};

}  // namespace qs::ui
