// LSQ (ALGORITHMS.md section 1): the paper's oracle, per-channel step sizes, the fused function
// against the composite reference, thread-count determinism, the forward statistics and the
// Quantizer module's initialisation and state.
#include "LsqCases.h"

#include <QtTest>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

using namespace qs::test::lsq;

namespace {

// One element through LSQ in the kernel's float arithmetic: an independent reference written
// from ALGORITHMS.md, not from the engine code.
struct RefElement {
    float value = 0.f;
    float dv = 0.f;  // dv_hat/dv
    float ds = 0.f;  // dv_hat/ds (before g)
    bool clipped = false;
};

RefElement reference(float v, float s, Range r) {
    const float x = v / s;
    const float qn = float(r.qn), qp = float(r.qp);
    RefElement e;
    e.clipped = x < -qn || x > qp;
    e.value = std::nearbyint(std::min(std::max(x, -qn), qp)) * s;
    e.dv = e.clipped ? 0.f : 1.f;
    e.ds = x < -qn ? -qn : (x > qp ? qp : std::nearbyint(x) - x);
    return e;
}

bool closeRel(double a, double b, double rel, double absTol = 0.0) {
    return std::abs(a - b) <= std::max(rel * std::max(std::abs(a), std::abs(b)), absTol);
}

uint32_t bitsOf(float f) {
    uint32_t u = 0;
    std::memcpy(&u, &f, sizeof u);
    return u;
}

std::vector<float> oneHot(std::size_t n, std::size_t i) {
    std::vector<float> g(n, 0.f);
    g[i] = 1.f;
    return g;
}

// The ALGORITHMS.md oracle: b = 3 signed, s = 1, g = 1.
LsqInput oracleInput() {
    LsqInput in;
    in.v = {-3.2f, -0.4f, 0.26f, 1.9f, 7.5f};
    in.shape = {5};
    in.steps = {1.f};
    in.bits = 3;
    in.isSigned = true;
    in.gradScale = 1.0;
    return in;
}

}  // namespace

class TestLsq : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void quantRange_data() {
        QTest::addColumn<int>("bits");
        QTest::addColumn<bool>("isSigned");
        QTest::addColumn<double>("qn");
        QTest::addColumn<double>("qp");
        QTest::newRow("2-bit signed: codes -2..1") << 2 << true << 2.0 << 1.0;
        QTest::newRow("3-bit signed: codes -4..3") << 3 << true << 4.0 << 3.0;
        QTest::newRow("4-bit signed: codes -8..7") << 4 << true << 8.0 << 7.0;
        QTest::newRow("8-bit signed: codes -128..127") << 8 << true << 128.0 << 127.0;
        QTest::newRow("2-bit unsigned: codes 0..3") << 2 << false << 0.0 << 3.0;
        QTest::newRow("4-bit unsigned: codes 0..15") << 4 << false << 0.0 << 15.0;
        QTest::newRow("8-bit unsigned: codes 0..255") << 8 << false << 0.0 << 255.0;
    }
    void quantRange() {
        QFETCH(int, bits);
        QFETCH(bool, isSigned);
        QFETCH(double, qn);
        QFETCH(double, qp);
        const Range r = rangeOf(bits, isSigned);
        QCOMPARE(r.qn, qn);
        QCOMPARE(r.qp, qp);
    }

    // ALGORITHMS.md's oracle, one element at a time: a one-hot upstream gradient isolates that
    // element's dv_hat/ds in the step gradient.
    void oracle_data() {
        QTest::addColumn<int>("index");
        QTest::addColumn<float>("vHat");
        QTest::addColumn<float>("dvHatDv");
        QTest::addColumn<float>("dvHatDs");
        QTest::newRow("v=-3.2 inside, rounds to -3") << 0 << -3.f << 1.f << 0.2f;
        QTest::newRow("v=-0.4 inside, rounds to 0") << 1 << 0.f << 1.f << 0.4f;
        QTest::newRow("v=0.26 inside, rounds to 0") << 2 << 0.f << 1.f << -0.26f;
        QTest::newRow("v=1.9 inside, rounds to 2") << 3 << 2.f << 1.f << 0.1f;
        QTest::newRow("v=7.5 above Qp=3, clipped") << 4 << 3.f << 0.f << 3.f;
    }
    void oracle() {
        QFETCH(int, index);
        QFETCH(float, vHat);
        QFETCH(float, dvHatDv);
        QFETCH(float, dvHatDs);
        LsqInput in = oracleInput();
        in.gradOut = oneHot(in.v.size(), std::size_t(index));
        for (const bool fused : {true, false}) {
            const LsqRun r = fused ? runFused(in) : runComposite(in);
            const char* which = fused ? "fused" : "composite";
            QVERIFY2(r.values.size() == 5, which);
            QVERIFY2(r.values[std::size_t(index)] == vHat, which);
            QCOMPARE(r.stepGrad.size(), std::size_t(1));
            // float arithmetic: round(x) - x is exact only up to the float representation of v
            QVERIFY2(std::abs(r.stepGrad[0] - dvHatDs) < 1e-6f,
                     qPrintable(QStringLiteral("%1: ds %2, expected %3")
                                    .arg(which)
                                    .arg(double(r.stepGrad[0]), 0, 'g', 9)
                                    .arg(double(dvHatDs))));
            for (std::size_t i = 0; i < 5; ++i) {
                QVERIFY2(r.inputGrad[i] == (i == std::size_t(index) ? dvHatDv : 0.f), which);
            }
        }
    }

    void oracleWholeTensor() {
        const LsqRun r = runFused(oracleInput());  // upstream gradient of ones
        QCOMPARE(r.values, (std::vector<float>{-3.f, 0.f, 0.f, 2.f, 3.f}));
        QCOMPARE(r.inputGrad, (std::vector<float>{1.f, 1.f, 1.f, 1.f, 0.f}));
        QCOMPARE(r.stepGradShape, (std::vector<int64_t>{1}));
        // 0.2 + 0.4 - 0.26 + 0.1 + 3
        QVERIFY2(std::abs(r.stepGrad[0] - 3.44f) < 1e-5f,
                 qPrintable(QString::number(double(r.stepGrad[0]), 'g', 9)));
    }

    // The step gradient is multiplied by g and nothing else.
    void gradScaleMultipliesOnlyTheStepGradient() {
        LsqInput in = oracleInput();
        in.gradScale = 0.125;  // a power of two: the scaled sum is exact
        const LsqRun scaled = runFused(in);
        const LsqRun plain = runFused(oracleInput());
        QCOMPARE(scaled.values, plain.values);
        QCOMPARE(scaled.inputGrad, plain.inputGrad);
        QCOMPARE(scaled.stepGrad[0], plain.stepGrad[0] * 0.125f);
    }

    // v/s exactly on -Qn or Qp is inside: the input gradient passes and round(x) - x = 0, as in
    // torch's clamp backward (inclusive bounds).
    void boundaryValuesCountAsInside() {
        LsqInput in;
        in.v = {3.f, -4.f, 3.0001f, -4.0001f};
        in.shape = {4};
        in.steps = {1.f};
        in.bits = 3;
        const LsqRun f = runFused(in);
        const LsqRun c = runComposite(in);
        QCOMPARE(f.values, (std::vector<float>{3.f, -4.f, 3.f, -4.f}));
        QCOMPARE(f.inputGrad, (std::vector<float>{1.f, 1.f, 0.f, 0.f}));
        QCOMPARE(f.inputGrad, c.inputGrad);
        // 0 + 0 + Qp - Qn = 3 - 4
        QCOMPARE(f.stepGrad[0], -1.f);
        QCOMPARE(c.stepGrad[0], -1.f);
        const StatsRun st = runWithStats(in);
        QCOMPARE(st.clipped, int64_t(2));
    }

    // Each row of a [3, 4] tensor has its own step size.
    void perChannel() {
        LsqInput in;
        in.v = {-5.0f, -1.3f, 0.8f,  3.9f,   // s = 0.5: codes -8..7 cover [-4, 3.5]
                -2.6f, 0.1f,  1.2f,  1.9f,   // s = 0.25: [-2, 1.75]
                -40.f, 3.1f,  -7.7f, 29.f};  // s = 2: [-16, 14]
        in.shape = {3, 4};
        in.steps = {0.5f, 0.25f, 2.f};
        in.bits = 4;
        in.isSigned = true;
        in.gradOut = {0.3f, -1.1f, 2.f, 0.7f, 1.f, -0.5f, 0.25f, 3.f, -2.f, 0.6f, 1.5f, -0.9f};
        const Range range = rangeOf(4, true);
        const LsqRun r = runFused(in);
        QCOMPARE(r.stepGradShape, (std::vector<int64_t>{3}));
        QCOMPARE(r.values.size(), std::size_t(12));

        // Hand-checked values of the first row: -10 -> -8, -2.6 -> -3, 1.6 -> 2, 7.8 -> 7.
        QCOMPARE(r.values[0], -4.f);
        QCOMPARE(r.values[1], -1.5f);
        QCOMPARE(r.values[2], 1.f);
        QCOMPARE(r.values[3], 3.5f);

        for (std::size_t row = 0; row < 3; ++row) {
            LsqInput rowIn = in;
            rowIn.v.assign(in.v.begin() + long(4 * row), in.v.begin() + long(4 * row + 4));
            rowIn.gradOut.assign(in.gradOut.begin() + long(4 * row),
                                 in.gradOut.begin() + long(4 * row + 4));
            rowIn.shape = {4};
            rowIn.steps = {in.steps[row]};
            const LsqRun single = runFused(rowIn);
            double rowSum = 0.0;
            for (std::size_t j = 0; j < 4; ++j) {
                const std::size_t i = 4 * row + j;
                const RefElement e = reference(in.v[i], in.steps[row], range);
                QCOMPARE(r.values[i], single.values[j]);
                QCOMPARE(r.values[i], e.value);
                QCOMPARE(r.inputGrad[i], in.gradOut[i] * e.dv);
                rowSum += double(in.gradOut[i]) * double(e.ds);
            }
            QCOMPARE(r.stepGrad[row], single.stepGrad[0]);
            QVERIFY2(closeRel(r.stepGrad[row], rowSum, 1e-5, 1e-6),
                     qPrintable(QStringLiteral("row %1: %2 vs %3")
                                    .arg(row)
                                    .arg(double(r.stepGrad[row]))
                                    .arg(rowSum)));
        }
        // And it is not the tensor-wide sum spread out.
        QVERIFY(r.stepGrad[0] != r.stepGrad[1]);
    }

    // Negative inputs of an unsigned quantizer clip to 0, pass no gradient, and add -Qn = 0 to
    // the step gradient.
    void unsignedRange() {
        LsqInput in;
        in.v = {-3.f, -0.1f, 0.2f, 2.6f, 9.f};
        in.shape = {5};
        in.steps = {0.5f};
        in.bits = 4;
        in.isSigned = false;  // codes 0..15
        const std::vector<float> expectedValues = {0.f, 0.f, 0.f, 2.5f, 7.5f};
        const std::vector<float> expectedDv = {0.f, 0.f, 1.f, 1.f, 0.f};
        // 0.4 -> 0: -0.4; 5.2 -> 5: -0.2; 18 > 15: Qp
        const std::vector<float> expectedDs = {0.f, 0.f, -0.4f, -0.2f, 15.f};
        for (std::size_t i = 0; i < in.v.size(); ++i) {
            LsqInput one = in;
            one.gradOut = oneHot(in.v.size(), i);
            for (const bool fused : {true, false}) {
                const LsqRun r = fused ? runFused(one) : runComposite(one);
                const QByteArray where = QByteArray(fused ? "fused" : "composite") + " element " +
                                         QByteArray::number(int(i));
                QVERIFY2(r.values[i] == expectedValues[i], where.constData());
                QVERIFY2(r.inputGrad[i] == expectedDv[i], where.constData());
                QVERIFY2(std::abs(r.stepGrad[0] - expectedDs[i]) < 1e-6f, where.constData());
            }
        }
    }

    void fusedMatchesComposite_data() {
        QTest::addColumn<int>("bits");
        QTest::addColumn<bool>("isSigned");
        QTest::addColumn<bool>("perChannel");
        for (const int bits : {2, 3, 4, 8}) {
            for (const bool isSigned : {true, false}) {
                for (const bool perChannel : {false, true}) {
                    const QByteArray tag = "b" + QByteArray::number(bits) +
                                           (isSigned ? " signed" : " unsigned") +
                                           (perChannel ? " per-channel" : " per-tensor");
                    QTest::newRow(tag.constData()) << bits << isSigned << perChannel;
                }
            }
        }
    }
    void fusedMatchesComposite() {
        QFETCH(int, bits);
        QFETCH(bool, isSigned);
        QFETCH(bool, perChannel);
        const Range range = rangeOf(bits, isSigned);
        const int64_t channels = 16, perRow = 8 * 3 * 3;
        const std::size_t n = std::size_t(channels * perRow);
        std::mt19937 rng(uint32_t(1000 * bits + 10 * isSigned + perChannel));
        std::normal_distribution<float> normal(0.f, 1.f);
        std::uniform_real_distribution<float> stepDist(0.02f, 0.2f);

        LsqInput in;
        in.shape = {channels, 8, 3, 3};
        in.bits = bits;
        in.isSigned = isSigned;
        if (perChannel) {
            for (int64_t c = 0; c < channels; ++c) {
                in.steps.push_back(stepDist(rng));
            }
        } else {
            in.steps = {0.07f};
        }
        // Wide enough to clip at every bit-width: |v/s| reaches beyond Qp (and below -Qn).
        const float spread = float(std::max(3.0, range.qp / 2.0));
        for (std::size_t i = 0; i < n; ++i) {
            const float s = in.steps[perChannel ? i / std::size_t(perRow) : 0];
            in.v.push_back(normal(rng) * spread * s);
            in.gradOut.push_back(normal(rng));
        }
        const double numel = perChannel ? double(perRow) : double(n);
        in.gradScale = 1.0 / std::sqrt(numel * range.qp);

        const LsqRun f = runFused(in);
        const LsqRun c = runComposite(in);
        QCOMPARE(f.values.size(), n);
        QCOMPARE(c.values.size(), n);
        int clipped = 0, inside = 0;
        for (std::size_t i = 0; i < n; ++i) {
            QVERIFY2(closeRel(f.values[i], c.values[i], 1e-6, 1e-6),
                     qPrintable(QStringLiteral("value %1: fused %2, composite %3")
                                    .arg(i)
                                    .arg(double(f.values[i]), 0, 'g', 9)
                                    .arg(double(c.values[i]), 0, 'g', 9)));
            // Same clip mask; the fused gradient passes the upstream value exactly, the
            // composite one as (g * s) / s, within a rounding of it.
            QVERIFY2((f.inputGrad[i] == 0.f) == (c.inputGrad[i] == 0.f) &&
                         (f.inputGrad[i] == 0.f || f.inputGrad[i] == in.gradOut[i]) &&
                         closeRel(f.inputGrad[i], c.inputGrad[i], 1e-6),
                     qPrintable(QStringLiteral("input grad %1: fused %2, composite %3, upstream %4")
                                    .arg(i)
                                    .arg(double(f.inputGrad[i]), 0, 'g', 9)
                                    .arg(double(c.inputGrad[i]), 0, 'g', 9)
                                    .arg(double(in.gradOut[i]), 0, 'g', 9)));
            (f.inputGrad[i] == 0.f ? clipped : inside) += 1;
        }
        // The inputs do cover both sides of the clip range.
        QVERIFY2(clipped > 0 && inside > 0,
                 qPrintable(QStringLiteral("clipped %1, inside %2").arg(clipped).arg(inside)));
        QCOMPARE(f.stepGradShape, c.stepGradShape);
        QCOMPARE(f.stepGrad.size(), in.steps.size());
        // The step gradient in double from the independent reference, and the sum of the
        // magnitudes of its terms (how much the sum cancels).
        std::vector<double> exact(in.steps.size(), 0.0), magnitude(in.steps.size(), 0.0);
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t k = perChannel ? i / std::size_t(perRow) : 0;
            const double term = double(in.gradOut[i]) * reference(in.v[i], in.steps[k], range).ds;
            exact[k] += term * in.gradScale;
            magnitude[k] += std::abs(term) * in.gradScale;
        }
        for (std::size_t k = 0; k < f.stepGrad.size(); ++k) {
            const QString values = QStringLiteral("step grad %1: fused %2, composite %3, exact %4")
                                       .arg(k)
                                       .arg(double(f.stepGrad[k]), 0, 'g', 9)
                                       .arg(double(c.stepGrad[k]), 0, 'g', 9)
                                       .arg(exact[k], 0, 'g', 9);
            QVERIFY2(closeRel(f.stepGrad[k], exact[k], 1e-4), qPrintable(values));
            // The composite's step gradient adds two autograd paths (through round(x) * s and
            // through x = v / s) of size ~Qp that cancel in float: at 8 bits that costs up to
            // ~1e-3 relative, so its difference is bounded relative to the terms' magnitude.
            QVERIFY2(closeRel(f.stepGrad[k], c.stepGrad[k], 1e-4, 1e-4 * magnitude[k]),
                     qPrintable(values));
        }
    }

    // Fixed-size reduction chunks: the step gradient does not depend on the thread count.
    void stepGradientIsDeterministicAcrossThreadCounts() {
        const ThreadRun r = stepGradAcrossThreads(int64_t(1) << 20, {1, 2});
        QCOMPARE(r.threadsUsed, (std::vector<int>{1, 2}));
        QCOMPARE(r.threadsRestored, r.threadsBefore);
        QCOMPARE(r.stepGrad.size(), std::size_t(2));
        QCOMPARE(bitsOf(r.stepGrad[0]), bitsOf(r.stepGrad[1]));
        QVERIFY(r.valuesIdentical);
        QVERIFY(r.inputGradIdentical);
        // and it is the right number, not merely a stable one
        QVERIFY2(closeRel(r.stepGrad[0], r.referenceStepGrad, 1e-4),
                 qPrintable(QStringLiteral("%1 vs double reference %2")
                                .arg(double(r.stepGrad[0]), 0, 'g', 9)
                                .arg(r.referenceStepGrad, 0, 'g', 9)));
    }

    void stats_data() {
        QTest::addColumn<std::vector<float>>("v");
        QTest::addColumn<std::vector<int64_t>>("shape");
        QTest::addColumn<std::vector<float>>("steps");
        QTest::addColumn<int>("bits");
        QTest::addColumn<bool>("isSigned");
        QTest::addColumn<double>("sumSquaredError");
        QTest::addColumn<qint64>("clipped");
        QTest::addColumn<bool>("reluReference");
        // errors 0.2^2 + 0.4^2 + 0.26^2 + 0.1^2 + 4.5^2; 7.5 is above Qp = 3
        QTest::newRow("oracle: one clipped above")
            << std::vector<float>{-3.2f, -0.4f, 0.26f, 1.9f, 7.5f} << std::vector<int64_t>{5}
            << std::vector<float>{1.f} << 3 << true << 20.5276 << qint64(1) << false;
        // s = 0.5, 2 bits signed: codes -2..1 cover [-1, 0.5]; -1.6 and 0.9 clip
        QTest::newRow("2-bit signed: clipped on both sides")
            << std::vector<float>{-1.6f, -0.6f, 0.2f, 0.9f} << std::vector<int64_t>{4}
            << std::vector<float>{0.5f} << 2 << true << (0.36 + 0.01 + 0.04 + 0.16) << qint64(2)
            << false;
        // unsigned 2 bits, s = 1: codes 0..3; -2 and -0.5 clip to 0, 3.4 and 5 clip to 3
        QTest::newRow("2-bit unsigned: negatives clip to 0")
            << std::vector<float>{-2.f, -0.5f, 1.2f, 3.4f, 5.f} << std::vector<int64_t>{5}
            << std::vector<float>{1.f} << 2 << false << (4.0 + 0.25 + 0.04 + 0.16 + 4.0)
            << qint64(4) << false;
        // per-channel: row 0 with s = 1 (no clipping), row 1 with s = 0.1 (3-bit: [-0.4, 0.3])
        QTest::newRow("per-channel: each row its own step")
            << std::vector<float>{0.4f, -1.3f, 0.35f, -0.5f} << std::vector<int64_t>{2, 2}
            << std::vector<float>{1.f, 0.1f} << 3 << true << (0.16 + 0.09 + 0.0025 + 0.01)
            << qint64(2) << false;
        QTest::newRow("exactly on the range ends: nothing clipped")
            << std::vector<float>{3.f, -4.f} << std::vector<int64_t>{2} << std::vector<float>{1.f}
            << 3 << true << 0.0 << qint64(0) << false;
        // A fused ReLU: -2 and -0.5 are the ReLU's zeros (no error, not clipped); 3.4 and 5
        // clip to 3 (errors 0.16 and 4); 1.2 rounds to 1 (0.04)
        QTest::newRow("2-bit unsigned with a fused ReLU")
            << std::vector<float>{-2.f, -0.5f, 1.2f, 3.4f, 5.f} << std::vector<int64_t>{5}
            << std::vector<float>{1.f} << 2 << false << (0.04 + 0.16 + 4.0) << qint64(2) << true;
    }
    void stats() {
        QFETCH(std::vector<float>, v);
        QFETCH(std::vector<int64_t>, shape);
        QFETCH(std::vector<float>, steps);
        QFETCH(int, bits);
        QFETCH(bool, isSigned);
        QFETCH(double, sumSquaredError);
        QFETCH(qint64, clipped);
        QFETCH(bool, reluReference);
        LsqInput in;
        in.reluReference = reluReference;
        in.v = v;
        in.shape = shape;
        in.steps = steps;
        in.bits = bits;
        in.isSigned = isSigned;
        const StatsRun r = runWithStats(in);
        QCOMPARE(r.count, int64_t(v.size()));
        QCOMPARE(r.clipped, int64_t(clipped));
        QVERIFY2(std::abs(r.sumSquaredError - sumSquaredError) < 1e-5,
                 qPrintable(QString::number(r.sumSquaredError, 'g', 9)));
        // Gathering statistics does not change the forward.
        QCOMPARE(r.values, runFused(in).values);
    }

    void rejectsStepOfWrongSize() {
        LsqInput in;
        in.v = std::vector<float>(12, 1.f);
        in.shape = {3, 4};
        in.steps = {1.f, 1.f};  // neither 1 nor 3
        QVERIFY(errorOf(in).find(
                    "LSQ: step size must have 1 element or one per channel (dim 0); got 2") !=
                std::string::npos);
        in.steps = {1.f, 1.f, 1.f};
        QCOMPARE(errorOf(in), std::string());
    }

    void quantizerInitialisesOnFirstForward_data() {
        QTest::addColumn<std::vector<float>>("v");
        QTest::addColumn<std::vector<int64_t>>("shape");
        QTest::addColumn<int>("bits");
        QTest::addColumn<bool>("isSigned");
        QTest::addColumn<qint64>("channels");
        QTest::addColumn<std::vector<float>>("expectedSteps");
        // mean|v| = 1.6, Qp = 1: s = 3.2
        QTest::newRow("per-tensor 2-bit signed")
            << std::vector<float>{1.f, -1.f, 1.f, -1.f, 4.f} << std::vector<int64_t>{5} << 2 << true
            << qint64(0) << std::vector<float>{3.2f};
        // mean|v| = 1.25, Qp = 15: s = 2.5 / sqrt(15)
        QTest::newRow("per-tensor 4-bit unsigned")
            << std::vector<float>{-1.f, 0.5f, 1.5f, 2.f} << std::vector<int64_t>{2, 2} << 4 << false
            << qint64(0) << std::vector<float>{float(2.5 / std::sqrt(15.0))};
        // rows: mean|v| = 0.25, 2.5, 10 with Qp = 7
        QTest::newRow("per-channel 4-bit signed")
            << std::vector<float>{0.1f, -0.2f, 0.3f, -0.4f, 1.f,   -2.f,
                                  3.f,  -4.f,  10.f, 10.f,  -10.f, 10.f}
            << std::vector<int64_t>{3, 2, 2} << 4 << true << qint64(3)
            << std::vector<float>{float(0.5 / std::sqrt(7.0)), float(5.0 / std::sqrt(7.0)),
                                  float(20.0 / std::sqrt(7.0))};
    }
    void quantizerInitialisesOnFirstForward() {
        QFETCH(std::vector<float>, v);
        QFETCH(std::vector<int64_t>, shape);
        QFETCH(int, bits);
        QFETCH(bool, isSigned);
        QFETCH(qint64, channels);
        QFETCH(std::vector<float>, expectedSteps);
        std::vector<float> second = v;
        for (float& x : second) {
            x *= 10.f;  // would give ten times the step if it re-initialised
        }
        const QuantizerRun r = runQuantizer(v, shape, second, bits, isSigned, channels, false);
        const std::size_t nSteps = expectedSteps.size();
        QVERIFY(r.hasInitializedBuffer);
        QVERIFY(r.stepIsParameter);
        QVERIFY(!r.initializedBefore);
        QCOMPARE(r.stepShape, (std::vector<int64_t>{int64_t(nSteps)}));
        QCOMPARE(r.stepsBefore, std::vector<float>(nSteps, 1.f));
        QVERIFY(r.initializedAfter);
        QCOMPARE(r.initializedBuffer, 1.f);
        QCOMPARE(r.stepsAfterFirst.size(), nSteps);
        for (std::size_t k = 0; k < nSteps; ++k) {
            QVERIFY2(closeRel(r.stepsAfterFirst[k], expectedSteps[k], 1e-6),
                     qPrintable(QStringLiteral("step %1: %2, expected %3")
                                    .arg(k)
                                    .arg(double(r.stepsAfterFirst[k]), 0, 'g', 9)
                                    .arg(double(expectedSteps[k]), 0, 'g', 9)));
        }
        QCOMPARE(r.stepsAfterSecond, r.stepsAfterFirst);
        // The forward is LSQ with the initialised steps.
        QCOMPARE(r.values.size(), r.expectedValues.size());
        for (std::size_t i = 0; i < r.values.size(); ++i) {
            QVERIFY(closeRel(r.values[i], r.expectedValues[i], 1e-6, 1e-7));
        }
        // g = 1/sqrt(N Qp), N counted per step size.
        const double qp = rangeOf(bits, isSigned).qp;
        const double n = double(v.size()) / double(nSteps);
        const double g = 1.0 / std::sqrt(n * qp);
        for (std::size_t k = 0; k < nSteps; ++k) {
            QVERIFY2(closeRel(r.stepGrad[k], r.stepGradUnscaled[k] * g, 1e-5, 1e-7),
                     qPrintable(QStringLiteral("step %1: grad %2, unscaled %3, g %4")
                                    .arg(k)
                                    .arg(double(r.stepGrad[k]))
                                    .arg(double(r.stepGradUnscaled[k]))
                                    .arg(g)));
        }
    }

    void quantizerState_data() {
        QTest::addColumn<bool>("observe");
        QTest::addColumn<double>("lastError");
        QTest::addColumn<double>("clipRate");
        // v = [1, -1, 1, -1, 4], 2 bits signed: s = 3.2, v_hat = [0, 0, 0, 0, 3.2]; errors
        // 1, 1, 1, 1, 0.64 -> mean 0.928; 4/3.2 = 1.25 > Qp = 1: one of five clipped.
        QTest::newRow("observing: error and clip rate of the forward") << true << 0.928 << 0.2;
        QTest::newRow("not observing: nothing recorded") << false << 0.0 << 0.0;
    }
    void quantizerState() {
        QFETCH(bool, observe);
        QFETCH(double, lastError);
        QFETCH(double, clipRate);
        const std::vector<float> v = {1.f, -1.f, 1.f, -1.f, 4.f};
        const QuantizerRun r = runQuantizer(v, {5}, v, 2, true, 0, observe);
        QCOMPARE(r.stateBits, 2);
        QCOMPARE(r.stateSigned, true);
        QCOMPARE(r.stateSteps.size(), std::size_t(1));
        QCOMPARE(r.stateSteps[0], double(r.stepsAfterFirst[0]));
        QCOMPARE(r.stateZeroPoint, 0.0);
        QVERIFY2(std::abs(r.stateError - lastError) < 1e-6,
                 qPrintable(QString::number(r.stateError, 'g', 9)));
        QVERIFY2(std::abs(r.stateClipRate - clipRate) < 1e-12,
                 qPrintable(QString::number(r.stateClipRate, 'g', 9)));
    }

    void quantizerStateOfUnsignedPerChannel() {
        const std::vector<float> v = {-1.f, 0.5f, 1.5f, 2.f, 0.1f, 0.1f, -0.2f, 8.f};
        const QuantizerRun r = runQuantizer(v, {2, 4}, v, 2, false, 2, true);
        QCOMPARE(r.stateBits, 2);
        QCOMPARE(r.stateSigned, false);
        QCOMPARE(r.stateSteps.size(), std::size_t(2));
        // Recompute error and clip rate from the reference with the initialised steps.
        const Range range = rangeOf(2, false);
        double err = 0.0;
        int clipped = 0;
        for (std::size_t i = 0; i < v.size(); ++i) {
            const RefElement e = reference(v[i], r.stepsAfterFirst[i / 4], range);
            QCOMPARE(r.values[i], e.value);
            err += double(e.value - v[i]) * double(e.value - v[i]);
            clipped += e.clipped ? 1 : 0;
        }
        // -1 and -0.2 below 0; 8 above 3 s (row 1: s = 2 * 2.1 / sqrt(3))
        QCOMPARE(clipped, 3);
        QVERIFY(std::abs(r.stateError - err / 8.0) < 1e-6);
        QCOMPARE(r.stateClipRate, 3.0 / 8.0);
    }
};

QTEST_APPLESS_MAIN(TestLsq)
#include "TestLsq.moc"
