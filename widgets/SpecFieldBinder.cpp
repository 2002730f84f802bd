#include "widgets/SpecFieldBinder.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QJsonArray>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QPushButton>
#include <QRegularExpression>
#include <QSignalBlocker>
#include <QSpinBox>

#include <cmath>
#include <limits>

namespace qs::ui {
namespace {

/// A double spin box that shows values compactly ("0.05", "0.0005", "1e-06") instead of a fixed
/// number of decimals, and keeps full precision.
class CompactDoubleSpinBox : public QDoubleSpinBox {
public:
    explicit CompactDoubleSpinBox(QWidget* parent = nullptr) : QDoubleSpinBox(parent) {
        setDecimals(12);
    }

    QString textFromValue(double value) const override {
        return QLocale().toString(value, 'g', 8).remove(QLocale().groupSeparator());
    }

    double valueFromText(const QString& text) const override {
        bool ok = false;
        const double v = QLocale().toDouble(text.trimmed(), &ok);
        return ok ? v : value();
    }

    QValidator::State validate(QString& text, int&) const override {
        const QString t = text.trimmed();
        if (t.isEmpty() || t == QLatin1String("-") || t.endsWith(QLatin1Char('e')) ||
            t.endsWith(QLatin1String("e-")) || t.endsWith(QLocale().decimalPoint())) {
            return QValidator::Intermediate;
        }
        bool ok = false;
        const double v = QLocale().toDouble(t, &ok);
        if (!ok) {
            return QValidator::Invalid;
        }
        return v >= minimum() && v <= maximum() ? QValidator::Acceptable : QValidator::Intermediate;
    }
};

QString intListText(const QJsonArray& a) {
    QStringList parts;
    for (const QJsonValue& v : a) {
        parts << QString::number(v.toInteger());
    }
    return parts.join(QStringLiteral(", "));
}

/// Parses "2, 4 6" into [2, 4, 6]; false when a token is not an integer.
bool parseIntList(const QString& text, QJsonArray* out) {
    QJsonArray a;
    const QStringList tokens =
        text.split(QRegularExpression(QStringLiteral("[,;\\s]+")), Qt::SkipEmptyParts);
    for (const QString& t : tokens) {
        bool ok = false;
        const qint64 v = t.toLongLong(&ok);
        if (!ok) {
            return false;
        }
        a.append(v);
    }
    *out = a;
    return true;
}

}  // namespace

SpecFieldBinder::SpecFieldBinder(QObject* parent) : QObject(parent) {}

void SpecFieldBinder::bind(const QString& path, QWidget* widget,
                           std::function<void(const QJsonValue&)> show) {
    widget->setObjectName(path);
    m_bindings.push_back({path, widget, std::move(show)});
}

QSpinBox* SpecFieldBinder::intField(const QString& path, int min, int max,
                                    const QString& specialText) {
    auto* w = new QSpinBox;
    w->setRange(min, max);
    w->setSpecialValueText(specialText);
    w->setAccelerated(true);
    bind(path, w, [w](const QJsonValue& v) {
        const double d = v.toDouble();
        w->setValue(d > double(std::numeric_limits<int>::max()) ? w->maximum() : int(d));
    });
    connect(w, &QSpinBox::valueChanged, this,
            [this, path](int value) { Q_EMIT edited(path, QJsonValue(value)); });
    return w;
}

QDoubleSpinBox* SpecFieldBinder::realField(const QString& path, double min, double max,
                                           double step) {
    auto* w = new CompactDoubleSpinBox;
    w->setRange(min, max);
    w->setSingleStep(step);
    bind(path, w, [w](const QJsonValue& v) { w->setValue(v.toDouble()); });
    connect(w, &QDoubleSpinBox::valueChanged, this,
            [this, path](double value) { Q_EMIT edited(path, QJsonValue(value)); });
    return w;
}

QCheckBox* SpecFieldBinder::boolField(const QString& path, const QString& text) {
    auto* w = new QCheckBox(text);
    bind(path, w, [w](const QJsonValue& v) { w->setChecked(v.toBool()); });
    connect(w, &QCheckBox::toggled, this,
            [this, path](bool on) { Q_EMIT edited(path, QJsonValue(on)); });
    return w;
}

QComboBox* SpecFieldBinder::choiceField(const QString& path, const QVector<Choice>& choices) {
    auto* w = new QComboBox;
    // Narrow docks: the combo may be narrower than its longest item (the popup shows it whole).
    w->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    w->setMinimumContentsLength(8);
    for (const Choice& c : choices) {
        w->addItem(c.second, c.first);
    }
    const int known = w->count();
    bind(path, w, [w, known](const QJsonValue& v) {
        // A value the form does not know (a newer spec, a typo in a file) is shown as it is, so
        // the engine's message about it has a widget to point at.
        while (w->count() > known) {
            w->removeItem(w->count() - 1);
        }
        const QString value = v.toString();
        int i = w->findData(value);
        if (i < 0) {
            w->addItem(QObject::tr("%1 (unknown)").arg(value), value);
            i = w->count() - 1;
        }
        w->setCurrentIndex(i);
    });
    connect(w, &QComboBox::currentIndexChanged, this, [this, path, w](int index) {
        Q_EMIT edited(path, QJsonValue(w->itemData(index).toString()));
    });
    return w;
}

QLineEdit* SpecFieldBinder::textField(const QString& path, const QString& placeholder) {
    auto* w = new QLineEdit;
    w->setPlaceholderText(placeholder);
    bind(path, w, [w](const QJsonValue& v) {
        // Only when different: setText moves the cursor, which would fight the user's typing.
        if (w->text() != v.toString()) {
            w->setText(v.toString());
        }
    });
    connect(w, &QLineEdit::textChanged, this,
            [this, path](const QString& text) { Q_EMIT edited(path, QJsonValue(text)); });
    return w;
}

QLineEdit* SpecFieldBinder::intListField(const QString& path, const QString& placeholder) {
    auto* w = new QLineEdit;
    w->setPlaceholderText(placeholder);
    bind(path, w, [w](const QJsonValue& v) {
        QJsonArray shown;
        if (!parseIntList(w->text(), &shown) || shown != v.toArray()) {
            w->setText(intListText(v.toArray()));
        }
    });
    connect(w, &QLineEdit::textChanged, this, [this, path](const QString& text) {
        QJsonArray a;
        if (parseIntList(text, &a)) {
            Q_EMIT edited(path, a);
        } else {
            Q_EMIT parseError(path,
                              tr("%1: must be a list of whole epochs such as \"2, 4\"").arg(path));
        }
    });
    return w;
}

QWidget* SpecFieldBinder::pathField(const QString& path, PathKind kind, const QString& dialogTitle,
                                    const QString& fileFilter) {
    auto* row = new QWidget;
    auto* edit = textField(path, kind == PathKind::Directory ? tr("default location") : tr("none"));
    auto* browse = new QPushButton(tr("Browse…"));
    browse->setObjectName(path + QStringLiteral(".browse"));
    browse->setAutoDefault(false);
    auto* layout = new QHBoxLayout(row);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(4);
    layout->addWidget(edit, 1);
    layout->addWidget(browse);
    connect(browse, &QPushButton::clicked, this, [edit, kind, dialogTitle, fileFilter] {
        const QString start = edit->text().isEmpty() ? QString() : QFileInfo(edit->text()).path();
        const QString chosen =
            kind == PathKind::Directory
                ? QFileDialog::getExistingDirectory(
                      edit->window(), dialogTitle,
                      edit->text().isEmpty() ? QString() : edit->text())
                : QFileDialog::getOpenFileName(edit->window(), dialogTitle, start, fileFilter);
        if (!chosen.isEmpty()) {
            edit->setText(chosen);  // reported through textChanged like typing
        }
    });
    return row;
}

QLabel* SpecFieldBinder::readOnlyField(const QString& path) {
    auto* w = new QLabel;
    w->setTextInteractionFlags(Qt::TextSelectableByMouse);
    bind(path, w, [w](const QJsonValue& v) {
        w->setText(v.isDouble() ? QString::number(v.toDouble()) : v.toVariant().toString());
    });
    return w;
}

void SpecFieldBinder::showSpec(const QJsonObject& spec) {
    for (const Binding& b : m_bindings) {
        const QSignalBlocker block(b.widget);
        b.show(valueAt(spec, b.path));
    }
}

QWidget* SpecFieldBinder::widget(const QString& path) const {
    for (const Binding& b : m_bindings) {
        if (b.path == path) {
            return b.widget;
        }
    }
    return nullptr;
}

QStringList SpecFieldBinder::paths() const {
    QStringList p;
    for (const Binding& b : m_bindings) {
        p << b.path;
    }
    return p;
}

QJsonValue SpecFieldBinder::valueAt(const QJsonObject& spec, const QString& path) {
    const QStringList parts = path.split(QLatin1Char('.'));
    QJsonObject node = spec;
    for (int i = 0; i + 1 < parts.size(); ++i) {
        node = node.value(parts[i]).toObject();
    }
    return node.value(parts.last());
}

void SpecFieldBinder::setValueAt(QJsonObject& spec, const QString& path, const QJsonValue& value) {
    const int dot = path.indexOf(QLatin1Char('.'));
    if (dot < 0) {
        spec.insert(path, value);
        return;
    }
    const QString head = path.left(dot);
    QJsonObject child = spec.value(head).toObject();
    setValueAt(child, path.mid(dot + 1), value);
    spec.insert(head, child);
}

}  // namespace qs::ui
