// Tests of the loss-landscape views. The 3D view renders through VTK, which needs an X display
// even offscreen (STACK.md trap 5): ctest runs this file under xvfb-run. What is checked is what
// the views draw: pixels of the rendered image, grid points picked by simulated clicks, renders
// counted per burst of live points, cameras of linked views, the heatmap's cells and the curves'
// series. `screenshots` writes PNGs of every view to QS_SCREENSHOT_DIR (default: the working
// directory) for a look by eye.
#include "PlotProbe.h"
#include "visualization/LandscapeComparison.h"
#include "visualization/LandscapeCurves.h"
#include "visualization/LandscapeHeatmap.h"
#include "visualization/LandscapeView.h"

#include <QDir>
#include <QImage>
#include <QLabel>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <functional>

using namespace qs::ui;
namespace probe = qs::ui::probe;

namespace {

constexpr int kGrid = 41;

/// A surface on [-1, 1]^2 from f(alpha, beta) -> (loss, accuracy).
LandscapeSurface makeSurface(qint64 id, int nx, int ny,
                             const std::function<double(double, double)>& loss) {
    LandscapeSurface s;
    s.id = id;
    s.runId = 1;
    s.label = QStringLiteral("surface %1").arg(id);
    s.kind = QStringLiteral("random");
    s.mode = QStringLiteral("float");
    s.nx = nx;
    s.ny = ny;
    for (int iy = 0; iy < ny; ++iy) {
        for (int ix = 0; ix < nx; ++ix) {
            const double l = loss(s.alphaAt(ix), s.betaAt(iy));
            s.loss.append(l);
            s.accuracy.append(std::exp(-l));
        }
    }
    return s;
}

/// A bowl with its minimum 0.1 at the centre: the minimum of the grid is grid point (20, 20).
LandscapeSurface paraboloid(qint64 id = 1) {
    return makeSurface(id, kGrid, kGrid, [](double a, double b) { return 0.1 + a * a + b * b; });
}

/// A bowl with ripples, like a real landscape around a sharp minimum.
LandscapeSurface bumpy(qint64 id = 2) {
    return makeSurface(id, kGrid, kGrid, [](double a, double b) {
        return 0.3 + 1.2 * (a * a + b * b) + 0.15 * std::sin(6.0 * a) * std::cos(5.0 * b);
    });
}

/// The same surface with every point pending.
LandscapeSurface pending(LandscapeSurface s) {
    s.loss.fill(std::nan(""));
    s.accuracy.fill(std::nan(""));
    return s;
}

/// Points (ix, iy) of `s` for which `select` holds, as a live batch.
LandscapePoints batch(const LandscapeSurface& s, const std::function<bool(int, int)>& select) {
    LandscapePoints points;
    points.id = s.id;
    for (int iy = 0; iy < s.ny; ++iy) {
        for (int ix = 0; ix < s.nx; ++ix) {
            if (select(ix, iy)) {
                const int i = s.index(ix, iy);
                points.points.append({ix, iy, s.loss[i], s.accuracy[i]});
            }
        }
    }
    return points;
}

/// Pixels of a clearly saturated colour: the surface (viridis), not the grey background, axes
/// or text.
int colouredPixels(const QImage& image) {
    int count = 0;
    for (int y = 0; y < image.height(); ++y) {
        for (int x = 0; x < image.width(); ++x) {
            if (QColor(image.pixel(x, y)).hsvSaturation() > 80) {
                ++count;
            }
        }
    }
    return count;
}

bool isColoured(const QImage& image, const QPointF& pos) {
    const double ratio = image.devicePixelRatio();
    return QColor(image.pixel(qRound(pos.x() * ratio), qRound(pos.y() * ratio))).hsvSaturation() >
           80;
}

int colourDistance(const QColor& a, const QColor& b) {
    return std::abs(a.red() - b.red()) + std::abs(a.green() - b.green()) +
           std::abs(a.blue() - b.blue());
}

/// A shown view of a given size, its first render done.
std::unique_ptr<LandscapeView> shownView(const LandscapeSurface& surface, QSize size = {640, 480}) {
    auto view = std::make_unique<LandscapeView>();
    view->resize(size);
    view->setSurface(surface);
    view->show();
    if (!QTest::qWaitForWindowExposed(view.get())) {
        return nullptr;
    }
    QCoreApplication::processEvents();
    return view;
}

}  // namespace

// VTK needs an X display even offscreen (STACK.md trap 5): without one (the plain ctest entry on
// a headless machine) the rendering tests skip; the xvfb entry runs them.
#define REQUIRE_RENDERING()                                      \
    do {                                                         \
        if (!LandscapeView::isRenderingAvailable()) {            \
            QSKIP("VTK needs an X display: run under xvfb-run"); \
        }                                                        \
    } while (false)

namespace {

QString screenshotDir() {
    const QString dir = qEnvironmentVariable("QS_SCREENSHOT_DIR", QDir::currentPath());
    QDir().mkpath(dir);
    return dir;
}

}  // namespace

class TestLandscapeView : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void vtkVersionIsReported();
    void emptyStates();
    void rendersSurface();
    void topViewCentreHasLowestColour();
    void clickPicksGridPoint_data();
    void clickPicksGridPoint();
    void dragRotatesWithoutPicking();
    void liveUpdatesRenderOncePerBatch();
    void logScaleAndClampChangeRange();
    void linkedCamerasFollow();
    void overlayDrawsSecondSurface();
    void screenshotWritesPng();
    void heatmapCellsAndClick();
    void heatmapLogScaleAndPending();
    void curvesShowOneDimensionalLandscapes();
    void comparisonSwitchesModes();
    void screenshots();
};

void TestLandscapeView::vtkVersionIsReported() {
    QVERIFY(vtkVersionText().startsWith(QStringLiteral("9.")));
}

void TestLandscapeView::emptyStates() {
    LandscapeView view;
    view.resize(320, 240);
    QVERIFY(!view.hasSurface());
    QCOMPARE(view.emptyText(), QStringLiteral("No landscape selected"));
    QVERIFY(view.grabImage().isNull());

    view.setSurface(makeSurface(7, 51, 1, [](double a, double) { return a * a; }));
    QVERIFY(!view.hasSurface());
    QVERIFY(view.emptyText().contains(QStringLiteral("one-dimensional")));
    QVERIFY(view.grabImage().isNull());
    QCOMPARE(view.renderCount(), 0);

    view.setSurface(paraboloid());
    QVERIFY(view.hasSurface());
    QCOMPARE(view.emptyText().isEmpty(), LandscapeView::isRenderingAvailable());
    view.clear();
    QVERIFY(!view.hasSurface());
    QCOMPARE(view.emptyText(), QStringLiteral("No landscape selected"));
}

void TestLandscapeView::rendersSurface() {
    REQUIRE_RENDERING();
    auto view = shownView(bumpy());
    QVERIFY(view);
    const QImage image = view->grabImage();
    QCOMPARE(image.size(), QSize(640, 480) * view->devicePixelRatioF());
    // The surface fills a good part of the view (not a speck in a corner).
    const int coloured = colouredPixels(image);
    QVERIFY2(coloured > image.width() * image.height() / 6, qPrintable(QString::number(coloured)));
    QVERIFY(view->renderCount() >= 1);
}

void TestLandscapeView::topViewCentreHasLowestColour() {
    REQUIRE_RENDERING();
    auto view = shownView(paraboloid());
    QVERIFY(view);
    view->setContoursVisible(false);  // a contour line could cross the centre pixel
    view->resetCamera(LandscapeView::CameraPreset::Top);
    const QImage image = view->grabImage();
    // Straight down the loss axis, the minimum (grid point 20, 20) lies midway between the
    // edges of the grid ...
    const QPointF centre = view->gridPointPosition(20, 20);
    const QPointF left = view->gridPointPosition(0, 20);
    const QPointF right = view->gridPointPosition(kGrid - 1, 20);
    const QPointF bottom = view->gridPointPosition(20, 0);
    const QPointF top = view->gridPointPosition(20, kGrid - 1);
    QVERIFY(std::abs(centre.x() - (left.x() + right.x()) / 2) < 1.0);
    QVERIFY(std::abs(centre.y() - (top.y() + bottom.y()) / 2) < 1.0);
    QVERIFY(right.x() - left.x() > view->width() / 2);  // the map fills the view
    QVERIFY(bottom.y() - top.y() > view->height() / 2);
    // ... and is drawn in the lowest colour of the map, facing the light head-on.
    const QColor pixel = image.pixel(centre.toPoint());
    const QColor lowest = landscapeColor(0.0);
    QVERIFY2(colourDistance(pixel, lowest) < 40,
             qPrintable(QStringLiteral("%1 vs %2").arg(pixel.name(), lowest.name())));
    // Near a corner of the grid, close to the maximum: the hue of the top of the map (the
    // steep slope there faces away from the light, so only the hue is compared).
    const QPointF corner = view->gridPointPosition(kGrid - 2, kGrid - 2);
    const QColor high = image.pixel(qRound(corner.x()), qRound(corner.y()));
    QVERIFY2(std::abs(high.hsvHue() - landscapeColor(0.95).hsvHue()) < 15, qPrintable(high.name()));
}

void TestLandscapeView::clickPicksGridPoint_data() {
    QTest::addColumn<bool>("top");
    QTest::addColumn<int>("ix");
    QTest::addColumn<int>("iy");
    QTest::newRow("top view, minimum") << true << 20 << 20;
    QTest::newRow("top view, off-centre") << true << 7 << 31;
    QTest::newRow("perspective, minimum") << false << 20 << 20;
    QTest::newRow("perspective, far slope") << false << 30 << 33;
}

void TestLandscapeView::clickPicksGridPoint() {
    REQUIRE_RENDERING();
    QFETCH(bool, top);
    QFETCH(int, ix);
    QFETCH(int, iy);
    const LandscapeSurface surface = bumpy();
    auto view = shownView(surface);
    QVERIFY(view);
    if (top) {
        view->resetCamera(LandscapeView::CameraPreset::Top);
    }
    QSignalSpy picked(view.get(), &LandscapeView::pointPicked);
    const QPoint pos = view->gridPointPosition(ix, iy).toPoint();
    QTest::mouseClick(view.get(), Qt::LeftButton, Qt::NoModifier, pos);
    QCOMPARE(picked.count(), 1);
    const QList<QVariant> args = picked.takeFirst();
    QCOMPARE(args.at(0).toInt(), ix);
    QCOMPARE(args.at(1).toInt(), iy);
    QCOMPARE(args.at(2).toDouble(), surface.alphaAt(ix));
    QCOMPARE(args.at(3).toDouble(), surface.betaAt(iy));
    QCOMPARE(args.at(4).toDouble(), surface.loss[surface.index(ix, iy)]);
    QCOMPARE(args.at(5).toDouble(), surface.accuracy[surface.index(ix, iy)]);

    // A click on the background picks nothing.
    QTest::mouseClick(view.get(), Qt::LeftButton, Qt::NoModifier, QPoint(3, 3));
    QCOMPARE(picked.count(), 0);
}

void TestLandscapeView::dragRotatesWithoutPicking() {
    REQUIRE_RENDERING();
    auto view = shownView(paraboloid());
    QVERIFY(view);
    QSignalSpy picked(view.get(), &LandscapeView::pointPicked);
    QSignalSpy moved(view.get(), &LandscapeView::cameraChanged);
    const LandscapeCamera before = view->camera();
    const QPoint from = view->gridPointPosition(20, 20).toPoint();
    QTest::mousePress(view.get(), Qt::LeftButton, Qt::NoModifier, from);
    for (int step = 1; step <= 5; ++step) {
        QMouseEvent move(QEvent::MouseMove, from + QPoint(12 * step, 3 * step),
                         view->mapToGlobal(from + QPoint(12 * step, 3 * step)), Qt::NoButton,
                         Qt::LeftButton, Qt::NoModifier);
        QCoreApplication::sendEvent(view.get(), &move);
    }
    QTest::mouseRelease(view.get(), Qt::LeftButton, Qt::NoModifier, from + QPoint(60, 15));
    QCOMPARE(picked.count(), 0);
    QVERIFY(moved.count() > 0);
    const LandscapeCamera after = view->camera();
    QVERIFY(std::abs(after.position[0] - before.position[0]) > 1e-3 ||
            std::abs(after.position[1] - before.position[1]) > 1e-3);
}

void TestLandscapeView::liveUpdatesRenderOncePerBatch() {
    REQUIRE_RENDERING();
    const LandscapeSurface full = paraboloid(5);
    auto view = shownView(pending(full));
    QVERIFY(view);
    view->resetCamera(LandscapeView::CameraPreset::Top);
    view->setContoursVisible(false);
    QCoreApplication::processEvents();
    const QImage empty = view->grabImage();
    QCOMPARE(colouredPixels(empty), 0);  // nothing finished: nothing drawn

    // Left half in three batches (rows 0-13, 14-27, 28-40), each applied point by point-sized
    // chunks: every batch costs exactly one render.
    const int half = kGrid / 2;
    int lastCount = 0;
    for (int part = 0; part < 3; ++part) {
        const int renders = view->renderCount();
        const LandscapePoints points =
            batch(full, [&](int ix, int iy) { return ix <= half && iy / 14 == part; });
        for (const LandscapePoints::Point& p : points.points) {
            view->applyPoints({full.id, {p}});
        }
        QCoreApplication::processEvents();
        QCOMPARE(view->renderCount(), renders + 1);
        const int coloured = colouredPixels(view->grabImage());
        QVERIFY(coloured > lastCount);
        lastCount = coloured;
    }
    QCOMPARE(view->surface().finishedCount(), (half + 1) * kGrid);

    // Pending points are holes: the right half stays background, the left half is drawn.
    const QImage halfImage = view->grabImage();
    QVERIFY(isColoured(halfImage, view->gridPointPosition(10, 20)));
    QVERIFY(!isColoured(halfImage, view->gridPointPosition(30, 20)));
    QVERIFY(!isColoured(halfImage, view->gridPointPosition(35, 5)));

    // Points of another landscape are ignored, and cost no render.
    const int renders = view->renderCount();
    view->applyPoints(batch(paraboloid(99), [](int, int) { return true; }));
    QCoreApplication::processEvents();
    QCOMPARE(view->renderCount(), renders);
    QCOMPARE(view->surface().finishedCount(), (half + 1) * kGrid);

    view->applyPoints(batch(full, [&](int ix, int) { return ix > half; }));
    QCoreApplication::processEvents();
    QVERIFY(isColoured(view->grabImage(), view->gridPointPosition(30, 20)));
    QVERIFY(colouredPixels(view->grabImage()) > lastCount);
}

void TestLandscapeView::logScaleAndClampChangeRange() {
    LandscapeView view;
    LandscapeSurface surface = paraboloid();
    surface.loss[0] = 50.0;  // one diverged corner
    view.setSurface(surface);
    LandscapeRange r = view.range();
    QCOMPARE(r.lossMin, 0.1);
    QCOMPARE(r.lossMax, 50.0);
    QCOMPARE(r.levelMax, 50.0);

    view.setClampMax(2.5);
    r = view.range();
    QCOMPARE(r.lossMax, 2.5);  // the diverged corner is drawn at the clamp
    QCOMPARE(r.lossMin, 0.1);
    view.setClampMax(1.5);
    QCOMPARE(view.range().lossMax, 1.5);

    view.setLogScale(true);
    r = view.range();
    QCOMPARE(r.lossMin, 0.1);
    QCOMPARE(r.lossMax, 1.5);
    QCOMPARE(r.levelMin, std::log10(0.1));
    QCOMPARE(r.levelMax, std::log10(1.5));

    view.setClampMax(std::numeric_limits<double>::infinity());
    view.setLogScale(false);
    QCOMPARE(view.range().lossMax, 50.0);

    // Contour levels are spread evenly in the shown units: geometric in log scale.
    LandscapeDisplay log;
    log.logScale = true;
    LandscapeRange decade;
    decade.lossMin = 0.1;
    decade.lossMax = 10.0;
    decade.levelMin = -1.0;
    decade.levelMax = 1.0;
    const QVector<double> levels = landscapeContourLosses(decade, log, 3);
    QCOMPARE(levels.size(), 3);
    QVERIFY(std::abs(levels[0] - std::pow(10.0, -0.5)) < 1e-12);
    QVERIFY(std::abs(levels[1] - 1.0) < 1e-12);
    QVERIFY(std::abs(levels[2] - std::pow(10.0, 0.5)) < 1e-12);
}

void TestLandscapeView::linkedCamerasFollow() {
    REQUIRE_RENDERING();
    auto a = shownView(paraboloid(1));
    auto b = shownView(bumpy(2));
    QVERIFY(a && b);
    b->resetCamera(LandscapeView::CameraPreset::Top);
    QSignalSpy bMoved(b.get(), &LandscapeView::cameraChanged);
    LandscapeCameraLink link(a.get(), b.get());
    QCOMPARE(b->camera().position, a->camera().position);  // b starts where a is
    QCOMPARE(bMoved.count(), 0);                           // a programmatic move: no echo

    const QPoint from(320, 240);
    QTest::mousePress(a.get(), Qt::LeftButton, Qt::NoModifier, from);
    QMouseEvent move(QEvent::MouseMove, from + QPoint(40, 20),
                     a->mapToGlobal(from + QPoint(40, 20)), Qt::NoButton, Qt::LeftButton,
                     Qt::NoModifier);
    QCoreApplication::sendEvent(a.get(), &move);
    QTest::mouseRelease(a.get(), Qt::LeftButton, Qt::NoModifier, from + QPoint(40, 20));
    QCOMPARE(b->camera().position, a->camera().position);
    QCOMPARE(b->camera().viewUp, a->camera().viewUp);
    QCOMPARE(bMoved.count(), 0);

    // And the other way round: a wheel zoom on b moves a.
    const LandscapeCamera before = a->camera();
    QWheelEvent wheel(QPointF(320, 240), b->mapToGlobal(QPointF(320, 240)), QPoint(),
                      QPoint(0, 120), Qt::NoButton, Qt::NoModifier, Qt::NoScrollPhase, false);
    QCoreApplication::sendEvent(b.get(), &wheel);
    QVERIFY(a->camera().position != before.position);
    QCOMPARE(a->camera().position, b->camera().position);
}

void TestLandscapeView::overlayDrawsSecondSurface() {
    REQUIRE_RENDERING();
    LandscapeSurface high = makeSurface(
        3, kGrid, kGrid, [](double a, double b) { return 0.5 + 0.3 * (a * a + b * b); });
    auto view = shownView(paraboloid());
    QVERIFY(view);
    view->setContoursVisible(false);
    view->resetCamera(LandscapeView::CameraPreset::Top);
    const QColor before = view->grabImage().pixel(320, 240);
    view->setOverlay(high);
    QVERIFY(view->hasOverlay());
    // Both on one scale: the overlay's maximum (1.1) is below the main surface's (2.1).
    QCOMPARE(view->range().lossMin, 0.1);
    QCOMPARE(view->range().lossMax, 2.1);
    // Seen from above, the overlay lies over the main surface's minimum and tints it red.
    const QColor after = view->grabImage().pixel(320, 240);
    QVERIFY2(after.red() > before.red() + 40,
             qPrintable(QStringLiteral("%1 -> %2").arg(before.name(), after.name())));
    view->clearOverlay();
    QVERIFY(!view->hasOverlay());
    QVERIFY(colourDistance(view->grabImage().pixel(320, 240), before) < 10);
}

void TestLandscapeView::screenshotWritesPng() {
    REQUIRE_RENDERING();
    auto view = shownView(bumpy(), QSize(500, 300));
    QVERIFY(view);
    QTemporaryDir dir;
    const QString file = dir.filePath(QStringLiteral("shot.png"));
    QVERIFY(view->saveScreenshot(file));
    QImage read;
    QVERIFY(read.load(file, "PNG"));
    QCOMPARE(read.size(), QSize(500, 300) * view->devicePixelRatioF());
    QVERIFY(colouredPixels(read) > 500 * 300 / 8);

    LandscapeView empty;
    QVERIFY(!empty.saveScreenshot(dir.filePath(QStringLiteral("none.png"))));
}

void TestLandscapeView::heatmapCellsAndClick() {
    const LandscapeSurface surface = bumpy();
    LandscapeHeatmap heatmap;
    heatmap.resize(500, 420);
    heatmap.setSurface(surface);
    heatmap.show();
    QVERIFY(QTest::qWaitForWindowExposed(&heatmap));
    QVERIFY(!heatmap.isEmptyStateVisible());
    for (const auto& [ix, iy] : {std::pair{0, 0}, std::pair{20, 20}, std::pair{7, 33}}) {
        QCOMPARE(heatmap.cellValue(ix, iy), surface.loss[surface.index(ix, iy)]);
    }
    QVERIFY(heatmap.contourLineCount() > 0);

    QSignalSpy picked(&heatmap, &LandscapeHeatmap::pointPicked);
    probe::replotNow(heatmap);
    const QPoint pos = probe::pixelAt(heatmap, surface.alphaAt(7), surface.betaAt(33));
    QTest::mouseClick(probe::surface(heatmap), Qt::LeftButton, Qt::NoModifier, pos);
    QCOMPARE(picked.count(), 1);
    QCOMPARE(picked.at(0).at(0).toInt(), 7);
    QCOMPARE(picked.at(0).at(1).toInt(), 33);
    QCOMPARE(picked.at(0).at(4).toDouble(), surface.loss[surface.index(7, 33)]);
}

void TestLandscapeView::heatmapLogScaleAndPending() {
    const LandscapeSurface full = paraboloid(4);
    LandscapeHeatmap heatmap;
    heatmap.setSurface(pending(full));
    QVERIFY(heatmap.isEmptyStateVisible());
    heatmap.applyPoints(batch(full, [](int ix, int) { return ix < 10; }));
    QVERIFY(!heatmap.isEmptyStateVisible());
    QCOMPARE(heatmap.cellValue(3, 3), full.loss[full.index(3, 3)]);
    QVERIFY(std::isnan(heatmap.cellValue(30, 3)));  // pending: drawn as background

    heatmap.setClampMax(0.5);
    QCOMPARE(heatmap.cellValue(0, 0), 0.5);
    QCOMPARE(heatmap.cellValue(9, 20), full.loss[full.index(9, 20)]);  // below the clamp
    QCOMPARE(heatmap.range().lossMax, 0.5);
    QVERIFY(!heatmap.isColorScaleLogarithmic());
    heatmap.setLogScale(true);
    QVERIFY(heatmap.isColorScaleLogarithmic());
    QCOMPARE(heatmap.cellValue(9, 20), full.loss[full.index(9, 20)]);  // cells keep the loss
    QCOMPARE(heatmap.range().levelMax, std::log10(0.5));
}

void TestLandscapeView::curvesShowOneDimensionalLandscapes() {
    LandscapeCurves curves;
    QVERIFY(curves.isEmptyStateVisible());
    const LandscapeSurface lsq =
        makeSurface(11, 51, 1, [](double a, double) { return 0.2 + 2.0 * a * a; });
    LandscapeSurface squat =
        makeSurface(12, 51, 1, [](double a, double) { return 0.25 + 0.8 * a * a; });
    squat.label = QStringLiteral("SQuAT");
    curves.addSurface(lsq);
    curves.addSurface(pending(squat));
    curves.addSurface(bumpy());  // 2D: not a curve, ignored
    QVERIFY(!curves.isEmptyStateVisible());
    QCOMPARE(curves.surfaceIds(), (QList<qint64>{11, 12}));

    QVector<probe::Series> series = probe::graphs(curves);
    QCOMPARE(series.size(), 4);  // loss and accuracy of each
    QCOMPARE(series[0].name, lsq.label);
    QCOMPARE(series[0].keys.size(), 51);
    QCOMPARE(series[0].keys.first(), -1.0);
    QCOMPARE(series[0].values[25], lsq.loss[25]);
    QVERIFY(series[1].onRightAxis);
    QCOMPARE(series[1].values[25], lsq.accuracy[25]);
    QVERIFY(series[2].values.isEmpty());  // nothing of SQuAT finished yet

    curves.applyPoints(batch(squat, [](int ix, int) { return ix % 4 == 0; }));
    series = probe::graphs(curves);
    QCOMPARE(series[2].name, QStringLiteral("SQuAT"));
    QCOMPARE(series[2].keys.size(), 13);
    QCOMPARE(series[2].values[1], squat.loss[4]);
    QCOMPARE(probe::legendItemCount(curves), 2);

    curves.removeSurface(11);
    QCOMPARE(probe::graphs(curves).size(), 2);
    curves.clear();
    QVERIFY(curves.isEmptyStateVisible());
}

void TestLandscapeView::comparisonSwitchesModes() {
    LandscapeComparison comparison;
    comparison.resize(1000, 420);
    comparison.setSurfaces(paraboloid(1), bumpy(2));
    comparison.show();
    QVERIFY(QTest::qWaitForWindowExposed(&comparison));
    QCOMPARE(comparison.mode(), LandscapeComparison::Mode::SideBySide);
    QVERIFY(comparison.view(0)->isVisible() && comparison.view(1)->isVisible());
    // One scale for both sides, each captioned with its surface.
    QCOMPARE(comparison.view(0)->range().lossMax, comparison.view(1)->range().lossMax);
    const auto* caption = comparison.findChild<QLabel*>(QStringLiteral("comparisonCaption1"));
    QVERIFY(caption && caption->isVisible());
    QVERIFY2(caption->text().contains(bumpy(2).label), qPrintable(caption->text()));

    comparison.setMode(LandscapeComparison::Mode::Overlaid);
    QVERIFY(!caption->isVisible());  // the overlay's legend names both
    QVERIFY(comparison.view(0)->isVisible());
    QVERIFY(!comparison.view(1)->isVisible());
    QVERIFY(comparison.view(0)->hasOverlay());
    QCOMPARE(comparison.view(0)->overlay().id, qint64(2));

    comparison.setMode(LandscapeComparison::Mode::SideBySide);
    QVERIFY(!comparison.view(0)->hasOverlay());
    QVERIFY(comparison.view(1)->isVisible());
    // Live points reach whichever view holds their landscape.
    LandscapeSurface b = bumpy(2);
    b.loss[0] = 0.0;
    comparison.applyPoints(batch(b, [](int ix, int iy) { return ix == 0 && iy == 0; }));
    QCOMPARE(comparison.view(1)->surface().loss[0], 0.0);
}

void TestLandscapeView::screenshots() {
    REQUIRE_RENDERING();
    const QString dir = screenshotDir();
    auto save = [&](LandscapeView& view, const QString& name) {
        const QString file = QDir(dir).filePath(name);
        QVERIFY2(view.saveScreenshot(file), qPrintable(file));
        QVERIFY(colouredPixels(QImage(file)) > 0);
    };
    {
        auto view = shownView(paraboloid(), QSize(900, 640));
        QVERIFY(view);
        save(*view, QStringLiteral("landscape-paraboloid.png"));
    }
    {
        auto view = shownView(bumpy(), QSize(900, 640));
        QVERIFY(view);
        view->pickAt(view->gridPointPosition(26, 24).toPoint());
        save(*view, QStringLiteral("landscape-bumpy.png"));
        view->setLogScale(true);
        save(*view, QStringLiteral("landscape-bumpy-log.png"));
        view->setLogScale(false);
        view->resetCamera(LandscapeView::CameraPreset::Top);
        save(*view, QStringLiteral("landscape-bumpy-top.png"));
    }
    {
        const LandscapeSurface full = bumpy(8);
        auto view = shownView(pending(full), QSize(900, 640));
        QVERIFY(view);
        // Coarse to fine, half done: every 4th point, then rows until half the grid.
        view->applyPoints(batch(full, [](int ix, int iy) { return ix % 4 == 0 && iy % 4 == 0; }));
        view->applyPoints(batch(full, [](int, int iy) { return iy < kGrid / 2; }));
        save(*view, QStringLiteral("landscape-live-half.png"));
    }
    {
        LandscapeSurface lsq = bumpy(1);
        lsq.label = QStringLiteral("LSQ W2A2");
        LandscapeSurface squat = makeSurface(2, kGrid, kGrid, [](double a, double b) {
            return 0.35 + 0.5 * (a * a + b * b) + 0.05 * std::sin(6.0 * a) * std::cos(5.0 * b);
        });
        squat.label = QStringLiteral("SQuAT W2A2");
        LandscapeComparison comparison;
        comparison.resize(1400, 560);
        comparison.setSurfaces(lsq, squat);
        comparison.show();
        QVERIFY(QTest::qWaitForWindowExposed(&comparison));
        QCoreApplication::processEvents();
        QVERIFY(comparison.grab().save(
            QDir(dir).filePath(QStringLiteral("landscape-side-by-side.png"))));
        comparison.setMode(LandscapeComparison::Mode::Overlaid);
        QCoreApplication::processEvents();
        save(*comparison.view(0), QStringLiteral("landscape-overlay.png"));
        QVERIFY(comparison.grab().save(
            QDir(dir).filePath(QStringLiteral("landscape-comparison-overlaid.png"))));
    }
    {
        LandscapeHeatmap heatmap;
        heatmap.resize(640, 540);
        heatmap.setSurface(bumpy());
        QVERIFY(
            heatmap.savePng(QDir(dir).filePath(QStringLiteral("landscape-heatmap.png")), 640, 540));
    }
    {
        LandscapeCurves curves;
        LandscapeSurface lsq = makeSurface(
            11, 51, 1, [](double a, double) { return 0.2 + 2.0 * a * a + 0.05 * std::sin(9 * a); });
        lsq.label = QStringLiteral("LSQ W2A2");
        LandscapeSurface squat =
            makeSurface(12, 51, 1, [](double a, double) { return 0.25 + 0.8 * a * a; });
        squat.label = QStringLiteral("SQuAT W2A2");
        curves.addSurface(lsq);
        curves.addSurface(squat);
        QVERIFY(
            curves.savePng(QDir(dir).filePath(QStringLiteral("landscape-curves.png")), 720, 420));
    }
}

QTEST_MAIN(TestLandscapeView)
#include "TestLandscapeView.moc"
