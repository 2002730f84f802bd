#include "widgets/AboutDialog.h"

#include "visualization/LandscapeView.h"
#include "widgets/Icons.h"

#include <QDialogButtonBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QRegularExpression>
#include <QVBoxLayout>

namespace qs::ui {

AboutDialog::AboutDialog(const QMap<QString, QString>& versions, QWidget* parent)
    : QDialog(parent), m_versions(new QLabel) {
    setObjectName(QStringLiteral("AboutDialog"));
    setWindowTitle(tr("About Quantscape"));
    const QIcon logo = Icons::icon(Icons::AppLogo);
    setWindowIcon(logo);

    auto* icon = new QLabel;
    icon->setPixmap(logo.pixmap(64, 64));
    icon->setAlignment(Qt::AlignTop);

    const QString version = versions.value(QStringLiteral("Quantscape"));
    auto* title = new QLabel(
        QStringLiteral("<h2 style='margin:0'>Quantscape %1</h2>").arg(version.toHtmlEscaped()));
    auto* text = new QLabel(
        tr("A workbench for neural-network quantization. Train and quantize ResNet and BERT "
           "models with LSQ and related methods, watch per-layer bit-widths, step sizes and "
           "quantization error live, compare runs from the run history, and export the "
           "quantized result.<br><br>Runs are recorded in <i>%1</i>.")
            .arg(versions.value(QStringLiteral("Store"), tr("the run store")).toHtmlEscaped()));
    text->setWordWrap(true);
    text->setTextFormat(Qt::RichText);

    // The landscape view links VTK into this process: report the version it renders with.
    QMap<QString, QString> shown = versions;
    shown.insert(QStringLiteral("VTK"), vtkVersionText());
    QString rows;
    for (auto it = shown.begin(); it != shown.end(); ++it) {
        if (it.key() == QLatin1String("Quantscape") || it.key() == QLatin1String("Store")) {
            continue;
        }
        rows += QStringLiteral("<tr><td style='padding-right:16px'>%1</td><td>%2</td></tr>")
                    .arg(it.key().toHtmlEscaped(), it.value().toHtmlEscaped());
    }
    m_versions->setObjectName(QStringLiteral("aboutVersions"));
    m_versions->setTextFormat(Qt::RichText);
    m_versions->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_versions->setText(QStringLiteral("<b>%1</b><table>%2</table>").arg(tr("Built with"), rows));

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto* right = new QVBoxLayout;
    right->setSpacing(10);
    right->addWidget(title);
    right->addWidget(text);
    right->addWidget(m_versions);
    right->addStretch(1);
    auto* top = new QHBoxLayout;
    top->setSpacing(16);
    top->addWidget(icon);
    top->addLayout(right, 1);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(top, 1);
    layout->addWidget(buttons);
    setMinimumWidth(460);
}

QString AboutDialog::versionsText() const {
    QString s = m_versions->text();
    s.replace(QStringLiteral("</td><td>"), QStringLiteral(" "));
    s.replace(QStringLiteral("</tr>"), QStringLiteral("\n"));
    s.remove(QRegularExpression(QStringLiteral("<[^>]*>")));
    return s.trimmed();
}

}  // namespace qs::ui
