// RunSpec: JSON round trip, the exact error (field and message) of every parser and validation
// failure, dotted-path overrides, and the built-in presets.
#include "engine/session/Presets.h"
#include "engine/session/RunSpec.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest>

#include <functional>
#include <limits>

using namespace qs::session;

namespace {

/// What a call threw: the SpecError's field and message, or a marker.
struct Caught {
    QString field;
    QString message;
};

Caught errorOf(const std::function<void()>& f) {
    try {
        f();
    } catch (const SpecError& e) {
        return {QString::fromStdString(e.field()), QString::fromStdString(e.what())};
    } catch (const std::exception& e) {
        return {QStringLiteral("<not a SpecError>"), QString::fromStdString(e.what())};
    }
    return {QStringLiteral("<no exception>"), QString()};
}

/// A spec that differs from the defaults in every field.
RunSpec everyFieldSet() {
    RunSpec s;
    s.name = "round-trip \"quoted\" \u00e9";
    s.model.arch = "resnet32";
    s.model.inChannels = 1;
    s.model.numClasses = 100;
    s.data.dataset = "cifar100";
    s.data.path = "/data/cifar-100";
    s.data.trainLimit = 5000000000LL;  // beyond 32 bits
    s.data.testLimit = 1000;
    s.data.augment = false;
    s.data.cropPadding = 2;
    s.data.flip = false;
    s.data.batchSize = 64;
    s.data.evalBatchSize = 512;
    s.method.name = "lsq";
    s.quant.weightBits = 3;
    s.quant.actBits = 2;
    s.quant.firstLast = "float";
    s.quant.perChannel = true;
    s.quant.gradScale = "per-sample";
    s.quant.scaleWeightDecayByBits = false;
    s.quant.layers["conv1"] = LayerBits{8, 0};
    s.quant.layers["layer1.0.conv1"] = LayerBits{2, -1};
    s.quant.layers["layer2.0.downsample.0"] = LayerBits{-1, 4};
    s.quant.layers["fc"] = LayerBits{0, 8};
    s.optim.optimizer = "adamw";
    s.optim.lr = 0.1 + 0.2;  // not the shortest decimal: must still come back bit for bit
    s.optim.momentum = 0.0;
    s.optim.nesterov = false;
    s.optim.weightDecay = 1e-4;
    s.optim.beta1 = 0.8;
    s.optim.beta2 = 0.99;
    s.optim.schedule = "step";
    s.optim.milestones = {3, 6, 9};
    s.optim.gamma = 0.2;
    s.optim.warmupEpochs = 0.5;
    s.optim.epochs = 12;
    s.initCheckpoint = "/runs/float/model.safetensors";
    s.seed = std::numeric_limits<uint64_t>::max();
    s.threads = 2;
    s.distributed.processes = 4;
    s.distributed.timeoutS = 120;
    s.distributed.bucketMb = 8;
    s.logEvery = 5;
    s.stateEvery = 50;
    s.analysis.landscape.epochs = {1, 12};
    s.analysis.landscape.nx = 31;
    s.analysis.landscape.ny = 1;
    s.analysis.landscape.range = 0.25;
    s.analysis.landscape.samples = 300;
    s.analysis.landscape.mode = "quantize-after";
    s.analysis.landscape.seed = 7;
    return s;
}

bool sameLayers(const std::map<std::string, LayerBits>& a,
                const std::map<std::string, LayerBits>& b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (const auto& [k, v] : a) {
        const auto it = b.find(k);
        if (it == b.end() || it->second.weightBits != v.weightBits ||
            it->second.actBits != v.actBits) {
            return false;
        }
    }
    return true;
}

/// The value at a key path of a JSON document.
QJsonValue at(const QJsonObject& root, const QStringList& path) {
    QJsonValue v = root;
    for (const QString& key : path) {
        v = v.toObject().value(key);
    }
    return v;
}

QJsonObject parsed(const RunSpec& s) {
    return QJsonDocument::fromJson(QByteArray::fromStdString(s.toJson())).object();
}

}  // namespace

class TestRunSpec : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void defaultsAreValid() {
        const RunSpec s;
        s.validate();  // throws on failure
        QCOMPARE(s.version, kRunSpecVersion);
        QVERIFY(!s.isQuantized());
        // An empty document is the defaults.
        QCOMPARE(RunSpec::fromJson("{}").toJson(), s.toJson());
    }

    void roundTrip() {
        const RunSpec s = everyFieldSet();
        s.validate();
        const std::string first = s.toJson();
        const RunSpec back = RunSpec::fromJson(first);
        QCOMPARE(QString::fromStdString(back.toJson()), QString::fromStdString(first));

        QCOMPARE(back.name, s.name);
        QCOMPARE(back.model.arch, s.model.arch);
        QCOMPARE(back.model.inChannels, 1);
        QCOMPARE(back.data.trainLimit, int64_t(5000000000LL));
        QCOMPARE(back.data.augment, false);
        QCOMPARE(back.quant.gradScale, std::string("per-sample"));
        QVERIFY(sameLayers(back.quant.layers, s.quant.layers));
        QCOMPARE(back.quant.layers.at("layer1.0.conv1").actBits, -1);
        QCOMPARE(back.quant.layers.at("fc").weightBits, 0);
        QCOMPARE(back.optim.lr, 0.1 + 0.2);
        QCOMPARE(back.optim.milestones, (std::vector<int>{3, 6, 9}));
        QCOMPARE(back.seed, std::numeric_limits<uint64_t>::max());
        QVERIFY(back.isQuantized());
        QCOMPARE(back.analysis.landscape.epochs, (std::vector<int>{1, 12}));
        QCOMPARE(back.analysis.landscape.range, 0.25);
        QCOMPARE(back.analysis.landscape.mode, std::string("quantize-after"));
        QCOMPARE(back.analysis.landscape.seed, uint64_t(7));
    }

    // Canonical JSON: every field written, -1 layer bits (keep default) left out.
    void toJsonWritesEveryField() {
        const QJsonObject root = parsed(everyFieldSet());
        QStringList keys = root.keys();
        keys.sort();
        QCOMPARE(keys, (QStringList{"analysis", "data", "distributed", "init_checkpoint",
                                    "log_every", "method", "model", "name", "optim", "quant",
                                    "seed", "state_every", "threads", "version"}));
        QCOMPARE(root.value("distributed").toObject().size(), 3);
        QCOMPARE(at(root, {"analysis", "landscape"}).toObject().size(), 7);
        QCOMPARE(root.value("model").toObject().size(), 4);
        QCOMPARE(at(root, {"model", "bert"}).toObject().size(), 8);
        QCOMPARE(root.value("data").toObject().size(), 13);
        QCOMPARE(root.value("quant").toObject().size(), 10);
        QCOMPARE(root.value("optim").toObject().size(), 12);
        const QJsonObject layers = at(root, {"quant", "layers"}).toObject();
        QCOMPARE(layers.value("layer1.0.conv1").toObject(), (QJsonObject{{"weight_bits", 2}}));
        QCOMPARE(layers.value("layer2.0.downsample.0").toObject(), (QJsonObject{{"act_bits", 4}}));
        QCOMPARE(layers.value("conv1").toObject(),
                 (QJsonObject{{"weight_bits", 8}, {"act_bits", 0}}));
    }

    void rejects_data() {
        QTest::addColumn<QString>("json");
        QTest::addColumn<QString>("field");
        QTest::addColumn<QString>("message");  // the exact what(); "..." at the end: a prefix

        // --- the document itself
        QTest::newRow("not JSON at all") << "epochs=3"
                                         << ""
                                         << "not valid JSON: ...";
        QTest::newRow("truncated JSON") << R"({"name": )"
                                        << ""
                                        << "not valid JSON: ...";
        QTest::newRow("top level is an array") << "[1, 2]"
                                               << ""
                                               << "must be a JSON object";
        QTest::newRow("top level is a number") << "42"
                                               << ""
                                               << "must be a JSON object";
        QTest::newRow("unsupported version 2")
            << R"({"version": 2})"
            << "version"
            << "version: unsupported spec version 2 (this build reads version 1)";
        QTest::newRow("unsupported version 0")
            << R"({"version": 0})"
            << "version"
            << "version: unsupported spec version 0 (this build reads version 1)";
        QTest::newRow("version as a string") << R"({"version": "1"})"
                                             << "version"
                                             << "version: must be an integer";

        // --- unknown fields
        QTest::newRow("unknown top-level field") << R"({"epochs": 3})"
                                                 << "epochs"
                                                 << "epochs: unknown field";
        QTest::newRow("unknown field in optim") << R"({"optim": {"learning_rate": 0.1}})"
                                                << "optim.learning_rate"
                                                << "optim.learning_rate: unknown field";
        QTest::newRow("unknown field in model") << R"({"model": {"depth": 20}})"
                                                << "model.depth"
                                                << "model.depth: unknown field";
        QTest::newRow("unknown field in data") << R"({"data": {"shuffle": true}})"
                                               << "data.shuffle"
                                               << "data.shuffle: unknown field";
        QTest::newRow("unknown field in method") << R"({"method": {"rho": 0.05}})"
                                                 << "method.rho"
                                                 << "method.rho: unknown field";
        QTest::newRow("unknown field in quant") << R"({"quant": {"bits": 4}})"
                                                << "quant.bits"
                                                << "quant.bits: unknown field";
        QTest::newRow("unknown field in a layer")
            << R"({"quant": {"layers": {"layer1.0.conv1": {"bits": 4}}}})"
            << "quant.layers.layer1.0.conv1.bits"
            << "quant.layers.layer1.0.conv1.bits: unknown field";

        // --- wrong shapes and types
        QTest::newRow("section is a string") << R"({"model": "resnet20"})"
                                             << "model"
                                             << "model: must be a JSON object";
        QTest::newRow("section is an array") << R"({"data": [1]})"
                                             << "data"
                                             << "data: must be a JSON object";
        QTest::newRow("quant.layers is an array")
            << R"({"quant": {"layers": [1]}})"
            << "quant.layers"
            << "quant.layers: must be an object keyed by layer path";
        QTest::newRow("a layer entry is a number") << R"({"quant": {"layers": {"conv1": 4}}})"
                                                   << "quant.layers.conv1"
                                                   << "quant.layers.conv1: must be a JSON object";
        QTest::newRow("string for number") << R"({"optim": {"lr": "0.1"}})"
                                           << "optim.lr"
                                           << "optim.lr: must be a number";
        QTest::newRow("bool for number") << R"({"optim": {"gamma": true}})"
                                         << "optim.gamma"
                                         << "optim.gamma: must be a number";
        QTest::newRow("string for integer") << R"({"optim": {"epochs": "3"}})"
                                            << "optim.epochs"
                                            << "optim.epochs: must be an integer";
        QTest::newRow("float for integer") << R"({"optim": {"epochs": 2.5}})"
                                           << "optim.epochs"
                                           << "optim.epochs: must be an integer";
        QTest::newRow("3.0 for integer") << R"({"data": {"batch_size": 3.0}})"
                                         << "data.batch_size"
                                         << "data.batch_size: must be an integer";
        QTest::newRow("bool for integer") << R"({"data": {"batch_size": true}})"
                                          << "data.batch_size"
                                          << "data.batch_size: must be an integer";
        QTest::newRow("number for bool") << R"({"data": {"augment": 1}})"
                                         << "data.augment"
                                         << "data.augment: must be true or false";
        QTest::newRow("string for bool") << R"({"quant": {"per_channel": "yes"}})"
                                         << "quant.per_channel"
                                         << "quant.per_channel: must be true or false";
        QTest::newRow("number for string") << R"({"name": 5})"
                                           << "name"
                                           << "name: must be a string";
        QTest::newRow("number for nested string") << R"({"model": {"arch": 20}})"
                                                  << "model.arch"
                                                  << "model.arch: must be a string";
        QTest::newRow("milestones not an array")
            << R"({"optim": {"milestones": 3}})"
            << "optim.milestones"
            << "optim.milestones: must be an array of integers";
        QTest::newRow("milestone element is a float") << R"({"optim": {"milestones": [1, 2.5]}})"
                                                      << "optim.milestones[1]"
                                                      << "optim.milestones[1]: must be an integer";
        QTest::newRow("layer bits as a string")
            << R"({"quant": {"layers": {"fc": {"act_bits": "8"}}}})"
            << "quant.layers.fc.act_bits"
            << "quant.layers.fc.act_bits: must be an integer";
        QTest::newRow("negative unsigned seed") << R"({"seed": -1})"
                                                << "seed"
                                                << "seed: must be >= 0";
        QTest::newRow("float seed") << R"({"seed": 1.5})"
                                    << "seed"
                                    << "seed: must be an integer";
        QTest::newRow("integer too large for int") << R"({"threads": 3000000000})"
                                                   << "threads"
                                                   << "threads: is too large";
        QTest::newRow("integer too small for int") << R"({"threads": -3000000000})"
                                                   << "threads"
                                                   << "threads: is out of range";

        // --- RunSpec::validate(), in its order
        QTest::newRow("empty name") << R"({"name": ""})"
                                    << "name"
                                    << "name: must not be empty";
        QTest::newRow("unknown arch")
            << R"({"model": {"arch": "resnet50"}})"
            << "model.arch"
            << R"(model.arch: must be one of resnet20, resnet32, resnet44, resnet56, resnet18, bert (got "resnet50"))";
        QTest::newRow("in_channels above 64") << R"({"model": {"in_channels": 65}})"
                                              << "model.in_channels"
                                              << "model.in_channels: must be in [0, 64] (got 65)";
        QTest::newRow("in_channels negative") << R"({"model": {"in_channels": -1}})"
                                              << "model.in_channels"
                                              << "model.in_channels: must be in [0, 64] (got -1)";
        QTest::newRow("num_classes negative")
            << R"({"model": {"num_classes": -1}})"
            << "model.num_classes"
            << "model.num_classes: must be in [0, 100000] (got -1)";
        QTest::newRow("num_classes above 100000")
            << R"({"model": {"num_classes": 100001}})"
            << "model.num_classes"
            << "model.num_classes: must be in [0, 100000] (got 100001)";
        QTest::newRow("unknown dataset")
            << R"({"data": {"dataset": "imagenet"}})"
            << "data.dataset"
            << R"(data.dataset: must be one of fashion-mnist, mnist, cifar10, cifar100, spam-assassin, glue (got "imagenet"))";
        QTest::newRow("negative train_limit") << R"({"data": {"train_limit": -1}})"
                                              << "data.train_limit"
                                              << "data.train_limit: must be >= 0 (0 = all)";
        QTest::newRow("negative test_limit") << R"({"data": {"test_limit": -5}})"
                                             << "data.test_limit"
                                             << "data.test_limit: must be >= 0 (0 = all)";
        QTest::newRow("crop_padding below -1") << R"({"data": {"crop_padding": -2}})"
                                               << "data.crop_padding"
                                               << "data.crop_padding: must be in [-1, 16] (got -2)";
        QTest::newRow("crop_padding above 16") << R"({"data": {"crop_padding": 17}})"
                                               << "data.crop_padding"
                                               << "data.crop_padding: must be in [-1, 16] (got 17)";
        QTest::newRow("batch_size 0") << R"({"data": {"batch_size": 0}})"
                                      << "data.batch_size"
                                      << "data.batch_size: must be in [1, 65536] (got 0)";
        QTest::newRow("batch_size above 65536")
            << R"({"data": {"batch_size": 65537}})"
            << "data.batch_size"
            << "data.batch_size: must be in [1, 65536] (got 65537)";
        QTest::newRow("eval_batch_size 0") << R"({"data": {"eval_batch_size": 0}})"
                                           << "data.eval_batch_size"
                                           << "data.eval_batch_size: must be in [1, 65536] (got 0)";
        QTest::newRow("unknown method")
            << R"({"method": {"name": "sam"}})"
            << "method.name"
            << R"(method.name: must be one of fp, lsq, squat, nt, ptq (got "sam"))";
        QTest::newRow("squat schedule")
            << R"({"method": {"squat": {"schedule": "sometimes"}}})"
            << "method.squat.schedule"
            << R"(method.squat.schedule: must be one of per-step, alternate (got "sometimes"))";
        QTest::newRow("squat k 0") << R"({"method": {"squat": {"k": 0}}})"
                                   << "method.squat.k"
                                   << "method.squat.k: must be in [1, 1000] (got 0)";
        QTest::newRow("squat site")
            << R"({"method": {"squat": {"site": "bits"}}})"
            << "method.squat.site"
            << R"(method.squat.site: must be one of latent, quantized (got "bits"))";
        QTest::newRow("squat rho 0") << R"({"method": {"squat": {"rho": 0}}})"
                                     << "method.squat.rho"
                                     << "method.squat.rho: must be in (0, 10] (got 0)";
        QTest::newRow("squat rho warm-up past the end")
            << R"({"method": {"squat": {"rho_warmup_epochs": 4}}, "optim": {"epochs": 3}})"
            << "method.squat.rho_warmup_epochs"
            << "method.squat.rho_warmup_epochs: must be in [0, 3] (got 4)";
        QTest::newRow("squat joint with alternate")
            << R"({"method": {"squat": {"joint": true, "schedule": "alternate"}}})"
            << "method.squat.joint"
            << "method.squat.joint: joint SAM over weights and step sizes has no alternate "
               "schedule";
        QTest::newRow("squat joint at the quantized site")
            << R"({"method": {"squat": {"joint": true, "site": "quantized"}}})"
            << "method.squat.joint"
            << "method.squat.joint: joint SAM perturbs the latent weights only";
        QTest::newRow("squat unknown field") << R"({"method": {"squat": {"rh": 0.1}}})"
                                             << "method.squat.rh"
                                             << "method.squat.rh: unknown field";
        QTest::newRow("nt lambda0 negative") << R"({"method": {"nt": {"lambda0": -1}}})"
                                             << "method.nt.lambda0"
                                             << "method.nt.lambda0: must be in [0, 100] (got -1)";
        QTest::newRow("nt end_lambda above lambda0")
            << R"({"method": {"nt": {"lambda0": 0.5, "end_lambda": 0.6}}})"
            << "method.nt.end_lambda"
            << "method.nt.end_lambda: must be in (0, lambda0) when tau is 0 (got 0.6)";
        QTest::newRow("nt end_fraction 0") << R"({"method": {"nt": {"end_fraction": 0}}})"
                                           << "method.nt.end_fraction"
                                           << "method.nt.end_fraction: must be in (0, 1] (got 0)";
        QTest::newRow("nt distribution")
            << R"({"method": {"nt": {"distribution": "laplace"}}})"
            << "method.nt.distribution"
            << R"(method.nt.distribution: must be one of uniform, normal (got "laplace"))";
        QTest::newRow("nt amplitude")
            << R"({"method": {"nt": {"amplitude": "step"}}})"
            << "method.nt.amplitude"
            << R"(method.nt.amplitude: must be one of error, half-step (got "step"))";
        QTest::newRow("ptq calibration")
            << R"({"method": {"ptq": {"calibration": "kl"}}})"
            << "method.ptq.calibration"
            << R"(method.ptq.calibration: must be one of minmax, percentile, mse (got "kl"))";
        QTest::newRow("ptq percentile 50")
            << R"({"method": {"ptq": {"percentile": 50}}})"
            << "method.ptq.percentile"
            << "method.ptq.percentile: must be in (50, 100] (got 50)";
        QTest::newRow("ptq batches 0") << R"({"method": {"ptq": {"batches": 0}}})"
                                       << "method.ptq.batches"
                                       << "method.ptq.batches: must be in [1, 10000] (got 0)";
        QTest::newRow("ptq without a checkpoint")
            << R"({"method": {"name": "ptq"}})"
            << "init_checkpoint"
            << "init_checkpoint: ptq calibrates a trained model: name its float checkpoint";
        QTest::newRow("distill alpha 2") << R"({"method": {"distill": {"alpha": 2}}})"
                                         << "method.distill.alpha"
                                         << "method.distill.alpha: must be in [0, 1] (got 2)";
        QTest::newRow("distill temperature 0")
            << R"({"method": {"distill": {"temperature": 0}}})"
            << "method.distill.temperature"
            << "method.distill.temperature: must be in (0, 100] (got 0)";
        QTest::newRow("distill a float run")
            << R"({"method": {"name": "fp", "distill": {"enabled": true, "teacher": "t.safetensors"}}})"
            << "method.distill.enabled"
            << "method.distill.enabled: distillation is for the QAT methods (lsq, squat, nt), not "
               "fp";
        QTest::newRow("distill without a teacher")
            << R"({"method": {"name": "lsq", "distill": {"enabled": true}}})"
            << "method.distill.teacher"
            << "method.distill.teacher: distillation needs a float teacher: set "
               "method.distill.teacher or init_checkpoint";
        QTest::newRow("weight_bits 1") << R"({"quant": {"weight_bits": 1}})"
                                       << "quant.weight_bits"
                                       << "quant.weight_bits: must be 2..8 bits (got 1)";
        QTest::newRow("weight_bits 9") << R"({"quant": {"weight_bits": 9}})"
                                       << "quant.weight_bits"
                                       << "quant.weight_bits: must be 2..8 bits (got 9)";
        QTest::newRow("uniform weight_bits 0: no float default")
            << R"({"quant": {"weight_bits": 0}})"
            << "quant.weight_bits"
            << "quant.weight_bits: must be 2..8 bits (got 0)";
        QTest::newRow("act_bits 9") << R"({"quant": {"act_bits": 9}})"
                                    << "quant.act_bits"
                                    << "quant.act_bits: must be 2..8 bits (got 9)";
        QTest::newRow("act_bits 1") << R"({"quant": {"act_bits": 1}})"
                                    << "quant.act_bits"
                                    << "quant.act_bits: must be 2..8 bits (got 1)";
        QTest::newRow("bert on images")
            << R"({"model": {"arch": "bert"}})"
            << "data.dataset"
            << "data.dataset: BERT reads text: spam-assassin or glue (got fashion-mnist)";
        QTest::newRow("resnet on text")
            << R"({"data": {"dataset": "spam-assassin"}})"
            << "data.dataset"
            << "data.dataset: resnet20 reads images, not the text of spam-assassin";
        QTest::newRow("glue without a task")
            << R"({"model": {"arch": "bert"}, "data": {"dataset": "glue", "path": "/g"}})"
            << "data.task"
            << "data.task: glue needs a task (CoLA, SST-2, MRPC, STS-B, QQP, MNLI, QNLI, RTE or "
               "WNLI)";
        QTest::newRow("unknown glue task")
            << R"({"model": {"arch": "bert"}, "data": {"dataset": "glue", "path": "/g", "task": "squad"}})"
            << "data.task"
            << "data.task: unknown GLUE task 'squad' (expected CoLA, SST-2, MRPC, STS-B, QQP, "
               "MNLI, "
               "QNLI, RTE or WNLI)";
        QTest::newRow("bert heads do not divide hidden")
            << R"({"model": {"arch": "bert", "bert": {"hidden": 100, "heads": 3}},
                  "data": {"dataset": "spam-assassin"}})"
            << "model.bert.heads"
            << "model.bert.heads: hidden (100) must be a multiple of heads (3)";
        QTest::newRow("max_length beyond positions")
            << R"({"model": {"arch": "bert", "bert": {"max_positions": 64}},
                  "data": {"dataset": "spam-assassin", "max_length": 128}})"
            << "data.max_length"
            << "data.max_length: must be <= model.bert.max_positions (64)";
        QTest::newRow("group_rows on a resnet")
            << R"({"quant": {"group_rows": 8}})"
            << "quant.group_rows"
            << "quant.group_rows: group-wise ranges are for BERT's linear layers";
        QTest::newRow("hidden distillation on a resnet")
            << R"({"method": {"distill": {"hidden_weight": 1.0}}})"
            << "method.distill.hidden_weight"
            << "method.distill.hidden_weight: hidden-state and attention distillation are for BERT";
        QTest::newRow("embedding_bits 1")
            << R"({"quant": {"embedding_bits": 1}})"
            << "quant.embedding_bits"
            << "quant.embedding_bits: must be 0 (float) or 2..8 bits (got 1)";
        QTest::newRow("unknown first_last")
            << R"({"quant": {"first_last": "fp32"}})"
            << "quant.first_last"
            << R"(quant.first_last: must be one of auto, 8bit, float, same (got "fp32"))";
        QTest::newRow("unknown grad_scale")
            << R"({"quant": {"grad_scale": "sample"}})"
            << "quant.grad_scale"
            << R"(quant.grad_scale: must be one of numel, per-sample (got "sample"))";
        QTest::newRow("empty layer path") << R"({"quant": {"layers": {"": {"weight_bits": 4}}}})"
                                          << "quant.layers"
                                          << "quant.layers: layer path must not be empty";
        QTest::newRow("layer weight_bits 1")
            << R"({"quant": {"layers": {"layer1.0.conv1": {"weight_bits": 1}}}})"
            << "quant.layers.layer1.0.conv1.weight_bits"
            << "quant.layers.layer1.0.conv1.weight_bits: must be 0 (float) or 2..8 bits (got 1)";
        QTest::newRow("layer weight_bits 9")
            << R"({"quant": {"layers": {"layer1.0.conv1": {"weight_bits": 9}}}})"
            << "quant.layers.layer1.0.conv1.weight_bits"
            << "quant.layers.layer1.0.conv1.weight_bits: must be 0 (float) or 2..8 bits (got 9)";
        QTest::newRow("layer act_bits 1")
            << R"({"quant": {"layers": {"fc": {"act_bits": 1}}}})"
            << "quant.layers.fc.act_bits"
            << "quant.layers.fc.act_bits: must be 0 (float) or 2..8 bits (got 1)";
        QTest::newRow("layer act_bits 9")
            << R"({"quant": {"layers": {"fc": {"weight_bits": 8, "act_bits": 9}}}})"
            << "quant.layers.fc.act_bits"
            << "quant.layers.fc.act_bits: must be 0 (float) or 2..8 bits (got 9)";
        QTest::newRow("unknown optimizer")
            << R"({"optim": {"optimizer": "adam"}})"
            << "optim.optimizer"
            << R"(optim.optimizer: must be one of sgd, adamw (got "adam"))";
        QTest::newRow("lr 0") << R"({"optim": {"lr": 0}})"
                              << "optim.lr"
                              << "optim.lr: must be in (0, 10] (got 0)";
        QTest::newRow("lr negative") << R"({"optim": {"lr": -0.5}})"
                                     << "optim.lr"
                                     << "optim.lr: must be in (0, 10] (got -0.5)";
        QTest::newRow("lr above 10") << R"({"optim": {"lr": 11}})"
                                     << "optim.lr"
                                     << "optim.lr: must be in (0, 10] (got 11)";
        QTest::newRow("momentum 1") << R"({"optim": {"momentum": 1}})"
                                    << "optim.momentum"
                                    << "optim.momentum: must be in [0, 0.999999] (got 1)";
        QTest::newRow("momentum negative") << R"({"optim": {"momentum": -0.1}})"
                                           << "optim.momentum"
                                           << "optim.momentum: must be in [0, 0.999999] (got -0.1)";
        QTest::newRow("weight_decay above 1") << R"({"optim": {"weight_decay": 2}})"
                                              << "optim.weight_decay"
                                              << "optim.weight_decay: must be in [0, 1] (got 2)";
        QTest::newRow("weight_decay negative")
            << R"({"optim": {"weight_decay": -0.001}})"
            << "optim.weight_decay"
            << "optim.weight_decay: must be in [0, 1] (got -0.001)";
        QTest::newRow("beta1 1") << R"({"optim": {"beta1": 1.0}})"
                                 << "optim.beta1"
                                 << "optim.beta1: must be in [0, 0.999999] (got 1)";
        QTest::newRow("beta2 negative") << R"({"optim": {"beta2": -0.5}})"
                                        << "optim.beta2"
                                        << "optim.beta2: must be in [0, 0.999999] (got -0.5)";
        QTest::newRow("unknown schedule")
            << R"({"optim": {"schedule": "exponential"}})"
            << "optim.schedule"
            << R"(optim.schedule: must be one of cosine, linear, step, constant (got "exponential"))";
        QTest::newRow("gamma 0") << R"({"optim": {"gamma": 0}})"
                                 << "optim.gamma"
                                 << "optim.gamma: must be in [1e-06, 1] (got 0)";
        QTest::newRow("gamma above 1") << R"({"optim": {"gamma": 1.5}})"
                                       << "optim.gamma"
                                       << "optim.gamma: must be in [1e-06, 1] (got 1.5)";
        QTest::newRow("epochs 0") << R"({"optim": {"epochs": 0}})"
                                  << "optim.epochs"
                                  << "optim.epochs: must be in [1, 10000] (got 0)";
        QTest::newRow("epochs above 10000") << R"({"optim": {"epochs": 10001}})"
                                            << "optim.epochs"
                                            << "optim.epochs: must be in [1, 10000] (got 10001)";
        QTest::newRow("warmup negative") << R"({"optim": {"warmup_epochs": -1}})"
                                         << "optim.warmup_epochs"
                                         << "optim.warmup_epochs: must be in [0, 3] (got -1)";
        QTest::newRow("warmup longer than training")
            << R"({"optim": {"epochs": 4, "warmup_epochs": 4.5}})"
            << "optim.warmup_epochs"
            << "optim.warmup_epochs: must be in [0, 4] (got 4.5)";
        QTest::newRow("milestone 0") << R"({"optim": {"milestones": [0]}})"
                                     << "optim.milestones[0]"
                                     << "optim.milestones[0]: must be in [1, 3] (got 0)";
        QTest::newRow("milestone after the last epoch")
            << R"({"optim": {"milestones": [1, 4]}})"
            << "optim.milestones[1]"
            << "optim.milestones[1]: must be in [1, 3] (got 4)";
        QTest::newRow("milestones repeated")
            << R"({"optim": {"milestones": [2, 2]}})"
            << "optim.milestones[1]"
            << "optim.milestones[1]: milestones must be strictly increasing";
        QTest::newRow("milestones decreasing")
            << R"({"optim": {"milestones": [3, 1]}})"
            << "optim.milestones[1]"
            << "optim.milestones[1]: milestones must be strictly increasing";
        QTest::newRow("step schedule without milestones")
            << R"({"optim": {"schedule": "step"}})"
            << "optim.milestones"
            << "optim.milestones: the step schedule needs at least one milestone";
        QTest::newRow("nesterov with zero momentum")
            << R"({"optim": {"momentum": 0}})"
            << "optim.nesterov"
            << "optim.nesterov: Nesterov momentum needs optim.momentum > 0";
        QTest::newRow("threads negative") << R"({"threads": -1})"
                                          << "threads"
                                          << "threads: must be in [0, 1024] (got -1)";
        QTest::newRow("no processes") << R"({"distributed": {"processes": 0}})"
                                      << "distributed.processes"
                                      << "distributed.processes: must be in [1, 1024] (got 0)";
        QTest::newRow("timeout under a second")
            << R"({"distributed": {"processes": 2, "timeout_s": 0.5}})"
            << "distributed.timeout_s"
            << "distributed.timeout_s: must be in [1, 86400] seconds (got 0.5)";
        QTest::newRow("bucket of zero") << R"({"distributed": {"bucket_mb": 0}})"
                                        << "distributed.bucket_mb"
                                        << "distributed.bucket_mb: must be in (0, 4096] (got 0)";
        QTest::newRow("batch too small to split")
            << R"({"data": {"batch_size": 6}, "distributed": {"processes": 4}})"
            << "data.batch_size"
            << "data.batch_size: must be at least 2 per process with distributed.processes 4 "
               "(got 6)";
        QTest::newRow("unknown distributed key") << R"({"distributed": {"ranks": 2}})"
                                                 << "distributed.ranks"
                                                 << "distributed.ranks: unknown field";
        QTest::newRow("threads above 1024") << R"({"threads": 1025})"
                                            << "threads"
                                            << "threads: must be in [0, 1024] (got 1025)";
        QTest::newRow("log_every 0") << R"({"log_every": 0})"
                                     << "log_every"
                                     << "log_every: must be in [1, 1000000] (got 0)";
        QTest::newRow("state_every 0") << R"({"state_every": 0})"
                                       << "state_every"
                                       << "state_every: must be in [1, 1000000] (got 0)";
        QTest::newRow("landscape epoch past the end")
            << R"({"analysis": {"landscape": {"epochs": [1, 4]}}})"
            << "analysis.landscape.epochs[1]"
            << "analysis.landscape.epochs[1]: must be in [1, 3] (got 4)";
        QTest::newRow("landscape epochs out of order")
            << R"({"analysis": {"landscape": {"epochs": [2, 1]}}})"
            << "analysis.landscape.epochs[1]"
            << "analysis.landscape.epochs[1]: epochs must be strictly increasing";
        QTest::newRow("landscape epochs of ptq")
            << R"({"method": {"name": "ptq"}, "init_checkpoint": "f.safetensors",
                  "analysis": {"landscape": {"epochs": [1]}}})"
            << "analysis.landscape.epochs[0]"
            << "analysis.landscape.epochs[0]: ptq does not train: it has no epochs to snapshot";
        QTest::newRow("landscape grid 0") << R"({"analysis": {"landscape": {"nx": 0}}})"
                                          << "analysis.landscape.nx"
                                          << "analysis.landscape.nx: must be in [1, 1001] (got 0)";
        QTest::newRow("landscape range 0") << R"({"analysis": {"landscape": {"range": 0}}})"
                                           << "analysis.landscape.range"
                                           << "analysis.landscape.range: must be in (0, 1000] "
                                              "(got 0)";
        QTest::newRow("landscape samples 0")
            << R"({"analysis": {"landscape": {"samples": 0}}})"
            << "analysis.landscape.samples"
            << "analysis.landscape.samples: must be in [1, 10000000] (got 0)";
        QTest::newRow("landscape mode") << R"({"analysis": {"landscape": {"mode": "both"}}})"
                                        << "analysis.landscape.mode"
                                        << "analysis.landscape.mode: must be one of float, "
                                           "dequantized, quantize-after (got \"both\")";
        QTest::newRow("landscape unknown field")
            << R"({"analysis": {"landscape": {"directions": "hessian"}}})"
            << "analysis.landscape.directions"
            << "analysis.landscape.directions: unknown field";
        QTest::newRow("unknown analysis") << R"({"analysis": {"hessian": {}}})"
                                          << "analysis.hessian"
                                          << "analysis.hessian: unknown field";
    }
    void rejects() {
        QFETCH(QString, json);
        QFETCH(QString, field);
        QFETCH(QString, message);
        const Caught c = errorOf([&] { RunSpec::fromJson(json.toStdString()); });
        QCOMPARE(c.field, field);
        if (message.endsWith(QLatin1String("..."))) {
            QVERIFY2(c.message.startsWith(message.chopped(3)), qPrintable(c.message));
        } else {
            QCOMPARE(c.message, message);
        }
    }

    // validate() on a spec built in code reports the same as the parser path.
    void validateOnStruct() {
        RunSpec s;
        s.optim.milestones = {2, 2};
        Caught c = errorOf([&] { s.validate(); });
        QCOMPARE(c.field, QStringLiteral("optim.milestones[1]"));
        s = RunSpec();
        s.quant.layers["layer3.2.conv2"].actBits = 1;
        c = errorOf([&] { s.validate(); });
        QCOMPARE(c.message,
                 QStringLiteral("quant.layers.layer3.2.conv2.act_bits: must be 0 (float) "
                                "or 2..8 bits (got 1)"));
    }

    void accepts_data() {
        QTest::addColumn<QString>("json");
        QTest::newRow("explicit version 1") << R"({"version": 1})";
        QTest::newRow("null keeps the default") << R"({"optim": {"lr": null}, "model": null})";
        QTest::newRow("adamw ignores nesterov with zero momentum")
            << R"({"optim": {"optimizer": "adamw", "momentum": 0}})";
        QTest::newRow("sgd without nesterov, zero momentum")
            << R"({"optim": {"momentum": 0, "nesterov": false}})";
        QTest::newRow("step schedule with milestones at both ends")
            << R"({"optim": {"schedule": "step", "milestones": [1, 3]}})";
        QTest::newRow("warmup as long as training") << R"({"optim": {"warmup_epochs": 3}})";
        QTest::newRow("layer bits 0 (float) and -1 (default)")
            << R"({"quant": {"layers": {"conv1": {"weight_bits": 0, "act_bits": -1}}}})";
        QTest::newRow("range ends")
            << R"({"threads": 1024, "data": {"crop_padding": 16, "batch_size": 65536},
                  "model": {"in_channels": 64}, "optim": {"lr": 10, "gamma": 1}})";
        QTest::newRow("largest seed") << R"({"seed": 18446744073709551615})";
        QTest::newRow("landscape snapshots at the first and last epoch")
            << R"({"analysis": {"landscape": {"epochs": [1, 3], "nx": 21, "ny": 1,
                  "samples": 500, "mode": "float", "seed": 123, "range": 0.5}}})";
    }
    void accepts() {
        QFETCH(QString, json);
        const Caught c = errorOf([&] { RunSpec::fromJson(json.toStdString()); });
        QCOMPARE(c.field, QStringLiteral("<no exception>"));
        QCOMPARE(c.message, QString());
    }

    // LayerBits documents -1 as "keep the default"; other negative values are not meaningful.
    void layerBitsBelowMinusOneAreRejected() {
        const Caught c = errorOf(
            [] { RunSpec::fromJson(R"({"quant": {"layers": {"conv1": {"weight_bits": -2}}}})"); });
        QCOMPARE(c.field, QStringLiteral("quant.layers.conv1.weight_bits"));
    }

    // A number beyond double's range is a bad document like any other: callers catch SpecError.
    void numberOverflowIsASpecError_data() {
        QTest::addColumn<QString>("json");
        QTest::newRow("1e400") << R"({"optim": {"lr": 1e400}})";
        QTest::newRow("-1e400") << R"({"optim": {"weight_decay": -1e400}})";
    }
    void numberOverflowIsASpecError() {
        QFETCH(QString, json);
        const Caught c = errorOf([&] { RunSpec::fromJson(json.toStdString()); });
        QVERIFY2(c.field != QLatin1String("<no exception>"), "accepted");
        QVERIFY2(c.field != QLatin1String("<not a SpecError>"), qPrintable(c.message));
    }
    // Through an override the same text is not JSON-parsed into a number: a type error.
    void numberOverflowInAnOverride() {
        const Caught c = errorOf([] { applyOverrides(RunSpec(), {"optim.lr=1e400"}); });
        QCOMPARE(c.field, QStringLiteral("optim.lr"));
        QCOMPARE(c.message, QStringLiteral("optim.lr: must be a number"));
    }

    void overrides_data() {
        QTest::addColumn<QString>("assignment");
        QTest::addColumn<QStringList>("path");
        QTest::addColumn<QJsonValue>("expected");
        QTest::newRow("integer") << "optim.epochs=7" << QStringList{"optim", "epochs"}
                                 << QJsonValue(7);
        QTest::newRow("decimal") << "optim.lr=0.025" << QStringList{"optim", "lr"}
                                 << QJsonValue(0.025);
        QTest::newRow("boolean false")
            << "data.augment=false" << QStringList{"data", "augment"} << QJsonValue(false);
        QTest::newRow("boolean true")
            << "quant.per_channel=true" << QStringList{"quant", "per_channel"} << QJsonValue(true);
        QTest::newRow("bare word is a string")
            << "model.arch=resnet56" << QStringList{"model", "arch"} << QJsonValue("resnet56");
        QTest::newRow("quoted JSON string")
            << R"(name="my run")" << QStringList{"name"} << QJsonValue("my run");
        QTest::newRow("path with slashes and dots")
            << "data.path=/tmp/a.b/c" << QStringList{"data", "path"} << QJsonValue("/tmp/a.b/c");
        QTest::newRow("top-level field") << "seed=42" << QStringList{"seed"} << QJsonValue(42);
        QTest::newRow("array") << "optim.milestones=[1,2]" << QStringList{"optim", "milestones"}
                               << QJsonValue(QJsonArray{1, 2});
        QTest::newRow("layer path with dots")
            << "quant.layers.layer1.0.conv1.weight_bits=2"
            << QStringList{"quant", "layers", "layer1.0.conv1", "weight_bits"} << QJsonValue(2);
        QTest::newRow("layer act bits to float")
            << "quant.layers.fc.act_bits=0" << QStringList{"quant", "layers", "fc", "act_bits"}
            << QJsonValue(0);
        QTest::newRow("downsample layer path")
            << "quant.layers.layer2.0.downsample.0.act_bits=3"
            << QStringList{"quant", "layers", "layer2.0.downsample.0", "act_bits"} << QJsonValue(3);
    }
    void overrides() {
        QFETCH(QString, assignment);
        QFETCH(QStringList, path);
        QFETCH(QJsonValue, expected);
        const RunSpec base;
        const RunSpec s = applyOverrides(base, {assignment.toStdString()});
        QCOMPARE(at(parsed(s), path), expected);
        QVERIFY(at(parsed(base), path) != expected);  // it did change something
    }

    void overridesOnLayerPathsReachTheStruct() {
        const RunSpec s = applyOverrides(RunSpec(), {"quant.layers.layer1.0.conv1.weight_bits=2",
                                                     "quant.layers.layer1.0.conv1.act_bits=8"});
        QCOMPARE(s.quant.layers.size(), std::size_t(1));
        QCOMPARE(s.quant.layers.at("layer1.0.conv1").weightBits, 2);
        QCOMPARE(s.quant.layers.at("layer1.0.conv1").actBits, 8);
    }

    // Validation runs after all assignments: a pair valid only together is accepted.
    void overridesValidateOnceAtTheEnd() {
        const RunSpec s =
            applyOverrides(RunSpec(), {"optim.schedule=step", "optim.milestones=[2]"});
        QCOMPARE(s.optim.schedule, std::string("step"));
        QCOMPARE(s.optim.milestones, std::vector<int>{2});
        // and the input spec is not modified
        const RunSpec base;
        applyOverrides(base, {"optim.epochs=9"});
        QCOMPARE(base.optim.epochs, 3);
    }

    void overrideErrors_data() {
        QTest::addColumn<QString>("assignment");
        QTest::addColumn<QString>("field");
        QTest::addColumn<QString>("message");
        QTest::newRow("no equals sign") << "optim.epochs"
                                        << ""
                                        << R"(override "optim.epochs" must look like KEY=VALUE)";
        QTest::newRow("empty key") << "=3"
                                   << ""
                                   << R"(override "=3" must look like KEY=VALUE)";
        QTest::newRow("unknown key") << "optim.learning_rate=0.1"
                                     << "optim.learning_rate"
                                     << "optim.learning_rate: unknown field";
        QTest::newRow("unknown section") << "training.epochs=3"
                                         << "training"
                                         << "training: unknown field";
        QTest::newRow("empty path component") << "optim..lr=1"
                                              << "optim..lr"
                                              << "optim..lr: empty path component";
        QTest::newRow("trailing dot") << "optim.=1"
                                      << "optim."
                                      << "optim.: empty path component";
        QTest::newRow("through a non-object") << "name.first=x"
                                              << "name"
                                              << "name: is not an object, cannot set name.first";
        QTest::newRow("layer without a field")
            << "quant.layers.conv1=8"
            << "quant.layers.conv1"
            << "quant.layers.conv1: expected quant.layers.<layer>.weight_bits or .act_bits";
        QTest::newRow("layer with an empty path")
            << "quant.layers..weight_bits=8"
            << "quant.layers..weight_bits"
            << "quant.layers..weight_bits: expected quant.layers.<layer>.weight_bits or .act_bits";
        QTest::newRow("unknown layer field") << "quant.layers.layer1.0.conv1.bits=4"
                                             << "quant.layers.layer1.0.conv1.bits"
                                             << "quant.layers.layer1.0.conv1.bits: unknown field";
        QTest::newRow("bare word for an integer") << "optim.epochs=three"
                                                  << "optim.epochs"
                                                  << "optim.epochs: must be an integer";
        QTest::newRow("float for an integer") << "data.batch_size=64.5"
                                              << "data.batch_size"
                                              << "data.batch_size: must be an integer";
        QTest::newRow("number for a string") << "name=42"
                                             << "name"
                                             << "name: must be a string";
        QTest::newRow("number for a bool") << "data.augment=1"
                                           << "data.augment"
                                           << "data.augment: must be true or false";
        QTest::newRow("word for a number") << "optim.lr=fast"
                                           << "optim.lr"
                                           << "optim.lr: must be a number";
        QTest::newRow("value out of range is re-validated")
            << "optim.lr=0"
            << "optim.lr"
            << "optim.lr: must be in (0, 10] (got 0)";
        QTest::newRow("layer bits out of range")
            << "quant.layers.layer1.0.conv1.weight_bits=9"
            << "quant.layers.layer1.0.conv1.weight_bits"
            << "quant.layers.layer1.0.conv1.weight_bits: must be 0 (float) or 2..8 bits (got 9)";
    }
    // Found by the runspec fuzz target (tests/fuzz/regressions/runspec): a Latin-1 value from
    // the shell was accepted, and the spec could then not be written as JSON.
    void overrideThatIsNotUtf8() {
        const std::string latin1 = "data.path=/d\x92ta";
        const Caught c = errorOf([&] { applyOverrides(RunSpec(), {latin1}); });
        QCOMPARE(c.field, QStringLiteral("data.path"));
        QVERIFY2(c.message.endsWith(QStringLiteral("is not valid UTF-8")), qPrintable(c.message));
    }
    void overrideErrors() {
        QFETCH(QString, assignment);
        QFETCH(QString, field);
        QFETCH(QString, message);
        const Caught c = errorOf([&] { applyOverrides(RunSpec(), {assignment.toStdString()}); });
        QCOMPARE(c.field, field);
        QCOMPARE(c.message, message);
    }

    void presetsLoad_data() {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QString>("description");
        const std::vector<PresetInfo> all = presets();
        QVERIFY(!all.empty());
        for (const PresetInfo& p : all) {
            QTest::newRow(p.name.c_str())
                << QString::fromStdString(p.name) << QString::fromStdString(p.description);
        }
    }
    void presetsLoad() {
        QFETCH(QString, name);
        QFETCH(QString, description);
        QVERIFY(!description.isEmpty());
        const Caught c = errorOf([&] { preset(name.toStdString()).validate(); });
        QCOMPARE(c.field, QStringLiteral("<no exception>"));
        const RunSpec s = preset(name.toStdString());
        QCOMPARE(QString::fromStdString(s.name), name);
        // A preset survives the round trip like any spec.
        QCOMPARE(RunSpec::fromJson(s.toJson()).toJson(), s.toJson());
    }

    void presetNamesAreUnique() {
        QStringList names;
        for (const PresetInfo& p : presets()) {
            names << QString::fromStdString(p.name);
        }
        QVERIFY(names.contains(QStringLiteral("smoke")));
        names.removeDuplicates();
        QCOMPARE(qsizetype(names.size()), qsizetype(presets().size()));
    }

    void unknownPreset() {
        QStringList known;
        for (const PresetInfo& p : presets()) {
            known << QString::fromStdString(p.name);
        }
        const Caught c = errorOf([] { preset("nope"); });
        QCOMPARE(c.field, QStringLiteral("preset"));
        QCOMPARE(c.message, QStringLiteral("preset: unknown preset \"nope\" (known: %1)")
                                .arg(known.join(QStringLiteral(", "))));
    }

    void defaultDatasetPaths() {
        QCOMPARE(defaultDatasetPath("fashion-mnist"),
                 std::string("/usr/share/datasets/fashion-mnist"));
        QCOMPARE(defaultDatasetPath("cifar10"), std::string());
    }
};

QTEST_APPLESS_MAIN(TestRunSpec)
#include "TestRunSpec.moc"
