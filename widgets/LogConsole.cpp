#include "widgets/LogConsole.h"

#include "widgets/Icons.h"
#include "widgets/TextFormat.h"

#include <QFontDatabase>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QScrollBar>
#include <QTextBlock>
#include <QTextCursor>
#include <QToolButton>
#include <QVBoxLayout>

namespace qs::ui {
namespace {

QTextCharFormat levelFormat(LogEntry::Level level) {
    QTextCharFormat f;
    switch (level) {
        case LogEntry::Info:
            f.setForeground(QColor(0x15, 0x65, 0xc0));
            break;
        case LogEntry::Warning:
            f.setForeground(QColor(0xb2, 0x6a, 0x00));
            break;
        case LogEntry::Error:
            f.setForeground(QColor(0xc6, 0x28, 0x28));
            f.setFontWeight(QFont::Bold);
            break;
    }
    return f;
}

QString levelTag(LogEntry::Level level) {
    switch (level) {
        case LogEntry::Info:
            return QStringLiteral("INFO ");
        case LogEntry::Warning:
            return QStringLiteral("WARN ");
        case LogEntry::Error:
            return QStringLiteral("ERROR");
    }
    return {};
}

}  // namespace

LogConsole::LogConsole(QWidget* parent)
    : QWidget(parent), m_text(new QPlainTextEdit), m_clear(new QToolButton), m_summary(new QLabel) {
    setObjectName(QStringLiteral("LogConsole"));
    m_text->setObjectName(QStringLiteral("logText"));
    m_text->setReadOnly(true);
    m_text->setUndoRedoEnabled(false);
    m_text->setLineWrapMode(QPlainTextEdit::NoWrap);
    m_text->setMaximumBlockCount(5000);
    m_text->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_text->setPlaceholderText(tr("Log messages of runs and of the app appear here."));

    m_clear->setObjectName(QStringLiteral("logClear"));
    m_clear->setIcon(Icons::icon(Icons::Clear));
    m_clear->setText(tr("Clear"));
    m_clear->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    m_clear->setAutoRaise(true);

    auto* bar = new QHBoxLayout;
    bar->setSpacing(4);
    bar->addWidget(m_summary, 1);
    bar->addWidget(m_clear);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->setSpacing(2);
    layout->addLayout(bar);
    layout->addWidget(m_text, 1);

    connect(m_clear, &QToolButton::clicked, this, &LogConsole::clear);
    updateSummary();
}

int LogConsole::maxLines() const {
    return m_text->maximumBlockCount();
}

void LogConsole::setMaxLines(int lines) {
    m_text->setMaximumBlockCount(lines);
}

int LogConsole::lineCount() const {
    return m_text->document()->isEmpty() ? 0 : m_text->document()->blockCount();
}

QString LogConsole::plainText() const {
    return m_text->toPlainText();
}

void LogConsole::appendEntries(const QVector<LogEntry>& entries) {
    QScrollBar* sb = m_text->verticalScrollBar();
    const bool atBottom = sb->value() >= sb->maximum() - 2;
    QTextCursor cursor(m_text->document());
    cursor.movePosition(QTextCursor::End);
    QTextCharFormat timeFormat;
    timeFormat.setForeground(QColor(0x75, 0x75, 0x75));
    const QTextCharFormat plain;
    for (const LogEntry& e : entries) {
        if (!m_text->document()->isEmpty()) {
            cursor.insertBlock();
        }
        const QDateTime t = e.time.isValid() ? e.time : QDateTime::currentDateTime();
        cursor.insertText(t.toLocalTime().toString(QStringLiteral("HH:mm:ss")) + QLatin1Char(' '),
                          timeFormat);
        cursor.insertText(levelTag(e.level), levelFormat(e.level));
        cursor.insertText(QStringLiteral("  ") + e.text,
                          e.level == LogEntry::Error ? levelFormat(e.level) : plain);
        m_warnings += e.level == LogEntry::Warning;
        m_errors += e.level == LogEntry::Error;
    }
    // Follow the tail only when the user has not scrolled up to read something.
    if (atBottom) {
        sb->setValue(sb->maximum());
    }
    updateSummary();
}

void LogConsole::appendMessage(LogEntry::Level level, const QString& text) {
    appendEntries({LogEntry{level, text, QDateTime::currentDateTime()}});
}

void LogConsole::clear() {
    m_text->clear();
    m_warnings = 0;
    m_errors = 0;
    updateSummary();
}

void LogConsole::updateSummary() {
    QStringList parts;
    parts << countNoun(lineCount(), tr("line"), tr("lines"));
    if (m_warnings > 0) {
        parts << countNoun(m_warnings, tr("warning"), tr("warnings"));
    }
    if (m_errors > 0) {
        parts << countNoun(m_errors, tr("error"), tr("errors"));
    }
    m_summary->setText(parts.join(QStringLiteral(" · ")));
}

}  // namespace qs::ui
