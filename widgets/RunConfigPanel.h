// Edits a run spec (the JSON the engine runs): every field, grouped as Model & data, Method &
// quantization, Optimisation and Run, plus per-layer bit overrides. Every edit is validated by
// the engine itself (RunBackend::validate); the offending field gets a red frame and the
// engine's message appears under the form. The spec object is the model: widgets show it
// (updateFromModel) and edits write single fields of it (onFieldChanged), so fields the form does
// not know survive a load/save round trip untouched.
#pragma once

#include "visualization/ViewData.h"
#include "widgets/RunBackend.h"

#include <QJsonObject>
#include <QWidget>

class QAction;
class QComboBox;
class QFormLayout;
class QHBoxLayout;
class QLabel;
class QLineEdit;
class QTableWidget;
class QTableWidgetItem;
class QScrollArea;
class QToolButton;

namespace qs::ui {

class CollapsibleSection;
class FieldMarker;
class SpecFieldBinder;

class RunConfigPanel : public QWidget {
    Q_OBJECT
public:
    /// Columns of the per-layer override table: the editable bits right after the name, so they
    /// stay in view in a narrow dock; shape and size scroll in from the right.
    enum LayerColumn { LayerName, LayerWBits, LayerABits, LayerParams, LayerShape };
    /// Item role holding a bits cell's override: -1 = none (the policy's default), 0 = float,
    /// 2..8 = bits.
    static constexpr int OverrideRole = Qt::UserRole + 1;

    explicit RunConfigPanel(RunBackend* backend, QWidget* parent = nullptr);
    ~RunConfigPanel() override;

    /// The spec as edited now (every field the last setSpec had, with the user's edits).
    QJsonObject spec() const { return m_spec; }
    /// Shows a spec. A partial spec is completed with the engine's defaults (normalized()).
    void setSpec(const QJsonObject& spec);
    /// True when the engine accepts the spec and every path it names exists.
    bool isValid() const;
    /// The engine's verdict on the current spec.
    SpecProblem problem() const { return m_problem; }
    /// The "field: path" lines of paths that do not exist.
    QStringList missingPaths() const { return m_missing; }
    /// The text under the form (the engine's message, missing paths, or a ready summary).
    QString message() const;
    /// Validates again and checks paths right before a run; marks what is wrong and returns
    /// whether a run may start.
    bool checkBeforeRun();

    /// The editor of a dotted field ("optim.lr"); the override table for "quant.layers".
    QWidget* fieldWidget(const QString& field) const;
    /// Every dotted field the form edits.
    QStringList fields() const;
    /// Whether a widget carries the red invalid frame now.
    bool isMarked(const QWidget* widget) const;
    QTableWidget* layerOverrideTable() const { return m_layerTable; }
    QComboBox* presetCombo() const { return m_preset; }

    bool loadSpecFile(const QString& path, QString* error);
    bool saveSpecFile(const QString& path, QString* error) const;

    /// Puts buttons for the given actions (Run, Add to queue) under the form.
    void setRunActions(const QList<QAction*>& actions);

public Q_SLOTS:
    /// File dialogs around loadSpecFile/saveSpecFile; problems go to messageLogged.
    void loadSpecDialog();
    void saveSpecDialog();
    void applyPreset(const QString& name);

Q_SIGNALS:
    void specChanged();
    /// Something worth a line in the log (a spec loaded or saved, a file that could not be read).
    void messageLogged(qs::ui::LogEntry::Level level, const QString& text);

private:
    void buildForm();
    QWidget* buildModelPage();
    QWidget* buildMethodPage();
    QWidget* buildOptimPage();
    QWidget* buildRunPage();
    QFormLayout* newForm(QWidget* owner);

    void updateFromModel();
    void updateLayerTable();
    void updateEnabled();
    void placeMethodOptions(const QString& method);
    void updateMarks();
    void revalidate();
    void refreshLayerPlan();

    void onFieldChanged(const QString& path, const QJsonValue& value);
    void onFieldParseError(const QString& path, const QString& message);
    void onLayerBitsChanged(QTableWidgetItem* item);
    void onPresetActivated(int index);

    QWidget* widgetForField(const QString& field) const;

    RunBackend* m_backend;
    SpecFieldBinder* m_binder;
    FieldMarker* m_marker;
    QJsonObject m_spec;
    SpecProblem m_problem;
    QStringList m_missing;
    QMap<QString, QString> m_parseProblems;  ///< field -> message, for text that is no value
    QVector<LayerRow> m_plan;                ///< layers with the policy's bits (no overrides)
    QString m_planKey;

    QComboBox* m_preset = nullptr;
    QLabel* m_presetInfo = nullptr;
    QScrollArea* m_scroll = nullptr;
    QVector<CollapsibleSection*> m_sections;
    /// A method option's row: its label and its editor.
    using MethodRow = QPair<QWidget*, QWidget*>;
    QFormLayout* m_methodForm = nullptr;
    int m_methodOptionsAt = 0;                       ///< form row of the first method option
    QMap<QString, QVector<MethodRow>> m_methodRows;  ///< method -> its option rows
    QVector<MethodRow> m_shownMethodRows;            ///< the rows in the form now, in order
    QLabel* m_methodInfo = nullptr;
    QTableWidget* m_layerTable = nullptr;
    QLabel* m_layerCaption = nullptr;
    QLabel* m_message = nullptr;
    QHBoxLayout* m_runButtons = nullptr;
    QString m_lastDir;
};

}  // namespace qs::ui
