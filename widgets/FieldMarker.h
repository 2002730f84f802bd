// Marks input widgets as invalid with a red frame drawn over them, without restyling the widget
// itself (a style sheet border would replace the platform look of spin boxes and combos). The
// marked widget also gets the property "qsInvalid" = true and the message as its tooltip.
#pragma once

#include <QHash>
#include <QObject>
#include <QPointer>
#include <QString>

class QWidget;

namespace qs::ui {

class FieldMarker : public QObject {
    Q_OBJECT
public:
    explicit FieldMarker(QObject* parent = nullptr);
    ~FieldMarker() override;

    /// Frames the widget in red and shows message as its tooltip.
    void mark(QWidget* widget, const QString& message);
    /// Removes every frame and restores the tooltips.
    void clear();
    bool isMarked(const QWidget* widget) const;

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    struct Mark {
        QPointer<QWidget> overlay;
        QString originalToolTip;
    };
    void place(QWidget* target);
    QHash<QWidget*, Mark> m_marks;
};

}  // namespace qs::ui
