// Text datasets and metrics: every GLUE task's reader on a few rows of its layout, the exact error
// for each kind of bad file, the SpamAssassin reader on a fake corpus (and on the real one when it
// is installed), and the metrics against hand-computed values and their degenerate cases.
#include "engine/data/TextDatasets.h"
#include "engine/data/TextMetrics.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <functional>
#include <map>
#include <set>

using namespace qs::data;

namespace {

QString errorOf(const std::function<void()>& f) {
    try {
        f();
    } catch (const DataError& e) {
        return QString::fromStdString(e.what());
    } catch (const std::exception& e) {
        return QStringLiteral("other exception: ") + QString::fromStdString(e.what());
    }
    return QStringLiteral("no exception");
}

bool throwsInvalidArgument(const std::function<void()>& f) {
    try {
        f();
    } catch (const std::invalid_argument&) {
        return true;
    } catch (...) {
        return false;
    }
    return false;
}

void writeFile(const QString& path, const QByteArray& content) {
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile f(path);
    QVERIFY2(f.open(QIODevice::WriteOnly), qPrintable(path));
    QCOMPARE(f.write(content), content.size());
}

std::string str(const QString& s) {
    return s.toStdString();
}

// A plain-text message as the corpus stores it: mbox From line, some headers, Subject, body.
QByteArray simpleMessage(const QByteArray& subject, const QByteArray& body) {
    return "From someone@example.com  Thu Aug 22 13:17:22 2002\n"
           "Return-Path: <someone@example.com>\n"
           "Received: from localhost\n\tby example.com\n"
           "Subject: " +
           subject + "\nTo: you@example.com\n\n" + body;
}

const QByteArray kMultipart =
    "From a@b  Mon Sep  2 2002\n"
    "Subject: Your\n  invoice\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed;\n boundary=\"XYZ\"\n"
    "\n"
    "This is a MIME message.\n"
    "--XYZ\n"
    "Content-Type: text/plain; charset=us-ascii\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "Pay =3D now, soft=\n"
    "break here.\n"
    "--XYZ\n"
    "Content-Type: image/gif\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "R0lGODlhAQABAIAAAP///wAAACwAAAAAAQABAAACAkQBADs=\n"
    "--XYZ\n"
    "Content-Type: text/html\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "PGI+aGk8L2I+\n"
    "--XYZ\n"
    "Content-Type: text/html\n"
    "\n"
    "<b>Thanks</b>\n"
    "--XYZ--\n"
    "epilogue\n";

}  // namespace

class TestTextDatasets : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;

    QString path(const QString& rel) const { return m_dir.filePath(rel); }

    // A fake corpus: 30 spam and 30 ham plain messages, one multipart, one .json-only message
    // and one duplicate. Returns the data folder.
    QString writeFakeCorpus(const QString& name, bool reverseNames) {
        const QString data = path(name + QStringLiteral("/data"));
        for (int i = 0; i < 60; ++i) {
            const bool spam = i < 30;
            const QString group =
                spam ? (i % 2 ? QStringLiteral("spam-1") : QStringLiteral("spam-2"))
                     : (i % 3 == 0   ? QStringLiteral("easy-ham-1")
                        : i % 3 == 1 ? QStringLiteral("easy-ham-2")
                                     : QStringLiteral("hard-ham-1"));
            const int n = reverseNames ? 1000 - i : i;
            writeFile(
                data + QStringLiteral("/%1/%2.msg.txt").arg(group).arg(n, 5, 10, QLatin1Char('0')),
                simpleMessage("message " + QByteArray::number(i),
                              QByteArray(spam ? "Buy cheap stuff number " : "Meeting notes ") +
                                  QByteArray::number(i) + "\n"));
        }
        writeFile(data + QStringLiteral("/spam-1/09999.multi.txt"), kMultipart);
        // A duplicate of message 1 (spam-1) under another name in spam-2.
        writeFile(data + QStringLiteral("/spam-2/09998.dup.txt"),
                  simpleMessage("message 1", "Buy cheap stuff number 1\n"));
        // A message present only as .json, as the npm package also ships them.
        const QByteArray json =
            R"({"id":"09997","group":"easy-ham-2","checksum":{"type":"MD5","value":"x"},)"
            R"("text":"From x@y  Mon\nSubject: from json\n\nJson body\n"})";
        writeFile(data + QStringLiteral("/easy-ham-2/09997.json.json"), json);
        // Stray files are ignored.
        writeFile(data + QStringLiteral("/file_list.json"), "[]");
        return data;
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    // ---------------------------------------------------------------------------------------
    // GLUE readers

    void glueReads_data() {
        QTest::addColumn<QString>("task");
        QTest::addColumn<QString>("split");
        QTest::addColumn<QString>("file");
        QTest::addColumn<QByteArray>("content");
        QTest::addColumn<int>("count");
        QTest::addColumn<QString>("textA");
        QTest::addColumn<QString>("textB");
        QTest::addColumn<int>("label0");
        QTest::addColumn<double>("score0");
        QTest::addColumn<int>("labelLast");

        QTest::newRow("CoLA train, no header")
            << "CoLA"
            << "train"
            << "train.tsv"
            << QByteArray(
                   "gj04\t1\t\tOur friends won't buy this analysis.\n"
                   "gj04\t0\t*\tOne more pseudo generalization and I'm giving up.\n"
                   "gj04\t1\t\tThe sailors rode the breeze clear of the rocks.\n")
            << 3 << "Our friends won't buy this analysis."
            << "" << 1 << qQNaN() << 1;
        QTest::newRow("SST-2 dev") << "sst2"
                                   << "dev"
                                   << "dev.tsv"
                                   << QByteArray(
                                          "sentence\tlabel\n"
                                          "it 's a charming journey . \t1\n"
                                          "unflinchingly bleak \t0\n")
                                   << 2 << "it 's a charming journey . "
                                   << "" << 1 << qQNaN() << 0;
        QTest::newRow("MRPC train, quotes are plain characters")
            << "MRPC"
            << "train"
            << "train.tsv"
            << QByteArray(
                   "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n"
                   "1\t702876\t702977\tAmrozi accused his brother .\tReferring to him "
                   "as \" the witness \" .\n"
                   "0\t2108705\t2108831\tYucaipa owned Dominick 's .\tYucaipa bought "
                   "Dominick 's .\n"
                   "1\t1\t2\tA \"quoted\ta\n")
            << 3 << "Amrozi accused his brother ."
            << "Referring to him as \" the witness \" ." << 1 << qQNaN() << 1;
        QTest::newRow("STS-B dev, scores")
            << "STS-B"
            << "dev"
            << "dev.tsv"
            << QByteArray(
                   "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1"
                   "\tsentence2\tscore\n"
                   "0\tmain-captions\tMSRvid\t2012test\t0001\tnone\tnone\tA plane is "
                   "taking off.\tAn air plane is taking off.\t5.000\n"
                   "1\tmain-captions\tMSRvid\t2012test\t0004\tnone\tnone\tA man plays a "
                   "flute.\tA man is playing a flute.\t3.800\n"
                   "2\tmain-news\theadlines\t2013\t0005\tnone\tnone\tx\ty\t0\n")
            << 3 << "A plane is taking off."
            << "An air plane is taking off." << -1 << 5.0 << -1;
        QTest::newRow("QQP train") << "QQP"
                                   << "train"
                                   << "train.tsv"
                                   << QByteArray(
                                          "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n"
                                          "0\t1\t2\tWhat is A?\tWhat is B?\t0\n"
                                          "2\t5\t6\tWhy x?\tWhy is x?\t1\n")
                                   << 2 << "What is A?"
                                   << "What is B?" << 0 << qQNaN() << 1;
        QTest::newRow("MNLI train, 12 columns")
            << "MNLI"
            << "train"
            << "train.tsv"
            << QByteArray(
                   "index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_"
                   "binary_parse\tsentence1_parse\tsentence2_parse\tsentence1\tsentence2"
                   "\tlabel1\tgold_label\n"
                   "0\t31193\t31193n\tgovernment\t( ( x ) )\t( y )\t(ROOT x)\t(ROOT y)\t"
                   "Conceptually cream skimming has two dimensions.\tProduct and "
                   "geography are what make cream skimming work. \tneutral\tneutral\n"
                   "1\t101457\t101457e\ttelephone\tb1\tb2\tp1\tp2\tyou know during the "
                   "season\tYou lose the things.\tentailment\tentailment\n"
                   "2\t1\t1c\tfiction\tb1\tb2\tp1\tp2\ta\tb\tcontradiction\tcontradiction\n")
            << 3 << "Conceptually cream skimming has two dimensions."
            << "Product and geography are what make cream skimming work. " << 2 << qQNaN() << 0;
        const QByteArray mnliDev =
            "index\tpromptID\tpairID\tgenre\ts1bp\ts2bp\ts1p\ts2p\tsentence1\tsentence2\tlabel1"
            "\tlabel2\tlabel3\tlabel4\tlabel5\tgold_label\n"
            "0\t63735\t63735n\tslate\tb1\tb2\tp1\tp2\tThe new rights are nice enough\tEveryone "
            "really likes the newest benefits \tneutral\tentailment\tneutral\tneutral\tneutral\t"
            "neutral\n"
            "1\t91383\t91383c\tslate\tb1\tb2\tp1\tp2\tThis site includes a list\tThe Government "
            "Executive articles\tcontradiction\tcontradiction\tcontradiction\tcontradiction\t"
            "contradiction\tcontradiction\n";
        QTest::newRow("MNLI dev_matched")
            << "MNLI"
            << "dev_matched"
            << "dev_matched.tsv" << mnliDev << 2 << "The new rights are nice enough"
            << "Everyone really likes the newest benefits " << 2 << qQNaN() << 0;
        QTest::newRow("MNLI dev means dev_matched")
            << "mnli"
            << "dev"
            << "dev_matched.tsv" << mnliDev << 2 << "The new rights are nice enough"
            << "Everyone really likes the newest benefits " << 2 << qQNaN() << 0;
        QTest::newRow("MNLI dev_mismatched")
            << "MNLI"
            << "dev_mismatched"
            << "dev_mismatched.tsv" << mnliDev << 2 << "The new rights are nice enough"
            << "Everyone really likes the newest benefits " << 2 << qQNaN() << 0;
        QTest::newRow("QNLI dev")
            << "QNLI"
            << "dev"
            << "dev.tsv"
            << QByteArray(
                   "index\tquestion\tsentence\tlabel\n"
                   "0\tWhat came into force?\tThe new constitution came into force.\t"
                   "entailment\n"
                   "1\tq\ts\tnot_entailment\n")
            << 2 << "What came into force?"
            << "The new constitution came into force." << 0 << qQNaN() << 1;
        QTest::newRow("RTE train, CRLF and blank lines")
            << "RTE"
            << "train"
            << "train.tsv"
            << QByteArray(
                   "index\tsentence1\tsentence2\tlabel\r\n"
                   "0\tNo Weapons of Mass Destruction Found in Iraq Yet.\tWeapons of Mass "
                   "Destruction Found in Iraq.\tnot_entailment\r\n"
                   "\r\n"
                   "1\tA place of sorrow.\tPope buried.\tentailment\r\n"
                   "\r\n")
            << 2 << "No Weapons of Mass Destruction Found in Iraq Yet."
            << "Weapons of Mass Destruction Found in Iraq." << 1 << qQNaN() << 0;
        QTest::newRow("WNLI train")
            << "WNLI"
            << "train"
            << "train.tsv"
            << QByteArray(
                   "index\tsentence1\tsentence2\tlabel\n"
                   "0\tI stuck a pin through a carrot.\tThe carrot had a hole.\t1\n"
                   "1\tJohn could not see the stage.\tJohn is so short.\t0\n"
                   "2\ta\tb\t1\n")
            << 3 << "I stuck a pin through a carrot."
            << "The carrot had a hole." << 1 << qQNaN() << 1;
    }

    void glueReads() {
        QFETCH(QString, task);
        QFETCH(QString, split);
        QFETCH(QString, file);
        QFETCH(QByteArray, content);
        QFETCH(int, count);
        QFETCH(QString, textA);
        QFETCH(QString, textB);
        QFETCH(int, label0);
        QFETCH(double, score0);
        QFETCH(int, labelLast);

        const QString folder = path(QStringLiteral("glue/") + QString(QTest::currentDataTag()));
        writeFile(folder + "/" + file, content);
        const TextDataset ds = readGlue(str(folder), str(task), str(split));
        QCOMPARE(ds.task, glueTaskName(str(task)));
        QCOMPARE(QString::fromStdString(ds.split), split);
        QVERIFY(ds.labeled);
        QCOMPARE(int(ds.examples.size()), count);
        QCOMPARE(QString::fromStdString(ds.examples[0].textA), textA);
        QCOMPARE(QString::fromStdString(ds.examples[0].textB), textB);
        QCOMPARE(ds.pairs, !textB.isEmpty());
        QCOMPARE(ds.examples[0].label, label0);
        QCOMPARE(ds.examples.back().label, labelLast);
        QCOMPARE(ds.examples[0].id, str(split) + "-0");
        if (std::isnan(score0)) {
            QVERIFY(!ds.regression);
            QVERIFY(std::isnan(ds.examples[0].score));
            QVERIFY(ds.numLabels >= 2);
            QCOMPARE(int(ds.labelNames.size()), ds.numLabels);
            for (const TextExample& ex : ds.examples) {
                QVERIFY(ex.label >= 0 && ex.label < ds.numLabels);
            }
        } else {
            QVERIFY(ds.regression);
            QCOMPARE(ds.numLabels, 1);
            QCOMPARE(double(ds.examples[0].score), score0);
        }
    }

    void glueLabelNames() {
        const QString folder = path(QStringLiteral("glue/labels"));
        writeFile(folder + "/dev_matched.tsv", "h\n0\t1\t2\t3\t4\t5\t6\t7\ta\tb\tx\tentailment\n");
        const TextDataset mnli = readGlue(str(folder), "MNLI", "dev_matched");
        QCOMPARE(mnli.labelNames,
                 (std::vector<std::string>{"contradiction", "entailment", "neutral"}));
        QCOMPARE(mnli.examples[0].label, 1);
        QCOMPARE(glueTasks(), (std::vector<std::string>{"CoLA", "SST-2", "MRPC", "STS-B", "QQP",
                                                        "MNLI", "QNLI", "RTE", "WNLI"}));
        QCOMPARE(glueTaskName("sts_b"), std::string("STS-B"));
        QCOMPARE(glueTaskName("Sst-2"), std::string("SST-2"));
        QVERIFY(throwsInvalidArgument([] { glueTaskName("squad"); }));
    }

    void glueStsbScores() {
        const QString folder = path(QStringLiteral("glue/stsb-scores"));
        const QByteArray h =
            "index\tgenre\tfilename\tyear\told_index\ts1\ts2\tsentence1\tsentence2"
            "\tscore\n";
        writeFile(folder + "/train.tsv",
                  h + "0\tg\tf\ty\to\tn\tn\ta\tb\t3.800\n1\tg\tf\ty\to\tn\tn\tc\td\t0.000\n");
        const TextDataset ds = readGlue(str(folder), "stsb", "train");
        QCOMPARE(ds.examples.size(), std::size_t(2));
        QCOMPARE(ds.examples[0].score, 3.8f);
        QCOMPARE(ds.examples[1].score, 0.0f);
        QCOMPARE(ds.examples[1].label, -1);
    }

    void glueQqpSkipsShortRows() {
        const QString folder = path(QStringLiteral("glue/qqp-short"));
        writeFile(folder + "/dev.tsv",
                  "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n"
                  "0\t1\t2\tWhat is A?\tWhat is B?\t0\n"
                  "1\t3\t4\tHow?\n"
                  "2\t5\t6\tWhy x?\tWhy is x?\t1\n");
        const TextDataset ds = readGlue(str(folder), "QQP", "dev");
        QCOMPARE(ds.examples.size(), std::size_t(2));
        QCOMPARE(ds.skippedRows, 1);
        QCOMPARE(ds.examples[1].textA, std::string("Why x?"));
        QCOMPARE(ds.examples[1].label, 1);
        QCOMPARE(ds.examples[1].id, std::string("dev-2"));
    }

    void glueTestSplitIsUnlabeled() {
        const QString folder = path(QStringLiteral("glue/test-split"));
        writeFile(folder + "/test.tsv", "index\tquestion\tsentence\n0\tWho?\tHim.\n1\tq\ts\n");
        const TextDataset qnli = readGlue(str(folder), "QNLI", "test");
        QVERIFY(!qnli.labeled);
        QCOMPARE(qnli.examples.size(), std::size_t(2));
        QCOMPARE(qnli.examples[0].textA, std::string("Who?"));
        QCOMPARE(qnli.examples[0].textB, std::string("Him."));
        QCOMPARE(qnli.examples[0].label, -1);

        writeFile(folder + "/cola/test.tsv", "index\tsentence\n0\tBill whistled.\n");
        const TextDataset cola = readGlue(str(folder + "/cola"), "CoLA", "test");
        QVERIFY(!cola.labeled);
        QCOMPARE(cola.examples[0].textA, std::string("Bill whistled."));

        writeFile(folder + "/mnli/test_mismatched.tsv",
                  "index\tpromptID\tpairID\tgenre\ts1bp\ts2bp\ts1p\ts2p\tsentence1\tsentence2\n"
                  "0\t1\t1\tg\tb\tb\tp\tp\tPremise.\tHypothesis.\n");
        const TextDataset mm = readGlue(str(folder + "/mnli"), "MNLI", "test_mismatched");
        QCOMPARE(mm.examples[0].textB, std::string("Hypothesis."));
    }

    void glueFindsTaskSubfolder() {
        const QString root = path(QStringLiteral("glue_data"));
        writeFile(root + "/CoLA/dev.tsv", "gj04\t1\t\tIt works.\n");
        const TextDataset ds = readGlue(str(root), "cola", "dev");
        QCOMPARE(ds.examples.size(), std::size_t(1));
        QCOMPARE(ds.examples[0].textA, std::string("It works."));
    }

    void glueErrors_data() {
        QTest::addColumn<QString>("task");
        QTest::addColumn<QString>("split");
        QTest::addColumn<QString>("file");
        QTest::addColumn<QByteArray>("content");
        QTest::addColumn<QString>("error");  // after "<file>"

        QTest::newRow("CoLA truncated row")
            << "CoLA"
            << "train"
            << "train.tsv" << QByteArray("gj04\t1\t\tFine.\ngj04\t1\n")
            << ":2: expected at least 4 tab-separated columns, found 2";
        QTest::newRow("MRPC truncated row after header")
            << "MRPC"
            << "dev"
            << "dev.tsv"
            << QByteArray(
                   "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\ta\tb\n0\t3\t4\tc\n")
            << ":3: expected at least 5 tab-separated columns, found 4";
        QTest::newRow("SST-2 unknown label")
            << "SST-2"
            << "train"
            << "train.tsv" << QByteArray("sentence\tlabel\ngood\t1\nbad\t2\n")
            << ":3: unknown label '2' (expected 0, 1)";
        QTest::newRow("MNLI unknown label")
            << "MNLI"
            << "train"
            << "train.tsv" << QByteArray("h\n0\t1\t2\t3\t4\t5\t6\t7\ta\tb\tneutral\tmaybe\n")
            << ":2: unknown label 'maybe' (expected contradiction, entailment, neutral)";
        QTest::newRow("RTE label with wrong case")
            << "RTE"
            << "dev"
            << "dev.tsv" << QByteArray("index\tsentence1\tsentence2\tlabel\n0\ta\tb\tEntailment\n")
            << ":2: unknown label 'Entailment' (expected entailment, not_entailment)";
        QTest::newRow("STS-B score not a number")
            << "STS-B"
            << "train"
            << "train.tsv" << QByteArray("h\n0\tg\tf\ty\to\tn\tn\ta\tb\tfive\n")
            << ":2: bad score 'five' (expected a number in [0, 5])";
        QTest::newRow("STS-B score out of range")
            << "STS-B"
            << "train"
            << "train.tsv"
            << QByteArray("h\n0\tg\tf\ty\to\tn\tn\ta\tb\t1.0\n1\tg\tf\ty\to\tn\tn\ta\tb\t7.5\n")
            << ":3: bad score '7.5' (expected a number in [0, 5])";
        QTest::newRow("STS-B score empty")
            << "STS-B"
            << "train"
            << "train.tsv" << QByteArray("h\n0\tg\tf\ty\to\tn\tn\ta\tb\t\n")
            << ":2: bad score '' (expected a number in [0, 5])";
        QTest::newRow("WNLI truncated")
            << "WNLI"
            << "train"
            << "train.tsv"
            << QByteArray("index\tsentence1\tsentence2\tlabel\n0\tonly one sentence\t1\n")
            << ":2: expected at least 4 tab-separated columns, found 3";
        QTest::newRow("missing file")
            << "RTE"
            << "dev"
            << "" << QByteArray()
            << "/dev.tsv: cannot open: No such file or directory (RTE's dev.tsv belongs in the "
               "task folder, or in a RTE folder inside the one given)";
    }

    void glueErrors() {
        QFETCH(QString, task);
        QFETCH(QString, split);
        QFETCH(QString, file);
        QFETCH(QByteArray, content);
        QFETCH(QString, error);

        const QString folder = path(QStringLiteral("glue-bad/") + QString(QTest::currentDataTag()));
        QDir().mkpath(folder);
        QString expected = folder + error;
        if (!file.isEmpty()) {
            writeFile(folder + "/" + file, content);
            expected = folder + "/" + file + error;
        }
        QCOMPARE(errorOf([&] { readGlue(str(folder), str(task), str(split)); }), expected);
    }

    void glueBadArguments() {
        const std::string folder = str(path(QStringLiteral("glue")));
        QVERIFY(throwsInvalidArgument([&] { readGlue(folder, "SQuAD", "train"); }));
        QVERIFY(throwsInvalidArgument([&] { readGlue(folder, "CoLA", "validation"); }));
        QVERIFY(throwsInvalidArgument([&] { readGlue(folder, "CoLA", "dev_matched"); }));
    }

    // ---------------------------------------------------------------------------------------
    // SpamAssassin

    void spamText() {
        const std::string plain = spamAssassinText(
            str(QString::fromLatin1(simpleMessage("Cheap meds", "Buy now.\nReally.\n\n"))));
        QCOMPARE(plain, std::string("Cheap meds\nBuy now.\nReally."));

        // Folded Subject unfolded; text/plain QP decoded; the base64 image dropped, the base64
        // HTML decoded; HTML kept with its tags; MIME preamble and epilogue dropped.
        QCOMPARE(spamAssassinText(kMultipart.toStdString()),
                 std::string("Your invoice\nPay = now, softbreak here.\n<b>hi</b>\n<b>Thanks</b>"));

        // No Subject: the text starts with an empty line.
        QCOMPARE(spamAssassinText("From: a@b\n\nHello\n"), std::string("\nHello"));

        // CRLF line ends.
        QCOMPARE(spamAssassinText("Subject: hi\r\nFrom: a@b\r\n\r\nBody\r\n"),
                 std::string("hi\nBody"));

        // Single-part base64 bodies are decoded (all padding lengths, line breaks skipped); a
        // base64 attachment leaves only the subject.
        QCOMPARE(spamAssassinText("Subject: s\nContent-Transfer-Encoding: BASE64\n\nSGVs\nbG8=\n"),
                 std::string("s\nHello"));
        QCOMPARE(spamAssassinText("Subject: s\nContent-Transfer-Encoding: base64\n\nSGVsbG8h\n"),
                 std::string("s\nHello!"));
        QCOMPARE(spamAssassinText("Subject: s\nContent-Transfer-Encoding: base64\n\nSGVsbA==\n"),
                 std::string("s\nHell"));
        QCOMPARE(spamAssassinText("Subject: s\nContent-Type: application/pdf\n"
                                  "Content-Transfer-Encoding: base64\n\nSGVsbG8=\n"),
                 std::string("s\n"));

        // The cap cuts back to a UTF-8 character boundary: "s\n" + 2-byte characters.
        const std::string utf8 = "Subject: s\n\n\xC3\xA9\xC3\xA9\xC3\xA9\n";
        QCOMPARE(spamAssassinText(utf8, 5), std::string("s\n\xC3\xA9"));
        QCOMPARE(spamAssassinText(utf8, 6), std::string("s\n\xC3\xA9\xC3\xA9"));
        QVERIFY(spamAssassinText(std::string(100000, 'x'), 20000).size() <= 20000);
    }

    void spamFakeCorpus() {
        const QString data = writeFakeCorpus(QStringLiteral("spam"), false);
        const TextDataset all = readSpamAssassin(str(data), "all");
        QCOMPARE(all.task, std::string("SpamAssassin"));
        QCOMPARE(all.numLabels, 2);
        QCOMPARE(all.labelNames, (std::vector<std::string>{"ham", "spam"}));
        QCOMPARE(all.duplicatesDropped, 1);
        QCOMPARE(all.examples.size(), std::size_t(62));  // 60 + multipart + json - duplicate

        std::map<std::string, const TextExample*> byId;
        for (const TextExample& ex : all.examples) {
            QVERIFY(byId.emplace(ex.id, &ex).second);
            QVERIFY(ex.textB.empty());
            const bool spamGroup = ex.id.rfind("spam-", 0) == 0;
            QCOMPARE(ex.label, spamGroup ? 1 : 0);
        }
        // Groups in order spam-1, spam-2, easy-ham-1, ... and files sorted by name.
        QCOMPARE(all.examples.front().id, std::string("spam-1/00001.msg"));
        QCOMPARE(all.examples.front().textA, std::string("message 1\nBuy cheap stuff number 1"));
        QVERIFY(byId.count("spam-2/09998.dup") == 0);  // the duplicate (second occurrence)
        QCOMPARE(byId.at("spam-1/09999.multi")->textA,
                 std::string("Your invoice\nPay = now, softbreak here.\n<b>hi</b>\n<b>Thanks</b>"));
        QCOMPARE(byId.at("easy-ham-2/09997.json")->textA, std::string("from json\nJson body"));
        QCOMPARE(byId.at("easy-ham-2/09997.json")->label, 0);

        // The split: deterministic, disjoint and complete.
        std::set<std::string> seen;
        for (const char* split : {"train", "dev", "test"}) {
            const TextDataset a = readSpamAssassin(str(data), split);
            const TextDataset b = readSpamAssassin(str(data), split);
            QCOMPARE(a.split, std::string(split));
            QCOMPARE(a.examples.size(), b.examples.size());
            for (std::size_t i = 0; i < a.examples.size(); ++i) {
                QCOMPARE(a.examples[i].id, b.examples[i].id);
                QVERIFY2(seen.insert(a.examples[i].id).second, a.examples[i].id.c_str());
                QCOMPARE(a.examples[i].textA, byId.at(a.examples[i].id)->textA);
            }
        }
        QCOMPARE(seen.size(), all.examples.size());
        QVERIFY(readSpamAssassin(str(data), "train").examples.size() > 35);  // about 80 %

        // The split follows the content, not the file names or their order.
        const QString renamed = writeFakeCorpus(QStringLiteral("spam-renamed"), true);
        for (const char* split : {"train", "dev", "test"}) {
            std::multiset<std::string> a, b;
            for (const TextExample& ex : readSpamAssassin(str(data), split).examples) {
                a.insert(ex.textA);
            }
            for (const TextExample& ex : readSpamAssassin(str(renamed), split).examples) {
                b.insert(ex.textA);
            }
            QCOMPARE(a, b);
        }

        // The parent of data/ works too.
        QCOMPARE(readSpamAssassin(str(path(QStringLiteral("spam"))), "all").examples.size(),
                 all.examples.size());
    }

    void spamErrors() {
        const QString missing = path(QStringLiteral("no-such-corpus"));
        QCOMPARE(errorOf([&] { readSpamAssassin(str(missing), "train"); }),
                 missing + ": SpamAssassin folder not found");

        const QString empty = path(QStringLiteral("empty-corpus"));
        QDir().mkpath(empty + "/spam-1");
        writeFile(empty + "/spam-1/readme.md", "not a message");
        QCOMPARE(errorOf([&] { readSpamAssassin(str(empty), "train"); }),
                 empty +
                     ": no SpamAssassin messages (expected .txt or .json files in spam-1, "
                     "spam-2, easy-ham-1, easy-ham-2 or hard-ham-1)");

        const QString badJson = path(QStringLiteral("bad-json"));
        writeFile(badJson + "/hard-ham-1/00001.x.json", "{\"id\": 1");
        QVERIFY(errorOf([&] {
                    readSpamAssassin(str(badJson), "all");
                }).startsWith(badJson + "/hard-ham-1/00001.x.json: not a SpamAssassin message"));

        QVERIFY(throwsInvalidArgument([&] { readSpamAssassin(str(empty), "validation"); }));
    }

    void spamRealCorpus() {
        const std::string folder = defaultSpamAssassinFolder();
        if (!QFileInfo(QString::fromStdString(folder)).isDir()) {
            QSKIP("the SpamAssassin corpus is not installed (packaging/setup.sh)");
        }
        const TextDataset all = readSpamAssassin("all");
        qInfo("SpamAssassin: %zu messages, %d duplicates dropped", all.examples.size(),
              all.duplicatesDropped);
        QVERIFY(all.examples.size() > 5800 && all.examples.size() <= 6046);
        std::size_t total = 0;
        for (const char* split : {"train", "dev", "test"}) {
            const TextDataset ds = readSpamAssassin(folder, split);
            int spam = 0;
            std::size_t longest = 0;
            for (const TextExample& ex : ds.examples) {
                spam += ex.label;
                longest = std::max(longest, ex.textA.size());
            }
            const int ham = int(ds.examples.size()) - spam;
            qInfo("%s: %zu messages, %d spam, %d ham", split, ds.examples.size(), spam, ham);
            QVERIFY(spam > 0 && ham > 0);
            QVERIFY(longest <= 20000);
            total += ds.examples.size();
            const double share = double(ds.examples.size()) / double(all.examples.size());
            QVERIFY(std::string(split) == "train" ? share > 0.75 && share < 0.85
                                                  : share > 0.07 && share < 0.13);
        }
        QCOMPARE(total, all.examples.size());
    }

    // ---------------------------------------------------------------------------------------
    // Metrics

    void metricsBinary() {
        // tp 3, tn 2, fp 1, fn 2.
        const std::vector<int> pred{1, 1, 1, 0, 0, 1, 0, 0};
        const std::vector<int> gold{1, 1, 1, 0, 0, 0, 1, 1};
        QCOMPARE(accuracy(pred, gold), 5.0 / 8.0);
        QCOMPARE(binaryF1(pred, gold), 6.0 / 9.0);
        // (3*2 - 1*2) / sqrt((3+1)(3+2)(2+1)(2+2))
        QCOMPARE(matthewsCorrelation(pred, gold), 4.0 / std::sqrt(240.0));
        // sklearn's example: matthews_corrcoef([+1, +1, +1, -1], [+1, -1, +1, +1]) = -0.33...
        QCOMPARE(matthewsCorrelation({1, 0, 1, 1}, {1, 1, 1, 0}), -1.0 / 3.0);
        QCOMPARE(matthewsCorrelation(gold, gold), 1.0);
    }

    void metricsMulticlassMcc() {
        // c 3, s 6, every class predicted and true twice: (3*6 - 12) / (36 - 12).
        QCOMPARE(matthewsCorrelation({0, 1, 2, 0, 1, 2}, {0, 1, 2, 1, 2, 0}), 0.25);
    }

    void metricsCorrelation() {
        QCOMPARE(pearson({1, 2, 3, 4}, {2, 4, 5, 9}), 11.0 / std::sqrt(130.0));
        QCOMPARE(pearson({1, 2, 3}, {3, 2, 1}), -1.0);
        // Ties get their average rank: x ranks 1, 2.5, 2.5, 4 (scipy: 0.9486832980505138).
        QCOMPARE(spearman({1, 2, 2, 3}, {1, 3, 2, 4}), 3.0 / std::sqrt(10.0));
        QCOMPARE(spearman({10, 20, 30, 40}, {1, 4, 9, 100}), 1.0);
    }

    void metricsDegenerate() {
        QVERIFY(std::isnan(accuracy({}, {})));
        QCOMPARE(binaryF1({0, 0, 0}, {0, 0, 0}), 0.0);             // no positives anywhere
        QCOMPARE(binaryF1({0, 0, 0}, {1, 1, 0}), 0.0);             // nothing predicted positive
        QCOMPARE(matthewsCorrelation({1, 1, 1}, {1, 0, 1}), 0.0);  // all predictions one class
        QCOMPARE(matthewsCorrelation({1, 0, 1}, {0, 0, 0}), 0.0);  // all labels one class
        QCOMPARE(matthewsCorrelation({}, {}), 0.0);
        QVERIFY(std::isnan(pearson({1, 1, 1}, {1, 2, 3})));  // zero variance
        QVERIFY(std::isnan(pearson({1}, {2})));
        QVERIFY(std::isnan(pearson({}, {})));
        QVERIFY(std::isnan(spearman({2, 2, 2}, {1, 2, 3})));
        QVERIFY(throwsInvalidArgument([] { accuracy({1, 0}, {1}); }));
        QVERIFY(throwsInvalidArgument([] { pearson({1, 2}, {1, 2, 3}); }));
    }

    void metricsGlue() {
        auto names = [](const std::vector<MetricValue>& m) {
            QStringList out;
            for (const MetricValue& v : m) {
                out << QString::fromStdString(v.name);
            }
            return out;
        };
        const std::vector<double> pred{1, 1, 1, 0, 0, 1, 0, 0};
        const std::vector<double> gold{1, 1, 1, 0, 0, 0, 1, 1};
        const auto cola = glueMetrics("CoLA", pred, gold);
        QCOMPARE(names(cola), QStringList{"mcc"});
        QCOMPARE(cola[0].value, 4.0 / std::sqrt(240.0));
        for (const char* task : {"MRPC", "qqp"}) {
            const auto m = glueMetrics(task, pred, gold);
            QCOMPARE(names(m), (QStringList{"accuracy", "f1"}));
            QCOMPARE(m[0].value, 5.0 / 8.0);
            QCOMPARE(m[1].value, 6.0 / 9.0);
        }
        const auto stsb = glueMetrics("STS-B", {1, 2, 3, 4}, {2, 4, 5, 9});
        QCOMPARE(names(stsb), (QStringList{"pearson", "spearman"}));
        QCOMPARE(stsb[0].value, 11.0 / std::sqrt(130.0));
        QCOMPARE(stsb[1].value, 1.0);
        for (const char* task : {"SST-2", "MNLI", "QNLI", "RTE", "WNLI"}) {
            const auto m = glueMetrics(task, {0, 1, 2, 2}, {0, 1, 2, 1});
            QCOMPARE(names(m), QStringList{"accuracy"});
            QCOMPARE(m[0].value, 0.75);
        }
        QVERIFY(throwsInvalidArgument([] { glueMetrics("SQuAD", {1}, {1}); }));
        QVERIFY(throwsInvalidArgument([] { glueMetrics("CoLA", {1}, {1, 0}); }));
    }
};

QTEST_GUILESS_MAIN(TestTextDatasets)
#include "TestTextDatasets.moc"
