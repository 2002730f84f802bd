// A message strip across the top of the window for errors and warnings that must not be missed
// but must not block either (no modal box): the engine's failure, a run that could not start, a
// store operation that failed. Stays until closed or replaced; repeated messages are counted.
#pragma once

#include <QWidget>

class QLabel;
class QToolButton;

namespace qs::ui {

class NotificationBar : public QWidget {
    Q_OBJECT
public:
    enum Kind { Info, Warning, Error };

    explicit NotificationBar(QWidget* parent = nullptr);

    QString text() const;
    Kind kind() const { return m_kind; }

public Q_SLOTS:
    void showMessage(qs::ui::NotificationBar::Kind kind, const QString& text);
    void showError(const QString& text) { showMessage(Error, text); }
    /// An Info message about a file the app wrote, with an "Open" button that opens it in the
    /// desktop's application for its type.
    void showFile(const QString& text, const QString& path);
    void dismiss();

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    QLabel* m_icon;
    QLabel* m_text;
    QToolButton* m_open;
    QToolButton* m_close;
    QString m_path;
    Kind m_kind = Info;
    QString m_lastText;
    int m_repeats = 0;
};

}  // namespace qs::ui
