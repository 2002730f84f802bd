// quantscape-cli end to end: the built binary, run with QProcess on a tiny learnable dataset, with
// its store and checkpoints in a temporary directory (XDG_DATA_HOME and HOME point there too, so
// the user's default paths are never touched). Exit codes, the result table, spec errors naming
// the field, failed runs naming the file, a corrupt store, the JSON listings, and Ctrl-C, resume
// and kill -9 of a real training process.
#include "CliProcess.h"
#include "support/TestFiles.h"
#include "support/TinyDataset.h"
#include "support/TinySpecJson.h"
#include "support/TinyText.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

#include <signal.h>

#include <random>

using namespace qs::test;

class TestCli : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanupTestCase();

    void usageAndExitCodes_data();
    void usageAndExitCodes();
    void presetsAreListed();
    void shownPresetIsATrainableSpec();
    void trainPrintsResultTableAndProgress();
    void setOverridesTheSpec();
    void badSpecExits2NamingTheProblem_data();
    void badSpecExits2NamingTheProblem();
    void failedRunExits1NamingTheFile_data();
    void failedRunExits1NamingTheFile();
    void corruptStoreExits3NamingTheFile_data();
    void corruptStoreExits3NamingTheFile();
    void runsListAndShowAsJson();
    void interruptCancelsAndResumeFinishes();
    void killedRunIsInterruptedAndResumable();
    void sharpnessOfARunAndOfAFile();
    void bertRunAndItsLandscape();

private:
    CliResult cli(const QStringList& args, int timeoutMs = 60000);
    /// Starts the CLI without waiting for it.
    std::unique_ptr<QProcess> startCli(const QStringList& args);
    QJsonObject tinySpec(const QString& name) const;
    QString writeSpec(const QJsonObject& spec, const QString& fileName = "spec.json") const;
    QString writeText(const QString& fileName, const QByteArray& text) const;
    QStringList storeArgs() const { return {QStringLiteral("--db"), m_db}; }
    QStringList trainArgs(const QString& specFile) const;
    QJsonObject showRun(int id);

    QTemporaryDir m_dir;
    QString m_data;  ///< the tiny dataset's folder
    QString m_glue;  ///< a tiny SST-2 task folder
    QString m_xdg;
    QString m_case;  ///< this test function's own folder: a fresh store and checkpoints
    QString m_db;
    QString m_out;
    int m_caseCount = 0;
};

void TestCli::initTestCase() {
    QVERIFY(m_dir.isValid());
    QVERIFY2(QFile::exists(kCli), qPrintable(kCli));
    m_data = m_dir.filePath(QStringLiteral("tiny"));
    QVERIFY(QDir().mkpath(m_data));
    qs::test::writeTinyDataset(m_data.toStdString());
    m_glue = m_dir.filePath(QStringLiteral("glue"));
    qs::test::writeTinySst2(m_glue.toStdString());
    m_xdg = m_dir.filePath(QStringLiteral("xdg"));
    QVERIFY(QDir().mkpath(m_xdg));
}

void TestCli::init() {
    m_case = m_dir.filePath(QStringLiteral("case-%1").arg(++m_caseCount));
    QVERIFY(QDir().mkpath(m_case));
    m_db = m_case + QStringLiteral("/runs.sqlite");
    m_out = m_case + QStringLiteral("/out");
}

void TestCli::cleanupTestCase() {
    // --db and --out were given everywhere: nothing went to the default data folder.
    QVERIFY(!QFile::exists(m_xdg + QStringLiteral("/quantscape")));
}

std::unique_ptr<QProcess> TestCli::startCli(const QStringList& args) {
    return qs::test::startCli(args, m_xdg, m_dir.filePath(QStringLiteral("home")), m_case);
}

CliResult TestCli::cli(const QStringList& args, int timeoutMs) {
    return finishCli(*startCli(args), args, timeoutMs);
}

QJsonObject TestCli::tinySpec(const QString& name) const {
    return qs::test::tinySpecJson(m_data, name, QStringLiteral("fp"), 1);
}

QString TestCli::writeText(const QString& fileName, const QByteArray& text) const {
    const QString path = m_case + QLatin1Char('/') + fileName;
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(text) != text.size()) {
        return {};
    }
    return path;
}

QString TestCli::writeSpec(const QJsonObject& spec, const QString& fileName) const {
    return writeText(fileName, QJsonDocument(spec).toJson());
}

QStringList TestCli::trainArgs(const QString& specFile) const {
    return {QStringLiteral("train"),
            QStringLiteral("--spec"),
            specFile,
            QStringLiteral("--db"),
            m_db,
            QStringLiteral("--out"),
            m_out};
}

QJsonObject TestCli::showRun(int id) {
    const CliResult r = cli(QStringList{QStringLiteral("runs"), QStringLiteral("show"),
                                        QString::number(id), QStringLiteral("--json")} +
                            storeArgs());
    if (r.exitCode != 0) {
        qWarning("%s", qPrintable(describe(r)));
        return {};
    }
    return parseObject(r.out);
}

void TestCli::usageAndExitCodes_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<int>("exitCode");
    QTest::addColumn<bool>("onStdout");
    QTest::addColumn<QString>("text");
    QTest::newRow("--help") << QStringList{"--help"} << 0 << true
                            << QStringLiteral("usage: quantscape-cli COMMAND [OPTIONS]\n");
    QTest::newRow("--version") << QStringList{"--version"} << 0 << true
                               << QStringLiteral("quantscape-cli ");
    QTest::newRow("no command") << QStringList{} << 2 << false
                                << QStringLiteral("usage: quantscape-cli COMMAND [OPTIONS]\n");
    QTest::newRow("unknown command")
        << QStringList{"frobnicate"} << 2 << false
        << QStringLiteral(
               "quantscape-cli: unknown command frobnicate\n(see quantscape-cli --help)\n");
    QTest::newRow("unknown train option")
        << QStringList{"train", "--bogus"} << 2 << false
        << QStringLiteral("quantscape-cli: train: unknown option --bogus\n");
    QTest::newRow("train with neither spec nor preset")
        << QStringList{"train", "--threads", "1"} << 2 << false
        << QStringLiteral(
               "quantscape-cli: train needs exactly one of --spec FILE or --preset NAME\n");
    QTest::newRow("option without its value")
        << QStringList{"train", "--spec"} << 2 << false
        << QStringLiteral("quantscape-cli: --spec needs a value\n");
    QTest::newRow("unknown preset")
        << QStringList{"presets", "--show", "nope"} << 2 << false
        << QStringLiteral(
               "quantscape-cli: invalid spec: preset: unknown preset \"nope\" (known: smoke, "
               "demo-float, demo-lsq-w4a4, ptq-w4a4, ptq-w3a3, ptq-w2a2, lsq-w4a4, lsq-w3a3, "
               "lsq-w2a2, squat-w4a4, squat-w3a3, squat-w2a2, nt-w4a4, nt-w3a3, nt-w2a2, "
               "bert-spam-float, bert-spam-lsq-w4a8, bert-spam-squat-w4a8, bert-spam-nt-w4a8, "
               "bert-spam-lsq-w2a8, bert-spam-squat-w2a8, bert-spam-nt-w2a8, "
               "glue-squat-w4a8)\n");
    QTest::newRow("sharpness of nothing") << QStringList{"sharpness"} << 2 << false
                                          << QStringLiteral(
                                                 "quantscape-cli: sharpness: give exactly one of "
                                                 "--run RUN_ID and --checkpoint FILE\n");
    QTest::newRow("sharpness of both")
        << QStringList{"sharpness", "--run", "1", "--checkpoint", "x.safetensors"} << 2 << false
        << QStringLiteral(
               "quantscape-cli: sharpness: give exactly one of --run RUN_ID and --checkpoint "
               "FILE\n");
    QTest::newRow("sharpness measure")
        << QStringList{"sharpness", "--run", "1", "--measure", "hessian"} << 2 << false
        << QStringLiteral("quantscape-cli: --measure: rho-ball, epsilon or both (got hessian)\n");
    QTest::newRow("sharpness rho")
        << QStringList{"sharpness", "--run", "1", "--rho", "wide"} << 2 << false
        << QStringLiteral("quantscape-cli: --rho needs a number (got \"wide\")\n");
    QTest::newRow("sharpness of a missing file")
        << QStringList{"sharpness", "--checkpoint", "missing.safetensors", "--db", "none.sqlite"}
        << 3 << false
        << QStringLiteral("quantscape-cli: cannot read checkpoint: missing.safetensors");
    QTest::newRow("runs without a subcommand")
        << QStringList{"runs"} << 2 << false
        << QStringLiteral("quantscape-cli: runs needs a subcommand: list or show RUN_ID\n");
    QTest::newRow("runs show without an integer")
        << QStringList{"runs", "show", "last"} << 2 << false
        << QStringLiteral("quantscape-cli: runs show needs an integer (got \"last\")\n");
}

void TestCli::usageAndExitCodes() {
    QFETCH(QStringList, args);
    QFETCH(int, exitCode);
    QFETCH(bool, onStdout);
    QFETCH(QString, text);
    const CliResult r = cli(args);
    QCOMPARE(r.exitStatus, QProcess::NormalExit);
    QVERIFY2(r.exitCode == exitCode, qPrintable(describe(r)));
    QVERIFY2((onStdout ? r.out : r.err).startsWith(text), qPrintable(describe(r)));
}

void TestCli::presetsAreListed() {
    const CliResult r = cli({QStringLiteral("presets")});
    QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
    const QStringList lines = r.out.split(QLatin1Char('\n'));
    QVERIFY2(lines.value(0).startsWith(QStringLiteral("preset")), qPrintable(r.out));
    for (const char* name : {"smoke", "demo-float", "demo-lsq-w4a4", "lsq-w2a2", "lsq-w3a3",
                             "lsq-w4a4", "ptq-w2a2", "squat-w3a3", "nt-w4a4"}) {
        const QRegularExpression row(QStringLiteral("^%1 +\\S").arg(QLatin1String(name)));
        bool found = false;
        for (const QString& line : lines) {
            found = found || row.match(line).hasMatch();
        }
        QVERIFY2(found, name);
    }
}

void TestCli::shownPresetIsATrainableSpec() {
    const CliResult shown =
        cli({QStringLiteral("presets"), QStringLiteral("--show"), QStringLiteral("smoke")});
    QVERIFY2(shown.exitCode == 0, qPrintable(describe(shown)));
    const QJsonObject spec = parseObject(shown.out);
    QCOMPARE(spec.value(QStringLiteral("name")).toString(), QStringLiteral("smoke"));
    QCOMPARE(spec.value(QStringLiteral("method")).toObject().value(QStringLiteral("name")),
             QJsonValue(QStringLiteral("lsq")));
    // Every field is written out (canonical JSON), so the file alone describes the run.
    for (const char* key : {"version", "model", "data", "method", "quant", "optim",
                            "init_checkpoint", "seed", "threads", "log_every", "state_every"}) {
        QVERIFY2(spec.contains(QLatin1String(key)), key);
    }

    // The printed text, as is, is a spec file; only the data is pointed at the tiny set.
    const QString file = writeText(QStringLiteral("smoke.json"), shown.out.toUtf8());
    const CliResult r =
        cli(trainArgs(file) + QStringList{"--set", "data.dataset=mnist", "--set",
                                          "data.path=" + m_data, "--set", "data.train_limit=64",
                                          "--set", "data.test_limit=32", "--threads", "1"});
    QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
    QVERIFY2(r.out.contains(QRegularExpression(QStringLiteral("\n1 +smoke +lsq +W4A4 +finished "))),
             qPrintable(r.out));
    QVERIFY2(r.err.contains(QStringLiteral("note: no init_checkpoint")), qPrintable(r.err));
}

void TestCli::trainPrintsResultTableAndProgress() {
    const QString file = writeSpec(tinySpec(QStringLiteral("tiny-cli")));
    const CliResult r = cli(trainArgs(file));
    QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));

    // stdout: the result table and nothing else.
    const QStringList lines = r.out.split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), 3);
    QVERIFY2(lines[0].contains(QRegularExpression(
                 QStringLiteral("^run +name +method +bits +status +eval acc +best acc +eval loss "
                                "+step ms +total s$"))),
             qPrintable(lines[0]));
    QVERIFY2(lines[1].contains(QRegularExpression(QStringLiteral("^-+ +-+"))),
             qPrintable(lines[1]));
    const QRegularExpression row(
        QStringLiteral("^1 +tiny-cli +fp +float +finished +(\\d+\\.\\d\\d)% +\\d+\\.\\d\\d% +"
                       "\\d+\\.\\d{3} +\\d+\\.\\d +\\d+$"));
    const QRegularExpressionMatch match = row.match(lines[2]);
    QVERIFY2(match.hasMatch(), qPrintable(lines[2]));
    QVERIFY2(match.captured(1).toDouble() > 40.0, qPrintable(lines[2]));  // chance is 25 %

    // stderr: where the run went, progress lines (not a terminal: one per 5 %), the checkpoint.
    QVERIFY2(r.err.startsWith(QStringLiteral("run 1 (tiny-cli) recorded in %1\n").arg(m_db)),
             qPrintable(r.err));
    QVERIFY2(r.err.contains(
                 QRegularExpression(QStringLiteral("\n *\\d+% training epoch 1/1 step \\d+/8 "))),
             qPrintable(r.err));
    QVERIFY2(r.err.contains(QStringLiteral("epoch 1/1: eval loss ")), qPrintable(r.err));
    QVERIFY2(r.err.endsWith(QStringLiteral("checkpoint: %1/run-1/last.safetensors\n").arg(m_out)),
             qPrintable(r.err));
    QVERIFY(QFile::exists(m_out + QStringLiteral("/run-1/epoch-1.safetensors")));
}

void TestCli::setOverridesTheSpec() {
    const QString file = writeSpec(tinySpec(QStringLiteral("two epochs")));
    const CliResult r = cli(trainArgs(file) + QStringList{"--set", "optim.epochs=2"});
    QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
    const QJsonObject run = showRun(1);
    QCOMPARE(run.value(QStringLiteral("status")).toString(), QStringLiteral("finished"));
    const QJsonObject spec = run.value(QStringLiteral("spec")).toObject();
    QCOMPARE(spec.value(QStringLiteral("optim")).toObject().value(QStringLiteral("epochs")),
             QJsonValue(2));
    // It was not just recorded: the run trained for two epochs of 8 steps.
    QCOMPARE(run.value(QStringLiteral("final_metrics")).toObject().value(QStringLiteral("steps")),
             QJsonValue(16.0));
    QVERIFY(QFile::exists(m_out + QStringLiteral("/run-1/epoch-2.safetensors")));
}

void TestCli::badSpecExits2NamingTheProblem_data() {
    QTest::addColumn<QByteArray>("specText");  // empty: the valid tiny spec
    QTest::addColumn<QStringList>("extraArgs");
    QTest::addColumn<QString>("message");  // a line of stderr; %1 = the spec file
    QTest::newRow("negative learning rate")
        << QByteArray() << QStringList{"--set", "optim.lr=-1"}
        << QStringLiteral("quantscape-cli: invalid spec: optim.lr: must be in (0, 10] (got -1)");
    QTest::newRow("override that is not KEY=VALUE")
        << QByteArray() << QStringList{"--set", "optim.lr"}
        << QStringLiteral(
               "quantscape-cli: invalid spec: override \"optim.lr\" must look like KEY=VALUE");
    QTest::newRow("override of an unknown field")
        << QByteArray() << QStringList{"--set", "optim.learning_rate=0.1"}
        << QStringLiteral("quantscape-cli: invalid spec: optim.learning_rate: unknown field");
    QTest::newRow("unknown field in the file")
        << QByteArray(R"({"version": 1, "name": "x", "data": {"augmnt": false}})") << QStringList{}
        << QStringLiteral("quantscape-cli: invalid spec: data.augmnt: unknown field");
    QTest::newRow("wrong type")
        << QByteArray(R"({"version": 1, "optim": {"epochs": "three"}})") << QStringList{}
        << QStringLiteral("quantscape-cli: invalid spec: optim.epochs: must be an integer");
    QTest::newRow("malformed JSON")
        << QByteArray(R"({"version": 1, "name": )") << QStringList{}
        << QStringLiteral("quantscape-cli: invalid spec: not valid JSON: ");
    QTest::newRow("missing spec file")
        << QByteArray("-") << QStringList{}
        << QStringLiteral("quantscape-cli: cannot read spec file %1");
}

void TestCli::badSpecExits2NamingTheProblem() {
    QFETCH(QByteArray, specText);
    QFETCH(QStringList, extraArgs);
    QFETCH(QString, message);
    QString file;
    if (specText.isEmpty()) {
        file = writeSpec(tinySpec(QStringLiteral("bad")));
    } else if (specText == "-") {
        file = m_case + QStringLiteral("/no-such-spec.json");
    } else {
        file = writeText(QStringLiteral("spec.json"), specText);
    }
    const CliResult r = cli(trainArgs(file) + extraArgs);
    QVERIFY2(r.exitCode == 2, qPrintable(describe(r)));
    const QString expected = message.contains(QLatin1String("%1")) ? message.arg(file) : message;
    QVERIFY2(r.err.startsWith(expected), qPrintable(describe(r)));
    QVERIFY2(r.out.isEmpty(), qPrintable(r.out));
    QVERIFY(!QFile::exists(m_db));  // refused before anything was recorded
}

void TestCli::failedRunExits1NamingTheFile_data() {
    QTest::addColumn<QString>("what");
    QTest::addColumn<QString>("message");  // the end of stderr; %1 = the bad path
    QTest::newRow("missing dataset folder")
        << QStringLiteral("data")
        << QStringLiteral(
               "error: folder %1: missing train-images-idx3-ubyte (or "
               "train-images-idx3-ubyte.gz)\n");
    QTest::newRow("corrupt init checkpoint")
        << QStringLiteral("checkpoint")
        << QStringLiteral(
               "error: cannot load checkpoint: %1: header length 8316213866978112607 exceeds the "
               "100000000-byte limit\n");
}

void TestCli::failedRunExits1NamingTheFile() {
    QFETCH(QString, what);
    QFETCH(QString, message);
    QJsonObject spec = tinySpec(QStringLiteral("doomed"));
    QString bad;
    if (what == QLatin1String("data")) {
        bad = m_case + QStringLiteral("/no-dataset-here");
        QJsonObject data = spec.value(QStringLiteral("data")).toObject();
        data.insert(QStringLiteral("path"), bad);
        spec.insert(QStringLiteral("data"), data);
    } else {
        bad = writeText(QStringLiteral("init.safetensors"),
                        QByteArrayLiteral("_this is not a safetensors file at all_"));
        spec.insert(QStringLiteral("init_checkpoint"), bad);
    }
    const CliResult r = cli(trainArgs(writeSpec(spec)));
    QVERIFY2(r.exitCode == 1, qPrintable(describe(r)));
    QVERIFY2(r.err.endsWith(message.arg(bad)), qPrintable(describe(r)));
    QVERIFY2(r.out.contains(QRegularExpression(QStringLiteral("\n1 +doomed +fp +float +failed "))),
             qPrintable(r.out));
    QCOMPARE(r.err.count(message.arg(bad)), 1);
    // The failure is recorded with the same message.
    const QJsonObject run = showRun(1);
    QCOMPARE(run.value(QStringLiteral("status")).toString(), QStringLiteral("failed"));
    QCOMPARE(QStringLiteral("error: %1\n").arg(run.value(QStringLiteral("error")).toString()),
             message.arg(bad));
}

void TestCli::corruptStoreExits3NamingTheFile_data() {
    QTest::addColumn<QStringList>("command");
    QTest::newRow("train") << QStringList{"train", "--spec", "SPEC", "--out", "OUT"};
    QTest::newRow("train --resume") << QStringList{"train", "--resume", "1"};
    QTest::newRow("runs list") << QStringList{"runs", "list"};
    QTest::newRow("runs show --json") << QStringList{"runs", "show", "1", "--json"};
}

void TestCli::corruptStoreExits3NamingTheFile() {
    QFETCH(QStringList, command);
    std::mt19937 rng(99);
    QByteArray junk(8192, '\0');
    for (char& c : junk) {
        c = char(rng());
    }
    QVERIFY(!writeText(QStringLiteral("runs.sqlite"), junk).isEmpty());
    command.replaceInStrings(QStringLiteral("SPEC"), writeSpec(tinySpec(QStringLiteral("x"))));
    command.replaceInStrings(QStringLiteral("OUT"), m_out);
    const CliResult r = cli(command + storeArgs());
    QVERIFY2(r.exitCode == 3, qPrintable(describe(r)));
    QVERIFY2(r.err.startsWith(QStringLiteral("quantscape-cli: run store: %1: ").arg(m_db)),
             qPrintable(describe(r)));
    QVERIFY2(r.out.isEmpty(), qPrintable(r.out));
    // The store is refused, not "repaired": the file is as it was.
    QFile file(m_db);
    QVERIFY(file.open(QIODevice::ReadOnly));
    QCOMPARE(file.readAll(), junk);
}

void TestCli::runsListAndShowAsJson() {
    const CliResult none =
        cli(QStringList{QStringLiteral("runs"), QStringLiteral("list")} + storeArgs());
    QVERIFY2(none.exitCode == 3, qPrintable(describe(none)));
    QVERIFY2(none.err.startsWith(
                 QStringLiteral("quantscape-cli: run store: %1: no run store here yet").arg(m_db)),
             qPrintable(none.err));

    QJsonObject lsq = tinySpec(QStringLiteral("tiny-lsq"));
    lsq.insert(QStringLiteral("method"), QJsonObject{{"name", "lsq"}});
    QVERIFY2(
        cli(trainArgs(writeSpec(tinySpec(QStringLiteral("tiny-fp")), "fp.json"))).exitCode == 0,
        "float run");
    const CliResult second = cli(trainArgs(writeSpec(lsq, "lsq.json")));
    QVERIFY2(second.exitCode == 0, qPrintable(describe(second)));

    const CliResult list =
        cli(QStringList{QStringLiteral("runs"), QStringLiteral("list"), QStringLiteral("--json")} +
            storeArgs());
    QVERIFY2(list.exitCode == 0, qPrintable(describe(list)));
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(list.out.toUtf8(), &error);
    QVERIFY2(error.error == QJsonParseError::NoError, qPrintable(error.errorString()));
    QVERIFY(doc.isArray());
    const QJsonArray runs = doc.array();
    QCOMPARE(runs.size(), 2);
    const QRegularExpression iso(QStringLiteral("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$"));
    const QStringList names{QStringLiteral("tiny-lsq"), QStringLiteral("tiny-fp")};  // newest first
    const QStringList bits{QStringLiteral("W4A4"), QStringLiteral("float")};
    for (int i = 0; i < 2; ++i) {
        const QJsonObject run = runs[i].toObject();
        QCOMPARE(run.value(QStringLiteral("id")), QJsonValue(2 - i));
        QCOMPARE(run.value(QStringLiteral("name")).toString(), names[i]);
        QCOMPARE(run.value(QStringLiteral("status")).toString(), QStringLiteral("finished"));
        QCOMPARE(run.value(QStringLiteral("bits")).toString(), bits[i]);
        QVERIFY(iso.match(run.value(QStringLiteral("created")).toString()).hasMatch());
        const QJsonObject finals = run.value(QStringLiteral("final_metrics")).toObject();
        QVERIFY(finals.value(QStringLiteral("eval/acc")).isDouble());
        QCOMPARE(finals.value(QStringLiteral("steps")), QJsonValue(8.0));
    }

    const QJsonObject shown = showRun(2);
    QCOMPARE(shown.value(QStringLiteral("name")).toString(), QStringLiteral("tiny-lsq"));
    QCOMPARE(shown.value(QStringLiteral("layer_states_step")), QJsonValue(8));
    const QJsonArray layers = shown.value(QStringLiteral("layer_states")).toArray();
    QCOMPARE(layers.size(), 22);  // ResNet-20's quantizable layers
    for (const QJsonValue& v : layers) {
        const QJsonObject layer = v.toObject();
        const QString name = layer.value(QStringLiteral("layer")).toString();
        const int expectedBits =
            name == QLatin1String("conv1") || name == QLatin1String("fc") ? 8 : 4;
        QCOMPARE(layer.value(QStringLiteral("weight_bits")), QJsonValue(expectedBits));
        QCOMPARE(layer.value(QStringLiteral("act_bits")), QJsonValue(expectedBits));
        QVERIFY2(layer.value(QStringLiteral("weight_steps")).toArray().at(0).toDouble() > 0.0,
                 qPrintable(name));
    }

    const CliResult text =
        cli(QStringList{QStringLiteral("runs"), QStringLiteral("show"), QStringLiteral("2")} +
            storeArgs());
    QVERIFY2(text.exitCode == 0, qPrintable(describe(text)));
    QVERIFY2(text.out.startsWith(QStringLiteral("run 2: tiny-lsq (finished)\n")),
             qPrintable(text.out));
    QVERIFY2(text.out.contains(QStringLiteral("\nlayer states at step 8:\n")),
             qPrintable(text.out));

    const CliResult missing =
        cli(QStringList{QStringLiteral("runs"), QStringLiteral("show"), QStringLiteral("999")} +
            storeArgs());
    QVERIFY2(missing.exitCode == 2, qPrintable(describe(missing)));
    QVERIFY2(missing.err.startsWith(
                 QStringLiteral("quantscape-cli: no run with id 999 in %1\n").arg(m_db)),
             qPrintable(missing.err));
}

void TestCli::interruptCancelsAndResumeFinishes() {
    QJsonObject spec = tinySpec(QStringLiteral("interrupted"));
    QJsonObject data = spec.value(QStringLiteral("data")).toObject();
    data.insert(QStringLiteral("batch_size"), 4);  // 64 steps an epoch, 256 in all
    spec.insert(QStringLiteral("data"), data);
    spec.insert(QStringLiteral("optim"), QJsonObject{{"lr", 0.02}, {"epochs", 4}});
    spec.insert(QStringLiteral("log_every"), 8);
    const std::unique_ptr<QProcess> train = startCli(trainArgs(writeSpec(spec)));
    QVERIFY(train->waitForStarted());
    const QString checkpoint = m_out + QStringLiteral("/run-1/last.safetensors");
    QTRY_VERIFY_WITH_TIMEOUT(QFile::exists(checkpoint), 30000);
    QCOMPARE(train->state(), QProcess::Running);
    QCOMPARE(::kill(pid_t(train->processId()), SIGINT), 0);
    QVERIFY(train->waitForFinished(10000));
    const QString err = QString::fromUtf8(train->readAllStandardError());
    QCOMPARE(train->exitStatus(), QProcess::NormalExit);
    QVERIFY2(train->exitCode() == 1, qPrintable(err));
    QVERIFY2(err.contains(QStringLiteral("interrupted: cancelling after the current step...\n")),
             qPrintable(err));
    QVERIFY2(
        err.endsWith(QStringLiteral("cancelled: resume with `quantscape-cli train --resume 1`\n")),
        qPrintable(err));
    QVERIFY2(QString::fromUtf8(train->readAllStandardOutput())
                 .contains(QRegularExpression(QStringLiteral("\n1 +interrupted .* cancelled "))),
             "result table");
    QCOMPARE(showRun(1).value(QStringLiteral("status")).toString(), QStringLiteral("cancelled"));
    int saved = 0;  // epochs whose checkpoint was written before the cancel
    while (QFile::exists(m_out + QStringLiteral("/run-1/epoch-%1.safetensors").arg(saved + 1))) {
        ++saved;
    }
    QVERIFY2(saved >= 1 && saved < 4, qPrintable(QString::number(saved)));

    const CliResult resumed =
        cli(QStringList{QStringLiteral("train"), QStringLiteral("--resume"), QStringLiteral("1")} +
            storeArgs());
    QVERIFY2(resumed.exitCode == 0, qPrintable(describe(resumed)));
    QVERIFY2(
        resumed.err.contains(
            QStringLiteral("\nresuming after epoch %1 (step %2)\n").arg(saved).arg(64 * saved)),
        qPrintable(resumed.err));
    QVERIFY2(resumed.out.contains(
                 QRegularExpression(QStringLiteral("\n1 +interrupted +fp +float +finished "))),
             qPrintable(resumed.out));
    const QJsonObject run = showRun(1);
    QCOMPARE(run.value(QStringLiteral("status")).toString(), QStringLiteral("finished"));
    QCOMPARE(run.value(QStringLiteral("final_metrics")).toObject().value(QStringLiteral("steps")),
             QJsonValue(256.0));
    QVERIFY(QFile::exists(m_out + QStringLiteral("/run-1/epoch-4.safetensors")));

    // A finished run is not resumed again.
    const CliResult again =
        cli(QStringList{QStringLiteral("train"), QStringLiteral("--resume"), QStringLiteral("1")} +
            storeArgs());
    QVERIFY2(again.exitCode != 0, qPrintable(describe(again)));
    QVERIFY2(again.err.contains(QStringLiteral("run 1 has already finished")),
             qPrintable(again.err));
}

void TestCli::killedRunIsInterruptedAndResumable() {
    QJsonObject spec = tinySpec(QStringLiteral("killed"));
    QJsonObject data = spec.value(QStringLiteral("data")).toObject();
    data.insert(QStringLiteral("batch_size"), 4);
    spec.insert(QStringLiteral("data"), data);
    spec.insert(QStringLiteral("optim"), QJsonObject{{"lr", 0.02}, {"epochs", 4}});
    spec.insert(QStringLiteral("log_every"), 8);
    const std::unique_ptr<QProcess> train = startCli(trainArgs(writeSpec(spec)));
    QVERIFY(train->waitForStarted());
    QTRY_VERIFY_WITH_TIMEOUT(QFile::exists(m_out + QStringLiteral("/run-1/last.safetensors")),
                             30000);
    QCOMPARE(train->state(), QProcess::Running);
    QCOMPARE(::kill(pid_t(train->processId()), SIGKILL), 0);
    QVERIFY(train->waitForFinished(10000));
    QCOMPARE(train->exitStatus(), QProcess::CrashExit);

    const CliResult list =
        cli(QStringList{QStringLiteral("runs"), QStringLiteral("list"), QStringLiteral("--json")} +
            storeArgs());
    QVERIFY2(list.exitCode == 0, qPrintable(describe(list)));
    const QJsonArray runs = QJsonDocument::fromJson(list.out.toUtf8()).array();
    QCOMPARE(runs.size(), 1);
    QCOMPARE(runs[0].toObject().value(QStringLiteral("status")).toString(),
             QStringLiteral("interrupted"));

    // Resumed on a "bigger machine": --threads is documented for train --resume.
    const CliResult resumed =
        cli(QStringList{QStringLiteral("train"), QStringLiteral("--resume"), QStringLiteral("1"),
                        QStringLiteral("--threads"), QStringLiteral("2")} +
            storeArgs());
    QVERIFY2(resumed.exitCode == 0, qPrintable(describe(resumed)));
    QVERIFY2(resumed.err.contains(QRegularExpression(
                 QStringLiteral("\ndata: mnist train 256, test 128 images of 1x12x12; threads "
                                "\\d+\n"))),
             qPrintable(resumed.err));
    QVERIFY2(resumed.err.contains(QStringLiteral("; threads 2\n")), qPrintable(resumed.err));
    const QJsonObject run = showRun(1);
    QCOMPARE(run.value(QStringLiteral("status")).toString(), QStringLiteral("finished"));
    QCOMPARE(run.value(QStringLiteral("final_metrics")).toObject().value(QStringLiteral("steps")),
             QJsonValue(256.0));
}

void TestCli::sharpnessOfARunAndOfAFile() {
    QVERIFY2(
        cli(trainArgs(writeSpec(tinySpec(QStringLiteral("tiny-fp")), "fp.json"))).exitCode == 0,
        "float run");
    const QStringList small{QStringLiteral("--samples"),   QStringLiteral("48"),
                            QStringLiteral("--steps"),     QStringLiteral("2"),
                            QStringLiteral("--eps-steps"), QStringLiteral("3"),
                            QStringLiteral("--threads"),   QStringLiteral("1")};
    const CliResult r = cli(QStringList{QStringLiteral("sharpness"), QStringLiteral("--run"),
                                        QStringLiteral("1"), QStringLiteral("--json")} +
                            small + storeArgs());
    QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
    const QJsonObject report = parseObject(r.out);
    QCOMPARE(report.value(QStringLiteral("method")).toString(), QStringLiteral("fp"));
    const QJsonArray figures = report.value(QStringLiteral("figures")).toArray();
    QCOMPARE(figures.size(), 2);
    QCOMPARE(figures[0].toObject().value(QStringLiteral("measure")).toString(),
             QStringLiteral("rho-ball"));
    QCOMPARE(figures[1].toObject().value(QStringLiteral("measure")).toString(),
             QStringLiteral("epsilon"));
    for (const QJsonValue& v : figures) {
        const QJsonObject f = v.toObject();
        QCOMPARE(f.value(QStringLiteral("mode")).toString(), QStringLiteral("float"));
        QCOMPARE(f.value(QStringLiteral("samples")), QJsonValue(48));
        QVERIFY(f.value(QStringLiteral("value")).toDouble() >= 0.0);
    }
    // Recorded: the run's final metrics now carry the figures.
    const QJsonObject finals = showRun(1).value(QStringLiteral("final_metrics")).toObject();
    QCOMPARE(finals.value(QStringLiteral("sharpness/rho-ball/float")).toDouble(),
             figures[0].toObject().value(QStringLiteral("value")).toDouble());
    QVERIFY(finals.contains(QStringLiteral("eval/acc")));

    // A checkpoint file, as a table; one measure.
    const QString file = m_out + QStringLiteral("/run-1/last.safetensors");
    const CliResult table =
        cli(QStringList{QStringLiteral("sharpness"), QStringLiteral("--checkpoint"), file,
                        QStringLiteral("--measure"), QStringLiteral("rho-ball")} +
            small + storeArgs());
    QVERIFY2(table.exitCode == 0, qPrintable(describe(table)));
    const QStringList lines = table.out.split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), 4);  // checkpoint line, header, rule, one figure
    QVERIFY2(lines[0].startsWith(QStringLiteral("checkpoint %1 (fp, step ").arg(file)),
             qPrintable(table.out));
    QVERIFY2(lines[3].startsWith(QStringLiteral("rho-ball  float")), qPrintable(table.out));
    // The same figure as through --run: same checkpoint, same subset, same seed.
    const double again = lines[3].split(QLatin1Char(' '), Qt::SkipEmptyParts).at(3).toDouble();
    QVERIFY(std::abs(again - figures[0].toObject().value(QStringLiteral("value")).toDouble()) <
            1e-4);

    const CliResult missing =
        cli(QStringList{QStringLiteral("sharpness"), QStringLiteral("--run"), QStringLiteral("7")} +
            storeArgs());
    QVERIFY2(missing.exitCode == 3, qPrintable(describe(missing)));
    QVERIFY2(missing.err.startsWith(QStringLiteral("quantscape-cli: no run with id 7 in")),
             qPrintable(missing.err));
}

// BERT from the command line like a ResNet: a tiny BERT learns a tiny SST-2 from scratch, and
// its landscape is computed from the run (tokenized with the vocabulary its checkpoint keeps).
void TestCli::bertRunAndItsLandscape() {
    const QJsonObject spec{
        {"version", 1},
        {"name", "tiny-bert"},
        {"model", QJsonObject{{"arch", "bert"},
                              {"bert", QJsonObject{{"layers", 1},
                                                   {"hidden", 32},
                                                   {"heads", 2},
                                                   {"intermediate", 64},
                                                   {"max_positions", 32},
                                                   {"vocab_size", 200},
                                                   {"dropout", 0.0}}}}},
        {"data", QJsonObject{{"dataset", "glue"},
                             {"task", "sst2"},
                             {"path", m_glue},
                             {"max_length", 24},
                             {"vocab_min_frequency", 1},
                             {"batch_size", 16}}},
        {"method", QJsonObject{{"name", "fp"}}},
        {"optim", QJsonObject{{"optimizer", "adamw"},
                              {"lr", 0.003},
                              {"schedule", "linear"},
                              {"warmup_epochs", 0.5},
                              {"epochs", 3}}},
        {"threads", 1},
    };
    const CliResult r = cli(trainArgs(writeSpec(spec)));
    QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
    QVERIFY2(r.err.contains(QStringLiteral(
                 "\ndata: glue SST-2 train 320, dev 96 texts of at most 24 tokens; threads 1\n")),
             qPrintable(r.err));
    QVERIFY2(r.err.contains(QRegularExpression(QStringLiteral(
                 "\ndata: vocabulary of \\d+ WordPiece tokens learnt from the training split\n"))),
             qPrintable(r.err));
    const QRegularExpression row(
        QStringLiteral("\n1 +tiny-bert +fp +float +finished +(\\d+\\.\\d\\d)% "));
    const QRegularExpressionMatch match = row.match(r.out);
    QVERIFY2(match.hasMatch(), qPrintable(r.out));
    QVERIFY2(match.captured(1).toDouble() > 80.0, qPrintable(r.out));  // chance is 50 %

    const CliResult land = cli(QStringList{"landscape", "--run", "1", "--grid", "3x3", "--samples",
                                           "32", "--batch-size", "16", "--threads", "1", "--json"} +
                               storeArgs());
    QVERIFY2(land.exitCode == 0, qPrintable(describe(land)));
    const QJsonObject surface = qs::test::parseObject(land.out);
    QCOMPARE(surface.value(QStringLiteral("status")).toString(), QStringLiteral("finished"));
    QCOMPARE(surface.value(QStringLiteral("loss")).toArray().size(), 9);
}

QTEST_GUILESS_MAIN(TestCli)
#include "TestCli.moc"
