// Help > About: what Quantscape is and the versions of the libraries it runs on.
#pragma once

#include <QDialog>
#include <QMap>

class QLabel;

namespace qs::ui {

class AboutDialog : public QDialog {
    Q_OBJECT
public:
    /// versions: library name -> version ("Qt" -> "6.4.2"), from RunBackend::versions().
    explicit AboutDialog(const QMap<QString, QString>& versions, QWidget* parent = nullptr);

    /// The version table as shown ("Qt 6.4.2" lines), for tests.
    QString versionsText() const;

private:
    QLabel* m_versions;
};

}  // namespace qs::ui
