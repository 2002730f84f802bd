// ResNets: stable torchvision-style parameter paths, layer counts per depth, output shapes and
// the exact parameter count of each architecture.
#include "ResNetCases.h"

#include <QtTest>

#include <algorithm>

using namespace qs::test::resnet;

namespace {

// ResNet-20/32/44/56 counted by hand: 3x3 stem conv (no bias) + BN (weight and bias), three
// stages of n basic blocks at 16/32/64 channels (two 3x3 convs + two BNs each), a 1x1 conv + BN
// shortcut (option B) where the width changes, and a fc layer with bias.
int64_t cifarResNetParameters(int64_t n, int64_t in, int64_t classes) {
    const auto conv = [](int64_t ci, int64_t co, int64_t k) { return ci * co * k * k; };
    const auto bn = [](int64_t c) { return 2 * c; };
    int64_t total = conv(in, 16, 3) + bn(16);
    int64_t prev = 16;
    for (const int64_t width : {16, 32, 64}) {
        for (int64_t b = 0; b < n; ++b) {
            const int64_t cin = b == 0 ? prev : width;
            total += conv(cin, width, 3) + bn(width) + conv(width, width, 3) + bn(width);
            if (cin != width) {
                total += conv(cin, width, 1) + bn(width);
            }
        }
        prev = width;
    }
    return total + 64 * classes + classes;
}

const Parameter* find(const Structure& s, const std::string& path) {
    const auto it = std::find_if(s.parameters.begin(), s.parameters.end(),
                                 [&](const Parameter& p) { return p.path == path; });
    return it == s.parameters.end() ? nullptr : &*it;
}

bool contains(const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

class TestResNet : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void parameterPaths_data() {
        QTest::addColumn<QString>("arch");
        QTest::addColumn<QString>("path");
        QTest::addColumn<std::vector<int64_t>>("shape");  // empty: the path must not exist
        using S = std::vector<int64_t>;
        QTest::newRow("resnet20 conv1.weight") << "resnet20"
                                               << "conv1.weight" << S{16, 3, 3, 3};
        QTest::newRow("resnet20 bn1.weight") << "resnet20"
                                             << "bn1.weight" << S{16};
        QTest::newRow("resnet20 bn1.bias") << "resnet20"
                                           << "bn1.bias" << S{16};
        QTest::newRow("resnet20 layer1.0.conv1.weight")
            << "resnet20"
            << "layer1.0.conv1.weight" << S{16, 16, 3, 3};
        QTest::newRow("resnet20 layer1.0.bn2.weight") << "resnet20"
                                                      << "layer1.0.bn2.weight" << S{16};
        QTest::newRow("resnet20 layer2.0.conv1.weight: stride-2 entry")
            << "resnet20"
            << "layer2.0.conv1.weight" << S{32, 16, 3, 3};
        QTest::newRow("resnet20 layer2.0.downsample.0.weight")
            << "resnet20"
            << "layer2.0.downsample.0.weight" << S{32, 16, 1, 1};
        QTest::newRow("resnet20 layer2.0.downsample.1.weight")
            << "resnet20"
            << "layer2.0.downsample.1.weight" << S{32};
        QTest::newRow("resnet20 layer3.0.downsample.0.weight")
            << "resnet20"
            << "layer3.0.downsample.0.weight" << S{64, 32, 1, 1};
        QTest::newRow("resnet20 layer3.2.conv2.weight")
            << "resnet20"
            << "layer3.2.conv2.weight" << S{64, 64, 3, 3};
        QTest::newRow("resnet20 fc.weight") << "resnet20"
                                            << "fc.weight" << S{10, 64};
        QTest::newRow("resnet20 fc.bias") << "resnet20"
                                          << "fc.bias" << S{10};
        QTest::newRow("resnet20 has no layer1.0.downsample: same width")
            << "resnet20"
            << "layer1.0.downsample.0.weight" << S{};
        QTest::newRow("resnet20 has no layer3.3") << "resnet20"
                                                  << "layer3.3.conv1.weight" << S{};
        QTest::newRow("resnet20 has no layer4") << "resnet20"
                                                << "layer4.0.conv1.weight" << S{};
        QTest::newRow("resnet20 convs have no bias") << "resnet20"
                                                     << "conv1.bias" << S{};
        QTest::newRow("resnet56 layer3.8.conv2.weight")
            << "resnet56"
            << "layer3.8.conv2.weight" << S{64, 64, 3, 3};
        QTest::newRow("resnet18 conv1.weight: 7x7 stem") << "resnet18"
                                                         << "conv1.weight" << S{64, 3, 7, 7};
        QTest::newRow("resnet18 layer2.0.downsample.0.weight")
            << "resnet18"
            << "layer2.0.downsample.0.weight" << S{128, 64, 1, 1};
        QTest::newRow("resnet18 layer4.0.downsample.0.weight")
            << "resnet18"
            << "layer4.0.downsample.0.weight" << S{512, 256, 1, 1};
        QTest::newRow("resnet18 layer4.1.conv2.weight")
            << "resnet18"
            << "layer4.1.conv2.weight" << S{512, 512, 3, 3};
        QTest::newRow("resnet18 layer4.1.bn2.bias") << "resnet18"
                                                    << "layer4.1.bn2.bias" << S{512};
        QTest::newRow("resnet18 fc.weight") << "resnet18"
                                            << "fc.weight" << S{10, 512};
        QTest::newRow("resnet18 has no layer1.0.downsample")
            << "resnet18"
            << "layer1.0.downsample.0.weight" << S{};
        QTest::newRow("resnet18 has no layer4.2") << "resnet18"
                                                  << "layer4.2.conv1.weight" << S{};
    }
    void parameterPaths() {
        QFETCH(QString, arch);
        QFETCH(QString, path);
        QFETCH(std::vector<int64_t>, shape);
        const Structure s = describe(arch.toStdString(), 3, 10);
        const Parameter* p = find(s, path.toStdString());
        if (shape.empty()) {
            QVERIFY2(p == nullptr, qPrintable(path + " exists"));
            return;
        }
        QVERIFY2(p != nullptr, qPrintable(path + " missing"));
        QCOMPARE(p->shape, shape);
    }

    void batchNormBuffers() {
        const Structure s = describe("resnet20", 3, 10);
        for (const char* b : {"bn1.running_mean", "bn1.running_var", "bn1.num_batches_tracked",
                              "layer2.0.downsample.1.running_mean", "layer3.2.bn2.running_var"}) {
            QVERIFY2(contains(s.buffers, b), b);
        }
    }

    void quantLayers_data() {
        QTest::addColumn<QString>("arch");
        QTest::addColumn<int>("count");
        // CIFAR: 6n + 2 layers on the main path (stem, 2 per block, fc) plus 2 downsample convs
        QTest::newRow("resnet20: n=3") << "resnet20" << 6 * 3 + 2 + 2;
        QTest::newRow("resnet32: n=5") << "resnet32" << 6 * 5 + 2 + 2;
        QTest::newRow("resnet44: n=7") << "resnet44" << 6 * 7 + 2 + 2;
        QTest::newRow("resnet56: n=9") << "resnet56" << 6 * 9 + 2 + 2;
        // stem, 8 blocks x 2 convs, 3 downsample convs, fc
        QTest::newRow("resnet18") << "resnet18" << 1 + 16 + 3 + 1;
    }
    void quantLayers() {
        QFETCH(QString, arch);
        QFETCH(int, count);
        const Structure s = describe(arch.toStdString(), 3, 10);
        QCOMPARE(int(s.quantLayers.size()), count);
        QCOMPARE(s.quantLayers.front(), std::string("conv1"));
        QCOMPARE(s.quantLayers[1], std::string("layer1.0.conv1"));
        QCOMPARE(s.quantLayers.back(), std::string("fc"));
        // Every QConv2d and QLinear is listed, once.
        QCOMPARE(s.convModules + s.linearModules, int64_t(count));
        QCOMPARE(s.linearModules, int64_t(1));
        std::vector<std::string> unique = s.quantLayers;
        std::sort(unique.begin(), unique.end());
        QVERIFY(std::adjacent_find(unique.begin(), unique.end()) == unique.end());
        // Each path names a layer whose weight is "<path>.weight" with the same shape.
        QCOMPARE(s.quantWeightShapes.size(), s.quantLayers.size());
        for (std::size_t i = 0; i < s.quantLayers.size(); ++i) {
            const Parameter* p = find(s, s.quantLayers[i] + ".weight");
            QVERIFY2(p != nullptr, s.quantLayers[i].c_str());
            QCOMPARE(p->shape, s.quantWeightShapes[i]);
        }
    }

    void resnet20LayerOrder() {
        const Structure s = describe("resnet20", 3, 10);
        const std::vector<std::string> expected = {"conv1",
                                                   "layer1.0.conv1",
                                                   "layer1.0.conv2",
                                                   "layer1.1.conv1",
                                                   "layer1.1.conv2",
                                                   "layer1.2.conv1",
                                                   "layer1.2.conv2",
                                                   "layer2.0.conv1",
                                                   "layer2.0.conv2",
                                                   "layer2.0.downsample.0",
                                                   "layer2.1.conv1",
                                                   "layer2.1.conv2",
                                                   "layer2.2.conv1",
                                                   "layer2.2.conv2",
                                                   "layer3.0.conv1",
                                                   "layer3.0.conv2",
                                                   "layer3.0.downsample.0",
                                                   "layer3.1.conv1",
                                                   "layer3.1.conv2",
                                                   "layer3.2.conv1",
                                                   "layer3.2.conv2",
                                                   "fc"};
        QCOMPARE(s.quantLayers, expected);
    }

    void forwardShape_data() {
        QTest::addColumn<QString>("arch");
        QTest::addColumn<qint64>("channels");
        QTest::addColumn<qint64>("size");
        QTest::addColumn<qint64>("classes");
        QTest::newRow("resnet20 on 1x28x28 (Fashion-MNIST)") << "resnet20" << 1LL << 28LL << 10LL;
        QTest::newRow("resnet20 on 3x32x32 (CIFAR-10)") << "resnet20" << 3LL << 32LL << 10LL;
        QTest::newRow("resnet32 on 3x32x32, 100 classes") << "resnet32" << 3LL << 32LL << 100LL;
        QTest::newRow("resnet18 on 3x64x64") << "resnet18" << 3LL << 64LL << 10LL;
        QTest::newRow("resnet18 on 1x28x28") << "resnet18" << 1LL << 28LL << 10LL;
    }
    void forwardShape() {
        QFETCH(QString, arch);
        QFETCH(qint64, channels);
        QFETCH(qint64, size);
        QFETCH(qint64, classes);
        const std::vector<int64_t> shape =
            qs::test::resnet::forwardShape(arch.toStdString(), channels, classes, 3, size, size);
        QCOMPARE(shape, (std::vector<int64_t>{3, classes}));
    }

    void parameterCount_data() {
        QTest::addColumn<QString>("arch");
        QTest::addColumn<qint64>("channels");
        QTest::addColumn<qint64>("classes");
        QTest::addColumn<qint64>("expected");
        // 269,722 of the paper's option-A ResNet-20 + 2,752 for the two 1x1 conv + BN shortcuts
        QTest::newRow("resnet20, 3 channels, 10 classes")
            << "resnet20" << 3LL << 10LL << qint64(272474);
        QTest::newRow("resnet20 by formula, 1 channel")
            << "resnet20" << 1LL << 10LL << qint64(cifarResNetParameters(3, 1, 10));
        QTest::newRow("resnet32 by formula")
            << "resnet32" << 3LL << 10LL << qint64(cifarResNetParameters(5, 3, 10));
        QTest::newRow("resnet56 by formula, 100 classes")
            << "resnet56" << 3LL << 100LL << qint64(cifarResNetParameters(9, 3, 100));
        // torchvision's resnet18 has 11,689,512 with 1000 classes; 10 classes save 507,870
        QTest::newRow("resnet18, 10 classes") << "resnet18" << 3LL << 10LL << qint64(11181642);
    }
    void parameterCount() {
        QFETCH(QString, arch);
        QFETCH(qint64, channels);
        QFETCH(qint64, classes);
        QFETCH(qint64, expected);
        QCOMPARE(cifarResNetParameters(3, 3, 10), int64_t(272474));  // the formula itself
        QCOMPARE(describe(arch.toStdString(), channels, classes).parameterCount, int64_t(expected));
    }

    // Quantizers add their step sizes under the layer's path; the weights keep theirs.
    void quantizedPathsExtendFloatPaths() {
        const Structure s = describe("resnet20", 3, 10);
        const std::vector<std::string> q = quantizedParameterPaths("resnet20");
        QCOMPARE(q.size(), s.parameters.size() + 2 * s.quantLayers.size());
        for (const Parameter& p : s.parameters) {
            QVERIFY2(contains(q, p.path), p.path.c_str());
        }
        for (const char* path :
             {"conv1.weight_quantizer.step_size", "conv1.input_quantizer.step_size",
              "layer1.0.conv1.weight_quantizer.step_size",
              "layer2.0.downsample.0.input_quantizer.step_size", "fc.weight_quantizer.step_size"}) {
            QVERIFY2(contains(q, path), path);
        }
    }

    void unknownArchitecture_data() {
        QTest::addColumn<QString>("arch");
        QTest::addColumn<bool>("known");
        for (const char* a : {"resnet20", "resnet32", "resnet44", "resnet56", "resnet18"}) {
            QTest::newRow(a) << a << true;
        }
        QTest::newRow("resnet50") << "resnet50" << false;
        QTest::newRow("case matters: ResNet20") << "ResNet20" << false;
        QTest::newRow("empty") << "" << false;
    }
    void unknownArchitecture() {
        QFETCH(QString, arch);
        QFETCH(bool, known);
        QCOMPARE(knownArch(arch.toStdString()), known);
        const std::string error = constructionError(arch.toStdString());
        if (known) {
            QCOMPARE(error, std::string());
        } else {
            QCOMPARE(error, "unknown ResNet architecture \"" + arch.toStdString() + "\"");
        }
    }
};

QTEST_APPLESS_MAIN(TestResNet)
#include "TestResNet.moc"
