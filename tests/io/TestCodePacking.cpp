// The torch-free pieces of the quantized export: packing integer codes at 2..8 bits (exact byte
// layout, random round trips with odd counts, out-of-range codes and wrong sizes refused) and
// the SHA-256 checksums exports and reports carry (FIPS 180-4 test vectors).
#include "engine/io/CodePacking.h"
#include "engine/io/Sha256.h"

#include <QTemporaryDir>
#include <QTest>

#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

using namespace qs::io;

class TestCodePacking : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void storageSizes() {
        QCOMPARE(storageBits(8), 8);
        QCOMPARE(storageBits(5), 8);
        QCOMPARE(storageBits(4), 4);
        QCOMPARE(storageBits(3), 4);
        QCOMPARE(storageBits(2), 2);
        QCOMPARE(packedSize(7, 8), std::size_t(7));
        QCOMPARE(packedSize(7, 4), std::size_t(4));
        QCOMPARE(packedSize(7, 3), std::size_t(4));
        QCOMPARE(packedSize(7, 2), std::size_t(2));
        QCOMPARE(packedSize(8, 2), std::size_t(2));
        QCOMPARE(packedSize(0, 2), std::size_t(0));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, storageBits(1));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, storageBits(9));
    }

    // The layout README documents: element i in byte i / k at bit (i % k) * w, low bits first,
    // two's complement.
    void exactLayout() {
        const std::vector<int8_t> two{-2, -1, 0, 1, 1};
        QCOMPARE(packCodes(two.data(), two.size(), 2),
                 (std::vector<uint8_t>{0x4E, 0x01}));  // 01 00 11 10 | 00 00 00 01
        const std::vector<int8_t> four{-8, 7, -1};
        QCOMPARE(packCodes(four.data(), four.size(), 4), (std::vector<uint8_t>{0x78, 0x0F}));
        const std::vector<int8_t> three{-4, 3};
        QCOMPARE(packCodes(three.data(), three.size(), 3), (std::vector<uint8_t>{0x3C}));
        const std::vector<int8_t> eight{-128, 127, -1};
        QCOMPARE(packCodes(eight.data(), eight.size(), 8),
                 (std::vector<uint8_t>{0x80, 0x7F, 0xFF}));
    }

    void randomRoundTrips_data() {
        QTest::addColumn<int>("bits");
        QTest::addColumn<int>("count");
        for (int bits : {2, 3, 4, 5, 8}) {
            for (int count : {1, 2, 3, 5, 8, 1001}) {
                QTest::addRow("%d bits, %d codes", bits, count) << bits << count;
            }
        }
    }
    void randomRoundTrips() {
        QFETCH(int, bits);
        QFETCH(int, count);
        std::mt19937 rng(uint32_t(bits * 7919 + count));
        std::uniform_int_distribution<int> draw(-(1 << (bits - 1)), (1 << (bits - 1)) - 1);
        std::vector<int8_t> codes(static_cast<std::size_t>(count));
        for (int8_t& c : codes) {
            c = int8_t(draw(rng));
        }
        const std::vector<uint8_t> packed = packCodes(codes.data(), codes.size(), bits);
        QCOMPARE(packed.size(), packedSize(codes.size(), bits));
        QCOMPARE(unpackCodes(packed.data(), packed.size(), codes.size(), bits), codes);
    }

    void badInputIsRefused() {
        const std::vector<int8_t> over{0, 2};
        try {
            packCodes(over.data(), over.size(), 2);
            QFAIL("a 2-bit code of 2 was packed");
        } catch (const std::invalid_argument& e) {
            QCOMPARE(std::string(e.what()),
                     std::string("code packing: code 2 at 1 is outside [-2, 1] for 2 bits"));
        }
        const std::vector<uint8_t> bytes{0x12, 0x34};
        try {
            unpackCodes(bytes.data(), 1, 5, 4);  // a truncated stream
            QFAIL("a truncated stream was unpacked");
        } catch (const std::invalid_argument& e) {
            QCOMPARE(std::string(e.what()),
                     std::string("code packing: 5 codes of 4 bits take 3 bytes, not 1"));
        }
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, unpackCodes(bytes.data(), 2, 3, 2));
    }

    void sha256Vectors() {
        QCOMPARE(sha256Hex(""),
                 std::string("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
        QCOMPARE(sha256Hex("abc"),
                 std::string("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
        QCOMPARE(sha256Hex(std::string(1000, 'a')),
                 std::string("41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3"));
        // Split updates give the same digest as one.
        Sha256 h;
        const std::string text(1000, 'a');
        for (std::size_t i = 0; i < text.size(); i += 77) {
            h.update(text.data() + i, std::min<std::size_t>(77, text.size() - i));
        }
        QCOMPARE(h.hexDigest(), sha256Hex(text));
    }

    void sha256OfFiles() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const std::string path = dir.filePath(QStringLiteral("f.bin")).toStdString();
        std::ofstream(path, std::ios::binary) << std::string(200000, 'a');
        QCOMPARE(sha256File(path), sha256Hex(std::string(200000, 'a')));
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, sha256File(path + ".missing"));
    }
};

QTEST_APPLESS_MAIN(TestCodePacking)
#include "TestCodePacking.moc"
