// Mixed-precision allocation (MixedPrecision.h, torch-free): the dynamic program against brute
// force on random problems of up to 12 layers (with and without ties, with and without a bit-op
// budget), the Pareto frontier, ties, fixed layers, the ResNet ties, the spec it writes, and
// the errors for bad problems and budgets below the minimum.
#include "engine/analysis/MixedPrecision.h"

#include <QTest>

#include <cmath>
#include <limits>
#include <random>

using namespace qs::analysis;

namespace {

/// A random problem: sizes, MACs and Omegas drawn from `seed`; Omega falls with the bits, as
/// real sensitivities do, but with random slopes so the choice is not trivial.
AllocationProblem randomProblem(int layers, uint32_t seed, bool tied, bool fixedFirst) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int64_t> params(10, 500);
    std::uniform_int_distribution<int64_t> macs(100, 5000);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    AllocationProblem p;
    p.candidateBits = {2, 3, 4, 8};
    for (int i = 0; i < layers; ++i) {
        LayerCost l;
        l.layer = "l" + std::to_string(i);
        l.params = params(rng);
        l.macs = macs(rng);
        l.actBits = i % 2 == 0 ? 4 : 8;
        const double scale = unit(rng) * 10.0;
        for (int b : p.candidateBits) {
            l.omega[b] = scale * std::pow(2.0, -b * (0.5 + unit(rng))) + 0.01 * unit(rng);
        }
        p.layers.push_back(l);
    }
    if (fixedFirst) {
        p.layers.front().fixedBits = 8;
    }
    if (tied && layers >= 5) {
        p.ties = {{"l1", "l3"}, {"l2", "l4", "l" + std::to_string(layers - 1)}};
    }
    return p;
}

struct Brute {
    double omega = std::numeric_limits<double>::infinity();
    std::vector<int> bits;
};

/// Every assignment of candidate bits that respects the ties and fixed layers, the best within
/// each budget (size in bytes, bit-ops; bitOps <= 0: none).
std::vector<Brute> bruteForce(const AllocationProblem& p, const std::vector<double>& sizeBudgets,
                              double bitOps) {
    const std::size_t n = p.layers.size();
    std::vector<std::size_t> rep(n);
    for (std::size_t i = 0; i < n; ++i) {
        rep[i] = i;
        for (const auto& tie : p.ties) {
            for (const auto& name : tie) {
                if (name == p.layers[i].layer) {
                    for (std::size_t j = 0; j < n; ++j) {
                        if (p.layers[j].layer == tie.front()) {
                            rep[i] = j;
                        }
                    }
                }
            }
        }
    }
    std::vector<std::size_t> free;
    for (std::size_t i = 0; i < n; ++i) {
        if (rep[i] == i && p.layers[i].fixedBits < 0) {
            free.push_back(i);
        }
    }
    std::vector<Brute> best(sizeBudgets.size());
    std::vector<std::size_t> digit(free.size(), 0);
    std::vector<int> bits(n);
    for (;;) {
        for (std::size_t i = 0; i < n; ++i) {
            bits[i] = p.layers[rep[i]].fixedBits;
        }
        for (std::size_t k = 0; k < free.size(); ++k) {
            bits[free[k]] = p.candidateBits[digit[k]];
        }
        double size = 0.0, ops = 0.0, omega = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            const int b = bits[rep[i]];
            bits[i] = b;
            const double stored = b == 0 ? 32.0 : b;
            const double act = p.layers[i].actBits == 0 ? 32.0 : p.layers[i].actBits;
            size += double(p.layers[i].params) * stored / 8.0;
            ops += double(p.layers[i].macs) * stored * act;
            if (p.layers[rep[i]].fixedBits < 0) {
                omega += p.layers[i].omega.at(b);
            }
        }
        if (bitOps <= 0.0 || ops <= bitOps) {
            for (std::size_t k = 0; k < sizeBudgets.size(); ++k) {
                if (size <= sizeBudgets[k] && omega < best[k].omega) {
                    best[k].omega = omega;
                    best[k].bits = bits;
                }
            }
        }
        std::size_t k = 0;
        while (k < digit.size() && ++digit[k] == p.candidateBits.size()) {
            digit[k++] = 0;
        }
        if (k == digit.size()) {
            break;
        }
    }
    return best;
}

double totalBytes(const AllocationProblem& p, int bits) {
    double bytes = 0.0;
    for (const auto& l : p.layers) {
        bytes += double(l.params) *
                 (l.fixedBits >= 0 ? (l.fixedBits == 0 ? 32 : l.fixedBits) : bits) / 8.0;
    }
    return bytes;
}

}  // namespace

class TestMixedPrecision : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void dpEqualsBruteForce_data();
    void dpEqualsBruteForce();
    void frontierIsMonotoneAndEachPointOptimal();
    void frontierHasOnePointPerSize();
    void tiedAndFixedLayersAreRespected();
    void residualTiesPairShortcutWithConv2();
    void problemFollowsTheFirstLastPolicy();
    void specCarriesTheChosenBitsAndValidates();
    void budgetBelowMinimumNamesTheMinimum();
    void badProblemsAreNamed_data();
    void badProblemsAreNamed();
};

void TestMixedPrecision::dpEqualsBruteForce_data() {
    QTest::addColumn<int>("layers");
    QTest::addColumn<bool>("tied");
    QTest::addColumn<bool>("fixedFirst");
    QTest::addColumn<bool>("bitOps");
    QTest::addColumn<uint>("seed");
    QTest::newRow("1 layer") << 1 << false << false << false << 1u;
    QTest::newRow("4 layers") << 4 << false << false << false << 2u;
    QTest::newRow("7 layers, ties") << 7 << true << false << false << 3u;
    QTest::newRow("8 layers, fixed first, bit-ops") << 8 << false << true << true << 4u;
    QTest::newRow("10 layers, ties, bit-ops") << 10 << true << true << true << 5u;
    QTest::newRow("12 layers") << 12 << false << false << false << 6u;
    QTest::newRow("12 layers, ties, fixed first, bit-ops") << 12 << true << true << true << 7u;
}

void TestMixedPrecision::dpEqualsBruteForce() {
    QFETCH(int, layers);
    QFETCH(bool, tied);
    QFETCH(bool, fixedFirst);
    QFETCH(bool, bitOps);
    QFETCH(uint, seed);
    const AllocationProblem p = randomProblem(layers, seed, tied, fixedFirst);
    const double lo = minimumSizeBytes(p), hi = totalBytes(p, 8);
    std::vector<double> budgets;
    for (double f : {0.0, 0.1, 0.3, 0.5, 0.8, 1.0}) {
        budgets.push_back(lo + f * (hi - lo));
    }
    // The bit-op budget halfway between all-2-bit and all-8-bit.
    double opsBudget = 0.0;
    if (bitOps) {
        double opsLo = 0.0, opsHi = 0.0;
        for (const auto& l : p.layers) {
            const double act = l.actBits == 0 ? 32.0 : l.actBits;
            const double fixed = l.fixedBits < 0 ? 0.0 : (l.fixedBits == 0 ? 32.0 : l.fixedBits);
            opsLo += double(l.macs) * act * (fixed > 0 ? fixed : 2.0);
            opsHi += double(l.macs) * act * (fixed > 0 ? fixed : 8.0);
        }
        opsBudget = 0.5 * (opsLo + opsHi);
    }
    const std::vector<Brute> expected = bruteForce(p, budgets, opsBudget);
    for (std::size_t k = 0; k < budgets.size(); ++k) {
        if (!std::isfinite(expected[k].omega)) {
            // Nothing fits both budgets: the DP must say so too, never return a violation.
            continue;
        }
        const AllocationResult r = allocateBits(p, {budgets[k], opsBudget});
        QVERIFY2(std::abs(r.best.omega - expected[k].omega) <= 1e-9 * (1.0 + expected[k].omega),
                 qPrintable(QStringLiteral("budget %1: dp %2, brute force %3")
                                .arg(budgets[k])
                                .arg(r.best.omega)
                                .arg(expected[k].omega)));
        QVERIFY(r.best.sizeBytes <= budgets[k]);
        if (bitOps) {
            QVERIFY(r.best.bitOps <= opsBudget);
        }
        // The reported totals are those of the reported bits.
        double size = 0.0, omega = 0.0;
        for (std::size_t i = 0; i < p.layers.size(); ++i) {
            const int b = r.best.bits[i];
            size += double(p.layers[i].params) * (b == 0 ? 32 : b) / 8.0;
            if (p.layers[i].fixedBits < 0) {
                omega += p.layers[i].omega.at(b);
            }
        }
        QCOMPARE(r.best.sizeBytes, size);
        QVERIFY(std::abs(r.best.omega - omega) <= 1e-9 * (1.0 + omega));
    }
}

void TestMixedPrecision::frontierIsMonotoneAndEachPointOptimal() {
    const AllocationProblem p = randomProblem(9, 11, true, true);
    const AllocationResult r = allocateBits(p, {totalBytes(p, 8), 0.0});
    QVERIFY(r.frontier.size() > 3);
    std::vector<double> sizes;
    for (std::size_t i = 0; i < r.frontier.size(); ++i) {
        sizes.push_back(r.frontier[i].sizeBytes);
        if (i > 0) {
            QVERIFY(r.frontier[i].sizeBytes > r.frontier[i - 1].sizeBytes);
            QVERIFY(r.frontier[i].omega < r.frontier[i - 1].omega);
        }
    }
    QCOMPARE(r.frontier.front().sizeBytes, minimumSizeBytes(p));
    // The budget at the largest size picks the last (best) point.
    QCOMPARE(r.best.omega, r.frontier.back().omega);
    const std::vector<Brute> expected = bruteForce(p, sizes, 0.0);
    for (std::size_t i = 0; i < r.frontier.size(); ++i) {
        QVERIFY(std::abs(r.frontier[i].omega - expected[i].omega) <=
                1e-9 * (1.0 + expected[i].omega));
    }
}

void TestMixedPrecision::frontierHasOnePointPerSize() {
    // Equal layer sizes (as in a ResNet stage) but different MACs: many allocations share a size
    // and differ in bit-ops; without a bit-op budget only the best of each size may remain.
    AllocationProblem p = randomProblem(6, 31, false, false);
    for (auto& l : p.layers) {
        l.params = 64;
    }
    const AllocationResult r = allocateBits(p, {totalBytes(p, 8)});
    std::vector<double> sizes;
    for (std::size_t i = 0; i < r.frontier.size(); ++i) {
        sizes.push_back(r.frontier[i].sizeBytes);
        if (i > 0) {
            QVERIFY(r.frontier[i].sizeBytes > r.frontier[i - 1].sizeBytes);
            QVERIFY(r.frontier[i].omega < r.frontier[i - 1].omega);
        }
    }
    const std::vector<Brute> expected = bruteForce(p, sizes, 0.0);
    for (std::size_t i = 0; i < r.frontier.size(); ++i) {
        QVERIFY(std::abs(r.frontier[i].omega - expected[i].omega) <=
                1e-9 * (1.0 + expected[i].omega));
    }
}

void TestMixedPrecision::tiedAndFixedLayersAreRespected() {
    AllocationProblem p = randomProblem(6, 21, true, true);
    // Make tying costly: l1 wants few bits, l3 many.
    p.layers[1].omega = {{2, 0.0}, {3, 0.0}, {4, 0.0}, {8, 0.0}};
    p.layers[3].omega = {{2, 100.0}, {3, 50.0}, {4, 1.0}, {8, 0.0}};
    const AllocationResult r = allocateBits(p, {0.5 * (minimumSizeBytes(p) + totalBytes(p, 8))});
    for (std::size_t i = 0; i < r.frontier.size(); ++i) {
        const Allocation& a = r.frontier[i];
        if (i > 0) {
            QVERIFY(a.sizeBytes > r.frontier[i - 1].sizeBytes);
        }
        QCOMPARE(a.bits[1], a.bits[3]);
        QCOMPARE(a.bits[2], a.bits[4]);
        QCOMPARE(a.bits[2], a.bits[5]);
        QCOMPARE(a.bits[0], 8);  // fixed
    }
    QCOMPARE(r.best.bits[1], r.best.bits[3]);
}

void TestMixedPrecision::residualTiesPairShortcutWithConv2() {
    const std::vector<std::string> layers{
        "conv1",          "layer1.0.conv1",        "layer1.0.conv2",        "layer2.0.conv1",
        "layer2.0.conv2", "layer2.0.downsample.0", "layer2.1.conv1",        "layer2.1.conv2",
        "layer3.0.conv1", "layer3.0.conv2",        "layer3.0.downsample.0", "fc"};
    const auto ties = residualTies(layers);
    QCOMPARE(ties.size(), std::size_t(2));
    QCOMPARE(ties[0], (std::vector<std::string>{"layer2.0.conv2", "layer2.0.downsample.0"}));
    QCOMPARE(ties[1], (std::vector<std::string>{"layer3.0.conv2", "layer3.0.downsample.0"}));
}

void TestMixedPrecision::problemFollowsTheFirstLastPolicy() {
    HessianReport report;
    for (const char* name : {"conv1", "layer1.0.conv1", "layer1.0.conv2", "fc"}) {
        LayerHessian l;
        l.layer = name;
        l.params = 100;
        l.macs = 1000;
        l.omega = {{2, 1.0}, {4, 0.5}};
        report.layers.push_back(l);
    }
    qs::session::RunSpec spec;
    spec.quant.actBits = 3;
    spec.quant.firstLast = "8bit";
    AllocationProblem p = allocationProblem(report, spec, {2, 4});
    QCOMPARE(p.layers.front().fixedBits, 8);
    QCOMPARE(p.layers.back().fixedBits, 8);
    QCOMPARE(p.layers.front().actBits, 8);
    QCOMPARE(p.layers[1].fixedBits, -1);
    QCOMPARE(p.layers[1].actBits, 3);
    spec.quant.firstLast = "float";
    p = allocationProblem(report, spec, {2, 4});
    QCOMPARE(p.layers.back().fixedBits, 0);
    // Float layers cost 32 bits each in the size.
    QCOMPARE(minimumSizeBytes(p), (100.0 * 32 * 2 + 100.0 * 2 * 2) / 8.0);
    spec.quant.firstLast = "same";
    p = allocationProblem(report, spec, {2, 4});
    QCOMPARE(p.layers.front().fixedBits, -1);
}

void TestMixedPrecision::specCarriesTheChosenBitsAndValidates() {
    HessianReport report;
    for (const char* name : {"conv1", "layer1.0.conv1", "layer1.0.conv2", "fc"}) {
        LayerHessian l;
        l.layer = name;
        l.params = 1000;
        l.macs = 1000;
        // layer1.0.conv1 is far more sensitive: it gets the bits.
        const double scale = std::string(name) == "layer1.0.conv1" ? 100.0 : 1.0;
        l.omega = {{2, 4.0 * scale}, {3, 2.0 * scale}, {4, 1.0 * scale}, {8, 0.0}};
        report.layers.push_back(l);
    }
    qs::session::RunSpec base;  // a float run
    base.name = "float-base";
    const AllocationProblem p = allocationProblem(report, base, {2, 3, 4, 8});
    // Two allocated layers, 1000 weights each; 8-bit first/last: 2000 bytes. Average 5 bits on
    // the allocated ones: 1250 bytes.
    const AllocationResult r = allocateBits(p, {2000.0 + 1250.0});
    QCOMPARE(r.best.bits, (std::vector<int>{8, 8, 2, 8}));
    const qs::session::RunSpec spec = allocationSpec(base, p, r.best, "/tmp/ckpt/last.safetensors");
    const qs::session::RunSpec parsed = qs::session::RunSpec::fromJson(spec.toJson());
    QCOMPARE(parsed.method.name, std::string("lsq"));
    QCOMPARE(parsed.name, std::string("float-base-mp"));
    QCOMPARE(parsed.initCheckpoint, std::string("/tmp/ckpt/last.safetensors"));
    QCOMPARE(parsed.quant.layers.size(), std::size_t(2));
    QCOMPARE(parsed.quant.layers.at("layer1.0.conv1").weightBits, 8);
    QCOMPARE(parsed.quant.layers.at("layer1.0.conv2").weightBits, 2);
    QCOMPARE(parsed.quant.layers.count("conv1"), std::size_t(0));  // the policy keeps it
}

void TestMixedPrecision::budgetBelowMinimumNamesTheMinimum() {
    AllocationProblem p;
    p.candidateBits = {2, 4};
    p.layers.push_back({"a", 1000, 10, 8, {{2, 1.0}, {4, 0.5}}, -1});
    p.layers.push_back({"b", 3000, 10, 8, {{2, 1.0}, {4, 0.5}}, -1});
    QCOMPARE(minimumSizeBytes(p), 1000.0);
    try {
        allocateBits(p, {999.0});
        QFAIL("a budget below the minimum was accepted");
    } catch (const std::invalid_argument& e) {
        QCOMPARE(QString::fromStdString(e.what()),
                 QStringLiteral("size budget 0.000999 MB (999 bytes) is below the smallest "
                                "possible size 0.001000 MB (1000 bytes) (every allocated layer "
                                "at its fewest bits)"));
    }
    // Exactly the minimum fits: everything at 2 bits.
    QCOMPARE(allocateBits(p, {1000.0}).best.bits, (std::vector<int>{2, 2}));
}

void TestMixedPrecision::badProblemsAreNamed_data() {
    QTest::addColumn<QString>("problem");
    QTest::addColumn<QString>("message");
    QTest::newRow("unknown tie") << "tie"
                                 << "allocation: tied layer nope is not a layer";
    QTest::newRow("missing omega") << "omega"
                                   << "allocation: layer b has no Omega for 4 bits";
    QTest::newRow("layer in two ties") << "two-ties"
                                       << "allocation: layer a is in more than one tie group";
    QTest::newRow("duplicate bits") << "bits"
                                    << "allocation: candidate bits must be distinct, in 1..16 "
                                       "(got 2)";
}

void TestMixedPrecision::badProblemsAreNamed() {
    QFETCH(QString, problem);
    QFETCH(QString, message);
    AllocationProblem p;
    p.candidateBits = {2, 4};
    p.layers.push_back({"a", 10, 10, 8, {{2, 1.0}, {4, 0.5}}, -1});
    p.layers.push_back({"b", 10, 10, 8, {{2, 1.0}, {4, 0.5}}, -1});
    if (problem == "tie") {
        p.ties = {{"a", "nope"}};
    } else if (problem == "omega") {
        p.layers[1].omega.erase(4);
    } else if (problem == "two-ties") {
        p.ties = {{"a", "b"}, {"a"}};
    } else {
        p.candidateBits = {2, 2};
    }
    try {
        allocateBits(p, {1e9});
        QFAIL("a bad problem was accepted");
    } catch (const std::invalid_argument& e) {
        QCOMPARE(QString::fromStdString(e.what()), message);
    }
}

QTEST_GUILESS_MAIN(TestMixedPrecision)
#include "TestMixedPrecision.moc"
