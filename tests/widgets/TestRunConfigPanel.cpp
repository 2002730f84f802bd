// RunConfigPanel: a full spec survives setSpec -> spec() unchanged; each widget edits exactly
// its own JSON field; per-layer overrides are written only where they differ from the policy;
// the engine's message and a red frame mark a bad field; missing paths are flagged the same way;
// specs load from and save to JSON files.
#include "FakeBackend.h"
#include "widgets/RunConfigPanel.h"
#include "widgets/SpecFieldBinder.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>

using namespace qs::ui;
using qs::test::FakeBackend;

namespace {

/// A complete spec where almost every field differs from the defaults, with an override.
QJsonObject fullSpec() {
    QJsonObject s = FakeBackend::defaultSpec();
    auto set = [&s](const QString& path, const QJsonValue& v) {
        SpecFieldBinder::setValueAt(s, path, v);
    };
    set(QStringLiteral("name"), QStringLiteral("full"));
    set(QStringLiteral("model.arch"), QStringLiteral("resnet32"));
    set(QStringLiteral("model.in_channels"), 3);
    set(QStringLiteral("model.num_classes"), 100);
    set(QStringLiteral("data.dataset"), QStringLiteral("cifar100"));
    set(QStringLiteral("data.train_limit"), 5000);
    set(QStringLiteral("data.test_limit"), 700);
    set(QStringLiteral("data.augment"), false);
    set(QStringLiteral("data.crop_padding"), 3);
    set(QStringLiteral("data.flip"), false);
    set(QStringLiteral("data.batch_size"), 96);
    set(QStringLiteral("data.eval_batch_size"), 250);
    set(QStringLiteral("quant.weight_bits"), 3);
    set(QStringLiteral("quant.act_bits"), 5);
    set(QStringLiteral("quant.first_last"), QStringLiteral("same"));
    set(QStringLiteral("quant.per_channel"), true);
    set(QStringLiteral("quant.grad_scale"), QStringLiteral("per-sample"));
    set(QStringLiteral("quant.scale_weight_decay_by_bits"), false);
    set(QStringLiteral("quant.layers"),
        QJsonObject{
            {QStringLiteral("layer2.0.conv1"), QJsonObject{{QStringLiteral("weight_bits"), 2}}}});
    set(QStringLiteral("optim.optimizer"), QStringLiteral("adamw"));
    set(QStringLiteral("optim.lr"), 0.0025);
    set(QStringLiteral("optim.momentum"), 0.8);
    set(QStringLiteral("optim.nesterov"), false);
    set(QStringLiteral("optim.weight_decay"), 0.0001);
    set(QStringLiteral("optim.beta1"), 0.85);
    set(QStringLiteral("optim.beta2"), 0.995);
    set(QStringLiteral("optim.schedule"), QStringLiteral("step"));
    set(QStringLiteral("optim.milestones"), QJsonArray{2, 4});
    set(QStringLiteral("optim.gamma"), 0.3);
    set(QStringLiteral("optim.warmup_epochs"), 0.5);
    set(QStringLiteral("optim.epochs"), 6);
    set(QStringLiteral("seed"), 1234);
    set(QStringLiteral("threads"), 2);
    set(QStringLiteral("log_every"), 10);
    set(QStringLiteral("state_every"), 40);
    return s;
}

/// Puts a value into a form widget the way a user would end up with it.
void editWidget(QWidget* w, const QJsonValue& v) {
    if (auto* spin = qobject_cast<QSpinBox*>(w)) {
        spin->setValue(v.toInt());
    } else if (auto* dspin = qobject_cast<QDoubleSpinBox*>(w)) {
        dspin->setValue(v.toDouble());
    } else if (auto* check = qobject_cast<QCheckBox*>(w)) {
        check->setChecked(v.toBool());
    } else if (auto* combo = qobject_cast<QComboBox*>(w)) {
        const int i = combo->findData(v.toString());
        QVERIFY2(i >= 0, qPrintable(v.toString()));
        combo->setCurrentIndex(i);
    } else if (auto* edit = qobject_cast<QLineEdit*>(w)) {
        if (v.isArray()) {
            QStringList parts;
            for (const QJsonValue& x : v.toArray()) {
                parts << QString::number(x.toInt());
            }
            edit->setText(parts.join(QStringLiteral(", ")));
        } else {
            edit->setText(v.toString());
        }
    } else {
        QFAIL(qPrintable(QStringLiteral("no editor for %1").arg(w->objectName())));
    }
}

/// Every leaf path of a JSON object ("optim.lr"), objects' own paths excluded.
QStringList leafPaths(const QJsonObject& o, const QString& prefix = {}) {
    QStringList out;
    for (auto it = o.begin(); it != o.end(); ++it) {
        const QString path = prefix.isEmpty() ? it.key() : prefix + QLatin1Char('.') + it.key();
        if (it.value().isObject() && path != QLatin1String("quant.layers")) {
            out += leafPaths(it.value().toObject(), path);
        } else {
            out << path;
        }
    }
    return out;
}

int rowOfLayer(QTableWidget* table, const QString& layer) {
    for (int r = 0; r < table->rowCount(); ++r) {
        if (table->item(r, RunConfigPanel::LayerName)->text() == layer) {
            return r;
        }
    }
    return -1;
}

QJsonObject layersOf(const QJsonObject& spec) {
    return SpecFieldBinder::valueAt(spec, QStringLiteral("quant.layers")).toObject();
}

}  // namespace

class TestRunConfigPanel : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void startsFromFirstPreset();
    void fullSpecRoundTrips();
    void unknownFieldsSurvive();
    void everyFieldHasAnEditor();
    void editChangesExactlyThatField_data();
    void editChangesExactlyThatField();
    void layerOverrideWrittenOnlyWhenDiffering();
    void layerTableFollowsThePolicy();
    void badFieldShowsEngineMessage_data();
    void badFieldShowsEngineMessage();
    void badLayerOverrideMarksTable();
    void unparsableMilestonesAreReported();
    void missingPathsFlaggedBeforeRun();
    void methodChoiceSwitchesOptionsAndEnabling();
    void methodOptionsFollowTheMethod_data();
    void methodOptionsFollowTheMethod();
    void methodOptionsEnableWithTheirSwitch();
    void methodOptionEditsWriteTheirField_data();
    void methodOptionEditsWriteTheirField();
    void distillationNeedsATeacher();
    void presetComboAppliesPreset();
    void specFilesLoadAndSave();
    void badSpecFileReportsTheFile();
};

void TestRunConfigPanel::startsFromFirstPreset() {
    FakeBackend backend;
    RunConfigPanel panel(&backend);
    QCOMPARE(panel.spec(), backend.presetSpec(QStringLiteral("smoke")));
    QVERIFY(panel.isValid());
    QCOMPARE(panel.presetCombo()->count(), 4);  // placeholder + 3 presets
    QCOMPARE(panel.presetCombo()->currentText(), QStringLiteral("smoke"));
    QVERIFY(panel.message().startsWith(QStringLiteral("Ready to run")));
    QCOMPARE(panel.layerOverrideTable()->rowCount(), 22);
}

void TestRunConfigPanel::fullSpecRoundTrips() {
    FakeBackend backend;
    RunConfigPanel panel(&backend);
    const QJsonObject spec = fullSpec();
    QVERIFY2(backend.validate(spec).ok(), qPrintable(backend.validate(spec).message));
    QSignalSpy changed(&panel, &RunConfigPanel::specChanged);
    panel.setSpec(spec);
    QCOMPARE(changed.count(), 1);
    QCOMPARE(panel.spec(), spec);
    // The widgets show the spec, and showing it wrote nothing back.
    QCOMPARE(qobject_cast<QComboBox*>(panel.fieldWidget(QStringLiteral("model.arch")))
                 ->currentData()
                 .toString(),
             QStringLiteral("resnet32"));
    QCOMPARE(qobject_cast<QDoubleSpinBox*>(panel.fieldWidget(QStringLiteral("optim.lr")))->value(),
             0.0025);
    QCOMPARE(
        qobject_cast<QLineEdit*>(panel.fieldWidget(QStringLiteral("optim.milestones")))->text(),
        QStringLiteral("2, 4"));
    QCOMPARE(qobject_cast<QSpinBox*>(panel.fieldWidget(QStringLiteral("seed")))->value(), 1234);
    QCOMPARE(panel.spec(), spec);
    QCOMPARE(changed.count(), 1);
    // ResNet-32 on CIFAR-100: 34 quantizable layers; the override shows in bold.
    QTableWidget* table = panel.layerOverrideTable();
    QCOMPARE(table->rowCount(), 34);
    const int row = rowOfLayer(table, QStringLiteral("layer2.0.conv1"));
    QVERIFY(row > 0);
    QCOMPARE(table->item(row, RunConfigPanel::LayerWBits)->text(), QStringLiteral("2"));
    QVERIFY(table->item(row, RunConfigPanel::LayerWBits)->font().bold());
    QCOMPARE(table->item(row, RunConfigPanel::LayerABits)->text(), QStringLiteral("5"));
    QVERIFY(!table->item(row, RunConfigPanel::LayerABits)->font().bold());
}

void TestRunConfigPanel::unknownFieldsSurvive() {
    FakeBackend backend;
    RunConfigPanel panel(&backend);
    QJsonObject spec = fullSpec();
    spec.insert(QStringLiteral("analyses"), QJsonObject{{QStringLiteral("hessian"), true}});
    panel.setSpec(spec);
    editWidget(panel.fieldWidget(QStringLiteral("optim.epochs")), 7);
    QCOMPARE(panel.spec().value(QStringLiteral("analyses")).toObject(),
             (QJsonObject{{QStringLiteral("hessian"), true}}));
}

void TestRunConfigPanel::everyFieldHasAnEditor() {
    FakeBackend backend;
    RunConfigPanel panel(&backend);
    QStringList spec = leafPaths(FakeBackend::defaultSpec());
    QStringList form = panel.fields();
    spec.sort();
    form.sort();
    QCOMPARE(form, spec);
    for (const QString& f : form) {
        QVERIFY2(panel.fieldWidget(f), qPrintable(f));
    }
}

void TestRunConfigPanel::editChangesExactlyThatField_data() {
    QTest::addColumn<QString>("field");
    QTest::addColumn<QJsonValue>("value");
    auto row = [](const char* field, const QJsonValue& v) {
        QTest::newRow(field) << QString::fromLatin1(field) << v;
    };
    row("name", QStringLiteral("renamed"));
    row("model.arch", QStringLiteral("resnet56"));
    row("model.in_channels", 3);
    row("model.num_classes", 12);
    row("data.dataset", QStringLiteral("cifar10"));
    row("data.path", QStringLiteral("/tmp"));
    row("data.train_limit", 500);
    row("data.test_limit", 200);
    row("data.augment", false);
    row("data.crop_padding", 4);
    row("data.flip", false);
    row("data.batch_size", 32);
    row("data.eval_batch_size", 500);
    row("method.name", QStringLiteral("fp"));
    row("quant.weight_bits", 3);
    row("quant.act_bits", 2);
    row("quant.first_last", QStringLiteral("float"));
    row("quant.per_channel", true);
    row("quant.grad_scale", QStringLiteral("per-sample"));
    row("quant.scale_weight_decay_by_bits", false);
    row("method.squat.schedule", QStringLiteral("alternate"));
    row("method.squat.k", 3);
    row("method.squat.site", QStringLiteral("quantized"));
    row("method.squat.rho", 0.1);
    row("method.squat.rho_warmup_epochs", 0.5);
    row("method.squat.asam", true);
    row("method.squat.joint", true);
    row("method.nt.lambda0", 2.0);
    row("method.nt.tau", 500.0);
    row("method.nt.end_lambda", 0.05);
    row("method.nt.end_fraction", 0.6);
    row("method.nt.distribution", QStringLiteral("normal"));
    row("method.nt.amplitude", QStringLiteral("half-step"));
    row("method.nt.weights", false);
    row("method.nt.activations", false);
    row("method.nt.learn_grad_scale", true);
    row("method.ptq.calibration", QStringLiteral("percentile"));
    row("method.ptq.percentile", 99.9);
    row("method.ptq.batches", 8);
    row("method.distill.teacher", QStringLiteral("/tmp"));
    row("method.distill.alpha", 0.7);
    row("method.distill.temperature", 4.0);
    row("optim.optimizer", QStringLiteral("adamw"));
    row("optim.lr", 0.2);
    row("optim.momentum", 0.8);
    row("optim.nesterov", false);
    row("optim.weight_decay", 0.001);
    row("optim.beta1", 0.85);
    row("optim.beta2", 0.99);
    row("optim.schedule", QStringLiteral("constant"));
    row("optim.milestones", QJsonArray{1});
    row("optim.gamma", 0.5);
    row("optim.warmup_epochs", 0.5);
    row("optim.epochs", 5);
    row("init_checkpoint", QStringLiteral("/tmp"));
    row("seed", 42);
    row("threads", 2);
    row("log_every", 10);
    row("state_every", 50);
}

void TestRunConfigPanel::editChangesExactlyThatField() {
    QFETCH(QString, field);
    QFETCH(QJsonValue, value);
    FakeBackend backend;
    RunConfigPanel panel(&backend);
    const QJsonObject before = panel.spec();
    QVERIFY(SpecFieldBinder::valueAt(before, field) != value);
    QSignalSpy changed(&panel, &RunConfigPanel::specChanged);
    editWidget(panel.fieldWidget(field), value);
    QJsonObject expected = before;
    SpecFieldBinder::setValueAt(expected, field, value);
    QCOMPARE(panel.spec(), expected);
    QVERIFY(changed.count() >= 1);
    QVERIFY2(panel.isValid(), qPrintable(panel.message()));
}

void TestRunConfigPanel::layerOverrideWrittenOnlyWhenDiffering() {
    FakeBackend backend;
    RunConfigPanel panel(&backend);
    QTableWidget* table = panel.layerOverrideTable();
    const int row = rowOfLayer(table, QStringLiteral("layer1.0.conv1"));
    QVERIFY(row > 0);
    QTableWidgetItem* w = table->item(row, RunConfigPanel::LayerWBits);
    QCOMPARE(w->text(), QStringLiteral("4"));
    QVERIFY(!w->font().bold());

    w->setData(RunConfigPanel::OverrideRole, 2);
    QCOMPARE(layersOf(panel.spec()),
             (QJsonObject{{QStringLiteral("layer1.0.conv1"),
                           QJsonObject{{QStringLiteral("weight_bits"), 2}}}}));
    w = table->item(row, RunConfigPanel::LayerWBits);
    QCOMPARE(w->text(), QStringLiteral("2"));
    QVERIFY(w->font().bold());

    // The policy's own value is no override: nothing is written for it.
    table->item(row, RunConfigPanel::LayerABits)->setData(RunConfigPanel::OverrideRole, 4);
    QCOMPARE(layersOf(panel.spec()),
             (QJsonObject{{QStringLiteral("layer1.0.conv1"),
                           QJsonObject{{QStringLiteral("weight_bits"), 2}}}}));

    table->item(row, RunConfigPanel::LayerABits)->setData(RunConfigPanel::OverrideRole, 0);
    QCOMPARE(layersOf(panel.spec()), (QJsonObject{{QStringLiteral("layer1.0.conv1"),
                                                   QJsonObject{{QStringLiteral("weight_bits"), 2},
                                                               {QStringLiteral("act_bits"), 0}}}}));
    QCOMPARE(table->item(row, RunConfigPanel::LayerABits)->text(), QStringLiteral("fp"));

    table->item(row, RunConfigPanel::LayerWBits)->setData(RunConfigPanel::OverrideRole, -1);
    QCOMPARE(layersOf(panel.spec()), (QJsonObject{{QStringLiteral("layer1.0.conv1"),
                                                   QJsonObject{{QStringLiteral("act_bits"), 0}}}}));
    table->item(row, RunConfigPanel::LayerABits)->setData(RunConfigPanel::OverrideRole, -1);
    QCOMPARE(layersOf(panel.spec()), QJsonObject());

    // conv1's policy is 8 bits (first_last = 8bit): 8 is not written, 4 is.
    const int first = rowOfLayer(table, QStringLiteral("conv1"));
    QCOMPARE(first, 0);
    QCOMPARE(table->item(first, RunConfigPanel::LayerWBits)->text(), QStringLiteral("8"));
    table->item(first, RunConfigPanel::LayerWBits)->setData(RunConfigPanel::OverrideRole, 8);
    QCOMPARE(layersOf(panel.spec()), QJsonObject());
    table->item(first, RunConfigPanel::LayerWBits)->setData(RunConfigPanel::OverrideRole, 4);
    QCOMPARE(
        layersOf(panel.spec()),
        (QJsonObject{{QStringLiteral("conv1"), QJsonObject{{QStringLiteral("weight_bits"), 4}}}}));
    // Everything else in the spec is untouched.
    QJsonObject expected = backend.presetSpec(QStringLiteral("smoke"));
    SpecFieldBinder::setValueAt(expected, QStringLiteral("quant.layers"), layersOf(panel.spec()));
    QCOMPARE(panel.spec(), expected);
}

void TestRunConfigPanel::layerTableFollowsThePolicy() {
    FakeBackend backend;
    RunConfigPanel panel(&backend);
    QTableWidget* table = panel.layerOverrideTable();
    editWidget(panel.fieldWidget(QStringLiteral("quant.weight_bits")), 3);
    const int row = rowOfLayer(table, QStringLiteral("layer3.2.conv2"));
    QCOMPARE(table->item(row, RunConfigPanel::LayerWBits)->text(), QStringLiteral("3"));
    editWidget(panel.fieldWidget(QStringLiteral("quant.first_last")), QStringLiteral("float"));
    QCOMPARE(table->item(0, RunConfigPanel::LayerWBits)->text(), QStringLiteral("fp"));
    QCOMPARE(table->item(table->rowCount() - 1, RunConfigPanel::LayerName)->text(),
             QStringLiteral("fc"));
    QCOMPARE(table->item(table->rowCount() - 1, RunConfigPanel::LayerABits)->text(),
             QStringLiteral("fp"));
    editWidget(panel.fieldWidget(QStringLiteral("model.arch")), QStringLiteral("resnet44"));
    QCOMPARE(table->rowCount(), 46);
    QCOMPARE(table->item(5, RunConfigPanel::LayerShape)->text(), QStringLiteral("16×16×3×3"));
    QCOMPARE(table->item(5, RunConfigPanel::LayerParams)->text(), QStringLiteral("2,304"));
}

void TestRunConfigPanel::badFieldShowsEngineMessage_data() {
    QTest::addColumn<QString>("field");
    QTest::addColumn<QJsonValue>("value");
    QTest::addColumn<QString>("markedField");
    QTest::newRow("lr zero") << QStringLiteral("optim.lr") << QJsonValue(0.0)
                             << QStringLiteral("optim.lr");
    QTest::newRow("empty name") << QStringLiteral("name") << QJsonValue(QString())
                                << QStringLiteral("name");
    QTest::newRow("step without milestones")
        << QStringLiteral("optim.schedule") << QJsonValue(QStringLiteral("step"))
        << QStringLiteral("optim.milestones");
    QTest::newRow("milestone past the last epoch")
        << QStringLiteral("optim.milestones") << QJsonValue(QJsonArray{2})
        << QStringLiteral("optim.milestones");
    QTest::newRow("nesterov without momentum")
        << QStringLiteral("optim.momentum") << QJsonValue(0.0) << QStringLiteral("optim.nesterov");
    QTest::newRow("momentum above range")
        << QStringLiteral("optim.momentum") << QJsonValue(1.0) << QStringLiteral("optim.momentum");
    QTest::newRow("warm-up longer than training")
        << QStringLiteral("optim.warmup_epochs") << QJsonValue(3.0)
        << QStringLiteral("optim.warmup_epochs");
}

void TestRunConfigPanel::badFieldShowsEngineMessage() {
    QFETCH(QString, field);
    QFETCH(QJsonValue, value);
    QFETCH(QString, markedField);
    FakeBackend backend;
    RunConfigPanel panel(&backend);
    const QJsonObject good = panel.spec();
    editWidget(panel.fieldWidget(field), value);

    const SpecProblem expected = backend.validate(panel.spec());
    QVERIFY(!expected.ok());
    QCOMPARE(panel.problem().message, expected.message);
    QCOMPARE(panel.message(), expected.message);  // the engine's own words, unchanged
    QVERIFY(!panel.isValid());
    QWidget* marked = panel.fieldWidget(markedField);
    QVERIFY(panel.isMarked(marked));
    QCOMPARE(marked->property("qsInvalid").toBool(), true);
    QCOMPARE(marked->toolTip(), expected.message);
    for (const QString& f : panel.fields()) {
        if (f != markedField) {
            QVERIFY2(!panel.isMarked(panel.fieldWidget(f)), qPrintable(f));
        }
    }
    // Putting the old value back clears both the frame and the message.
    editWidget(panel.fieldWidget(field), SpecFieldBinder::valueAt(good, field));
    QCOMPARE(panel.spec(), good);
    QVERIFY(panel.isValid());
    QVERIFY(!panel.isMarked(marked));
    QVERIFY(!marked->property("qsInvalid").toBool());
    QVERIFY(panel.message().startsWith(QStringLiteral("Ready to run")));
}

void TestRunConfigPanel::badLayerOverrideMarksTable() {
    FakeBackend backend;
    RunConfigPanel panel(&backend);
    QJsonObject spec = panel.spec();
    SpecFieldBinder::setValueAt(spec, QStringLiteral("quant.layers"),
                                QJsonObject{{QStringLiteral("layer1.1.conv2"),
                                             QJsonObject{{QStringLiteral("weight_bits"), 1}}}});
    panel.setSpec(spec);
    QCOMPARE(panel.message(),
             QStringLiteral("quant.layers.layer1.1.conv2.weight_bits: must be 0 (float) or 2..8 "
                            "bits (got 1)"));
    QVERIFY(panel.isMarked(panel.layerOverrideTable()));
    QVERIFY(!panel.isValid());
    // Fixing the cell in the table fixes the spec.
    QTableWidget* table = panel.layerOverrideTable();
    table->item(rowOfLayer(table, QStringLiteral("layer1.1.conv2")), RunConfigPanel::LayerWBits)
        ->setData(RunConfigPanel::OverrideRole, 3);
    QVERIFY(panel.isValid());
    QVERIFY(!panel.isMarked(table));
    QCOMPARE(layersOf(panel.spec()),
             (QJsonObject{{QStringLiteral("layer1.1.conv2"),
                           QJsonObject{{QStringLiteral("weight_bits"), 3}}}}));
}

void TestRunConfigPanel::unparsableMilestonesAreReported() {
    FakeBackend backend;
    RunConfigPanel panel(&backend);
    const QJsonObject before = panel.spec();
    auto* edit = qobject_cast<QLineEdit*>(panel.fieldWidget(QStringLiteral("optim.milestones")));
    edit->setText(QStringLiteral("1, x"));
    QVERIFY(!panel.isValid());
    QVERIFY(panel.message().startsWith(QStringLiteral("optim.milestones: ")));
    QVERIFY(panel.isMarked(edit));
    QCOMPARE(panel.spec(), before);  // nothing half-parsed was written
    edit->setText(QStringLiteral("1"));
    QVERIFY(panel.isValid());
    QCOMPARE(SpecFieldBinder::valueAt(panel.spec(), QStringLiteral("optim.milestones")).toArray(),
             QJsonArray{1});
}

void TestRunConfigPanel::missingPathsFlaggedBeforeRun() {
    FakeBackend backend;
    RunConfigPanel panel(&backend);
    editWidget(panel.fieldWidget(QStringLiteral("data.path")), QStringLiteral("/no/such/folder"));
    editWidget(panel.fieldWidget(QStringLiteral("init_checkpoint")),
               QStringLiteral("/no/such/ckpt.safetensors"));
    QVERIFY(panel.problem().ok());     // the spec itself is fine...
    QVERIFY(!panel.checkBeforeRun());  // ...but the run cannot start
    QCOMPARE(panel.missingPaths().size(), 2);
    QVERIFY(panel.message().contains(QStringLiteral("data.path: /no/such/folder does not exist")));
    QVERIFY(panel.message().contains(
        QStringLiteral("init_checkpoint: /no/such/ckpt.safetensors does not exist")));
    QVERIFY(panel.isMarked(panel.fieldWidget(QStringLiteral("data.path"))));
    QVERIFY(panel.isMarked(panel.fieldWidget(QStringLiteral("init_checkpoint"))));

    QTemporaryDir dir;
    editWidget(panel.fieldWidget(QStringLiteral("data.path")), dir.path());
    editWidget(panel.fieldWidget(QStringLiteral("init_checkpoint")), QString());
    QVERIFY(panel.checkBeforeRun());
    QVERIFY(!panel.isMarked(panel.fieldWidget(QStringLiteral("data.path"))));
}

void TestRunConfigPanel::methodChoiceSwitchesOptionsAndEnabling() {
    FakeBackend backend;
    RunConfigPanel panel(&backend);
    QWidget* bits = panel.fieldWidget(QStringLiteral("quant.weight_bits"));
    QWidget* gradScale = panel.fieldWidget(QStringLiteral("quant.grad_scale"));
    QVERIFY(bits->isEnabled());
    QVERIFY(gradScale->isEnabled());
    editWidget(panel.fieldWidget(QStringLiteral("method.name")), QStringLiteral("fp"));
    QVERIFY(!bits->isEnabled());
    QVERIFY(!panel.layerOverrideTable()->isEnabled());
    QVERIFY(!gradScale->isVisibleTo(&panel));  // an LSQ option: hidden for fp
    editWidget(panel.fieldWidget(QStringLiteral("method.name")), QStringLiteral("lsq"));
    QVERIFY(gradScale->isVisibleTo(&panel));
    QVERIFY(bits->isEnabled());
    editWidget(panel.fieldWidget(QStringLiteral("method.name")), QStringLiteral("fp"));
    // SGD-only and AdamW-only fields follow the optimizer.
    QVERIFY(panel.fieldWidget(QStringLiteral("optim.momentum"))->isEnabled());
    QVERIFY(!panel.fieldWidget(QStringLiteral("optim.beta1"))->isEnabled());
    editWidget(panel.fieldWidget(QStringLiteral("optim.optimizer")), QStringLiteral("adamw"));
    QVERIFY(!panel.fieldWidget(QStringLiteral("optim.momentum"))->isEnabled());
    QVERIFY(panel.fieldWidget(QStringLiteral("optim.beta1"))->isEnabled());
    QVERIFY(!panel.fieldWidget(QStringLiteral("optim.milestones"))->isEnabled());
}

namespace {

const QStringList kSquatFields = {QStringLiteral("method.squat.schedule"),
                                  QStringLiteral("method.squat.k"),
                                  QStringLiteral("method.squat.site"),
                                  QStringLiteral("method.squat.rho"),
                                  QStringLiteral("method.squat.rho_warmup_epochs"),
                                  QStringLiteral("method.squat.asam"),
                                  QStringLiteral("method.squat.joint")};
const QStringList kNoiseFields = {
    QStringLiteral("method.nt.lambda0"),         QStringLiteral("method.nt.tau"),
    QStringLiteral("method.nt.end_lambda"),      QStringLiteral("method.nt.end_fraction"),
    QStringLiteral("method.nt.distribution"),    QStringLiteral("method.nt.amplitude"),
    QStringLiteral("method.nt.weights"),         QStringLiteral("method.nt.activations"),
    QStringLiteral("method.nt.learn_grad_scale")};
const QStringList kPtqFields = {QStringLiteral("method.ptq.calibration"),
                                QStringLiteral("method.ptq.percentile"),
                                QStringLiteral("method.ptq.batches")};
/// Options every QAT method (lsq, squat, nt) shows.
const QStringList kQatFields = {
    QStringLiteral("quant.grad_scale"), QStringLiteral("method.distill.enabled"),
    QStringLiteral("method.distill.teacher"), QStringLiteral("method.distill.alpha"),
    QStringLiteral("method.distill.temperature")};

}  // namespace

void TestRunConfigPanel::methodOptionsFollowTheMethod_data() {
    QTest::addColumn<QString>("method");
    QTest::addColumn<QString>("label");
    QTest::addColumn<QStringList>("shown");
    QTest::newRow("fp") << QStringLiteral("fp") << QStringLiteral("Full precision (fp)")
                        << QStringList();
    QTest::newRow("lsq") << QStringLiteral("lsq") << QStringLiteral("LSQ (learned step size)")
                         << kQatFields;
    QTest::newRow("squat") << QStringLiteral("squat") << QStringLiteral("SQuAT (sharpness-aware)")
                           << kSquatFields + kQatFields;
    QTest::newRow("nt") << QStringLiteral("nt") << QStringLiteral("Noise tempering")
                        << kNoiseFields + kQatFields;
    QTest::newRow("ptq") << QStringLiteral("ptq") << QStringLiteral("PTQ (calibration only)")
                         << kPtqFields;
}

void TestRunConfigPanel::methodOptionsFollowTheMethod() {
    QFETCH(QString, method);
    QFETCH(QString, label);
    QFETCH(QStringList, shown);
    FakeBackend backend;
    RunConfigPanel panel(&backend);
    auto* combo = qobject_cast<QComboBox*>(panel.fieldWidget(QStringLiteral("method.name")));
    // Start from another method, so that the switch itself shows and hides the rows.
    editWidget(combo,
               method == QLatin1String("nt") ? QStringLiteral("squat") : QStringLiteral("nt"));
    editWidget(combo, method);
    QCOMPARE(combo->currentText(), label);
    QCOMPARE(SpecFieldBinder::valueAt(panel.spec(), QStringLiteral("method.name")).toString(),
             method);
    // Each option has a tooltip saying what it does and its default.
    for (const QString& f : kSquatFields + kNoiseFields + kPtqFields + kQatFields) {
        QWidget* w = panel.fieldWidget(f);
        QVERIFY2(w, qPrintable(f));
        QCOMPARE(w->isVisibleTo(&panel), shown.contains(f));
        if (f != QLatin1String("method.distill.teacher")) {  // its tooltip is on the row
            QVERIFY2(!w->toolTip().isEmpty(), qPrintable(f));
        }
    }
    // The quantization fields apply to every method but fp.
    QCOMPARE(panel.fieldWidget(QStringLiteral("quant.weight_bits"))->isEnabled(),
             method != QLatin1String("fp"));
}

void TestRunConfigPanel::methodOptionsEnableWithTheirSwitch() {
    FakeBackend backend;
    RunConfigPanel panel(&backend);
    auto enabled = [&panel](const char* f) {
        return panel.fieldWidget(QLatin1String(f))->isEnabled();
    };
    editWidget(panel.fieldWidget(QStringLiteral("method.name")), QStringLiteral("squat"));
    QVERIFY(!enabled("method.squat.k"));  // k is for the alternate schedule
    editWidget(panel.fieldWidget(QStringLiteral("method.squat.schedule")),
               QStringLiteral("alternate"));
    QVERIFY(enabled("method.squat.k"));
    QVERIFY(!enabled("method.distill.alpha"));
    QVERIFY(!enabled("method.distill.teacher"));
    editWidget(panel.fieldWidget(QStringLiteral("init_checkpoint")), QStringLiteral("/tmp"));
    editWidget(panel.fieldWidget(QStringLiteral("method.distill.enabled")), true);
    QVERIFY(enabled("method.distill.alpha"));
    QVERIFY(enabled("method.distill.temperature"));
    QVERIFY(enabled("method.distill.teacher"));

    editWidget(panel.fieldWidget(QStringLiteral("method.name")), QStringLiteral("nt"));
    QVERIFY(enabled("method.nt.end_lambda"));  // tau 0: derived from end lambda and fraction
    editWidget(panel.fieldWidget(QStringLiteral("method.nt.tau")), 800.0);
    QVERIFY(!enabled("method.nt.end_lambda"));
    QVERIFY(!enabled("method.nt.end_fraction"));

    editWidget(panel.fieldWidget(QStringLiteral("method.distill.enabled")), false);
    editWidget(panel.fieldWidget(QStringLiteral("method.name")), QStringLiteral("ptq"));
    QVERIFY(!enabled("method.ptq.percentile"));  // mse calibration by default
    editWidget(panel.fieldWidget(QStringLiteral("method.ptq.calibration")),
               QStringLiteral("percentile"));
    QVERIFY(enabled("method.ptq.percentile"));
    QVERIFY2(panel.isValid(), qPrintable(panel.message()));
}

void TestRunConfigPanel::methodOptionEditsWriteTheirField_data() {
    QTest::addColumn<QString>("method");
    QTest::addColumn<QString>("field");
    QTest::addColumn<QJsonValue>("value");
    QTest::newRow("squat rho") << QStringLiteral("squat") << QStringLiteral("method.squat.rho")
                               << QJsonValue(0.5);
    QTest::newRow("squat asam") << QStringLiteral("squat") << QStringLiteral("method.squat.asam")
                                << QJsonValue(true);
    QTest::newRow("squat site") << QStringLiteral("squat") << QStringLiteral("method.squat.site")
                                << QJsonValue(QStringLiteral("quantized"));
    QTest::newRow("nt lambda0") << QStringLiteral("nt") << QStringLiteral("method.nt.lambda0")
                                << QJsonValue(0.5);
    QTest::newRow("nt distribution")
        << QStringLiteral("nt") << QStringLiteral("method.nt.distribution")
        << QJsonValue(QStringLiteral("normal"));
    QTest::newRow("ptq batches") << QStringLiteral("ptq") << QStringLiteral("method.ptq.batches")
                                 << QJsonValue(16);
    QTest::newRow("lsq distill temperature")
        << QStringLiteral("lsq") << QStringLiteral("method.distill.temperature") << QJsonValue(3.0);
}

void TestRunConfigPanel::methodOptionEditsWriteTheirField() {
    QFETCH(QString, method);
    QFETCH(QString, field);
    QFETCH(QJsonValue, value);
    FakeBackend backend;
    RunConfigPanel panel(&backend);
    // ptq needs a float checkpoint to calibrate.
    editWidget(panel.fieldWidget(QStringLiteral("init_checkpoint")), QStringLiteral("/tmp"));
    editWidget(panel.fieldWidget(QStringLiteral("method.name")), method);
    QVERIFY2(panel.isValid(), qPrintable(panel.message()));
    const QJsonObject before = panel.spec();
    editWidget(panel.fieldWidget(field), value);
    QJsonObject expected = before;
    SpecFieldBinder::setValueAt(expected, field, value);
    QCOMPARE(panel.spec(), expected);
    QVERIFY2(panel.isValid(), qPrintable(panel.message()));
    QCOMPARE(panel.spec().value(QStringLiteral("method")).toObject().keys(),
             (QStringList{QStringLiteral("distill"), QStringLiteral("name"), QStringLiteral("nt"),
                          QStringLiteral("ptq"), QStringLiteral("squat")}));
}

void TestRunConfigPanel::distillationNeedsATeacher() {
    FakeBackend backend;
    RunConfigPanel panel(&backend);
    editWidget(panel.fieldWidget(QStringLiteral("method.name")), QStringLiteral("squat"));
    editWidget(panel.fieldWidget(QStringLiteral("method.distill.enabled")), true);
    QVERIFY(!panel.isValid());
    QCOMPARE(panel.message(),
             QStringLiteral("method.distill.teacher: distillation needs a float teacher: set "
                            "method.distill.teacher or init_checkpoint"));
    QWidget* teacher = panel.fieldWidget(QStringLiteral("method.distill.teacher"));
    QVERIFY(panel.isMarked(teacher));
    QVERIFY(teacher->isEnabled());
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("teacher.safetensors"));
    editWidget(teacher, path);
    QVERIFY(!panel.checkBeforeRun());  // the file does not exist yet
    QVERIFY(panel.message().contains(QStringLiteral("method.distill.teacher: ") + path));
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.close();
    QVERIFY(panel.checkBeforeRun());
    QCOMPARE(
        SpecFieldBinder::valueAt(panel.spec(), QStringLiteral("method.distill.teacher")).toString(),
        path);
}

void TestRunConfigPanel::presetComboAppliesPreset() {
    FakeBackend backend;
    RunConfigPanel panel(&backend);
    QSignalSpy changed(&panel, &RunConfigPanel::specChanged);
    QComboBox* combo = panel.presetCombo();
    const int i = combo->findData(QStringLiteral("lsq-w3a3"));
    QVERIFY(i > 0);
    combo->setCurrentIndex(i);
    Q_EMIT combo->activated(i);
    QCOMPARE(changed.count(), 1);
    QCOMPARE(panel.spec(), backend.presetSpec(QStringLiteral("lsq-w3a3")));
    QCOMPARE(
        qobject_cast<QSpinBox*>(panel.fieldWidget(QStringLiteral("quant.weight_bits")))->value(),
        3);
}

void TestRunConfigPanel::specFilesLoadAndSave() {
    FakeBackend backend;
    RunConfigPanel panel(&backend);
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("spec.json"));
    panel.setSpec(fullSpec());
    QString error;
    QVERIFY2(panel.saveSpecFile(path, &error), qPrintable(error));
    panel.applyPreset(QStringLiteral("smoke"));
    QVERIFY(panel.spec() != fullSpec());
    QVERIFY2(panel.loadSpecFile(path, &error), qPrintable(error));
    QCOMPARE(panel.spec(), fullSpec());
    QCOMPARE(panel.presetCombo()->currentIndex(), 0);  // no longer a preset

    // A partial spec (as written by hand for the CLI) is completed with the engine's defaults.
    const QString partial = dir.filePath(QStringLiteral("partial.json"));
    QFile f(partial);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(R"({"name": "hand-written", "optim": {"lr": 0.3}})");
    f.close();
    QVERIFY2(panel.loadSpecFile(partial, &error), qPrintable(error));
    QJsonObject expected = FakeBackend::defaultSpec();
    expected.insert(QStringLiteral("name"), QStringLiteral("hand-written"));
    SpecFieldBinder::setValueAt(expected, QStringLiteral("optim.lr"), 0.3);
    QCOMPARE(panel.spec(), expected);
}

void TestRunConfigPanel::badSpecFileReportsTheFile() {
    FakeBackend backend;
    RunConfigPanel panel(&backend);
    const QJsonObject before = panel.spec();
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("broken.json"));
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(R"({"name": "x",)");
    f.close();
    QString error;
    QVERIFY(!panel.loadSpecFile(path, &error));
    QVERIFY2(error.startsWith(path + QStringLiteral(": not valid JSON at offset")),
             qPrintable(error));
    QCOMPARE(panel.spec(), before);
    QVERIFY(!panel.loadSpecFile(dir.filePath(QStringLiteral("absent.json")), &error));
    QVERIFY(error.startsWith(dir.filePath(QStringLiteral("absent.json")) +
                             QStringLiteral(": cannot open")));
    QFile array(dir.filePath(QStringLiteral("array.json")));
    QVERIFY(array.open(QIODevice::WriteOnly));
    array.write("[1, 2]");
    array.close();
    QVERIFY(!panel.loadSpecFile(array.fileName(), &error));
    QCOMPARE(error, array.fileName() + QStringLiteral(": a run spec must be a JSON object"));
}

QTEST_MAIN(TestRunConfigPanel)
#include "TestRunConfigPanel.moc"
