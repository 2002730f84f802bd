#include "visualization/LandscapeView.h"

#include "visualization/PlotStyle.h"

#include <QMouseEvent>
#include <QPainter>
#include <QPointer>
#include <QResizeEvent>
#include <QShowEvent>
#include <QWheelEvent>

#include <vtkActor.h>
#include <vtkCallbackCommand.h>
#include <vtkCamera.h>
#include <vtkCellArray.h>
#include <vtkCellPicker.h>
#include <vtkContourFilter.h>
#include <vtkCubeAxesActor.h>
#include <vtkDoubleArray.h>
#include <vtkGenericRenderWindowInteractor.h>
#include <vtkInteractorStyleTrackballCamera.h>
#include <vtkLegendBoxActor.h>
#include <vtkLookupTable.h>
#include <vtkNew.h>
#include <vtkPointData.h>
#include <vtkPoints.h>
#include <vtkPolyData.h>
#include <vtkPolyDataMapper.h>
#include <vtkPolyDataNormals.h>
#include <vtkProperty.h>
#include <vtkRenderWindow.h>
#include <vtkRenderer.h>
#include <vtkScalarBarActor.h>
#include <vtkSphereSource.h>
#include <vtkTextActor.h>
#include <vtkTextProperty.h>
#include <vtkVersion.h>

#include <algorithm>
#include <cmath>

namespace qs::ui {

namespace {

// Height of the surface in world units, relative to the larger of the alpha and beta spans:
// tall enough to read the relief, flat enough that the whole grid fits the view.
constexpr double kHeightRatio = 0.6;
// A press and release closer than this (Manhattan, pixels) is a click, not a drag.
constexpr int kClickSlopPixels = 4;
constexpr int kColorTableSize = 256;
constexpr int kDefaultContourCount = 12;

void setColor(vtkProperty* property, const QColor& color) {
    property->SetColor(color.redF(), color.greenF(), color.blueF());
}

void setTextStyle(vtkTextProperty* text, int size, bool bold = false) {
    const QColor color = PlotStyle::textColor();
    text->SetColor(color.redF(), color.greenF(), color.blueF());
    text->SetFontFamilyToArial();
    text->SetFontSize(size);
    text->SetBold(bold);
    text->SetItalic(false);
    text->SetShadow(false);
}

/// The grid as quads in world coordinates (alpha, beta, height), with the shown loss as point
/// scalars. A quad is only made where all four corners are finished, so pending points leave
/// holes.
void buildMesh(const LandscapeSurface& surface, const LandscapeRange& range,
               const LandscapeDisplay& display, double height, vtkPolyData* mesh) {
    vtkNew<vtkPoints> points;
    vtkNew<vtkDoubleArray> scalars;
    scalars->SetName("loss");
    const qsizetype count = static_cast<qsizetype>(surface.nx) * surface.ny;
    points->SetNumberOfPoints(count);
    scalars->SetNumberOfValues(count);
    for (int iy = 0; iy < surface.ny; ++iy) {
        for (int ix = 0; ix < surface.nx; ++ix) {
            const int i = surface.index(ix, iy);
            const double loss = surface.loss[i];
            const double t = range.fraction(loss, display);
            points->SetPoint(i, surface.alphaAt(ix), surface.betaAt(iy),
                             std::isnan(t) ? 0.0 : t * height);
            scalars->SetValue(i, display.shownLoss(loss));
        }
    }
    vtkNew<vtkCellArray> quads;
    for (int iy = 0; iy + 1 < surface.ny; ++iy) {
        for (int ix = 0; ix + 1 < surface.nx; ++ix) {
            const vtkIdType corners[4] = {surface.index(ix, iy), surface.index(ix + 1, iy),
                                          surface.index(ix + 1, iy + 1), surface.index(ix, iy + 1)};
            const bool finished =
                std::all_of(std::begin(corners), std::end(corners),
                            [&](vtkIdType c) { return !std::isnan(surface.loss[c]); });
            if (finished) {
                quads->InsertNextCell(4, corners);
            }
        }
    }
    mesh->Initialize();
    mesh->SetPoints(points);
    mesh->SetPolys(quads);
    mesh->GetPointData()->SetScalars(scalars);
}

/// True when both surfaces span the same grid (same size and coordinates).
bool sameGrid(const LandscapeSurface& a, const LandscapeSurface& b) {
    return a.nx == b.nx && a.ny == b.ny && a.xMin == b.xMin && a.xMax == b.xMax &&
           a.yMin == b.yMin && a.yMax == b.yMax;
}

}  // namespace

QString vtkVersionText() {
    return QString::fromLatin1(vtkVersion::GetVTKVersion());
}

/// The VTK scene of one view. Only this struct creates and updates actors (STYLE.md 8).
struct LandscapeView::Impl {
    vtkNew<vtkRenderWindow> window;
    vtkNew<vtkRenderer> renderer;
    vtkNew<vtkGenericRenderWindowInteractor> interactor;
    vtkNew<vtkInteractorStyleTrackballCamera> style;
    vtkNew<vtkCallbackCommand> renderRequest;
    vtkNew<vtkLookupTable> colors;

    vtkNew<vtkPolyData> mesh;
    vtkNew<vtkPolyDataNormals> normals;
    vtkNew<vtkPolyDataMapper> meshMapper;
    vtkNew<vtkActor> meshActor;
    vtkNew<vtkContourFilter> contours;
    vtkNew<vtkPolyDataMapper> contourMapper;
    vtkNew<vtkActor> contourActor;
    vtkNew<vtkPolyData> overlayMesh;
    vtkNew<vtkPolyDataNormals> overlayNormals;
    vtkNew<vtkPolyDataMapper> overlayMapper;
    vtkNew<vtkActor> overlayActor;
    vtkNew<vtkScalarBarActor> colorBar;
    vtkNew<vtkCubeAxesActor> axes;
    vtkNew<vtkLegendBoxActor> legend;
    vtkNew<vtkPolyData> legendSymbol;
    vtkNew<vtkSphereSource> markerSource;
    vtkNew<vtkPolyDataMapper> markerMapper;
    vtkNew<vtkActor> markerActor;
    vtkNew<vtkTextActor> readout;
    vtkNew<vtkCellPicker> picker;

    LandscapeSurface surface;
    LandscapeSurface overlay;
    bool hasOverlay = false;
    LandscapeDisplay display;
    double sharedMin = std::numeric_limits<double>::quiet_NaN();
    double sharedMax = std::numeric_limits<double>::quiet_NaN();
    bool contoursVisible = true;
    int contourCount = kDefaultContourCount;
    QString emptyText;

    bool initialized = false;  ///< the render window exists (created on the first render)
    double pixelRatio = 1.0;   ///< device pixels per widget pixel, as of the last render
    bool sceneDirty = true;
    bool renderPending = false;
    int renderCount = 0;
    QImage image;
    double height = 1.0;  ///< world height of the surface
    int pickedIx = -1;
    int pickedIy = -1;

    Qt::MouseButton pressButton = Qt::NoButton;
    QPoint pressPos;
    bool dragged = false;

    Impl();
    bool drawable() const { return surface.isValid() && !surface.isCurve(); }
    LandscapeRange range() const;
    void rebuildScene();
    void updateMarker();
    void resetCamera(CameraPreset preset);
};

LandscapeView::Impl::Impl() {
    window->SetOffScreenRendering(1);
    window->SetMultiSamples(4);
    window->AddRenderer(renderer);
    const QColor top = QColor(0xf4, 0xf6, 0xfa);
    renderer->SetBackground(1.0, 1.0, 1.0);
    renderer->SetBackground2(top.redF(), top.greenF(), top.blueF());
    renderer->GradientBackgroundOn();
    interactor->SetRenderWindow(window);
    interactor->SetInteractorStyle(style);
    // The style asks the interactor to render after every camera move; the widget coalesces
    // those requests into one render per event-loop pass instead (renderRequest, set up by the
    // view).
    interactor->EnableRenderOff();

    colors->SetNumberOfTableValues(kColorTableSize);
    for (int i = 0; i < kColorTableSize; ++i) {
        const QColor c = landscapeColor(static_cast<double>(i) / (kColorTableSize - 1));
        colors->SetTableValue(i, c.redF(), c.greenF(), c.blueF(), 1.0);
    }

    normals->SetInputData(mesh);
    normals->SplittingOff();
    normals->ConsistencyOn();
    meshMapper->SetInputConnection(normals->GetOutputPort());
    meshMapper->SetLookupTable(colors);
    meshMapper->UseLookupTableScalarRangeOn();
    meshMapper->InterpolateScalarsBeforeMappingOn();
    // Push the surface back a little so that contour lines lying on it are drawn in front.
    meshMapper->SetRelativeCoincidentTopologyPolygonOffsetParameters(2.0, 2.0);
    meshActor->SetMapper(meshMapper);
    // Matte: a face towards the viewer shows exactly its colour-bar colour (no highlight).
    meshActor->GetProperty()->SetAmbient(0.25);
    meshActor->GetProperty()->SetDiffuse(0.75);
    meshActor->GetProperty()->SetSpecular(0.0);
    renderer->AddActor(meshActor);

    contours->SetInputData(mesh);
    contourMapper->SetInputConnection(contours->GetOutputPort());
    contourMapper->ScalarVisibilityOff();
    contourActor->SetMapper(contourMapper);
    // Lines lying exactly on the surface would flicker in and out of it (depth ties): they are
    // lifted a little above it (SetPosition in rebuildScene) as well as offset in depth.
    contourMapper->SetRelativeCoincidentTopologyLineOffsetParameters(0.0, -8.0);
    contourActor->GetProperty()->SetColor(0.1, 0.1, 0.1);
    contourActor->GetProperty()->SetOpacity(0.55);
    contourActor->GetProperty()->SetLineWidth(1.2);
    contourActor->GetProperty()->LightingOff();
    contourActor->PickableOff();
    renderer->AddActor(contourActor);

    overlayNormals->SetInputData(overlayMesh);
    overlayNormals->SplittingOff();
    overlayMapper->SetInputConnection(overlayNormals->GetOutputPort());
    overlayMapper->ScalarVisibilityOff();
    overlayActor->SetMapper(overlayMapper);
    setColor(overlayActor->GetProperty(), PlotStyle::seriesColor(3));
    overlayActor->GetProperty()->SetOpacity(0.45);
    overlayActor->GetProperty()->SetAmbient(0.3);
    overlayActor->PickableOff();
    overlayActor->VisibilityOff();
    renderer->AddActor(overlayActor);

    colorBar->SetLookupTable(colors);
    colorBar->SetNumberOfLabels(5);
    colorBar->SetLabelFormat("%-#.3g");
    colorBar->UnconstrainedFontSizeOn();
    colorBar->SetBarRatio(0.25);
    colorBar->GetPositionCoordinate()->SetCoordinateSystemToNormalizedViewport();
    colorBar->SetHeight(0.76);
    setTextStyle(colorBar->GetTitleTextProperty(), 14, true);
    setTextStyle(colorBar->GetLabelTextProperty(), 12);
    colorBar->PickableOff();
    renderer->AddActor2D(colorBar);

    axes->SetCamera(renderer->GetActiveCamera());
    axes->SetXTitle("alpha");
    axes->SetYTitle("beta");
    axes->SetXLabelFormat("%-#.2g");
    axes->SetYLabelFormat("%-#.2g");
    axes->SetZLabelFormat("%-#.3g");
    axes->SetFlyModeToOuterEdges();
    axes->SetGridLineLocation(vtkCubeAxesActor::VTK_GRID_LINES_FURTHEST);
    axes->DrawXGridlinesOn();
    axes->DrawYGridlinesOn();
    axes->DrawZGridlinesOn();
    axes->XAxisMinorTickVisibilityOff();
    axes->YAxisMinorTickVisibilityOff();
    axes->ZAxisMinorTickVisibilityOff();
    // The z axis is seen nearly end-on from the default camera, where its tick labels pile up
    // into an unreadable stack; the colour bar beside the surface carries the loss scale.
    axes->ZAxisLabelVisibilityOff();
    axes->SetTickLocationToOutside();
    axes->SetScreenSize(11.0);
    axes->SetLabelOffset(12.0);
    axes->SetTitleOffset(24.0);
    const QColor axisColor = PlotStyle::axisColor();
    for (int i = 0; i < 3; ++i) {
        setTextStyle(axes->GetTitleTextProperty(i), 14, true);
        setTextStyle(axes->GetLabelTextProperty(i), 12);
    }
    for (vtkProperty* p : {axes->GetXAxesLinesProperty(), axes->GetYAxesLinesProperty(),
                           axes->GetZAxesLinesProperty()}) {
        setColor(p, axisColor);
    }
    for (vtkProperty* p : {axes->GetXAxesGridlinesProperty(), axes->GetYAxesGridlinesProperty(),
                           axes->GetZAxesGridlinesProperty()}) {
        setColor(p, QColor(0xdd, 0xdd, 0xdd));
    }
    axes->PickableOff();
    renderer->AddActor(axes);

    // A small square as the legend's swatch for each surface.
    vtkNew<vtkPoints> square;
    square->InsertNextPoint(0, 0, 0);
    square->InsertNextPoint(1, 0, 0);
    square->InsertNextPoint(1, 1, 0);
    square->InsertNextPoint(0, 1, 0);
    vtkNew<vtkCellArray> squareCells;
    const vtkIdType squareIds[4] = {0, 1, 2, 3};
    squareCells->InsertNextCell(4, squareIds);
    legendSymbol->SetPoints(square);
    legendSymbol->SetPolys(squareCells);
    legend->SetNumberOfEntries(2);
    legend->BorderOff();
    legend->UseBackgroundOn();
    legend->SetBackgroundColor(1.0, 1.0, 1.0);
    legend->SetBackgroundOpacity(0.85);
    setTextStyle(legend->GetEntryTextProperty(), 13);
    legend->GetPositionCoordinate()->SetCoordinateSystemToNormalizedViewport();
    legend->PickableOff();
    legend->VisibilityOff();
    renderer->AddActor2D(legend);

    markerSource->SetThetaResolution(24);
    markerSource->SetPhiResolution(16);
    markerMapper->SetInputConnection(markerSource->GetOutputPort());
    markerActor->SetMapper(markerMapper);
    setColor(markerActor->GetProperty(), PlotStyle::seriesColor(3));
    markerActor->PickableOff();
    markerActor->VisibilityOff();
    renderer->AddActor(markerActor);

    setTextStyle(readout->GetTextProperty(), 13);
    readout->GetTextProperty()->SetBackgroundColor(1.0, 1.0, 1.0);
    readout->GetTextProperty()->SetBackgroundOpacity(0.85);
    readout->GetPositionCoordinate()->SetCoordinateSystemToNormalizedViewport();
    readout->GetTextProperty()->SetVerticalJustificationToTop();
    readout->GetPositionCoordinate()->SetValue(0.02, 0.97);
    readout->PickableOff();
    readout->VisibilityOff();
    renderer->AddActor2D(readout);

    picker->PickFromListOn();
    picker->AddPickList(meshActor);
    picker->SetTolerance(0.0005);
}

LandscapeRange LandscapeView::Impl::range() const {
    if (!std::isnan(sharedMin) && !std::isnan(sharedMax)) {
        LandscapeRange shared;
        shared.lossMin = display.shownLoss(sharedMin);
        shared.lossMax = display.shownLoss(sharedMax);
        shared.levelMin = display.level(sharedMin);
        shared.levelMax = display.level(sharedMax);
        return shared;
    }
    QVector<const LandscapeSurface*> shown{&surface};
    if (hasOverlay) {
        shown.append(&overlay);
    }
    return landscapeRange(shown, display);
}

void LandscapeView::Impl::rebuildScene() {
    sceneDirty = false;
    const LandscapeRange r = range();
    height = kHeightRatio * std::max({std::abs(surface.xMax - surface.xMin),
                                      std::abs(surface.yMax - surface.yMin), 1e-9});
    buildMesh(surface, r, display, height, mesh);
    mesh->Modified();

    const bool log = display.logScale;
    const double lo = r.isValid() ? r.lossMin : 0.0;
    // A flat surface still needs a non-empty range for the colour table and the bar.
    const double hi = r.isValid() && r.lossMax > r.lossMin ? r.lossMax : lo + (log ? lo : 1.0);
    colors->SetScale(log ? VTK_SCALE_LOG10 : VTK_SCALE_LINEAR);
    colors->SetRange(lo, log ? std::max(hi, lo * 10.0) : hi);
    colorBar->SetTitle(log ? "loss (log)" : "loss");
    colorBar->SetVisibility(r.isValid());

    const QVector<double> levels = landscapeContourLosses(r, display, contourCount);
    contours->SetNumberOfContours(levels.size());
    for (int i = 0; i < levels.size(); ++i) {
        contours->SetValue(i, levels[i]);
    }
    contourActor->SetVisibility(contoursVisible && !levels.isEmpty());
    contourActor->SetPosition(0.0, 0.0, 0.006 * height);

    overlayActor->SetVisibility(hasOverlay);
    legend->SetVisibility(hasOverlay);
    if (hasOverlay) {
        buildMesh(overlay, r, display, height, overlayMesh);
        overlayMesh->Modified();
        const QColor mainColor = landscapeColor(0.35);
        const QColor overlayColor = PlotStyle::seriesColor(3);
        double mainRgb[3] = {mainColor.redF(), mainColor.greenF(), mainColor.blueF()};
        double overlayRgb[3] = {overlayColor.redF(), overlayColor.greenF(), overlayColor.blueF()};
        const QByteArray mainLabel =
            surface.label.isEmpty() ? QByteArray("surface") : surface.label.toUtf8();
        const QByteArray overlayLabel =
            overlay.label.isEmpty() ? QByteArray("overlay") : overlay.label.toUtf8();
        legend->SetEntry(0, legendSymbol, mainLabel.constData(), mainRgb);
        legend->SetEntry(1, legendSymbol, overlayLabel.constData(), overlayRgb);
    }

    axes->SetBounds(surface.xMin, surface.xMax, surface.yMin, surface.yMax, 0.0, height);
    axes->SetXAxisRange(surface.xMin, surface.xMax);
    axes->SetYAxisRange(surface.yMin, surface.yMax);
    axes->SetZAxisRange(r.isValid() ? r.levelMin : 0.0, r.isValid() ? r.levelMax : 1.0);
    axes->SetZTitle(log ? "log10 loss" : "loss");
    updateMarker();
}

void LandscapeView::Impl::updateMarker() {
    const bool shown = pickedIx >= 0 && pickedIy >= 0 && pickedIx < surface.nx &&
                       pickedIy < surface.ny &&
                       !std::isnan(surface.loss[surface.index(pickedIx, pickedIy)]);
    markerActor->SetVisibility(shown);
    readout->SetVisibility(shown);
    if (!shown) {
        return;
    }
    const int i = surface.index(pickedIx, pickedIy);
    const double* p = mesh->GetPoint(i);
    const double span =
        std::max(std::abs(surface.xMax - surface.xMin), std::abs(surface.yMax - surface.yMin));
    markerSource->SetRadius(0.018 * span);
    markerSource->SetCenter(p[0], p[1], p[2]);
    const double acc = surface.accuracy[i];
    const QString text =
        QStringLiteral("alpha %1   beta %2\nloss %3   accuracy %4")
            .arg(surface.alphaAt(pickedIx), 0, 'g', 3)
            .arg(surface.betaAt(pickedIy), 0, 'g', 3)
            .arg(surface.loss[i], 0, 'g', 4)
            .arg(std::isnan(acc) ? QStringLiteral("-")
                                 : QStringLiteral("%1%").arg(acc * 100.0, 0, 'f', 1));
    readout->SetInput(text.toUtf8().constData());
}

void LandscapeView::Impl::resetCamera(CameraPreset preset) {
    const double cx = 0.5 * (surface.xMin + surface.xMax);
    const double cy = 0.5 * (surface.yMin + surface.yMax);
    const double xSpan = std::max(std::abs(surface.xMax - surface.xMin), 1e-9);
    const double ySpan = std::max(std::abs(surface.yMax - surface.yMin), 1e-9);
    double bounds[6] = {surface.xMin, surface.xMax, surface.yMin, surface.yMax, 0.0, height};
    vtkCamera* camera = renderer->GetActiveCamera();
    if (preset == CameraPreset::Top) {
        camera->ParallelProjectionOn();
        camera->SetFocalPoint(cx, cy, 0.5 * height);
        camera->SetPosition(cx, cy, 0.5 * height + 4.0 * std::max(xSpan, ySpan));
        camera->SetViewUp(0.0, 1.0, 0.0);
        renderer->ResetCamera(bounds);
        // Fit the grid itself, not its bounding sphere: the map fills the view.
        const int* size = window->GetSize();
        const double aspect = size[1] > 0 ? static_cast<double>(size[0]) / size[1] : 1.0;
        camera->SetParallelScale(0.66 * std::max(ySpan, xSpan / aspect));
        camera->SetWindowCenter(0.0, -0.04);
    } else {
        camera->ParallelProjectionOff();
        camera->SetFocalPoint(cx, cy, 0.4 * height);
        // From the front-left and above, like the figures of Li et al.
        camera->SetPosition(cx - 0.9 * xSpan, cy - 1.6 * ySpan, 1.5 * height + 0.6 * xSpan);
        camera->SetViewUp(0.0, 0.0, 1.0);
        renderer->ResetCamera(bounds);
        // The framing is made for a wide view. In a narrower one (a dock, one of two side by
        // side) the width left of the colour bar's strip is what binds: zoom out in proportion,
        // so that the grid fits in it.
        const int* size = window->GetSize();
        const double sceneWidth = size[0] - 110.0 * pixelRatio;
        const double aspect = size[1] > 0 ? sceneWidth / size[1] : 1.0;
        camera->Zoom(1.12 * std::clamp(aspect, 0.4, 1.0));
        camera->SetWindowCenter(0.0, -0.1);
    }
    renderer->ResetCameraClippingRange();
}

// ---------------------------------------------------------------------------------------------

LandscapeView::LandscapeView(QWidget* parent) : QWidget(parent), d(std::make_unique<Impl>()) {
    setObjectName(QStringLiteral("LandscapeView"));
    setAttribute(Qt::WA_OpaquePaintEvent);
    setMinimumSize(200, 150);
    setFocusPolicy(Qt::ClickFocus);
    d->renderRequest->SetClientData(this);
    d->renderRequest->SetCallback([](vtkObject*, unsigned long, void* view, void*) {
        static_cast<LandscapeView*>(view)->scheduleRender();
    });
    d->interactor->AddObserver(vtkCommand::RenderEvent, d->renderRequest);
    updateEmptyText();
}

LandscapeView::~LandscapeView() {
    d->interactor->RemoveObserver(d->renderRequest);
}

bool LandscapeView::isRenderingAvailable() {
    return !qEnvironmentVariableIsEmpty("DISPLAY");
}

void LandscapeView::setSurface(const LandscapeSurface& surface) {
    const bool newGrid = !d->drawable() || !sameGrid(d->surface, surface);
    if (surface.id != d->surface.id || newGrid) {
        d->pickedIx = -1;
        d->pickedIy = -1;
    }
    d->surface = surface;
    d->sceneDirty = true;
    updateEmptyText();
    if (d->drawable() && newGrid) {
        d->rebuildScene();
        d->resetCamera(CameraPreset::Perspective);
    }
    scheduleRender();
}

void LandscapeView::setOverlay(const LandscapeSurface& surface) {
    d->overlay = surface;
    d->hasOverlay = surface.isValid() && !surface.isCurve();
    d->sceneDirty = true;
    scheduleRender();
}

void LandscapeView::clearOverlay() {
    d->overlay = LandscapeSurface();
    d->hasOverlay = false;
    d->sceneDirty = true;
    scheduleRender();
}

void LandscapeView::clear() {
    d->surface = LandscapeSurface();
    d->overlay = LandscapeSurface();
    d->hasOverlay = false;
    d->pickedIx = -1;
    d->pickedIy = -1;
    d->sceneDirty = true;
    updateEmptyText();
    scheduleRender();
}

void LandscapeView::applyPoints(const LandscapePoints& points) {
    bool changed = applyLandscapePoints(d->surface, points);
    if (d->hasOverlay) {
        changed = applyLandscapePoints(d->overlay, points) || changed;
    }
    if (changed) {
        d->sceneDirty = true;
        scheduleRender();
    }
}

const LandscapeSurface& LandscapeView::surface() const {
    return d->surface;
}

const LandscapeSurface& LandscapeView::overlay() const {
    return d->overlay;
}

bool LandscapeView::hasOverlay() const {
    return d->hasOverlay;
}

bool LandscapeView::hasSurface() const {
    return d->drawable();
}

QString LandscapeView::emptyText() const {
    return d->emptyText;
}

void LandscapeView::setLogScale(bool on) {
    if (d->display.logScale != on) {
        d->display.logScale = on;
        d->sceneDirty = true;
        scheduleRender();
    }
}

bool LandscapeView::logScale() const {
    return d->display.logScale;
}

void LandscapeView::setClampMax(double maxLoss) {
    const double clamp = std::isnan(maxLoss) ? std::numeric_limits<double>::infinity() : maxLoss;
    if (d->display.clampMax != clamp) {
        d->display.clampMax = clamp;
        d->sceneDirty = true;
        scheduleRender();
    }
}

double LandscapeView::clampMax() const {
    return d->display.clampMax;
}

void LandscapeView::setContoursVisible(bool on) {
    if (d->contoursVisible != on) {
        d->contoursVisible = on;
        d->sceneDirty = true;
        scheduleRender();
    }
}

bool LandscapeView::contoursVisible() const {
    return d->contoursVisible;
}

void LandscapeView::setContourCount(int count) {
    const int clamped = std::max(count, 0);
    if (d->contourCount != clamped) {
        d->contourCount = clamped;
        d->sceneDirty = true;
        scheduleRender();
    }
}

int LandscapeView::contourCount() const {
    return d->contourCount;
}

void LandscapeView::setSharedRange(double lossMin, double lossMax) {
    d->sharedMin = lossMin;
    d->sharedMax = lossMax;
    d->sceneDirty = true;
    scheduleRender();
}

LandscapeRange LandscapeView::range() const {
    return d->range();
}

void LandscapeView::resetCamera(CameraPreset preset) {
    if (!d->drawable()) {
        return;
    }
    if (d->sceneDirty) {
        d->rebuildScene();
    }
    d->resetCamera(preset);
    scheduleRender();
    Q_EMIT cameraChanged();
}

LandscapeCamera LandscapeView::camera() const {
    vtkCamera* c = d->renderer->GetActiveCamera();
    LandscapeCamera out;
    c->GetPosition(out.position.data());
    c->GetFocalPoint(out.focalPoint.data());
    c->GetViewUp(out.viewUp.data());
    out.viewAngle = c->GetViewAngle();
    out.parallelScale = c->GetParallelScale();
    out.parallel = c->GetParallelProjection() != 0;
    return out;
}

void LandscapeView::setCamera(const LandscapeCamera& camera) {
    vtkCamera* c = d->renderer->GetActiveCamera();
    c->SetPosition(camera.position.data());
    c->SetFocalPoint(camera.focalPoint.data());
    c->SetViewUp(camera.viewUp.data());
    c->SetViewAngle(camera.viewAngle);
    c->SetParallelScale(camera.parallelScale);
    c->SetParallelProjection(camera.parallel);
    d->renderer->ResetCameraClippingRange();
    scheduleRender();
}

QPointF LandscapeView::gridPointPosition(int ix, int iy) {
    if (!d->drawable() || ix < 0 || iy < 0 || ix >= d->surface.nx || iy >= d->surface.ny) {
        return QPointF(-1.0, -1.0);
    }
    if (d->renderPending || d->sceneDirty) {
        renderNow();
    }
    const double* p = d->mesh->GetPoint(d->surface.index(ix, iy));
    d->renderer->SetWorldPoint(p[0], p[1], p[2], 1.0);
    d->renderer->WorldToDisplay();
    double display[3];
    d->renderer->GetDisplayPoint(display);
    const int* size = d->window->GetSize();
    const double ratio = devicePixelRatioF();
    // Display coordinates count rows from the bottom; the inverse of SetEventInformationFlipY.
    return QPointF(display[0] / ratio, (size[1] - 1 - display[1]) / ratio);
}

bool LandscapeView::pickAt(const QPoint& pos) {
    if (!d->drawable()) {
        return false;
    }
    if (d->renderPending || d->sceneDirty) {
        renderNow();
    }
    const double ratio = devicePixelRatioF();
    const int* size = d->window->GetSize();
    const double x = pos.x() * ratio;
    const double y = size[1] - 1 - pos.y() * ratio;
    if (d->picker->Pick(x, y, 0.0, d->renderer) == 0 || d->picker->GetActor() != d->meshActor) {
        return false;
    }
    double world[3];
    d->picker->GetPickPosition(world);
    const LandscapeSurface& s = d->surface;
    auto snap = [](double v, double lo, double hi, int n) {
        if (n <= 1 || hi == lo) {
            return 0;
        }
        return std::clamp(static_cast<int>(std::lround((v - lo) / (hi - lo) * (n - 1))), 0, n - 1);
    };
    const int ix = snap(world[0], s.xMin, s.xMax, s.nx);
    const int iy = snap(world[1], s.yMin, s.yMax, s.ny);
    const int i = s.index(ix, iy);
    if (std::isnan(s.loss[i])) {
        return false;
    }
    d->pickedIx = ix;
    d->pickedIy = iy;
    d->updateMarker();
    scheduleRender();
    Q_EMIT pointPicked(ix, iy, s.alphaAt(ix), s.betaAt(iy), s.loss[i], s.accuracy[i]);
    return true;
}

void LandscapeView::clearPick() {
    d->pickedIx = -1;
    d->pickedIy = -1;
    d->updateMarker();
    scheduleRender();
}

QImage LandscapeView::grabImage() {
    if (d->renderPending || d->sceneDirty || d->image.isNull()) {
        renderNow();
    }
    return d->image;
}

bool LandscapeView::saveScreenshot(const QString& fileName) {
    const QImage image = grabImage();
    return !image.isNull() && image.save(fileName, "PNG");
}

int LandscapeView::renderCount() const {
    return d->renderCount;
}

void LandscapeView::scheduleRender() {
    if (d->renderPending) {
        return;
    }
    d->renderPending = true;
    QMetaObject::invokeMethod(
        this,
        [this] {
            // A render forced in between (grabImage) already cleared the request. A hidden
            // view drops it: showEvent() asks again, and a request left pending would make
            // scheduleRender() ignore that one (the view would stay blank when shown).
            if (!d->renderPending) {
                return;
            }
            if (isVisible()) {
                renderNow();
            } else {
                d->renderPending = false;
            }
        },
        Qt::QueuedConnection);
}

void LandscapeView::renderNow() {
    d->renderPending = false;
    if (!d->drawable() || !isRenderingAvailable()) {
        d->image = QImage();
        update();
        return;
    }
    if (d->sceneDirty) {
        d->rebuildScene();
    }
    const double ratio = devicePixelRatioF();
    d->pixelRatio = ratio;
    const int width = std::max(1, qRound(this->width() * ratio));
    const int height = std::max(1, qRound(this->height() * ratio));
    if (!d->initialized) {
        d->interactor->UpdateSize(width, height);
        d->interactor->Initialize();
        d->initialized = true;
    } else {
        const int* size = d->window->GetSize();
        if (size[0] != width || size[1] != height) {
            d->interactor->UpdateSize(width, height);
        }
    }
    // Sizes in pixels, whatever the size of the view: the colour bar keeps a strip on the right,
    // and the scene is centred in what is left of it (the presets set only the vertical shift).
    const double barWidth = 90.0 * ratio / width;
    d->colorBar->GetPositionCoordinate()->SetValue(1.0 - barWidth - 10.0 * ratio / width, 0.12);
    d->colorBar->SetWidth(barWidth);
    vtkCamera* camera = d->renderer->GetActiveCamera();
    camera->SetWindowCenter(2.0 * 70.0 * ratio / width, camera->GetWindowCenter()[1]);
    // The legend box scales its text to fit: give it a fixed size in pixels, below the readout.
    const double legendWidth = 190.0 * ratio / width;
    const double legendHeight = 46.0 * ratio / height;
    d->legend->GetPositionCoordinate()->SetValue(0.02, 0.97 - 56.0 * ratio / height - legendHeight);
    d->legend->GetPosition2Coordinate()->SetValue(legendWidth, legendHeight);
    d->renderer->ResetCameraClippingRange();
    d->window->Render();
    ++d->renderCount;

    unsigned char* pixels = d->window->GetPixelData(0, 0, width - 1, height - 1, 0);
    QImage flipped(pixels, width, height, width * 3, QImage::Format_RGB888);
    d->image = flipped.mirrored().convertToFormat(QImage::Format_RGB32);
    delete[] pixels;
    d->image.setDevicePixelRatio(ratio);
    update();
}

void LandscapeView::updateEmptyText() {
    if (d->surface.isValid() && d->surface.isCurve()) {
        d->emptyText = tr("This landscape is one-dimensional: see it in the curves view");
    } else if (!d->surface.isValid()) {
        d->emptyText = tr("No landscape selected");
    } else if (!isRenderingAvailable()) {
        d->emptyText = tr("The 3D view needs an X display");
    } else {
        d->emptyText.clear();
    }
}

void LandscapeView::paintEvent(QPaintEvent*) {
    QPainter painter(this);
    if (!d->drawable() || d->image.isNull()) {
        painter.fillRect(rect(), Qt::white);
        QFont font = PlotStyle::emptyFont(this->font());
        painter.setFont(font);
        painter.setPen(PlotStyle::mutedTextColor());
        painter.drawText(rect(), Qt::AlignCenter | Qt::TextWordWrap, d->emptyText);
        return;
    }
    painter.drawImage(QPoint(0, 0), d->image);
}

void LandscapeView::resizeEvent(QResizeEvent* event) {
    QWidget::resizeEvent(event);
    scheduleRender();
}

void LandscapeView::showEvent(QShowEvent* event) {
    QWidget::showEvent(event);
    scheduleRender();
}

namespace {

/// Forwards a Qt mouse position and modifiers to the VTK interactor (device pixels, y flipped).
void setEventInformation(vtkGenericRenderWindowInteractor* interactor, const QPointF& pos,
                         Qt::KeyboardModifiers modifiers, double ratio) {
    interactor->SetEventInformationFlipY(qRound(pos.x() * ratio), qRound(pos.y() * ratio),
                                         (modifiers & Qt::ControlModifier) ? 1 : 0,
                                         (modifiers & Qt::ShiftModifier) ? 1 : 0);
}

unsigned long vtkButtonEvent(Qt::MouseButton button, bool press) {
    switch (button) {
        case Qt::LeftButton:
            return press ? vtkCommand::LeftButtonPressEvent : vtkCommand::LeftButtonReleaseEvent;
        case Qt::MiddleButton:
            return press ? vtkCommand::MiddleButtonPressEvent
                         : vtkCommand::MiddleButtonReleaseEvent;
        case Qt::RightButton:
            return press ? vtkCommand::RightButtonPressEvent : vtkCommand::RightButtonReleaseEvent;
        default:
            return vtkCommand::NoEvent;
    }
}

}  // namespace

void LandscapeView::mousePressEvent(QMouseEvent* event) {
    const unsigned long id = vtkButtonEvent(event->button(), true);
    if (!d->drawable() || !d->initialized || id == vtkCommand::NoEvent) {
        QWidget::mousePressEvent(event);
        return;
    }
    d->pressButton = event->button();
    d->pressPos = event->position().toPoint();
    d->dragged = false;
    setEventInformation(d->interactor, event->position(), event->modifiers(), devicePixelRatioF());
    d->interactor->InvokeEvent(id);
    event->accept();
}

void LandscapeView::mouseMoveEvent(QMouseEvent* event) {
    if (!d->drawable() || !d->initialized || d->pressButton == Qt::NoButton) {
        QWidget::mouseMoveEvent(event);
        return;
    }
    if ((event->position().toPoint() - d->pressPos).manhattanLength() > kClickSlopPixels) {
        d->dragged = true;
    }
    setEventInformation(d->interactor, event->position(), event->modifiers(), devicePixelRatioF());
    d->interactor->InvokeEvent(vtkCommand::MouseMoveEvent);
    if (d->dragged) {
        Q_EMIT cameraChanged();
    }
    event->accept();
}

void LandscapeView::mouseReleaseEvent(QMouseEvent* event) {
    if (!d->drawable() || !d->initialized || event->button() != d->pressButton) {
        QWidget::mouseReleaseEvent(event);
        return;
    }
    setEventInformation(d->interactor, event->position(), event->modifiers(), devicePixelRatioF());
    d->interactor->InvokeEvent(vtkButtonEvent(event->button(), false));
    const bool click = !d->dragged && d->pressButton == Qt::LeftButton;
    d->pressButton = Qt::NoButton;
    if (click) {
        pickAt(event->position().toPoint());
    }
    event->accept();
}

void LandscapeView::wheelEvent(QWheelEvent* event) {
    const int delta = event->angleDelta().y();
    if (!d->drawable() || !d->initialized || delta == 0) {
        QWidget::wheelEvent(event);
        return;
    }
    setEventInformation(d->interactor, event->position(), event->modifiers(), devicePixelRatioF());
    d->interactor->InvokeEvent(delta > 0 ? vtkCommand::MouseWheelForwardEvent
                                         : vtkCommand::MouseWheelBackwardEvent);
    Q_EMIT cameraChanged();
    event->accept();
}

// ---------------------------------------------------------------------------------------------

LandscapeCameraLink::LandscapeCameraLink(LandscapeView* first, LandscapeView* second,
                                         QObject* parent)
    : QObject(parent) {
    QPointer<LandscapeView> a(first);
    QPointer<LandscapeView> b(second);
    second->setCamera(first->camera());
    // setCamera() does not emit cameraChanged(), so a move is copied once and never echoed.
    connect(first, &LandscapeView::cameraChanged, this, [a, b] {
        if (a && b) {
            b->setCamera(a->camera());
        }
    });
    connect(second, &LandscapeView::cameraChanged, this, [a, b] {
        if (a && b) {
            a->setCamera(b->camera());
        }
    });
}

}  // namespace qs::ui
