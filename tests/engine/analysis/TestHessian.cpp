// Hessian figures (ALGORITHMS.md section 5): Hessian-vector products on quadratics and on a tiny
// ResNet (finite differences, symmetry, cached graphs), power iteration with deflation on
// diag(5, 3, 1) and a dense matrix, Hutchinson's estimator (exact on a diagonal Hessian, within
// 4 standard errors per block on a block matrix), and analyzeHessian end to end on checkpoints of
// real tiny runs (float and LSQ), with the store round trip and the errors for bad input.
#include "HessianCases.h"

#include "engine/analysis/Hessian.h"
#include "engine/session/RunSpec.h"
#include "engine/session/Session.h"
#include "engine/store/RunStore.h"
#include "support/TestFiles.h"
#include "support/TinyDataset.h"

#include <QDir>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <random>

using namespace qs::test::hessian;

namespace {

Matrix randomSymmetric(int n, uint32_t seed, double diagonalShift) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> normal;
    Matrix m(std::size_t(n), Vec(std::size_t(n), 0.0));
    for (int i = 0; i < n; ++i) {
        for (int j = 0; j <= i; ++j) {
            m[i][j] = m[j][i] = normal(rng);
        }
        m[i][i] += diagonalShift;
    }
    return m;
}

Vec times(const Matrix& a, const Vec& v) {
    Vec out(a.size(), 0.0);
    for (std::size_t i = 0; i < a.size(); ++i) {
        for (std::size_t j = 0; j < v.size(); ++j) {
            out[i] += a[i][j] * v[j];
        }
    }
    return out;
}

double dot(const Vec& a, const Vec& b) {
    double s = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        s += a[i] * b[i];
    }
    return s;
}

}  // namespace

class TestHessian : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();

    void hvpOfQuadraticIsAv_data();
    void hvpOfQuadraticIsAv();
    void powerIterationFindsFiveThenThree();
    void powerIterationMatchesDenseEigenvalues();
    void badKAndCancelAreReported();
    void hutchinsonIsExactOnDiagonalHessian();
    void blockTracesWithinFourStandardErrors();
    void modelHvpMatchesFiniteDifferencesAndIsSymmetric();
    void quantizedModelHvpIsSymmetric();
    void analyzeFloatCheckpointEndToEnd();
    void analyzeQuantizedCheckpoint();
    void badInputIsRefused();

private:
    qs::session::RunSpec tinySpec(const std::string& name, const std::string& method) const;
    /// Trains a run to its end; returns its checkpoint.
    std::string train(const qs::session::RunSpec& spec, int64_t* runId = nullptr) const;
    qs::analysis::HessianOptions smallOptions() const;
    const std::string& floatCheckpoint();

    QTemporaryDir m_dir;
    std::string m_data;
    std::string m_db;
    std::string m_out;
    std::string m_float;
    int64_t m_floatRun = 0;
};

void TestHessian::initTestCase() {
    QVERIFY(m_dir.isValid());
    m_data = m_dir.filePath(QStringLiteral("tiny")).toStdString();
    QVERIFY(QDir().mkpath(QString::fromStdString(m_data)));
    qs::test::writeTinyDataset(m_data);
    m_db = m_dir.filePath(QStringLiteral("runs.sqlite")).toStdString();
    m_out = m_dir.filePath(QStringLiteral("checkpoints")).toStdString();
}

qs::session::RunSpec TestHessian::tinySpec(const std::string& name,
                                           const std::string& method) const {
    qs::session::RunSpec s;
    s.name = name;
    s.model.arch = "resnet20";
    s.data.dataset = "mnist";
    s.data.path = m_data;
    s.data.augment = false;
    s.data.batchSize = 32;
    s.data.evalBatchSize = 128;
    s.method.name = method;
    s.optim.lr = 0.05;
    s.optim.epochs = 1;
    s.seed = 11;
    s.threads = 1;
    return s;
}

std::string TestHessian::train(const qs::session::RunSpec& spec, int64_t* runId) const {
    qs::session::Session session;
    qs::session::SessionOptions o;
    o.dbPath = m_db;
    o.outDir = m_out;
    const int64_t id = session.start(spec, o);
    const qs::session::Finished f = session.wait();
    if (runId != nullptr) {
        *runId = id;
    }
    return f.status == "finished" ? f.checkpoint : std::string();
}

const std::string& TestHessian::floatCheckpoint() {
    if (m_float.empty()) {
        m_float = train(tinySpec("float", "fp"), &m_floatRun);
    }
    return m_float;
}

qs::analysis::HessianOptions TestHessian::smallOptions() const {
    qs::analysis::HessianOptions o;
    o.samples = 64;
    o.batchSize = 32;
    o.maxIterations = 30;
    o.traceSamples = 12;
    o.threads = 1;
    o.dataPath = m_data;
    return o;
}

void TestHessian::hvpOfQuadraticIsAv_data() {
    QTest::addColumn<int>("batches");
    QTest::addColumn<bool>("cached");
    QTest::newRow("one batch, recomputed") << 1 << false;
    QTest::newRow("three batches, recomputed") << 3 << false;
    QTest::newRow("three batches, cached graphs") << 3 << true;
}

void TestHessian::hvpOfQuadraticIsAv() {
    QFETCH(int, batches);
    QFETCH(bool, cached);
    const int n = 7;
    std::vector<Matrix> parts;
    Matrix a(n, Vec(n, 0.0));
    for (int b = 0; b < batches; ++b) {
        parts.push_back(randomSymmetric(n, 100 + b, 0.0));
        for (int i = 0; i < n; ++i) {
            for (int j = 0; j < n; ++j) {
                a[i][j] += parts.back()[i][j];
            }
        }
    }
    std::mt19937 rng(3);
    std::normal_distribution<double> normal;
    Vec w(n), v(n);
    for (int i = 0; i < n; ++i) {
        w[i] = normal(rng);
        v[i] = normal(rng);
    }
    // Two tensors (4 + 3 elements): the product crosses tensor boundaries.
    const Vec hv = quadraticHvp(parts, {4, 3}, w, v, cached);
    const Vec expected = times(a, v);
    QCOMPARE(hv.size(), expected.size());
    for (int i = 0; i < n; ++i) {
        QVERIFY2(std::abs(hv[i] - expected[i]) < 1e-12 * (1.0 + std::abs(expected[i])),
                 qPrintable(QStringLiteral("%1: %2 vs %3").arg(i).arg(hv[i]).arg(expected[i])));
    }
}

void TestHessian::powerIterationFindsFiveThenThree() {
    const Matrix h{{5.0, 0.0, 0.0}, {0.0, 3.0, 0.0}, {0.0, 0.0, 1.0}};
    // Split over two tensors: the eigenvectors span them.
    const EigenOut r = eigenOfMatrix(h, {2, 1}, 2, 100, 1e-3, 7);
    QCOMPARE(r.values.size(), std::size_t(2));
    QVERIFY2(std::abs(r.values[0] - 5.0) < 5e-3, qPrintable(QString::number(r.values[0])));
    QVERIFY2(std::abs(r.values[1] - 3.0) < 3e-3, qPrintable(QString::number(r.values[1])));
    // e1 and e2 up to sign.
    QVERIFY(std::abs(std::abs(r.vectors[0][0]) - 1.0) < 1e-2);
    QVERIFY(std::abs(std::abs(r.vectors[1][1]) - 1.0) < 1e-2);
    QVERIFY(std::abs(dot(r.vectors[0], r.vectors[1])) < 1e-9);  // deflation: orthogonal
    for (int it : r.iterations) {
        QVERIFY(it >= 2 && it <= 100);
    }
}

void TestHessian::powerIterationMatchesDenseEigenvalues() {
    // Q diag(9, -6, 4, 2, 1, 0.5) Q' with a random orthogonal Q (Gram-Schmidt): the largest
    // magnitudes are 9 then -6; a tight tolerance converges to them.
    const Vec lambda{9.0, -6.0, 4.0, 2.0, 1.0, 0.5};
    const int n = int(lambda.size());
    Matrix q = randomSymmetric(n, 9, 0.0);
    for (int i = 0; i < n; ++i) {
        for (int j = 0; j < i; ++j) {
            const double c = dot(q[i], q[j]);
            for (int k = 0; k < n; ++k) {
                q[i][k] -= c * q[j][k];
            }
        }
        const double norm = std::sqrt(dot(q[i], q[i]));
        for (int k = 0; k < n; ++k) {
            q[i][k] /= norm;
        }
    }
    Matrix h(n, Vec(n, 0.0));
    for (int i = 0; i < n; ++i) {
        for (int j = 0; j < n; ++j) {
            for (int k = 0; k < n; ++k) {
                h[i][j] += q[k][i] * lambda[k] * q[k][j];
            }
        }
    }
    const EigenOut r = eigenOfMatrix(h, {n}, 2, 1000, 1e-10, 3);
    QVERIFY2(std::abs(r.values[0] - 9.0) < 1e-6, qPrintable(QString::number(r.values[0])));
    QVERIFY2(std::abs(r.values[1] + 6.0) < 1e-6, qPrintable(QString::number(r.values[1])));
    QVERIFY(std::abs(std::abs(dot(r.vectors[0], q[0])) - 1.0) < 1e-6);
}

void TestHessian::badKAndCancelAreReported() {
    QCOMPARE(QString::fromStdString(eigenError(0)),
             QStringLiteral("top-k eigenvalues: k must be at least 1 (got 0)"));
    QCOMPARE(QString::fromStdString(eigenError(1)), QString());
    QCOMPARE(productsBeforeCancel(3), 3);
}

void TestHessian::hutchinsonIsExactOnDiagonalHessian() {
    // Rademacher v: v * Hv is the diagonal itself, whatever the draw.
    const Vec d{4.0, -1.5, 2.0, 0.25, 7.0};
    Matrix h(d.size(), Vec(d.size(), 0.0));
    for (std::size_t i = 0; i < d.size(); ++i) {
        h[i][i] = d[i];
    }
    const TraceOut r = traceOfMatrix(h, {3, 2}, 10, 5);
    QVERIFY(std::abs(r.trace - 11.75) < 1e-12);
    QVERIFY(r.traceSe < 1e-12);
    QVERIFY(std::abs(r.blockTrace[0] - 4.5) < 1e-12);
    QVERIFY(std::abs(r.blockTrace[1] - 7.25) < 1e-12);
    QVERIFY(r.blockTraceSe[0] < 1e-12 && r.blockTraceSe[1] < 1e-12);
}

void TestHessian::blockTracesWithinFourStandardErrors() {
    // Block-diagonal A: two "layers" (6 and 4 elements) with dense off-diagonal entries, so the
    // estimates scatter and the standard errors are real.
    const Matrix a1 = randomSymmetric(6, 21, 3.0), a2 = randomSymmetric(4, 22, -2.0);
    Matrix h(10, Vec(10, 0.0));
    double t1 = 0.0, t2 = 0.0;
    for (int i = 0; i < 6; ++i) {
        for (int j = 0; j < 6; ++j) {
            h[i][j] = a1[i][j];
        }
        t1 += a1[i][i];
    }
    for (int i = 0; i < 4; ++i) {
        for (int j = 0; j < 4; ++j) {
            h[6 + i][6 + j] = a2[i][j];
        }
        t2 += a2[i][i];
    }
    const TraceOut r = traceOfMatrix(h, {6, 4}, 200, 17);
    QVERIFY(r.blockTraceSe[0] > 0.0 && r.blockTraceSe[1] > 0.0 && r.traceSe > 0.0);
    QVERIFY2(
        std::abs(r.blockTrace[0] - t1) < 4.0 * r.blockTraceSe[0],
        qPrintable(
            QStringLiteral("%1 vs %2 +- %3").arg(r.blockTrace[0]).arg(t1).arg(r.blockTraceSe[0])));
    QVERIFY2(
        std::abs(r.blockTrace[1] - t2) < 4.0 * r.blockTraceSe[1],
        qPrintable(
            QStringLiteral("%1 vs %2 +- %3").arg(r.blockTrace[1]).arg(t2).arg(r.blockTraceSe[1])));
    QVERIFY(std::abs(r.trace - (t1 + t2)) < 4.0 * r.traceSe);
    // The blocks partition the vector: their estimates add up to the total, sample by sample.
    QVERIFY(std::abs(r.blockTrace[0] + r.blockTrace[1] - r.trace) < 1e-9);
}

void TestHessian::modelHvpMatchesFiniteDifferencesAndIsSymmetric() {
    const ModelHvpCheck c = checkModelHvp(false);
    QVERIFY(c.hvNorm > 0.0);
    QVERIFY2(c.finiteDifferenceError < 1e-4, qPrintable(QString::number(c.finiteDifferenceError)));
    QVERIFY2(c.symmetryError < 1e-10, qPrintable(QString::number(c.symmetryError)));
    QVERIFY2(c.cacheError < 1e-10, qPrintable(QString::number(c.cacheError)));
}

void TestHessian::quantizedModelHvpIsSymmetric() {
    // Through the fused LSQ functions: a product that lost the second-order path through them
    // would not be symmetric.
    const ModelHvpCheck c = checkModelHvp(true);
    QVERIFY(c.hvNorm > 0.0);
    QVERIFY2(c.symmetryError < 1e-4, qPrintable(QString::number(c.symmetryError)));
    QVERIFY2(c.cacheError < 1e-4, qPrintable(QString::number(c.cacheError)));
}

void TestHessian::analyzeFloatCheckpointEndToEnd() {
    const std::string checkpoint = floatCheckpoint();
    QVERIFY(!checkpoint.empty());
    std::vector<std::string> phases;
    std::vector<double> fractions;
    const qs::analysis::HessianOptions o = smallOptions();
    const qs::analysis::HessianReport r =
        qs::analysis::analyzeHessian(checkpoint, o, [&](const std::string& phase, double f) {
            if (phases.empty() || phases.back() != phase) {
                phases.push_back(phase);
            }
            fractions.push_back(f);
        });
    QCOMPARE(phases, (std::vector<std::string>{"eigenvalues, float", "trace, float"}));
    QVERIFY(std::is_sorted(fractions.begin(), fractions.end()));
    QCOMPARE(fractions.back(), 1.0);
    QCOMPARE(r.mode, std::string("float"));
    QCOMPARE(r.method, std::string("fp"));
    QCOMPARE(r.samples, int64_t(64));
    QCOMPARE(r.eigenvalues.size(), std::size_t(2));
    QVERIFY(std::isfinite(r.eigenvalues[0]) && std::isfinite(r.eigenvalues[1]));
    QVERIFY(std::abs(r.eigenvalues[0]) >= std::abs(r.eigenvalues[1]) * 0.99);
    QVERIFY(r.eigenvalues[0] > 0.0);
    QVERIFY(std::isfinite(r.trace) && r.traceSe > 0.0);
    QCOMPARE(r.traceSamples, 12);
    // ResNet-20: stem, 18 block convs, 2 shortcut convs, fc.
    QCOMPARE(r.layers.size(), std::size_t(22));
    QCOMPARE(r.layers.front().layer, std::string("conv1"));
    QCOMPARE(r.layers.back().layer, std::string("fc"));
    // MACs from the output shapes of 12 x 12 inputs: the stem keeps 12 x 12 (3 x 3, padding 1),
    // stage 2 halves it to 6 x 6, stage 3 to 3 x 3; fc: 64 inputs x 10 classes (MNIST's).
    QCOMPARE(r.layers.front().params, int64_t(16 * 9));
    QCOMPARE(r.layers.front().macs, int64_t(16 * 9 * 144));
    QCOMPARE(r.layers.back().macs, int64_t(64 * 10));
    for (const auto& l : r.layers) {
        QVERIFY2(std::isfinite(l.trace) && l.traceSe >= 0.0, l.layer.c_str());
        QCOMPARE(l.omega.size(), std::size_t(4));
        if (l.layer == "layer2.0.conv1") {
            QCOMPARE(l.macs, int64_t(32 * 16 * 9 * 36));
        }
        if (l.layer == "layer3.0.downsample.0") {
            QCOMPARE(l.macs, int64_t(64 * 32 * 9));
        }
        for (const auto& [bits, omega] : l.omega) {
            QVERIFY2(std::isfinite(omega), l.layer.c_str());
            // Omega carries the sign of the trace; fewer bits, larger error.
            QVERIFY(omega * l.trace >= 0.0);
        }
        QVERIFY(std::abs(l.omega.at(2)) >= std::abs(l.omega.at(8)));
    }
    // Same options, same figures: the subset and the random vectors are seeded.
    qs::analysis::HessianOptions recompute = o;
    recompute.cacheGraph = false;  // and recomputing the graphs changes nothing but the time
    const qs::analysis::HessianReport again = qs::analysis::analyzeHessian(checkpoint, recompute);
    QVERIFY(std::abs(again.eigenvalues[0] - r.eigenvalues[0]) <= 1e-4 * std::abs(r.eigenvalues[0]));
    QVERIFY(std::abs(again.trace - r.trace) <= 1e-4 * std::abs(r.trace) + 1e-6);

    // Store round trip, attached to the run.
    auto store = qs::store::RunStore::open(m_db);
    const int64_t id = qs::analysis::recordHessian(*store, m_floatRun, r);
    const auto rows = store->hessianReports(m_floatRun);
    QCOMPARE(rows.size(), std::size_t(1));
    QCOMPARE(rows[0].id, id);
    const qs::analysis::HessianReport back = qs::analysis::reportFromRow(rows[0]);
    QCOMPARE(back.checkpoint, checkpoint);
    QCOMPARE(back.mode, r.mode);
    QCOMPARE(back.eigenvalues, r.eigenvalues);
    QCOMPARE(back.trace, r.trace);
    QCOMPARE(back.layers.size(), r.layers.size());
    for (std::size_t i = 0; i < r.layers.size(); ++i) {
        QCOMPARE(back.layers[i].layer, r.layers[i].layer);
        QCOMPARE(back.layers[i].macs, r.layers[i].macs);
        QCOMPARE(back.layers[i].traceSe, r.layers[i].traceSe);
        QCOMPARE(back.layers[i].omega, r.layers[i].omega);
    }
    const auto record = store->run(m_floatRun);
    QCOMPARE(record->finalMetrics.at("hessian/top_eigenvalue/float"), r.eigenvalues[0]);
    QCOMPARE(record->finalMetrics.at("hessian/trace/float"), r.trace);
    QVERIFY(record->finalMetrics.count("eval/acc"));  // earlier final metrics are kept
}

void TestHessian::analyzeQuantizedCheckpoint() {
    qs::session::RunSpec spec = tinySpec("lsq", "lsq");
    spec.optim.lr = 0.01;
    spec.initCheckpoint = floatCheckpoint();
    const std::string checkpoint = train(spec);
    QVERIFY(!checkpoint.empty());
    qs::analysis::HessianOptions o = smallOptions();
    o.topK = 1;
    o.traceSamples = 4;
    o.mode = "quantize-after";
    const qs::analysis::HessianReport r = qs::analysis::analyzeHessian(checkpoint, o);
    QCOMPARE(r.mode, std::string("quantize-after"));
    QCOMPARE(r.method, std::string("lsq"));
    QVERIFY(std::isfinite(r.eigenvalues[0]) && r.eigenvalues[0] != 0.0);
    QVERIFY(std::isfinite(r.trace));
    o.mode.clear();  // a quantized model's default mode
    o.traceSamples = 0;
    const qs::analysis::HessianReport d = qs::analysis::analyzeHessian(checkpoint, o);
    QCOMPARE(d.mode, std::string("dequantized"));
    QCOMPARE(d.traceSamples, 0);
    QVERIFY(d.layers.front().omega.empty());
}

void TestHessian::badInputIsRefused() {
    const std::string checkpoint = floatCheckpoint();
    qs::analysis::HessianOptions o = smallOptions();
    o.mode = "sideways";
    try {
        qs::analysis::analyzeHessian(checkpoint, o);
        QFAIL("an unknown mode was accepted");
    } catch (const std::invalid_argument& e) {
        QCOMPARE(QString::fromStdString(e.what()),
                 QStringLiteral("unknown evaluation mode 'sideways' (float, dequantized or "
                                "quantize-after)"));
    }
    o.mode.clear();
    o.topK = 0;
    try {
        qs::analysis::analyzeHessian(checkpoint, o);
        QFAIL("k = 0 was accepted");
    } catch (const std::invalid_argument& e) {
        QCOMPARE(QString::fromStdString(e.what()),
                 QStringLiteral("top-k: must be at least 1 (got 0)"));
    }
    o.topK = 2;
    o.candidateBits = {1};
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, qs::analysis::analyzeHessian(checkpoint, o));
    o.candidateBits = {2, 4};

    // A truncated checkpoint: the error names the file.
    const std::vector<uint8_t> bytes = qs::test::readBytes(checkpoint);
    const std::string cut = m_dir.filePath(QStringLiteral("cut.safetensors")).toStdString();
    qs::test::writeBytes(cut, std::vector<uint8_t>(bytes.begin(), bytes.begin() + 100));
    try {
        qs::analysis::analyzeHessian(cut, o);
        QFAIL("a truncated checkpoint was accepted");
    } catch (const std::runtime_error& e) {
        QVERIFY2(std::string(e.what()).find(cut) != std::string::npos, e.what());
    }
    std::atomic<bool> cancel{true};
    QVERIFY_THROWS_EXCEPTION(qs::analysis::AnalysisCancelled,
                             qs::analysis::analyzeHessian(checkpoint, o, {}, &cancel));
}

QTEST_GUILESS_MAIN(TestHessian)
#include "TestHessian.moc"
