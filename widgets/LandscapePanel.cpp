#include "widgets/LandscapePanel.h"

#include "visualization/LandscapeComparison.h"
#include "visualization/LandscapeCurves.h"
#include "visualization/LandscapeHeatmap.h"
#include "visualization/LandscapeView.h"
#include "widgets/ActiveRunData.h"
#include "widgets/AnalysisControls.h"
#include "widgets/EmptyStateWidget.h"

#include <QButtonGroup>
#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QImage>
#include <QLabel>
#include <QListWidget>
#include <QLocale>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSignalBlocker>
#include <QSlider>
#include <QSpinBox>
#include <QSplitter>
#include <QStackedWidget>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <limits>

namespace qs::ui {
namespace {

enum Page { EmptyPage, SurfacePage, HeatmapPage, CurvesPage, ComparePage };

const QColor kRunningColor(0x15, 0x65, 0xc0);
const QColor kPausedColor(0xb2, 0x6a, 0x00);
const QColor kFailedColor(0xc6, 0x28, 0x28);

QString kindText(const QString& kind) {
    if (kind == QLatin1String("hessian")) {
        return QObject::tr("Hessian");
    }
    return kind;
}

QString gridText(const LandscapeSurface& s) {
    return s.isCurve() ? QObject::tr("%1 points").arg(s.nx)
                       : QStringLiteral("%1×%2").arg(s.nx).arg(s.ny);
}

QString number(double v, int decimals) {
    return QLocale().toString(v, 'f', decimals);
}

int percentDone(const LandscapeSurface& s) {
    const int total = s.nx * s.ny;
    return total > 0 ? int(std::lround(100.0 * s.finishedCount() / total)) : 0;
}

/// The status part of a landscape's list entry: nothing for a finished one.
QString statusText(const LandscapeSurface& s) {
    if (s.status == QLatin1String("running")) {
        return QObject::tr("computing, %1 %").arg(percentDone(s));
    }
    if (s.status == QLatin1String("cancelled") || s.status == QLatin1String("interrupted")) {
        return QObject::tr("%1 at %2 %").arg(s.status).arg(percentDone(s));
    }
    if (s.status == QLatin1String("finished") || s.status.isEmpty()) {
        return {};
    }
    return s.status;
}

QString itemText(const LandscapeSurface& s) {
    QString second = s.mode;
    const QString status = statusText(s);
    if (!status.isEmpty()) {
        second += QStringLiteral(" · ") + status;
    }
    return QObject::tr("Step %1 · %2 %3").arg(s.step).arg(kindText(s.kind), gridText(s)) +
           QLatin1Char('\n') + second;
}

QString itemToolTip(const LandscapeSurface& s) {
    QString range = QObject::tr("alpha %1 … %2").arg(s.xMin).arg(s.xMax);
    if (!s.isCurve()) {
        range += QObject::tr(", beta %1 … %2").arg(s.yMin).arg(s.yMax);
    }
    return QObject::tr("%1\n%2\n%3 images · seed %4 · %5 of %6 points")
        .arg(s.label.isEmpty() ? itemText(s).section(QLatin1Char('\n'), 0, 0) : s.label, range)
        .arg(s.samples)
        .arg(s.seed)
        .arg(s.finishedCount())
        .arg(s.nx * s.ny);
}

QColor statusColor(const QString& status) {
    if (status == QLatin1String("running")) {
        return kRunningColor;
    }
    if (status == QLatin1String("cancelled") || status == QLatin1String("interrupted")) {
        return kPausedColor;
    }
    if (status == QLatin1String("failed")) {
        return kFailedColor;
    }
    return {};
}

bool sameDirections(const LandscapeSurface& a, const LandscapeSurface& b) {
    return a.kind == b.kind && a.nx == b.nx && a.ny == b.ny && a.xMin == b.xMin &&
           a.xMax == b.xMax && a.yMin == b.yMin && a.yMax == b.yMax;
}

QLabel* sectionTitle(const QString& text) {
    auto* l = new QLabel(QStringLiteral("<b>%1</b>").arg(text.toHtmlEscaped()));
    l->setTextFormat(Qt::RichText);
    return l;
}

QLabel* greyLabel() {
    auto* l = new QLabel;
    QPalette pal = l->palette();
    pal.setColor(QPalette::WindowText, pal.color(QPalette::PlaceholderText));
    l->setPalette(pal);
    return l;
}

}  // namespace

LandscapePanel::LandscapePanel(ActiveRunData* data, QWidget* parent)
    : QWidget(parent), m_data(data), m_backend(data->backend()) {
    setObjectName(QStringLiteral("LandscapePanel"));
    m_chosen2DView = default2DView();
    m_view = m_chosen2DView;

    auto* split = new QSplitter(Qt::Horizontal);
    split->setObjectName(QStringLiteral("landscapeSplitter"));
    split->addWidget(buildViewArea());
    m_side = buildSideColumn();
    split->addWidget(m_side);
    split->setChildrenCollapsible(false);
    split->setStretchFactor(0, 1);
    split->setStretchFactor(1, 0);
    split->setSizes({640, 230});
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(split);

    connect(data, &ActiveRunData::reset, this, &LandscapePanel::updateFromModel);
    connect(data, &ActiveRunData::statusChanged, this, [this] {
        updateActions();
        updateStack();
    });
    connect(data, &ActiveRunData::landscapeStarted, this, &LandscapePanel::onLandscapeStarted);
    connect(data, &ActiveRunData::landscapePointsArrived, this, &LandscapePanel::onPointsArrived);
    connect(data, &ActiveRunData::landscapeFinished, this, &LandscapePanel::onLandscapeFinished);
    connect(data, &ActiveRunData::analysisProgress, this, &LandscapePanel::onAnalysisProgress);
    connect(data, &ActiveRunData::analysisEnded, this, &LandscapePanel::onAnalysisEnded);
    connect(m_backend, &RunBackend::runsChanged, this, &LandscapePanel::fillRunChoosers);
    // The compared landscape belongs to another run, which ActiveRunData does not follow.
    connect(m_backend, &RunBackend::landscapePointsArrived, this,
            [this](const LandscapePoints& points, double) {
                if (m_compare.id == 0 || points.id != m_compare.id ||
                    !applyLandscapePoints(m_compare, points)) {
                    return;
                }
                m_comparison->applyPoints(points);
                m_compareMaps[1]->applyPoints(points);
                m_curves->applyPoints(points);
                updateCompareRange();
            });
    connect(m_backend, &RunBackend::landscapeFinished, this,
            [this](const LandscapeSurface& surface) {
                if (m_compare.id != 0 && surface.id == m_compare.id) {
                    m_compare = surface;
                    renderShown();
                }
            });
    updateFromModel();
}

LandscapePanel::~LandscapePanel() = default;

QWidget* LandscapePanel::buildViewArea() {
    auto* area = new QWidget;
    m_viewButtons = new QButtonGroup(this);
    auto* bar = new QHBoxLayout;
    bar->setContentsMargins(6, 4, 6, 2);
    bar->setSpacing(2);
    const std::pair<View, QString> views[] = {{View::Surface3D, tr("3D")},
                                              {View::Heatmap, tr("Heatmap")},
                                              {View::Curves, tr("Curves")},
                                              {View::Compare, tr("Compare")}};
    for (const auto& [view, text] : views) {
        auto* button = new QToolButton;
        button->setText(text);
        button->setCheckable(true);
        button->setToolButtonStyle(Qt::ToolButtonTextOnly);
        button->setObjectName(QStringLiteral("landscapeView") + text);
        m_viewButtons->addButton(button, static_cast<int>(view));
        bar->addWidget(button);
    }
    m_viewButtons->setExclusive(true);
    bar->addStretch(1);
    m_sideToggle = new QToolButton;
    m_sideToggle->setObjectName(QStringLiteral("landscapeControlsToggle"));
    m_sideToggle->setText(tr("Controls"));
    m_sideToggle->setCheckable(true);
    m_sideToggle->setChecked(true);
    m_sideToggle->setToolTip(
        tr("Show or hide the landscape list and the controls beside the "
           "views"));
    bar->addWidget(m_sideToggle);
    connect(m_sideToggle, &QToolButton::toggled, this, &LandscapePanel::setControlsVisible);

    m_note = greyLabel();
    m_note->setObjectName(QStringLiteral("landscapeNote"));
    m_note->setWordWrap(true);
    m_note->setContentsMargins(8, 0, 8, 2);
    m_progress = new QProgressBar;
    m_progress->setObjectName(QStringLiteral("landscapeProgress"));
    m_progress->setRange(0, 1000);
    m_progress->setVisible(false);

    m_empty = new EmptyStateWidget;
    m_view3d = new LandscapeView;
    m_heatmap = new LandscapeHeatmap;
    m_curves = new LandscapeCurves;
    m_comparison = new LandscapeComparison;
    m_heatmap->setObjectName(QStringLiteral("landscapeHeatmap"));
    m_curves->setObjectName(QStringLiteral("landscapeCurves"));
    m_curves->setEmptyText(tr("1D landscapes (interpolations) show here"));

    // Without an X display the comparison's 3D views cannot render: two heatmaps on one colour
    // scale stand in for them.
    auto* fallback = new QWidget;
    auto* fallbackLayout = new QHBoxLayout(fallback);
    fallbackLayout->setContentsMargins(0, 0, 0, 0);
    fallbackLayout->setSpacing(4);
    for (int i = 0; i < 2; ++i) {
        auto* column = new QVBoxLayout;
        column->setSpacing(0);
        m_compareCaptions[i] = new QLabel;
        m_compareCaptions[i]->setContentsMargins(6, 2, 6, 2);
        m_compareCaptions[i]->setWordWrap(true);
        m_compareMaps[i] = new LandscapeHeatmap;
        column->addWidget(m_compareCaptions[i]);
        column->addWidget(m_compareMaps[i], 1);
        fallbackLayout->addLayout(column, 1);
    }
    // The comparison's own mode buttons change the views' widths: frame the cameras again.
    if (auto* modes = m_comparison->findChild<QButtonGroup*>()) {
        connect(modes, &QButtonGroup::idClicked, this, &LandscapePanel::frameCamerasWhenShown);
    }
    m_comparePage = new QStackedWidget;
    m_comparePage->addWidget(m_comparison);
    m_comparePage->addWidget(fallback);
    m_comparePage->setCurrentIndex(LandscapeView::isRenderingAvailable() ? 0 : 1);
    // Two views side by side need room, but only while they are shown: their minimum width
    // must not hold the whole dashboard wide.
    m_comparePage->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);

    m_stack = new QStackedWidget;
    m_stack->setObjectName(QStringLiteral("landscapeStack"));
    m_stack->insertWidget(EmptyPage, m_empty);
    m_stack->insertWidget(SurfacePage, m_view3d);
    m_stack->insertWidget(HeatmapPage, m_heatmap);
    m_stack->insertWidget(CurvesPage, m_curves);
    m_stack->insertWidget(ComparePage, m_comparePage);

    m_snapshotRow = new QWidget;
    auto* snapshots = new QHBoxLayout(m_snapshotRow);
    snapshots->setContentsMargins(8, 2, 8, 0);
    auto* snapshotTitle = new QLabel(tr("Snapshots"));
    m_snapshotSlider = new QSlider(Qt::Horizontal);
    m_snapshotSlider->setObjectName(QStringLiteral("snapshotSlider"));
    m_snapshotSlider->setTickPosition(QSlider::TicksBelow);
    m_snapshotSlider->setTickInterval(1);
    m_snapshotSlider->setPageStep(1);
    m_snapshotSlider->setToolTip(
        tr("The same directions evaluated at several training steps: move to watch the "
           "landscape change as the run trained"));
    m_snapshotLabel = new QLabel;
    snapshots->addWidget(snapshotTitle);
    snapshots->addWidget(m_snapshotSlider, 1);
    snapshots->addWidget(m_snapshotLabel);
    m_snapshotRow->setVisible(false);

    m_readoutLabel = new QLabel;
    m_readoutLabel->setObjectName(QStringLiteral("landscapeReadout"));
    m_readoutLabel->setContentsMargins(8, 2, 8, 4);
    m_readoutLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);

    auto* layout = new QVBoxLayout(area);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(2);
    layout->addLayout(bar);
    layout->addWidget(m_note);
    layout->addWidget(m_progress);
    layout->addWidget(m_stack, 1);
    layout->addWidget(m_snapshotRow);
    layout->addWidget(m_readoutLabel);

    connect(m_viewButtons, &QButtonGroup::idClicked, this,
            [this](int id) { setView(static_cast<View>(id)); });
    connect(m_snapshotSlider, &QSlider::valueChanged, this, &LandscapePanel::onSnapshotMoved);
    connect(m_view3d, &LandscapeView::pointPicked, this, &LandscapePanel::onPointPicked);
    connect(m_heatmap, &LandscapeHeatmap::pointPicked, this, &LandscapePanel::onPointPicked);
    // In the comparison, a pick on either side reads that side's landscape.
    auto comparedPick = [this](int, int, double alpha, double beta, double loss, double acc) {
        m_readout =
            tr("Run %1 · ").arg(m_compare.runId) + readoutFor(false, alpha, beta, loss, acc);
        m_readoutLabel->setText(m_readout.toHtmlEscaped());
    };
    connect(m_compareMaps[0], &LandscapeHeatmap::pointPicked, this, &LandscapePanel::onPointPicked);
    connect(m_compareMaps[1], &LandscapeHeatmap::pointPicked, this, comparedPick);
    connect(m_comparison->view(0), &LandscapeView::pointPicked, this,
            &LandscapePanel::onPointPicked);
    connect(m_comparison->view(1), &LandscapeView::pointPicked, this, comparedPick);
    return area;
}

QWidget* LandscapePanel::buildSideColumn() {
    auto* column = new QWidget;
    auto* layout = new QVBoxLayout(column);
    layout->setContentsMargins(6, 6, 6, 6);
    layout->setSpacing(4);

    // The run's landscapes.
    m_list = new QListWidget;
    m_list->setObjectName(QStringLiteral("landscapeList"));
    m_list->setWordWrap(false);
    m_list->setMinimumHeight(90);
    m_list->setTextElideMode(Qt::ElideRight);
    m_list->setSpacing(1);
    m_resumeButton = new QPushButton(tr("Resume"));
    m_resumeButton->setObjectName(QStringLiteral("resumeLandscapeButton"));
    m_resumeButton->setAutoDefault(false);
    layout->addWidget(sectionTitle(tr("Landscapes of this run")));
    layout->addWidget(m_list, 1);

    m_compareCombo = new QComboBox;
    m_compareCombo->setObjectName(QStringLiteral("compareLandscapeCombo"));
    m_compareCombo->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_compareCombo->setMinimumContentsLength(6);
    m_compareCombo->setToolTip(
        tr("Show another run's landscape beside this one: the one on the same directions, "
           "grid and range if it has one, else its newest"));
    auto* resumeRow = new QHBoxLayout;
    resumeRow->addStretch(1);
    resumeRow->addWidget(m_resumeButton);
    layout->addLayout(resumeRow);
    auto* compareRow = new QHBoxLayout;
    compareRow->addWidget(new QLabel(tr("Compare")));
    compareRow->addWidget(m_compareCombo, 1);
    layout->addLayout(compareRow);

    // A new landscape.
    layout->addSpacing(6);
    layout->addWidget(sectionTitle(tr("New landscape")));
    m_form = new QFormLayout;
    m_form->setContentsMargins(0, 0, 0, 0);
    m_form->setHorizontalSpacing(6);
    m_form->setVerticalSpacing(3);
    m_form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    m_directions = new QComboBox;
    m_directions->setObjectName(QStringLiteral("landscapeDirections"));
    m_directions->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_directions->setMinimumContentsLength(8);
    m_directions->addItem(tr("Random"), QStringLiteral("random"));
    m_directions->addItem(tr("Hessian"), QStringLiteral("hessian"));
    m_directions->addItem(tr("Interpolation"), QStringLiteral("interpolation"));
    m_directions->setItemData(0, tr("Two seeded random directions, filter-normalised"),
                              Qt::ToolTipRole);
    m_directions->setItemData(1, tr("The Hessian's top two eigenvectors (the sharpest directions)"),
                              Qt::ToolTipRole);
    m_directions->setItemData(
        2, tr("A 1D curve from this run's checkpoint (alpha 0) to another run's (alpha 1)"),
        Qt::ToolTipRole);
    m_towards = new QComboBox;
    m_towards->setObjectName(QStringLiteral("landscapeTowards"));
    m_towards->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_towards->setMinimumContentsLength(8);
    m_grid = new QSpinBox;
    m_grid->setObjectName(QStringLiteral("landscapeGrid"));
    m_grid->setRange(3, 201);
    m_grid->setSingleStep(2);
    m_grid->setValue(21);
    m_range = new QDoubleSpinBox;
    m_range->setObjectName(QStringLiteral("landscapeRange"));
    m_range->setRange(0.05, 10.0);
    m_range->setDecimals(2);
    m_range->setSingleStep(0.25);
    m_range->setValue(1.0);
    m_mode = new QComboBox;
    m_mode->setObjectName(QStringLiteral("landscapeMode"));
    m_mode->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_mode->setMinimumContentsLength(8);
    m_mode->addItem(tr("Run's default"), QString());
    for (const char* mode : {"float", "dequantized", "quantize-after"}) {
        m_mode->addItem(QString::fromLatin1(mode), QString::fromLatin1(mode));
    }
    m_mode->setToolTip(
        tr("float: the float weights; dequantized: the weights on their grid; quantize-after: "
           "move the latent weights, then quantize. The run's default is dequantized for a "
           "quantized run and float for a float one"));
    m_samples = new QSpinBox;
    m_samples->setObjectName(QStringLiteral("landscapeSamples"));
    m_samples->setRange(16, 100000);
    m_samples->setSingleStep(100);
    m_samples->setValue(500);
    m_samples->setToolTip(tr("Images of the fixed evaluation subset (training split) per point"));
    m_seed = new QSpinBox;
    m_seed->setObjectName(QStringLiteral("landscapeSeed"));
    m_seed->setRange(0, std::numeric_limits<int>::max());
    m_seed->setValue(123);
    m_seed->setToolTip(
        tr("Seed of the random directions: landscapes with one seed share their directions"));
    m_form->addRow(tr("Directions"), m_directions);
    m_form->addRow(tr("Towards"), m_towards);
    m_form->addRow(tr("Grid"), m_grid);
    m_form->addRow(tr("Range ±"), m_range);
    m_form->addRow(tr("Mode"), m_mode);
    m_form->addRow(tr("Samples"), m_samples);
    m_form->addRow(tr("Seed"), m_seed);
    layout->addLayout(m_form);
    m_computeButton = new QPushButton(tr("Compute"));
    m_computeButton->setObjectName(QStringLiteral("computeLandscapeButton"));
    m_computeButton->setAutoDefault(false);
    m_cancelButton = new QPushButton(tr("Cancel"));
    m_cancelButton->setObjectName(QStringLiteral("cancelLandscapeButton"));
    m_cancelButton->setAutoDefault(false);
    m_cancelButton->setToolTip(
        tr("Stop computing; the points computed so far are kept and Resume continues"));
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(m_computeButton, 1);
    buttons->addWidget(m_cancelButton);
    layout->addLayout(buttons);

    // How the losses are drawn.
    layout->addSpacing(6);
    layout->addWidget(sectionTitle(tr("Display")));
    m_logScale = new QCheckBox(tr("Log scale"));
    m_contours = new QCheckBox(tr("Contours"));
    m_contours->setChecked(true);
    m_clamp = new QCheckBox(tr("Clamp at"));
    m_clamp->setToolTip(
        tr("Draw losses above this value at this value, so that a diverged "
           "corner does not flatten the rest"));
    m_clampMax = new QDoubleSpinBox;
    m_clampMax->setRange(0.01, 1e6);
    m_clampMax->setDecimals(2);
    m_clampMax->setValue(5.0);
    m_clampMax->setEnabled(false);
    auto* display = new QHBoxLayout;
    display->addWidget(m_logScale);
    display->addWidget(m_contours);
    display->addStretch(1);
    layout->addLayout(display);
    auto* clamp = new QHBoxLayout;
    clamp->addWidget(m_clamp);
    clamp->addWidget(m_clampMax, 1);
    layout->addLayout(clamp);
    m_resetButton = new QToolButton;
    m_resetButton->setText(tr("Reset view"));
    m_resetButton->setToolTip(tr("Put the camera (or the axes) back to show the whole grid"));
    m_saveButton = new QToolButton;
    m_saveButton->setText(tr("Save image…"));
    m_saveButton->setToolTip(tr("Save the current view as a PNG image"));
    auto* viewButtons = new QHBoxLayout;
    viewButtons->addWidget(m_resetButton);
    viewButtons->addWidget(m_saveButton);
    viewButtons->addStretch(1);
    layout->addLayout(viewButtons);
    connect(m_resetButton, &QToolButton::clicked, this, &LandscapePanel::resetView);
    connect(m_saveButton, &QToolButton::clicked, this, &LandscapePanel::saveScreenshotDialog);

    connect(m_list, &QListWidget::currentItemChanged, this,
            &LandscapePanel::onListSelectionChanged);
    connect(m_resumeButton, &QPushButton::clicked, this, &LandscapePanel::onResume);
    connect(m_compareCombo, &QComboBox::activated, this, &LandscapePanel::onCompareChosen);
    connect(m_directions, &QComboBox::currentIndexChanged, this,
            &LandscapePanel::onDirectionsChanged);
    connect(m_towards, &QComboBox::currentIndexChanged, this, &LandscapePanel::updateActions);
    connect(m_grid, &QSpinBox::valueChanged, this, &LandscapePanel::updateActions);
    connect(m_computeButton, &QPushButton::clicked, this, &LandscapePanel::onCompute);
    connect(m_cancelButton, &QPushButton::clicked, this, &LandscapePanel::onCancel);
    connect(m_logScale, &QCheckBox::toggled, this, &LandscapePanel::onDisplayChanged);
    connect(m_contours, &QCheckBox::toggled, this, &LandscapePanel::onDisplayChanged);
    connect(m_clamp, &QCheckBox::toggled, this, &LandscapePanel::onDisplayChanged);
    connect(m_clampMax, &QDoubleSpinBox::valueChanged, this, &LandscapePanel::onDisplayChanged);

    auto* scroll = new QScrollArea;
    scroll->setObjectName(QStringLiteral("landscapeSide"));
    scroll->setWidget(column);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    scroll->setMinimumWidth(column->minimumSizeHint().width() + 12);
    onDirectionsChanged();
    return scroll;
}

void LandscapePanel::setAnalysisControls(AnalysisControls* controls) {
    m_controls = controls;
    if (controls) {
        connect(controls, &AnalysisControls::stateChanged, this, &LandscapePanel::updateActions);
    }
    updateActions();
}

LandscapePanel::View LandscapePanel::default2DView() const {
    return LandscapeView::isRenderingAvailable() ? View::Surface3D : View::Heatmap;
}

LandscapeRequest LandscapePanel::request() const {
    LandscapeRequest r;
    r.directions = m_directions->currentData().toString();
    const bool curve = r.directions == QLatin1String("interpolation");
    r.otherRunId = curve ? m_towards->currentData().toLongLong() : 0;
    r.nx = m_grid->value();
    r.ny = curve ? 1 : m_grid->value();
    const double range = m_range->value();
    if (curve) {
        // Both checkpoints (alpha 0 and 1) and a margin of half the range beyond each.
        r.xMin = -range / 2.0;
        r.xMax = 1.0 + range / 2.0;
        r.yMin = r.yMax = 0.0;
    } else {
        r.xMin = r.yMin = -range;
        r.xMax = r.yMax = range;
    }
    r.mode = m_mode->currentData().toString();
    r.samples = m_samples->value();
    r.seed = quint64(m_seed->value());
    return r;
}

LandscapeSurface LandscapePanel::shownSurface() const {
    const LandscapeSurface* s = m_data->landscape(m_shownId);
    return s ? *s : LandscapeSurface{};
}

void LandscapePanel::updateFromModel() {
    m_compareRun = 0;
    m_compare = LandscapeSurface{};
    m_liveId = 0;
    for (const LandscapeSurface& s : m_data->landscapes()) {
        if (s.status == QLatin1String("running") && m_backend->isAnalysing()) {
            m_liveId = s.id;
        }
    }
    m_progress->setVisible(m_liveId != 0);
    fillRunChoosers();
    const QVector<LandscapeSurface>& all = m_data->landscapes();
    showLandscape(m_liveId != 0 ? m_liveId : (all.isEmpty() ? 0 : all.last().id));
}

void LandscapePanel::fillRunChoosers() {
    const qint64 shownRun = m_data->runId();
    const qint64 towards = m_towards->currentData().toLongLong();
    const QSignalBlocker blockTowards(m_towards);
    const QSignalBlocker blockCompare(m_compareCombo);
    m_towards->clear();
    m_compareCombo->clear();
    m_compareCombo->addItem(tr("None"), qint64(0));
    const QVector<RunSummary> runs = shownRun == 0 ? QVector<RunSummary>{} : m_backend->listRuns();
    for (const RunSummary& run : runs) {
        if (run.id == shownRun) {
            continue;
        }
        const QString text = QStringLiteral("#%1 %2").arg(run.id).arg(run.name);
        if (AnalysisControls::canMeasure(run.status)) {
            m_towards->addItem(text, run.id);
        }
        if (!m_backend->landscapes(run.id).isEmpty()) {
            m_compareCombo->addItem(text, run.id);
        }
    }
    m_towards->setCurrentIndex(std::max(0, m_towards->findData(towards)));
    m_compareCombo->setCurrentIndex(std::max(0, m_compareCombo->findData(m_compareRun)));
    m_compareCombo->setEnabled(m_compareCombo->count() > 1);
    updateActions();
}

void LandscapePanel::fillList() {
    const QSignalBlocker block(m_list);
    m_list->clear();
    for (const LandscapeSurface& s : m_data->landscapes()) {
        auto* item = new QListWidgetItem(itemText(s), m_list);
        item->setData(Qt::UserRole, s.id);
        item->setToolTip(itemToolTip(s));
        const QColor color = statusColor(s.status);
        if (color.isValid()) {
            item->setForeground(color);
        }
        if (s.id == m_shownId) {
            m_list->setCurrentItem(item);
        }
    }
    if (m_list->currentItem()) {
        m_list->scrollToItem(m_list->currentItem());
    }
}

void LandscapePanel::showLandscape(qint64 id) {
    const LandscapeSurface* s = m_data->landscape(id);
    m_shownId = s ? id : 0;
    m_readout.clear();
    if (s && s->isCurve()) {
        m_view = View::Curves;
    } else if (s && (m_view == View::Curves || !isViewAvailable(m_view))) {
        m_view = m_chosen2DView;
    }
    // The compared run's matching landscape follows the shown one.
    if (m_compareRun != 0) {
        m_compare = matchingLandscape(m_compareRun);
        if (m_compare.id == 0) {
            m_compareRun = 0;
        }
    }
    if (m_view == View::Compare && !isViewAvailable(View::Compare)) {
        m_view = s && s->isCurve() ? View::Curves : m_chosen2DView;
    }
    fillList();
    renderShown();
    updateSnapshotSlider();
    updateViewButtons();
    updateStack();
    updateActions();
}

void LandscapePanel::renderShown() {
    const LandscapeSurface s = shownSurface();
    m_curves->clear();
    if (!s.isValid()) {
        m_view3d->clear();
        m_heatmap->clear();
    } else if (s.isCurve()) {
        m_view3d->clear();
        m_heatmap->clear();
        m_curves->addSurface(s);
        if (m_compare.id != 0 && m_compare.isCurve()) {
            m_curves->addSurface(m_compare);
        }
    } else {
        const QString grid = QStringLiteral("%1 %2 %3 %4 %5 %6")
                                 .arg(s.nx)
                                 .arg(s.ny)
                                 .arg(s.xMin)
                                 .arg(s.xMax)
                                 .arg(s.yMin)
                                 .arg(s.yMax);
        if (grid != m_cameraGrid) {
            m_cameraGrid = grid;
            m_cameraStale = true;
        }
        m_view3d->setSurface(s);
        m_heatmap->setSurface(s);
    }
    renderComparison();
    m_readoutLabel->setText(
        m_readout.isEmpty() && s.isValid() && !s.isCurve()
            ? tr("<span style='color:#757575'>Click the surface to read a point's loss and "
                 "accuracy</span>")
            : m_readout.toHtmlEscaped());
    updateNote();
}

void LandscapePanel::renderComparison() {
    const LandscapeSurface s = shownSurface();
    const bool both2D = m_compare.id != 0 && m_compare.isValid() && !m_compare.isCurve() &&
                        s.isValid() && !s.isCurve();
    if (!both2D) {
        m_comparison->setSurfaces(LandscapeSurface{}, LandscapeSurface{});
        m_compareMaps[0]->clear();
        m_compareMaps[1]->clear();
        return;
    }
    // The legends name the runs: the landscapes' own labels say only what they are.
    const QString runName = m_data->data().summary.name;
    const QString otherName = m_compareCombo->currentIndex() > 0
                                  ? m_compareCombo->currentText().section(QLatin1Char(' '), 1)
                                  : QString();
    LandscapeSurface first = s;
    LandscapeSurface second = m_compare;
    first.label = QStringLiteral("#%1 %2 · step %3").arg(s.runId).arg(runName).arg(s.step);
    second.label =
        QStringLiteral("#%1 %2 · step %3").arg(m_compare.runId).arg(otherName).arg(m_compare.step);
    m_comparison->setSurfaces(first, second);
    m_compareMaps[0]->setSurface(s);
    m_compareMaps[1]->setSurface(m_compare);
    updateCompareRange();
    m_compareCaptions[0]->setText(
        tr("<b>#%1 %2</b> · step %3").arg(s.runId).arg(runName.toHtmlEscaped()).arg(s.step));
    m_compareCaptions[1]->setText(tr("<b>#%1 %2</b> · step %3")
                                      .arg(m_compare.runId)
                                      .arg(otherName.toHtmlEscaped())
                                      .arg(m_compare.step));
}

void LandscapePanel::updateCompareRange() {
    // One colour scale for both heatmaps, as the 3D comparison has one height scale: flatness
    // is compared by eye.
    const LandscapeSurface s = shownSurface();
    const LandscapeRange both = landscapeRange({&s, &m_compare}, LandscapeDisplay{});
    for (LandscapeHeatmap* map : m_compareMaps) {
        map->setSharedRange(both.lossMin, both.lossMax);
    }
}

bool LandscapePanel::isViewAvailable(View view) const {
    const LandscapeSurface* s = m_data->landscape(m_shownId);
    const bool is2D = s && s->isValid() && !s->isCurve();
    switch (view) {
        case View::Surface3D:
            return is2D && LandscapeView::isRenderingAvailable();
        case View::Heatmap:
            return is2D;
        case View::Curves:
            return s && s->isCurve();
        case View::Compare:
            return is2D && m_compare.id != 0 && !m_compare.isCurve();
    }
    return false;
}

void LandscapePanel::setView(View view) {
    if (!isViewAvailable(view)) {
        updateViewButtons();
        return;
    }
    m_view = view;
    if (view == View::Surface3D || view == View::Heatmap) {
        m_chosen2DView = view;
    }
    updateViewButtons();
    updateStack();
    updateNote();
}

void LandscapePanel::updateViewButtons() {
    const QSignalBlocker block(m_viewButtons);
    for (View v : {View::Surface3D, View::Heatmap, View::Curves, View::Compare}) {
        QAbstractButton* b = m_viewButtons->button(static_cast<int>(v));
        b->setEnabled(isViewAvailable(v));
        b->setChecked(v == m_view && m_shownId != 0);
    }
    m_viewButtons->button(static_cast<int>(View::Surface3D))
        ->setToolTip(LandscapeView::isRenderingAvailable()
                         ? tr("The landscape as a 3D surface: drag to rotate, wheel to zoom, "
                              "click to read a point")
                         : tr("The 3D view needs an X display; the heatmap shows the same "
                              "landscape from above"));
    m_viewButtons->button(static_cast<int>(View::Compare))
        ->setToolTip(m_compare.id != 0
                         ? tr("This landscape beside the compared run's")
                         : tr("Choose a run under \"Compare with\" to see its landscape beside "
                              "this one"));
    m_resetButton->setEnabled(m_shownId != 0);
    m_saveButton->setEnabled(m_shownId != 0);
}

void LandscapePanel::updateStack() {
    const qint64 runId = m_data->runId();
    if (runId == 0 || m_shownId == 0) {
        if (runId == 0) {
            m_empty->setText(tr("No run selected"),
                             tr("Open a run to see its loss landscapes or compute one."));
        } else if (m_data->isLive()) {
            m_empty->setText(tr("No landscape yet"),
                             tr("This run is training. Landscape snapshots it takes appear "
                                "here; compute one around its checkpoint after it ends."));
        } else if (!AnalysisControls::canMeasure(m_data->data().summary.status)) {
            m_empty->setText(tr("No landscape for this run"),
                             tr("The run ended without a final checkpoint to compute one "
                                "around."));
        } else {
            m_empty->setText(tr("No landscape for this run yet: choose directions and Compute"),
                             tr("The loss and accuracy around the run's last checkpoint on a "
                                "grid of two directions (or along a line to another run), "
                                "stored with the run."));
        }
        m_stack->setCurrentIndex(EmptyPage);
        updateSideColumn();
        return;
    }
    switch (m_view) {
        case View::Surface3D:
            m_stack->setCurrentIndex(SurfacePage);
            break;
        case View::Heatmap:
            m_stack->setCurrentIndex(HeatmapPage);
            break;
        case View::Curves:
            m_stack->setCurrentIndex(CurvesPage);
            break;
        case View::Compare:
            m_stack->setCurrentIndex(ComparePage);
            break;
    }
    updateSideColumn();
}

void LandscapePanel::updateSideColumn() {
    const int page = m_stack->currentIndex();
    if (page == ComparePage && m_lastPage != ComparePage && !m_side->isHidden()) {
        m_side->hide();
        m_sideAutoHidden = true;
    } else if (page != ComparePage && m_lastPage == ComparePage && m_sideAutoHidden) {
        m_side->show();
        m_sideAutoHidden = false;
    }
    const bool entered = page != m_lastPage;
    m_lastPage = page;
    const QSignalBlocker block(m_sideToggle);
    m_sideToggle->setChecked(!m_side->isHidden());
    if ((page == SurfacePage && m_cameraStale) ||
        (page == ComparePage && entered && LandscapeView::isRenderingAvailable())) {
        frameCamerasWhenShown();
    }
}

void LandscapePanel::frameCamerasWhenShown() {
    // VTK frames the camera for the render window's size, which a view only learns when it
    // renders: a view filled while hidden renders once at its real size, then is framed.
    QTimer::singleShot(0, this, [this] {
        if (!LandscapeView::isRenderingAvailable()) {
            return;
        }
        if (m_stack->currentIndex() == SurfacePage && m_view3d->isVisible() &&
            m_view3d->hasSurface()) {
            m_view3d->grabImage();
            m_view3d->resetCamera();
            m_cameraStale = false;
        } else if (m_stack->currentIndex() == ComparePage && m_comparison->isVisible()) {
            for (int i = 0; i < 2; ++i) {
                if (m_comparison->view(i)->isVisible() && m_comparison->view(i)->hasSurface()) {
                    m_comparison->view(i)->grabImage();
                }
            }
            // The cameras are linked: framing the first frames both.
            m_comparison->view(0)->resetCamera();
        }
    });
}

void LandscapePanel::setControlsVisible(bool visible) {
    m_side->setVisible(visible);
    m_sideAutoHidden = false;
    const QSignalBlocker block(m_sideToggle);
    m_sideToggle->setChecked(visible);
}

bool LandscapePanel::areControlsVisible() const {
    return !m_side->isHidden();
}

void LandscapePanel::updateNote() {
    QStringList notes;
    const LandscapeSurface* s = m_data->landscape(m_shownId);
    if (!LandscapeView::isRenderingAvailable() && s && !s->isCurve()) {
        notes << tr(
            "The 3D view needs an X display and this session has none: the heatmap "
            "shows the landscape from above.");
    }
    if (m_compareRun == 0 && m_compareCombo->currentIndex() > 0) {
        notes << (s && s->isCurve() ? tr("%1 has no 1D landscape to compare with.")
                                    : tr("%1 has no 2D landscape to compare with."))
                     .arg(m_compareCombo->currentText());
    }
    m_note->setText(notes.join(QLatin1Char(' ')));
    m_note->setVisible(!notes.isEmpty());
}

QVector<const LandscapeSurface*> LandscapePanel::snapshotGroup() const {
    const LandscapeSurface* shown = m_data->landscape(m_shownId);
    if (!shown) {
        return {};
    }
    // One landscape per step: the newest, except that the shown one keeps its step.
    QMap<qint64, const LandscapeSurface*> bySteps;
    for (const LandscapeSurface& s : m_data->landscapes()) {
        if (!sameDirections(s, *shown) || s.seed != shown->seed || s.mode != shown->mode) {
            continue;
        }
        const LandscapeSurface* there = bySteps.value(s.step);
        if (!there || there->id != shown->id) {
            bySteps.insert(s.step, &s);
        }
    }
    if (bySteps.size() < 2) {
        return {};
    }
    return bySteps.values().toVector();
}

QVector<qint64> LandscapePanel::snapshotSteps() const {
    QVector<qint64> steps;
    for (const LandscapeSurface* s : snapshotGroup()) {
        steps.append(s->step);
    }
    return steps;
}

void LandscapePanel::updateSnapshotSlider() {
    const QVector<const LandscapeSurface*> group = snapshotGroup();
    m_snapshotIds.clear();
    int current = 0;
    for (int i = 0; i < group.size(); ++i) {
        m_snapshotIds.append(group[i]->id);
        if (group[i]->id == m_shownId) {
            current = i;
        }
    }
    m_snapshotRow->setVisible(!group.isEmpty());
    const QSignalBlocker block(m_snapshotSlider);
    m_snapshotSlider->setRange(0, std::max(0, int(group.size()) - 1));
    m_snapshotSlider->setValue(current);
    m_snapshotLabel->setText(snapshotText());
}

QString LandscapePanel::snapshotText() const {
    if (m_snapshotIds.isEmpty()) {
        return {};
    }
    const LandscapeSurface* s = m_data->landscape(m_shownId);
    if (!s) {
        return {};
    }
    // Epoch ends are where the run logged its evaluations.
    QVector<qint64> ends;
    for (const MetricPoint& m : m_data->data().metrics) {
        if (m.key == QLatin1String("eval/acc") && !ends.contains(m.step)) {
            ends.append(m.step);
        }
    }
    std::sort(ends.begin(), ends.end());
    if (ends.isEmpty()) {
        return tr("step %1").arg(s->step);
    }
    const int done = int(std::upper_bound(ends.begin(), ends.end(), s->step) - ends.begin());
    const int epochs = m_data->data()
                           .spec.value(QStringLiteral("optim"))
                           .toObject()
                           .value(QStringLiteral("epochs"))
                           .toInt(int(ends.size()));
    if (done > 0 && ends[done - 1] == s->step) {
        return tr("step %1 (end of epoch %2 of %3)").arg(s->step).arg(done).arg(epochs);
    }
    return tr("step %1 (epoch %2 of %3)").arg(s->step).arg(done + 1).arg(epochs);
}

void LandscapePanel::updateActions() {
    const qint64 runId = m_data->runId();
    const QString status = m_data->data().summary.status;
    QString reason = m_controls ? m_controls->blockReason(runId, status, m_data->isLive())
                                : tr("Analyses are not available here.");
    const bool curve = m_directions->currentData().toString() == QLatin1String("interpolation");
    const bool computeOk = reason.isEmpty() && (!curve || m_towards->count() > 0);
    m_computeButton->setEnabled(computeOk);
    if (!reason.isEmpty()) {
        m_computeButton->setToolTip(reason);
    } else if (!computeOk) {
        m_computeButton->setToolTip(
            tr("Interpolation needs another finished run to go towards; there is none."));
    } else {
        m_computeButton->setToolTip(
            curve ? tr("Compute the loss along the line from run %1's checkpoint to %2's, at %3 "
                       "points")
                        .arg(runId)
                        .arg(m_towards->currentText())
                        .arg(m_grid->value())
                  : tr("Compute the loss around run %1's last checkpoint on a %2×%2 grid")
                        .arg(runId)
                        .arg(m_grid->value()));
    }
    m_cancelButton->setEnabled(m_liveId != 0 && m_controls);

    const LandscapeSurface* s = m_data->landscape(m_shownId);
    const bool resumable =
        s && (s->status == QLatin1String("cancelled") || s->status == QLatin1String("interrupted"));
    m_resumeButton->setEnabled(resumable && reason.isEmpty());
    if (!resumable) {
        m_resumeButton->setToolTip(
            tr("Continues a cancelled or interrupted landscape (the one selected)"));
    } else if (!reason.isEmpty()) {
        m_resumeButton->setToolTip(reason);
    } else {
        m_resumeButton->setToolTip(tr("Compute the %1 points this landscape still lacks")
                                       .arg(s->nx * s->ny - s->finishedCount()));
    }
}

void LandscapePanel::onDirectionsChanged() {
    const bool curve = m_directions->currentData().toString() == QLatin1String("interpolation");
    m_form->setRowVisible(m_towards, curve);
    m_grid->setToolTip(curve ? tr("Points along the line") : tr("Points per side of the grid"));
    m_range->setToolTip(curve ? tr("Margin beyond the two checkpoints: alpha runs from -r/2 to "
                                   "1 + r/2")
                              : tr("alpha and beta run from -r to r (in units of the "
                                   "filter-normalised directions)"));
    updateActions();
}

void LandscapePanel::onCompute() {
    if (m_controls) {
        m_controls->computeLandscape(m_data->runId(), request());
    }
}

void LandscapePanel::onCancel() {
    if (m_controls) {
        m_controls->cancelAnalysis();
    }
}

void LandscapePanel::onResume() {
    if (m_controls && m_shownId != 0) {
        m_controls->resumeLandscape(m_data->runId(), m_shownId);
    }
}

void LandscapePanel::onListSelectionChanged() {
    QListWidgetItem* item = m_list->currentItem();
    if (item) {
        showLandscape(item->data(Qt::UserRole).toLongLong());
    }
}

void LandscapePanel::onSnapshotMoved(int index) {
    if (index >= 0 && index < m_snapshotIds.size()) {
        showLandscape(m_snapshotIds[index]);
    }
}

void LandscapePanel::onCompareChosen(int index) {
    compareWith(m_compareCombo->itemData(index).toLongLong());
}

LandscapeSurface LandscapePanel::matchingLandscape(qint64 runId) const {
    if (runId == 0 || runId == m_data->runId()) {
        return {};
    }
    const LandscapeSurface shown = shownSurface();
    const QVector<LandscapeSurface> others = m_backend->landscapes(runId);
    for (auto it = others.rbegin(); it != others.rend(); ++it) {
        if (shown.isValid() && sameDirections(*it, shown)) {
            return *it;
        }
    }
    for (auto it = others.rbegin(); it != others.rend(); ++it) {
        if (!shown.isValid() || it->isCurve() == shown.isCurve()) {
            return *it;
        }
    }
    return {};
}

bool LandscapePanel::compareWith(qint64 runId) {
    const LandscapeSurface pick = matchingLandscape(runId);
    const bool found = pick.id != 0;
    m_compareRun = found ? runId : 0;
    m_compare = pick;
    {
        const QSignalBlocker block(m_compareCombo);
        const int index = m_compareCombo->findData(runId);
        m_compareCombo->setCurrentIndex(index < 0 ? 0 : index);
    }
    renderShown();
    if (found) {
        // Show the two together: side by side, or as two curves for 1D landscapes.
        m_view = isViewAvailable(View::Compare) ? View::Compare : m_view;
    } else if (m_view == View::Compare) {
        m_view = isViewAvailable(m_chosen2DView) ? m_chosen2DView : View::Heatmap;
    }
    updateViewButtons();
    updateStack();
    updateNote();
    return found;
}

void LandscapePanel::setOverlaid(bool overlaid) {
    m_comparison->setMode(overlaid ? LandscapeComparison::Mode::Overlaid
                                   : LandscapeComparison::Mode::SideBySide);
    frameCamerasWhenShown();
}

void LandscapePanel::onDisplayChanged() {
    const bool log = m_logScale->isChecked();
    const bool contours = m_contours->isChecked();
    m_clampMax->setEnabled(m_clamp->isChecked());
    const double clamp =
        m_clamp->isChecked() ? m_clampMax->value() : std::numeric_limits<double>::infinity();
    m_view3d->setLogScale(log);
    m_view3d->setContoursVisible(contours);
    m_view3d->setClampMax(clamp);
    m_heatmap->setLogScale(log);
    m_heatmap->setContoursVisible(contours);
    m_heatmap->setClampMax(clamp);
    m_curves->setLogScale(log);
    for (LandscapeHeatmap* map : m_compareMaps) {
        map->setLogScale(log);
        map->setContoursVisible(contours);
        map->setClampMax(clamp);
    }
}

void LandscapePanel::resetView() {
    switch (m_view) {
        case View::Surface3D:
            m_view3d->resetCamera();
            break;
        case View::Heatmap:
            m_heatmap->resetView();
            break;
        case View::Curves:
            m_curves->resetView();
            break;
        case View::Compare:
            m_comparison->view(0)->resetCamera();
            m_compareMaps[0]->resetView();
            m_compareMaps[1]->resetView();
            break;
    }
}

void LandscapePanel::onPointPicked(int, int, double alpha, double beta, double loss,
                                   double accuracy) {
    const LandscapeSurface* s = m_data->landscape(m_shownId);
    m_readout = readoutFor(s && s->isCurve(), alpha, beta, loss, accuracy);
    m_readoutLabel->setText(m_readout.toHtmlEscaped());
}

QString LandscapePanel::readoutFor(bool curve, double alpha, double beta, double loss,
                                   double accuracy) {
    QString where = tr("alpha %1").arg(number(alpha, 2));
    if (!curve) {
        where += tr(", beta %1").arg(number(beta, 2));
    }
    return tr("%1: loss %2, accuracy %3%")
        .arg(where, QLocale().toString(loss, 'g', 3), number(100.0 * accuracy, 1));
}

QString LandscapePanel::readoutText() const {
    return m_readout;
}

QString LandscapePanel::noteText() const {
    return m_note->isHidden() ? QString() : m_note->text();
}

bool LandscapePanel::isEmptyStateVisible() const {
    return m_stack->currentIndex() == EmptyPage;
}

QString LandscapePanel::emptyTitle() const {
    return m_empty->title();
}

bool LandscapePanel::isProgressVisible() const {
    return !m_progress->isHidden();
}

void LandscapePanel::onLandscapeStarted(const LandscapeSurface& surface) {
    m_liveId = surface.id;
    m_progress->setValue(
        int(std::lround(1000.0 * surface.finishedCount() / std::max(1, surface.nx * surface.ny))));
    m_progress->setFormat(tr("Computing… %p%"));
    m_progress->setVisible(true);
    // The user asked for it: show it as it fills in.
    showLandscape(surface.id);
}

void LandscapePanel::onPointsArrived(const LandscapePoints& points, double fraction) {
    if (points.id == m_shownId) {
        m_view3d->applyPoints(points);
        m_heatmap->applyPoints(points);
        m_curves->applyPoints(points);
        m_comparison->applyPoints(points);
        m_compareMaps[0]->applyPoints(points);
        if (m_compare.id != 0) {
            updateCompareRange();
        }
    }
    if (points.id == m_liveId) {
        m_progress->setValue(int(std::lround(1000.0 * std::clamp(fraction, 0.0, 1.0))));
    }
    if (const LandscapeSurface* s = m_data->landscape(points.id)) {
        for (int i = 0; i < m_list->count(); ++i) {
            QListWidgetItem* item = m_list->item(i);
            if (item->data(Qt::UserRole).toLongLong() == points.id) {
                item->setText(itemText(*s));
            }
        }
    }
}

void LandscapePanel::onLandscapeFinished(const LandscapeSurface& surface) {
    if (surface.id == m_liveId) {
        m_liveId = 0;
        m_progress->setVisible(false);
    }
    if (surface.id == m_shownId || m_shownId == 0) {
        showLandscape(surface.id);
    } else {
        fillList();
        updateSnapshotSlider();
        updateActions();
    }
}

void LandscapePanel::onAnalysisProgress(const QString& phase, double fraction) {
    if (m_liveId == 0) {
        return;
    }
    m_progress->setValue(int(std::lround(1000.0 * std::clamp(fraction, 0.0, 1.0))));
    m_progress->setFormat(phase.isEmpty() ? tr("Computing… %p%") : phase + tr(" · %p%"));
}

void LandscapePanel::onAnalysisEnded() {
    // A landscape that failed ends without landscapeFinished: its stored state is re-read.
    if (m_liveId != 0 && !m_backend->isAnalysing()) {
        m_liveId = 0;
        m_progress->setVisible(false);
        showLandscape(m_shownId);
    }
    updateActions();
}

bool LandscapePanel::saveScreenshot(const QString& fileName) {
    if (m_stack->currentIndex() == EmptyPage || fileName.isEmpty()) {
        return false;
    }
    auto plotSize = [](const QWidget* w) {
        return QSize(std::max(640, w->width()), std::max(480, w->height()));
    };
    switch (m_view) {
        case View::Surface3D:
            return m_view3d->saveScreenshot(fileName);
        case View::Heatmap: {
            const QSize size = plotSize(m_heatmap);
            return m_heatmap->savePng(fileName, size.width(), size.height());
        }
        case View::Curves: {
            const QSize size = plotSize(m_curves);
            return m_curves->savePng(fileName, size.width(), size.height());
        }
        case View::Compare:
            return m_comparePage->currentWidget()->grab().toImage().save(fileName, "PNG");
    }
    return false;
}

void LandscapePanel::saveScreenshotDialog() {
    const LandscapeSurface s = shownSurface();
    if (!s.isValid()) {
        return;
    }
    const QString suggested = QDir(m_lastDir.isEmpty() ? QDir::homePath() : m_lastDir)
                                  .filePath(QStringLiteral("landscape-run%1-step%2-%3.png")
                                                .arg(s.runId)
                                                .arg(s.step)
                                                .arg(s.kind));
    const QString file = QFileDialog::getSaveFileName(this, tr("Save landscape image"), suggested,
                                                      tr("PNG images (*.png)"));
    if (file.isEmpty()) {
        return;
    }
    m_lastDir = QFileInfo(file).absolutePath();
    if (!saveScreenshot(file)) {
        Q_EMIT errorOccurred(tr("Could not write the landscape image %1").arg(file));
    }
}

}  // namespace qs::ui
