// What a view shows when it has nothing to show: a title saying why, and a line saying what to
// do about it ("No run selected" / "Start a run or open one from the run browser").
#pragma once

#include <QWidget>

class QLabel;

namespace qs::ui {

class EmptyStateWidget : public QWidget {
    Q_OBJECT
public:
    explicit EmptyStateWidget(QWidget* parent = nullptr);

    void setText(const QString& title, const QString& hint = {});
    QString title() const;
    QString hint() const;

private:
    QLabel* m_title;
    QLabel* m_hint;
};

}  // namespace qs::ui
