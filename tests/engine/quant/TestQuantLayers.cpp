// QConv2d and QLinear: an empty slot is exact float behaviour, a configured slot quantizes with
// LSQ, and configureQuantizers adds and removes the quantizers' parameters.
#include "QuantLayersCases.h"

#include <QtTest>

#include <algorithm>
#include <cmath>

using namespace qs::test::qlayers;

Q_DECLARE_METATYPE(qs::test::qlayers::LayerKind)

namespace {

double maxAbs(const std::vector<float>& v) {
    double m = 0.0;
    for (float x : v) {
        m = std::max(m, double(std::abs(x)));
    }
    return m;
}

double maxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
    double m = 0.0;
    for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
        m = std::max(m, double(std::abs(a[i] - b[i])));
    }
    return m;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
}

void addKinds(const char* what) {
    QTest::newRow((QByteArray("QConv2d: ") + what).constData()) << LayerKind::Conv;
    QTest::newRow((QByteArray("QLinear: ") + what).constData()) << LayerKind::Linear;
}

}  // namespace

class TestQuantLayers : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // input_relu fuses the ReLU into an unsigned input quantizer: nothing may change but speed.
    void fusedReluEqualsReluThenLayer_data() {
        QTest::addColumn<int>("actBits");
        QTest::newRow("float input: the layer applies the ReLU") << 0;
        QTest::newRow("2-bit unsigned input") << 2;
        QTest::newRow("4-bit unsigned input") << 4;
        QTest::newRow("8-bit unsigned input") << 8;
    }
    void fusedReluEqualsReluThenLayer() {
        QFETCH(int, actBits);
        const FusedReluRun r = runFusedRelu(actBits);
        QVERIFY(!r.fusedOut.empty());
        QCOMPARE(r.fusedOut, r.plainOut);
        QCOMPARE(r.fusedInputGrad, r.plainInputGrad);
        QCOMPARE(r.fusedStepGrad.size(), std::size_t(actBits > 0 ? 1 : 0));
        if (actBits > 0) {
            // The step gradient sums in another order (negatives contribute -Qn = 0 instead
            // of round(0) - 0 = 0), so equal up to rounding.
            QVERIFY2(
                std::abs(r.fusedStepGrad[0] - r.plainStepGrad[0]) <=
                    1e-5f * std::max(1.f, std::abs(r.plainStepGrad[0])),
                qPrintable(
                    QStringLiteral("%1 vs %2").arg(r.fusedStepGrad[0]).arg(r.plainStepGrad[0])));
            QVERIFY(std::abs(r.fusedInitStep - r.plainInitStep) <= 1e-6 * r.plainInitStep);
            QVERIFY(r.fusedInitStep > 0.0);
        }
    }

    void emptySlotsAreExactFloat_data() {
        QTest::addColumn<LayerKind>("kind");
        QTest::addColumn<bool>("inputSigned");
        QTest::newRow("QConv2d, unsigned input") << LayerKind::Conv << false;
        QTest::newRow("QConv2d, signed input") << LayerKind::Conv << true;
        QTest::newRow("QLinear, unsigned input") << LayerKind::Linear << false;
        QTest::newRow("QLinear, signed input") << LayerKind::Linear << true;
    }
    void emptySlotsAreExactFloat() {
        QFETCH(LayerKind, kind);
        QFETCH(bool, inputSigned);
        const LayerRun r = runLayer(kind, SlotConfig{}, inputSigned);
        QVERIFY(!r.hasWeightQuantizer);
        QVERIFY(!r.hasInputQuantizer);
        QCOMPARE(r.shape, kind == LayerKind::Conv ? (std::vector<int64_t>{2, 5, 3, 3})
                                                  : (std::vector<int64_t>{2, 5}));
        QVERIFY(!r.layer.empty());
        QCOMPARE(r.layer, r.floatOp);  // bit for bit
    }

    void slotsQuantizeInputAndWeight_data() {
        QTest::addColumn<LayerKind>("kind");
        QTest::addColumn<int>("weightBits");
        QTest::addColumn<int>("actBits");
        QTest::addColumn<bool>("perChannel");
        QTest::addColumn<bool>("inputSigned");
        for (const LayerKind kind : {LayerKind::Conv, LayerKind::Linear}) {
            const QByteArray name = kind == LayerKind::Conv ? "QConv2d" : "QLinear";
            QTest::newRow((name + " W4A4 per-tensor, post-ReLU input").constData())
                << kind << 4 << 4 << false << false;
            QTest::newRow((name + " W2A8 per-channel, post-ReLU input").constData())
                << kind << 2 << 8 << true << false;
            QTest::newRow((name + " W3A3 per-tensor, signed input").constData())
                << kind << 3 << 3 << false << true;
            QTest::newRow((name + " W4 only: input stays float").constData())
                << kind << 4 << 0 << false << false;
            QTest::newRow((name + " A4 only: weight stays float").constData())
                << kind << 0 << 4 << false << false;
        }
    }
    void slotsQuantizeInputAndWeight() {
        QFETCH(LayerKind, kind);
        QFETCH(int, weightBits);
        QFETCH(int, actBits);
        QFETCH(bool, perChannel);
        QFETCH(bool, inputSigned);
        const LayerRun r = runLayer(kind, SlotConfig{weightBits, actBits, perChannel}, inputSigned);
        QCOMPARE(r.hasWeightQuantizer, weightBits > 0);
        QCOMPARE(r.hasInputQuantizer, actBits > 0);
        if (weightBits > 0) {
            QCOMPARE(r.weightBits, weightBits);
            QVERIFY(r.weightSigned);  // weights are always signed
            QCOMPARE(r.weightSteps, perChannel ? int64_t(5) : int64_t(1));
        }
        if (actBits > 0) {
            QCOMPARE(r.inputBits, actBits);
            QCOMPARE(r.inputSigned, inputSigned);
        }
        QCOMPARE(r.layer.size(), r.reference.size());
        const double scale = std::max(1.0, maxAbs(r.reference));
        QVERIFY2(maxAbsDiff(r.layer, r.reference) <= 1e-5 * scale,
                 qPrintable(QStringLiteral("max |layer - reference| = %1")
                                .arg(maxAbsDiff(r.layer, r.reference))));
        // Quantization did change the output: the comparison above is not float vs float.
        QVERIFY2(
            maxAbsDiff(r.layer, r.floatOp) > 1e-3 * scale,
            qPrintable(
                QStringLiteral("max |layer - float| = %1").arg(maxAbsDiff(r.layer, r.floatOp))));
    }

    void configureAddsAndRemovesParameters_data() {
        QTest::addColumn<LayerKind>("kind");
        addKinds("slots follow each configureQuantizers call");
    }
    void configureAddsAndRemovesParameters() {
        QFETCH(LayerKind, kind);
        const std::vector<SlotConfig> sequence = {
            {0, 0, false},  // as built
            {4, 4, false},  // both slots
            {4, 4, true},   // reconfigured in place: still one of each
            {0, 0, false},  // 0 bits removes both
            {8, 0, false},  // weight only
            {0, 8, false},  // input only
        };
        const std::vector<Names> names = namesAfter(kind, sequence);
        QCOMPARE(names.size(), sequence.size());

        const std::vector<std::string> plain = {"bias", "weight"};
        const std::vector<std::string> both = {"bias", "input_quantizer.step_size", "weight",
                                               "weight_quantizer.step_size"};
        const std::vector<std::string> weightOnly = {"bias", "weight",
                                                     "weight_quantizer.step_size"};
        const std::vector<std::string> inputOnly = {"bias", "input_quantizer.step_size", "weight"};
        QCOMPARE(sorted(names[0].parameters), plain);
        QCOMPARE(sorted(names[1].parameters), both);
        QCOMPARE(sorted(names[2].parameters), both);
        QCOMPARE(sorted(names[3].parameters), plain);
        QCOMPARE(sorted(names[4].parameters), weightOnly);
        QCOMPARE(sorted(names[5].parameters), inputOnly);

        // The `initialized` buffers come and go with their quantizers.
        QCOMPARE(names[0].buffers, std::vector<std::string>{});
        QCOMPARE(sorted(names[1].buffers),
                 (std::vector<std::string>{"input_quantizer.initialized",
                                           "weight_quantizer.initialized"}));
        QCOMPARE(names[3].buffers, std::vector<std::string>{});
        QCOMPARE(names[4].buffers, std::vector<std::string>{"weight_quantizer.initialized"});
        QCOMPARE(names[5].buffers, std::vector<std::string>{"input_quantizer.initialized"});
    }

    void removingSlotsRestoresExactFloat_data() {
        QTest::addColumn<LayerKind>("kind");
        addKinds("W2A2 used, then removed");
    }
    void removingSlotsRestoresExactFloat() {
        QFETCH(LayerKind, kind);
        const PairRun r = floatAfterRemoval(kind, SlotConfig{2, 2, false});
        QVERIFY(!r.layer.empty());
        QCOMPARE(r.layer, r.floatOp);
    }
};

QTEST_APPLESS_MAIN(TestQuantLayers)
#include "TestQuantLayers.moc"
