// A titled part of a long form that folds away: a header button (arrow, bold title, optional
// warning icon) over its content. The config panel stacks these in one scroll area, so every
// field is reachable by scrolling and nothing leaves blank space the way a QToolBox page does.
#pragma once

#include <QWidget>

class QToolButton;

namespace qs::ui {

class CollapsibleSection : public QWidget {
    Q_OBJECT
public:
    CollapsibleSection(const QString& title, QWidget* content, QWidget* parent = nullptr);

    QWidget* content() const { return m_content; }
    QString title() const;
    bool isExpanded() const;
    /// Shows a warning sign in the header (a field inside is invalid).
    void setWarning(bool on);
    bool hasWarning() const { return m_warning; }

public Q_SLOTS:
    void setExpanded(bool expanded);

Q_SIGNALS:
    void expandedChanged(bool expanded);

private:
    QToolButton* m_header;
    QWidget* m_content;
    bool m_warning = false;
};

}  // namespace qs::ui
