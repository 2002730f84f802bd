// The training methods' per-step machinery (ALGORITHMS.md sections 2, 3, 4, 6 and PTQ
// calibration): SAM/ASAM perturbations, SQuAT's stepper on a quadratic (per-step, alternate k:1,
// joint, quantized site, BatchNorm statistics), noise tempering's schedule, forward and
// gradients, PTQ's calibration rules and the sharpness estimators. Every expectation here is
// computed from the inputs with plain double arithmetic written from ALGORITHMS.md, not by
// calling the engine again.
#include "MethodsCases.h"

#include <QtTest>

#include <algorithm>
#include <cmath>
#include <random>

using namespace qs::test::methods;

namespace {

// ---- plain linear algebra ----

Vec matVec(const std::vector<Vec>& a, const Vec& x) {
    Vec y(a.size(), 0.0);
    for (std::size_t i = 0; i < a.size(); ++i) {
        for (std::size_t j = 0; j < x.size(); ++j) {
            y[i] += a[i][j] * x[j];
        }
    }
    return y;
}

double dot(const Vec& a, const Vec& b) {
    double s = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        s += a[i] * b[i];
    }
    return s;
}

double norm(const Vec& a) {
    return std::sqrt(dot(a, a));
}

Vec axpy(double alpha, const Vec& x, const Vec& y) {  // alpha x + y
    Vec r(y);
    for (std::size_t i = 0; i < r.size(); ++i) {
        r[i] += alpha * x[i];
    }
    return r;
}

Vec scaled(const Vec& x, double alpha) {
    Vec r(x);
    for (auto& v : r) {
        v *= alpha;
    }
    return r;
}

/// The first element where |got - want| > tol, as a message; empty when none.
QString mismatch(const Vec& got, const Vec& want, double tol) {
    if (got.size() != want.size()) {
        return QStringLiteral("size %1, expected %2").arg(got.size()).arg(want.size());
    }
    for (std::size_t i = 0; i < got.size(); ++i) {
        if (!(std::abs(got[i] - want[i]) <= tol)) {
            return QStringLiteral("[%1]: %2, expected %3 (tolerance %4)")
                .arg(i)
                .arg(got[i], 0, 'g', 17)
                .arg(want[i], 0, 'g', 17)
                .arg(tol);
        }
    }
    return {};
}

#define QS_VEC_CLOSE(got, want, tol)                       \
    do {                                                   \
        const QString m_ = mismatch((got), (want), (tol)); \
        QVERIFY2(m_.isEmpty(), qPrintable(m_));            \
    } while (false)

#define QS_CLOSE(got, want, tol)                                                                  \
    do {                                                                                          \
        const double g_ = (got), w_ = (want);                                                     \
        QVERIFY2(std::abs(g_ - w_) <= (tol),                                                      \
                 qPrintable(                                                                      \
                     QStringLiteral("%1, expected %2").arg(g_, 0, 'g', 17).arg(w_, 0, 'g', 17))); \
    } while (false)

// ---- the quadratic L(w, s) = 0.5 w'Aw + c (s - s0)^2 + (w'b) s ----

Quadratic quadratic() {
    Quadratic q;
    q.a = {{3.0, 1.0, 0.0}, {1.0, 2.0, 0.5}, {0.0, 0.5, 1.0}};  // diagonally dominant: SPD
    q.b = {0.5, -1.0, 2.0};
    q.c = 0.7;
    q.s0 = 1.0;
    q.w = {1.0, -2.0, 0.5};
    q.s = 0.6;
    return q;
}

double lossOf(const Quadratic& q, const Vec& w, double s) {
    return 0.5 * dot(w, matVec(q.a, w)) + q.c * (s - q.s0) * (s - q.s0) + dot(w, q.b) * s;
}

Vec gradW(const Quadratic& q, const Vec& w, double s) {
    return axpy(s, q.b, matVec(q.a, w));  // Aw + b s
}

double gradS(const Quadratic& q, const Vec& w, double s) {
    return 2.0 * q.c * (s - q.s0) + dot(w, q.b);
}

// ---- LSQ per element, from ALGORITHMS.md section 1 ----

struct Lsq {
    double xq = 0.0;     // Q(x)
    double dxqds = 0.0;  // dQ/ds
    bool inside = true;  // dQ/dx = 1
};

Lsq lsq(double x, double s, double qn, double qp) {
    const double v = x / s;
    Lsq r;
    if (v < -qn) {
        r.xq = -qn * s;
        r.dxqds = -qn;
        r.inside = false;
    } else if (v > qp) {
        r.xq = qp * s;
        r.dxqds = qp;
        r.inside = false;
    } else {
        r.xq = std::nearbyint(v) * s;
        r.dxqds = std::nearbyint(v) - v;
    }
    return r;
}

double sign(double v) {
    return v > 0.0 ? 1.0 : (v < 0.0 ? -1.0 : 0.0);
}

Vec uniformValues(std::size_t n, double lo, double hi, unsigned seed) {
    std::mt19937 gen(seed);
    std::uniform_real_distribution<float> dist{float(lo), float(hi)};
    Vec v(n);
    for (auto& x : v) {
        x = double(dist(gen));  // representable in float: the engine sees the same numbers
    }
    return v;
}

struct Moments {
    double mean = 0.0;
    double sd = 0.0;
    double min = 0.0;
    double max = 0.0;
};

Moments momentsOf(const Vec& v) {
    Moments m;
    m.min = *std::min_element(v.begin(), v.end());
    m.max = *std::max_element(v.begin(), v.end());
    for (double x : v) {
        m.mean += x;
    }
    m.mean /= double(v.size());
    for (double x : v) {
        m.sd += (x - m.mean) * (x - m.mean);
    }
    m.sd = std::sqrt(m.sd / double(v.size()));
    return m;
}

}  // namespace

class TestMethods : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // ---- 1. SAM / ASAM ----

    void samPerturbationIsNormalisedGradient() {
        const Quadratic q = quadratic();
        const double rho = 0.05;
        const Vec g = matVec(q.a, q.w);  // the gradient of 0.5 w'Aw
        const std::vector<Vec> e = samPerturbationOf({{q.w, {3}, g}}, rho, false);
        QCOMPARE(e.size(), std::size_t(1));
        QS_VEC_CLOSE(e[0], scaled(g, rho / norm(g)), 1e-12);
        QS_CLOSE(norm(e[0]), rho, 1e-12);
    }

    void samPerturbationUsesOneNormOverAllTensors() {
        // Two tensors: e_i = rho g_i / sqrt(||g_1||^2 + ||g_2||^2), not per-tensor norms.
        const Vec g1 = {3.0, -4.0}, g2 = {12.0};
        const std::vector<Vec> e =
            samPerturbationOf({{{1.0, 2.0}, {2}, g1}, {{0.5}, {1}, g2}}, 0.26, false);
        QCOMPARE(e.size(), std::size_t(2));
        // ||g|| = sqrt(9 + 16 + 144) = 13
        QS_VEC_CLOSE(e[0], (Vec{0.06, -0.08}), 1e-12);
        QS_VEC_CLOSE(e[1], (Vec{0.24}), 1e-12);
    }

    void asamPerturbationMatchesHandComputation() {
        // A [2, 2] weight (T = |w| + 0.01) and a bias (T = 1).
        const Vec w = {0.5, -1.0, 0.0, 2.0}, gw = {1.0, 2.0, -3.0, 0.5};
        const Vec b = {0.3, -0.7}, gb = {0.4, -0.2};
        const double rho = 1.0;
        const std::vector<Vec> e = samPerturbationOf({{w, {2, 2}, gw}, {b, {2}, gb}}, rho, true);
        QCOMPARE(e.size(), std::size_t(2));
        // T g = [0.51*1, 1.01*2, 0.01*(-3), 2.01*0.5] and [0.4, -0.2]
        const Vec tgw = {0.51, 2.02, -0.03, 1.005}, tgb = {0.4, -0.2};
        const double n = std::sqrt(dot(tgw, tgw) + dot(tgb, tgb));
        const Vec ew = {rho * 0.51 * 0.51 / n, rho * 1.01 * 2.02 / n, rho * 0.01 * -0.03 / n,
                        rho * 2.01 * 1.005 / n};
        QS_VEC_CLOSE(e[0], ew, 1e-12);
        QS_VEC_CLOSE(e[1], scaled(tgb, rho / n), 1e-12);
        // ASAM's e is not the SAM direction: the T^2 weighting changes it.
        const std::vector<Vec> sam = samPerturbationOf({{w, {2, 2}, gw}, {b, {2}, gb}}, rho, false);
        QVERIFY(mismatch(sam[0], e[0], 1e-3).size() > 0);
    }

    void samPerturbationOfZeroGradientIsZero() {
        for (bool adaptive : {false, true}) {
            const std::vector<Vec> e = samPerturbationOf(
                {{{1.0, 2.0, 3.0, 4.0}, {2, 2}, {0.0, 0.0, 0.0, 0.0}}}, 0.05, adaptive);
            QS_VEC_CLOSE(e[0], (Vec{0.0, 0.0, 0.0, 0.0}), 0.0);  // no NaN from 0 / 0
        }
        // A tensor without .grad gets e = 0; the others are normalised without it.
        TensorInput none{{5.0, 6.0}, {2}, {}, false};
        const std::vector<Vec> e = samPerturbationOf({none, {{1.0}, {1}, {-2.0}}}, 0.1, false);
        QS_VEC_CLOSE(e[0], (Vec{0.0, 0.0}), 0.0);
        QS_VEC_CLOSE(e[1], (Vec{-0.1}), 1e-15);
    }

    // ---- 2. SQuAT per-step ----

    void squatPerStepFollowsSchedule() {
        const Quadratic q = quadratic();
        SquatConfig cfg;
        cfg.rho = 0.05;
        cfg.lrWeights = 0.1;
        cfg.lrSteps = 0.2;
        const std::vector<SquatStepSeen> seen = runSquatOnQuadratic(q, cfg);
        QCOMPARE(seen.size(), std::size_t(1));
        const SquatStepSeen& st = seen[0];
        QCOMPARE(st.phase, std::string("both"));
        QCOMPARE(st.passes.size(), std::size_t(2));

        // Pass 1 at (w, s).
        QVERIFY(st.passes[0].firstPass);
        QS_VEC_CLOSE(st.passes[0].w, q.w, 0.0);
        QCOMPARE(st.passes[0].s, q.s);
        // The step sizes are stepped with the unperturbed gradient before pass 2 ...
        const Vec g = gradW(q, q.w, q.s);
        const double sNew = q.s - cfg.lrSteps * gradS(q, q.w, q.s);
        const Vec e = scaled(g, cfg.rho / norm(g));
        QVERIFY(!st.passes[1].firstPass);
        QS_CLOSE(st.passes[1].s, sNew, 1e-12);
        QVERIFY(std::abs(sNew - q.s) > 1e-3);  // the schedule really moved s
        // ... and never perturbed; the weights are seen at w + e.
        QS_VEC_CLOSE(st.passes[1].w, axpy(1.0, e, q.w), 1e-12);
        // The weight step uses the pass-2 gradient A(w + e) + b s'; s keeps the pass-1 update.
        const Vec g2 = gradW(q, axpy(1.0, e, q.w), sNew);
        QS_VEC_CLOSE(st.wAfter, axpy(-cfg.lrWeights, g2, q.w), 1e-12);
        QS_CLOSE(st.sAfter, sNew, 1e-12);
        // The step with the first gradient would have landed elsewhere.
        QVERIFY(mismatch(st.wAfter, axpy(-cfg.lrWeights, g, q.w), 1e-4).size() > 0);

        // The report.
        QS_CLOSE(st.loss, lossOf(q, q.w, q.s), 1e-12);
        QS_CLOSE(st.perturbedLoss, lossOf(q, axpy(1.0, e, q.w), sNew), 1e-12);
        QS_CLOSE(st.gradNorm, norm(g), 1e-12);
        QS_CLOSE(st.perturbNorm, cfg.rho, 1e-12);
        QS_CLOSE(st.stepGradNorm, std::abs(gradS(q, q.w, q.s)), 1e-12);
        QVERIFY(st.perturbed);
    }

    void squatRestoresWeightsExactly() {
        // With lr = 0 the weights must come back bit for bit (restored by copy, not w + e - e).
        Quadratic q = quadratic();
        q.w = {0.1, 0.7, -0.3};  // values for which w + e - e != w in floating point
        SquatConfig cfg;
        cfg.rho = 0.0731;
        cfg.lrWeights = 0.0;
        const std::vector<SquatStepSeen> seen = runSquatOnQuadratic(q, cfg);
        QVERIFY(seen[0].weightsBitwiseUnchanged);
        for (std::size_t i = 0; i < q.w.size(); ++i) {
            QCOMPARE(seen[0].wAfter[i], q.w[i]);
        }
        // and pass 2 did see perturbed weights
        QVERIFY(mismatch(seen[0].passes[1].w, q.w, 1e-3).size() > 0);
        // The check discriminates: undoing e by subtraction would not give w back here.
        const Vec g = gradW(q, q.w, q.s);
        const Vec e = scaled(g, cfg.rho / norm(g));
        bool inexact = false;
        for (std::size_t i = 0; i < q.w.size(); ++i) {
            inexact = inexact || (q.w[i] + e[i]) - e[i] != q.w[i];
        }
        QVERIFY(inexact);
    }

    void phasesOfSchedules() {
        QCOMPARE(phasesOf("per-step", 1, false, 3),
                 (std::vector<std::string>{"both", "both", "both"}));
        QCOMPARE(phasesOf("alternate", 2, false, 6),
                 (std::vector<std::string>{"sam", "sam", "steps", "sam", "sam", "steps"}));
        QCOMPARE(phasesOf("alternate", 1, false, 4),
                 (std::vector<std::string>{"sam", "steps", "sam", "steps"}));
        // joint ignores the schedule
        QCOMPARE(phasesOf("alternate", 2, true, 3),
                 (std::vector<std::string>{"both", "both", "both"}));
    }

    // ---- 3. BatchNorm ----

    void batchNormStatisticsMoveOnlyInFirstPass() {
        const BatchNormRun r = batchNormAroundSquat();
        QCOMPARE(r.passes, 2);
        QVERIFY(r.secondPassInTraining);  // pass 2 really would have updated the statistics
        QVERIFY(r.weightsChanged);
        QCOMPARE(r.batchesAfterSquat, r.batchesAfterOne);
        QCOMPARE(r.batchesAfterOne, int64_t(1));
        QS_VEC_CLOSE(r.meanAfterSquat, r.meanAfterOne, 0.0);
        QS_VEC_CLOSE(r.varAfterSquat, r.varAfterOne, 0.0);
        // The comparison can fail: the statistics did move, and a second update moves them more.
        QVERIFY(mismatch(r.meanAfterOne, r.meanBefore, 1e-4).size() > 0);
        QVERIFY(mismatch(r.meanAfterTwo, r.meanAfterOne, 1e-4).size() > 0);
    }

    // ---- 4. Alternate k:1 ----

    void alternateScheduleSplitsWeightAndStepUpdates() {
        const Quadratic q = quadratic();
        SquatConfig cfg;
        cfg.schedule = "alternate";
        cfg.k = 2;
        cfg.steps = 3;
        cfg.rho = 0.05;
        cfg.lrWeights = 0.1;
        cfg.lrSteps = 0.2;
        const std::vector<SquatStepSeen> seen = runSquatOnQuadratic(q, cfg);
        QCOMPARE(seen.size(), std::size_t(3));

        Vec w = q.w;
        const double s = q.s;
        for (int i = 0; i < 2; ++i) {  // two SAM-only steps: s frozen, w SAM-stepped
            const SquatStepSeen& st = seen[std::size_t(i)];
            QCOMPARE(st.phase, std::string("sam"));
            QCOMPARE(st.passes.size(), std::size_t(2));
            QCOMPARE(st.sAfter, st.sBefore);
            QCOMPARE(st.passes[1].s, s);  // neither stepped nor perturbed before pass 2
            const Vec g = gradW(q, w, s);
            const Vec e = scaled(g, cfg.rho / norm(g));
            QS_VEC_CLOSE(st.passes[1].w, axpy(1.0, e, w), 1e-12);
            w = axpy(-cfg.lrWeights, gradW(q, axpy(1.0, e, w), s), w);
            QS_VEC_CLOSE(st.wAfter, w, 1e-12);
            QVERIFY(!st.weightsBitwiseUnchanged);
            QVERIFY(st.perturbed);
        }
        const SquatStepSeen& st = seen[2];  // the step-size step: one pass, w frozen
        QCOMPARE(st.phase, std::string("steps"));
        QCOMPARE(st.passes.size(), std::size_t(1));
        QVERIFY(st.weightsBitwiseUnchanged);
        QVERIFY(!st.perturbed);
        QS_CLOSE(st.sAfter, s - cfg.lrSteps * gradS(q, w, s), 1e-12);
        QVERIFY(std::abs(st.sAfter - s) > 1e-3);
    }

    // ---- 5. Joint ----

    void jointPerturbsAndStepsStepSizes() {
        const Quadratic q = quadratic();
        SquatConfig cfg;
        cfg.joint = true;
        cfg.rho = 0.05;
        cfg.lrWeights = 0.1;
        cfg.lrSteps = 0.2;
        const std::vector<SquatStepSeen> seen = runSquatOnQuadratic(q, cfg);
        const SquatStepSeen& st = seen[0];
        QCOMPARE(st.phase, std::string("both"));
        QCOMPARE(st.passes.size(), std::size_t(2));
        // One norm over (grad_w, grad_s).
        const Vec gw = gradW(q, q.w, q.s);
        const double gs = gradS(q, q.w, q.s);
        const double n = std::sqrt(dot(gw, gw) + gs * gs);
        const Vec ew = scaled(gw, cfg.rho / n);
        const double es = cfg.rho * gs / n;
        QVERIFY(std::abs(es) > 1e-3);
        QS_VEC_CLOSE(st.passes[1].w, axpy(1.0, ew, q.w), 1e-12);
        QS_CLOSE(st.passes[1].s, q.s + es, 1e-12);  // the step size is perturbed too
        // Both stepped from (w, s) with the pass-2 gradient.
        const Vec w2 = axpy(1.0, ew, q.w);
        const double s2 = q.s + es;
        QS_VEC_CLOSE(st.wAfter, axpy(-cfg.lrWeights, gradW(q, w2, s2), q.w), 1e-12);
        QS_CLOSE(st.sAfter, q.s - cfg.lrSteps * gradS(q, w2, s2), 1e-12);
        QS_CLOSE(st.perturbNorm, cfg.rho, 1e-12);
    }

    // ---- 6. Quantized site ----

    void quantizedSitePerturbsQuantizedWeight() {
        const double rho = 0.05;
        const QuantizedSiteRun r = quantizedSiteStep(rho);
        QCOMPARE(r.weightCount, 2);  // weight and bias
        QCOMPARE(r.stepCount, 1);    // the weight quantizer's step size
        QVERIFY(r.weightOwnedByLayer);
        QVERIFY(r.biasHasNoOwner);

        // e from the pass-1 gradients, one norm over weight and bias.
        const double n = std::sqrt(dot(r.gradW1, r.gradW1) + dot(r.gradB1, r.gradB1));
        QVERIFY(n > 0.0);
        const Vec ew = scaled(r.gradW1, rho / n), eb = scaled(r.gradB1, rho / n);
        // The latent weight is untouched in pass 2; the (unowned) bias is perturbed in place.
        QS_VEC_CLOSE(r.latentW2, r.w, 0.0);
        QS_VEC_CLOSE(r.bias2, axpy(1.0, eb, r.bias), 1e-6);
        QCOMPARE(r.step2, r.step);
        // Q(w) by hand: 3-bit signed (codes -4..3), s = 0.25.
        Vec qw(r.w.size());
        for (std::size_t i = 0; i < r.w.size(); ++i) {
            qw[i] = lsq(r.w[i], r.step, 4.0, 3.0).xq;
        }
        QS_VEC_CLOSE(qw, (Vec{0.25, -0.5, 0.75, -0.25, 0.0, 0.75}), 1e-7);
        // Pass-2 output: x (Q(w) + e_w)' + b + e_b.
        const Vec eff = axpy(1.0, ew, qw);
        Vec y(8);
        for (int i = 0; i < 4; ++i) {
            for (int o = 0; o < 2; ++o) {
                double v = r.bias2[std::size_t(o)];
                for (int j = 0; j < 3; ++j) {
                    v += r.x[std::size_t(i * 3 + j)] * eff[std::size_t(o * 3 + j)];
                }
                y[std::size_t(i * 2 + o)] = v;
            }
        }
        QS_VEC_CLOSE(r.y2, y, 1e-5);
        // The latent site would give Q(w + e) instead, which differs here (e is small next to
        // the step, so Q(w + e) is mostly Q(w)).
        Vec latentEff(r.w.size());
        for (std::size_t i = 0; i < r.w.size(); ++i) {
            latentEff[i] = lsq(r.w[i] + ew[i], r.step, 4.0, 3.0).xq;
        }
        Vec yLatent(8);
        for (int i = 0; i < 4; ++i) {
            for (int o = 0; o < 2; ++o) {
                double v = r.bias2[std::size_t(o)];
                for (int j = 0; j < 3; ++j) {
                    v += r.x[std::size_t(i * 3 + j)] * latentEff[std::size_t(o * 3 + j)];
                }
                yLatent[std::size_t(i * 2 + o)] = v;
            }
        }
        QVERIFY(mismatch(r.y2, yLatent, 1e-3).size() > 0);
        QVERIFY(mismatch(r.y2, r.yBefore, 1e-3).size() > 0);
        // With lr = 0 the step leaves weights and output exactly as before (offset removed).
        QS_VEC_CLOSE(r.wAfter, r.w, 0.0);
        QS_VEC_CLOSE(r.yAfter, r.yBefore, 0.0);
    }

    // ---- 7. Noise schedule ----

    void noiseLambdaSchedule() {
        // tau = 0: lambda reaches end_lambda at 80% of training.
        const int64_t total = 1000;
        QS_CLOSE(noiseLambdaAt(1.0, 0.0, 0.01, 0.8, 800, total), 0.01, 1e-9);
        QS_CLOSE(noiseLambdaAt(1.0, 0.0, 0.01, 0.8, 0, total), 1.0, 1e-12);
        // exponential: halfway there lambda is the geometric mean sqrt(1 * 0.01)
        QS_CLOSE(noiseLambdaAt(1.0, 0.0, 0.01, 0.8, 400, total), 0.1, 1e-9);
        QS_CLOSE(noiseTauOf(1.0, 0.0, 0.01, 0.8, total), 800.0 / std::log(100.0), 1e-9);
        // other lambda0 and total
        QS_CLOSE(noiseLambdaAt(0.5, 0.0, 0.01, 0.8, 40, 50), 0.01, 1e-9);
        // explicit tau honoured: lambda0 exp(-t / tau)
        QS_CLOSE(noiseTauOf(0.5, 50.0, 0.01, 0.8, total), 50.0, 0.0);
        QS_CLOSE(noiseLambdaAt(0.5, 50.0, 0.01, 0.8, 100, total), 0.5 * std::exp(-2.0), 1e-12);
        QS_CLOSE(noiseLambdaAt(0.5, 50.0, 0.01, 0.8, 0, total), 0.5, 1e-12);
    }

    // ---- 8. Noisy training forward ----

    void noisyForwardIsBounded_data() {
        QTest::addColumn<bool>("normal");
        QTest::addColumn<bool>("halfStep");
        QTest::addColumn<int>("channels");
        QTest::addColumn<bool>("relu");
        QTest::newRow("uniform, |e|, per-tensor") << false << false << 0 << false;
        QTest::newRow("normal, |e|, per-tensor") << true << false << 0 << false;
        QTest::newRow("uniform, s/2, per-tensor") << false << true << 0 << false;
        QTest::newRow("normal, s/2, per-tensor") << true << true << 0 << false;
        QTest::newRow("uniform, |e|, per-channel") << false << false << 4 << false;
        QTest::newRow("uniform, s/2, per-channel") << false << true << 4 << false;
        QTest::newRow("uniform, |e|, fused ReLU") << false << false << 0 << true;
        QTest::newRow("uniform, s/2, fused ReLU") << false << true << 0 << true;
    }

    void noisyForwardIsBounded() {
        QFETCH(bool, normal);
        QFETCH(bool, halfStep);
        QFETCH(int, channels);
        QFETCH(bool, relu);
        NoiseConfig c;
        c.bits = 3;
        c.isSigned = !relu;  // the fused ReLU is an unsigned range
        c.reluInput = relu;
        c.normal = normal;
        c.halfStep = halfStep;
        c.channels = channels;
        c.lambda = 0.7;
        c.x = uniformValues(4096, -3.0, 2.5, 11);
        c.shape = {4, 1024};
        c.steps = channels > 0 ? Vec{0.5, 0.25, 0.75, 1.0} : Vec{0.5};
        const NoiseRun r = runNoise(c);
        QCOMPARE(r.trainOut.size(), c.x.size());
        QCOMPARE(r.xi.size(), c.x.size());
        for (std::size_t i = 0; i < c.x.size(); ++i) {
            const double s = c.steps[channels > 0 ? i / 1024 : 0];
            const double xq = r.evalOut[i];
            // e against what LSQ quantizes: max(x, 0) behind a fused ReLU
            const double ref = relu ? std::max(c.x[i], 0.0) : c.x[i];
            const double amplitude = halfStep ? s / 2.0 : std::abs(xq - ref);
            const double d = r.trainOut[i] - xq;
            if (!normal) {
                QVERIFY2(std::abs(d) <= c.lambda * amplitude + 1e-6,
                         qPrintable(QString::number(i)));
                QVERIFY(r.xi[i] >= -1.0 && r.xi[i] <= 1.0);
            }
            QVERIFY2(std::abs(d - c.lambda * amplitude * r.xi[i]) <= 1e-6,
                     qPrintable(QStringLiteral("%1: %2 vs %3")
                                    .arg(i)
                                    .arg(d)
                                    .arg(c.lambda * amplitude * r.xi[i])));
        }
        // Noise is on (the bound is not trivially met by y == x_q) and fresh each forward.
        QVERIFY(mismatch(r.trainOut, r.evalOut, 1e-3).size() > 0);
        QVERIFY(mismatch(r.xi, r.xi2, 1e-3).size() > 0);
    }

    void noiseMoments_data() {
        QTest::addColumn<bool>("normal");
        QTest::newRow("U(-1, 1)") << false;
        QTest::newRow("N(0, 1)") << true;
    }

    void noiseMoments() {
        QFETCH(bool, normal);
        NoiseConfig c;
        c.normal = normal;
        c.lambda = 0.5;
        c.x = uniformValues(200000, -1.0, 1.0, 5);
        c.shape = {200000};
        c.steps = {0.3};
        const Moments m = momentsOf(runNoise(c).xi);
        QVERIFY2(std::abs(m.mean) < 0.01, qPrintable(QString::number(m.mean)));
        // U(-1, 1): sd 1/sqrt(3), inside [-1, 1]; N(0, 1): sd 1 and tails beyond 1.
        const double sd = normal ? 1.0 : 1.0 / std::sqrt(3.0);
        QVERIFY2(std::abs(m.sd - sd) < 0.01, qPrintable(QString::number(m.sd)));
        if (normal) {
            QVERIFY(m.min < -3.0 && m.max > 3.0);
        } else {
            QVERIFY(m.min >= -1.0 && m.max <= 1.0);
            QVERIFY(m.min < -0.999 && m.max > 0.999);
        }
    }

    void noNoiseWithoutLambdaOrDisabled() {
        for (int variant = 0; variant < 2; ++variant) {
            NoiseConfig c;
            c.enabled = variant == 0;
            c.lambda = variant == 0 ? 0.0 : 0.5;
            c.x = uniformValues(256, -3.0, 2.5, 3);
            c.shape = {256};
            c.steps = {0.5};
            const NoiseRun r = runNoise(c);
            QS_VEC_CLOSE(r.trainOut, r.evalOut, 0.0);
        }
    }

    // ---- 9. Eval mode ----

    void evalForwardIsPlainLsq() {
        NoiseConfig c;
        c.bits = 4;
        c.lambda = 1.0;
        c.x = uniformValues(1000, -5.0, 5.0, 9);
        c.shape = {1000};
        c.steps = {0.4};
        const NoiseRun r = runNoise(c);
        QS_VEC_CLOSE(r.evalOut, r.plainLsq, 0.0);  // bit for bit: no noise term at all
        Vec ref(c.x.size());
        for (std::size_t i = 0; i < c.x.size(); ++i) {
            ref[i] = lsq(c.x[i], double(float(0.4)), 8.0, 7.0).xq;
        }
        QS_VEC_CLOSE(r.evalOut, ref, 1e-6);
    }

    // ---- 10. Step-size and input gradients with noise ----

    void noisyGradients_data() {
        QTest::addColumn<bool>("halfStep");
        QTest::addColumn<bool>("normal");
        QTest::addColumn<int>("channels");
        QTest::addColumn<bool>("learnGradScale");
        QTest::addColumn<bool>("relu");
        QTest::newRow("|e|, uniform, per-tensor") << false << false << 0 << false << false;
        QTest::newRow("|e|, normal, per-tensor") << false << true << 0 << false << false;
        QTest::newRow("s/2, uniform, per-tensor") << true << false << 0 << false << false;
        QTest::newRow("s/2, normal, per-tensor") << true << true << 0 << false << false;
        QTest::newRow("|e|, uniform, per-channel") << false << false << 2 << false << false;
        QTest::newRow("s/2, uniform, per-channel") << true << false << 2 << false << false;
        QTest::newRow("|e|, uniform, per-tensor, kappa 2") << false << false << 0 << true << false;
        QTest::newRow("s/2, uniform, per-tensor, kappa 2") << true << false << 0 << true << false;
        QTest::newRow("|e|, uniform, fused ReLU") << false << false << 0 << false << true;
        QTest::newRow("s/2, uniform, fused ReLU") << true << false << 0 << false << true;
    }

    void noisyGradients() {
        QFETCH(bool, halfStep);
        QFETCH(bool, normal);
        QFETCH(int, channels);
        QFETCH(bool, learnGradScale);
        QFETCH(bool, relu);
        NoiseConfig c;
        c.bits = 3;  // signed: Qn = 4, Qp = 3; unsigned (fused ReLU): Qn = 0, Qp = 7
        c.isSigned = !relu;
        c.reluInput = relu;
        c.halfStep = halfStep;
        c.normal = normal;
        c.channels = channels;
        c.lambda = 0.8;
        c.learnGradScale = learnGradScale;
        c.logGradScale = std::log(2.0);
        const double kappa = learnGradScale ? 2.0 : 1.0;
        const std::size_t n = 64;
        c.x = uniformValues(n, -3.0, 2.5, 21);
        c.shape = {2, 32};
        c.steps = channels > 0 ? Vec{0.5, 0.3} : Vec{0.5};
        c.upstream = uniformValues(n, -1.0, 1.0, 22);
        const NoiseRun r = runNoise(c);
        QCOMPARE(r.xi.size(), n);

        const double qn = relu ? 0.0 : 4.0, qp = relu ? 7.0 : 3.0;
        // g = 1 / sqrt(N Qp), N the elements per step size.
        const double g = 1.0 / std::sqrt((channels > 0 ? 32.0 : 64.0) * qp);
        QS_CLOSE(r.g, g, 1e-12);
        Vec stepGrad(c.steps.size(), 0.0), noiseFree(c.steps.size(), 0.0);
        Vec inputGrad(n);
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t k = channels > 0 ? i / 32 : 0;
            const double s = double(float(c.steps[k]));
            const Lsq l = lsq(c.x[i], s, qn, qp);  // below 0 with the fused ReLU: the ReLU's 0
            const double ref = relu ? std::max(c.x[i], 0.0) : c.x[i];
            const double dy = c.upstream[i], xi = r.xi[i];
            const double local = halfStep ? l.dxqds + c.lambda * xi / 2.0
                                          : l.dxqds * (1.0 + c.lambda * xi * sign(l.xq - ref));
            stepGrad[k] += g * kappa * dy * local;
            noiseFree[k] += g * kappa * dy * l.dxqds;
            inputGrad[i] = l.inside ? dy : 0.0;  // LSQ's straight-through mask, no noise term
        }
        QS_VEC_CLOSE(r.stepGrad, stepGrad, 2e-5);
        QS_VEC_CLOSE(r.inputGrad, inputGrad, 1e-7);
        // The noise term is a real part of the expectation (far above the tolerance).
        QVERIFY(mismatch(stepGrad, noiseFree, 1e-3).size() > 0);
        if (relu) {
            QVERIFY(std::count(inputGrad.begin(), inputGrad.end(), 0.0) > 10);  // x < 0 seen
        }
    }

    // ---- 11. Learnable kappa ----

    void learnedGradScaleMultipliesStepGradient() {
        NoiseConfig c;
        c.bits = 3;
        c.enabled = false;
        c.x = uniformValues(48, -3.0, 2.5, 31);
        c.shape = {48};
        c.steps = {0.5};
        c.upstream = uniformValues(48, -1.0, 1.0, 32);
        c.learnGradScale = true;
        c.logGradScale = 0.0;
        const NoiseRun one = runNoise(c);
        c.logGradScale = std::log(2.0);
        const NoiseRun two = runNoise(c);
        QVERIFY(one.logGradScaleIsParameter);
        QVERIFY(one.logGradScaleHasGrad);
        QVERIFY(std::abs(one.logGradScaleGrad) > 1e-4);

        // kappa = 1 gives LSQ's g sum(dy dxq/ds); kappa = 2 twice that.
        const double g = 1.0 / std::sqrt(48.0 * 3.0);
        double lsqSum = 0.0;
        for (std::size_t i = 0; i < c.x.size(); ++i) {
            lsqSum += c.upstream[i] * lsq(c.x[i], 0.5, 4.0, 3.0).dxqds;
        }
        QS_CLOSE(one.stepGrad.at(0), g * lsqSum, 1e-5);
        QS_CLOSE(two.stepGrad.at(0), 2.0 * one.stepGrad.at(0), 1e-5);
        // d/d log(kappa) of the surrogate s * kappa * g: kappa g s sum(dy dxq/ds).
        QS_CLOSE(one.logGradScaleGrad, 1.0 * g * 0.5 * lsqSum, 1e-5);
        QS_CLOSE(two.logGradScaleGrad, 2.0 * g * 0.5 * lsqSum, 1e-5);
        // The forward value does not depend on kappa.
        QS_VEC_CLOSE(two.trainOut, one.trainOut, 0.0);

        // Without learn_grad_scale there is no such parameter.
        c.learnGradScale = false;
        const NoiseRun none = runNoise(c);
        QVERIFY(!none.logGradScaleIsParameter);
        QS_CLOSE(none.stepGrad.at(0), g * lsqSum, 1e-5);
    }

    // ---- 12.-14. Calibration rules ----

    void calibrationRules_data() {
        QTest::addColumn<Vec>("v");
        QTest::addColumn<int>("rows");
        QTest::addColumn<int>("bits");
        QTest::addColumn<bool>("isSigned");
        QTest::addColumn<QString>("rule");
        QTest::addColumn<double>("percentile");
        QTest::addColumn<Vec>("expected");
        QTest::addColumn<double>("tolerance");

        QTest::newRow("minmax, 3-bit signed: 2.4 / 3")
            << Vec{-2.4, 0.3, 1.5, -0.6} << 0 << 3 << true << "minmax" << 0.0 << Vec{0.8} << 1e-6;
        QTest::newRow("minmax, 4-bit unsigned: 7.5 / 15")
            << Vec{0.0, 3.0, 7.5, 1.0} << 0 << 4 << false << "minmax" << 0.0 << Vec{0.5} << 1e-7;
        QTest::newRow("minmax per row, 3-bit signed: [6, 0.9] / 3")
            << Vec{1.0, -6.0, 2.0, 0.3, 0.9, -0.6} << 2 << 3 << true << "minmax" << 0.0
            << Vec{2.0, 0.3} << 1e-6;

        // |v| = 1..100 (signs alternate, shuffled order): the ceil(p n / 100)-th smallest |v|.
        Vec hundred;
        for (int i = 1; i <= 100; ++i) {
            hundred.push_back(double(((i * 37) % 100) + 1) * (i % 2 ? -1.0 : 1.0));
        }
        QTest::newRow("percentile 90 of 1..100, 4-bit signed: 90 / 7")
            << hundred << 0 << 4 << true << "percentile" << 90.0 << Vec{90.0 / 7.0} << 1e-5;
        QTest::newRow("percentile 99.5 of 1..100: the 100th, 100 / 7")
            << hundred << 0 << 4 << true << "percentile" << 99.5 << Vec{100.0 / 7.0} << 1e-5;
        QTest::newRow("percentile 50 of 1..100, 8-bit unsigned: 50 / 255")
            << hundred << 0 << 8 << false << "percentile" << 50.0 << Vec{50.0 / 255.0} << 1e-6;
        QTest::newRow("percentile 100 = minmax")
            << hundred << 0 << 4 << true << "percentile" << 100.0 << Vec{100.0 / 7.0} << 1e-5;

        // Ten 1s and one 3, 2-bit signed (codes -2..1): for s in (0.4, 2) both values land on
        // code 1, so the error is 10 (s - 1)^2 + (3 - s)^2, minimal at s = 13/11.
        Vec tenOnes(10, 1.0);
        tenOnes.push_back(3.0);
        QTest::newRow("mse, ten 1s and a 3: 13/11")
            << tenOnes << 0 << 2 << true << "mse" << 0.0 << Vec{13.0 / 11.0} << 2e-3;
        QTest::newRow("minmax, ten 1s and a 3: 3")
            << tenOnes << 0 << 2 << true << "minmax" << 0.0 << Vec{3.0} << 1e-6;
        // v = 0.5 k, k = -3..3, 3-bit signed (codes -4..3): max|v| = 1.5 = 3 * 0.5, so the
        // min-max step is 0.5, and 0.5 also quantizes every value exactly (zero error, the only
        // such step in range), so mse gives 0.5 as well.
        const Vec grid7 = {-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5};
        QTest::newRow("minmax on the 0.5 grid, k = -3..3: 1.5 / 3")
            << grid7 << 0 << 3 << true << "minmax" << 0.0 << Vec{0.5} << 1e-7;
        QTest::newRow("mse on the 0.5 grid, k = -3..3: 0.5")
            << grid7 << 0 << 3 << true << "mse" << 0.0 << Vec{0.5} << 1e-6;
        // Adding -2 (k = -4, the extra negative code): max|v| = 2 gives min-max 2/3, yet 0.5
        // still has zero error (-2 = -4 * 0.5), so mse finds 0.5 where min-max does not.
        Vec grid8 = grid7;
        grid8.push_back(-2.0);
        QTest::newRow("minmax on the 0.5 grid, k = -4..3: 2 / 3")
            << grid8 << 0 << 3 << true << "minmax" << 0.0 << Vec{2.0 / 3.0} << 1e-6;
        QTest::newRow("mse on the 0.5 grid, k = -4..3: 0.5")
            << grid8 << 0 << 3 << true << "mse" << 0.0 << Vec{0.5} << 1e-5;
        // Per row: each row its own mse step.
        Vec rows2 = tenOnes;
        for (double x : tenOnes) {
            rows2.push_back(2.0 * x);
        }
        QTest::newRow("mse per row: 13/11 and 26/11")
            << rows2 << 2 << 2 << true << "mse" << 0.0 << Vec{13.0 / 11.0, 26.0 / 11.0} << 4e-3;
    }

    void calibrationRules() {
        QFETCH(Vec, v);
        QFETCH(int, rows);
        QFETCH(int, bits);
        QFETCH(bool, isSigned);
        QFETCH(QString, rule);
        QFETCH(double, percentile);
        QFETCH(Vec, expected);
        QFETCH(double, tolerance);
        const Vec steps = calibrate(v, rows, bits, isSigned, rule.toStdString(), percentile);
        QS_VEC_CLOSE(steps, expected, tolerance);
        if (rule == "mse") {
            // never above the min-max step (fractions <= 1 of it, plus the fine search around
            // the best); strictly below it on the ten-1s case
            const Vec minMax = calibrate(v, rows, bits, isSigned, "minmax", 0.0);
            for (std::size_t i = 0; i < steps.size(); ++i) {
                QVERIFY(steps[i] <= minMax[i] * 1.001);
            }
        }
    }

    void calibrateFromPerChannel() {
        const CalibrateFromRun r = calibrateQuantizerFrom({1.0, -6.0, 2.0, 0.3, 0.9, -0.6}, {2, 3},
                                                          3, true, 2, "minmax", 0.0);
        QVERIFY(!r.initializedBefore);
        QVERIFY(r.initializedAfter);
        QS_VEC_CLOSE(r.steps, (Vec{2.0, 0.3}), 1e-6);
        const CalibrateFromRun t = calibrateQuantizerFrom({1.0, -6.0, 2.0, 0.3, 0.9, -0.6}, {2, 3},
                                                          3, true, 0, "minmax", 0.0);
        QS_VEC_CLOSE(t.steps, (Vec{2.0}), 1e-6);  // per tensor: one step over both rows
    }

    // ---- 15. Calibration over several forwards ----

    void calibrationOverBatches_data() {
        QTest::addColumn<std::vector<Vec>>("batches");
        QTest::addColumn<int>("bits");
        QTest::addColumn<bool>("isSigned");
        QTest::addColumn<bool>("relu");
        QTest::addColumn<QString>("rule");
        QTest::addColumn<double>("percentile");
        QTest::addColumn<double>("step");

        const std::vector<Vec> two = {{-5.0, 1.0, 2.0}, {0.5, 3.5, -1.0}};
        // Fused ReLU: -5 and -1 do not count; max over both batches is 3.5.
        QTest::newRow("minmax, unsigned 8-bit, fused ReLU: 3.5 / 255")
            << two << 8 << false << true << "minmax" << 0.0 << 3.5 / 255.0;
        QTest::newRow("minmax, signed 4-bit: 5 / 7")
            << two << 4 << true << false << "minmax" << 0.0 << 5.0 / 7.0;
        std::vector<Vec> halves(2);
        for (int i = 1; i <= 100; ++i) {
            halves[i <= 50 ? 0 : 1].push_back(i % 3 ? double(i) : -double(i));
        }
        QTest::newRow("percentile 90 over two batches of 1..100: 90 / 7")
            << halves << 4 << true << false << "percentile" << 90.0 << 90.0 / 7.0;
        std::vector<Vec> ones = {Vec(5, 1.0), Vec(5, 1.0)};
        ones[1].push_back(3.0);
        QTest::newRow("mse over two batches, ten 1s and a 3: 13/11")
            << ones << 2 << true << false << "mse" << 0.0 << 13.0 / 11.0;
    }

    void calibrationOverBatches() {
        QFETCH(std::vector<Vec>, batches);
        QFETCH(int, bits);
        QFETCH(bool, isSigned);
        QFETCH(bool, relu);
        QFETCH(QString, rule);
        QFETCH(double, percentile);
        QFETCH(double, step);
        const Vec probe = {-1.0, 0.7, 1.3, 3.5, 10.0};
        const CalibrationRun r = calibrateOverBatches(batches, bits, isSigned, relu,
                                                      rule.toStdString(), percentile, 1000, probe);
        QVERIFY(r.calibratingDuring);
        QVERIFY(!r.initializedDuring);
        QVERIFY(!r.calibratingAfter);
        QVERIFY(r.initializedAfter);
        QCOMPARE(r.steps.size(), std::size_t(1));
        QS_CLOSE(r.steps[0], step, rule == "mse" ? 2e-3 : 1e-5);
        // While calibrating the values pass through unquantized (ReLU applied when fused).
        QCOMPARE(r.outputs.size(), batches.size());
        for (std::size_t b = 0; b < batches.size(); ++b) {
            Vec want = batches[b];
            if (relu) {
                for (auto& x : want) {
                    x = std::max(x, 0.0);
                }
            }
            QS_VEC_CLOSE(r.outputs[b], want, 0.0);
        }
        // Afterwards the forward quantizes with the calibrated step.
        const double qn = isSigned ? std::ldexp(1.0, bits - 1) : 0.0;
        const double qp = isSigned ? qn - 1.0 : std::ldexp(1.0, bits) - 1.0;
        Vec want(probe.size());
        for (std::size_t i = 0; i < probe.size(); ++i) {
            want[i] = lsq(probe[i], r.steps[0], qn, qp).xq;
        }
        QS_VEC_CLOSE(r.probeOut, want, 1e-5);
    }

    // ---- 16. rho-ball sharpness ----

    void rhoBallSharpnessOnQuadratic() {
        const Quadratic q = quadratic();
        const double rho = 0.1;
        auto loss = [&](const Vec& w) { return 0.5 * dot(w, matVec(q.a, w)); };
        const Vec g = matVec(q.a, q.w);
        const Vec e = scaled(g, rho / norm(g));
        const double oneStep = loss(axpy(1.0, e, q.w)) - loss(q.w);

        const SharpnessRun one = rhoBallOnQuadratic(q.a, q.w, rho, 1);
        QS_CLOSE(one.baseLoss, loss(q.w), 1e-12);
        QS_CLOSE(one.value, oneStep, 1e-12);
        QS_VEC_CLOSE(one.perturbation, e, 1e-12);
        QVERIFY(one.restoredBitwise);
        QS_VEC_CLOSE(one.wAfter, q.w, 0.0);

        const SharpnessRun five = rhoBallOnQuadratic(q.a, q.w, rho, 5);
        QVERIFY(five.value >= oneStep - 1e-12);
        QVERIFY(norm(five.perturbation) <= rho + 1e-6);
        QVERIFY(five.restoredBitwise);
        // Never above the true maximum: e'Aw + 0.5 e'Ae <= rho ||Aw|| + 0.5 rho^2 ||A||_F.
        double frob = 0.0;
        for (const auto& row : q.a) {
            frob += dot(row, row);
        }
        QVERIFY(five.value <= rho * norm(g) + 0.5 * rho * rho * std::sqrt(frob) + 1e-12);
        QS_CLOSE(five.perturbedLoss - five.baseLoss, five.value, 1e-12);
    }

    // ---- 17. epsilon-sharpness ----

    void epsilonSharpnessOnDiagonalQuadratic() {
        // A = diag(2, 1, 0.5), w = (1, -2, 0.5): Aw = (2, -2, 0.25). The gradient's signs never
        // change inside the box, so sign ascent walks straight to the corner box * sign(Aw).
        const std::vector<Vec> a = {{2.0, 0.0, 0.0}, {0.0, 1.0, 0.0}, {0.0, 0.0, 0.5}};
        const Vec w = {1.0, -2.0, 0.5};
        const double eps = 1e-3;
        auto loss = [&](const Vec& v) { return 0.5 * dot(v, matVec(a, v)); };
        const Vec box = {eps * 2.0, eps * 3.0, eps * 1.5};
        const Vec corner = {box[0], -box[1], box[2]};
        const double l0 = loss(w);
        const double expected = (loss(axpy(1.0, corner, w)) - l0) / (1.0 + l0) * 100.0;

        const SharpnessRun r = epsilonOnQuadratic(a, w, eps, 10);
        for (std::size_t i = 0; i < w.size(); ++i) {
            QVERIFY(std::abs(r.perturbation[i]) <= box[i] + 1e-7);
        }
        QS_VEC_CLOSE(r.perturbation, corner, 1e-12);
        QVERIFY(r.value >= 0.0);
        QS_CLOSE(r.baseLoss, l0, 1e-12);
        QS_CLOSE(r.value, expected, 1e-9);
        QVERIFY(r.restoredBitwise);

        // Two steps reach only half the box: the value is smaller.
        const SharpnessRun half = epsilonOnQuadratic(a, w, eps, 2);
        QS_VEC_CLOSE(half.perturbation, scaled(corner, 0.5), 1e-12);
        QVERIFY(half.value < r.value);
    }
};

QTEST_APPLESS_MAIN(TestMethods)
#include "TestMethods.moc"
