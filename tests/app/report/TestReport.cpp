// Run reports (app/report): a tiny finished run written straight into a temporary store, then
// the HTML read back as text (every section, the run's numbers in its tables, every embedded
// PNG decodes, the checksums and their states), a comparison of two runs, the PDF rendered back
// to pages with poppler's pdftoppm, and the exact errors of bad input.
#include "ReportFixture.h"
#include "app/report/Report.h"

#include <QByteArray>
#include <QDir>
#include <QFile>
#include <QImage>
#include <QProcess>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <QTextDocumentFragment>

#include <map>

using qs::report::ReportOptions;
using qs::report::ReportSummary;

namespace {

QString readText(const QString& path) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        return {};
    }
    return QString::fromUtf8(file.readAll());
}

/// Plain text of an HTML cell ("&lt;" -> "<").
QString cellText(const QString& html) {
    return QTextDocumentFragment::fromHtml(html).toPlainText().trimmed();
}

/// The table row whose first cell reads `first`, as {header text -> cell text}, from the first
/// table in `html` after `section`'s heading that has such a row. Empty when there is none.
std::map<QString, QString> rowOf(const QString& html, const QString& section,
                                 const QString& first) {
    const int start = html.indexOf(QStringLiteral("<h2>%1</h2>").arg(section));
    if (start < 0) {
        return {};
    }
    static const QRegularExpression tableRe(QStringLiteral("<table[^>]*>(.*?)</table>"),
                                            QRegularExpression::DotMatchesEverythingOption);
    static const QRegularExpression rowRe(QStringLiteral("<tr>(.*?)</tr>"),
                                          QRegularExpression::DotMatchesEverythingOption);
    static const QRegularExpression cellRe(QStringLiteral("<t[hd][^>]*>(.*?)</t[hd]>"),
                                           QRegularExpression::DotMatchesEverythingOption);
    const int end = html.indexOf(QStringLiteral("<h2>"), start + 4);
    const QString body = html.mid(start, end < 0 ? -1 : end - start);
    auto tables = tableRe.globalMatch(body);
    while (tables.hasNext()) {
        const QString table = tables.next().captured(1);
        QStringList header;
        auto rows = rowRe.globalMatch(table);
        while (rows.hasNext()) {
            QStringList cells;
            auto cs = cellRe.globalMatch(rows.next().captured(1));
            while (cs.hasNext()) {
                cells << cellText(cs.next().captured(1));
            }
            if (header.isEmpty()) {
                header = cells;
                continue;
            }
            if (!cells.isEmpty() && cells.front() == first) {
                std::map<QString, QString> out;
                for (int i = 0; i < cells.size() && i < header.size(); ++i) {
                    out[header[i]] = cells[i];
                }
                return out;
            }
        }
    }
    return {};
}

QString describeRow(const std::map<QString, QString>& row) {
    QStringList parts;
    for (const auto& [k, v] : row) {
        parts << k + QStringLiteral("=") + v;
    }
    return parts.join(QStringLiteral(", "));
}

/// Whether an image has ink: some pixel clearly darker than paper white.
bool hasInk(const QImage& image) {
    const QImage grey = image.convertToFormat(QImage::Format_Grayscale8);
    int dark = 0;
    for (int y = 0; y < grey.height(); ++y) {
        const uchar* line = grey.constScanLine(y);
        for (int x = 0; x < grey.width(); ++x) {
            dark += line[x] < 160 ? 1 : 0;
        }
    }
    return dark > 20;
}

}  // namespace

class TestReport : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void htmlHasEverySection();
    void htmlTablesHoldTheRunsNumbers_data();
    void htmlTablesHoldTheRunsNumbers();
    void everyImageIsAValidPng();
    void checksumsAndTheirStates();
    void floatParentNotInTheStore();
    void comparisonOfTwoRuns();
    void pdfRendersToNumberedPages();
    void badInput_data();
    void badInput();

private:
    ReportSummary write(const std::vector<int64_t>& runs, const QString& name);

    QTemporaryDir m_dir;
    qs::test::ReportFixture m_fixture;
    QString m_html;  ///< the quantized run's HTML report
    ReportSummary m_htmlSummary;
};

void TestReport::initTestCase() {
    QVERIFY(m_dir.isValid());
    m_fixture = qs::test::writeReportFixture(m_dir.path().toStdString());
    m_htmlSummary = write({m_fixture.quantRun}, QStringLiteral("run.html"));
    m_html = readText(m_dir.filePath(QStringLiteral("run.html")));
    QVERIFY(!m_html.isEmpty());
    QCOMPARE(m_htmlSummary.bytes, QFileInfo(m_dir.filePath(QStringLiteral("run.html"))).size());
    QCOMPARE(m_htmlSummary.pages, 0);
}

ReportSummary TestReport::write(const std::vector<int64_t>& runs, const QString& name) {
    ReportOptions o;
    o.runs = runs;
    o.dbPath = m_fixture.dbPath;
    o.outPath = m_dir.filePath(name).toStdString();
    return qs::report::writeReport(o);
}

void TestReport::htmlHasEverySection() {
    QVERIFY(m_html.startsWith(QStringLiteral("<!DOCTYPE html>")));
    QVERIFY(m_html.contains(QStringLiteral("run %1 (tiny-lsq-w3a3)").arg(m_fixture.quantRun)));
    for (const char* heading :
         {"Run spec", "Dataset", "Method", "Float vs quantized", "Model size", "Layers",
          "Training curves", "Loss landscapes", "Sharpness", "Environment", "Checksums"}) {
        QVERIFY2(m_html.contains(QStringLiteral("<h2>%1</h2>").arg(QLatin1String(heading))),
                 heading);
    }
    // The spec is shown pretty-printed (one field per line), not as one compact line.
    QVERIFY(m_html.contains(QStringLiteral("\n  &quot;name&quot;: &quot;tiny-lsq-w3a3&quot;")));
}

void TestReport::htmlTablesHoldTheRunsNumbers_data() {
    QTest::addColumn<QString>("section");
    QTest::addColumn<QString>("first");
    QTest::addColumn<QString>("column");
    QTest::addColumn<QString>("expected");
    // The last recorded step (32), not step 8, whose step sizes are twice as large.
    QTest::newRow("layer bits") << "Layers"
                                << "layer1.0.conv1"
                                << "W bits"
                                << "3";
    QTest::newRow("layer step size") << "Layers"
                                     << "layer1.0.conv1"
                                     << "W step"
                                     << "0.0456";
    QTest::newRow("activation step") << "Layers"
                                     << "layer1.0.conv1"
                                     << "A step"
                                     << "0.789";
    QTest::newRow("quantization error") << "Layers"
                                        << "layer1.0.conv1"
                                        << "W MSE"
                                        << "0.000125";
    QTest::newRow("clip rate") << "Layers"
                               << "layer1.0.conv1"
                               << "W clip"
                               << "1.50%";
    QTest::newRow("per-channel steps") << "Layers"
                                       << "fc"
                                       << "W step"
                                       << "0.02 (mean of 2)";
    QTest::newRow("float activation slot") << "Layers"
                                           << "fc"
                                           << "A bits"
                                           << "fp";
    QTest::newRow("Hessian trace") << "Layers"
                                   << "layer1.0.conv1"
                                   << "Tr(H)"
                                   << "17.75";
    QTest::newRow("Omega") << "Layers"
                           << "layer1.0.conv1"
                           << "\u03a9(3)"
                           << "0.25";
    QTest::newRow("params") << "Layers"
                            << "layer1.0.conv1"
                            << "params"
                            << "2304";
    QTest::newRow("final accuracy, quantized") << "Float vs quantized"
                                               << "eval/acc"
                                               << "quantized: run 2 (tiny-lsq-w3a3)"
                                               << "81.25%";
    QTest::newRow("final accuracy, float") << "Float vs quantized"
                                           << "eval/acc"
                                           << "float: run 1 (tiny-float)"
                                           << "90.37%";
    QTest::newRow("accuracy change") << "Float vs quantized"
                                     << "eval/acc"
                                     << "change"
                                     << "-9.12 pp";
    QTest::newRow("float size") << "Model size"
                                << "float size"
                                << "value"
                                << "13504 bytes";
    QTest::newRow("compression from the export") << "Model size"
                                                 << "compression ratio"
                                                 << "value"
                                                 << "13.50x (float size / export size)";
    QTest::newRow("sharpness") << "Sharpness"
                               << "rho-ball"
                               << "sharpness"
                               << "0.04321";
    QTest::newRow("dataset") << "Dataset"
                             << "data.train_limit"
                             << "value"
                             << "2048";
    QTest::newRow("method setting") << "Method"
                                    << "quant.weight_bits"
                                    << "value"
                                    << "3";
    QTest::newRow("threads from the spec") << "Environment"
                                           << "threads"
                                           << "value"
                                           << "2";
    QTest::newRow("versions") << "Environment"
                              << "libtorch"
                              << "value"
                              << "1.13.1";
}

void TestReport::htmlTablesHoldTheRunsNumbers() {
    QFETCH(QString, section);
    QFETCH(QString, first);
    QFETCH(QString, column);
    QFETCH(QString, expected);
    QCOMPARE(m_fixture.floatRun, 1);  // the column names above carry the run ids
    QCOMPARE(m_fixture.quantRun, 2);
    const auto row = rowOf(m_html, section, first);
    QVERIFY2(!row.empty(), qPrintable(QStringLiteral("no row %1 in %2").arg(first, section)));
    QVERIFY2(row.count(column), qPrintable(describeRow(row)));
    QCOMPARE(row.at(column), expected);
}

void TestReport::everyImageIsAValidPng() {
    static const QRegularExpression imgRe(QStringLiteral("<img src=\"([^\"]*)\""));
    static const QRegularExpression dataRe(
        QStringLiteral("^data:image/png;base64,([A-Za-z0-9+/=]+)$"));
    int count = 0;
    auto it = imgRe.globalMatch(m_html);
    while (it.hasNext()) {
        const QString src = it.next().captured(1);
        const auto data = dataRe.match(src);
        QVERIFY2(data.hasMatch(), qPrintable(src.left(80)));  // self-contained: no file links
        const QImage image =
            QImage::fromData(QByteArray::fromBase64(data.captured(1).toLatin1()), "PNG");
        QVERIFY(!image.isNull());
        QVERIFY(image.width() > 100 && image.height() > 100);
        QVERIFY(hasInk(image));
        ++count;
    }
    // Loss and accuracy curves, and the one 5x5 landscape.
    QCOMPARE(count, 3);
    QCOMPARE(m_htmlSummary.images, 3);
    QVERIFY(m_html.contains(QStringLiteral("5x5 grid")));
}

void TestReport::checksumsAndTheirStates() {
    const auto exported = rowOf(m_html, QStringLiteral("Checksums"), QStringLiteral("safetensors"));
    QVERIFY(!exported.empty());
    QCOMPARE(exported.at(QStringLiteral("sha256 (at export)")),
             QString::fromStdString(m_fixture.exportSha256));
    QCOMPARE(exported.at(QStringLiteral("path")), QString::fromStdString(m_fixture.exportPath));
    QCOMPARE(exported.at(QStringLiteral("bytes now")), QString::number(qs::test::kExportBytes));
    QCOMPARE(exported.at(QStringLiteral("state")), QStringLiteral("unchanged"));
    const auto edited = rowOf(m_html, QStringLiteral("Checksums"), QStringLiteral("encodings"));
    QVERIFY(!edited.empty());
    QCOMPARE(edited.at(QStringLiteral("state")), QStringLiteral("changed since export"));
    const auto gone = rowOf(m_html, QStringLiteral("Checksums"), QStringLiteral("onnx"));
    QVERIFY(!gone.empty());
    QCOMPARE(gone.at(QStringLiteral("state")), QStringLiteral("missing"));
    QCOMPARE(gone.at(QStringLiteral("bytes now")), QStringLiteral("-"));
}

void TestReport::floatParentNotInTheStore() {
    const ReportSummary s = write({m_fixture.orphanRun}, QStringLiteral("orphan.html"));
    const QString html = readText(QString::fromStdString(s.path));
    QVERIFY(html.contains(
        QStringLiteral("Initialized from /nowhere/run-9/last.safetensors, which is not in the "
                       "store")));
    QVERIFY(html.contains(QStringLiteral("No export of this run in the store")));
    // No Hessian report and no layer states: the ratio cannot even be estimated.
    const auto ratio =
        rowOf(html, QStringLiteral("Model size"), QStringLiteral("compression ratio (estimate)"));
    QVERIFY(!ratio.empty());
    QCOMPARE(ratio.at(QStringLiteral("value")),
             QStringLiteral("unknown: no per-layer bits recorded"));
    QVERIFY(html.contains(QStringLiteral("No landscape computed for this run")));
    QVERIFY(html.contains(QStringLiteral("No exported files recorded for this run.")));
    QCOMPARE(s.images, 0);  // no metrics: both curves say so instead of an empty chart
    QVERIFY(html.contains(QStringLiteral("No loss recorded.")));
}

void TestReport::comparisonOfTwoRuns() {
    const ReportSummary s =
        write({m_fixture.floatRun, m_fixture.quantRun}, QStringLiteral("compare.html"));
    const QString html = readText(QString::fromStdString(s.path));
    for (const char* heading :
         {"Runs", "Specs", "Final metrics", "Training curves", "Per-layer bits", "Environment"}) {
        QVERIFY2(html.contains(QStringLiteral("<h2>%1</h2>").arg(QLatin1String(heading))), heading);
    }
    const auto names = rowOf(html, QStringLiteral("Runs"), QStringLiteral("name"));
    QCOMPARE(names.at(QStringLiteral("run 1 (tiny-float)")), QStringLiteral("tiny-float"));
    QCOMPARE(names.at(QStringLiteral("run 2 (tiny-lsq-w3a3)")), QStringLiteral("tiny-lsq-w3a3"));
    const auto acc = rowOf(html, QStringLiteral("Final metrics"), QStringLiteral("eval/acc"));
    QCOMPARE(acc.at(QStringLiteral("run 1 (tiny-float)")), QStringLiteral("90.37%"));
    QCOMPARE(acc.at(QStringLiteral("run 2 (tiny-lsq-w3a3)")), QStringLiteral("81.25%"));
    // best_acc only exists for the quantized run.
    const auto best = rowOf(html, QStringLiteral("Final metrics"), QStringLiteral("eval/best_acc"));
    QCOMPARE(best.at(QStringLiteral("run 1 (tiny-float)")), QStringLiteral("-"));
    const auto bits =
        rowOf(html, QStringLiteral("Per-layer bits"), QStringLiteral("layer1.0.conv1"));
    QCOMPARE(bits.at(QStringLiteral("run 2 (tiny-lsq-w3a3)")), QStringLiteral("W3 A3"));
    QCOMPARE(bits.at(QStringLiteral("run 1 (tiny-float)")), QStringLiteral("float"));
    // Differing spec fields are highlighted, equal ones are not.
    QVERIFY(
        html.contains(QStringLiteral("<td class=\"diff\" bgcolor=\"#ffe98a\">method.name</td>")));
    QVERIFY(html.contains(QStringLiteral("<td>model.arch</td>")));
    QVERIFY(
        !html.contains(QStringLiteral("<td class=\"diff\" bgcolor=\"#ffe98a\">model.arch</td>")));
    QCOMPARE(s.images, 2);  // overlaid loss and accuracy
}

void TestReport::pdfRendersToNumberedPages() {
    const ReportSummary s = write({m_fixture.quantRun}, QStringLiteral("run.pdf"));
    QFile file(QString::fromStdString(s.path));
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QByteArray bytes = file.readAll();
    QVERIFY(bytes.startsWith("%PDF"));
    QCOMPARE(qint64(bytes.size()), s.bytes);
    QCOMPARE(s.images, 3);
    QVERIFY2(s.pages >= 2, qPrintable(QString::number(s.pages)));
    const QString pdftoppm = QStandardPaths::findExecutable(QStringLiteral("pdftoppm"));
    if (pdftoppm.isEmpty()) {
        QSKIP("pdftoppm not found: install poppler-utils (packaging/setup.sh does)");
    }
    const QString prefix = m_dir.filePath(QStringLiteral("pages/page"));
    QVERIFY(QDir().mkpath(m_dir.filePath(QStringLiteral("pages"))));
    QProcess p;
    p.start(pdftoppm, {QStringLiteral("-png"), QStringLiteral("-r"), QStringLiteral("40"),
                       QString::fromStdString(s.path), prefix});
    QVERIFY(p.waitForFinished(60000));
    QCOMPARE(p.exitCode(), 0);
    const QStringList pages =
        QDir(m_dir.filePath(QStringLiteral("pages")))
            .entryList({QStringLiteral("page*.png")}, QDir::Files, QDir::Name);
    QCOMPARE(pages.size(), s.pages);
    for (const QString& name : pages) {
        const QImage page(m_dir.filePath(QStringLiteral("pages/") + name));
        QVERIFY2(!page.isNull(), qPrintable(name));
        // A4 portrait at 40 dpi: about 331 x 468 pixels.
        QVERIFY2(page.height() > page.width(), qPrintable(name));
        QVERIFY2(hasInk(page), qPrintable(name));
    }
}

void TestReport::badInput_data() {
    QTest::addColumn<qint64>("run");
    QTest::addColumn<QString>("db");
    QTest::addColumn<QString>("out");
    QTest::addColumn<QString>("message");
    const QString db = QString::fromStdString(m_fixture.dbPath);
    QTest::newRow("unknown run") << qint64(999) << db << "x.html"
                                 << QStringLiteral("report: no run with id 999 in ") + db;
    QTest::newRow("bad extension")
        << qint64(2) << db << "x.txt"
        << QStringLiteral("report: the output file must end in .html or .pdf (got %1)")
               .arg(m_dir.filePath(QStringLiteral("x.txt")));
    QTest::newRow("unwritable html")
        << qint64(2) << db << "no/such/folder/x.html"
        << QStringLiteral("report: cannot write %1: ")
               .arg(m_dir.filePath(QStringLiteral("no/such/folder/x.html")));
    QTest::newRow("unwritable pdf")
        << qint64(2) << db << "no/such/folder/x.pdf"
        << QStringLiteral("report: cannot write %1: ")
               .arg(m_dir.filePath(QStringLiteral("no/such/folder/x.pdf")));
    const QString missing = m_dir.filePath(QStringLiteral("missing.sqlite"));
    QTest::newRow("missing store")
        << qint64(2) << missing << "x.html" << QStringLiteral("report: no run store at ") + missing;
}

void TestReport::badInput() {
    QFETCH(qint64, run);
    QFETCH(QString, db);
    QFETCH(QString, out);
    QFETCH(QString, message);
    ReportOptions o;
    o.runs = {run};
    o.dbPath = db.toStdString();
    o.outPath = m_dir.filePath(out).toStdString();
    QString what;
    try {
        qs::report::writeReport(o);
    } catch (const std::runtime_error& e) {
        what = QString::fromStdString(e.what());
    }
    QVERIFY2(what.startsWith(message), qPrintable(what));
    QVERIFY(!QFile::exists(m_dir.filePath(out)));
    // A missing store is not created by asking for a report of it.
    QVERIFY(!QFile::exists(m_dir.filePath(QStringLiteral("missing.sqlite"))));
}

QTEST_MAIN(TestReport)
#include "TestReport.moc"
