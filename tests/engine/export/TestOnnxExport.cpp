// ONNX export with QuantizeLinear/DequantizeLinear pairs: tiny checkpoints trained by the engine
// (ResNet-20 W4A4, ResNet-20 per-channel with one float layer, a 2-layer BERT at W2A8 with
// group-wise ranges and attention quantizers) are exported, passed through onnx.checker with
// full_check (Debian's python3-onnx), and read back: one QDQ pair per quantizer with the step
// sizes as scales, none on float layers, and the documented inputs and outputs.
#include "OnnxCases.h"

#include "engine/export/OnnxExport.h"
#include "engine/session/RunSpec.h"
#include "engine/session/Session.h"
#include "support/TinyBertSpec.h"
#include "support/TinyDataset.h"
#include "support/TinyText.h"

#include <QDir>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <stdexcept>

using namespace qs::session;
namespace onnxcase = qs::test::onnx;

namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

QString joined(const std::vector<std::string>& lines) {
    QStringList out;
    for (const std::string& l : lines) {
        out << QString::fromStdString(l);
    }
    return out.join(QStringLiteral("\n"));
}

}  // namespace

class TestOnnxExport : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();

    void exportPassesTheCheckerWithOnePairPerQuantizer_data();
    void exportPassesTheCheckerWithOnePairPerQuantizer();
    void resnetGraph();
    void perChannelScalesAndAFloatLayer();
    void bertGraph();
    void badInputsFailNamingTheFile();

private:
    RunSpec tinyResNet(const std::string& name) const;
    RunSpec tinyBert(const std::string& name) const;
    /// Trains the spec to the end; returns its last checkpoint ("" on failure, with `error`).
    std::string train(const RunSpec& spec, std::string& error) const;
    /// Exports a checkpoint to <tmp>/<name>.onnx and runs onnx.checker on it.
    qs::exporting::OnnxExportSummary exportChecked(const std::string& checkpoint,
                                                   const std::string& name);

    QTemporaryDir m_dir;
    std::string m_db;
    std::string m_out;
    std::string m_images;
    std::string m_glue;
    std::map<std::string, std::string> m_checkpoints;  ///< by test row name
};

void TestOnnxExport::initTestCase() {
    QVERIFY(m_dir.isValid());
    m_images = m_dir.filePath(QStringLiteral("tiny")).toStdString();
    QVERIFY(QDir().mkpath(QString::fromStdString(m_images)));
    qs::test::writeTinyDataset(m_images);
    m_glue = m_dir.filePath(QStringLiteral("glue")).toStdString();
    QVERIFY(QDir().mkpath(QString::fromStdString(m_glue)));
    qs::test::writeTinySst2(m_glue, {64, 32, 5});
    m_db = m_dir.filePath(QStringLiteral("runs.sqlite")).toStdString();
    m_out = m_dir.filePath(QStringLiteral("checkpoints")).toStdString();

    std::string error;
    // W4A4 with the default 8-bit first and last layers: 4-bit pairs with a Clip, 8-bit without.
    m_checkpoints["resnet20-w4a4"] = train(tinyResNet("resnet20-w4a4"), error);
    QVERIFY2(!m_checkpoints["resnet20-w4a4"].empty(), error.c_str());

    RunSpec perChannel = tinyResNet("resnet20-per-channel");
    perChannel.quant.perChannel = true;
    perChannel.quant.layers["layer2.1.conv1"] = LayerBits{0, 0};  // a float layer
    m_checkpoints["resnet20-per-channel"] = train(perChannel, error);
    QVERIFY2(!m_checkpoints["resnet20-per-channel"].empty(), error.c_str());

    m_checkpoints["bert-w2a8-groups"] = train(tinyBert("bert-w2a8-groups"), error);
    QVERIFY2(!m_checkpoints["bert-w2a8-groups"].empty(), error.c_str());
}

RunSpec TestOnnxExport::tinyResNet(const std::string& name) const {
    RunSpec s;
    s.name = name;
    s.model.arch = "resnet20";
    s.data.dataset = "mnist";
    s.data.path = m_images;
    s.data.augment = false;
    s.data.trainLimit = 64;
    s.data.testLimit = 32;
    s.data.batchSize = 32;
    s.data.evalBatchSize = 32;
    s.method.name = "lsq";
    s.quant.weightBits = 4;
    s.quant.actBits = 4;
    s.optim.lr = 0.05;
    s.optim.epochs = 1;
    s.seed = 3;
    s.threads = 1;
    return s;
}

RunSpec TestOnnxExport::tinyBert(const std::string& name) const {
    RunSpec s = qs::test::tinyBertSpec(m_glue, name);
    s.data.evalBatchSize = 32;
    s.method.name = "lsq";
    s.quant.weightBits = 2;
    s.quant.actBits = 8;  // the attention matmuls follow act_bits
    s.quant.groupRows = 8;
    s.optim.lr = 1e-3;
    s.optim.epochs = 1;
    return s;
}

std::string TestOnnxExport::train(const RunSpec& spec, std::string& error) const {
    Session session;
    SessionOptions o;
    o.dbPath = m_db;
    o.outDir = m_out;
    const int64_t id = session.start(spec, o);
    const Finished finished = session.wait();
    if (finished.status != "finished") {
        error = spec.name + ": " + finished.status + ": " + finished.error;
        return {};
    }
    return m_out + "/run-" + std::to_string(id) + "/last.safetensors";
}

qs::exporting::OnnxExportSummary TestOnnxExport::exportChecked(const std::string& checkpoint,
                                                               const std::string& name) {
    const std::string path = m_dir.filePath(QString::fromStdString(name + ".onnx")).toStdString();
    const qs::exporting::OnnxExportSummary summary = qs::exporting::exportOnnx(checkpoint, path);
    // Debian's python3-onnx (packaging/setup.sh): the reference checker, with shape and type
    // inference over the whole graph (full_check).
    QProcess checker;
    checker.setProcessChannelMode(QProcess::MergedChannels);
    checker.start(QString::fromUtf8(QS_ONNX_PYTHON),
                  {QStringLiteral("-c"),
                   QStringLiteral("import onnx, sys\n"
                                  "m = onnx.load(sys.argv[1])\n"
                                  "onnx.checker.check_model(m, full_check=True)\n"
                                  "print('onnx', onnx.__version__, 'ok')\n"),
                   QString::fromStdString(path)});
    if (!checker.waitForFinished(120000)) {
        throw std::runtime_error("onnx.checker did not finish: " +
                                 checker.errorString().toStdString());
    }
    const QString output = QString::fromUtf8(checker.readAll());
    if (checker.exitStatus() != QProcess::NormalExit || checker.exitCode() != 0) {
        throw std::runtime_error(path +
                                 ": onnx.checker failed (" QS_ONNX_PYTHON
                                 " needs python3-onnx, see packaging/setup.sh):\n" +
                                 output.toStdString());
    }
    return summary;
}

void TestOnnxExport::exportPassesTheCheckerWithOnePairPerQuantizer_data() {
    QTest::addColumn<QString>("row");
    QTest::newRow("resnet20 W4A4") << QStringLiteral("resnet20-w4a4");
    QTest::newRow("resnet20 per-channel, one float layer")
        << QStringLiteral("resnet20-per-channel");
    QTest::newRow("bert W2A8, groups of 8, attention") << QStringLiteral("bert-w2a8-groups");
}

void TestOnnxExport::exportPassesTheCheckerWithOnePairPerQuantizer() {
    QFETCH(QString, row);
    const std::string checkpoint = m_checkpoints[row.toStdString()];
    qs::exporting::OnnxExportSummary summary;
    try {
        summary = exportChecked(checkpoint, row.toStdString());
    } catch (const std::exception& e) {
        QFAIL(e.what());
    }
    const onnxcase::GraphReport r = onnxcase::inspect(summary.path, checkpoint);
    QVERIFY2(r.problems.empty(), qPrintable(joined(r.problems)));
    QCOMPARE(r.opset, int64_t(17));
    QCOMPARE(summary.opset, 17);
    QCOMPARE(r.irVersion, int64_t(8));
    QCOMPARE(summary.nodes, r.nodes);

    // One pair per quantizer: the checkpoint's step sizes, the rebuilt model's quantizers, the
    // graph's QuantizeLinear and DequantizeLinear nodes and the summary all agree.
    QVERIFY(r.checkpointQuantizers > 10);
    QCOMPARE(r.modelQuantizers, r.checkpointQuantizers);
    QCOMPARE(r.quantizeNodes, r.checkpointQuantizers);
    QCOMPARE(r.dequantizeNodes, r.checkpointQuantizers);
    QCOMPARE(int64_t(r.pairs.size()), r.checkpointQuantizers);
    QCOMPARE(summary.qdqPairs, r.checkpointQuantizers);
}

void TestOnnxExport::resnetGraph() {
    const std::string checkpoint = m_checkpoints["resnet20-w4a4"];
    const auto summary = exportChecked(checkpoint, "resnet-graph");
    const onnxcase::GraphReport r = onnxcase::inspect(summary.path, checkpoint);
    QVERIFY2(r.problems.empty(), qPrintable(joined(r.problems)));
    QCOMPARE(r.inputs, std::vector<std::string>{"input:float[batch,1,height,width]"});
    // MNIST-layout data: 10 classes (the tiny set uses the first 4).
    QVERIFY2(r.outputs == std::vector<std::string>{"logits:float[batch,10]"},
             qPrintable(joined(r.outputs)));
    // ResNet-20: 19 convs + 2 downsample convs + fc, each with a weight and an input quantizer.
    QCOMPARE(r.checkpointQuantizers, int64_t(2 * 22));
    QCOMPARE(r.opCounts.at("Conv"), int64_t(21));
    QCOMPARE(r.opCounts.at("BatchNormalization"), int64_t(21));
    QCOMPARE(r.opCounts.at("Gemm"), int64_t(1));

    // The stem sees the signed normalised image: int8 codes, 8 bits (auto first layer), no Clip.
    const onnxcase::Pair& stemIn = r.pairs.at("conv1.input_quantizer");
    QCOMPARE(stemIn.zeroPointType, std::string("int8"));
    QVERIFY(!stemIn.clipped);
    QCOMPARE(stemIn.quantizeInput, std::string("input"));
    QVERIFY(!r.pairs.at("fc.weight_quantizer").clipped);
    // A 4-bit weight: int8 codes clipped to [-8, 7], one scalar scale.
    const onnxcase::Pair& w = r.pairs.at("layer1.0.conv1.weight_quantizer");
    QCOMPARE(w.zeroPointType, std::string("int8"));
    QVERIFY(w.clipped);
    QCOMPARE(w.codeMin, int64_t(-8));
    QCOMPARE(w.codeMax, int64_t(7));
    QCOMPARE(w.scaleCount, int64_t(1));
    QVERIFY(!w.perAxis);
    QCOMPARE(w.quantizeInput, std::string("layer1.0.conv1.weight"));
    // conv2's input arrives before its ReLU: the unsigned 4-bit range [0, 15] applies it.
    const onnxcase::Pair& a = r.pairs.at("layer1.0.conv2.input_quantizer");
    QCOMPARE(a.zeroPointType, std::string("uint8"));
    QCOMPARE(a.codeMin, int64_t(0));
    QCOMPARE(a.codeMax, int64_t(15));
    // Every conv and fc weight is quantized; BatchNorm weights are not.
    QCOMPARE(int64_t(r.quantizedWeights.size()), int64_t(22));
    QVERIFY(contains(r.floatWeights, "bn1.weight"));
    QVERIFY(!contains(r.floatWeights, "fc.weight"));
}

void TestOnnxExport::perChannelScalesAndAFloatLayer() {
    const std::string checkpoint = m_checkpoints["resnet20-per-channel"];
    const auto summary = exportChecked(checkpoint, "resnet-per-channel");
    const onnxcase::GraphReport r = onnxcase::inspect(summary.path, checkpoint);
    QVERIFY2(r.problems.empty(), qPrintable(joined(r.problems)));
    // Per-channel weights: one scale per output channel along axis 0.
    const onnxcase::Pair& w = r.pairs.at("layer3.0.conv2.weight_quantizer");
    QVERIFY(w.perAxis);
    QCOMPARE(w.scaleCount, int64_t(64));
    QCOMPARE(r.pairs.at("layer1.0.conv1.weight_quantizer").scaleCount, int64_t(16));
    // Activations stay per tensor.
    QVERIFY(!r.pairs.at("layer3.0.conv2.input_quantizer").perAxis);
    QCOMPARE(r.pairs.at("layer3.0.conv2.input_quantizer").scaleCount, int64_t(1));
    // The float layer: no quantizer, no pair; its weight is read by the Conv directly.
    QCOMPARE(r.checkpointQuantizers, int64_t(2 * 21));
    QCOMPARE(r.pairs.count("layer2.1.conv1.weight_quantizer"), std::size_t(0));
    QCOMPARE(r.pairs.count("layer2.1.conv1.input_quantizer"), std::size_t(0));
    QVERIFY(contains(r.floatWeights, "layer2.1.conv1.weight"));
    QVERIFY(contains(r.quantizedWeights, "layer2.1.conv2.weight"));
    // conv2 of that block still applies its ReLU (fused into its unsigned quantizer).
    QCOMPARE(r.pairs.at("layer2.1.conv2.input_quantizer").zeroPointType, std::string("uint8"));
}

void TestOnnxExport::bertGraph() {
    const std::string checkpoint = m_checkpoints["bert-w2a8-groups"];
    const auto summary = exportChecked(checkpoint, "bert-graph");
    const onnxcase::GraphReport r = onnxcase::inspect(summary.path, checkpoint);
    QVERIFY2(r.problems.empty(), qPrintable(joined(r.problems)));
    QCOMPARE(r.inputs, (std::vector<std::string>{"input_ids:int64[batch,sequence]",
                                                 "token_type_ids:int64[batch,sequence]",
                                                 "attention_mask:int64[batch,sequence]"}));
    QCOMPARE(r.outputs, std::vector<std::string>{"logits:float[batch,2]"});
    // Per encoder layer 6 linear layers (weight + input) and 4 matmul inputs; the pooler's
    // weight and input; the word embedding's weight; the classifier stays float.
    QCOMPARE(r.checkpointQuantizers, int64_t(2 * (6 * 2 + 4) + 2 + 1));
    QCOMPARE(r.opCounts.at("LayerNormalization"), int64_t(1 + 2 * 2));
    QCOMPARE(r.opCounts.at("Erf"), int64_t(2));
    QCOMPARE(r.opCounts.at("Softmax"), int64_t(2));

    // Group-wise W2: 32 query rows in groups of 8 give 4 steps, written once per row.
    const onnxcase::Pair& query =
        r.pairs.at("bert.encoder.layer.0.attention.self.query.weight_quantizer");
    QVERIFY(query.perAxis);
    QCOMPARE(query.scaleCount, int64_t(32));
    QCOMPARE(query.codeMin, int64_t(-2));
    QCOMPARE(query.codeMax, int64_t(1));
    QCOMPARE(r.pairs.at("bert.encoder.layer.1.intermediate.dense.weight_quantizer").scaleCount,
             int64_t(64));
    // The word embedding is quantized and then gathered.
    QCOMPARE(r.pairs.at("bert.embeddings.word_embeddings.weight_quantizer").quantizeInput,
             std::string("bert.embeddings.word_embeddings.weight"));
    // Attention products: q, k, v signed, the probabilities unsigned, all 8 bits (no Clip).
    const std::string self = "bert.encoder.layer.1.attention.self.";
    for (const char* name : {"q_quantizer", "k_quantizer", "v_quantizer"}) {
        QCOMPARE(r.pairs.at(self + name).zeroPointType, std::string("int8"));
        QVERIFY(!r.pairs.at(self + name).clipped);
    }
    QCOMPARE(r.pairs.at(self + "probs_quantizer").zeroPointType, std::string("uint8"));
    QVERIFY(!r.pairs.at(self + "probs_quantizer").clipped);
    // Linear inputs (LayerNorm, GELU outputs) are signed.
    QCOMPARE(r.pairs.at("bert.encoder.layer.0.output.dense.input_quantizer").zeroPointType,
             std::string("int8"));
    // Float: the classifier, position and token-type embeddings.
    for (const char* name : {"classifier.weight", "bert.embeddings.position_embeddings.weight",
                             "bert.embeddings.token_type_embeddings.weight"}) {
        QVERIFY2(contains(r.floatWeights, name), name);
    }
    QCOMPARE(r.pairs.count("classifier.weight_quantizer"), std::size_t(0));
    QCOMPARE(r.pairs.count("classifier.input_quantizer"), std::size_t(0));
}

void TestOnnxExport::badInputsFailNamingTheFile() {
    const std::string missing = m_dir.filePath(QStringLiteral("none.safetensors")).toStdString();
    try {
        qs::exporting::exportOnnx(missing, m_dir.filePath(QStringLiteral("x.onnx")).toStdString());
        QFAIL("a missing checkpoint exported");
    } catch (const std::runtime_error& e) {
        QVERIFY2(std::string(e.what()).find(missing) != std::string::npos, e.what());
    }
    const std::string unwritable =
        m_dir.filePath(QStringLiteral("no-such-folder/model.onnx")).toStdString();
    try {
        qs::exporting::exportOnnx(m_checkpoints["resnet20-w4a4"], unwritable);
        QFAIL("an unwritable output path succeeded");
    } catch (const std::runtime_error& e) {
        QCOMPARE(std::string(e.what()), unwritable + ": cannot write");
    }
}

QTEST_GUILESS_MAIN(TestOnnxExport)
#include "TestOnnxExport.moc"
