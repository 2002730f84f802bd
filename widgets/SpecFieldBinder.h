// Editors bound to fields of a run spec by dotted path ("optim.lr"). The binder creates each
// editor, shows a whole spec in all of them at once (showSpec, signals blocked), and reports a
// user's edit of one editor as edited(path, value): the owner writes the spec, never the widget.
// A method's options page is a few binder calls, so adding a method's fields is local.
#pragma once

#include <QJsonObject>
#include <QJsonValue>
#include <QObject>
#include <QPair>
#include <QVector>

#include <functional>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QSpinBox;
class QWidget;

namespace qs::ui {

class SpecFieldBinder : public QObject {
    Q_OBJECT
public:
    /// A choice's JSON value and the label the combo shows for it.
    using Choice = QPair<QString, QString>;
    enum class PathKind { Directory, File };

    explicit SpecFieldBinder(QObject* parent = nullptr);

    /// Integer field; specialText (when given) is shown for the minimum ("all", "auto").
    QSpinBox* intField(const QString& path, int min, int max, const QString& specialText = {});
    /// Real field shown compactly ("0.05", "5e-4"); keyboard edits are accepted as typed.
    QDoubleSpinBox* realField(const QString& path, double min, double max, double step);
    QCheckBox* boolField(const QString& path, const QString& text);
    QComboBox* choiceField(const QString& path, const QVector<Choice>& choices);
    QLineEdit* textField(const QString& path, const QString& placeholder = {});
    /// Comma-separated integers ("2, 4") as a JSON array; unparsable text reports parseError().
    QLineEdit* intListField(const QString& path, const QString& placeholder = {});
    /// A path line edit with a "Browse..." button; returns the row (widget(path) is the edit).
    QWidget* pathField(const QString& path, PathKind kind, const QString& dialogTitle,
                       const QString& fileFilter = {});
    /// A field the form shows but does not edit (the spec version).
    QLabel* readOnlyField(const QString& path);

    /// Shows every bound field's value from spec, without emitting edited().
    void showSpec(const QJsonObject& spec);
    /// The editor bound to path (the line edit for path fields), or null.
    QWidget* widget(const QString& path) const;
    QStringList paths() const;

    /// spec["a"]["b"] for "a.b"; Undefined when absent.
    static QJsonValue valueAt(const QJsonObject& spec, const QString& path);
    /// Sets spec["a"]["b"] = value for "a.b", creating objects on the way.
    static void setValueAt(QJsonObject& spec, const QString& path, const QJsonValue& value);

Q_SIGNALS:
    void edited(const QString& path, const QJsonValue& value);
    /// The text of a field cannot be turned into a value (message names the field).
    void parseError(const QString& path, const QString& message);

private:
    struct Binding {
        QString path;
        QWidget* widget;
        std::function<void(const QJsonValue&)> show;
    };
    void bind(const QString& path, QWidget* widget, std::function<void(const QJsonValue&)> show);
    QVector<Binding> m_bindings;
};

}  // namespace qs::ui
