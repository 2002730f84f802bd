// LandscapeView: a loss landscape as a 3D surface, drawn by VTK inside a plain Qt 6 widget.
//
// Debian's VTK Qt module is built for Qt 5 (STACK.md trap 2), so VTK renders offscreen and the
// widget paints the read-back image; Qt's mouse and wheel events are forwarded to a VTK
// interactor (trackball camera: left drag rotates, middle or Shift+left drag pans, right drag or
// wheel zooms). A left click without dragging picks the nearest grid point of the surface.
//
// Height and colour follow the loss (clamped, optionally log10), with a colour bar, contour lines
// and labelled axes. Pending points (NaN) leave holes that fill in as points arrive; updates are
// coalesced into one render per event-loop pass. A second surface can be overlaid in a single
// colour, semi-transparent, for comparison on the same directions. VTK headers stay in the .cpp.
#pragma once

#include "visualization/LandscapeData.h"

#include <QImage>
#include <QObject>
#include <QPoint>
#include <QPointF>
#include <QString>
#include <QWidget>

#include <array>
#include <memory>

class QMouseEvent;
class QPaintEvent;
class QResizeEvent;
class QShowEvent;
class QWheelEvent;

namespace qs::ui {

/// The VTK version this build renders with, e.g. "9.1.0" (for the About dialog).
QString vtkVersionText();

/// Where a view's camera is: enough to put another view's camera in the same place.
struct LandscapeCamera {
    std::array<double, 3> position{};
    std::array<double, 3> focalPoint{};
    std::array<double, 3> viewUp{};
    double viewAngle = 30.0;
    double parallelScale = 1.0;
    bool parallel = false;
};

class LandscapeView : public QWidget {
    Q_OBJECT
public:
    /// Camera presets for resetCamera().
    enum class CameraPreset {
        Perspective,  ///< from the front, above the surface, the whole grid in view
        Top,          ///< straight down the loss axis, parallel projection (a map view)
    };

    explicit LandscapeView(QWidget* parent = nullptr);
    ~LandscapeView() override;

    /// Whether VTK can render here: it needs an X display even offscreen (STACK.md trap 5).
    /// Without one the view shows a message instead of the surface.
    static bool isRenderingAvailable();

    /// Shows `surface` (replacing the current one) and, when its grid differs from the previous
    /// surface's, resets the camera. A 1D surface (ny == 1) or an invalid one shows the
    /// empty-state message instead: 1D landscapes belong in LandscapeCurves.
    void setSurface(const LandscapeSurface& surface);
    /// Adds `surface` over the main one, in one colour and semi-transparent, both on the same
    /// loss scale; replaces an earlier overlay. Listed in a legend with the main surface.
    void setOverlay(const LandscapeSurface& surface);
    void clearOverlay();
    /// Removes both surfaces: the view shows the empty-state message.
    void clear();
    /// Writes finished points into the surface (or overlay) with the same id and schedules one
    /// render; points of other landscapes are ignored.
    void applyPoints(const LandscapePoints& points);

    const LandscapeSurface& surface() const;
    const LandscapeSurface& overlay() const;
    bool hasOverlay() const;
    /// True while the view draws a surface (a valid 2D one), false while it shows its message.
    bool hasSurface() const;
    /// The message shown instead of a surface ("No landscape selected", or why a 1D one is not
    /// drawn here).
    QString emptyText() const;

    void setLogScale(bool on);
    bool logScale() const;
    /// Losses above `maxLoss` are drawn at `maxLoss`; infinity (the default) turns it off.
    void setClampMax(double maxLoss);
    double clampMax() const;
    void setContoursVisible(bool on);
    bool contoursVisible() const;
    /// Number of contour lines, spread evenly over the shown range (default 12).
    void setContourCount(int count);
    int contourCount() const;
    /// Pins the shown loss range to [lossMin, lossMax], e.g. to the union of two views' surfaces
    /// so that views side by side share one height and colour scale. NaN for either bound
    /// returns to the range of this view's own surfaces.
    void setSharedRange(double lossMin, double lossMax);
    /// The range of the shown losses (over both surfaces, or the shared range): what the colour
    /// bar and the height axis span.
    LandscapeRange range() const;

    /// Puts the camera back to a preset view of the whole grid.
    void resetCamera(CameraPreset preset = CameraPreset::Perspective);
    LandscapeCamera camera() const;
    /// Moves the camera to `camera` without emitting cameraChanged() (no echo between views).
    void setCamera(const LandscapeCamera& camera);

    /// Where grid point (ix, iy) of the main surface appears in the widget, in widget coordinates
    /// (from the renderer's world-to-display transform, with the camera as last rendered).
    QPointF gridPointPosition(int ix, int iy);
    /// Picks the surface at `pos` (widget coordinates), like a click: snaps to the nearest grid
    /// point, marks it, shows its readout and emits pointPicked(). False where no finished part
    /// of the surface is under `pos`.
    bool pickAt(const QPoint& pos);
    /// Removes the pick marker and readout.
    void clearPick();

    /// Renders now if anything changed and returns the image shown (device pixels).
    QImage grabImage();
    /// Writes grabImage() as PNG; false if it could not be written or nothing is drawn.
    bool saveScreenshot(const QString& fileName);
    /// Number of VTK renders so far: updates are coalesced, so a burst costs one.
    int renderCount() const;

Q_SIGNALS:
    /// A grid point of the main surface was picked: its indices, coordinates, loss and accuracy.
    void pointPicked(int ix, int iy, double alpha, double beta, double loss, double accuracy);
    /// The user moved the camera (drag, wheel, reset); not emitted by setCamera().
    void cameraChanged();

protected:
    void paintEvent(QPaintEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;
    void wheelEvent(QWheelEvent* event) override;
    void showEvent(QShowEvent* event) override;

private:
    struct Impl;

    void scheduleRender();
    void renderNow();
    void updateEmptyText();

    std::unique_ptr<Impl> d;
};

/// Keeps the cameras of two views together: moving either camera moves the other to the same
/// place. Programmatic moves (setCamera) do not echo back, so there is no feedback loop. The
/// link ends when it is destroyed or either view is.
class LandscapeCameraLink : public QObject {
    Q_OBJECT
public:
    /// Links `first` and `second`, and puts `second`'s camera where `first`'s is.
    LandscapeCameraLink(LandscapeView* first, LandscapeView* second, QObject* parent = nullptr);
};

}  // namespace qs::ui
