// The run log: engine log lines and the app's own messages, newest at the bottom, each with a
// timestamp and its level in colour. Keeps at most maxLines() lines so a long run cannot grow
// the document without bound.
#pragma once

#include "visualization/ViewData.h"

#include <QWidget>

class QPlainTextEdit;
class QToolButton;
class QLabel;

namespace qs::ui {

class LogConsole : public QWidget {
    Q_OBJECT
public:
    explicit LogConsole(QWidget* parent = nullptr);

    /// Lines kept before the oldest are dropped.
    int maxLines() const;
    void setMaxLines(int lines);
    /// Number of lines shown now.
    int lineCount() const;
    /// The shown text, without formatting (tests and copy).
    QString plainText() const;
    QPlainTextEdit* textView() const { return m_text; }

public Q_SLOTS:
    void appendEntries(const QVector<qs::ui::LogEntry>& entries);
    void appendMessage(qs::ui::LogEntry::Level level, const QString& text);
    void clear();

private:
    QPlainTextEdit* m_text;
    QToolButton* m_clear;
    QLabel* m_summary;
    int m_warnings = 0;
    int m_errors = 0;
    void updateSummary();
};

}  // namespace qs::ui
