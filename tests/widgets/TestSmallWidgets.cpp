// The small pieces: LogConsole (levels, timestamps, the line cap, Clear), AboutDialog (versions),
// NotificationBar (shows, counts repeats, dismisses), Icons (every icon draws, disabled is paler),
// FieldMarker (frames a widget and restores its tooltip) and EmptyStateWidget.
#include "FakeBackend.h"
#include "visualization/LandscapeView.h"
#include "widgets/AboutDialog.h"
#include "widgets/EmptyStateWidget.h"
#include "widgets/FieldMarker.h"
#include "widgets/Icons.h"
#include "widgets/LogConsole.h"
#include "widgets/NotificationBar.h"

#include <QImage>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QTest>
#include <QTextBlock>
#include <QToolButton>

using namespace qs::ui;
using qs::test::FakeBackend;

namespace {

/// Sum of alpha over an image: how much of the icon is painted.
qint64 coverage(const QImage& image) {
    qint64 sum = 0;
    for (int y = 0; y < image.height(); ++y) {
        for (int x = 0; x < image.width(); ++x) {
            sum += qAlpha(image.pixel(x, y));
        }
    }
    return sum;
}

double meanAlpha(const QImage& image) {
    double sum = 0.0;
    int n = 0;
    for (int y = 0; y < image.height(); ++y) {
        for (int x = 0; x < image.width(); ++x) {
            const QColor c = QColor::fromRgba(image.pixel(x, y));
            if (c.alpha() > 0) {
                sum += c.alphaF();
                ++n;
            }
        }
    }
    return n ? sum / n : 0.0;
}

}  // namespace

class TestSmallWidgets : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void logConsoleFormatsLevels();
    void logConsoleCapsLines();
    void logConsoleClears();
    void aboutListsVersions();
    void notificationBarShowsAndCounts();
    void iconsDraw_data();
    void iconsDraw();
    void fieldMarkerFramesAndRestores();
    void emptyStateTexts();
};

void TestSmallWidgets::logConsoleFormatsLevels() {
    LogConsole log;
    const QDateTime t(QDate(2024, 5, 14), QTime(9, 41, 7));
    log.appendEntries({{LogEntry::Info, QStringLiteral("epoch 1/3"), t},
                       {LogEntry::Warning, QStringLiteral("lr warm-up skipped"), t},
                       {LogEntry::Error, QStringLiteral("data.path: missing"), t}});
    QCOMPARE(log.lineCount(), 3);
    const QStringList lines = log.plainText().split(QLatin1Char('\n'));
    QCOMPARE(lines[0], QStringLiteral("09:41:07 INFO   epoch 1/3"));
    QCOMPARE(lines[1], QStringLiteral("09:41:07 WARN   lr warm-up skipped"));
    QCOMPARE(lines[2], QStringLiteral("09:41:07 ERROR  data.path: missing"));
    QVERIFY(log.textView()->isReadOnly());
    // Each level has its own colour.
    QTextDocument* doc = log.textView()->document();
    auto levelColor = [&](int block) {
        QTextBlock b = doc->findBlockByNumber(block);
        QTextCursor c(b);
        c.setPosition(b.position() + 10);  // inside the level tag
        return c.charFormat().foreground().color();
    };
    QVERIFY(levelColor(0) != levelColor(1));
    QVERIFY(levelColor(1) != levelColor(2));
    QVERIFY(levelColor(0) != levelColor(2));
    bool summary = false;
    for (QLabel* l : log.findChildren<QLabel*>()) {
        summary = summary || l->text() == QStringLiteral("3 lines · 1 warning · 1 error");
    }
    QVERIFY(summary);
}

void TestSmallWidgets::logConsoleCapsLines() {
    LogConsole log;
    log.setMaxLines(50);
    QCOMPARE(log.maxLines(), 50);
    QVector<LogEntry> entries;
    for (int i = 0; i < 120; ++i) {
        entries.push_back(
            {LogEntry::Info, QStringLiteral("line %1").arg(i), QDateTime::currentDateTime()});
    }
    log.appendEntries(entries);
    QCOMPARE(log.lineCount(), 50);
    QVERIFY(log.plainText().endsWith(QStringLiteral("line 119")));
    QVERIFY(!log.plainText().contains(QStringLiteral("line 69\n")));
}

void TestSmallWidgets::logConsoleClears() {
    LogConsole log;
    log.appendMessage(LogEntry::Error, QStringLiteral("boom"));
    QCOMPARE(log.lineCount(), 1);
    QToolButton* clear = log.findChild<QToolButton*>(QStringLiteral("logClear"));
    QVERIFY(clear);
    QCOMPARE(clear->text(), QStringLiteral("Clear"));
    clear->click();
    QCOMPARE(log.lineCount(), 0);
    QVERIFY(log.plainText().isEmpty());
}

void TestSmallWidgets::aboutListsVersions() {
    FakeBackend backend;
    AboutDialog about(backend.versions());
    const QString text = about.versionsText();
    QVERIFY2(text.contains(QStringLiteral("LibTorch 1.13.1")), qPrintable(text));
    QVERIFY(text.contains(QStringLiteral("SQLite 3.40.1")));
    // VTK is not the backend's to report: the dialog names the version the views render with.
    QVERIFY2(text.contains(QStringLiteral("VTK ") + vtkVersionText()), qPrintable(text));
    QVERIFY(vtkVersionText().startsWith(QStringLiteral("9.")));
    QVERIFY(text.contains(QStringLiteral("Qt ") + QString::fromLatin1(qVersion())));
    QCOMPARE(about.windowTitle(), QStringLiteral("About Quantscape"));
    bool title = false;
    for (QLabel* l : about.findChildren<QLabel*>()) {
        title = title || l->text().contains(QStringLiteral("Quantscape 0.1.0"));
    }
    QVERIFY(title);
}

void TestSmallWidgets::notificationBarShowsAndCounts() {
    QWidget host;
    NotificationBar bar(&host);
    host.show();
    QVERIFY(!bar.isVisible());
    bar.showError(QStringLiteral("Run 3 failed: out of memory"));
    QVERIFY(bar.isVisible());
    QCOMPARE(bar.kind(), NotificationBar::Error);
    QCOMPARE(bar.text(), QStringLiteral("Run 3 failed: out of memory"));
    bar.showError(QStringLiteral("Run 3 failed: out of memory"));
    QCOMPARE(bar.text(), QStringLiteral("Run 3 failed: out of memory (×2)"));
    bar.showMessage(NotificationBar::Warning, QStringLiteral("queue held"));
    QCOMPARE(bar.text(), QStringLiteral("queue held"));
    QCOMPARE(bar.kind(), NotificationBar::Warning);
    bar.findChild<QToolButton*>(QStringLiteral("notificationClose"))->click();
    QVERIFY(!bar.isVisible());
}

void TestSmallWidgets::iconsDraw_data() {
    QTest::addColumn<int>("kind");
    for (int k = Icons::Run; k <= Icons::AppLogo; ++k) {
        QTest::newRow(qPrintable(Icons::name(Icons::Kind(k)))) << k;
    }
}

void TestSmallWidgets::iconsDraw() {
    QFETCH(int, kind);
    const QIcon icon = Icons::icon(Icons::Kind(kind));
    QVERIFY(!icon.isNull());
    for (int size : {16, 24, 48}) {
        const QImage image = icon.pixmap(size, size).toImage();
        QCOMPARE(image.width(), size);
        const double painted = double(coverage(image)) / (255.0 * size * size);
        QVERIFY2(painted > 0.05 && painted < 0.95, qPrintable(QString::number(painted)));
    }
    const QImage normal = icon.pixmap(24, 24, QIcon::Normal).toImage();
    const QImage disabled = icon.pixmap(24, 24, QIcon::Disabled).toImage();
    QVERIFY(meanAlpha(disabled) < meanAlpha(normal));
}

void TestSmallWidgets::fieldMarkerFramesAndRestores() {
    QWidget host;
    auto* edit = new QLineEdit(&host);
    edit->setGeometry(10, 10, 120, 24);
    edit->setToolTip(QStringLiteral("the original tip"));
    host.show();
    FieldMarker marker;
    marker.mark(edit, QStringLiteral("optim.lr: must be in (0, 10] (got 0)"));
    QVERIFY(marker.isMarked(edit));
    QCOMPARE(edit->toolTip(), QStringLiteral("optim.lr: must be in (0, 10] (got 0)"));
    QWidget* frame = host.findChild<QWidget*>(QStringLiteral("qsFieldMarker"));
    QVERIFY(frame);
    QVERIFY(frame->isVisible());
    QVERIFY(frame->geometry().contains(edit->geometry()));
    edit->move(40, 50);  // the frame follows its widget
    QVERIFY(frame->geometry().contains(edit->geometry()));
    marker.clear();
    QVERIFY(!marker.isMarked(edit));
    QCOMPARE(edit->toolTip(), QStringLiteral("the original tip"));
    QVERIFY(!host.findChild<QWidget*>(QStringLiteral("qsFieldMarker")));
    QVERIFY(!edit->property("qsInvalid").toBool());
}

void TestSmallWidgets::emptyStateTexts() {
    EmptyStateWidget empty;
    empty.setText(QStringLiteral("No run selected"), QStringLiteral("Start a run."));
    QCOMPARE(empty.title(), QStringLiteral("No run selected"));
    QCOMPARE(empty.hint(), QStringLiteral("Start a run."));
}

QTEST_MAIN(TestSmallWidgets)
#include "TestSmallWidgets.moc"
