// BERT: Hugging Face parameter paths and shapes, one encoder layer against torch's
// TransformerEncoderLayer, and HF checkpoint folders (round trip and every kind of bad input).
#include "BertCases.h"

#include <QTemporaryDir>
#include <QtTest>

using namespace qs::test::bert;

Q_DECLARE_METATYPE(qs::test::bert::Damage)

namespace {

using Shape = std::vector<int64_t>;

// HF's BertForSequenceClassification(config).state_dict() for vocab 50, hidden 32, 2 layers,
// intermediate 64, 16 positions, 2 token types, 2 labels; written out by hand, in HF's order.
std::vector<Parameter> expectedParameters() {
    std::vector<Parameter> p = {
        {"bert.embeddings.word_embeddings.weight", {50, 32}},
        {"bert.embeddings.position_embeddings.weight", {16, 32}},
        {"bert.embeddings.token_type_embeddings.weight", {2, 32}},
        {"bert.embeddings.LayerNorm.weight", {32}},
        {"bert.embeddings.LayerNorm.bias", {32}},
    };
    for (const char* l : {"0", "1"}) {
        const std::string layer = std::string("bert.encoder.layer.") + l + ".";
        const std::vector<Parameter> perLayer = {
            {layer + "attention.self.query.weight", {32, 32}},
            {layer + "attention.self.query.bias", {32}},
            {layer + "attention.self.key.weight", {32, 32}},
            {layer + "attention.self.key.bias", {32}},
            {layer + "attention.self.value.weight", {32, 32}},
            {layer + "attention.self.value.bias", {32}},
            {layer + "attention.output.dense.weight", {32, 32}},
            {layer + "attention.output.dense.bias", {32}},
            {layer + "attention.output.LayerNorm.weight", {32}},
            {layer + "attention.output.LayerNorm.bias", {32}},
            {layer + "intermediate.dense.weight", {64, 32}},
            {layer + "intermediate.dense.bias", {64}},
            {layer + "output.dense.weight", {32, 64}},
            {layer + "output.dense.bias", {32}},
            {layer + "output.LayerNorm.weight", {32}},
            {layer + "output.LayerNorm.bias", {32}},
        };
        p.insert(p.end(), perLayer.begin(), perLayer.end());
    }
    p.push_back({"bert.pooler.dense.weight", {32, 32}});
    p.push_back({"bert.pooler.dense.bias", {32}});
    p.push_back({"classifier.weight", {2, 32}});
    p.push_back({"classifier.bias", {2}});
    return p;
}

QString folder(const QTemporaryDir& tmp) {
    return tmp.path() + "/bert";
}

}  // namespace

class TestBert : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void parameterPathsAndShapes() {
        const Structure s = describe(2);
        const std::vector<Parameter> expected = expectedParameters();
        QCOMPARE(s.parameters.size(), expected.size());
        for (std::size_t i = 0; i < expected.size(); ++i) {
            QCOMPARE(s.parameters[i].path, expected[i].path);
            QVERIFY2(s.parameters[i].shape == expected[i].shape, expected[i].path.c_str());
        }
        // position_ids is a non-persistent buffer in HF: not part of the state dict here either.
        QVERIFY(s.buffers.empty());
    }

    void regressionHead() {
        const Structure s = describe(1);
        QCOMPARE(s.parameters.back().path, std::string("classifier.bias"));
        QCOMPARE(s.parameters.back().shape, Shape{1});
        QCOMPARE(s.logitsShape, (Shape{3, 1}));
    }

    void logitsShape() { QCOMPARE(describe(2).logitsShape, (Shape{3, 2})); }

    void quantLayersInForwardOrder() {
        std::vector<std::string> expected{"bert.embeddings.word_embeddings"};
        for (const char* l : {"0", "1"}) {
            const std::string layer = std::string("bert.encoder.layer.") + l + ".";
            for (const char* m :
                 {"attention.self.query", "attention.self.key", "attention.self.value",
                  "attention.output.dense", "intermediate.dense", "output.dense"}) {
                expected.push_back(layer + m);
            }
        }
        expected.push_back("bert.pooler.dense");
        expected.push_back("classifier");
        QCOMPARE(describe(2).quantLayers, expected);
    }

    void encoderLayerMatchesTorch_data() {
        QTest::addColumn<bool>("padding");
        QTest::newRow("no padding") << false;
        QTest::newRow("padding mask vs src_key_padding_mask") << true;
    }
    void encoderLayerMatchesTorch() {
        QFETCH(bool, padding);
        const double diff = encoderLayerMaxDiff(padding);
        QVERIFY2(diff < 1e-5, qPrintable(QString("max abs difference %1").arg(diff)));
    }

    void paddedPositionsAreInvisible() {
        const double diff = paddingInvarianceMaxDiff();
        QVERIFY2(diff < 1e-6, qPrintable(QString("max abs difference %1").arg(diff)));
    }

    void dropoutOnlyInTraining() {
        const DropoutBehaviour d = dropoutBehaviour();
        QVERIFY(d.trainingDiffers);
        QVERIFY(!d.evalDiffers);
    }

    void tooManyTokens() {
        QCOMPARE(forwardError(16), std::string());
        QCOMPARE(forwardError(17),
                 std::string("BERT: 17 tokens, but 1 to 16 are allowed (max_position_embeddings)"));
    }

    void quantizedAt8BitsStaysCloseToFloat() {
        const QuantizedRun run = quantizedRun(8);
        QCOMPARE(run.quantLayers, 1 + 2 * 6 + 2);  // word embedding, 6 per layer, pooler, head
        // LSQ's init s = 2 mean|v| / sqrt(Qp) is coarse even at 8 bits (s ~ mean|v| / 5.6), so
        // 29 quantized tensors in a row give a few percent (4.6% here), not min-max's ~0.5%.
        QVERIFY2(run.relativeDiff > 0.0 && run.relativeDiff < 0.1,
                 qPrintable(QString("relative difference %1").arg(run.relativeDiff)));
        const double at4 = quantizedRun(4).relativeDiff;
        QVERIFY2(run.relativeDiff < 0.5 * at4,
                 qPrintable(QString("8 bits %1, 4 bits %2").arg(run.relativeDiff).arg(at4)));
        // A weight and an input step size per layer; the word embedding has no input slot.
        QCOMPARE(run.stepSizes, 2 * run.quantLayers - 1);
        QCOMPARE(run.stepSizesWithGrad, run.stepSizes);
        QVERIFY(run.floatAfterReset);
    }

    void quantizedAt2BitsDiffers() {
        const QuantizedRun run = quantizedRun(2);
        QVERIFY2(run.relativeDiff > 0.3,
                 qPrintable(QString("relative difference %1").arg(run.relativeDiff)));
        QCOMPARE(run.stepSizesWithGrad, run.stepSizes);
    }

    void hfFolderLoadsIntoQuantizableModel() {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        QVERIFY(quantizedSaveLoad(folder(tmp).toStdString()));
    }

    void quantizerTensorsInFolderAreIgnoredWithNote() {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        const std::vector<std::string> notes =
            loadNotesWithQuantizerTensor(folder(tmp).toStdString());
        QCOMPARE(notes,
                 std::vector<std::string>{"ignored 1 quantizer tensor(s) (the model loads float)"});
    }

    void saveAndLoadGiveIdenticalLogits_data() {
        QTest::addColumn<qint64>("labels");
        QTest::newRow("classification, 2 labels") << qint64(2);
        QTest::newRow("regression, 1 label") << qint64(1);
    }
    void saveAndLoadGiveIdenticalLogits() {
        QFETCH(qint64, labels);
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        QCOMPARE(roundTripMaxDiff(folder(tmp).toStdString(), labels), 0.0);
    }

    void hfExtrasAreIgnoredWithNotes() {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        const std::vector<std::string> notes = loadNotesWithExtras(folder(tmp).toStdString());
        const std::vector<std::string> expected = {
            "ignored tensor 'bert.embeddings.position_ids' (buffer)",
            "ignored tensor 'cls.predictions.bias' (pretraining head)",
            "renamed legacy LayerNorm.gamma/beta to weight/bias"};
        QCOMPARE(notes, expected);
    }

    // config.json as HF writes it for a fine-tuned bert-base-uncased (SST-2): no num_labels,
    // no problem_type.
    void parsesHuggingFaceConfig() {
        const char* text = R"({
  "_name_or_path": "bert-base-uncased",
  "architectures": ["BertForSequenceClassification"],
  "attention_probs_dropout_prob": 0.1,
  "classifier_dropout": null,
  "gradient_checkpointing": false,
  "hidden_act": "gelu",
  "hidden_dropout_prob": 0.1,
  "hidden_size": 768,
  "id2label": {"0": "negative", "1": "positive"},
  "initializer_range": 0.02,
  "intermediate_size": 3072,
  "label2id": {"negative": 0, "positive": 1},
  "layer_norm_eps": 1e-12,
  "max_position_embeddings": 512,
  "model_type": "bert",
  "num_attention_heads": 12,
  "num_hidden_layers": 12,
  "pad_token_id": 0,
  "position_embedding_type": "absolute",
  "torch_dtype": "float32",
  "transformers_version": "4.36.2",
  "type_vocab_size": 2,
  "use_cache": true,
  "vocab_size": 30522
})";
        const ConfigSummary c = parseConfig(text);
        QCOMPARE(c.error, std::string());
        QCOMPARE(c.layers, int64_t(12));
        QCOMPARE(c.hidden, int64_t(768));
        QCOMPARE(c.labels, int64_t(2));
        QCOMPARE(c.regression, false);
        QCOMPARE(c.layerNormEps, 1e-12);
        QCOMPARE(c.classifierDropout, 0.1);
        // One label without problem_type is regression (STS-B), as HF infers it.
        std::string stsb = text;
        stsb.replace(stsb.find(R"({"0": "negative", "1": "positive"})"), 34, R"({"0": "LABEL_0"})");
        const ConfigSummary r = parseConfig(stsb);
        QCOMPARE(r.error, std::string());
        QCOMPARE(r.labels, int64_t(1));
        QCOMPARE(r.regression, true);
    }

    void badFolder_data() {
        QTest::addColumn<Damage>("damage");
        QTest::addColumn<QString>("file");  // relative to the folder
        // after "<folder>/<file>: "; ending in "...": that prefix only
        QTest::addColumn<QString>("error");
        QTest::newRow("intact") << Damage::None << QString() << QString();
        QTest::newRow("truncated model.safetensors")
            << Damage::TruncatedWeights << "model.safetensors"
            << "tensor 'classifier.weight': data_offsets end 81792 is past the 81700-byte data "
               "buffer";
        QTest::newRow("classifier.weight with the wrong shape")
            << Damage::WrongShape << "model.safetensors"
            << "tensor 'classifier.weight' has shape [3, 32], expected [2, 32]";
        QTest::newRow("missing tensor")
            << Damage::MissingTensor << "model.safetensors"
            << "tensor 'bert.encoder.layer.1.output.dense.bias' missing (expected shape [32])";
        QTest::newRow("unknown extra tensor")
            << Damage::UnknownTensor << "model.safetensors"
            << "unexpected tensor 'bert.encoder.layer.2.output.dense.bias' (not part of "
               "BertForSequenceClassification)";
        QTest::newRow("config.json is not JSON")
            << Damage::BadConfigJson << "config.json"
            << "not valid JSON: [json.exception.parse_error.101] parse error at line 17...";
        QTest::newRow("config.json hidden_size is a string")
            << Damage::BadConfigField << "config.json"
            << "field 'hidden_size': expected a positive integer, got \"32\"";
        QTest::newRow("config.json without num_hidden_layers")
            << Damage::MissingConfigField << "config.json"
            << "field 'num_hidden_layers': missing";
        QTest::newRow("config.json hidden_act gelu_new")
            << Damage::UnsupportedActivation << "config.json"
            << "field 'hidden_act': only \"gelu\" (exact erf GELU) is supported, got "
               "\"gelu_new\"";
        QTest::newRow("config.json 5 heads for hidden 32")
            << Damage::HeadsMismatch << "config.json"
            << "hidden_size (32) is not a multiple of num_attention_heads (5)";
        QTest::newRow("config.json multi-label problem")
            << Damage::MultiLabel << "config.json"
            << "field 'problem_type': expected \"single_label_classification\" or "
               "\"regression\", got \"multi_label_classification\"";
        QTest::newRow("no vocab.txt") << Damage::MissingVocab << "vocab.txt"
                                      << "not found";
    }
    void badFolder() {
        QFETCH(Damage, damage);
        QFETCH(QString, file);
        QFETCH(QString, error);
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        const std::string dir = folder(tmp).toStdString();
        const std::string message = loadError(dir, damage);
        if (file.isEmpty()) {
            QCOMPARE(message, std::string());
            return;
        }
        const std::string prefix = dir + "/" + file.toStdString() + ": ";
        QVERIFY2(message.rfind(prefix, 0) == 0, message.c_str());
        if (error.endsWith("...")) {
            const std::string start = prefix + error.chopped(3).toStdString();
            QVERIFY2(message.rfind(start, 0) == 0, message.c_str());
        } else {
            QCOMPARE(message, prefix + error.toStdString());
        }
    }
};

QTEST_APPLESS_MAIN(TestBert)
#include "TestBert.moc"
