// BERT end to end through the public Session API: a tiny BERT learns a tiny GLUE task written by
// the test (SST-2 layout) from scratch with a learnt vocabulary; every method (lsq, squat, nt,
// ptq) quantizes it from that checkpoint with word-embedding and attention-matmul quantizers
// and a float classifier; group-wise ranges and distillation inside the network work; a
// regression task (STS-B layout) records Pearson/Spearman; landscapes and Hessian analyses run
// on a BERT checkpoint.
#include "engine/analysis/Hessian.h"
#include "engine/analysis/Landscape.h"
#include "engine/io/Safetensors.h"
#include "engine/session/RunSpec.h"
#include "engine/session/Session.h"
#include "engine/store/RunStore.h"
#include "support/TinyBertSpec.h"
#include "support/TinyText.h"

#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <cmath>

using namespace qs::session;
using qs::store::RunStore;

namespace {

struct RunResult {
    int64_t id = 0;
    Finished finished;
};

double finalMetric(const RunResult& r, const std::string& key) {
    auto it = r.finished.finalMetrics.find(key);
    return it == r.finished.finalMetrics.end() ? std::nan("") : it->second;
}

QString describe(const RunResult& r) {
    return QStringLiteral("status %1, error \"%2\"")
        .arg(QString::fromStdString(r.finished.status), QString::fromStdString(r.finished.error));
}

}  // namespace

class TestBertTrainer : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();

    void floatBertLearnsTheTaskFromScratch();
    void methodsQuantizeBert_data();
    void methodsQuantizeBert();
    void groupWiseRangesAndDistillationInside();
    void regressionTaskRecordsCorrelations();
    void landscapeAndHessianOfABertCheckpoint();
    void badTextRunsFailClearly_data();
    void badTextRunsFailClearly();

private:
    RunSpec tinyBert(const std::string& name, const std::string& task = "SST-2") const;
    RunResult runToEnd(const RunSpec& spec) const;
    std::string checkpoint(int64_t id) const {
        return m_out + "/run-" + std::to_string(id) + "/last.safetensors";
    }
    /// The finished float run (trained once, on first use).
    const RunResult& floatRun();

    QTemporaryDir m_dir;
    std::string m_glue;
    std::string m_db;
    std::string m_out;
    RunResult m_float;
};

void TestBertTrainer::initTestCase() {
    QVERIFY(m_dir.isValid());
    m_glue = m_dir.filePath(QStringLiteral("glue")).toStdString();
    qs::test::writeTinySst2(m_glue);
    qs::test::writeTinyStsb(m_glue);
    m_db = m_dir.filePath(QStringLiteral("runs.sqlite")).toStdString();
    m_out = m_dir.filePath(QStringLiteral("checkpoints")).toStdString();
}

RunSpec TestBertTrainer::tinyBert(const std::string& name, const std::string& task) const {
    RunSpec s = qs::test::tinyBertSpec(m_glue, name);
    s.data.task = task;
    s.logEvery = 5;
    s.stateEvery = 10;
    return s;
}

RunResult TestBertTrainer::runToEnd(const RunSpec& spec) const {
    Session session;
    SessionOptions o;
    o.dbPath = m_db;
    o.outDir = m_out;
    RunResult r;
    r.id = session.start(spec, o);
    r.finished = session.wait();
    return r;
}

const RunResult& TestBertTrainer::floatRun() {
    if (m_float.id == 0) {
        m_float = runToEnd(tinyBert("bert-float"));
    }
    return m_float;
}

void TestBertTrainer::floatBertLearnsTheTaskFromScratch() {
    const RunResult& r = floatRun();
    QVERIFY2(r.finished.status == "finished", qPrintable(describe(r)));
    // Balanced classes, chance is 50 %: the sentiment word decides, so a working BERT is far
    // above it after a few epochs.
    QVERIFY2(finalMetric(r, "eval/acc") >= 0.9,
             qPrintable(QString::number(finalMetric(r, "eval/acc"))));
    const auto store = RunStore::open(m_db);
    const auto losses = store->metrics(r.id, "train/loss");
    QVERIFY(losses.size() >= 4);
    QVERIFY2(
        losses.back().value < 0.5 * losses.front().value,
        qPrintable(QStringLiteral("%1 -> %2").arg(losses.front().value).arg(losses.back().value)));
    QCOMPARE(store->metrics(r.id, "eval/acc").size(), std::size_t(4));

    // The checkpoint keeps the learnt vocabulary (analyses and warm starts tokenize with it) and
    // holds HF-named float tensors, no quantizer.
    const auto file = qs::io::SafetensorsFile::load(checkpoint(r.id));
    const auto vocab = file.metadata().find("vocabulary");
    QVERIFY(vocab != file.metadata().end());
    QVERIFY(vocab->second.rfind("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n", 0) == 0);
    QVERIFY(vocab->second.find("\ngreat\n") != std::string::npos);
    QVERIFY(file.find("bert.encoder.layer.1.attention.self.query.weight"));
    QVERIFY(file.find("bert.embeddings.word_embeddings.weight"));
    QCOMPARE(file.find("bert.embeddings.word_embeddings.weight")->shape,
             (std::vector<int64_t>{200, 32}));
    for (const auto& t : file.tensors()) {
        QVERIFY2(t.name.find("_quantizer.") == std::string::npos, t.name.c_str());
    }
}

void TestBertTrainer::methodsQuantizeBert_data() {
    QTest::addColumn<QString>("method");
    QTest::newRow("lsq") << QStringLiteral("lsq");
    QTest::newRow("squat") << QStringLiteral("squat");
    QTest::newRow("nt") << QStringLiteral("nt");
    QTest::newRow("ptq") << QStringLiteral("ptq");
}

void TestBertTrainer::methodsQuantizeBert() {
    QFETCH(QString, method);
    const RunResult& fp = floatRun();
    QVERIFY2(fp.finished.status == "finished", qPrintable(describe(fp)));
    RunSpec s = tinyBert("bert-" + method.toStdString());
    s.method.name = method.toStdString();
    s.quant.weightBits = 4;
    s.quant.actBits = 8;
    s.optim.lr = 3e-4;
    s.optim.epochs = 1;
    s.optim.warmupEpochs = 0.1;
    s.initCheckpoint = checkpoint(fp.id);
    const RunResult r = runToEnd(s);
    QVERIFY2(r.finished.status == "finished", qPrintable(describe(r)));
    // W4A8 keeps most of what the float model learnt (a wide margin: seconds of training).
    QVERIFY2(finalMetric(r, "eval/acc") >= 0.75,
             qPrintable(QString::number(finalMetric(r, "eval/acc"))));

    // Quantizers where ALGORITHMS.md section 3 puts them: linear weights and inputs, the word
    // embedding, both attention matmuls; the classifier stays float by default.
    const auto file = qs::io::SafetensorsFile::load(checkpoint(r.id));
    for (const char* name : {
             "bert.embeddings.word_embeddings.weight_quantizer.step_size",
             "bert.encoder.layer.0.attention.self.query.weight_quantizer.step_size",
             "bert.encoder.layer.0.attention.self.query.input_quantizer.step_size",
             "bert.encoder.layer.1.output.dense.weight_quantizer.step_size",
             "bert.encoder.layer.0.attention.self.q_quantizer.step_size",
             "bert.encoder.layer.0.attention.self.k_quantizer.step_size",
             "bert.encoder.layer.1.attention.self.probs_quantizer.step_size",
             "bert.encoder.layer.1.attention.self.v_quantizer.step_size",
         }) {
        QVERIFY2(file.find(name), name);
    }
    QVERIFY(!file.find("classifier.weight_quantizer.step_size"));
    QVERIFY(!file.find("bert.embeddings.position_embeddings.weight_quantizer.step_size"));

    // The layer table: BERT's names, the embedding at 4 bits without an input, the classifier
    // float.
    const auto store = RunStore::open(m_db);
    const auto states = store->layerStates(r.id);
    QVERIFY(!states.empty());
    const int64_t last = states.back().step;
    std::map<std::string, qs::store::LayerStateRow> at;
    for (const auto& row : states) {
        if (row.step == last) {
            at[row.layer] = row;
        }
    }
    QCOMPARE(at.size(), std::size_t(1 + 2 * 6 + 2));  // embedding, 6 per layer, pooler, classifier
    QCOMPARE(at["bert.embeddings.word_embeddings"].weightBits, 4);
    QCOMPARE(at["bert.embeddings.word_embeddings"].actBits, 0);
    QCOMPARE(at["bert.encoder.layer.1.intermediate.dense"].weightBits, 4);
    QCOMPARE(at["bert.encoder.layer.1.intermediate.dense"].actBits, 8);
    QCOMPARE(at["classifier"].weightBits, 0);
    QVERIFY(at["bert.encoder.layer.0.attention.self.key"].weightError > 0.0);
}

void TestBertTrainer::groupWiseRangesAndDistillationInside() {
    const RunResult& fp = floatRun();
    QVERIFY2(fp.finished.status == "finished", qPrintable(describe(fp)));
    RunSpec s = tinyBert("bert-groups-kd");
    s.method.name = "lsq";
    s.quant.weightBits = 2;
    s.quant.actBits = 8;
    s.quant.groupRows = 8;
    s.quant.embeddingBits = 8;
    s.method.distill.enabled = true;
    s.method.distill.hiddenWeight = 1.0;
    s.method.distill.attentionWeight = 0.1;
    s.optim.lr = 3e-4;
    s.optim.epochs = 1;
    s.initCheckpoint = checkpoint(fp.id);
    const RunResult r = runToEnd(s);
    QVERIFY2(r.finished.status == "finished", qPrintable(describe(r)));

    const auto file = qs::io::SafetensorsFile::load(checkpoint(r.id));
    // Q-BERT's groups: 32 rows of query in groups of 8 give 4 step sizes; 64 rows of the
    // intermediate layer give 8; the embedding and classifier have no groups.
    const auto* query =
        file.find("bert.encoder.layer.0.attention.self.query.weight_quantizer.step_size");
    QVERIFY(query);
    QCOMPARE(int64_t(query->numel()), int64_t(4));
    const auto* inter =
        file.find("bert.encoder.layer.0.intermediate.dense.weight_quantizer.step_size");
    QVERIFY(inter);
    QCOMPARE(int64_t(inter->numel()), int64_t(8));
    QCOMPARE(
        int64_t(file.find("bert.embeddings.word_embeddings.weight_quantizer.step_size")->numel()),
        int64_t(1));

    const auto store = RunStore::open(m_db);
    const auto inside = store->metrics(r.id, "distill/inside_loss");
    QVERIFY(!inside.empty());
    QVERIFY(std::all_of(inside.begin(), inside.end(),
                        [](const auto& m) { return std::isfinite(m.value) && m.value > 0.0; }));
    QVERIFY(!store->metrics(r.id, "distill/soft_loss").empty());
}

void TestBertTrainer::regressionTaskRecordsCorrelations() {
    RunSpec s = tinyBert("bert-stsb", "STS-B");
    // Regression reaches the targets' scale later than classification finds the sign.
    s.optim.epochs = 12;
    const RunResult r = runToEnd(s);
    QVERIFY2(r.finished.status == "finished", qPrintable(describe(r)));
    // No accuracy for a regression; the task's correlations instead, well above zero (one word
    // decides the score).
    QVERIFY(std::isnan(finalMetric(r, "eval/acc")));
    QVERIFY2(finalMetric(r, "eval/pearson") > 0.5,
             qPrintable(QString::number(finalMetric(r, "eval/pearson"))));
    QVERIFY(finalMetric(r, "eval/spearman") > 0.5);
    const auto store = RunStore::open(m_db);
    QCOMPARE(store->metrics(r.id, "eval/pearson").size(), std::size_t(12));
    QVERIFY(store->metrics(r.id, "eval/acc").empty());
    QVERIFY(store->metrics(r.id, "train/acc").empty());
}

void TestBertTrainer::landscapeAndHessianOfABertCheckpoint() {
    const RunResult& fp = floatRun();
    QVERIFY2(fp.finished.status == "finished", qPrintable(describe(fp)));
    qs::analysis::LandscapeOptions o;
    o.nx = o.ny = 3;
    o.samples = 1000;  // more than the dev split: all of it, which the run evaluated on
    o.testSplit = true;
    o.batchSize = 16;
    qs::analysis::LandscapeExecution exec;
    exec.threads = 1;
    const auto surface = qs::analysis::computeLandscape(checkpoint(fp.id), o, nullptr, 0, exec);
    QCOMPARE(surface.loss.size(), std::size_t(9));
    QVERIFY(std::all_of(surface.loss.begin(), surface.loss.end(),
                        [](double v) { return std::isfinite(v) && v >= 0.0; }));
    // The centre is the trained model as the run evaluated it at its end: the same loss, and
    // the tokenization of the checkpoint's vocabulary.
    QVERIFY2(std::abs(surface.loss[4] - finalMetric(fp, "eval/loss")) <= 1e-5 * surface.loss[4],
             qPrintable(QStringLiteral("%1 vs %2")
                            .arg(surface.loss[4], 0, 'g', 9)
                            .arg(finalMetric(fp, "eval/loss"), 0, 'g', 9)));
    QCOMPARE(surface.accuracy[4], finalMetric(fp, "eval/acc"));

    qs::analysis::HessianOptions h;
    h.samples = 32;
    h.batchSize = 16;
    h.topK = 1;
    h.maxIterations = 10;
    h.traceSamples = 4;
    h.threads = 1;
    const auto report = qs::analysis::analyzeHessian(checkpoint(fp.id), h);
    QCOMPARE(report.eigenvalues.size(), std::size_t(1));
    QVERIFY(report.eigenvalues[0] > 0.0);
    QCOMPARE(report.layers.size(), std::size_t(1 + 2 * 6 + 2));
    QCOMPARE(report.layers.front().layer, std::string("bert.embeddings.word_embeddings"));
    QCOMPARE(report.layers.back().layer, std::string("classifier"));
    // Multiply-accumulates: a lookup has none; an encoder layer's linear runs once per token,
    // the pooler once per sequence.
    QCOMPARE(report.layers.front().macs, int64_t(0));
    const auto& query = report.layers[1];
    QCOMPARE(query.layer, std::string("bert.encoder.layer.0.attention.self.query"));
    QVERIFY(query.macs > query.params);
    QCOMPARE(query.macs % query.params, int64_t(0));
    QCOMPARE(report.layers[report.layers.size() - 2].macs,
             report.layers[report.layers.size() - 2].params);
}

void TestBertTrainer::badTextRunsFailClearly_data() {
    QTest::addColumn<QString>("field");
    QTest::addColumn<QString>("value");
    QTest::addColumn<QString>("error");
    QTest::newRow("missing task folder")
        << QStringLiteral("data.task") << QStringLiteral("RTE")
        << QStringLiteral("train.tsv: cannot open: No such file or directory (RTE's");
    QTest::newRow("missing pretrained folder")
        << QStringLiteral("model.bert.pretrained") << QStringLiteral("/nonexistent/bert")
        << QStringLiteral("/nonexistent/bert/vocab.txt: no such vocabulary file");
}

void TestBertTrainer::badTextRunsFailClearly() {
    QFETCH(QString, field);
    QFETCH(QString, value);
    QFETCH(QString, error);
    const RunSpec s =
        applyOverrides(tinyBert("bert-bad"), {(field + QLatin1Char('=') + value).toStdString()});
    const RunResult r = runToEnd(s);
    QCOMPARE(QString::fromStdString(r.finished.status), QStringLiteral("failed"));
    QVERIFY2(QString::fromStdString(r.finished.error).contains(error), qPrintable(describe(r)));
}

QTEST_GUILESS_MAIN(TestBertTrainer)
#include "TestBertTrainer.moc"
