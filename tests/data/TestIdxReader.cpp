// IDX (MNIST / Fashion-MNIST) reader: raw and gzip round trips, the folder layout, the exact error
// for each kind of bad file, and the real Fashion-MNIST test set when it is installed.
#include "engine/data/ImageSet.h"
#include "support/TestFiles.h"

#include <QDir>
#include <QTemporaryDir>
#include <QtTest>

#include <cstdio>
#include <functional>
#include <set>

using namespace qs::data;
using qs::test::appendBigEndian32;

namespace {

constexpr uint32_t kImageMagic = 0x00000803;
constexpr uint32_t kLabelMagic = 0x00000801;
const char* const kFashionMnist = "/usr/share/datasets/fashion-mnist";

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

// An IDX image file: header for `count` x rows x cols, then `pixels` as given (any length).
QByteArray idxImages(uint32_t count, uint32_t rows, uint32_t cols,
                     const std::vector<uint8_t>& pixels, uint32_t magic = kImageMagic) {
    std::vector<uint8_t> out;
    for (uint32_t v : {magic, count, rows, cols}) {
        appendBigEndian32(out, v);
    }
    out.insert(out.end(), pixels.begin(), pixels.end());
    return QByteArray(reinterpret_cast<const char*>(out.data()), qsizetype(out.size()));
}

// Pixels for n images of the given size, distinct enough to catch misordering.
std::vector<uint8_t> pattern(std::size_t n) {
    std::vector<uint8_t> p(n);
    for (std::size_t i = 0; i < n; ++i) {
        p[i] = uint8_t(i * 7 + 3);
    }
    return p;
}

QByteArray idxLabels(const std::vector<uint8_t>& labels, uint32_t count,
                     uint32_t magic = kLabelMagic) {
    std::vector<uint8_t> out;
    appendBigEndian32(out, magic);
    appendBigEndian32(out, count);
    out.insert(out.end(), labels.begin(), labels.end());
    return QByteArray(reinterpret_cast<const char*>(out.data()), qsizetype(out.size()));
}

QByteArray idxLabels(const std::vector<uint8_t>& labels) {
    return idxLabels(labels, uint32_t(labels.size()));
}

std::vector<uint8_t> toBytes(const QByteArray& a) {
    return std::vector<uint8_t>(a.begin(), a.end());
}

// How a test file is put on disk.
enum class Store { Raw, Gzip, Missing, CorruptGzip, TruncatedGzip };

}  // namespace

Q_DECLARE_METATYPE(Store)

class TestIdxReader : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init() { QVERIFY(m_dir.isValid()); }

    void roundTrip_data() {
        QTest::addColumn<bool>("gzipImages");
        QTest::addColumn<bool>("gzipLabels");
        QTest::newRow("raw") << false << false;
        QTest::newRow("gzip") << true << true;
        QTest::newRow("gzip images, raw labels") << true << false;
    }

    void roundTrip() {
        QFETCH(bool, gzipImages);
        QFETCH(bool, gzipLabels);
        const std::vector<uint8_t> pixels = pattern(3 * 4 * 5);
        const std::vector<uint8_t> labels = {0, 9, 5};
        const std::string images =
            put("img", toBytes(idxImages(3, 4, 5, pixels)), gzipImages ? Store::Gzip : Store::Raw);
        const std::string labelFile =
            put("lbl", toBytes(idxLabels(labels)), gzipLabels ? Store::Gzip : Store::Raw);

        const ImageSet set = readIdx(images, labelFile);
        QCOMPARE(set.count, int64_t(3));
        QCOMPARE(set.channels, int64_t(1));
        QCOMPARE(set.height, int64_t(4));
        QCOMPARE(set.width, int64_t(5));
        QCOMPARE(set.numClasses, 10);
        QVERIFY(set.pixels == pixels);
        QVERIFY(set.labels == std::vector<int64_t>({0, 9, 5}));
    }

    void folderFindsRawAndGzipNames() {
        const QString dir = m_dir.filePath("fashion");
        QVERIFY(QDir().mkpath(dir));
        const std::string d = dir.toStdString();
        qs::test::writeBytes(d + "/train-images-idx3-ubyte",
                             toBytes(idxImages(2, 2, 2, pattern(8))));
        qs::test::writeBytes(d + "/train-labels-idx1-ubyte", toBytes(idxLabels({1, 2})));
        qs::test::writeGzip(d + "/t10k-images-idx3-ubyte.gz",
                            toBytes(idxImages(1, 3, 3, pattern(9))));
        qs::test::writeGzip(d + "/t10k-labels-idx1-ubyte.gz", toBytes(idxLabels({7})));

        const ImageSet train = readIdxFolder(d, true);
        QCOMPARE(train.count, int64_t(2));
        QVERIFY(train.labels == std::vector<int64_t>({1, 2}));
        const ImageSet test = readIdxFolder(d, false);
        QCOMPARE(test.count, int64_t(1));
        QCOMPARE(test.height, int64_t(3));
        QVERIFY(test.pixels == pattern(9));
        QVERIFY(test.labels == std::vector<int64_t>({7}));
    }

    void folderNamesTheMissingFile() {
        const std::string d = m_dir.path().toStdString();
        qs::test::writeBytes(d + "/train-images-idx3-ubyte", toBytes(idxImages(1, 1, 1, {0})));
        const QString error = errorOf([&] { readIdxFolder(d, true); });
        QCOMPARE(error, QString::fromStdString("folder " + d +
                                               ": missing train-labels-idx1-ubyte (or "
                                               "train-labels-idx1-ubyte.gz)"));
    }

    void badInputIsRejected_data() {
        QTest::addColumn<QByteArray>("images");
        QTest::addColumn<Store>("imagesStore");
        QTest::addColumn<QByteArray>("labels");
        QTest::addColumn<bool>("blameLabels");
        // %1 is the file the error must name (images, or labels where blamed), %2 the labels.
        QTest::addColumn<QString>("expected");
        const QByteArray good = idxImages(3, 2, 2, pattern(12));
        const QByteArray goodLabels = idxLabels({1, 2, 3});

        QTest::newRow("missing images file") << good << Store::Missing << goodLabels << false
                                             << "cannot open %1: No such file or directory";
        QTest::newRow("empty images file")
            << QByteArray() << Store::Raw << goodLabels << false
            << "%1: file is 0 bytes, too short for an IDX image header (16 bytes)";
        QTest::newRow("images header cut short")
            << good.left(10) << Store::Raw << goodLabels << false
            << "%1: file is 10 bytes, too short for an IDX image header (16 bytes)";
        QTest::newRow("label file given as images")
            << idxImages(3, 2, 2, pattern(12), kLabelMagic) << Store::Raw << goodLabels << false
            << "%1: not an IDX image file (magic 0x00000801, expected 0x00000803)";
        QTest::newRow("images file given as labels")
            << good << Store::Raw << good << true
            << "%1: not an IDX label file (magic 0x00000803, expected 0x00000801)";
        QTest::newRow("zero images") << idxImages(0, 2, 2, {}) << Store::Raw << idxLabels({}, 0)
                                     << false << "%1: dimension 0 is 0, expected 1..100000000";
        QTest::newRow("zero rows") << idxImages(3, 0, 2, {}) << Store::Raw << goodLabels << false
                                   << "%1: dimension 1 is 0, expected 1..16384";
        QTest::newRow("absurd columns")
            << idxImages(3, 2, 0xffffffffu, {}) << Store::Raw << goodLabels << false
            << "%1: dimension 2 is 4294967295, expected 1..16384";
        QTest::newRow("truncated images")
            << good.left(good.size() - 5) << Store::Raw << goodLabels << false
            << "%1: header says 3 images of 2x2 but the file holds 1 (7 of 12 data bytes)";
        QTest::newRow("truncated gzip images") << good << Store::TruncatedGzip << goodLabels
                                               << false << "%1: gzip stream is truncated";
        QTest::newRow("corrupt gzip images") << good << Store::CorruptGzip << goodLabels << false
                                             << "%1: corrupt gzip stream: invalid block type";
        QTest::newRow("trailing bytes after images")
            << good + "xyz" << Store::Raw << goodLabels << false
            << "%1: header says 3 images of 2x2 but the file has 3 trailing bytes after them";
        QTest::newRow("truncated labels")
            << good << Store::Raw << idxLabels({1, 2}, 3) << true
            << "%1: header says 3 labels but the file holds 2 (2 of 3 data bytes)";
        QTest::newRow("trailing bytes after labels")
            << good << Store::Raw << idxLabels({1, 2, 3, 4}, 3) << true
            << "%1: header says 3 labels but the file has 1 trailing bytes after them";
        QTest::newRow("more images than labels") << good << Store::Raw << idxLabels({1, 2}) << false
                                                 << "%1 has 3 images but %2 has 2 labels";
        QTest::newRow("label 10 of 10 classes")
            << good << Store::Raw << idxLabels({1, 2, 10}) << true
            << "%1: label 10 at index 2 is out of range [0, 10)";
    }

    void badInputIsRejected() {
        QFETCH(QByteArray, images);
        QFETCH(Store, imagesStore);
        QFETCH(QByteArray, labels);
        QFETCH(bool, blameLabels);
        QFETCH(QString, expected);
        const std::string imagesPath = put("bad-images", toBytes(images), imagesStore);
        const std::string labelsPath = put("bad-labels", toBytes(labels), Store::Raw);
        const QString first = QString::fromStdString(blameLabels ? labelsPath : imagesPath);
        const QString second = QString::fromStdString(labelsPath);
        const QString error = errorOf([&] { readIdx(imagesPath, labelsPath); });
        QCOMPARE(error, QString(expected).replace("%1", first).replace("%2", second));
    }

    void realFashionMnistTestSet() {
        if (!QDir(kFashionMnist).exists()) {
            QSKIP("Fashion-MNIST is not installed in /usr/share/datasets/fashion-mnist");
        }
        const ImageSet set = readIdxFolder(kFashionMnist, false);
        QCOMPARE(set.count, int64_t(10000));
        QCOMPARE(set.height, int64_t(28));
        QCOMPARE(set.width, int64_t(28));
        QCOMPARE(set.pixels.size(), std::size_t(10000 * 28 * 28));
        QCOMPARE(set.labels.size(), std::size_t(10000));
        const std::set<int64_t> classes(set.labels.begin(), set.labels.end());
        QCOMPARE(classes.size(), std::size_t(10));
    }

private:
    // Writes `bytes` under `name` in the way `store` says and returns the path.
    std::string put(const char* name, const std::vector<uint8_t>& bytes, Store store) {
        const std::string path = m_dir.filePath(name).toStdString();
        switch (store) {
            case Store::Raw:
                qs::test::writeBytes(path, bytes);
                break;
            case Store::Missing:
                std::remove(path.c_str());
                break;
            case Store::Gzip:
            case Store::CorruptGzip:
            case Store::TruncatedGzip: {
                qs::test::writeGzip(path, bytes);
                std::vector<uint8_t> gz = qs::test::readBytes(path);
                if (store == Store::TruncatedGzip) {
                    gz.resize(gz.size() / 2);
                } else if (store == Store::CorruptGzip) {
                    // Past the 10-byte gzip header: a block type that does not exist.
                    gz[10] = 0xff;
                }
                qs::test::writeBytes(path, gz);
                break;
            }
        }
        return path;
    }

    QTemporaryDir m_dir;
};

QTEST_APPLESS_MAIN(TestIdxReader)
#include "TestIdxReader.moc"
