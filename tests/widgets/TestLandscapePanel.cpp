// LandscapePanel with the FakeBackend (whose landscapes are the analytic bowl
// FakeBackend::bowlLoss): Compute sends the request the controls describe; live points fill the
// views as they arrive; Cancel keeps a resumable landscape that Resume finishes; snapshots of
// one set of directions get a slider; a pick in the heatmap (and, with an X display, in the 3D
// view) fills the readout; Compare puts the other run's matching landscape beside this one;
// the buttons say why they are disabled while a run trains or another analysis runs.
#include "FakeBackend.h"
#include "PlotProbe.h"
#include "visualization/LandscapeComparison.h"
#include "visualization/LandscapeCurves.h"
#include "visualization/LandscapeHeatmap.h"
#include "visualization/LandscapeView.h"
#include "widgets/ActiveRunData.h"
#include "widgets/AnalysisControls.h"
#include "widgets/LandscapePanel.h"
#include "widgets/SelectionHub.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QImage>
#include <QListWidget>
#include <QPushButton>
#include <QSignalSpy>
#include <QSlider>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>

using namespace qs::ui;
using qs::test::FakeBackend;
namespace probe = qs::ui::probe;

namespace {

struct Rig {
    FakeBackend backend;
    SelectionHub hub;
    ActiveRunData data{&backend, &hub};
    AnalysisControls controls{&backend, &data};
    LandscapePanel panel{&data};
    Rig() {
        panel.setAnalysisControls(&controls);
        panel.resize(1000, 700);
    }
    qint64 addRun(const QString& name, const QString& method = QStringLiteral("lsq")) {
        return backend.addStoredRun(FakeBackend::makeRun(name, method, 4, 4, 0.9));
    }
    /// A stored, finished landscape of a run at a step; `curvature` tells snapshots apart.
    qint64 addLandscape(qint64 runId, qint64 step, const LandscapeRequest& request = {},
                        double curvature = 1.0) {
        return backend.addStoredLandscape(
            FakeBackend::makeLandscape(runId, step, request, 0.3, curvature));
    }
    /// Waits for the landscape being computed to end.
    bool waitFinished() {
        QSignalSpy finished(&backend, &RunBackend::landscapeFinished);
        return finished.wait(5000);
    }
};

void selectCombo(QComboBox* combo, const QVariant& data) {
    const int index = combo->findData(data);
    QVERIFY2(index >= 0, qPrintable(data.toString()));
    combo->setCurrentIndex(index);
}

int listRowOf(const QListWidget* list, qint64 id) {
    for (int i = 0; i < list->count(); ++i) {
        if (list->item(i)->data(Qt::UserRole).toLongLong() == id) {
            return i;
        }
    }
    return -1;
}

QString readout(double alpha, double beta, double loss, double accuracy) {
    const QLocale l;
    return QStringLiteral("alpha %1, beta %2: loss %3, accuracy %4%")
        .arg(l.toString(alpha, 'f', 2), l.toString(beta, 'f', 2), l.toString(loss, 'g', 3),
             l.toString(100.0 * accuracy, 'f', 1));
}

}  // namespace

class TestLandscapePanel : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void emptyStatesSayWhatToDo();
    void computeSendsTheRequest_data();
    void computeSendsTheRequest();
    void livePointsFillTheSurface();
    void cancelKeepsPointsAndResumeFinishes();
    void failedComputationIsReported();
    void snapshotSliderWalksTheSteps();
    void pickInHeatmapFillsReadout();
    void pickIn3DViewFillsReadout();
    void compareWithAnotherRun();
    void interpolationShowsAsCurve();
    void buttonsDisabledWhileRunTrains();
    void displayOptionsReachTheViews();
    void saveScreenshotWritesPng();
};

void TestLandscapePanel::emptyStatesSayWhatToDo() {
    Rig rig;
    QVERIFY(rig.panel.isEmptyStateVisible());
    QCOMPARE(rig.panel.emptyTitle(), QStringLiteral("No run selected"));
    QVERIFY(!rig.panel.computeButton()->isEnabled());
    QVERIFY(rig.panel.computeButton()->toolTip().contains(QStringLiteral("Open a run first")));
    const qint64 id = rig.addRun(QStringLiteral("w4a4"));
    rig.hub.setActiveRun(id);
    QVERIFY(rig.panel.isEmptyStateVisible());
    QCOMPARE(rig.panel.emptyTitle(),
             QStringLiteral("No landscape for this run yet: choose directions and Compute"));
    QVERIFY(rig.panel.computeButton()->isEnabled());
    QVERIFY(!rig.panel.resumeButton()->isEnabled());
    QCOMPARE(rig.panel.landscapeList()->count(), 0);
    // The 3D view where VTK can render; otherwise the heatmap, and a note saying why.
    rig.addLandscape(id, 1407);
    rig.hub.setActiveRun(0);
    rig.hub.setActiveRun(id);
    QVERIFY(!rig.panel.isEmptyStateVisible());
    if (LandscapeView::isRenderingAvailable()) {
        QCOMPARE(rig.panel.view(), LandscapePanel::View::Surface3D);
        QCOMPARE(rig.panel.noteText(), QString());
    } else {
        QCOMPARE(rig.panel.view(), LandscapePanel::View::Heatmap);
        QVERIFY(!rig.panel.isViewAvailable(LandscapePanel::View::Surface3D));
        QVERIFY(rig.panel.noteText().contains(QStringLiteral("X display")));
    }
}

void TestLandscapePanel::computeSendsTheRequest_data() {
    QTest::addColumn<QString>("directions");
    QTest::addColumn<int>("grid");
    QTest::addColumn<double>("range");
    QTest::addColumn<QString>("mode");
    QTest::addColumn<int>("samples");
    QTest::addColumn<int>("seed");
    QTest::newRow("random, the defaults")
        << QStringLiteral("random") << 21 << 1.0 << QString() << 500 << 123;
    QTest::newRow("hessian, small grid, float mode")
        << QStringLiteral("hessian") << 15 << 0.5 << QStringLiteral("float") << 256 << 7;
    QTest::newRow("random, quantize-after, wide")
        << QStringLiteral("random") << 31 << 2.5 << QStringLiteral("quantize-after") << 1000 << 99;
}

void TestLandscapePanel::computeSendsTheRequest() {
    QFETCH(QString, directions);
    QFETCH(int, grid);
    QFETCH(double, range);
    QFETCH(QString, mode);
    QFETCH(int, samples);
    QFETCH(int, seed);
    Rig rig;
    const qint64 id = rig.addRun(QStringLiteral("w4a4"));
    rig.hub.setActiveRun(id);
    LandscapePanel& p = rig.panel;
    selectCombo(p.directionsCombo(), directions);
    p.gridSpin()->setValue(grid);
    p.rangeSpin()->setValue(range);
    selectCombo(p.modeCombo(), mode);
    p.samplesSpin()->setValue(samples);
    p.seedSpin()->setValue(seed);
    QTest::mouseClick(p.computeButton(), Qt::LeftButton);
    QCOMPARE(rig.backend.landscapeRequests().size(), 1);
    const auto [runId, r] = rig.backend.landscapeRequests().first();
    QCOMPARE(runId, id);
    QCOMPARE(r.directions, directions);
    QCOMPARE(r.nx, grid);
    QCOMPARE(r.ny, grid);
    QCOMPARE(r.xMin, -range);
    QCOMPARE(r.xMax, range);
    QCOMPARE(r.yMin, -range);
    QCOMPARE(r.yMax, range);
    QCOMPARE(r.mode, mode);
    QCOMPARE(r.samples, samples);
    QCOMPARE(r.seed, quint64(seed));
    QCOMPARE(r.otherRunId, qint64(0));
    // One analysis at a time: the button waits for this one.
    QVERIFY(!p.computeButton()->isEnabled());
    QVERIFY(rig.waitFinished());
    QVERIFY(p.computeButton()->isEnabled());
}

void TestLandscapePanel::livePointsFillTheSurface() {
    Rig rig;
    rig.backend.setLandscapeBatches(4, 20);
    const qint64 id = rig.addRun(QStringLiteral("w4a4"));
    rig.hub.setActiveRun(id);
    LandscapePanel& p = rig.panel;
    QSignalSpy started(&rig.backend, &RunBackend::landscapeStarted);
    QSignalSpy points(&rig.backend, &RunBackend::landscapePointsArrived);
    QSignalSpy status(&rig.controls, &AnalysisControls::statusMessage);
    QTest::mouseClick(p.computeButton(), Qt::LeftButton);
    QVERIFY(started.wait());
    const qint64 landscape = started.at(0).at(0).value<LandscapeSurface>().id;
    QCOMPARE(p.shownLandscape(), landscape);  // shown at once, every point pending
    QCOMPARE(p.shownSurface().finishedCount(), 0);
    QVERIFY(!p.isEmptyStateVisible());
    QVERIFY(p.isProgressVisible());
    QVERIFY(p.cancelButton()->isEnabled());
    QVERIFY(std::isnan(p.heatmap()->cellValue(10, 10)));
    // The first batch: the first rows of the grid, nothing else.
    QVERIFY(points.wait());
    const int first = p.shownSurface().finishedCount();
    QVERIFY2(first > 0 && first < 21 * 21, qPrintable(QString::number(first)));
    const LandscapeSurface s = p.shownSurface();
    QCOMPARE(p.heatmap()->cellValue(3, 0),
             FakeBackend::bowlLoss(QStringLiteral("random"), s.alphaAt(3), s.betaAt(0)));
    QVERIFY(std::isnan(p.heatmap()->cellValue(3, 20)));
    QCOMPARE(p.surfaceView()->surface().finishedCount(), first);
    QVERIFY(p.landscapeList()
                ->item(listRowOf(p.landscapeList(), landscape))
                ->text()
                .contains(QStringLiteral("computing")));
    // More arrive, then the end.
    QVERIFY(points.wait());
    QVERIFY(p.shownSurface().finishedCount() > first);
    QVERIFY(rig.waitFinished());
    QCOMPARE(p.shownSurface().finishedCount(), 21 * 21);
    QCOMPARE(p.shownSurface().status, QStringLiteral("finished"));
    // The bowl's value at a known point: alpha = 0.5, beta = -0.5 is grid point (15, 5).
    QCOMPARE(p.heatmap()->cellValue(15, 5), 0.3 + 0.25 + 2.0 * 0.25);
    QCOMPARE(p.surfaceView()->surface().finishedCount(), 21 * 21);
    QVERIFY(!p.isProgressVisible());
    QVERIFY(!p.cancelButton()->isEnabled());
    QVERIFY(p.computeButton()->isEnabled());
    QVERIFY(!p.landscapeList()->item(0)->text().contains(QStringLiteral("computing")));
    // The status bar follows the computation and says how it ended.
    QCOMPARE(status.first().at(0).toString(),
             QStringLiteral("Computing a landscape of run %1…").arg(id));
    QCOMPARE(status.at(1).at(0).toString(),
             QStringLiteral("Computing a landscape of run %1: landscape, random directions · 25 %")
                 .arg(id));
    QCOMPARE(status.last().at(0).toString(),
             QStringLiteral("Landscape of run %1 computed: 441 points").arg(id));
    // Stored with the run: there when the run is opened again.
    rig.hub.setActiveRun(0);
    rig.hub.setActiveRun(id);
    QCOMPARE(p.shownLandscape(), landscape);
    QCOMPARE(p.shownSurface().finishedCount(), 21 * 21);
}

void TestLandscapePanel::cancelKeepsPointsAndResumeFinishes() {
    Rig rig;
    rig.backend.setLandscapeBatches(5, 20);
    const qint64 id = rig.addRun(QStringLiteral("w4a4"));
    rig.hub.setActiveRun(id);
    LandscapePanel& p = rig.panel;
    QSignalSpy points(&rig.backend, &RunBackend::landscapePointsArrived);
    QSignalSpy finished(&rig.backend, &RunBackend::landscapeFinished);
    QTest::mouseClick(p.computeButton(), Qt::LeftButton);
    QVERIFY(points.wait());
    const qint64 landscape = p.shownLandscape();
    QTest::mouseClick(p.cancelButton(), Qt::LeftButton);
    QTRY_COMPARE(finished.count(), 1);
    const int kept = p.shownSurface().finishedCount();
    QCOMPARE(p.shownSurface().status, QStringLiteral("cancelled"));
    QVERIFY2(kept > 0 && kept < 21 * 21, qPrintable(QString::number(kept)));
    QCOMPARE(finished.at(0).at(0).value<LandscapeSurface>().finishedCount(), kept);
    QVERIFY(!p.isProgressVisible());
    QVERIFY(p.landscapeList()->item(0)->text().contains(QStringLiteral("cancelled")));
    QVERIFY(p.resumeButton()->isEnabled());
    QVERIFY(p.resumeButton()->toolTip().contains(QString::number(21 * 21 - kept)));
    QTest::qWait(100);  // nothing arrives after a cancel
    QCOMPARE(p.shownSurface().finishedCount(), kept);

    QTest::mouseClick(p.resumeButton(), Qt::LeftButton);
    QCOMPARE(rig.backend.resumedLandscapes(), QVector<qint64>{landscape});
    QVERIFY(!p.resumeButton()->isEnabled());
    QTRY_COMPARE(finished.count(), 2);
    QCOMPARE(p.shownLandscape(), landscape);
    QCOMPARE(p.shownSurface().status, QStringLiteral("finished"));
    QCOMPARE(p.shownSurface().finishedCount(), 21 * 21);
    QCOMPARE(p.heatmap()->cellValue(20, 20), 0.3 + 1.0 + 2.0);
    QVERIFY(!p.resumeButton()->isEnabled());
    QCOMPARE(rig.backend.landscapes(id).size(), 1);  // the same landscape, completed
}

void TestLandscapePanel::failedComputationIsReported() {
    Rig rig;
    const qint64 id = rig.addRun(QStringLiteral("w4a4"));
    rig.hub.setActiveRun(id);
    LandscapePanel& p = rig.panel;
    QSignalSpy errors(&rig.controls, &AnalysisControls::errorOccurred);
    QSignalSpy started(&rig.backend, &RunBackend::landscapeStarted);
    rig.backend.failAnalysis(QStringLiteral("Landscape: last.safetensors: truncated tensor"));
    QTest::mouseClick(p.computeButton(), Qt::LeftButton);
    QVERIFY(started.wait());
    QVERIFY(p.isProgressVisible());
    QTRY_COMPARE(errors.count(), 1);
    QCOMPARE(errors.at(0).at(0).toString(),
             QStringLiteral("Landscape: last.safetensors: truncated tensor"));
    QVERIFY(!p.isComputing());
    QVERIFY(!p.isProgressVisible());
    QCOMPARE(p.shownSurface().status, QStringLiteral("failed"));
    QVERIFY(p.landscapeList()->item(0)->text().contains(QStringLiteral("failed")));
    QVERIFY(p.computeButton()->isEnabled());
    QVERIFY(!p.resumeButton()->isEnabled());  // nothing to resume
    // A refusal comes back at once, naming the run.
    rig.backend.failNextAnalysisStart(QStringLiteral("an analysis is in progress"));
    QTest::mouseClick(p.computeButton(), Qt::LeftButton);
    QCOMPARE(errors.count(), 2);
    QCOMPARE(errors.at(1).at(0).toString(),
             QStringLiteral("Could not compute the landscape of run %1: an analysis is in "
                            "progress")
                 .arg(id));
}

void TestLandscapePanel::snapshotSliderWalksTheSteps() {
    Rig rig;
    const qint64 id = rig.addRun(QStringLiteral("w4a4"));  // 3 epochs of 469 steps
    LandscapeRequest hessian;
    hessian.directions = QStringLiteral("hessian");
    const qint64 other = rig.addLandscape(id, 1407, hessian);
    // Snapshots on one set of directions while it trained, flatter as it went.
    const qint64 s1 = rig.addLandscape(id, 469, {}, 3.0);
    const qint64 s2 = rig.addLandscape(id, 938, {}, 2.0);
    const qint64 s3 = rig.addLandscape(id, 1407, {}, 1.0);
    LandscapeRequest otherSeed;
    otherSeed.seed = 5;
    rig.addLandscape(id, 700, otherSeed);  // other directions: not a snapshot of these
    rig.hub.setActiveRun(id);
    LandscapePanel& p = rig.panel;
    p.showLandscape(s3);
    QCOMPARE(p.snapshotSteps(), (QVector<qint64>{469, 938, 1407}));
    QVERIFY(p.snapshotSlider()->isVisibleTo(&p));
    QCOMPARE(p.snapshotSlider()->maximum(), 2);
    QCOMPARE(p.snapshotSlider()->value(), 2);
    QCOMPARE(p.snapshotText(), QStringLiteral("step 1407 (end of epoch 3 of 3)"));
    QCOMPARE(p.heatmap()->cellValue(20, 10), 0.3 + 1.0);
    p.snapshotSlider()->setValue(0);
    QCOMPARE(p.shownLandscape(), s1);
    QCOMPARE(p.shownSurface().step, qint64(469));
    QCOMPARE(p.snapshotText(), QStringLiteral("step 469 (end of epoch 1 of 3)"));
    QCOMPARE(p.heatmap()->cellValue(20, 10), 0.3 + 3.0);
    QCOMPARE(p.landscapeList()->currentRow(), listRowOf(p.landscapeList(), s1));
    p.snapshotSlider()->setValue(1);
    QCOMPARE(p.shownLandscape(), s2);
    // Another landscape has no snapshots: no slider.
    p.landscapeList()->setCurrentRow(listRowOf(p.landscapeList(), other));
    QCOMPARE(p.shownLandscape(), other);
    QVERIFY(p.snapshotSteps().isEmpty());
    QVERIFY(!p.snapshotSlider()->isVisibleTo(&p));
    QCOMPARE(p.snapshotText(), QString());
}

void TestLandscapePanel::pickInHeatmapFillsReadout() {
    Rig rig;
    const qint64 id = rig.addRun(QStringLiteral("w4a4"));
    rig.addLandscape(id, 1407);
    rig.hub.setActiveRun(id);
    LandscapePanel& p = rig.panel;
    p.setView(LandscapePanel::View::Heatmap);
    QCOMPARE(p.view(), LandscapePanel::View::Heatmap);
    p.show();
    QVERIFY(QTest::qWaitForWindowExposed(&p));
    QCOMPARE(p.readoutText(), QString());
    const LandscapeSurface s = p.shownSurface();
    probe::replotNow(*p.heatmap());
    const QPoint pos = probe::pixelAt(*p.heatmap(), s.alphaAt(7), s.betaAt(13));
    QTest::mouseClick(probe::surface(*p.heatmap()), Qt::LeftButton, Qt::NoModifier, pos);
    const int i = s.index(7, 13);
    QCOMPARE(p.readoutText(), readout(-0.3, 0.3, s.loss[i], s.accuracy[i]));
    QCOMPARE(readout(0.1, -0.25, 0.4123, 0.8812),
             QStringLiteral("alpha 0.10, beta -0.25: loss 0.412, accuracy 88.1%"));
}

void TestLandscapePanel::pickIn3DViewFillsReadout() {
    Rig rig;
    const qint64 id = rig.addRun(QStringLiteral("w4a4"));
    rig.addLandscape(id, 1407);
    rig.hub.setActiveRun(id);
    LandscapePanel& p = rig.panel;
    p.show();
    QVERIFY(QTest::qWaitForWindowExposed(&p));
    if (!LandscapeView::isRenderingAvailable()) {
        // Without an X display the 3D view is never offered; the heatmap takes its place.
        p.setView(LandscapePanel::View::Surface3D);
        QCOMPARE(p.view(), LandscapePanel::View::Heatmap);
        QVERIFY(!p.isViewAvailable(LandscapePanel::View::Surface3D));
        return;
    }
    // Filled while hidden behind the heatmap, the 3D view renders when it is shown.
    p.setView(LandscapePanel::View::Heatmap);
    LandscapeView* view = p.surfaceView();
    QTest::qWait(50);
    const int renders = view->renderCount();
    p.setView(LandscapePanel::View::Surface3D);
    QCOMPARE(p.view(), LandscapePanel::View::Surface3D);
    QVERIFY(view->isVisible());
    QTRY_VERIFY(view->renderCount() > renders);
    const QPointF at = view->gridPointPosition(10, 10);
    QVERIFY(view->pickAt(at.toPoint()));
    const LandscapeSurface s = p.shownSurface();
    const int i = s.index(10, 10);
    QCOMPARE(p.readoutText(), readout(0.0, 0.0, s.loss[i], s.accuracy[i]));
}

void TestLandscapePanel::compareWithAnotherRun() {
    Rig rig;
    const qint64 a = rig.addRun(QStringLiteral("lsq w4a4"));
    const qint64 b = rig.addRun(QStringLiteral("float"), QStringLiteral("fp"));
    const qint64 c = rig.addRun(QStringLiteral("squat w4a4"), QStringLiteral("squat"));
    rig.addRun(QStringLiteral("nothing computed"));
    const qint64 d = rig.addRun(QStringLiteral("only a line"));
    LandscapeRequest line;
    line.directions = QStringLiteral("interpolation");
    line.nx = 41;
    rig.addLandscape(d, 1407, line);
    const qint64 mine = rig.addLandscape(a, 1407);
    const qint64 bMatch = rig.addLandscape(b, 1407, {}, 0.5);
    LandscapeRequest hessian;
    hessian.directions = QStringLiteral("hessian");
    rig.addLandscape(b, 1407, hessian);  // newer, but on other directions
    const qint64 cOnly = rig.addLandscape(c, 1407, hessian);
    rig.hub.setActiveRun(a);
    LandscapePanel& p = rig.panel;
    // Only runs with landscapes are offered, never the shown run itself.
    QCOMPARE(p.compareCombo()->count(), 4);
    QCOMPARE(p.compareCombo()->findData(a), -1);
    QVERIFY(p.compareCombo()->findData(b) > 0);
    QVERIFY(p.compareCombo()->findData(c) > 0);
    QVERIFY(!p.isViewAvailable(LandscapePanel::View::Compare));

    p.compareCombo()->setCurrentIndex(p.compareCombo()->findData(b));
    Q_EMIT p.compareCombo()->activated(p.compareCombo()->currentIndex());
    QCOMPARE(p.comparedRun(), b);
    QCOMPARE(p.comparedLandscape(), bMatch);  // same directions, grid and range
    QCOMPARE(p.view(), LandscapePanel::View::Compare);
    QCOMPARE(p.comparison()->view(0)->surface().id, mine);
    QCOMPARE(p.comparison()->view(1)->surface().id, bMatch);
    QCOMPARE(p.comparison()->mode(), LandscapeComparison::Mode::SideBySide);
    QCOMPARE(p.comparisonHeatmap(0)->surface().id, mine);
    QCOMPARE(p.comparisonHeatmap(1)->surface().id, bMatch);
    QCOMPARE(p.comparisonHeatmap(1)->cellValue(20, 20), 0.3 + 0.5 * 3.0);
    // One colour scale: from the flatter landscape's minimum to the sharper one's maximum.
    for (int i = 0; i < 2; ++i) {
        QCOMPARE(p.comparisonHeatmap(i)->range().lossMin, 0.3);
        QCOMPARE(p.comparisonHeatmap(i)->range().lossMax, 0.3 + 3.0);
    }
    // Both views get the width: the controls step aside, and come back on the way out.
    QVERIFY(!p.areControlsVisible());
    p.setOverlaid(true);
    QCOMPARE(p.comparison()->mode(), LandscapeComparison::Mode::Overlaid);
    QVERIFY(p.comparison()->view(0)->hasOverlay());
    QCOMPARE(p.comparison()->view(0)->overlay().id, bMatch);
    p.setOverlaid(false);

    // No landscape on the same directions: the newest 2D one.
    QVERIFY(p.compareWith(c));
    QCOMPARE(p.comparedLandscape(), cOnly);
    QCOMPARE(p.comparison()->view(1)->surface().id, cOnly);
    // A run whose only landscape is a line has nothing to put beside a surface: say so.
    QVERIFY(!p.compareWith(d));
    QCOMPARE(p.comparedRun(), qint64(0));
    QVERIFY(p.noteText().contains(QStringLiteral("has no 2D landscape to compare with")));
    QVERIFY(p.view() != LandscapePanel::View::Compare);
    QVERIFY(p.compareWith(c));
    QCOMPARE(p.view(), LandscapePanel::View::Compare);
    // Ending the comparison goes back to a single view.
    QVERIFY(!p.compareWith(0));
    QVERIFY(p.areControlsVisible());
    QCOMPARE(p.comparedRun(), qint64(0));
    QVERIFY(p.view() != LandscapePanel::View::Compare);
    QVERIFY(!p.isViewAvailable(LandscapePanel::View::Compare));
    QCOMPARE(p.compareCombo()->currentIndex(), 0);
}

void TestLandscapePanel::interpolationShowsAsCurve() {
    Rig rig;
    const qint64 a = rig.addRun(QStringLiteral("lsq w4a4"));
    const qint64 b = rig.addRun(QStringLiteral("float"), QStringLiteral("fp"));
    const qint64 failed = rig.backend.addStoredRun(FakeBackend::makeRun(
        QStringLiteral("bad"), QStringLiteral("lsq"), 4, 4, 0.1, 1, QStringLiteral("failed")));
    rig.hub.setActiveRun(a);
    LandscapePanel& p = rig.panel;
    selectCombo(p.directionsCombo(), QStringLiteral("interpolation"));
    QVERIFY(!p.towardsCombo()->isHidden());
    QCOMPARE(p.towardsCombo()->findData(failed), -1);  // no checkpoint to go towards
    selectCombo(p.towardsCombo(), b);
    p.gridSpin()->setValue(41);
    QTest::mouseClick(p.computeButton(), Qt::LeftButton);
    QCOMPARE(rig.backend.landscapeRequests().size(), 1);
    const LandscapeRequest r = rig.backend.landscapeRequests().first().second;
    QCOMPARE(r.directions, QStringLiteral("interpolation"));
    QCOMPARE(r.otherRunId, b);
    QCOMPARE(r.nx, 41);
    QCOMPARE(r.ny, 1);
    QCOMPARE(r.xMin, -0.5);
    QCOMPARE(r.xMax, 1.5);
    QVERIFY(rig.waitFinished());
    QVERIFY(p.shownSurface().isCurve());
    QCOMPARE(p.view(), LandscapePanel::View::Curves);
    QCOMPARE(p.curves()->surfaceIds(), QList<qint64>{p.shownLandscape()});
    QVERIFY(!p.isViewAvailable(LandscapePanel::View::Heatmap));
    QVERIFY(!p.isViewAvailable(LandscapePanel::View::Surface3D));
    selectCombo(p.directionsCombo(), QStringLiteral("random"));
    QVERIFY(p.towardsCombo()->isHidden());
}

void TestLandscapePanel::buttonsDisabledWhileRunTrains() {
    Rig rig;
    const qint64 id = rig.addRun(QStringLiteral("w4a4"));
    LandscapeSurface cancelled = FakeBackend::makeLandscape(id, 1407, LandscapeRequest{}, 0.3, 1.0);
    cancelled.status = QStringLiteral("cancelled");
    for (int i = 100; i < cancelled.loss.size(); ++i) {
        cancelled.loss[i] = cancelled.accuracy[i] = std::nan("");
    }
    const qint64 landscape = rig.backend.addStoredLandscape(cancelled);
    rig.hub.setActiveRun(id);
    LandscapePanel& p = rig.panel;
    QCOMPARE(p.shownLandscape(), landscape);
    QVERIFY(p.computeButton()->isEnabled());
    QVERIFY(p.resumeButton()->isEnabled());
    // A run starts: the view follows it, and its landscape can wait until it ends.
    QString error;
    const qint64 live =
        rig.backend.startRun(rig.backend.presetSpec(QStringLiteral("smoke")), &error);
    QCOMPARE(rig.hub.activeRun(), live);
    QVERIFY(!p.computeButton()->isEnabled());
    QCOMPARE(p.computeButton()->toolTip(),
             QStringLiteral("Run %1 is training; analyse it after it ends.").arg(live));
    QCOMPARE(p.emptyTitle(), QStringLiteral("No landscape yet"));
    // The stored run, while the other trains.
    rig.hub.setActiveRun(id);
    QVERIFY(!p.computeButton()->isEnabled());
    QVERIFY(!p.resumeButton()->isEnabled());
    QCOMPARE(p.computeButton()->toolTip(),
             QStringLiteral("A run is training; analyses wait until it ends."));
    QCOMPARE(p.resumeButton()->toolTip(), p.computeButton()->toolTip());
    rig.backend.finishLive(QStringLiteral("finished"));
    QVERIFY(p.computeButton()->isEnabled());
    QVERIFY(p.resumeButton()->isEnabled());
    // Another analysis (a sharpness measurement) holds them too.
    QVERIFY(rig.controls.measureSharpness(id));
    QVERIFY(!p.computeButton()->isEnabled());
    QVERIFY(p.computeButton()->toolTip().contains(QStringLiteral("Another analysis")));
    QTRY_VERIFY(p.computeButton()->isEnabled());
    // A failed run has no checkpoint.
    const qint64 failed = rig.backend.addStoredRun(FakeBackend::makeRun(
        QStringLiteral("bad"), QStringLiteral("lsq"), 4, 4, 0.1, 1, QStringLiteral("failed")));
    rig.hub.setActiveRun(failed);
    QVERIFY(!p.computeButton()->isEnabled());
    QCOMPARE(p.emptyTitle(), QStringLiteral("No landscape for this run"));
}

void TestLandscapePanel::displayOptionsReachTheViews() {
    Rig rig;
    const qint64 id = rig.addRun(QStringLiteral("w4a4"));
    rig.addLandscape(id, 1407);
    rig.hub.setActiveRun(id);
    LandscapePanel& p = rig.panel;
    p.logScaleBox()->setChecked(true);
    QVERIFY(p.heatmap()->logScale());
    QVERIFY(p.surfaceView()->logScale());
    QVERIFY(p.heatmap()->isColorScaleLogarithmic());
    p.contoursBox()->setChecked(false);
    QVERIFY(!p.heatmap()->contoursVisible());
    QVERIFY(!p.surfaceView()->contoursVisible());
    QCOMPARE(p.heatmap()->contourLineCount(), 0);
    QVERIFY(!p.clampSpin()->isEnabled());
    p.clampSpin()->setValue(1.5);
    QVERIFY(std::isinf(p.heatmap()->clampMax()));  // not until Clamp is ticked
    p.clampBox()->setChecked(true);
    QVERIFY(p.clampSpin()->isEnabled());
    QCOMPARE(p.heatmap()->clampMax(), 1.5);
    QCOMPARE(p.surfaceView()->clampMax(), 1.5);
    QCOMPARE(p.heatmap()->cellValue(20, 20), 1.5);  // 3.3 drawn at the clamp
    p.clampBox()->setChecked(false);
    QVERIFY(std::isinf(p.surfaceView()->clampMax()));
}

void TestLandscapePanel::saveScreenshotWritesPng() {
    Rig rig;
    const qint64 id = rig.addRun(QStringLiteral("w4a4"));
    rig.hub.setActiveRun(id);
    QTemporaryDir dir;
    const QString empty = dir.filePath(QStringLiteral("empty.png"));
    QVERIFY(!rig.panel.saveScreenshot(empty));  // nothing drawn
    QVERIFY(!QFileInfo::exists(empty));
    rig.addLandscape(id, 1407);
    rig.hub.setActiveRun(0);
    rig.hub.setActiveRun(id);
    rig.panel.setView(LandscapePanel::View::Heatmap);
    rig.panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&rig.panel));
    const QString file = dir.filePath(QStringLiteral("heatmap.png"));
    QVERIFY(rig.panel.saveScreenshot(file));
    const QImage image(file);
    QVERIFY(!image.isNull());
    QVERIFY(image.width() >= 640);
    if (LandscapeView::isRenderingAvailable()) {
        rig.panel.setView(LandscapePanel::View::Surface3D);
        const QString surface = dir.filePath(QStringLiteral("surface.png"));
        QVERIFY(rig.panel.saveScreenshot(surface));
        QVERIFY(!QImage(surface).isNull());
    }
}

QTEST_MAIN(TestLandscapePanel)
#include "TestLandscapePanel.moc"
