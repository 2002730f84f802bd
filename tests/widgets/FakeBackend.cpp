#include "FakeBackend.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTemporaryDir>
#include <QTimer>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

using namespace qs::ui;

namespace qs::test {
namespace {

constexpr double kPi = 3.14159265358979323846;

QJsonObject obj(const QJsonObject& spec, const char* key) {
    return spec.value(QLatin1String(key)).toObject();
}

/// Deep merge: every key of `over` replaces or (for objects) merges into `base`.
QJsonObject merged(QJsonObject base, const QJsonObject& over) {
    for (auto it = over.begin(); it != over.end(); ++it) {
        if (it.value().isObject() && base.value(it.key()).isObject() &&
            it.key() != QLatin1String("layers")) {
            base.insert(it.key(), merged(base.value(it.key()).toObject(), it.value().toObject()));
        } else {
            base.insert(it.key(), it.value());
        }
    }
    return base;
}

struct LayerShape {
    QString name;
    QVector<qint64> shape;
};

/// The quantizable layers of a ResNet in forward order, as the engine registers them.
QVector<LayerShape> resnetLayers(const QString& arch, int inChannels, int classes) {
    QVector<LayerShape> out;
    if (arch == QLatin1String("resnet18")) {
        out.push_back({QStringLiteral("conv1"), {64, inChannels, 7, 7}});
        int in = 64;
        const int widths[] = {64, 128, 256, 512};
        for (int s = 0; s < 4; ++s) {
            for (int b = 0; b < 2; ++b) {
                const QString p = QStringLiteral("layer%1.%2.").arg(s + 1).arg(b);
                const int w = widths[s];
                out.push_back({p + "conv1", {w, in, 3, 3}});
                out.push_back({p + "conv2", {w, w, 3, 3}});
                if (in != w) {
                    out.push_back({p + "downsample.0", {w, in, 1, 1}});
                }
                in = w;
            }
        }
        out.push_back({QStringLiteral("fc"), {classes, 512}});
        return out;
    }
    const int depth = arch.mid(6).toInt();
    const int n = (depth - 2) / 6;
    out.push_back({QStringLiteral("conv1"), {16, inChannels, 3, 3}});
    int in = 16;
    for (int s = 0; s < 3; ++s) {
        const int w = 16 << s;
        for (int b = 0; b < n; ++b) {
            const QString p = QStringLiteral("layer%1.%2.").arg(s + 1).arg(b);
            out.push_back({p + "conv1", {w, in, 3, 3}});
            out.push_back({p + "conv2", {w, w, 3, 3}});
            if (in != w) {
                out.push_back({p + "downsample.0", {w, in, 1, 1}});
            }
            in = w;
        }
    }
    out.push_back({QStringLiteral("fc"), {classes, 64}});
    return out;
}

qint64 product(const QVector<qint64>& v) {
    qint64 p = 1;
    for (qint64 x : v) {
        p *= x;
    }
    return p;
}

QString num(double v) {
    return QString::number(v, 'g', 6);
}

SpecProblem problem(const QString& field, const QString& what) {
    return {field, field.isEmpty() ? what : field + QStringLiteral(": ") + what};
}

SpecProblem oneOf(const QString& field, const QString& value, const QStringList& allowed) {
    if (allowed.contains(value)) {
        return {};
    }
    return problem(field, QStringLiteral("must be one of %1 (got \"%2\")")
                              .arg(allowed.join(QStringLiteral(", ")), value));
}

SpecProblem range(const QString& field, double v, double lo, double hi) {
    if (v >= lo && v <= hi) {
        return {};
    }
    return problem(field,
                   QStringLiteral("must be in [%1, %2] (got %3)").arg(num(lo), num(hi), num(v)));
}

SpecProblem bits(const QString& field, const QJsonValue& v, bool allowFloat) {
    const int b = v.toInt();
    if ((allowFloat && b == 0) || (b >= 2 && b <= 8)) {
        return {};
    }
    return problem(field, QStringLiteral("must be ") +
                              (allowFloat ? QStringLiteral("0 (float) or ") : QString()) +
                              QStringLiteral("2..8 bits (got %1)").arg(b));
}

int stepsPerEpoch(const QJsonObject& spec) {
    const QJsonObject data = obj(spec, "data");
    const qint64 limit = data.value(QStringLiteral("train_limit")).toInteger();
    const qint64 n = limit > 0 ? limit : 60000;
    const qint64 batch = std::max<qint64>(1, data.value(QStringLiteral("batch_size")).toInteger());
    return int((n + batch - 1) / batch);
}

/// A layer's state at a training step: step sizes drift down and settle, errors follow the
/// step (about step²/12), clip rates of a few percent.
LayerRow layerState(const LayerRow& plan, int index, qint64 step, bool perChannel) {
    LayerRow r = plan;
    const double fanIn = double(r.paramCount) / double(std::max<qint64>(1, r.weightShape.value(0)));
    const double sigma = std::sqrt(2.0 / std::max(1.0, fanIn));
    const double settle = 0.72 + 0.28 * std::exp(-double(step) / 450.0);
    const double wobble = 1.0 + 0.06 * std::sin(index * 1.7 + double(step) / 260.0);
    if (r.weightBits > 0) {
        const double qp = std::pow(2.0, r.weightBits - 1) - 1;
        const double s = 1.6 * sigma / std::sqrt(qp) * settle * wobble;
        const int channels = perChannel ? int(r.weightShape.value(0)) : 1;
        r.weightSteps.clear();
        for (int c = 0; c < channels; ++c) {
            r.weightSteps << s * (1.0 + (perChannel ? 0.15 * std::sin(c * 0.9 + index) : 0.0));
        }
        r.weightClipRate = 0.004 + 0.012 * (0.5 + 0.5 * std::sin(index * 2.3));
        r.weightError = s * s / 12.0 * (1.0 + 3.0 * r.weightClipRate) * (0.9 + 0.1 * wobble);
    }
    if (r.actBits > 0) {
        const double qp = std::pow(2.0, r.actBits) - 1;
        r.actStep = 4.0 / qp * (0.8 + 0.3 * std::sin(index * 0.8)) *
                    (0.8 + 0.2 * std::exp(-double(step) / 600.0));
        r.actClipRate = 0.01 + 0.03 * (0.5 + 0.5 * std::cos(index * 1.3));
        r.actError = r.actStep * r.actStep / 12.0 * (1.0 + 5.0 * r.actClipRate);
    }
    return r;
}

/// The engine's rules for the method options (RunSpec::validate), same order and words.
SpecProblem methodProblem(const QJsonObject& spec) {
    const QJsonObject method = obj(spec, "method");
    const QString name = method.value(QStringLiteral("name")).toString();
    const QJsonObject squat = method.value(QStringLiteral("squat")).toObject();
    const QJsonObject nt = method.value(QStringLiteral("nt")).toObject();
    const QJsonObject ptq = method.value(QStringLiteral("ptq")).toObject();
    const QJsonObject distill = method.value(QStringLiteral("distill")).toObject();
    const int epochs = obj(spec, "optim").value(QStringLiteral("epochs")).toInt();
    SpecProblem p;
    auto check = [&p](const SpecProblem& q) {
        if (p.ok() && !q.ok()) {
            p = q;
        }
    };
    auto openRange = [](const QString& field, double v, double lo, double hi) {
        return v > lo && v <= hi ? SpecProblem{}
                                 : problem(field, QStringLiteral("must be in (%1, %2] (got %3)")
                                                      .arg(num(lo), num(hi), num(v)));
    };
    check(oneOf(QStringLiteral("method.squat.schedule"),
                squat.value(QStringLiteral("schedule")).toString(),
                {QStringLiteral("per-step"), QStringLiteral("alternate")}));
    check(range(QStringLiteral("method.squat.k"), squat.value(QStringLiteral("k")).toDouble(), 1,
                1000));
    check(oneOf(QStringLiteral("method.squat.site"), squat.value(QStringLiteral("site")).toString(),
                {QStringLiteral("latent"), QStringLiteral("quantized")}));
    check(openRange(QStringLiteral("method.squat.rho"),
                    squat.value(QStringLiteral("rho")).toDouble(), 0.0, 10.0));
    check(range(QStringLiteral("method.squat.rho_warmup_epochs"),
                squat.value(QStringLiteral("rho_warmup_epochs")).toDouble(), 0.0, epochs));
    const bool joint = squat.value(QStringLiteral("joint")).toBool();
    if (p.ok() && joint &&
        squat.value(QStringLiteral("schedule")).toString() != QLatin1String("per-step")) {
        return problem(QStringLiteral("method.squat.joint"),
                       QStringLiteral("joint SAM over weights and step sizes has no alternate "
                                      "schedule"));
    }
    if (p.ok() && joint &&
        squat.value(QStringLiteral("site")).toString() != QLatin1String("latent")) {
        return problem(QStringLiteral("method.squat.joint"),
                       QStringLiteral("joint SAM perturbs the latent weights only"));
    }
    const double lambda0 = nt.value(QStringLiteral("lambda0")).toDouble();
    const double endLambda = nt.value(QStringLiteral("end_lambda")).toDouble();
    check(range(QStringLiteral("method.nt.lambda0"), lambda0, 0.0, 100.0));
    check(range(QStringLiteral("method.nt.tau"), nt.value(QStringLiteral("tau")).toDouble(), 0.0,
                1e12));
    if (p.ok() && nt.value(QStringLiteral("tau")).toDouble() == 0.0 && lambda0 > 0.0 &&
        !(endLambda > 0.0 && endLambda < lambda0)) {
        return problem(
            QStringLiteral("method.nt.end_lambda"),
            QStringLiteral("must be in (0, lambda0) when tau is 0 (got %1)").arg(num(endLambda)));
    }
    check(openRange(QStringLiteral("method.nt.end_fraction"),
                    nt.value(QStringLiteral("end_fraction")).toDouble(), 0.0, 1.0));
    check(oneOf(QStringLiteral("method.nt.distribution"),
                nt.value(QStringLiteral("distribution")).toString(),
                {QStringLiteral("uniform"), QStringLiteral("normal")}));
    check(oneOf(QStringLiteral("method.nt.amplitude"),
                nt.value(QStringLiteral("amplitude")).toString(),
                {QStringLiteral("error"), QStringLiteral("half-step")}));
    check(oneOf(QStringLiteral("method.ptq.calibration"),
                ptq.value(QStringLiteral("calibration")).toString(),
                {QStringLiteral("minmax"), QStringLiteral("percentile"), QStringLiteral("mse")}));
    check(openRange(QStringLiteral("method.ptq.percentile"),
                    ptq.value(QStringLiteral("percentile")).toDouble(), 50.0, 100.0));
    check(range(QStringLiteral("method.ptq.batches"),
                ptq.value(QStringLiteral("batches")).toDouble(), 1, 10000));
    const QString init = spec.value(QStringLiteral("init_checkpoint")).toString();
    if (p.ok() && name == QLatin1String("ptq") && init.isEmpty()) {
        return problem(QStringLiteral("init_checkpoint"),
                       QStringLiteral("ptq calibrates a trained model: name its float checkpoint"));
    }
    check(range(QStringLiteral("method.distill.alpha"),
                distill.value(QStringLiteral("alpha")).toDouble(), 0.0, 1.0));
    check(openRange(QStringLiteral("method.distill.temperature"),
                    distill.value(QStringLiteral("temperature")).toDouble(), 0.0, 100.0));
    if (p.ok() && distill.value(QStringLiteral("enabled")).toBool()) {
        if (name == QLatin1String("fp") || name == QLatin1String("ptq")) {
            return problem(QStringLiteral("method.distill.enabled"),
                           QStringLiteral("distillation is for the QAT methods (lsq, squat, nt), "
                                          "not ") +
                               name);
        }
        if (distill.value(QStringLiteral("teacher")).toString().isEmpty() && init.isEmpty()) {
            return problem(QStringLiteral("method.distill.teacher"),
                           QStringLiteral("distillation needs a float teacher: set "
                                          "method.distill.teacher or init_checkpoint"));
        }
    }
    return p;
}

QVector<MetricPoint> metricsAt(qint64 step, int stepsPerEpoch, int epochs, double finalAcc,
                               double lr0, std::mt19937& rng, const QString& method) {
    std::normal_distribution<double> noise(0.0, 1.0);
    QVector<MetricPoint> out;
    const double t = double(step);
    const double total = double(stepsPerEpoch) * epochs;
    const double acc = std::min(
        0.999, finalAcc + 0.015 - (finalAcc - 0.1) * std::exp(-t / 230.0) + 0.012 * noise(rng));
    const double loss = std::max(
        0.02, 0.28 + (1.0 - finalAcc) * 1.2 + 2.0 * std::exp(-t / 210.0) + 0.05 * noise(rng));
    out.push_back({step, QStringLiteral("train/loss"), loss});
    out.push_back({step, QStringLiteral("train/acc"), acc});
    out.push_back({step, QStringLiteral("lr"), lr0 * 0.5 * (1.0 + std::cos(kPi * t / total))});
    // The method's own state, as the trainer streams it.
    const bool qat = method == QLatin1String("lsq") || method == QLatin1String("squat") ||
                     method == QLatin1String("nt");
    if (qat) {
        out.push_back({step, QStringLiteral("quant/step_grad_norm"),
                       (0.004 + 0.03 * std::exp(-t / 400.0)) * std::exp(0.15 * noise(rng))});
    }
    if (method == QLatin1String("squat")) {
        const double rho = 0.05;
        const double gap = (0.02 + 0.09 * std::exp(-t / 500.0)) * (1.0 + 0.2 * noise(rng));
        out.push_back({step, QStringLiteral("squat/rho"), rho});
        out.push_back({step, QStringLiteral("squat/grad_norm"),
                       (0.4 + 1.5 * std::exp(-t / 300.0)) * std::exp(0.1 * noise(rng))});
        out.push_back({step, QStringLiteral("squat/perturb_norm"), rho});
        out.push_back({step, QStringLiteral("squat/perturbed_loss"), loss + gap});
        out.push_back({step, QStringLiteral("squat/loss_gap"), gap});
    }
    if (method == QLatin1String("nt")) {
        const double tau = 0.8 * total / std::log(100.0);  // lambda = 0.01 at 80 % of training
        out.push_back({step, QStringLiteral("nt/lambda"), std::exp(-t / tau)});
    }
    return out;
}

QVector<MetricPoint> evalAt(qint64 step, int epoch, int epochs, double finalAcc) {
    const double progress = double(epoch + 1) / double(epochs);
    const double acc =
        finalAcc - 0.06 * (1.0 - progress) * (1.0 - progress) - 0.004 * (epochs - epoch - 1);
    return {{step, QStringLiteral("eval/acc"), acc},
            {step, QStringLiteral("eval/loss"), 0.25 + (1.0 - acc) * 1.3}};
}

}  // namespace

FakeBackend::FakeBackend(QObject* parent) : RunBackend(parent), m_landscapeTimer(new QTimer(this)) {
    connect(m_landscapeTimer, &QTimer::timeout, this, &FakeBackend::landscapeTick);
}

FakeBackend::~FakeBackend() = default;

QJsonObject FakeBackend::defaultSpec() {
    static const char* text = R"({
  "data": {"augment": true, "batch_size": 64, "crop_padding": -1, "dataset": "fashion-mnist",
           "eval_batch_size": 1000, "flip": true, "path": "", "test_limit": 1000,
           "train_limit": 2048, "task": "", "max_length": 128, "lower_case": true,
           "vocab_min_frequency": 2},
  "distributed": {"processes": 1, "timeout_s": 60.0, "bucket_mb": 25.0},
  "init_checkpoint": "",
  "log_every": 4,
  "method": {"name": "lsq",
             "squat": {"schedule": "per-step", "k": 1, "site": "latent", "rho": 0.05,
                       "rho_warmup_epochs": 0.0, "asam": false, "joint": false},
             "nt": {"lambda0": 1.0, "tau": 0.0, "end_lambda": 0.01, "end_fraction": 0.8,
                    "distribution": "uniform", "amplitude": "error", "weights": true,
                    "activations": true, "learn_grad_scale": false},
             "ptq": {"calibration": "mse", "percentile": 99.99, "batches": 4},
             "distill": {"enabled": false, "teacher": "", "alpha": 0.5, "temperature": 1.0,
                         "hidden_weight": 0.0, "attention_weight": 0.0}},
  "model": {"arch": "resnet20", "in_channels": 0, "num_classes": 0,
            "bert": {"layers": 4, "hidden": 256, "heads": 4, "intermediate": 1024,
                     "max_positions": 512, "vocab_size": 8000, "dropout": 0.1,
                     "pretrained": ""}},
  "name": "smoke",
  "optim": {"beta1": 0.9, "beta2": 0.999, "epochs": 1, "gamma": 0.1, "lr": 0.05,
            "milestones": [], "momentum": 0.9, "nesterov": true, "optimizer": "sgd",
            "schedule": "cosine", "warmup_epochs": 0.0, "weight_decay": 0.0005},
  "quant": {"act_bits": 4, "first_last": "auto", "grad_scale": "numel", "layers": {},
            "per_channel": false, "group_rows": 0, "embedding_bits": -1, "attention_bits": -1,
            "scale_weight_decay_by_bits": true, "weight_bits": 4},
  "seed": 1,
  "state_every": 8,
  "threads": 0,
  "version": 1
})";
    return QJsonDocument::fromJson(text).object();
}

QVector<PresetInfo> FakeBackend::presets() const {
    return {
        {QStringLiteral("smoke"),
         QStringLiteral("ResNet-20, LSQ W4A4 from scratch on 2k Fashion-MNIST images, 1 epoch")},
        {QStringLiteral("demo-float"),
         QStringLiteral("ResNet-20 float on Fashion-MNIST, 3 epochs")},
        {QStringLiteral("lsq-w3a3"),
         QStringLiteral("ResNet-20 LSQ W3A3 on Fashion-MNIST, 1 epoch")}};
}

QJsonObject FakeBackend::presetSpec(const QString& name) const {
    QJsonObject s = defaultSpec();
    s.insert(QStringLiteral("name"), name);
    if (name == QLatin1String("demo-float")) {
        QJsonObject m = obj(s, "method");
        m.insert(QStringLiteral("name"), QStringLiteral("fp"));
        s.insert(QStringLiteral("method"), m);
        QJsonObject o = obj(s, "optim");
        o.insert(QStringLiteral("epochs"), 3);
        o.insert(QStringLiteral("lr"), 0.1);
        s.insert(QStringLiteral("optim"), o);
        QJsonObject d = obj(s, "data");
        d.insert(QStringLiteral("train_limit"), 0);
        d.insert(QStringLiteral("test_limit"), 0);
        d.insert(QStringLiteral("batch_size"), 128);
        s.insert(QStringLiteral("data"), d);
    } else if (name == QLatin1String("lsq-w3a3")) {
        QJsonObject q = obj(s, "quant");
        q.insert(QStringLiteral("weight_bits"), 3);
        q.insert(QStringLiteral("act_bits"), 3);
        s.insert(QStringLiteral("quant"), q);
    }
    return s;
}

SpecProblem FakeBackend::validate(const QJsonObject& spec) const {
    const QJsonObject model = obj(spec, "model");
    const QJsonObject data = obj(spec, "data");
    const QJsonObject quant = obj(spec, "quant");
    const QJsonObject optim = obj(spec, "optim");
    const int version = spec.value(QStringLiteral("version")).toInt();
    if (version != 1) {
        return problem(QStringLiteral("version"),
                       QStringLiteral("unsupported spec version %1 (this build reads version 1)")
                           .arg(version));
    }
    if (spec.value(QStringLiteral("name")).toString().isEmpty()) {
        return problem(QStringLiteral("name"), QStringLiteral("must not be empty"));
    }
    const QString arch = model.value(QStringLiteral("arch")).toString();
    SpecProblem p;
    auto check = [&p](const SpecProblem& q) {
        if (p.ok() && !q.ok()) {
            p = q;
        }
    };
    check(oneOf(QStringLiteral("model.arch"), arch,
                {QStringLiteral("resnet20"), QStringLiteral("resnet32"), QStringLiteral("resnet44"),
                 QStringLiteral("resnet56"), QStringLiteral("resnet18")}));
    check(oneOf(QStringLiteral("data.dataset"), data.value(QStringLiteral("dataset")).toString(),
                {QStringLiteral("fashion-mnist"), QStringLiteral("mnist"),
                 QStringLiteral("cifar10"), QStringLiteral("cifar100")}));
    check(range(QStringLiteral("data.batch_size"),
                data.value(QStringLiteral("batch_size")).toDouble(), 1, 65536));
    check(oneOf(QStringLiteral("method.name"),
                obj(spec, "method").value(QStringLiteral("name")).toString(),
                {QStringLiteral("fp"), QStringLiteral("lsq"), QStringLiteral("squat"),
                 QStringLiteral("nt"), QStringLiteral("ptq")}));
    check(methodProblem(spec));
    check(bits(QStringLiteral("quant.weight_bits"), quant.value(QStringLiteral("weight_bits")),
               false));
    check(bits(QStringLiteral("quant.act_bits"), quant.value(QStringLiteral("act_bits")), false));
    check(oneOf(QStringLiteral("quant.first_last"),
                quant.value(QStringLiteral("first_last")).toString(),
                {QStringLiteral("auto"), QStringLiteral("8bit"), QStringLiteral("float"),
                 QStringLiteral("same")}));
    if (!p.ok()) {
        return p;
    }
    const QJsonObject layers = quant.value(QStringLiteral("layers")).toObject();
    QStringList known;
    for (const LayerShape& l : resnetLayers(arch, 1, 10)) {
        known << l.name;
    }
    for (auto it = layers.begin(); it != layers.end(); ++it) {
        const QString base = QStringLiteral("quant.layers.") + it.key();
        if (!known.contains(it.key())) {
            return problem(base, QStringLiteral("no layer of %1 has this path").arg(arch));
        }
        const QJsonObject e = it.value().toObject();
        if (e.contains(QStringLiteral("weight_bits"))) {
            check(bits(base + QStringLiteral(".weight_bits"),
                       e.value(QStringLiteral("weight_bits")), true));
        }
        if (e.contains(QStringLiteral("act_bits"))) {
            check(bits(base + QStringLiteral(".act_bits"), e.value(QStringLiteral("act_bits")),
                       true));
        }
    }
    if (!p.ok()) {
        return p;
    }
    const QString optimizer = optim.value(QStringLiteral("optimizer")).toString();
    check(oneOf(QStringLiteral("optim.optimizer"), optimizer,
                {QStringLiteral("sgd"), QStringLiteral("adamw")}));
    const double lr = optim.value(QStringLiteral("lr")).toDouble();
    if (p.ok() && (!(lr > 0.0) || lr > 10.0)) {
        return problem(QStringLiteral("optim.lr"),
                       QStringLiteral("must be in (0, 10] (got %1)").arg(num(lr)));
    }
    const double momentum = optim.value(QStringLiteral("momentum")).toDouble();
    check(range(QStringLiteral("optim.momentum"), momentum, 0.0, 0.999999));
    check(range(QStringLiteral("optim.weight_decay"),
                optim.value(QStringLiteral("weight_decay")).toDouble(), 0.0, 1.0));
    const QString schedule = optim.value(QStringLiteral("schedule")).toString();
    check(oneOf(QStringLiteral("optim.schedule"), schedule,
                {QStringLiteral("cosine"), QStringLiteral("step"), QStringLiteral("constant")}));
    const int epochs = optim.value(QStringLiteral("epochs")).toInt();
    check(range(QStringLiteral("optim.epochs"), epochs, 1, 10000));
    check(range(QStringLiteral("optim.warmup_epochs"),
                optim.value(QStringLiteral("warmup_epochs")).toDouble(), 0.0, epochs));
    if (!p.ok()) {
        return p;
    }
    const QJsonArray milestones = optim.value(QStringLiteral("milestones")).toArray();
    for (int i = 0; i < milestones.size(); ++i) {
        const QString f = QStringLiteral("optim.milestones[%1]").arg(i);
        check(range(f, milestones[i].toDouble(), 1, epochs));
        if (p.ok() && i > 0 && milestones[i].toInt() <= milestones[i - 1].toInt()) {
            return problem(f, QStringLiteral("milestones must be strictly increasing"));
        }
    }
    if (p.ok() && schedule == QLatin1String("step") && milestones.isEmpty()) {
        return problem(QStringLiteral("optim.milestones"),
                       QStringLiteral("the step schedule needs at least one milestone"));
    }
    if (p.ok() && optim.value(QStringLiteral("nesterov")).toBool() &&
        optimizer == QLatin1String("sgd") && momentum == 0.0) {
        return problem(QStringLiteral("optim.nesterov"),
                       QStringLiteral("Nesterov momentum needs optim.momentum > 0"));
    }
    check(range(QStringLiteral("threads"), spec.value(QStringLiteral("threads")).toDouble(), 0,
                1024));
    check(range(QStringLiteral("log_every"), spec.value(QStringLiteral("log_every")).toDouble(), 1,
                1000000));
    check(range(QStringLiteral("state_every"), spec.value(QStringLiteral("state_every")).toDouble(),
                1, 1000000));
    return p;
}

QJsonObject FakeBackend::normalized(const QJsonObject& spec) const {
    return merged(defaultSpec(), spec);
}

QVector<LayerRow> FakeBackend::plannedLayers(const QJsonObject& spec) const {
    if (!validate(spec).ok()) {
        return {};
    }
    const QJsonObject model = obj(spec, "model");
    const QJsonObject quant = obj(spec, "quant");
    const QString dataset = obj(spec, "data").value(QStringLiteral("dataset")).toString();
    const bool color = dataset.startsWith(QLatin1String("cifar"));
    int in = model.value(QStringLiteral("in_channels")).toInt();
    int classes = model.value(QStringLiteral("num_classes")).toInt();
    in = in > 0 ? in : (color ? 3 : 1);
    classes = classes > 0 ? classes : (dataset == QLatin1String("cifar100") ? 100 : 10);
    const bool fp =
        obj(spec, "method").value(QStringLiteral("name")).toString() == QLatin1String("fp");
    const int wb = quant.value(QStringLiteral("weight_bits")).toInt();
    const int ab = quant.value(QStringLiteral("act_bits")).toInt();
    QString firstLast = quant.value(QStringLiteral("first_last")).toString();
    if (firstLast == QLatin1String("auto")) {
        firstLast = QStringLiteral("8bit");  // the engine's rule for ResNets
    }
    const QJsonObject overrides = quant.value(QStringLiteral("layers")).toObject();
    QVector<LayerRow> rows;
    const QVector<LayerShape> shapes =
        resnetLayers(model.value(QStringLiteral("arch")).toString(), in, classes);
    for (int i = 0; i < shapes.size(); ++i) {
        LayerRow r;
        r.layer = shapes[i].name;
        r.weightShape = shapes[i].shape;
        r.paramCount = product(shapes[i].shape);
        if (!fp) {
            const bool edge = i == 0 || i == shapes.size() - 1;
            r.weightBits = wb;
            r.actBits = ab;
            if (edge && firstLast == QLatin1String("8bit")) {
                r.weightBits = r.actBits = 8;
            } else if (edge && firstLast == QLatin1String("float")) {
                r.weightBits = r.actBits = 0;
            }
            const QJsonObject o = overrides.value(r.layer).toObject();
            r.weightBits = o.value(QStringLiteral("weight_bits")).toInt(r.weightBits);
            r.actBits = o.value(QStringLiteral("act_bits")).toInt(r.actBits);
        }
        rows << r;
    }
    return rows;
}

QStringList FakeBackend::missingPaths(const QJsonObject& spec) const {
    QStringList out;
    const QString data = obj(spec, "data").value(QStringLiteral("path")).toString();
    if (!data.isEmpty() && !QFileInfo::exists(data)) {
        out << QStringLiteral("data.path: ") + data;
    }
    const QString ckpt = spec.value(QStringLiteral("init_checkpoint")).toString();
    if (!ckpt.isEmpty() && !QFileInfo::exists(ckpt)) {
        out << QStringLiteral("init_checkpoint: ") + ckpt;
    }
    const QJsonObject distill = obj(spec, "method").value(QStringLiteral("distill")).toObject();
    const QString teacher = distill.value(QStringLiteral("teacher")).toString();
    if (distill.value(QStringLiteral("enabled")).toBool() && !teacher.isEmpty() &&
        !QFileInfo::exists(teacher)) {
        out << QStringLiteral("method.distill.teacher: ") + teacher;
    }
    return out;
}

qint64 FakeBackend::startRun(const QJsonObject& spec, QString* error) {
    if (!m_failNextStart.isEmpty()) {
        *error = m_failNextStart;
        m_failNextStart.clear();
        return 0;
    }
    if (m_running) {
        *error = QStringLiteral("a run is already in progress");
        return 0;
    }
    const SpecProblem p = validate(spec);
    if (!p.ok()) {
        *error = p.message;
        return 0;
    }
    const qint64 id = m_nextId++;
    RunData d;
    d.spec = spec;
    d.summary.id = id;
    d.summary.name = spec.value(QStringLiteral("name")).toString();
    d.summary.status = QStringLiteral("running");
    d.summary.method = obj(spec, "method").value(QStringLiteral("name")).toString();
    const QJsonObject q = obj(spec, "quant");
    d.summary.bits = d.summary.method == QLatin1String("fp")
                         ? QStringLiteral("float")
                         : QStringLiteral("W%1A%2")
                               .arg(q.value(QStringLiteral("weight_bits")).toInt())
                               .arg(q.value(QStringLiteral("act_bits")).toInt());
    d.summary.arch = obj(spec, "model").value(QStringLiteral("arch")).toString();
    d.summary.dataset = obj(spec, "data").value(QStringLiteral("dataset")).toString();
    d.summary.created = QDateTime::currentDateTime();
    m_runs.insert(id, d);
    m_started << spec;
    m_liveId = id;
    m_liveStep = 0;
    m_running = true;
    m_paused = false;
    Q_EMIT runStarted(id, spec);
    Q_EMIT runsChanged();
    return id;
}

void FakeBackend::pauseRun() {
    if (!m_running) {
        return;
    }
    m_paused = true;
    JobProgress p;
    p.runId = m_liveId;
    p.phase = QStringLiteral("paused");
    Q_EMIT progressChanged(p);
}

void FakeBackend::resumeRun() {
    if (!m_running) {
        return;
    }
    m_paused = false;
    JobProgress p;
    p.runId = m_liveId;
    p.phase = QStringLiteral("training");
    Q_EMIT progressChanged(p);
}

void FakeBackend::cancelRun() {
    if (m_running) {
        finishLive(QStringLiteral("cancelled"));
    }
}

void FakeBackend::requestHistogram(const QString& layer) {
    m_histogramRequests << layer;
    if (!m_answerHistograms || m_liveId == 0) {
        return;
    }
    int b = 4;
    for (const LayerRow& r : plannedLayers(m_runs.value(m_liveId).spec)) {
        if (r.layer == layer) {
            b = r.weightBits;
        }
    }
    Q_EMIT histogramUpdated(makeHistogram(m_liveId, m_liveStep, layer, b));
}

QVector<RunSummary> FakeBackend::listRuns() const {
    QVector<RunSummary> out;
    for (const RunData& d : m_runs) {
        out << d.summary;
    }
    return out;
}

RunData FakeBackend::loadRun(qint64 runId) const {
    return m_runs.value(runId);
}

bool FakeBackend::renameRun(qint64 runId, const QString& name, QString* error) {
    if (!m_runs.contains(runId)) {
        *error = QStringLiteral("no run %1").arg(runId);
        return false;
    }
    m_runs[runId].summary.name = name;
    Q_EMIT runsChanged();
    return true;
}

bool FakeBackend::deleteRun(qint64 runId, QString* error) {
    if (runId == m_liveId && m_running) {
        *error = QStringLiteral("run %1 is running").arg(runId);
        return false;
    }
    if (m_runs.remove(runId) == 0) {
        *error = QStringLiteral("no run %1").arg(runId);
        return false;
    }
    Q_EMIT runsChanged();
    return true;
}

bool FakeBackend::measureSharpness(qint64 runId, QString* error) {
    if (!m_failNextAnalysisStart.isEmpty()) {
        *error = m_failNextAnalysisStart;
        m_failNextAnalysisStart.clear();
        return false;
    }
    if (m_analysisRun != 0) {
        *error = QStringLiteral(
                     "the sharpness analysis of run %1 is in progress; wait for it to "
                     "end")
                     .arg(m_analysisRun);
        return false;
    }
    if (!m_runs.contains(runId)) {
        *error = QStringLiteral("no run with id %1 in %2").arg(runId).arg(storePath());
        return false;
    }
    if (m_running) {
        *error =
            QStringLiteral("run %1 is training; measure sharpness after it ends").arg(m_liveId);
        return false;
    }
    m_analysisRun = runId;
    m_sharpnessRequests << runId;
    // Answered from the event loop, as the real backend's worker thread would.
    QTimer::singleShot(0, this, [this, runId] {
        Q_EMIT analysisProgress(runId, QStringLiteral("rho-ball, dequantized"), 0.25);
        Q_EMIT analysisProgress(runId, QStringLiteral("epsilon, quantize-after"), 0.75);
        m_analysisRun = 0;
        if (!m_failAnalysis.isEmpty()) {
            const QString message = m_failAnalysis;
            m_failAnalysis.clear();
            Q_EMIT analysisFailed(runId, message);
            return;
        }
        RunData& run = m_runs[runId];
        const QVector<SharpnessPoint> figures =
            makeSharpness(run.summary.method == QLatin1String("fp"), 1000 + runId);
        run.sharpness += figures;
        for (const SharpnessPoint& f : figures) {
            run.summary.finalMetrics.insert(
                QStringLiteral("sharpness/%1/%2").arg(f.measure, f.mode), f.value);
        }
        Q_EMIT sharpnessMeasured(runId, figures);
        Q_EMIT runsChanged();
    });
    return true;
}

QVector<SharpnessPoint> FakeBackend::makeSharpness(bool floatModel, qint64 step) {
    QVector<SharpnessPoint> out;
    const QStringList modes =
        floatModel ? QStringList{QStringLiteral("float")}
                   : QStringList{QStringLiteral("dequantized"), QStringLiteral("quantize-after")};
    for (const QString& mode : modes) {
        const double base = 0.2815;
        const double extra = mode == QLatin1String("quantize-after") ? 1.6 : 1.0;
        SharpnessPoint rho;
        rho.measure = QStringLiteral("rho-ball");
        rho.mode = mode;
        rho.radius = 0.05;
        rho.value = 0.0421 * extra;
        rho.baseLoss = base;
        rho.perturbedLoss = base + rho.value;
        rho.samples = 1000;
        rho.step = step;
        out << rho;
        SharpnessPoint eps = rho;
        eps.measure = QStringLiteral("epsilon");
        eps.radius = 0.001;
        eps.value = 1.37 * extra;
        eps.perturbedLoss = base + eps.value / 100.0 * (1.0 + base);
        out << eps;
    }
    return out;
}

QMap<QString, QString> FakeBackend::versions() const {
    return {{QStringLiteral("Quantscape"), QStringLiteral("0.1.0")},
            {QStringLiteral("Qt"), QString::fromLatin1(qVersion())},
            {QStringLiteral("LibTorch"), QStringLiteral("1.13.1")},
            {QStringLiteral("SQLite"), QStringLiteral("3.40.1")}};
}

qint64 FakeBackend::addStoredRun(RunData run) {
    const qint64 id = m_nextId++;
    run.summary.id = id;
    for (LayerSnapshot& s : run.layerHistory) {
        s.runId = id;
    }
    m_runs.insert(id, run);
    Q_EMIT runsChanged();
    return id;
}

RunData FakeBackend::makeRun(const QString& name, const QString& method, int weightBits,
                             int actBits, double finalAcc, int epochs, const QString& status) {
    FakeBackend planner;
    QJsonObject spec = planner.presetSpec(QStringLiteral("smoke"));
    spec.insert(QStringLiteral("name"), name);
    QJsonObject m = obj(spec, "method");
    m.insert(QStringLiteral("name"), method);
    spec.insert(QStringLiteral("method"), m);
    if (method != QLatin1String("fp")) {  // a float run keeps the (unused) default bits
        QJsonObject q = obj(spec, "quant");
        q.insert(QStringLiteral("weight_bits"), weightBits);
        q.insert(QStringLiteral("act_bits"), actBits);
        spec.insert(QStringLiteral("quant"), q);
    }
    QJsonObject d = obj(spec, "data");
    d.insert(QStringLiteral("train_limit"), 0);
    d.insert(QStringLiteral("test_limit"), 0);
    d.insert(QStringLiteral("batch_size"), 128);
    spec.insert(QStringLiteral("data"), d);
    QJsonObject o = obj(spec, "optim");
    o.insert(QStringLiteral("epochs"), epochs);
    spec.insert(QStringLiteral("optim"), o);
    spec.insert(QStringLiteral("log_every"), 20);
    spec.insert(QStringLiteral("state_every"), 100);

    RunData run;
    run.spec = spec;
    run.summary.name = name;
    run.summary.status = status;
    run.summary.method = method;
    run.summary.bits = method == QLatin1String("fp")
                           ? QStringLiteral("float")
                           : QStringLiteral("W%1A%2").arg(weightBits).arg(actBits);
    run.summary.arch = QStringLiteral("resnet20");
    run.summary.dataset = QStringLiteral("fashion-mnist");
    run.summary.created = QDateTime(QDate(2024, 5, 14), QTime(9, 30)).addSecs(qHash(name) % 86400);
    run.summary.finished = run.summary.created.addSecs(epochs * 240);
    const int perEpoch = stepsPerEpoch(spec);
    const qint64 total = qint64(perEpoch) * epochs;
    std::mt19937 rng(qHash(name));
    const QVector<LayerRow> plan = planner.plannedLayers(spec);
    for (qint64 step = 0; step < total; step += 20) {
        run.metrics += metricsAt(step, perEpoch, epochs, finalAcc, 0.05, rng, method);
        if (step % 100 == 0) {
            LayerSnapshot snap;
            snap.step = step;
            for (int i = 0; i < plan.size(); ++i) {
                snap.layers << layerState(plan[i], i, step, false);
            }
            run.layerHistory << snap;
        }
    }
    for (int e = 0; e < epochs; ++e) {
        run.metrics += evalAt(qint64(perEpoch) * (e + 1), e, epochs, finalAcc);
    }
    std::stable_sort(run.metrics.begin(), run.metrics.end(),
                     [](const MetricPoint& a, const MetricPoint& b) { return a.step < b.step; });
    run.summary.finalMetrics = {{QStringLiteral("eval/acc"), finalAcc},
                                {QStringLiteral("eval/best_acc"), finalAcc + 0.0031},
                                {QStringLiteral("eval/loss"), 0.25 + (1.0 - finalAcc) * 1.3}};
    return run;
}

void FakeBackend::streamLive(qint64 fromStep, qint64 toStep) {
    if (m_liveId == 0) {
        return;
    }
    RunData& run = m_runs[m_liveId];
    const QJsonObject optim = obj(run.spec, "optim");
    const int epochs = optim.value(QStringLiteral("epochs")).toInt();
    const int perEpoch = stepsPerEpoch(run.spec);
    const int logEvery = std::max(1, run.spec.value(QStringLiteral("log_every")).toInt());
    const int stateEvery = std::max(1, run.spec.value(QStringLiteral("state_every")).toInt());
    const bool perChannel = obj(run.spec, "quant").value(QStringLiteral("per_channel")).toBool();
    const QVector<LayerRow> plan = plannedLayers(run.spec);
    std::mt19937 rng(quint32(m_liveId * 7919 + fromStep));
    const double finalAcc = run.summary.method == QLatin1String("fp") ? 0.915 : 0.897;
    QVector<MetricPoint> batch;
    for (qint64 step = fromStep; step < toStep; ++step) {
        if (step % logEvery == 0) {
            batch +=
                metricsAt(step, perEpoch, epochs, finalAcc,
                          optim.value(QStringLiteral("lr")).toDouble(), rng, run.summary.method);
        }
        if ((step + 1) % perEpoch == 0) {
            batch += evalAt(step + 1, int((step + 1) / perEpoch) - 1, epochs, finalAcc);
        }
        if (step % stateEvery == 0) {
            LayerSnapshot snap;
            snap.runId = m_liveId;
            snap.step = step;
            for (int i = 0; i < plan.size(); ++i) {
                snap.layers << layerState(plan[i], i, step, perChannel);
            }
            run.layerHistory << snap;
            Q_EMIT layerStatesUpdated(snap);
        }
        if (batch.size() >= 30 || step + 1 == toStep) {
            run.metrics += batch;
            Q_EMIT metricsAppended(m_liveId, batch);
            batch.clear();
        }
    }
    m_liveStep = toStep;
    JobProgress p;
    p.runId = m_liveId;
    p.phase = m_paused ? QStringLiteral("paused") : QStringLiteral("training");
    p.totalEpochs = epochs;
    p.epoch = int(toStep / perEpoch);
    p.step = toStep;
    p.totalSteps = qint64(perEpoch) * epochs;
    p.elapsedSeconds = double(toStep) * 0.13;
    p.etaSeconds = double(p.totalSteps - toStep) * 0.13;
    Q_EMIT progressChanged(p);
    Q_EMIT logAppended(
        {LogEntry{LogEntry::Info, QStringLiteral("step %1/%2").arg(toStep).arg(p.totalSteps),
                  QDateTime::currentDateTime()}});
}

void FakeBackend::finishLive(const QString& status, const QString& error) {
    if (m_liveId == 0) {
        return;
    }
    m_running = false;
    m_paused = false;
    RunData& run = m_runs[m_liveId];
    run.summary.status = status;
    run.summary.finished = QDateTime::currentDateTime();
    RunEnd end;
    end.runId = m_liveId;
    end.status = status;
    end.error = error;
    if (status == QLatin1String("finished")) {
        double acc = 0.0;
        double best = 0.0;
        for (const MetricPoint& m : run.metrics) {
            if (m.key == QLatin1String("eval/acc")) {
                acc = m.value;
                best = std::max(best, m.value);
            }
        }
        end.finalMetrics = {{QStringLiteral("eval/acc"), acc},
                            {QStringLiteral("eval/best_acc"), best}};
        run.summary.finalMetrics = end.finalMetrics;
    }
    Q_EMIT runFinished(end);
    Q_EMIT runsChanged();
}

WeightHistogram FakeBackend::makeHistogram(qint64 runId, qint64 step, const QString& layer,
                                           int bits) {
    WeightHistogram h;
    h.runId = runId;
    h.step = step;
    h.layer = layer;
    h.bits = bits;
    const double sigma = 0.085;
    h.lo = -4.2 * sigma;
    h.hi = 4.2 * sigma;
    const int bins = 121;
    if (bits > 0) {
        h.qn = std::pow(2.0, bits - 1);
        h.qp = h.qn - 1;
        h.stepSize = 2.6 * sigma / h.qn * 1.25;
    }
    for (int i = 0; i < bins; ++i) {
        const double x = h.lo + (h.hi - h.lo) * (i + 0.5) / bins;
        // Heavier tails than a Gaussian, and after QAT a mild pull towards the grid points.
        double density = 0.7 * std::exp(-0.5 * x * x / (sigma * sigma)) +
                         0.3 * std::exp(-std::abs(x) / (0.9 * sigma));
        if (bits > 0) {
            density *= 1.0 + 0.35 * std::cos(2.0 * kPi * x / h.stepSize);
        }
        h.counts << std::round(9216.0 * density / bins * 3.0);
    }
    return h;
}

// --- landscapes and Hessian reports ---

namespace {

QString defaultMode(const RunData& run) {
    return run.summary.method == QLatin1String("fp") ? QStringLiteral("float")
                                                     : QStringLiteral("dequantized");
}

QString directionsText(const QString& kind) {
    if (kind == QLatin1String("interpolation")) {
        return QStringLiteral("interpolation");
    }
    return kind + QStringLiteral(" directions");
}

/// The stage a layer's bits are tied to ("layer2" for "layer2.0.conv1"); empty for the stem
/// and the head.
QString stageOf(const QString& layer) {
    const int dot = layer.indexOf(QLatin1Char('.'));
    return dot > 0 && layer.startsWith(QLatin1String("layer")) ? layer.left(dot) : QString();
}

}  // namespace

double FakeBackend::bowlLoss(const QString& directions, double alpha, double beta, double floor,
                             double curvature) {
    if (directions == QLatin1String("interpolation")) {
        // Two minima (the two checkpoints, alpha 0 and 1) with a barrier between them.
        const double s = std::sin(kPi * alpha);
        return floor + curvature * (0.1 * alpha + 0.6 * s * s);
    }
    if (directions == QLatin1String("hessian")) {
        // Steepest along the top eigenvector.
        return floor + curvature * (4.0 * alpha * alpha + 1.5 * beta * beta);
    }
    return floor + curvature * (alpha * alpha + 2.0 * beta * beta);
}

double FakeBackend::bowlAccuracy(double loss) {
    return 0.1 + 0.83 * std::exp(-std::max(0.0, loss - 0.3));
}

LandscapeSurface FakeBackend::makeLandscape(qint64 runId, qint64 step,
                                            const LandscapeRequest& request, double floor,
                                            double curvature) {
    LandscapeSurface s;
    s.runId = runId;
    s.step = step;
    s.kind = request.directions;
    s.mode = request.mode.isEmpty() ? QStringLiteral("dequantized") : request.mode;
    s.status = QStringLiteral("finished");
    s.seed = request.seed;
    s.samples = request.samples;
    const bool curve = request.directions == QLatin1String("interpolation");
    s.nx = request.nx;
    s.ny = curve ? 1 : request.ny;
    s.xMin = request.xMin;
    s.xMax = request.xMax;
    s.yMin = curve ? 0.0 : request.yMin;
    s.yMax = curve ? 0.0 : request.yMax;
    s.label = s.ny == 1
                  ? QStringLiteral("%1 %2 points · step %3").arg(s.kind).arg(s.nx).arg(step)
                  : QStringLiteral("%1 %2×%3 · step %4").arg(s.kind).arg(s.nx).arg(s.ny).arg(step);
    for (int iy = 0; iy < s.ny; ++iy) {
        for (int ix = 0; ix < s.nx; ++ix) {
            const double loss = bowlLoss(s.kind, s.alphaAt(ix), s.betaAt(iy), floor, curvature);
            s.loss.append(loss);
            s.accuracy.append(bowlAccuracy(loss));
        }
    }
    return s;
}

qint64 FakeBackend::addStoredLandscape(LandscapeSurface surface) {
    surface.id = m_nextLandscapeId++;
    m_landscapes.insert(surface.id, surface);
    return surface.id;
}

qint64 FakeBackend::lastStep(qint64 runId) const {
    qint64 step = 0;
    for (const MetricPoint& m : m_runs.value(runId).metrics) {
        step = std::max(step, m.step);
    }
    return step;
}

QString FakeBackend::analysisRefusal(qint64 runId) {
    if (!m_failNextAnalysisStart.isEmpty()) {
        const QString message = m_failNextAnalysisStart;
        m_failNextAnalysisStart.clear();
        return message;
    }
    if (m_analysisRun != 0) {
        return QStringLiteral(
                   "an analysis of run %1 is in progress; wait for it to end or "
                   "cancel it")
            .arg(m_analysisRun);
    }
    if (!m_runs.contains(runId)) {
        return QStringLiteral("no run with id %1 in %2").arg(runId).arg(storePath());
    }
    if (m_running) {
        return QStringLiteral("run %1 is training; analyse after it ends").arg(m_liveId);
    }
    const QString status = m_runs.value(runId).summary.status;
    if (status == QLatin1String("failed") || status == QLatin1String("running")) {
        return QStringLiteral("run %1 %2: it has no final checkpoint").arg(runId).arg(status);
    }
    return {};
}

bool FakeBackend::computeLandscape(qint64 runId, const LandscapeRequest& request, QString* error) {
    const QString refusal = analysisRefusal(runId);
    if (!refusal.isEmpty()) {
        *error = refusal;
        return false;
    }
    const QStringList kinds{QStringLiteral("random"), QStringLiteral("hessian"),
                            QStringLiteral("interpolation")};
    if (!kinds.contains(request.directions)) {
        *error = QStringLiteral("directions: must be one of %1 (got \"%2\")")
                     .arg(kinds.join(QStringLiteral(", ")), request.directions);
        return false;
    }
    const bool curve = request.directions == QLatin1String("interpolation");
    if (curve && (request.otherRunId == runId || !m_runs.contains(request.otherRunId))) {
        *error = QStringLiteral("interpolation needs another stored run to go towards (got %1)")
                     .arg(request.otherRunId);
        return false;
    }
    if (request.nx < 2 || (!curve && request.ny < 1) || request.nx > 201 || request.ny > 201) {
        *error = QStringLiteral("grid: must be 2..201 points a side (got %1×%2)")
                     .arg(request.nx)
                     .arg(request.ny);
        return false;
    }
    LandscapeRequest r = request;
    if (r.mode.isEmpty()) {
        r.mode = defaultMode(m_runs.value(runId));
    }
    LandscapeSurface s = makeLandscape(runId, lastStep(runId), r);
    s.loss.fill(std::numeric_limits<double>::quiet_NaN());
    s.accuracy.fill(std::numeric_limits<double>::quiet_NaN());
    s.status = QStringLiteral("running");
    if (curve) {
        s.label =
            QStringLiteral("interpolation to run %1 · step %2").arg(request.otherRunId).arg(s.step);
    }
    const qint64 id = addStoredLandscape(s);
    m_landscapeRequests.append({runId, request});
    startLandscapeJob(id, runId);
    return true;
}

bool FakeBackend::resumeLandscape(qint64 landscapeId, QString* error) {
    if (!m_landscapes.contains(landscapeId)) {
        *error = QStringLiteral("no landscape with id %1 in %2").arg(landscapeId).arg(storePath());
        return false;
    }
    LandscapeSurface& s = m_landscapes[landscapeId];
    if (s.status == QLatin1String("finished")) {
        *error = QStringLiteral("landscape %1 is complete; nothing to resume").arg(landscapeId);
        return false;
    }
    const QString refusal = analysisRefusal(s.runId);
    if (!refusal.isEmpty()) {
        *error = refusal;
        return false;
    }
    s.status = QStringLiteral("running");
    m_resumed.append(landscapeId);
    startLandscapeJob(landscapeId, s.runId);
    return true;
}

void FakeBackend::startLandscapeJob(qint64 landscapeId, qint64 runId) {
    const LandscapeSurface& s = m_landscapes[landscapeId];
    m_pendingPoints.clear();
    for (int iy = 0; iy < s.ny; ++iy) {
        for (int ix = 0; ix < s.nx; ++ix) {
            if (std::isnan(s.loss[s.index(ix, iy)])) {
                m_pendingPoints.append({ix, iy});
            }
        }
    }
    const int batches = std::max(1, m_landscapeBatches);
    m_pointsPerBatch = std::max<int>(1, int((s.nx * s.ny + batches - 1) / batches));
    m_analysisRun = runId;
    m_landscapeJob = landscapeId;
    // Started from the event loop, as the real backend's worker would.
    QTimer::singleShot(0, this, [this, landscapeId] {
        if (m_landscapeJob != landscapeId) {
            return;  // cancelled before it began
        }
        Q_EMIT landscapeStarted(m_landscapes.value(landscapeId));
        m_landscapeTimer->start(m_landscapeInterval);
    });
}

void FakeBackend::landscapeTick() {
    if (m_landscapeJob == 0 || !m_landscapes.contains(m_landscapeJob)) {
        m_landscapeTimer->stop();
        return;
    }
    LandscapeSurface& s = m_landscapes[m_landscapeJob];
    if (!m_failAnalysis.isEmpty()) {
        const QString message = m_failAnalysis;
        m_failAnalysis.clear();
        m_landscapeTimer->stop();
        s.status = QStringLiteral("failed");
        m_landscapeJob = 0;
        const qint64 runId = m_analysisRun;
        m_analysisRun = 0;
        Q_EMIT analysisFailed(runId, message);
        return;
    }
    LandscapePoints batch;
    batch.id = s.id;
    const int n = std::min<int>(m_pointsPerBatch, m_pendingPoints.size());
    for (int i = 0; i < n; ++i) {
        const auto [ix, iy] = m_pendingPoints.takeFirst();
        const double loss = bowlLoss(s.kind, s.alphaAt(ix), s.betaAt(iy));
        batch.points.append({ix, iy, loss, bowlAccuracy(loss)});
    }
    applyLandscapePoints(s, batch);
    const double fraction = double(s.finishedCount()) / double(s.nx * s.ny);
    Q_EMIT analysisProgress(s.runId, QStringLiteral("landscape, ") + directionsText(s.kind),
                            fraction);
    Q_EMIT landscapePointsArrived(batch, fraction);
    if (m_pendingPoints.isEmpty()) {
        m_landscapeTimer->stop();
        s.status = QStringLiteral("finished");
        m_landscapeJob = 0;
        m_analysisRun = 0;
        Q_EMIT landscapeFinished(s);
    }
}

QVector<LandscapeSurface> FakeBackend::landscapes(qint64 runId) const {
    QVector<LandscapeSurface> out;
    for (const LandscapeSurface& s : m_landscapes) {
        if (s.runId == runId) {
            out.append(s);
        }
    }
    return out;
}

bool FakeBackend::exportRun(qint64 runId, const QString& format, const QString& path,
                            QString* error) {
    if (!m_runs.contains(runId)) {
        *error = QStringLiteral("no run with id %1 in %2").arg(runId).arg(storePath());
        return false;
    }
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write("fake export") != 11) {
        *error = QStringLiteral("%1: cannot write").arg(path);
        return false;
    }
    file.close();
    m_analysisRun = runId;
    QTimer::singleShot(0, this, [this, runId, format, path] {
        m_analysisRun = 0;
        Q_EMIT exported(runId, format, path, 11, QString(64, QLatin1Char('0')));
    });
    return true;
}

bool FakeBackend::writeReport(const QVector<qint64>& runIds, const QString& path, QString* error) {
    QFile file(path);
    if (runIds.isEmpty() || !file.open(QIODevice::WriteOnly)) {
        *error = QStringLiteral("%1: cannot write the report").arg(path);
        return false;
    }
    QStringList ids;
    for (qint64 id : runIds) {
        ids << QString::number(id);
    }
    file.write(QStringLiteral("<html>runs %1</html>").arg(ids.join(QLatin1Char(','))).toUtf8());
    return true;
}

void FakeBackend::cancelAnalysis() {
    if (m_landscapeJob != 0) {
        m_landscapeTimer->stop();
        LandscapeSurface& s = m_landscapes[m_landscapeJob];
        s.status = QStringLiteral("cancelled");
        m_landscapeJob = 0;
        m_analysisRun = 0;
        Q_EMIT landscapeFinished(s);
    } else if (m_hessianJob != 0) {
        const qint64 runId = m_hessianJob;
        m_hessianJob = 0;
        m_analysisRun = 0;
        Q_EMIT analysisFailed(runId,
                              QStringLiteral("Hessian analysis of run %1 cancelled").arg(runId));
    }
}

HessianSummary FakeBackend::makeHessian(qint64 runId, const HessianRequest& request) const {
    const RunData run = m_runs.value(runId);
    HessianSummary h;
    h.runId = runId;
    h.step = lastStep(runId);
    h.mode = request.mode.isEmpty() ? defaultMode(run) : request.mode;
    for (int k = 0; k < request.topK; ++k) {
        h.eigenvalues.append(182.4 * std::pow(0.55, k) * (1.0 + 0.05 * k));
    }
    const QVector<LayerRow> plan = plannedLayers(run.spec);
    double se2 = 0.0;
    for (int i = 0; i < plan.size(); ++i) {
        const LayerRow& r = plan[i];
        LayerSensitivity l;
        l.layer = r.layer;
        l.params = r.paramCount;
        const QString stage = stageOf(r.layer);
        const qint64 pixels = stage == QLatin1String("layer2")   ? 196
                              : stage == QLatin1String("layer3") ? 49
                              : r.layer == QLatin1String("fc")   ? 1
                                                                 : 784;
        l.macs = r.paramCount * pixels;
        // The stem and the head are the most sensitive per weight; deeper layers flatter.
        const double edge = i == 0 || i == plan.size() - 1 ? 3.0 : 1.0;
        l.trace = 40.0 * edge * (1.0 + 0.6 * std::sin(1.3 * i)) * std::exp(-0.08 * i);
        l.traceSe = 0.08 * l.trace + 0.5;
        const double fanIn =
            double(r.paramCount) / double(std::max<qint64>(1, r.weightShape.value(0)));
        const double sigma = std::sqrt(2.0 / std::max(1.0, fanIn));
        for (int b : request.candidateBits) {
            const double step = 2.0 * sigma * std::pow(2.0, 1 - b) * 1.5;
            l.omega.insert(b, l.trace * step * step / 12.0);
        }
        h.trace += l.trace;
        se2 += l.traceSe * l.traceSe;
        h.layers.append(l);
    }
    h.traceSe = std::sqrt(se2);
    return h;
}

qint64 FakeBackend::addStoredHessian(qint64 runId) {
    HessianSummary h = makeHessian(runId, HessianRequest{});
    h.id = m_nextHessianId++;
    m_hessian.insert(h.id, h);
    return h.id;
}

bool FakeBackend::analyzeHessian(qint64 runId, const HessianRequest& request, QString* error) {
    const QString refusal = analysisRefusal(runId);
    if (!refusal.isEmpty()) {
        *error = refusal;
        return false;
    }
    if (request.candidateBits.isEmpty()) {
        *error = QStringLiteral("candidate_bits: must not be empty");
        return false;
    }
    m_analysisRun = runId;
    m_hessianJob = runId;
    m_hessianRequests.append({runId, request});
    QTimer::singleShot(0, this, [this, runId] {
        if (m_hessianJob == runId) {
            Q_EMIT analysisProgress(runId, QStringLiteral("Hessian, top eigenvalues"), 0.3);
        }
    });
    QTimer::singleShot(m_landscapeInterval, this, [this, runId, request] {
        if (m_hessianJob != runId) {
            return;  // cancelled
        }
        Q_EMIT analysisProgress(runId, QStringLiteral("Hessian, layer traces"), 0.8);
        m_hessianJob = 0;
        m_analysisRun = 0;
        if (!m_failAnalysis.isEmpty()) {
            const QString message = m_failAnalysis;
            m_failAnalysis.clear();
            Q_EMIT analysisFailed(runId, message);
            return;
        }
        HessianSummary h = makeHessian(runId, request);
        h.id = m_nextHessianId++;
        m_hessian.insert(h.id, h);
        Q_EMIT hessianAnalyzed(h);
    });
    return true;
}

QVector<HessianSummary> FakeBackend::hessianReports(qint64 runId) const {
    QVector<HessianSummary> out;
    for (const HessianSummary& h : m_hessian) {
        if (h.runId == runId) {
            out.append(h);
        }
    }
    return out;
}

ParetoFrontier FakeBackend::paretoFrontier(qint64 hessianId, QString* error) const {
    ParetoFrontier f;
    if (!m_failNextFrontier.isEmpty()) {
        *error = m_failNextFrontier;
        m_failNextFrontier.clear();
        return f;
    }
    if (!m_hessian.contains(hessianId)) {
        *error =
            QStringLiteral("no Hessian report with id %1 in %2").arg(hessianId).arg(storePath());
        return f;
    }
    const HessianSummary& h = m_hessian[hessianId];
    f.runId = h.runId;
    const QJsonObject quant = obj(m_runs.value(h.runId).spec, "quant");
    QString firstLast = quant.value(QStringLiteral("first_last")).toString();
    if (firstLast == QLatin1String("auto")) {
        firstLast = QStringLiteral("8bit");  // the engine's rule for ResNets
    }
    const int actBits = quant.value(QStringLiteral("act_bits")).toInt(8);
    QVector<int> candidates;
    for (const LayerSensitivity& l : h.layers) {
        for (int b : l.omega.keys()) {
            if (!candidates.contains(b)) {
                candidates.append(b);
            }
        }
    }
    std::sort(candidates.begin(), candidates.end());
    if (candidates.isEmpty() || h.layers.isEmpty()) {
        *error = QStringLiteral("report %1 has no candidate bit-widths").arg(hessianId);
        return f;
    }
    // The policy: the stem and the head at 8 bits (or float), one choice per tied group.
    QStringList groups;
    QVector<int> groupOf(h.layers.size(), -1);
    for (int i = 0; i < h.layers.size(); ++i) {
        const bool edge = i == 0 || i == h.layers.size() - 1;
        QString g = stageOf(h.layers[i].layer);
        if (edge && firstLast == QLatin1String("same")) {
            g = i == 0 ? stageOf(h.layers.value(1).layer)
                       : stageOf(h.layers.value(h.layers.size() - 2).layer);
        } else if (edge) {
            continue;
        }
        if (!groups.contains(g)) {
            groups.append(g);
        }
        groupOf[i] = groups.indexOf(g);
    }
    const int edgeBits = firstLast == QLatin1String("float") ? 0
                         : candidates.contains(8)            ? 8
                                                             : candidates.last();
    auto evaluate = [&](const QVector<int>& choice) {
        FrontierPoint p;
        for (int i = 0; i < h.layers.size(); ++i) {
            const LayerSensitivity& l = h.layers[i];
            const int b = groupOf[i] < 0 ? edgeBits : choice[groupOf[i]];
            p.bits.insert(l.layer, b);
            p.sizeBytes += double(l.params) * (b == 0 ? 32 : b) / 8.0;
            p.omega += b == 0 ? 0.0 : l.omega.value(b);
            p.bitOps += double(l.macs) * (b == 0 ? 32 : b) * (groupOf[i] < 0 ? 8 : actBits);
        }
        return p;
    };
    // Brute force: every choice of bits per group.
    QVector<FrontierPoint> all;
    QVector<int> choice(groups.size(), 0);
    for (;;) {
        QVector<int> bits;
        for (int c : choice) {
            bits.append(candidates[c]);
        }
        all.append(evaluate(bits));
        int g = 0;
        while (g < choice.size() && ++choice[g] == candidates.size()) {
            choice[g++] = 0;
        }
        if (g == choice.size()) {
            break;
        }
    }
    std::sort(all.begin(), all.end(), [](const FrontierPoint& a, const FrontierPoint& b) {
        return a.sizeBytes != b.sizeBytes ? a.sizeBytes < b.sizeBytes : a.omega < b.omega;
    });
    double best = std::numeric_limits<double>::infinity();
    for (const FrontierPoint& p : all) {
        if (p.omega < best) {
            f.points.append(p);
            best = p.omega;
        }
    }
    for (int b : candidates) {
        f.uniform.insert(b, evaluate(QVector<int>(groups.size(), b)));
    }
    return f;
}

QJsonObject FakeBackend::allocationSpec(qint64 hessianId, const QMap<QString, int>& bits,
                                        QString* error) const {
    if (!m_failNextAllocation.isEmpty()) {
        *error = m_failNextAllocation;
        m_failNextAllocation.clear();
        return {};
    }
    if (!m_hessian.contains(hessianId)) {
        *error =
            QStringLiteral("no Hessian report with id %1 in %2").arg(hessianId).arg(storePath());
        return {};
    }
    const HessianSummary& h = m_hessian[hessianId];
    const RunData run = m_runs.value(h.runId);
    QJsonObject spec = normalized(run.spec);
    const QString arch = obj(spec, "model").value(QStringLiteral("arch")).toString();
    QStringList known;
    for (const LayerSensitivity& l : h.layers) {
        known << l.layer;
    }
    QJsonObject quant = obj(spec, "quant");
    QJsonObject layers = quant.value(QStringLiteral("layers")).toObject();
    for (auto it = bits.begin(); it != bits.end(); ++it) {
        if (!known.contains(it.key())) {
            *error =
                QStringLiteral("quant.layers.%1: no layer of %2 has this path").arg(it.key(), arch);
            return {};
        }
        if (it.value() != 0 && (it.value() < 2 || it.value() > 8)) {
            *error = QStringLiteral(
                         "quant.layers.%1.weight_bits: must be 0 (float) or 2..8 bits "
                         "(got %2)")
                         .arg(it.key())
                         .arg(it.value());
            return {};
        }
        QJsonObject entry = layers.value(it.key()).toObject();
        entry.insert(QStringLiteral("weight_bits"), it.value());
        layers.insert(it.key(), entry);
    }
    quant.insert(QStringLiteral("layers"), layers);
    spec.insert(QStringLiteral("quant"), quant);
    QJsonObject method = obj(spec, "method");
    method.insert(QStringLiteral("name"), QStringLiteral("lsq"));
    spec.insert(QStringLiteral("method"), method);
    spec.insert(QStringLiteral("init_checkpoint"), checkpointPath(h.runId));
    spec.insert(QStringLiteral("name"),
                QStringLiteral("%1 mixed (report %2)").arg(run.summary.name).arg(hessianId));
    return spec;
}

QString FakeBackend::checkpointPath(qint64 runId) const {
    if (!m_checkpoints) {
        m_checkpoints = std::make_unique<QTemporaryDir>();
    }
    const QString path =
        QDir(m_checkpoints->path()).filePath(QStringLiteral("run-%1-last.safetensors").arg(runId));
    if (!QFileInfo::exists(path)) {
        QFile file(path);
        if (file.open(QIODevice::WriteOnly)) {
            file.close();
        }
    }
    return path;
}

}  // namespace qs::test
