// safetensors reader and writer: round trips, the exact error for each kind of corrupt file, and
// no crash on any truncation or header mutation.
#include "engine/io/Safetensors.h"
#include "support/TestFiles.h"

#include <QTemporaryDir>
#include <QtTest>

#include <cstring>
#include <functional>
#include <numeric>

using namespace qs::io;

namespace {

// The message of the FormatError that `f` throws; a marker string for no or another exception.
QString errorOf(const std::function<void()>& f) {
    try {
        f();
    } catch (const FormatError& e) {
        return QString::fromStdString(e.what());
    } catch (const std::exception& e) {
        return QStringLiteral("wrong exception type: ") + QString::fromStdString(e.what());
    }
    return QStringLiteral("no exception");
}

constexpr uint64_t kActualLength = ~uint64_t(0);

// A file image with the given header text, declared header length and zero-filled data buffer.
QByteArray rawFile(const QByteArray& header, int dataBytes,
                   uint64_t declaredLength = kActualLength) {
    const uint64_t n = declaredLength == kActualLength ? uint64_t(header.size()) : declaredLength;
    QByteArray out(8, '\0');
    std::memcpy(out.data(), &n, 8);
    return out + header + QByteArray(dataBytes, '\0');
}

std::vector<uint8_t> toBytes(const QByteArray& a) {
    return std::vector<uint8_t>(a.begin(), a.end());
}

template <typename T>
TensorEntry entry(const std::string& name, DType dtype, std::vector<int64_t> shape,
                  const std::vector<T>& values) {
    return TensorEntry{name, dtype, std::move(shape), values.data(), values.size() * sizeof(T)};
}

}  // namespace

class TestSafetensors : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init() { QVERIFY(m_dir.isValid()); }

    void roundTripKeepsDtypesShapesBytesAndMetadata() {
        const std::vector<float> f32 = {1.5f, -2.f, 3.25f, 0.f, 1e-3f, 7.f};
        const std::vector<double> f64 = {3.141592653589793};
        const std::vector<int64_t> i64 = {-1, 0, int64_t(1) << 40};
        const std::vector<int32_t> i32 = {7, -8};
        const std::vector<int16_t> i16 = {-300, 300};
        const std::vector<int8_t> i8 = {-128, 127, 0, 1};
        const std::vector<uint8_t> u8 = {0, 255, 17};
        const std::vector<uint16_t> f16 = {0x3c00, 0xc000};
        const std::vector<uint16_t> bf16 = {0x3f80, 0x4000, 0x4040, 0x4080};
        const std::vector<uint8_t> flags = {1, 0, 1};
        const std::vector<float> none;
        const std::vector<TensorEntry> tensors = {
            entry("fc.weight", DType::F32, {2, 3}, f32), entry("scalar", DType::F64, {}, f64),
            entry("empty", DType::F32, {0, 4}, none),    entry("step", DType::I64, {3}, i64),
            entry("i32", DType::I32, {2}, i32),          entry("i16", DType::I16, {2, 1}, i16),
            entry("codes", DType::I8, {1, 2, 2}, i8),    entry("u8", DType::U8, {3}, u8),
            entry("half", DType::F16, {2}, f16),         entry("brain", DType::BF16, {2, 2}, bf16),
            entry("mask", DType::BOOL, {3}, flags),
        };
        const std::map<std::string, std::string> meta = {{"format", "pt"},
                                                         {"spec", R"({"bits": 4})"}};
        const std::string path = file("model.safetensors");
        writeSafetensors(path, tensors, meta);

        const SafetensorsFile st = SafetensorsFile::load(path);
        QCOMPARE(st.context(), path);
        QCOMPARE(st.tensors().size(), tensors.size());
        QVERIFY(st.metadata() == meta);
        for (const TensorEntry& e : tensors) {
            const TensorInfo* t = st.find(e.name);
            QVERIFY2(t, e.name.c_str());
            QCOMPARE(t->dtype, e.dtype);
            QVERIFY(t->shape == e.shape);
            QCOMPARE(t->byteSize(), e.byteSize);
            QCOMPARE(t->numel() * dtypeSize(t->dtype), e.byteSize);
            if (e.byteSize > 0) {
                QCOMPARE(std::memcmp(st.data(*t), e.data, e.byteSize), 0);
            }
        }
        QCOMPARE(st.find("scalar")->numel(), std::size_t(1));
        QCOMPARE(st.find("empty")->numel(), std::size_t(0));
        QVERIFY(st.find("missing") == nullptr);
        // Offsets follow the order the tensors were given in; tensors() is sorted by them.
        QCOMPARE(st.tensors().front().name, std::string("fc.weight"));
        for (std::size_t i = 1; i < st.tensors().size(); ++i) {
            QVERIFY(st.tensors()[i - 1].end == st.tensors()[i].begin);
        }
        QVERIFY(!QFile::exists(QString::fromStdString(path + ".tmp")));
    }

    void headerIsPaddedWithSpacesToAMultipleOfEight() {
        const std::vector<float> v = {1.f};
        for (const char* name : {"a", "ab", "abc", "abcd", "abcde", "abcdef", "abcdefg"}) {
            const std::string path = file("pad.safetensors");
            writeSafetensors(path, {entry(name, DType::F32, {1}, v)});
            const std::vector<uint8_t> bytes = qs::test::readBytes(path);
            uint64_t n = 0;
            std::memcpy(&n, bytes.data(), 8);
            QCOMPARE(n % 8, uint64_t(0));
            QCOMPARE(bytes.size(), 8 + n + sizeof(float));
            const std::string header(bytes.begin() + 8, bytes.begin() + 8 + std::ptrdiff_t(n));
            QVERIFY(header.find_last_not_of(' ') == header.find_last_of('}'));
            QCOMPARE(SafetensorsFile::load(path).find(name)->byteSize(), sizeof(float));
        }
    }

    void readerAcceptsEmptyFileWithPaddedHeader() {
        const SafetensorsFile st = SafetensorsFile::parse(toBytes(rawFile("{}      ", 0)));
        QVERIFY(st.tensors().empty());
        QVERIFY(st.metadata().empty());
        QCOMPARE(st.context(), std::string("<buffer>"));
    }

    void corruptFileIsRejected_data() {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("expected");
        const QByteArray f32x1 = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";

        QTest::newRow("shorter than the length field")
            << QByteArray(5, '\0') << "5 bytes, too short for the 8-byte header length";
        QTest::newRow("header length past end of file")
            << rawFile("{}", 0, 100) << "header length 100 is past the end of the 10-byte file";
        QTest::newRow("header length over 100 MB")
            << rawFile("{}", 0, 200'000'000)
            << "header length 200000000 exceeds the 100000000-byte limit";
        QTest::newRow("header length near 2^64")
            << rawFile("{}", 0, kActualLength - 1) << "header length 18446744073709551614 exceeds";
        QTest::newRow("header not JSON") << rawFile("{not json", 0) << "header is not valid JSON";
        QTest::newRow("header not UTF-8")
            << rawFile("{\"\xff\xfe\":{}}", 0) << "header is not valid JSON";
        QTest::newRow("header JSON array")
            << rawFile("[1, 2]", 0) << "header must be a JSON object, got array";
        QTest::newRow("header nested too deep")
            << rawFile(R"({"a":{"dtype":"F32","shape":[[[[1]]]],"data_offsets":[0,4]}})", 4)
            << "header nests deeper than a safetensors header can";
        QTest::newRow("entry an array") << rawFile(R"({"a":[1,2,3]})", 0)
                                        << "tensor 'a': entry must be a JSON object, got array";
        QTest::newRow("shape with 2000 dims")
            << rawFile(R"({"a":{"dtype":"U8","shape":[)" + QByteArray("1,").repeated(1999) +
                           R"(1],"data_offsets":[0,1]}})",
                       1)
            << "tensor 'a': an array holds more than 1024 values";
        QTest::newRow("duplicate tensor name")
            << rawFile(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                       R"("a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                       2)
            << "tensor 'a': duplicate tensor name";
        QTest::newRow("entry not an object")
            << rawFile(R"({"a":5})", 0) << "tensor 'a': entry must be a JSON object, got number";
        QTest::newRow("missing dtype") << rawFile(R"({"a":{"shape":[1],"data_offsets":[0,4]}})", 4)
                                       << "tensor 'a': missing \"dtype\"";
        QTest::newRow("missing shape")
            << rawFile(R"({"a":{"dtype":"F32","data_offsets":[0,4]}})", 4)
            << "tensor 'a': missing \"shape\"";
        QTest::newRow("missing data_offsets") << rawFile(R"({"a":{"dtype":"F32","shape":[1]}})", 4)
                                              << "tensor 'a': missing \"data_offsets\"";
        QTest::newRow("dtype not a string")
            << rawFile(R"({"a":{"dtype":4,"shape":[1],"data_offsets":[0,4]}})", 4)
            << "tensor 'a': dtype must be a string, got 4";
        QTest::newRow("unknown dtype")
            << rawFile(R"({"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}})", 1)
            << "tensor 'a': unknown dtype 'F8_E4M3'";
        QTest::newRow("shape not an array")
            << rawFile(R"({"a":{"dtype":"F32","shape":"1","data_offsets":[0,4]}})", 4)
            << "tensor 'a': shape must be an array, got string";
        QTest::newRow("fractional dim")
            << rawFile(R"({"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", 4)
            << "tensor 'a': shape must hold integers, got 1.5";
        QTest::newRow("negative dim")
            << rawFile(R"({"a":{"dtype":"F32","shape":[2,-1],"data_offsets":[0,4]}})", 4)
            << "tensor 'a': negative dimension -1 in shape [2, -1]";
        QTest::newRow("shape product overflows")
            << rawFile(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],)"
                       R"("data_offsets":[0,4]}})",
                       4)
            << "tensor 'a': shape [4294967296, 4294967296] x F32 overflows the byte count";
        QTest::newRow("data_offsets one element")
            << rawFile(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4]}})", 4)
            << "tensor 'a': data_offsets must be an array [begin, end], got 1 elements";
        QTest::newRow("data_offsets negative")
            << rawFile(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", 4)
            << "tensor 'a': data_offsets must hold non-negative integers, got -4";
        QTest::newRow("shape x dtype differs from span")
            << rawFile(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", 4)
            << "tensor 'a': shape [2] x F32 needs 8 bytes but data_offsets span 4";
        QTest::newRow("begin after end")
            << rawFile(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", 8)
            << "tensor 'a': data_offsets begin 8 is past end 4";
        QTest::newRow("end past data buffer")
            << rawFile(f32x1, 3) << "tensor 'a': data_offsets end 4 is past the 3-byte data buffer";
        QTest::newRow("overlapping spans")
            << rawFile(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                       R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                       12)
            << "tensors 'a' and 'b' have overlapping data_offsets";
        QTest::newRow("gap between tensors")
            << rawFile(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                       R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                       12)
            << "data buffer bytes [4, 8) belong to no tensor";
        QTest::newRow("bytes after last tensor")
            << rawFile(f32x1, 6) << "data buffer bytes [4, 6) belong to no tensor";
        QTest::newRow("metadata value not a string")
            << rawFile(R"({"__metadata__":{"bits":4}})", 0)
            << "__metadata__ value for 'bits' must be a string, got number";
        QTest::newRow("metadata not an object")
            << rawFile(R"({"__metadata__":["a"]})", 0)
            << "__metadata__ must be an object of strings, got array";
    }

    void corruptFileIsRejected() {
        QFETCH(QByteArray, bytes);
        QFETCH(QString, expected);
        const std::string path = file("bad.safetensors");
        qs::test::writeBytes(path, toBytes(bytes));
        const QString error = errorOf([&] { SafetensorsFile::load(path); });
        QVERIFY2(error.startsWith(QString::fromStdString(path) + ": "), qPrintable(error));
        QVERIFY2(error.contains(expected), qPrintable(error));
    }

    void missingFileNamesThePath() {
        const std::string path = file("nowhere.safetensors");
        const QString error = errorOf([&] { SafetensorsFile::load(path); });
        QVERIFY2(error.contains(QString::fromStdString(path) + ": cannot open"), qPrintable(error));
    }

    void everyTruncationThrowsFormatError() {
        const std::vector<float> a = {1.f, 2.f, 3.f};
        const std::vector<int64_t> b = {4, 5};
        const std::vector<uint8_t> none;
        const std::string path = file("whole.safetensors");
        writeSafetensors(path,
                         {entry("a", DType::F32, {3}, a), entry("b", DType::I64, {2}, b),
                          entry("z", DType::U8, {0}, none)},
                         {{"k", "v"}});
        const std::vector<uint8_t> whole = qs::test::readBytes(path);
        QCOMPARE(SafetensorsFile::parse(whole).tensors().size(), std::size_t(3));
        for (std::size_t len = 0; len < whole.size(); ++len) {
            const std::vector<uint8_t> prefix(whole.begin(), whole.begin() + std::ptrdiff_t(len));
            const QString error = errorOf([&] { SafetensorsFile::parse(prefix, "cut"); });
            QVERIFY2(error.startsWith("cut: "), qPrintable(QString::number(len) + ": " + error));
        }
    }

    void mutatedHeaderNeverCrashes() {
        const std::vector<float> a = {1.f, 2.f};
        const std::vector<int32_t> b = {3};
        const std::string path = file("mutate.safetensors");
        writeSafetensors(path, {entry("a", DType::F32, {2}, a), entry("b", DType::I32, {1}, b)},
                         {{"k", "v"}});
        const std::vector<uint8_t> whole = qs::test::readBytes(path);
        uint64_t n = 0;
        std::memcpy(&n, whole.data(), 8);
        for (std::size_t pos = 0; pos < 8 + n; ++pos) {
            for (uint8_t value :
                 {0x00, 0x01, 0x20, 0x22, 0x2d, 0x30, 0x39, 0x5b, 0x7b, 0x7d, 0xff}) {
                std::vector<uint8_t> bytes = whole;
                bytes[pos] = value;
                const QString error = errorOf([&] { SafetensorsFile::parse(bytes, "m"); });
                QVERIFY2(error == "no exception" || error.startsWith("m: "),
                         qPrintable(QString::number(pos) + ": " + error));
            }
        }
    }

    void writerRejectsBadInput_data() {
        QTest::addColumn<int>("which");
        QTest::addColumn<QString>("expected");
        QTest::newRow("byte size below shape") << 0
                                               << "tensor 'w': shape [2, 2] x F32 needs 16 "
                                                  "bytes but 12 were given";
        QTest::newRow("duplicate name") << 1 << "tensor 'w': duplicate tensor name";
        QTest::newRow("reserved name") << 2 << "tensor '__metadata__': the name is reserved";
        QTest::newRow("negative dim") << 3 << "tensor 'w': negative dimension -2 in shape [-2]";
        QTest::newRow("null data") << 4 << "tensor 'w': no data pointer for 4 bytes";
    }

    void writerRejectsBadInput() {
        QFETCH(int, which);
        QFETCH(QString, expected);
        const std::vector<float> v = {1.f, 2.f, 3.f, 4.f};
        std::vector<TensorEntry> tensors;
        switch (which) {
            case 0:
                tensors = {{"w", DType::F32, {2, 2}, v.data(), 12}};
                break;
            case 1:
                tensors = {entry("w", DType::F32, {4}, v), entry("w", DType::F32, {4}, v)};
                break;
            case 2:
                tensors = {entry("__metadata__", DType::F32, {4}, v)};
                break;
            case 3:
                tensors = {{"w", DType::F32, {-2}, v.data(), 8}};
                break;
            case 4:
                tensors = {{"w", DType::F32, {1}, nullptr, 4}};
                break;
        }
        const std::string path = file("out.safetensors");
        const QString error = errorOf([&] { writeSafetensors(path, tensors); });
        QVERIFY2(error.startsWith(QString::fromStdString(path)), qPrintable(error));
        QVERIFY2(error.contains(expected), qPrintable(error));
        QVERIFY(!QFile::exists(QString::fromStdString(path)));
        QVERIFY(!QFile::exists(QString::fromStdString(path + ".tmp")));
    }

    void writerReplacesExistingFileAndReportsIoErrors() {
        const std::vector<float> v = {1.f};
        const std::string path = file("replace.safetensors");
        qs::test::writeBytes(path, {1, 2, 3});
        writeSafetensors(path, {entry("x", DType::F32, {1}, v)});
        QVERIFY(SafetensorsFile::load(path).find("x"));

        const std::string unwritable = file("no/such/dir/out.safetensors");
        const QString error = errorOf([&] { writeSafetensors(unwritable, {}); });
        QVERIFY2(error.contains("out.safetensors.tmp: cannot create"), qPrintable(error));
    }

    void dtypeNamesRoundTrip() {
        for (DType t : {DType::F64, DType::F32, DType::F16, DType::BF16, DType::I64, DType::I32,
                        DType::I16, DType::I8, DType::U8, DType::BOOL}) {
            QCOMPARE(dtypeFromName(dtypeName(t), "ctx"), t);
        }
        QCOMPARE(dtypeSize(DType::BF16), std::size_t(2));
        QCOMPARE(dtypeSize(DType::I64), std::size_t(8));
        QCOMPARE(errorOf([] { dtypeFromName("f32", "ctx"); }), QString("ctx: unknown dtype 'f32'"));
    }

private:
    std::string file(const char* name) const { return m_dir.filePath(name).toStdString(); }
    std::string file(const std::string& name) const { return file(name.c_str()); }

    QTemporaryDir m_dir;
};

QTEST_APPLESS_MAIN(TestSafetensors)
#include "TestSafetensors.moc"
