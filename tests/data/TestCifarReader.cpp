// CIFAR binary reader: CIFAR-10 and CIFAR-100 (fine and coarse) round trips, the standard folder
// layouts, and the exact error for each kind of bad batch file.
#include "engine/data/ImageSet.h"
#include "support/TestFiles.h"

#include <QDir>
#include <QTemporaryDir>
#include <QtTest>

#include <functional>

using namespace qs::data;

namespace {

constexpr std::size_t kImageBytes = 3 * 32 * 32;

QString errorOf(const std::function<void()>& f) {
    try {
        f();
    } catch (const DataError& e) {
        return QString::fromStdString(e.what());
    } catch (const std::exception& e) {
        return QStringLiteral("wrong exception type: ") + QString::fromStdString(e.what());
    }
    return QStringLiteral("no exception");
}

// A record's pixels: a value pattern seeded by `seed`, so records are told apart.
std::vector<uint8_t> imageOf(int seed) {
    std::vector<uint8_t> p(kImageBytes);
    for (std::size_t i = 0; i < p.size(); ++i) {
        p[i] = uint8_t(i * 13 + std::size_t(seed) * 101);
    }
    return p;
}

// One record per entry of `labelBytes` (each entry is the 1 or 2 label bytes), images seeded
// from `firstSeed` on.
std::vector<uint8_t> batch(const std::vector<std::vector<uint8_t>>& labelBytes, int firstSeed = 0) {
    std::vector<uint8_t> out;
    int seed = firstSeed;
    for (const auto& labels : labelBytes) {
        out.insert(out.end(), labels.begin(), labels.end());
        const std::vector<uint8_t> image = imageOf(seed++);
        out.insert(out.end(), image.begin(), image.end());
    }
    return out;
}

}  // namespace

Q_DECLARE_METATYPE(CifarKind)

class TestCifarReader : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init() { QVERIFY(m_dir.isValid()); }

    void cifar10AcrossFiles() {
        const std::string a = file("a.bin");
        const std::string b = file("b.bin");
        qs::test::writeBytes(a, batch({{3}, {0}, {9}}));
        qs::test::writeBytes(b, batch({{5}, {1}}, 3));

        const ImageSet set = readCifarBinary({a, b}, CifarKind::Cifar10);
        QCOMPARE(set.count, int64_t(5));
        QCOMPARE(set.channels, int64_t(3));
        QCOMPARE(set.height, int64_t(32));
        QCOMPARE(set.width, int64_t(32));
        QCOMPARE(set.numClasses, 10);
        QVERIFY(set.labels == std::vector<int64_t>({3, 0, 9, 5, 1}));
        QCOMPARE(set.pixels.size(), 5 * kImageBytes);
        for (int i = 0; i < 5; ++i) {
            const std::vector<uint8_t> expected = imageOf(i);
            QVERIFY2(std::equal(expected.begin(), expected.end(),
                                set.pixels.begin() + std::ptrdiff_t(i * kImageBytes)),
                     qPrintable(QString("image %1").arg(i)));
        }
    }

    void cifar100FineAndCoarse_data() {
        QTest::addColumn<CifarKind>("kind");
        QTest::addColumn<int>("classes");
        QTest::addColumn<QList<int>>("labels");
        QTest::newRow("fine labels") << CifarKind::Cifar100Fine << 100 << QList<int>{99, 0, 42};
        QTest::newRow("coarse labels") << CifarKind::Cifar100Coarse << 20 << QList<int>{19, 0, 7};
    }

    void cifar100FineAndCoarse() {
        QFETCH(CifarKind, kind);
        QFETCH(int, classes);
        QFETCH(QList<int>, labels);
        const std::string path = file("train100.bin");
        // Records are coarse byte, fine byte.
        qs::test::writeBytes(path, batch({{19, 99}, {0, 0}, {7, 42}}));

        const ImageSet set = readCifarBinary({path}, kind);
        QCOMPARE(set.count, int64_t(3));
        QCOMPARE(set.numClasses, classes);
        QCOMPARE(QList<int>(set.labels.begin(), set.labels.end()), labels);
        QVERIFY(std::equal(set.pixels.begin() + std::ptrdiff_t(2 * kImageBytes), set.pixels.end(),
                           imageOf(2).begin()));
    }

    void cifar10FolderWithSubfolder() {
        const QString sub = m_dir.filePath("c10/cifar-10-batches-bin");
        QVERIFY(QDir().mkpath(sub));
        for (int i = 1; i <= 5; ++i) {
            qs::test::writeBytes((sub + QString("/data_batch_%1.bin").arg(i)).toStdString(),
                                 batch({{uint8_t(i)}, {uint8_t(i + 1)}}));
        }
        // The test batch sits directly in the folder: each file is looked for in both places.
        const std::string dir = m_dir.filePath("c10").toStdString();
        qs::test::writeBytes(dir + "/test_batch.bin", batch({{8}}));

        const ImageSet train = readCifarFolder(dir, CifarKind::Cifar10, true);
        QCOMPARE(train.count, int64_t(10));
        QVERIFY(train.labels == std::vector<int64_t>({1, 2, 2, 3, 3, 4, 4, 5, 5, 6}));
        const ImageSet test = readCifarFolder(dir, CifarKind::Cifar10, false);
        QCOMPARE(test.count, int64_t(1));
        QVERIFY(test.labels == std::vector<int64_t>({8}));
    }

    void cifar100Folder() {
        const QString sub = m_dir.filePath("c100/cifar-100-binary");
        QVERIFY(QDir().mkpath(sub));
        qs::test::writeBytes((sub + "/train.bin").toStdString(), batch({{1, 11}, {2, 22}}));
        qs::test::writeBytes((sub + "/test.bin").toStdString(), batch({{3, 33}}));
        const std::string dir = m_dir.filePath("c100").toStdString();

        QVERIFY(readCifarFolder(dir, CifarKind::Cifar100Fine, true).labels ==
                std::vector<int64_t>({11, 22}));
        QVERIFY(readCifarFolder(dir, CifarKind::Cifar100Coarse, false).labels ==
                std::vector<int64_t>({3}));
    }

    void folderNamesTheMissingBatch() {
        const std::string dir = m_dir.filePath("partial").toStdString();
        QVERIFY(QDir().mkpath(QString::fromStdString(dir)));
        for (int i : {1, 2, 4, 5}) {
            qs::test::writeBytes(dir + "/data_batch_" + std::to_string(i) + ".bin", batch({{0}}));
        }
        QCOMPARE(errorOf([&] { readCifarFolder(dir, CifarKind::Cifar10, true); }),
                 QString::fromStdString("folder " + dir +
                                        ": missing data_batch_3.bin (also looked in "
                                        "cifar-10-batches-bin/)"));
        QCOMPARE(errorOf([&] { readCifarFolder(dir, CifarKind::Cifar100Fine, false); }),
                 QString::fromStdString("folder " + dir +
                                        ": missing test.bin (also looked in cifar-100-binary/)"));
    }

    void badBatchIsRejected_data() {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<CifarKind>("kind");
        QTest::addColumn<QString>("expected");
        const auto bytes = [](const std::vector<uint8_t>& v) {
            return QByteArray(reinterpret_cast<const char*>(v.data()), qsizetype(v.size()));
        };

        QTest::newRow("empty file") << QByteArray() << CifarKind::Cifar10 << "file is empty";
        QTest::newRow("partial CIFAR-10 record")
            << bytes(batch({{1}, {2}})) + "abc" << CifarKind::Cifar10
            << "size 6149 is not a multiple of the CIFAR-10 record size 3073";
        QTest::newRow("CIFAR-10 batch read as CIFAR-100")
            << bytes(batch({{1}, {2}})) << CifarKind::Cifar100Fine
            << "size 6146 is not a multiple of the CIFAR-100 record size 3074";
        QTest::newRow("CIFAR-10 label 10") << bytes(batch({{1}, {10}})) << CifarKind::Cifar10
                                           << "record 1: label 10 is out of range [0, 10)";
        QTest::newRow("CIFAR-100 fine label 100")
            << bytes(batch({{1, 1}, {2, 2}, {3, 100}})) << CifarKind::Cifar100Fine
            << "record 2: fine label 100 is out of range [0, 100)";
        QTest::newRow("CIFAR-100 coarse label 20 while reading fine")
            << bytes(batch({{20, 1}})) << CifarKind::Cifar100Fine
            << "record 0: coarse label 20 is out of range [0, 20)";
        QTest::newRow("CIFAR-100 coarse label 255")
            << bytes(batch({{255, 1}})) << CifarKind::Cifar100Coarse
            << "record 0: coarse label 255 is out of range [0, 20)";
    }

    void badBatchIsRejected() {
        QFETCH(QByteArray, bytes);
        QFETCH(CifarKind, kind);
        QFETCH(QString, expected);
        const std::string good = file("good.bin");
        const std::string bad = file("bad.bin");
        qs::test::writeBytes(good, batch({{1, 1}}));
        qs::test::writeBytes(bad, std::vector<uint8_t>(bytes.begin(), bytes.end()));
        // The bad file comes second, so the error must name it, not the first file.
        const std::vector<std::string> files = kind == CifarKind::Cifar10
                                                   ? std::vector<std::string>{bad}
                                                   : std::vector<std::string>{good, bad};
        QCOMPARE(errorOf([&] { readCifarBinary(files, kind); }),
                 QString::fromStdString(bad + ": ") + expected);
    }

    void missingOrNoFiles() {
        const std::string missing = file("missing.bin");
        QCOMPARE(errorOf([&] { readCifarBinary({missing}, CifarKind::Cifar10); }),
                 QString::fromStdString("cannot open " + missing + ": No such file or directory"));
        QCOMPARE(errorOf([&] { readCifarBinary({}, CifarKind::Cifar10); }),
                 QString("CIFAR reader: no batch files given"));
        QCOMPARE(
            errorOf([&] { readCifarBinary({m_dir.path().toStdString()}, CifarKind::Cifar10); }),
            QString::fromStdString("cannot open " + m_dir.path().toStdString() +
                                   ": is a directory"));
    }

private:
    std::string file(const char* name) const { return m_dir.filePath(name).toStdString(); }

    QTemporaryDir m_dir;
};

QTEST_APPLESS_MAIN(TestCifarReader)
#include "TestCifarReader.moc"
