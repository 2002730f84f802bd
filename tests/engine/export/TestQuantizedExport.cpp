// The quantized safetensors export and the encodings JSON, on checkpoints of real (tiny) runs:
// ResNet-20 at W4A4 per channel, W3A3 and W2A2, a float ResNet, and a BERT at W2A8 with
// group-wise ranges, a 4-bit word embedding and attention quantizers. Export then import gives
// the app's logits and accuracy; the file is smaller than float; the encodings hold the step
// sizes; truncated, foreign and tampered files are refused naming the file and the tensor.
#include "QuantizedExportCases.h"

#include "engine/export/QuantizedExport.h"
#include "engine/io/Safetensors.h"
#include "engine/session/RunSpec.h"
#include "engine/session/Session.h"
#include "support/TestFiles.h"
#include "support/TinyBertSpec.h"
#include "support/TinyDataset.h"
#include "support/TinyText.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

#include <cstring>
#include <map>

using namespace qs;
using namespace qs::session;

namespace {

/// Float32 values of a tensor in a safetensors file (torch-free).
std::vector<float> floatsOf(const io::SafetensorsFile& file, const std::string& name) {
    const io::TensorInfo* t = file.find(name);
    if (t == nullptr || t->dtype != io::DType::F32) {
        return {};
    }
    std::vector<float> out(t->numel());
    std::memcpy(out.data(), file.data(*t), t->byteSize());
    return out;
}

}  // namespace

class TestQuantizedExport : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void exportThenImportGivesTheAppsModel_data();
    void exportThenImportGivesTheAppsModel();
    void packedCodesAreWhatTheFormatSays();
    void encodingsHoldTheStepSizes();
    void badFilesAreRefused_data();
    void badFilesAreRefused();

private:
    std::string train(const RunSpec& spec);
    std::string path(const char* name) const { return m_dir.filePath(name).toStdString(); }

    QTemporaryDir m_dir;
    std::map<std::string, std::string> m_checkpoints;  ///< by case name
};

std::string TestQuantizedExport::train(const RunSpec& spec) {
    Session session;
    session.start(spec, {path("runs.sqlite"), path("out")});
    const Finished f = session.wait();
    if (f.status != "finished") {
        qWarning("%s: %s", f.status.c_str(), f.error.c_str());
        return {};
    }
    return f.checkpoint;
}

void TestQuantizedExport::initTestCase() {
    QVERIFY(m_dir.isValid());
    const std::string images = path("tiny");
    std::filesystem::create_directories(images);
    test::writeTinyDataset(images);
    const std::string glue = path("glue");
    test::writeTinySst2(glue);

    RunSpec resnet;
    resnet.name = "float";
    resnet.data.dataset = "mnist";
    resnet.data.path = images;
    resnet.data.augment = false;
    resnet.data.batchSize = 32;
    resnet.method.name = "fp";
    resnet.optim.lr = 0.05;
    resnet.optim.epochs = 1;
    resnet.threads = 1;
    m_checkpoints["resnet float"] = train(resnet);
    QVERIFY(!m_checkpoints["resnet float"].empty());
    for (const auto& [name, bits, perChannel] :
         {std::tuple{"resnet W4A4 per channel", 4, true}, std::tuple{"resnet W3A3", 3, false},
          std::tuple{"resnet W2A2", 2, false}}) {
        RunSpec q = resnet;
        q.name = name;
        q.method.name = "lsq";
        q.quant.weightBits = q.quant.actBits = bits;
        q.quant.perChannel = perChannel;
        q.optim.lr = 0.01;
        q.initCheckpoint = m_checkpoints["resnet float"];
        m_checkpoints[name] = train(q);
        QVERIFY2(!m_checkpoints[name].empty(), name);
    }

    RunSpec bert = test::tinyBertSpec(glue, "bert");
    bert.method.name = "lsq";
    bert.quant.weightBits = 2;
    bert.quant.actBits = 8;
    bert.quant.groupRows = 8;
    bert.quant.embeddingBits = 4;
    bert.optim.lr = 1e-3;
    bert.optim.epochs = 1;
    m_checkpoints["bert W2A8 group-wise"] = train(bert);
    QVERIFY(!m_checkpoints["bert W2A8 group-wise"].empty());
}

void TestQuantizedExport::exportThenImportGivesTheAppsModel_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<int>("quantizedWeights");
    // ResNet-20: 19 convs + 2 shortcut convs + fc, all quantized (first/last at 8 bits); the
    // float run none. BERT: embedding + 2 x 6 linear + pooler; the classifier stays float.
    QTest::newRow("resnet float") << QStringLiteral("resnet float") << 0;
    QTest::newRow("resnet W4A4 per channel") << QStringLiteral("resnet W4A4 per channel") << 22;
    QTest::newRow("resnet W3A3") << QStringLiteral("resnet W3A3") << 22;
    QTest::newRow("resnet W2A2") << QStringLiteral("resnet W2A2") << 22;
    QTest::newRow("bert W2A8 group-wise") << QStringLiteral("bert W2A8 group-wise") << 14;
}

void TestQuantizedExport::exportThenImportGivesTheAppsModel() {
    QFETCH(QString, name);
    QFETCH(int, quantizedWeights);
    const std::string out = path("export.safetensors");
    const cases::RoundTrip r = cases::exportAndImport(m_checkpoints.at(name.toStdString()), out);
    QVERIFY2(r.maxLogitDiff >= 0.0 && r.maxLogitDiff <= 1e-5,
             qPrintable(QString::number(r.maxLogitDiff)));
    QCOMPARE(r.importedAccuracy, r.accuracy);
    QCOMPARE(r.quantizedTensors, quantizedWeights);
    QCOMPARE(r.exportBytes, qint64(QFile(QString::fromStdString(out)).size()));
    QCOMPARE(r.sha256.size(), std::size_t(64));
    if (quantizedWeights > 0) {
        // Codes instead of float weights: a fraction of the float size (first/last layers and
        // BERT's embedding rows keep it well above the bit ratio on models this small).
        QVERIFY2(r.exportBytes < r.floatBytes / 2,
                 qPrintable(QStringLiteral("%1 vs %2 float").arg(r.exportBytes).arg(r.floatBytes)));
    }
}

void TestQuantizedExport::packedCodesAreWhatTheFormatSays() {
    const std::string out = path("w2.safetensors");
    exporting::exportQuantizedSafetensors(m_checkpoints.at("resnet W2A2"), out);
    const io::SafetensorsFile file = io::SafetensorsFile::load(out);
    QCOMPARE(QString::fromStdString(file.metadata().at("format")),
             QStringLiteral("quantscape-quantized-1"));
    QVERIFY(RunSpec::fromJson(file.metadata().at("spec")).isQuantized());
    // layer1.0.conv1: 16x16x3x3 = 2,304 codes of 2 bits, four per byte.
    const io::TensorInfo* codes = file.find("layer1.0.conv1.weight.codes");
    QVERIFY(codes);
    QCOMPARE(codes->dtype, io::DType::U8);
    QCOMPARE(codes->shape, (std::vector<int64_t>{576}));
    QVERIFY(!file.find("layer1.0.conv1.weight"));
    QCOMPARE(floatsOf(file, "layer1.0.conv1.weight.scale").size(), std::size_t(1));
    QVERIFY(file.find("layer1.0.conv1.input.scale"));
    // The first conv is 8-bit (first/last rule): one int8 code per weight, in its shape.
    const io::TensorInfo* stem = file.find("conv1.weight.codes");
    QVERIFY(stem);
    QCOMPARE(stem->dtype, io::DType::I8);
    QCOMPARE(stem->shape, (std::vector<int64_t>{16, 1, 3, 3}));
    // Float tensors stay: BatchNorm, biases; no quantizer tensors or optimizer state.
    QVERIFY(file.find("bn1.running_var"));
    QVERIFY(file.find("fc.bias"));
    for (const auto& t : file.tensors()) {
        QVERIFY2(t.name.find("_quantizer.") == std::string::npos, t.name.c_str());
        QVERIFY2(t.name.rfind("optimizer/", 0) != 0, t.name.c_str());
    }
    const QJsonObject q =
        QJsonDocument::fromJson(QByteArray::fromStdString(file.metadata().at("quantization")))
            .object();
    const QJsonObject entry = q.value(QStringLiteral("layer1.0.conv1.weight")).toObject();
    QCOMPARE(entry.value(QStringLiteral("bits")).toInt(), 2);
    QCOMPARE(entry.value(QStringLiteral("storage_bits")).toInt(), 2);
    QCOMPARE(entry.value(QStringLiteral("granularity")).toString(), QStringLiteral("tensor"));
    const QJsonArray layers =
        QJsonDocument::fromJson(QByteArray::fromStdString(file.metadata().at("layers"))).array();
    QCOMPARE(layers.size(), 22);
}

void TestQuantizedExport::encodingsHoldTheStepSizes() {
    const std::string checkpoint = m_checkpoints.at("resnet W4A4 per channel");
    const std::string out = path("encodings.json");
    const exporting::ExportSummary s = exporting::exportEncodings(checkpoint, out);
    QCOMPARE(s.format, std::string("encodings"));
    QFile f(QString::fromStdString(out));
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QJsonObject doc = QJsonDocument::fromJson(f.readAll()).object();
    const QJsonObject params = doc.value(QStringLiteral("param_encodings")).toObject();
    const QJsonObject acts = doc.value(QStringLiteral("activation_encodings")).toObject();
    QCOMPARE(params.size(), 22);
    QCOMPARE(acts.size(), 22);
    const io::SafetensorsFile ck = io::SafetensorsFile::load(checkpoint);
    // Per channel: one encoding per output channel, each the checkpoint's step size.
    const QJsonArray conv = params.value(QStringLiteral("layer2.0.conv1.weight")).toArray();
    const std::vector<float> steps = floatsOf(ck, "layer2.0.conv1.weight_quantizer.step_size");
    QCOMPARE(conv.size(), qsizetype(steps.size()));
    QCOMPARE(conv.size(), 32);
    for (int i = 0; i < conv.size(); ++i) {
        const QJsonObject e = conv[i].toObject();
        QCOMPARE(e.value(QStringLiteral("bitwidth")).toInt(), 4);
        QCOMPARE(e.value(QStringLiteral("offset")).toInt(), -8);
        QCOMPARE(e.value(QStringLiteral("is_symmetric")).toString(), QStringLiteral("True"));
        QCOMPARE(float(e.value(QStringLiteral("scale")).toDouble()), steps[std::size_t(i)]);
        QCOMPARE(float(e.value(QStringLiteral("min")).toDouble()), -8.0f * steps[std::size_t(i)]);
        QCOMPARE(float(e.value(QStringLiteral("max")).toDouble()), 7.0f * steps[std::size_t(i)]);
    }
    // A post-ReLU input: unsigned, offset 0, 4 bits up to 15 steps.
    const QJsonObject input =
        acts.value(QStringLiteral("layer1.0.conv1.input")).toArray().first().toObject();
    QCOMPARE(input.value(QStringLiteral("is_symmetric")).toString(), QStringLiteral("False"));
    QCOMPARE(input.value(QStringLiteral("offset")).toInt(), 0);
    const float inStep = floatsOf(ck, "layer1.0.conv1.input_quantizer.step_size").at(0);
    QCOMPARE(float(input.value(QStringLiteral("max")).toDouble()), 15.0f * inStep);

    // BERT: the attention matmul inputs are activations too; group-wise weights per row.
    const std::string bertOut = path("bert-encodings.json");
    exporting::exportEncodings(m_checkpoints.at("bert W2A8 group-wise"), bertOut);
    QFile bf(QString::fromStdString(bertOut));
    QVERIFY(bf.open(QIODevice::ReadOnly));
    const QJsonObject bdoc = QJsonDocument::fromJson(bf.readAll()).object();
    const QJsonObject bacts = bdoc.value(QStringLiteral("activation_encodings")).toObject();
    QVERIFY(bacts.contains(QStringLiteral("bert.encoder.layer.1.attention.self.probs")));
    QCOMPARE(bacts.value(QStringLiteral("bert.encoder.layer.1.attention.self.probs"))
                 .toArray()
                 .first()
                 .toObject()
                 .value(QStringLiteral("is_symmetric"))
                 .toString(),
             QStringLiteral("False"));
    const QJsonObject bparams = bdoc.value(QStringLiteral("param_encodings")).toObject();
    QCOMPARE(bparams.value(QStringLiteral("bert.encoder.layer.0.attention.self.query.weight"))
                 .toArray()
                 .size(),
             32);
    QCOMPARE(bdoc.value(QStringLiteral("excluded_layers")).toArray(),
             (QJsonArray{QStringLiteral("classifier")}));
    // A float checkpoint has no encodings.
    QVERIFY_THROWS_EXCEPTION(std::runtime_error,
                             exporting::exportEncodings(m_checkpoints.at("resnet float"), out));
}

void TestQuantizedExport::badFilesAreRefused_data() {
    QTest::addColumn<QString>("kind");
    QTest::addColumn<QString>("error");
    QTest::newRow("truncated") << QStringLiteral("truncated")
                               << QStringLiteral("cannot read the quantized export: ");
    QTest::newRow("a training checkpoint")
        << QStringLiteral("checkpoint")
        << QStringLiteral(
               ": not a quantized export (format 'quantscape-checkpoint-1', "
               "expected 'quantscape-quantized-1')");
    QTest::newRow("codes cut short")
        << QStringLiteral("short codes")
        << QStringLiteral(
               ": tensor 'layer1.0.conv1.weight.codes': code packing: 2304 codes of 2 "
               "bits take 576 bytes, not 575");
    QTest::newRow("a missing scale")
        << QStringLiteral("no scale")
        << QStringLiteral(": tensor 'layer2.0.conv2.weight.scale' is missing");
}

void TestQuantizedExport::badFilesAreRefused() {
    QFETCH(QString, kind);
    QFETCH(QString, error);
    const std::string good = path("good.safetensors");
    exporting::exportQuantizedSafetensors(m_checkpoints.at("resnet W2A2"), good);
    std::string bad = path("bad.safetensors");
    if (kind == QLatin1String("truncated")) {
        std::vector<uint8_t> bytes = test::readBytes(good);
        bytes.resize(bytes.size() - 100);
        test::writeBytes(bad, bytes);
    } else if (kind == QLatin1String("checkpoint")) {
        bad = m_checkpoints.at("resnet W2A2");
    } else {
        // Rewrite the export with one tensor changed, through the torch-free writer.
        const io::SafetensorsFile file = io::SafetensorsFile::load(good);
        std::vector<io::TensorEntry> entries;
        for (const io::TensorInfo& t : file.tensors()) {
            io::TensorEntry e{t.name, t.dtype, t.shape, file.data(t), t.byteSize()};
            if (kind == QLatin1String("short codes") && t.name == "layer1.0.conv1.weight.codes") {
                e.shape = {int64_t(t.byteSize() - 1)};
                e.byteSize = t.byteSize() - 1;
            }
            if (kind == QLatin1String("no scale") && t.name == "layer2.0.conv2.weight.scale") {
                continue;
            }
            entries.push_back(e);
        }
        io::writeSafetensors(bad, entries, file.metadata());
    }
    const QString message = QString::fromStdString(cases::importError(bad));
    QVERIFY2(message.contains(error), qPrintable(message));
    QVERIFY2(message.contains(QString::fromStdString(bad)), qPrintable(message));
}

QTEST_GUILESS_MAIN(TestQuantizedExport)
#include "TestQuantizedExport.moc"
