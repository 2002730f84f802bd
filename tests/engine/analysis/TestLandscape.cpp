// Loss landscapes (ALGORITHMS.md section 7) on tiny checkpoints trained here: filter-normalised
// directions, the (0, 0) oracle, coarse-to-fine order, cancel + resume == uninterrupted,
// interpolation endpoints, the evaluation modes of a quantized model, Hessian directions, and
// bad input. Torch lives in LandscapeCases.cpp.
#include "LandscapeCases.h"

#include "engine/analysis/Landscape.h"
#include "engine/session/RunSpec.h"
#include "engine/session/Session.h"
#include "engine/store/RunStore.h"
#include "support/TestFiles.h"
#include "support/TinyDataset.h"

#include <QDir>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QTest>

#include <atomic>
#include <cmath>
#include <map>
#include <set>
#include <stdexcept>

using qs::analysis::LandscapeExecution;
using qs::analysis::LandscapeOptions;
using qs::analysis::LandscapePoints;
using qs::analysis::LandscapeSurface;
namespace cases = qs::test::landscape;

namespace {

bool relClose(double a, double b, double tolerance) {
    return std::abs(a - b) <= tolerance * std::max(1.0, std::abs(b));
}

int pendingCount(const LandscapeSurface& s) {
    int n = 0;
    for (double v : s.loss) {
        n += std::isnan(v) ? 1 : 0;
    }
    return n;
}

/// Bitwise equal value lists (NaN equal to NaN).
bool sameValues(const std::vector<double>& a, const std::vector<double>& b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))) {
            return false;
        }
    }
    return true;
}

}  // namespace

class TestLandscape : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();

    void batchesAreCoarseToFine_data();
    void batchesAreCoarseToFine();
    void gridCoordinatesAreExact();
    void directionsAreFilterNormalised_data();
    void directionsAreFilterNormalised();
    void originEqualsPlainLossAndPointsStream();
    void resumeAfterCancelEqualsUninterrupted();
    void interpolationEndsAtBothCheckpoints();
    void modesDifferOnAQuantizedModel();
    void hessianDirections();
    void badInputIsRefused();
    void snapshotsDuringTraining();

private:
    LandscapeOptions tinyOptions() const;

    QTemporaryDir m_dir;
    std::string m_data;
    std::string m_float;  ///< last.safetensors of a 2-epoch float run
    std::string m_lsq;    ///< last.safetensors of a 1-epoch LSQ run from it
};

void TestLandscape::initTestCase() {
    QVERIFY(m_dir.isValid());
    m_data = m_dir.filePath(QStringLiteral("tiny")).toStdString();
    QVERIFY(QDir().mkpath(QString::fromStdString(m_data)));
    qs::test::writeTinyDataset(m_data);

    qs::session::RunSpec spec;
    spec.name = "float";
    spec.data.dataset = "mnist";
    spec.data.path = m_data;
    spec.data.augment = false;
    spec.data.batchSize = 32;
    spec.data.evalBatchSize = 128;
    spec.optim.lr = 0.05;
    spec.optim.epochs = 2;
    spec.seed = 11;
    spec.threads = 1;
    const std::string out = m_dir.filePath(QStringLiteral("out")).toStdString();
    const std::string db = m_dir.filePath(QStringLiteral("train.sqlite")).toStdString();
    {
        qs::session::Session session;
        session.start(spec, {db, out});
        const auto f = session.wait();
        QCOMPARE(f.status, std::string("finished"));
        m_float = f.checkpoint;
    }
    spec.name = "lsq";
    spec.method.name = "lsq";
    spec.optim.epochs = 1;
    spec.optim.lr = 0.01;
    spec.initCheckpoint = m_float;
    {
        qs::session::Session session;
        session.start(spec, {db, out});
        const auto f = session.wait();
        QCOMPARE(f.status, std::string("finished"));
        m_lsq = f.checkpoint;
    }
}

LandscapeOptions TestLandscape::tinyOptions() const {
    LandscapeOptions o;
    o.nx = 5;
    o.ny = 5;
    o.samples = 64;
    o.batchSize = 32;
    o.dataPath = m_data;
    return o;
}

void TestLandscape::batchesAreCoarseToFine_data() {
    QTest::addColumn<int>("nx");
    QTest::addColumn<int>("ny");
    QTest::newRow("9x9") << 9 << 9;
    QTest::newRow("13x6") << 13 << 6;
    QTest::newRow("1D 11") << 11 << 1;
    QTest::newRow("1x1") << 1 << 1;
    QTest::newRow("3x3: coarse is the corner only") << 3 << 3;
}

void TestLandscape::batchesAreCoarseToFine() {
    QFETCH(int, nx);
    QFETCH(int, ny);
    const auto batches = qs::analysis::landscapeBatches(nx, ny);
    const int coarseRows = (ny + 3) / 4;
    const int coarseCols = (nx + 3) / 4;
    QVERIFY(int(batches.size()) >= coarseRows);
    std::set<int64_t> seen;
    for (std::size_t b = 0; b < batches.size(); ++b) {
        QVERIFY(!batches[b].empty());
        const bool coarsePass = int(b) < coarseRows;
        if (coarsePass) {
            QCOMPARE(int(batches[b].size()), coarseCols);
        }
        const int64_t row = batches[b].front() / nx;
        for (int64_t i : batches[b]) {
            QVERIFY(i >= 0 && i < int64_t(nx) * ny);
            QVERIFY2(seen.insert(i).second, "a point comes twice");
            QCOMPARE(i / nx, row);  // one batch = one grid row
            const bool coarse = (i % nx) % 4 == 0 && (i / nx) % 4 == 0;
            QCOMPARE(coarse, coarsePass);
        }
    }
    QCOMPARE(int64_t(seen.size()), int64_t(nx) * ny);
}

void TestLandscape::gridCoordinatesAreExact() {
    LandscapeSurface s;
    s.nx = 51;
    s.ny = 3;
    s.xMin = -1.0;
    s.xMax = 1.0;
    s.yMin = 0.1;
    s.yMax = 0.7;
    QCOMPARE(qs::analysis::gridX(s, 0), -1.0);
    QCOMPARE(qs::analysis::gridX(s, 25), 0.0);
    QCOMPARE(qs::analysis::gridX(s, 50), 1.0);
    QCOMPARE(qs::analysis::gridY(s, 2), 0.7);
    QVERIFY(relClose(qs::analysis::gridY(s, 1), 0.4, 1e-15));
    QVERIFY(relClose(qs::analysis::gridX(s, 10), -0.6, 1e-15));
}

void TestLandscape::directionsAreFilterNormalised_data() {
    QTest::addColumn<bool>("perChannel");
    QTest::newRow("per-tensor step sizes") << false;
    QTest::newRow("per-channel step sizes") << true;
}

void TestLandscape::directionsAreFilterNormalised() {
    QFETCH(bool, perChannel);
    const cases::DirectionsSeen seen = cases::randomDirectionsOfTinyModel(perChannel, 123);
    QVERIFY(!seen.quantizerParams.empty());
    QCOMPARE(seen.dx.size(), seen.dy.size());
    QVERIFY(seen.dx.size() > 20);
    int filters = 0;
    for (const auto* list : {&seen.dx, &seen.dy}) {
        for (const cases::DirectionTensor& t : *list) {
            // Step sizes are excluded by name, whatever their shape.
            QVERIFY2(t.name.find("quantizer") == std::string::npos, t.name.c_str());
            if (t.dim <= 1) {
                QVERIFY2(t.maxAbs == 0.0, t.name.c_str());
                continue;
            }
            QVERIFY2(t.maxAbs > 0.0, t.name.c_str());
            QCOMPARE(t.directionFilterNorms.size(), t.weightFilterNorms.size());
            for (std::size_t f = 0; f < t.weightFilterNorms.size(); ++f) {
                QVERIFY2(t.weightFilterNorms[f] > 0.0, t.name.c_str());
                QVERIFY2(relClose(t.directionFilterNorms[f], t.weightFilterNorms[f], 1e-5),
                         qPrintable(QStringLiteral("%1 filter %2: %3 vs %4")
                                        .arg(QString::fromStdString(t.name))
                                        .arg(f)
                                        .arg(t.directionFilterNorms[f])
                                        .arg(t.weightFilterNorms[f])));
                ++filters;
            }
        }
    }
    QVERIFY(filters > 100);
    QVERIFY(seen.sameSeedGivesSameDirections);
    QVERIFY(seen.otherSeedGivesOtherDirections);
    QVERIFY(seen.curveDxEqualsSurfaceDx);
    QVERIFY(seen.weightsMovedAtOneOne);
    QVERIFY(seen.stepSizesUnmovedAtOneOne);
    QVERIFY(seen.restoreIsExact);
}

void TestLandscape::originEqualsPlainLossAndPointsStream() {
    const LandscapeOptions o = tinyOptions();
    LandscapeExecution exec;
    exec.threads = 1;
    std::vector<LandscapePoints> batches;
    const LandscapeSurface s = qs::analysis::computeLandscape(
        m_float, o, nullptr, 0, exec, [&](const LandscapePoints& p) { batches.push_back(p); });
    QCOMPARE(s.status, std::string("finished"));
    QCOMPARE(s.mode, std::string("float"));
    QCOMPARE(s.kind, std::string("random"));
    QCOMPARE(s.samples, int64_t(64));
    QCOMPARE(s.seed, uint64_t(123));
    QCOMPARE(s.loss.size(), size_t(25));
    QCOMPARE(pendingCount(s), 0);
    const double plain = cases::plainLoss(m_float, "float", 64, 123, false, m_data, 32);
    QVERIFY2(relClose(s.loss[12], plain, 1e-6),
             qPrintable(QStringLiteral("%1 vs %2").arg(s.loss[12]).arg(plain)));
    for (std::size_t i = 0; i < s.loss.size(); ++i) {
        QVERIFY(std::isfinite(s.loss[i]) && s.loss[i] > 0.0);
        QVERIFY(s.accuracy[i] >= 0.0 && s.accuracy[i] <= 1.0);
    }
    // A trained minimum: the centre is lower than the corners of the surface.
    QVERIFY(s.loss[12] < s.loss[0] && s.loss[12] < s.loss[24]);

    // Streamed coarse to fine, one row per batch, each point once, fractions rising to 1.
    QCOMPARE(batches.size(), qs::analysis::landscapeBatches(5, 5).size());
    QCOMPARE(batches.front().points.size(), size_t(2));  // (0, 0) and (4, 0)
    QCOMPARE(batches[1].points.size(), size_t(2));       // (0, 4) and (4, 4)
    for (const auto& p : batches[0].points) {
        QVERIFY(p.ix % 4 == 0 && p.iy == 0);
    }
    double fraction = 0.0;
    int count = 0;
    for (const auto& b : batches) {
        QVERIFY(b.fraction > fraction);
        fraction = b.fraction;
        for (const auto& p : b.points) {
            QCOMPARE(p.loss, s.loss[size_t(p.iy * 5 + p.ix)]);
            ++count;
        }
    }
    QCOMPARE(fraction, 1.0);
    QCOMPARE(count, 25);
}

void TestLandscape::resumeAfterCancelEqualsUninterrupted() {
    LandscapeOptions o = tinyOptions();
    o.nx = 6;
    o.ny = 5;
    o.xMin = -0.5;
    o.yMax = 0.5;
    LandscapeExecution single;
    single.threads = 1;
    single.parallel = "intra-op";
    const LandscapeSurface whole = qs::analysis::computeLandscape(m_float, o, nullptr, 0, single);
    QCOMPARE(pendingCount(whole), 0);

    const std::string db = m_dir.filePath(QStringLiteral("resume.sqlite")).toStdString();
    auto store = qs::store::RunStore::open(db);
    LandscapeExecution points;
    points.threads = 2;
    points.parallel = "points";
    points.flushSeconds = 0.0;
    std::atomic<bool> cancel{false};
    int64_t id = 0;
    const LandscapeSurface cut = qs::analysis::computeLandscape(
        m_float, o, store.get(), 0, points,
        [&](const LandscapePoints& p) {
            id = p.id;
            cancel = true;  // after the first finished batch
        },
        &cancel);
    QVERIFY(id > 0);
    QCOMPARE(cut.id, id);
    QCOMPARE(cut.status, std::string("cancelled"));
    const auto stored = store->landscape(id);
    QVERIFY(stored.has_value());
    QCOMPARE(stored->status, std::string("cancelled"));
    QVERIFY(pendingCount(*stored) > 0);
    QVERIFY(pendingCount(*stored) < 30);
    QVERIFY(sameValues(stored->loss, cut.loss));

    int resumedPoints = 0;
    const LandscapeSurface resumed = qs::analysis::resumeLandscape(
        *store, id, points,
        [&](const LandscapePoints& p) { resumedPoints += int(p.points.size()); });
    QCOMPARE(resumed.status, std::string("finished"));
    QCOMPARE(resumedPoints, pendingCount(*stored));  // only the pending points were computed
    QVERIFY(sameValues(resumed.loss, whole.loss));
    QVERIFY(sameValues(resumed.accuracy, whole.accuracy));
    const auto finished = store->landscape(id);
    QCOMPARE(finished->status, std::string("finished"));
    QVERIFY(sameValues(finished->loss, whole.loss));
    QCOMPARE(finished->checkpoint, m_float);
    QCOMPARE(finished->xMin, -0.5);
    QCOMPARE(finished->yMax, 0.5);
    // A finished landscape has nothing left to resume.
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                             qs::analysis::resumeLandscape(*store, id, points));
}

void TestLandscape::interpolationEndsAtBothCheckpoints() {
    const std::string first = QFileInfo(QString::fromStdString(m_float))
                                  .dir()
                                  .filePath("epoch-1.safetensors")
                                  .toStdString();
    LandscapeOptions o = tinyOptions();
    o.directions = "interpolation";
    o.otherCheckpoint = m_float;
    o.nx = 5;
    o.ny = 1;
    o.xMin = -0.5;
    o.xMax = 1.5;
    LandscapeExecution exec;
    exec.threads = 1;
    const LandscapeSurface s = qs::analysis::computeLandscape(first, o, nullptr, 0, exec);
    QCOMPARE(s.kind, std::string("interpolation"));
    QCOMPARE(s.ny, 1);
    QCOMPARE(s.yMin, 0.0);
    const double l1 = cases::plainLoss(first, "float", 64, 123, false, m_data, 32);
    const double l2 = cases::plainLoss(m_float, "float", 64, 123, false, m_data, 32);
    QVERIFY(!relClose(l1, l2, 1e-3));  // the two checkpoints are different points
    QVERIFY2(relClose(s.loss[1], l1, 1e-6), qPrintable(QString::number(s.loss[1] - l1)));
    QVERIFY2(relClose(s.loss[3], l2, 1e-5), qPrintable(QString::number(s.loss[3] - l2)));
}

void TestLandscape::modesDifferOnAQuantizedModel() {
    LandscapeOptions o = tinyOptions();
    o.xMin = o.yMin = -0.5;
    o.xMax = o.yMax = 0.5;
    LandscapeExecution exec;
    exec.threads = 1;
    std::map<std::string, LandscapeSurface> byMode;
    for (const char* mode : {"", "quantize-after", "float"}) {
        o.mode = mode;
        byMode[mode] = qs::analysis::computeLandscape(m_lsq, o, nullptr, 0, exec);
    }
    const LandscapeSurface& dq = byMode[""];
    const LandscapeSurface& qa = byMode["quantize-after"];
    const LandscapeSurface& fl = byMode["float"];
    QCOMPARE(dq.mode, std::string("dequantized"));  // the default for a quantized model
    const double quantized = cases::plainLoss(m_lsq, "quantize-after", 64, 123, false, m_data, 32);
    QVERIFY2(relClose(qa.loss[12], quantized, 1e-6),
             qPrintable(QStringLiteral("%1 vs %2").arg(qa.loss[12]).arg(quantized)));
    // At w itself dequantized and quantize-after are the same network.
    QVERIFY(relClose(dq.loss[12], qa.loss[12], 1e-5));
    QCOMPARE(fl.loss[12], cases::plainLoss(m_lsq, "float", 64, 123, false, m_data, 32));
    QVERIFY(!relClose(fl.loss[12], qa.loss[12], 1e-6));  // quantization changes the loss
    double maxGap = 0.0;
    for (std::size_t i = 0; i < qa.loss.size(); ++i) {
        maxGap = std::max(maxGap, std::abs(dq.loss[i] - qa.loss[i]));
    }
    QVERIFY2(maxGap > 1e-4, qPrintable(QString::number(maxGap)));  // Q(w) + e vs Q(w + e)
}

void TestLandscape::hessianDirections() {
    LandscapeOptions o = tinyOptions();
    o.directions = "hessian";
    o.nx = o.ny = 3;
    o.samples = 32;
    LandscapeExecution exec;
    exec.threads = 1;
    const LandscapeSurface s = qs::analysis::computeLandscape(m_float, o, nullptr, 0, exec);
    QCOMPARE(s.kind, std::string("hessian"));
    QCOMPARE(pendingCount(s), 0);
    const double plain = cases::plainLoss(m_float, "float", 32, 123, false, m_data, 32);
    QVERIFY(relClose(s.loss[4], plain, 1e-6));
    // Along the top eigenvectors the loss curves upwards around a trained minimum.
    QVERIFY(s.loss[3] + s.loss[5] > 2.0 * s.loss[4]);
    QVERIFY(s.loss[1] + s.loss[7] > 2.0 * s.loss[4]);
}

void TestLandscape::badInputIsRefused() {
    LandscapeExecution exec;
    exec.threads = 1;
    const std::string missing = m_dir.filePath(QStringLiteral("missing.safetensors")).toStdString();
    try {
        qs::analysis::computeLandscape(missing, tinyOptions(), nullptr, 0, exec);
        QFAIL("a missing checkpoint was accepted");
    } catch (const std::runtime_error& e) {
        QVERIFY2(std::string(e.what()).find(missing) != std::string::npos, e.what());
    }
    const std::string cut = m_dir.filePath(QStringLiteral("cut.safetensors")).toStdString();
    std::vector<uint8_t> bytes = qs::test::readBytes(m_float);
    bytes.resize(200);
    qs::test::writeBytes(cut, bytes);
    try {
        qs::analysis::computeLandscape(cut, tinyOptions(), nullptr, 0, exec);
        QFAIL("a truncated checkpoint was accepted");
    } catch (const std::runtime_error& e) {
        QVERIFY2(std::string(e.what()).find(cut) != std::string::npos, e.what());
    }

    auto refused = [&](const LandscapeOptions& o, const LandscapeExecution& e,
                       const std::string& expected) {
        try {
            qs::analysis::computeLandscape(m_float, o, nullptr, 0, e);
        } catch (const std::invalid_argument& error) {
            return std::string(error.what()).find(expected) != std::string::npos;
        }
        return false;
    };
    LandscapeOptions o = tinyOptions();
    o.nx = 0;
    QVERIFY(refused(o, exec, "bad grid 0 x 5"));
    o = tinyOptions();
    o.xMin = 1.0;
    o.xMax = -1.0;
    QVERIFY(refused(o, exec, "bad range"));
    o = tinyOptions();
    o.directions = "diagonal";
    QVERIFY(refused(o, exec, "unknown directions 'diagonal'"));
    o = tinyOptions();
    o.directions = "interpolation";
    o.otherCheckpoint = m_float;
    QVERIFY(refused(o, exec, "ny must be 1"));
    o.ny = 1;
    o.otherCheckpoint.clear();
    QVERIFY(refused(o, exec, "needs the other checkpoint"));
    o = tinyOptions();
    o.mode = "sideways";
    QVERIFY(refused(o, exec, "unknown evaluation mode 'sideways'"));
    LandscapeExecution badExec = exec;
    badExec.parallel = "everywhere";
    QVERIFY(refused(tinyOptions(), badExec, "unknown parallel strategy 'everywhere'"));

    auto store =
        qs::store::RunStore::open(m_dir.filePath(QStringLiteral("bad.sqlite")).toStdString());
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                             qs::analysis::resumeLandscape(*store, 99, exec));
    // Nothing was recorded for refused input.
    QVERIFY(store->landscapes(0).empty());
    // An unfinished surface has no heights to export.
    LandscapeSurface pending;
    pending.nx = pending.ny = 2;
    pending.loss = {1.0, std::nan(""), 1.0, 1.0};
    pending.accuracy = {0.5, std::nan(""), 0.5, 0.5};
    QVERIFY_THROWS_EXCEPTION(
        std::invalid_argument,
        qs::analysis::writeVtp(pending, m_dir.filePath(QStringLiteral("p.vtp")).toStdString()));
}

void TestLandscape::snapshotsDuringTraining() {
    qs::session::RunSpec spec;
    spec.name = "snapshots";
    spec.data.dataset = "mnist";
    spec.data.path = m_data;
    spec.data.augment = false;
    spec.data.batchSize = 32;  // 8 steps an epoch
    spec.optim.lr = 0.05;
    spec.optim.epochs = 3;
    spec.threads = 1;
    spec.analysis.landscape.epochs = {1, 3};
    spec.analysis.landscape.nx = 3;
    spec.analysis.landscape.ny = 3;
    spec.analysis.landscape.range = 0.5;
    spec.analysis.landscape.samples = 32;
    spec.analysis.landscape.seed = 5;
    const std::string db = m_dir.filePath(QStringLiteral("snapshots.sqlite")).toStdString();
    const std::string out = m_dir.filePath(QStringLiteral("snapshots")).toStdString();
    qs::session::Session session;
    const int64_t runId = session.start(spec, {db, out});
    const auto f = session.wait();
    QCOMPARE(f.status, std::string("finished"));
    const auto rows = qs::store::RunStore::open(db)->landscapes(runId);
    QCOMPARE(rows.size(), size_t(2));
    const int epochs[] = {1, 3};
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const LandscapeSurface& s = rows[i];
        QCOMPARE(s.runId, runId);
        QCOMPARE(s.step, int64_t(8 * epochs[i]));
        QCOMPARE(s.status, std::string("finished"));
        QCOMPARE(s.seed, uint64_t(5));
        QCOMPARE(s.nx, 3);
        QCOMPARE(s.xMax, 0.5);
        QCOMPARE(pendingCount(s), 0);
        const std::string ck = out + "/run-" + std::to_string(runId) + "/epoch-" +
                               std::to_string(epochs[i]) + ".safetensors";
        QCOMPARE(s.checkpoint, ck);
        QVERIFY(
            relClose(s.loss[4], cases::plainLoss(ck, "float", 32, 5, false, m_data, 500), 1e-6));
    }
    QVERIFY(rows[1].loss[4] < rows[0].loss[4]);  // training went on between the snapshots
}

QTEST_GUILESS_MAIN(TestLandscape)
#include "TestLandscape.moc"
