#include "widgets/RunConfigPanel.h"

#include "widgets/CollapsibleSection.h"
#include "widgets/FieldMarker.h"
#include "widgets/Icons.h"
#include "widgets/LayerTableModel.h"
#include "widgets/SpecFieldBinder.h"
#include "widgets/TextFormat.h"

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QRegularExpression>
#include <QSaveFile>
#include <QScrollArea>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QStyledItemDelegate>
#include <QTableWidget>
#include <QToolButton>
#include <QVBoxLayout>

#include <functional>

namespace qs::ui {
namespace {

/// What the form knows about a training method. Adding a method is one entry here: its label,
/// what it does, whether the quantization fields apply, whether it trains quantized weights
/// (then LSQ's gradient scale and distillation apply too), and its own fields.
struct MethodDescriptor {
    QString name;
    QString label;
    QString description;
    bool quantized;
    bool qat;
    std::function<void(SpecFieldBinder&, QFormLayout*)> addOptions;
};

void addSquatOptions(SpecFieldBinder& b, QFormLayout* form) {
    auto* schedule = b.choiceField(QStringLiteral("method.squat.schedule"),
                                   {{QStringLiteral("per-step"), QObject::tr("per step")},
                                    {QStringLiteral("alternate"), QObject::tr("alternate k:1")}});
    schedule->setToolTip(
        QObject::tr("per step (default): every batch steps the step sizes s with LSQ, then the "
                    "weights w with SAM. alternate: k SAM steps on w with s frozen, then one LSQ "
                    "step on s with w frozen"));
    form->addRow(QObject::tr("Schedule"), schedule);
    auto* k = b.intField(QStringLiteral("method.squat.k"), 1, 1000);
    k->setToolTip(
        QObject::tr("Alternate schedule: SAM steps on the weights per step-size step "
                    "[default 1]"));
    form->addRow(QObject::tr("SAM steps (k)"), k);
    auto* site = b.choiceField(QStringLiteral("method.squat.site"),
                               {{QStringLiteral("latent"), QObject::tr("latent: Q(w + e)")},
                                {QStringLiteral("quantized"), QObject::tr("quantized: Q(w) + e")}});
    site->setToolTip(
        QObject::tr("Where the perturbation e is added: before the quantizer "
                    "(latent, default) or to its output (quantized)"));
    form->addRow(QObject::tr("Perturb at"), site);
    auto* rho = b.realField(QStringLiteral("method.squat.rho"), 0.0, 10.0, 0.01);
    rho->setToolTip(QObject::tr(
        "Radius ρ of the weight perturbation, e = ρ·g/‖g‖ over all weights. SAM default 0.05 "
        "(sweep 0.01 to 0.1); with ASAM the radius is relative to |w|, typically 0.5 to 2"));
    form->addRow(QObject::tr("Radius ρ"), rho);
    auto* warmup = b.realField(QStringLiteral("method.squat.rho_warmup_epochs"), 0.0, 10000.0, 0.5);
    warmup->setToolTip(QObject::tr(
        "ρ ramps linearly from 0 over these epochs [default 0: full ρ from the start]"));
    form->addRow(QObject::tr("ρ warm-up"), warmup);
    auto* asam = b.boolField(QStringLiteral("method.squat.asam"), QObject::tr("Adaptive (ASAM)"));
    asam->setToolTip(
        QObject::tr("e = ρ·T²g/‖Tg‖ with T = |w| + 0.01: scale-invariant "
                    "sharpness; use a larger ρ (0.5 to 2) [default off]"));
    form->addRow(QObject::tr("SAM variant"), asam);
    auto* joint = b.boolField(QStringLiteral("method.squat.joint"),
                              QObject::tr("w and s jointly (ablation)"));
    joint->setToolTip(
        QObject::tr("The ablation baseline: perturb and step weights and step sizes "
                    "together (per-step schedule, latent site) [default off]"));
    form->addRow(QObject::tr("Joint SAM"), joint);
}

void addNoiseOptions(SpecFieldBinder& b, QFormLayout* form) {
    auto* lambda0 = b.realField(QStringLiteral("method.nt.lambda0"), 0.0, 100.0, 0.1);
    lambda0->setToolTip(QObject::tr("Noise scale at step 0: λ_t = λ0·exp(−t/τ) [default 1]"));
    form->addRow(QObject::tr("Noise λ0"), lambda0);
    auto* tau = b.realField(QStringLiteral("method.nt.tau"), 0.0, 1e12, 100.0);
    tau->setSpecialValueText(QObject::tr("derived"));
    tau->setToolTip(
        QObject::tr("Decay time τ in steps; 0 (derived, the default) chooses τ so "
                    "that λ_t reaches the end λ at the end fraction of training"));
    form->addRow(QObject::tr("Decay τ"), tau);
    auto* endLambda = b.realField(QStringLiteral("method.nt.end_lambda"), 0.0, 100.0, 0.01);
    endLambda->setToolTip(
        QObject::tr("With τ derived: λ_t reached at the end fraction of training [default 0.01]"));
    form->addRow(QObject::tr("End λ"), endLambda);
    auto* endFraction = b.realField(QStringLiteral("method.nt.end_fraction"), 0.0, 1.0, 0.05);
    endFraction->setToolTip(
        QObject::tr("With τ derived: the fraction of the training steps at which λ_t = end λ "
                    "[default 0.8]"));
    form->addRow(QObject::tr("End fraction"), endFraction);
    auto* distribution =
        b.choiceField(QStringLiteral("method.nt.distribution"),
                      {{QStringLiteral("uniform"), QObject::tr("uniform U(−1, 1)")},
                       {QStringLiteral("normal"), QObject::tr("normal N(0, 1)")}});
    distribution->setToolTip(
        QObject::tr("Distribution of ξ in x_q + λ_t·a·ξ, drawn fresh each forward [uniform]"));
    form->addRow(QObject::tr("Noise ξ"), distribution);
    auto* amplitude = b.choiceField(QStringLiteral("method.nt.amplitude"),
                                    {{QStringLiteral("error"), QObject::tr("error |e|")},
                                     {QStringLiteral("half-step"), QObject::tr("half step s/2")}});
    amplitude->setToolTip(QObject::tr(
        "Amplitude a: each element's own quantization error |x_q − x| (default), or s/2"));
    form->addRow(QObject::tr("Amplitude"), amplitude);
    auto* weights = b.boolField(QStringLiteral("method.nt.weights"), QObject::tr("Weights"));
    weights->setToolTip(QObject::tr("Noise at the weight quantizers [default on]"));
    auto* acts = b.boolField(QStringLiteral("method.nt.activations"), QObject::tr("Activations"));
    acts->setToolTip(QObject::tr("Noise at the activation quantizers [default on]"));
    auto* sites = new QWidget;
    auto* sitesLayout = new QHBoxLayout(sites);
    sitesLayout->setContentsMargins(0, 0, 0, 0);
    sitesLayout->addWidget(weights);
    sitesLayout->addWidget(acts);
    sitesLayout->addStretch(1);
    form->addRow(QObject::tr("Noise at"), sites);
    auto* kappa =
        b.boolField(QStringLiteral("method.nt.learn_grad_scale"), QObject::tr("Learn κ × g"));
    kappa->setToolTip(
        QObject::tr("A learnable (log-parameterised) multiplier κ per quantizer on "
                    "LSQ's step-size gradient scale g [default off]"));
    form->addRow(QObject::tr("Scale κ"), kappa);
}

void addPtqOptions(SpecFieldBinder& b, QFormLayout* form) {
    auto* calibration =
        b.choiceField(QStringLiteral("method.ptq.calibration"),
                      {{QStringLiteral("minmax"), QObject::tr("min/max")},
                       {QStringLiteral("percentile"), QObject::tr("percentile of |v|")},
                       {QStringLiteral("mse"), QObject::tr("minimum MSE")}});
    calibration->setToolTip(
        QObject::tr("How each step size is chosen from the observed values: "
                    "their range, a percentile of |v|, or the step with the "
                    "least quantization MSE (default)"));
    form->addRow(QObject::tr("Calibration"), calibration);
    auto* percentile = b.realField(QStringLiteral("method.ptq.percentile"), 50.0, 100.0, 0.01);
    percentile->setSuffix(QStringLiteral(" %"));
    percentile->setToolTip(
        QObject::tr("Percentile calibration: the percentile of |v| the grid ends at, in (50, 100] "
                    "[default 99.99]"));
    form->addRow(QObject::tr("Percentile"), percentile);
    auto* batches = b.intField(QStringLiteral("method.ptq.batches"), 1, 10000);
    batches->setToolTip(QObject::tr("Training batches the activation observers see [default 4]"));
    form->addRow(QObject::tr("Batches"), batches);
}

/// Options every quantization-aware training method shares: LSQ's gradient scale and
/// distillation from a float teacher.
void addQatOptions(SpecFieldBinder& b, QFormLayout* form) {
    auto* g = b.choiceField(QStringLiteral("quant.grad_scale"),
                            {{QStringLiteral("numel"), QObject::tr("per tensor (numel)")},
                             {QStringLiteral("per-sample"), QObject::tr("per sample")}});
    g->setToolTip(QObject::tr("LSQ's N in the step-size gradient scale g = 1/sqrt(N·Qp)"));
    form->addRow(QObject::tr("Gradient scale"), g);
    auto* distill =
        b.boolField(QStringLiteral("method.distill.enabled"), QObject::tr("From a float teacher"));
    distill->setToolTip(
        QObject::tr("loss = (1 − α)·CE + α·T²·softCE(student, teacher) [default off]"));
    form->addRow(QObject::tr("Distillation"), distill);
    QWidget* teacher =
        b.pathField(QStringLiteral("method.distill.teacher"), SpecFieldBinder::PathKind::File,
                    QObject::tr("Teacher checkpoint"),
                    QObject::tr("Checkpoints (*.safetensors);;All files (*)"));
    teacher->setToolTip(
        QObject::tr("The float teacher's safetensors checkpoint; empty uses the init checkpoint"));
    if (auto* edit = qobject_cast<QLineEdit*>(b.widget(QStringLiteral("method.distill.teacher")))) {
        edit->setPlaceholderText(QObject::tr("the init checkpoint"));
    }
    form->addRow(QObject::tr("Teacher"), teacher);
    auto* alpha = b.realField(QStringLiteral("method.distill.alpha"), 0.0, 1.0, 0.05);
    alpha->setToolTip(QObject::tr("Weight α of the soft (teacher) loss, in [0, 1] [default 0.5]"));
    form->addRow(QObject::tr("Distil α"), alpha);
    auto* temperature = b.realField(QStringLiteral("method.distill.temperature"), 0.0, 100.0, 0.5);
    temperature->setToolTip(
        QObject::tr("Softmax temperature T of teacher and student, in (0, 100] [default 1]"));
    form->addRow(QObject::tr("Temperature T"), temperature);
    auto* hidden = b.realField(QStringLiteral("method.distill.hidden_weight"), 0.0, 1000.0, 0.1);
    hidden->setToolTip(QObject::tr(
        "BERT: weight of the mean squared error between student and teacher hidden states"));
    form->addRow(QObject::tr("Hidden-state weight"), hidden);
    auto* attn = b.realField(QStringLiteral("method.distill.attention_weight"), 0.0, 1000.0, 0.1);
    attn->setToolTip(QObject::tr(
        "BERT: weight of the mean squared error between student and teacher attention scores"));
    form->addRow(QObject::tr("Attention weight"), attn);
}

QVector<MethodDescriptor> methodDescriptors() {
    return {
        {QStringLiteral("fp"), QObject::tr("Full precision (fp)"),
         QObject::tr("Trains in float: no quantizers. The baseline, and the checkpoint that "
                     "quantized fine-tuning starts from."),
         false, false, nullptr},
        {QStringLiteral("lsq"), QObject::tr("LSQ (learned step size)"),
         QObject::tr("Quantizes weights and activations with step sizes learned by gradient "
                     "descent along with the weights."),
         true, true, nullptr},
        {QStringLiteral("squat"), QObject::tr("SQuAT (sharpness-aware)"),
         QObject::tr("SAM on the weights, LSQ on the step sizes: seeks a flat minimum. Two "
                     "passes per step."),
         true, true, addSquatOptions},
        {QStringLiteral("nt"), QObject::tr("Noise tempering"),
         QObject::tr("LSQ with noise scaled by the quantization error, decaying as "
                     "λ0·exp(−t/τ)."),
         true, true, addNoiseOptions},
        {QStringLiteral("ptq"), QObject::tr("PTQ (calibration only)"),
         QObject::tr("No training: calibrates the step sizes of the init checkpoint on a few "
                     "batches."),
         true, false, addPtqOptions},
    };
}

QString bitsText(int bits) {
    return bits == 0 ? QStringLiteral("fp") : QString::number(bits);
}

constexpr int PolicyRole = Qt::UserRole + 2;  ///< the bits the uniform policy gives the cell

/// Edits a bits cell with a combo: "default (N)", "fp", 2..8; writes OverrideRole.
class BitsDelegate : public QStyledItemDelegate {
public:
    using QStyledItemDelegate::QStyledItemDelegate;

    QWidget* createEditor(QWidget* parent, const QStyleOptionViewItem&,
                          const QModelIndex& index) const override {
        auto* combo = new QComboBox(parent);
        const int policy = index.data(PolicyRole).toInt();
        combo->addItem(QObject::tr("default (%1)").arg(bitsText(policy)), -1);
        combo->addItem(QStringLiteral("fp"), 0);
        for (int b = 2; b <= 8; ++b) {
            combo->addItem(QString::number(b), b);
        }
        // One click opens the list and one choice commits, like a cell widget would.
        connect(combo, &QComboBox::activated, this, [this, combo] {
            auto* self = const_cast<BitsDelegate*>(this);
            Q_EMIT self->commitData(combo);
            Q_EMIT self->closeEditor(combo);
        });
        return combo;
    }

    void setEditorData(QWidget* editor, const QModelIndex& index) const override {
        auto* combo = static_cast<QComboBox*>(editor);
        combo->setCurrentIndex(
            std::max(0, combo->findData(index.data(RunConfigPanel::OverrideRole))));
    }

    void setModelData(QWidget* editor, QAbstractItemModel* model,
                      const QModelIndex& index) const override {
        auto* combo = static_cast<QComboBox*>(editor);
        model->setData(index, combo->currentData(), RunConfigPanel::OverrideRole);
    }
};

}  // namespace

RunConfigPanel::RunConfigPanel(RunBackend* backend, QWidget* parent)
    : QWidget(parent),
      m_backend(backend),
      m_binder(new SpecFieldBinder(this)),
      m_marker(new FieldMarker(this)) {
    setObjectName(QStringLiteral("RunConfigPanel"));
    buildForm();
    connect(m_binder, &SpecFieldBinder::edited, this, &RunConfigPanel::onFieldChanged);
    connect(m_binder, &SpecFieldBinder::parseError, this, &RunConfigPanel::onFieldParseError);
    const QVector<PresetInfo> presets = backend->presets();
    if (!presets.isEmpty()) {
        m_preset->setCurrentIndex(1);
        onPresetActivated(1);
    } else {
        updateFromModel();
    }
}

RunConfigPanel::~RunConfigPanel() = default;

// --- building the form ---

QFormLayout* RunConfigPanel::newForm(QWidget* owner) {
    auto* form = new QFormLayout(owner);
    form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    form->setRowWrapPolicy(QFormLayout::DontWrapRows);
    form->setLabelAlignment(Qt::AlignLeft | Qt::AlignVCenter);
    form->setHorizontalSpacing(10);
    form->setVerticalSpacing(6);
    form->setContentsMargins(8, 8, 8, 8);
    return form;
}

void RunConfigPanel::buildForm() {
    m_preset = new QComboBox;
    m_preset->setObjectName(QStringLiteral("presetCombo"));
    m_preset->addItem(tr("Start from preset…"));
    for (const PresetInfo& p : m_backend->presets()) {
        m_preset->addItem(p.name, p.name);
        m_preset->setItemData(m_preset->count() - 1, p.description, Qt::ToolTipRole);
    }
    m_preset->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_preset->setMinimumContentsLength(12);
    connect(m_preset, &QComboBox::activated, this, &RunConfigPanel::onPresetActivated);

    auto* load = new QToolButton;
    load->setObjectName(QStringLiteral("loadSpecButton"));
    load->setIcon(Icons::icon(Icons::Load));
    load->setToolTip(tr("Load spec… (a JSON run spec)"));
    load->setAutoRaise(true);
    connect(load, &QToolButton::clicked, this, &RunConfigPanel::loadSpecDialog);
    auto* save = new QToolButton;
    save->setObjectName(QStringLiteral("saveSpecButton"));
    save->setIcon(Icons::icon(Icons::Save));
    save->setToolTip(tr("Save spec… (for quantscape-cli train --spec)"));
    save->setAutoRaise(true);
    connect(save, &QToolButton::clicked, this, &RunConfigPanel::saveSpecDialog);

    m_presetInfo = new QLabel;
    m_presetInfo->setWordWrap(true);
    QPalette dim = m_presetInfo->palette();
    dim.setColor(QPalette::WindowText, dim.color(QPalette::PlaceholderText));
    m_presetInfo->setPalette(dim);

    auto* name = m_binder->textField(QStringLiteral("name"), tr("a name for the run"));
    name->setToolTip(tr("Shown in the run browser; need not be unique"));

    auto* top = new QFormLayout;
    top->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    top->setLabelAlignment(Qt::AlignLeft | Qt::AlignVCenter);
    top->setHorizontalSpacing(10);
    top->setContentsMargins(8, 4, 8, 0);
    auto* presetRow = new QHBoxLayout;
    presetRow->setSpacing(2);
    presetRow->addWidget(m_preset, 1);
    presetRow->addWidget(load);
    presetRow->addWidget(save);
    top->addRow(tr("Preset"), presetRow);
    top->addRow(QString(), m_presetInfo);
    top->addRow(tr("Run name"), name);

    // One scrolling column of foldable sections: every field is a scroll away, and a section
    // the user does not care about folds out of the way.
    auto* sectionsHost = new QWidget;
    sectionsHost->setObjectName(QStringLiteral("specSections"));
    auto* sectionsLayout = new QVBoxLayout(sectionsHost);
    sectionsLayout->setContentsMargins(0, 0, 0, 0);
    sectionsLayout->setSpacing(4);
    const QVector<QPair<QString, QWidget*>> sections = {
        {tr("Model && data"), buildModelPage()},
        {tr("Method && quantization"), buildMethodPage()},
        {tr("Optimisation"), buildOptimPage()},
        {tr("Run"), buildRunPage()}};
    for (const auto& [title, page] : sections) {
        auto* section = new CollapsibleSection(title, page);
        m_sections << section;
        sectionsLayout->addWidget(section);
    }
    sectionsLayout->addStretch(1);
    m_scroll = new QScrollArea;
    m_scroll->setObjectName(QStringLiteral("specScroll"));
    m_scroll->setWidget(sectionsHost);
    m_scroll->setWidgetResizable(true);
    m_scroll->setFrameShape(QFrame::NoFrame);
    m_scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    // Without a horizontal scroll bar the dock must not get narrower than the form needs.
    m_scroll->setMinimumWidth(sectionsHost->minimumSizeHint().width() +
                              style()->pixelMetric(QStyle::PM_ScrollBarExtent) + 2);

    m_message = new QLabel;
    m_message->setObjectName(QStringLiteral("specMessage"));
    m_message->setWordWrap(true);
    m_message->setTextFormat(Qt::PlainText);
    m_message->setMargin(6);
    m_message->setAutoFillBackground(true);
    m_message->setTextInteractionFlags(Qt::TextSelectableByMouse);

    m_runButtons = new QHBoxLayout;
    m_runButtons->setContentsMargins(8, 0, 8, 8);
    m_runButtons->setSpacing(6);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 4, 0, 0);
    layout->setSpacing(6);
    layout->addLayout(top);
    layout->addWidget(m_scroll, 1);
    auto* messageBox = new QHBoxLayout;
    messageBox->setContentsMargins(8, 0, 8, 0);
    messageBox->addWidget(m_message);
    layout->addLayout(messageBox);
    layout->addLayout(m_runButtons);
}

QWidget* RunConfigPanel::buildModelPage() {
    auto* page = new QWidget;
    QFormLayout* f = newForm(page);
    auto& b = *m_binder;
    auto* arch =
        b.choiceField(QStringLiteral("model.arch"),
                      {{QStringLiteral("resnet20"), QStringLiteral("ResNet-20")},
                       {QStringLiteral("resnet32"), QStringLiteral("ResNet-32")},
                       {QStringLiteral("resnet44"), QStringLiteral("ResNet-44")},
                       {QStringLiteral("resnet56"), QStringLiteral("ResNet-56")},
                       {QStringLiteral("resnet18"), QStringLiteral("ResNet-18 (ImageNet-style)")},
                       {QStringLiteral("bert"), QStringLiteral("BERT (text)")}});
    f->addRow(tr("Architecture"), arch);
    auto* pretrained =
        b.pathField(QStringLiteral("model.bert.pretrained"), SpecFieldBinder::PathKind::Directory,
                    tr("Hugging Face checkpoint folder"));
    pretrained->setToolTip(
        tr("A Hugging Face BERT folder (config.json, model.safetensors, "
           "vocab.txt): shape, weights and vocabulary come from it. Empty: "
           "train from scratch with the shape below and a learnt vocabulary"));
    if (auto* edit = qobject_cast<QLineEdit*>(b.widget(QStringLiteral("model.bert.pretrained")))) {
        edit->setPlaceholderText(tr("none: from scratch"));
    }
    f->addRow(tr("Pretrained BERT"), pretrained);
    f->addRow(tr("BERT layers"), b.intField(QStringLiteral("model.bert.layers"), 1, 48));
    f->addRow(tr("Hidden size"), b.intField(QStringLiteral("model.bert.hidden"), 8, 8192));
    f->addRow(tr("Attention heads"), b.intField(QStringLiteral("model.bert.heads"), 1, 128));
    f->addRow(tr("Intermediate size"),
              b.intField(QStringLiteral("model.bert.intermediate"), 8, 65536));
    f->addRow(tr("Max positions"), b.intField(QStringLiteral("model.bert.max_positions"), 8, 8192));
    auto* vocab = b.intField(QStringLiteral("model.bert.vocab_size"), 100, 1000000);
    vocab->setToolTip(
        tr("Rows of the word embedding; a vocabulary learnt from the training "
           "split has at most this many tokens"));
    f->addRow(tr("Vocabulary size"), vocab);
    f->addRow(tr("Dropout"), b.realField(QStringLiteral("model.bert.dropout"), 0.0, 0.9, 0.05));
    auto* inCh = b.intField(QStringLiteral("model.in_channels"), 0, 64, tr("from dataset"));
    inCh->setToolTip(tr("Input channels; 0 takes them from the dataset"));
    f->addRow(tr("Input channels"), inCh);
    auto* classes = b.intField(QStringLiteral("model.num_classes"), 0, 100000, tr("from dataset"));
    classes->setToolTip(tr("Output classes; 0 takes them from the dataset"));
    f->addRow(tr("Classes"), classes);
    f->addItem(new QSpacerItem(0, 6));
    f->addRow(
        tr("Dataset"),
        b.choiceField(QStringLiteral("data.dataset"),
                      {{QStringLiteral("fashion-mnist"), QStringLiteral("Fashion-MNIST")},
                       {QStringLiteral("mnist"), QStringLiteral("MNIST")},
                       {QStringLiteral("cifar10"), QStringLiteral("CIFAR-10")},
                       {QStringLiteral("cifar100"), QStringLiteral("CIFAR-100")},
                       {QStringLiteral("spam-assassin"), QStringLiteral("SpamAssassin (text)")},
                       {QStringLiteral("glue"), QStringLiteral("GLUE task (text)")}}));
    QVector<SpecFieldBinder::Choice> tasks{{QString(), tr("(not GLUE)")}};
    for (const char* t : {"CoLA", "SST-2", "MRPC", "STS-B", "QQP", "MNLI", "QNLI", "RTE", "WNLI"}) {
        tasks.push_back({QLatin1String(t), QLatin1String(t)});
    }
    f->addRow(tr("GLUE task"), b.choiceField(QStringLiteral("data.task"), tasks));
    QWidget* path = b.pathField(QStringLiteral("data.path"), SpecFieldBinder::PathKind::Directory,
                                tr("Dataset folder"));
    path->setToolTip(tr("Folder with the dataset files; empty uses the default location"));
    f->addRow(tr("Dataset folder"), path);
    auto* train = b.intField(QStringLiteral("data.train_limit"), 0, 100000000, tr("all"));
    train->setToolTip(tr("Keep a seeded random subset of N training images or texts; 0 = all"));
    f->addRow(tr("Training examples"), train);
    auto* test = b.intField(QStringLiteral("data.test_limit"), 0, 100000000, tr("all"));
    test->setToolTip(tr("Keep a seeded random subset of N test images or texts; 0 = all"));
    f->addRow(tr("Test examples"), test);
    f->addRow(tr("Augmentation"),
              b.boolField(QStringLiteral("data.augment"), tr("Random crop and flip")));
    auto* crop = b.intField(QStringLiteral("data.crop_padding"), -1, 16, tr("auto"));
    crop->setToolTip(tr("Padding before the random crop; auto = 4 for 32×32 images, else 2"));
    f->addRow(tr("Crop padding"), crop);
    f->addRow(tr("Flip"), b.boolField(QStringLiteral("data.flip"), tr("Horizontal flip")));
    auto* maxLength = b.intField(QStringLiteral("data.max_length"), 4, 8192);
    maxLength->setToolTip(tr("Tokens per example after truncation, [CLS] and [SEP] included"));
    f->addRow(tr("Max tokens"), maxLength);
    f->addRow(tr("Lower case"),
              b.boolField(QStringLiteral("data.lower_case"), tr("Lower-case and strip accents")));
    auto* minFrequency = b.intField(QStringLiteral("data.vocab_min_frequency"), 1, 1000000);
    minFrequency->setToolTip(tr("A learnt vocabulary keeps words and merges seen this often"));
    f->addRow(tr("Vocabulary min. count"), minFrequency);
    f->addRow(tr("Batch size"), b.intField(QStringLiteral("data.batch_size"), 1, 65536));
    f->addRow(tr("Eval batch size"), b.intField(QStringLiteral("data.eval_batch_size"), 1, 65536));
    return page;
}

QWidget* RunConfigPanel::buildMethodPage() {
    auto* page = new QWidget;
    auto* outer = new QVBoxLayout(page);
    outer->setContentsMargins(0, 0, 0, 0);
    outer->setSpacing(0);
    auto* formHost = new QWidget;
    QFormLayout* f = newForm(formHost);
    auto& b = *m_binder;

    const QVector<MethodDescriptor> methods = methodDescriptors();
    QVector<SpecFieldBinder::Choice> choices;
    for (const MethodDescriptor& m : methods) {
        choices.push_back({m.name, m.label});
    }
    f->addRow(tr("Method"), b.choiceField(QStringLiteral("method.name"), choices));
    m_methodInfo = new QLabel;
    m_methodInfo->setWordWrap(true);
    QPalette dim = m_methodInfo->palette();
    dim.setColor(QPalette::WindowText, dim.color(QPalette::PlaceholderText));
    m_methodInfo->setPalette(dim);
    f->addRow(QString(), m_methodInfo);

    // Each method's own options are rows of this form (aligned with the rest), present only
    // while that method is chosen; the options all QAT methods share follow them. Built here
    // once, so the form's minimum width allows for the widest; placeMethodOptions() then keeps
    // only the chosen method's rows in the form.
    m_methodForm = f;
    m_methodOptionsAt = f->rowCount();
    auto rowWidgets = [f](int row) {
        return MethodRow{f->itemAt(row, QFormLayout::LabelRole)->widget(),
                         f->itemAt(row, QFormLayout::FieldRole)->widget()};
    };
    for (const MethodDescriptor& m : methods) {
        const int first = f->rowCount();
        if (m.addOptions) {
            m.addOptions(b, f);
        }
        for (int row = first; row < f->rowCount(); ++row) {
            m_methodRows[m.name] << rowWidgets(row);
        }
    }
    const int firstQat = f->rowCount();
    addQatOptions(b, f);
    for (const MethodDescriptor& m : methods) {
        for (int row = firstQat; m.qat && row < f->rowCount(); ++row) {
            m_methodRows[m.name] << rowWidgets(row);
        }
    }
    m_shownMethodRows.clear();
    for (int row = m_methodOptionsAt; row < f->rowCount(); ++row) {
        m_shownMethodRows << rowWidgets(row);
    }

    f->addRow(tr("Weight bits"), b.intField(QStringLiteral("quant.weight_bits"), 2, 8));
    f->addRow(tr("Activation bits"), b.intField(QStringLiteral("quant.act_bits"), 2, 8));
    auto* firstLast = b.choiceField(QStringLiteral("quant.first_last"),
                                    {{QStringLiteral("auto"), tr("automatic")},
                                     {QStringLiteral("8bit"), tr("8-bit")},
                                     {QStringLiteral("float"), tr("float")},
                                     {QStringLiteral("same"), tr("same as the others")}});
    firstLast->setToolTip(
        tr("Bits of the first convolution and the last linear layer. "
           "Automatic: 8-bit for ResNets; BERT keeps its classifier float"));
    f->addRow(tr("First && last layer"), firstLast);
    f->addRow(tr("Weight steps"),
              b.boolField(QStringLiteral("quant.per_channel"), tr("Per output channel")));
    auto* groups = b.intField(QStringLiteral("quant.group_rows"), 0, 1 << 20, tr("off"));
    groups->setToolTip(
        tr("BERT: Q-BERT's group-wise ranges, one step size per group of this "
           "many output rows of each encoder linear layer"));
    f->addRow(tr("Group rows"), groups);
    auto* embedding = b.intField(QStringLiteral("quant.embedding_bits"), -1, 8, tr("as weights"));
    embedding->setToolTip(tr("BERT's word embedding: 0 = float, 2..8 bits"));
    f->addRow(tr("Embedding bits"), embedding);
    auto* attention =
        b.intField(QStringLiteral("quant.attention_bits"), -1, 8, tr("as activations"));
    attention->setToolTip(
        tr("BERT's attention matmul inputs (Q, K, probabilities, V): 0 = "
           "float, 2..8 bits"));
    f->addRow(tr("Attention bits"), attention);
    auto* wd = b.boolField(QStringLiteral("quant.scale_weight_decay_by_bits"), tr("Scale by bits"));
    wd->setToolTip(tr("Weight decay × min(1, 2^(b−4)) on quantized weights"));
    f->addRow(tr("Weight decay"), wd);

    m_layerCaption =
        new QLabel(tr("Per-layer bits: click a W or A cell to override it; only "
                      "values that differ from the policy are saved."));
    m_layerCaption->setWordWrap(true);
    m_layerCaption->setPalette(dim);
    m_layerTable = new QTableWidget(0, 5);
    m_layerTable->setObjectName(QStringLiteral("quant.layers"));
    m_layerTable->setHorizontalHeaderLabels(
        {tr("Layer"), tr("W bits"), tr("A bits"), tr("Params"), tr("Shape")});
    m_layerTable->verticalHeader()->hide();
    m_layerTable->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 8);
    m_layerTable->setShowGrid(false);
    m_layerTable->setAlternatingRowColors(true);
    m_layerTable->setSelectionMode(QAbstractItemView::SingleSelection);
    m_layerTable->setEditTriggers(QAbstractItemView::SelectedClicked |
                                  QAbstractItemView::DoubleClicked |
                                  QAbstractItemView::EditKeyPressed);
    m_layerTable->setWordWrap(false);
    m_layerTable->setMinimumHeight(280);
    QHeaderView* h = m_layerTable->horizontalHeader();
    h->setSectionResizeMode(QHeaderView::ResizeToContents);
    h->setStretchLastSection(true);
    h->setHighlightSections(false);
    auto* delegate = new BitsDelegate(m_layerTable);
    m_layerTable->setItemDelegateForColumn(LayerWBits, delegate);
    m_layerTable->setItemDelegateForColumn(LayerABits, delegate);
    connect(m_layerTable, &QTableWidget::itemChanged, this, &RunConfigPanel::onLayerBitsChanged);

    outer->addWidget(formHost);
    auto* tableBox = new QVBoxLayout;
    tableBox->setContentsMargins(8, 0, 8, 8);
    tableBox->setSpacing(4);
    tableBox->addWidget(m_layerCaption);
    tableBox->addWidget(m_layerTable, 1);
    outer->addLayout(tableBox, 1);
    return page;
}

QWidget* RunConfigPanel::buildOptimPage() {
    auto* page = new QWidget;
    QFormLayout* f = newForm(page);
    auto& b = *m_binder;
    f->addRow(tr("Optimizer"), b.choiceField(QStringLiteral("optim.optimizer"),
                                             {{QStringLiteral("sgd"), tr("SGD with momentum")},
                                              {QStringLiteral("adamw"), tr("AdamW")}}));
    f->addRow(tr("Learning rate"), b.realField(QStringLiteral("optim.lr"), 0.0, 10.0, 0.01));
    f->addRow(tr("Momentum"), b.realField(QStringLiteral("optim.momentum"), 0.0, 1.0, 0.05));
    f->addRow(tr("Nesterov"),
              b.boolField(QStringLiteral("optim.nesterov"), tr("Nesterov momentum")));
    f->addRow(tr("Weight decay"),
              b.realField(QStringLiteral("optim.weight_decay"), 0.0, 1.0, 1e-4));
    f->addRow(tr("Adam β1"), b.realField(QStringLiteral("optim.beta1"), 0.0, 1.0, 0.01));
    f->addRow(tr("Adam β2"), b.realField(QStringLiteral("optim.beta2"), 0.0, 1.0, 0.001));
    f->addItem(new QSpacerItem(0, 6));
    f->addRow(tr("Schedule"), b.choiceField(QStringLiteral("optim.schedule"),
                                            {{QStringLiteral("cosine"), tr("cosine (per step)")},
                                             {QStringLiteral("linear"), tr("linear decay")},
                                             {QStringLiteral("step"), tr("step at milestones")},
                                             {QStringLiteral("constant"), tr("constant")}}));
    auto* milestones = b.intListField(QStringLiteral("optim.milestones"), tr("e.g. 2, 4"));
    milestones->setToolTip(tr("Epochs at which the step schedule multiplies the rate by gamma"));
    f->addRow(tr("Milestones"), milestones);
    f->addRow(tr("Gamma"), b.realField(QStringLiteral("optim.gamma"), 0.0, 1.0, 0.05));
    f->addRow(tr("Warm-up epochs"),
              b.realField(QStringLiteral("optim.warmup_epochs"), 0.0, 10000.0, 0.5));
    f->addRow(tr("Epochs"), b.intField(QStringLiteral("optim.epochs"), 1, 10000));
    return page;
}

QWidget* RunConfigPanel::buildRunPage() {
    auto* page = new QWidget;
    QFormLayout* f = newForm(page);
    auto& b = *m_binder;
    QWidget* ckpt =
        b.pathField(QStringLiteral("init_checkpoint"), SpecFieldBinder::PathKind::File,
                    tr("Initial checkpoint"), tr("Checkpoints (*.safetensors);;All files (*)"));
    ckpt->setToolTip(tr("Warm start from a (float) safetensors checkpoint"));
    f->addRow(tr("Init checkpoint"), ckpt);
    auto* seed = b.intField(QStringLiteral("seed"), 0, std::numeric_limits<int>::max());
    seed->setToolTip(tr("Same spec, seed and threads reproduce the same numbers"));
    f->addRow(tr("Seed"), seed);
    f->addRow(tr("Threads"), b.intField(QStringLiteral("threads"), 0, 1024, tr("all cores")));
    auto* processes = b.intField(QStringLiteral("distributed.processes"), 1, 1024);
    processes->setToolTip(
        tr("Data-parallel training: this many local processes (c10d, Gloo) "
           "share every batch; the threads are split between them"));
    f->addRow(tr("Processes"), processes);
    auto* timeout = b.realField(QStringLiteral("distributed.timeout_s"), 1.0, 86400.0, 10.0);
    timeout->setSuffix(tr(" s"));
    timeout->setToolTip(tr("A process silent this long (or never starting) ends the run"));
    f->addRow(tr("Peer timeout"), timeout);
    auto* bucket = b.realField(QStringLiteral("distributed.bucket_mb"), 0.5, 4096.0, 5.0);
    bucket->setSuffix(tr(" MB"));
    bucket->setToolTip(
        tr("Gradients are averaged over the processes in buckets of this size, "
           "each sent while backward still runs"));
    f->addRow(tr("Gradient buckets"), bucket);
    auto* logEvery = b.intField(QStringLiteral("log_every"), 1, 1000000);
    logEvery->setSuffix(tr(" steps"));
    logEvery->setToolTip(tr("Steps between streamed training metrics"));
    f->addRow(tr("Metrics every"), logEvery);
    auto* stateEvery = b.intField(QStringLiteral("state_every"), 1, 1000000);
    stateEvery->setSuffix(tr(" steps"));
    stateEvery->setToolTip(tr("Steps between per-layer quantizer states"));
    f->addRow(tr("Layer states every"), stateEvery);
    f->addRow(tr("Spec version"), b.readOnlyField(QStringLiteral("version")));
    return page;
}

void RunConfigPanel::setRunActions(const QList<QAction*>& actions) {
    bool first = true;
    for (QAction* a : actions) {
        auto* button = new QToolButton;
        button->setDefaultAction(a);
        button->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
        button->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
        button->setMinimumHeight(fontMetrics().height() + 14);
        if (first) {
            QFont f = button->font();
            f.setBold(true);
            button->setFont(f);
        }
        m_runButtons->addWidget(button, first ? 3 : 2);
        first = false;
    }
}

// --- the model ---

void RunConfigPanel::setSpec(const QJsonObject& spec) {
    const QJsonObject normalized = m_backend->normalized(spec);
    m_spec = normalized.isEmpty() ? spec : normalized;
    m_parseProblems.clear();
    revalidate();
    updateFromModel();
    Q_EMIT specChanged();
}

bool RunConfigPanel::isValid() const {
    return m_problem.ok() && m_missing.isEmpty() && m_parseProblems.isEmpty();
}

QString RunConfigPanel::message() const {
    return m_message->text();
}

bool RunConfigPanel::checkBeforeRun() {
    revalidate();
    updateFromModel();
    if (!isValid()) {
        // Show the first problem: open its section and scroll it into view.
        for (CollapsibleSection* section : m_sections) {
            if (section->hasWarning()) {
                section->setExpanded(true);
            }
        }
        QWidget* first = widgetForField(m_problem.ok() && !m_missing.isEmpty()
                                            ? m_missing.first().section(QLatin1Char(':'), 0, 0)
                                            : m_problem.field);
        if (first) {
            m_scroll->ensureWidgetVisible(first, 20, 40);
        }
    }
    return isValid();
}

QWidget* RunConfigPanel::fieldWidget(const QString& field) const {
    if (field == QLatin1String("quant.layers")) {
        return m_layerTable;
    }
    return m_binder->widget(field);
}

QStringList RunConfigPanel::fields() const {
    QStringList f = m_binder->paths();
    f << QStringLiteral("quant.layers");
    return f;
}

bool RunConfigPanel::isMarked(const QWidget* widget) const {
    return m_marker->isMarked(widget);
}

void RunConfigPanel::revalidate() {
    if (!m_parseProblems.isEmpty()) {
        m_problem = {m_parseProblems.firstKey(), m_parseProblems.first()};
    } else {
        m_problem = m_backend->validate(m_spec);
    }
    m_missing = m_backend->missingPaths(m_spec);
    refreshLayerPlan();
}

void RunConfigPanel::refreshLayerPlan() {
    // The policy's bits per layer come from the spec without overrides, so a cell can tell
    // "overridden" from "default" and an override equal to the default is not written.
    QJsonObject base = m_spec;
    QJsonObject quant = base.value(QStringLiteral("quant")).toObject();
    quant.insert(QStringLiteral("layers"), QJsonObject());
    base.insert(QStringLiteral("quant"), quant);
    QJsonObject keyObject;
    keyObject.insert(QStringLiteral("model"), base.value(QStringLiteral("model")));
    keyObject.insert(
        QStringLiteral("dataset"),
        base.value(QStringLiteral("data")).toObject().value(QStringLiteral("dataset")));
    // A GLUE task decides BERT's classifier rows (MNLI 3, STS-B 1).
    keyObject.insert(QStringLiteral("task"),
                     base.value(QStringLiteral("data")).toObject().value(QStringLiteral("task")));
    keyObject.insert(QStringLiteral("method"), base.value(QStringLiteral("method")));
    keyObject.insert(QStringLiteral("quant"), quant);
    const QString key = QString::fromUtf8(QJsonDocument(keyObject).toJson(QJsonDocument::Compact));
    if (key == m_planKey) {
        return;
    }
    const QVector<LayerRow> rows = m_backend->plannedLayers(base);
    // An invalid spec plans nothing; keep the last good list rather than blanking the table
    // while the user is halfway through an edit elsewhere.
    if (!rows.isEmpty()) {
        m_plan = rows;
        m_planKey = key;
    }
}

void RunConfigPanel::onFieldChanged(const QString& path, const QJsonValue& value) {
    SpecFieldBinder::setValueAt(m_spec, path, value);
    m_parseProblems.remove(path);
    revalidate();
    updateFromModel();
    Q_EMIT specChanged();
}

void RunConfigPanel::onFieldParseError(const QString& path, const QString& message) {
    m_parseProblems.insert(path, message);
    revalidate();
    updateFromModel();
    Q_EMIT specChanged();
}

void RunConfigPanel::onLayerBitsChanged(QTableWidgetItem* item) {
    const int column = item->column();
    if (column != LayerWBits && column != LayerABits) {
        return;
    }
    const QString layer = m_layerTable->item(item->row(), LayerName)->data(Qt::UserRole).toString();
    const QString key =
        column == LayerWBits ? QStringLiteral("weight_bits") : QStringLiteral("act_bits");
    const int value = item->data(OverrideRole).toInt();
    const int policy = item->data(PolicyRole).toInt();

    QJsonObject quant = m_spec.value(QStringLiteral("quant")).toObject();
    QJsonObject layers = quant.value(QStringLiteral("layers")).toObject();
    QJsonObject entry = layers.value(layer).toObject();
    if (value < 0 || value == policy) {
        entry.remove(key);
    } else {
        entry.insert(key, value);
    }
    if (entry.isEmpty()) {
        layers.remove(layer);
    } else {
        layers.insert(layer, entry);
    }
    quant.insert(QStringLiteral("layers"), layers);
    m_spec.insert(QStringLiteral("quant"), quant);
    revalidate();
    updateFromModel();
    Q_EMIT specChanged();
}

void RunConfigPanel::onPresetActivated(int index) {
    const QString name = m_preset->itemData(index).toString();
    if (name.isEmpty()) {
        return;
    }
    applyPreset(name);
}

void RunConfigPanel::applyPreset(const QString& name) {
    const QSignalBlocker block(m_preset);
    const int i = m_preset->findData(name);
    if (i >= 0) {
        m_preset->setCurrentIndex(i);
    }
    setSpec(m_backend->presetSpec(name));
}

// --- showing the model ---

void RunConfigPanel::updateFromModel() {
    m_binder->showSpec(m_spec);
    const QString method =
        SpecFieldBinder::valueAt(m_spec, QStringLiteral("method.name")).toString();
    const QVector<MethodDescriptor> methods = methodDescriptors();
    m_methodInfo->clear();
    for (const MethodDescriptor& m : methods) {
        if (m.name == method) {
            m_methodInfo->setText(m.description);
        }
    }
    placeMethodOptions(method);
    const int preset = m_preset->currentIndex();
    m_presetInfo->setText(preset > 0 ? m_preset->itemData(preset, Qt::ToolTipRole).toString()
                                     : QString());
    m_presetInfo->setVisible(!m_presetInfo->text().isEmpty());
    updateLayerTable();
    updateEnabled();
    updateMarks();
}

void RunConfigPanel::placeMethodOptions(const QString& method) {
    // Rows are taken out of the form and put back rather than hidden with setRowVisible():
    // Qt 6.4's QFormLayout writes past its row table in heightForWidth() (the word-wrapped method
    // description) once enough rows are hidden.
    const QVector<MethodRow> wanted = m_methodRows.value(method);
    if (wanted == m_shownMethodRows) {
        return;
    }
    for (int i = int(m_shownMethodRows.size()) - 1; i >= 0; --i) {
        const QFormLayout::TakeRowResult taken = m_methodForm->takeRow(m_methodOptionsAt + i);
        delete taken.labelItem;  // the layout items, not the widgets
        delete taken.fieldItem;
        m_shownMethodRows[i].first->hide();
        m_shownMethodRows[i].second->hide();
    }
    for (int i = 0; i < wanted.size(); ++i) {
        m_methodForm->insertRow(m_methodOptionsAt + i, wanted[i].first, wanted[i].second);
        wanted[i].first->show();
        wanted[i].second->show();
    }
    m_shownMethodRows = wanted;
}

void RunConfigPanel::updateEnabled() {
    auto value = [this](const char* path) {
        return SpecFieldBinder::valueAt(m_spec, QLatin1String(path));
    };
    const QString method = value("method.name").toString();
    bool quantized = true;
    for (const MethodDescriptor& m : methodDescriptors()) {
        if (m.name == method) {
            quantized = m.quantized;
        }
    }
    const bool sgd = value("optim.optimizer").toString() == QLatin1String("sgd");
    const bool alternate = value("method.squat.schedule").toString() == QLatin1String("alternate");
    const bool derivedTau = value("method.nt.tau").toDouble() == 0.0;
    const bool percentile =
        value("method.ptq.calibration").toString() == QLatin1String("percentile");
    const bool distill = value("method.distill.enabled").toBool();
    const bool step = value("optim.schedule").toString() == QLatin1String("step");
    const bool bert = value("model.arch").toString() == QLatin1String("bert");
    const bool fromScratch = bert && value("model.bert.pretrained").toString().isEmpty();
    const QString dataset = value("data.dataset").toString();
    const bool text = dataset == QLatin1String("spam-assassin") || dataset == QLatin1String("glue");
    const bool augment = value("data.augment").toBool() && !text;
    // Fields that do not apply stay visible (so the spec is readable) but disabled.
    const QMap<QString, bool> enabled = {
        {QStringLiteral("quant.weight_bits"), quantized},
        {QStringLiteral("quant.act_bits"), quantized},
        {QStringLiteral("quant.first_last"), quantized},
        {QStringLiteral("quant.per_channel"), quantized},
        {QStringLiteral("quant.scale_weight_decay_by_bits"), quantized},
        {QStringLiteral("quant.grad_scale"), quantized},
        {QStringLiteral("optim.momentum"), sgd},
        {QStringLiteral("optim.nesterov"), sgd},
        {QStringLiteral("optim.beta1"), !sgd},
        {QStringLiteral("optim.beta2"), !sgd},
        {QStringLiteral("optim.milestones"), step},
        {QStringLiteral("optim.gamma"), step},
        {QStringLiteral("data.crop_padding"), augment},
        {QStringLiteral("data.flip"), augment},
        {QStringLiteral("data.augment"), !text},
        {QStringLiteral("model.in_channels"), !bert},
        {QStringLiteral("model.bert.pretrained"), bert},
        {QStringLiteral("model.bert.layers"), fromScratch},
        {QStringLiteral("model.bert.hidden"), fromScratch},
        {QStringLiteral("model.bert.heads"), fromScratch},
        {QStringLiteral("model.bert.intermediate"), fromScratch},
        {QStringLiteral("model.bert.max_positions"), fromScratch},
        {QStringLiteral("model.bert.vocab_size"), fromScratch},
        {QStringLiteral("model.bert.dropout"), fromScratch},
        {QStringLiteral("data.task"), dataset == QLatin1String("glue")},
        {QStringLiteral("data.max_length"), text},
        {QStringLiteral("data.lower_case"), text},
        {QStringLiteral("data.vocab_min_frequency"), text && fromScratch},
        {QStringLiteral("quant.group_rows"), quantized && bert},
        {QStringLiteral("quant.embedding_bits"), quantized && bert},
        {QStringLiteral("quant.attention_bits"), quantized && bert},
        {QStringLiteral("method.distill.hidden_weight"), distill && bert},
        {QStringLiteral("method.distill.attention_weight"), distill && bert},
        {QStringLiteral("method.squat.k"), alternate},
        {QStringLiteral("method.nt.end_lambda"), derivedTau},
        {QStringLiteral("method.nt.end_fraction"), derivedTau},
        {QStringLiteral("method.ptq.percentile"), percentile},
        {QStringLiteral("method.distill.teacher"), distill},
        {QStringLiteral("method.distill.alpha"), distill},
        {QStringLiteral("method.distill.temperature"), distill},
    };
    for (auto it = enabled.begin(); it != enabled.end(); ++it) {
        if (QWidget* w = m_binder->widget(it.key())) {
            w->setEnabled(it.value());
        }
    }
    m_layerTable->setEnabled(quantized);
}

void RunConfigPanel::updateLayerTable() {
    const QSignalBlocker block(m_layerTable);
    const QJsonObject overrides =
        SpecFieldBinder::valueAt(m_spec, QStringLiteral("quant.layers")).toObject();
    if (m_layerTable->rowCount() != m_plan.size()) {
        m_layerTable->setRowCount(m_plan.size());
    }
    const QColor dim = palette().color(QPalette::PlaceholderText);
    const QColor accent(0x15, 0x65, 0xc0);
    for (int r = 0; r < m_plan.size(); ++r) {
        const LayerRow& row = m_plan[r];
        auto cell = [this, r](int c) {
            QTableWidgetItem* item = m_layerTable->item(r, c);
            if (!item) {
                item = new QTableWidgetItem;
                m_layerTable->setItem(r, c, item);
            }
            return item;
        };
        QTableWidgetItem* name = cell(LayerName);
        name->setText(row.layer);
        name->setData(Qt::UserRole, row.layer);
        name->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable);
        name->setForeground(palette().color(QPalette::Text));
        name->setToolTip(row.layer);
        QTableWidgetItem* shape = cell(LayerShape);
        shape->setText(LayerTableModel::shapeText(row.weightShape));
        shape->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable);
        shape->setForeground(dim);
        QTableWidgetItem* params = cell(LayerParams);
        params->setText(LayerTableModel::countText(row.paramCount));
        params->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
        params->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable);
        params->setForeground(dim);

        const QJsonObject entry = overrides.value(row.layer).toObject();
        for (int c : {int(LayerWBits), int(LayerABits)}) {
            const QString key =
                c == LayerWBits ? QStringLiteral("weight_bits") : QStringLiteral("act_bits");
            const int policy = c == LayerWBits ? row.weightBits : row.actBits;
            const int override = entry.contains(key) ? entry.value(key).toInt() : -1;
            QTableWidgetItem* bits = cell(c);
            bits->setData(OverrideRole, override);
            bits->setData(PolicyRole, policy);
            bits->setText(bitsText(override < 0 ? policy : override));
            bits->setTextAlignment(Qt::AlignCenter);
            bits->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable | Qt::ItemIsEditable);
            QFont font = m_layerTable->font();
            font.setBold(override >= 0);
            bits->setFont(font);
            bits->setForeground(override >= 0 ? accent : palette().color(QPalette::Text));
            bits->setToolTip(override >= 0
                                 ? tr("Overridden (policy: %1); choose \"default\" to reset")
                                       .arg(bitsText(policy))
                                 : tr("From the policy; click to override"));
        }
    }
    int overridden = 0;
    for (auto it = overrides.begin(); it != overrides.end(); ++it) {
        overridden += it.value().toObject().isEmpty() ? 0 : 1;
    }
    m_layerCaption->setText(
        overridden == 0
            ? tr("Per-layer bits: click a W or A cell to override it; only values that differ "
                 "from the policy are saved.")
            : tr("Per-layer bits: %1 overridden (bold). Choose \"default\" to reset.")
                  .arg(countNoun(overridden, tr("layer"), tr("layers"))));
}

QWidget* RunConfigPanel::widgetForField(const QString& field) const {
    QString f = field;
    f.remove(QRegularExpression(QStringLiteral("\\[\\d+\\]$")));
    if (f.startsWith(QLatin1String("quant.layers"))) {
        return m_layerTable;
    }
    while (!f.isEmpty()) {
        if (QWidget* w = m_binder->widget(f)) {
            return w;
        }
        const int dot = f.lastIndexOf(QLatin1Char('.'));
        f = dot < 0 ? QString() : f.left(dot);
    }
    return nullptr;
}

void RunConfigPanel::updateMarks() {
    m_marker->clear();
    QStringList lines;
    QList<QWidget*> marked;
    auto markField = [&](const QString& field, const QString& message) {
        if (QWidget* w = widgetForField(field)) {
            m_marker->mark(w, message);
            marked << w;
        }
    };
    if (!m_problem.ok()) {
        lines << m_problem.message;
        markField(m_problem.field, m_problem.message);
        // Point at the offending layer row as well as the table.
        const QString prefix = QStringLiteral("quant.layers.");
        if (m_problem.field.startsWith(prefix)) {
            for (int r = 0; r < m_layerTable->rowCount(); ++r) {
                const QString layer = m_layerTable->item(r, LayerName)->text();
                if (m_problem.field.mid(prefix.size()).startsWith(layer + QLatin1Char('.'))) {
                    const QSignalBlocker block(m_layerTable);
                    m_layerTable->item(r, LayerName)->setForeground(QColor(0xd3, 0x2f, 0x2f));
                    m_layerTable->scrollToItem(m_layerTable->item(r, LayerName));
                }
            }
        }
    }
    for (const QString& line : m_missing) {
        const QString field = line.section(QLatin1Char(':'), 0, 0).trimmed();
        const QString path = line.section(QLatin1Char(':'), 1).trimmed();
        const QString text = tr("%1: %2 does not exist").arg(field, path);
        lines << text;
        markField(field, text);
    }
    // A marked field stays editable even where its setting does not apply now (milestones under
    // a cosine schedule): the engine checks it anyway, so the user must be able to fix it.
    for (QWidget* w : marked) {
        w->setEnabled(true);
    }
    // A warning sign on the sections holding a marked field, which may be folded away.
    for (CollapsibleSection* section : m_sections) {
        QWidget* page = section->content();
        section->setWarning(std::any_of(marked.begin(), marked.end(),
                                        [page](QWidget* w) { return page->isAncestorOf(w); }));
    }

    QPalette pal = m_message->palette();
    if (lines.isEmpty()) {
        const QString method =
            SpecFieldBinder::valueAt(m_spec, QStringLiteral("method.name")).toString();
        const bool quantized = method != QLatin1String("fp");
        const int overridden =
            SpecFieldBinder::valueAt(m_spec, QStringLiteral("quant.layers")).toObject().size();
        QString summary =
            tr("Ready to run: %1 · %2")
                .arg(SpecFieldBinder::valueAt(m_spec, QStringLiteral("model.arch")).toString(),
                     method);
        if (quantized) {
            summary +=
                QStringLiteral(" W%1A%2")
                    .arg(SpecFieldBinder::valueAt(m_spec, QStringLiteral("quant.weight_bits"))
                             .toInt())
                    .arg(
                        SpecFieldBinder::valueAt(m_spec, QStringLiteral("quant.act_bits")).toInt());
        }
        if (!m_plan.isEmpty()) {
            summary += QStringLiteral(" · ") + countNoun(m_plan.size(), tr("layer"), tr("layers"));
        }
        if (overridden > 0) {
            summary += tr(" (%1 overridden)").arg(overridden);
        }
        summary +=
            QStringLiteral(" · ") +
            countNoun(SpecFieldBinder::valueAt(m_spec, QStringLiteral("optim.epochs")).toInt(),
                      tr("epoch"), tr("epochs"));
        m_message->setText(summary);
        pal.setColor(QPalette::Window, QColor(0xe8, 0xf5, 0xe9));
        pal.setColor(QPalette::WindowText, QColor(0x1b, 0x5e, 0x20));
    } else {
        m_message->setText(lines.join(QLatin1Char('\n')));
        pal.setColor(QPalette::Window, QColor(0xfd, 0xec, 0xea));
        pal.setColor(QPalette::WindowText, QColor(0xb7, 0x1c, 0x1c));
    }
    m_message->setPalette(pal);
}

// --- files ---

bool RunConfigPanel::loadSpecFile(const QString& path, QString* error) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        *error = tr("%1: cannot open (%2)").arg(path, file.errorString());
        return false;
    }
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(file.readAll(), &parseError);
    if (parseError.error != QJsonParseError::NoError) {
        *error = tr("%1: not valid JSON at offset %2: %3")
                     .arg(path)
                     .arg(parseError.offset)
                     .arg(parseError.errorString());
        return false;
    }
    if (!doc.isObject()) {
        *error = tr("%1: a run spec must be a JSON object").arg(path);
        return false;
    }
    {
        const QSignalBlocker block(m_preset);
        m_preset->setCurrentIndex(0);
    }
    setSpec(doc.object());
    return true;
}

bool RunConfigPanel::saveSpecFile(const QString& path, QString* error) const {
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) {
        *error = tr("%1: cannot write (%2)").arg(path, file.errorString());
        return false;
    }
    file.write(QJsonDocument(m_spec).toJson(QJsonDocument::Indented));
    if (!file.commit()) {
        *error = tr("%1: cannot write (%2)").arg(path, file.errorString());
        return false;
    }
    return true;
}

void RunConfigPanel::loadSpecDialog() {
    const QString path = QFileDialog::getOpenFileName(this, tr("Load run spec"), m_lastDir,
                                                      tr("Run specs (*.json);;All files (*)"));
    if (path.isEmpty()) {
        return;
    }
    m_lastDir = QFileInfo(path).absolutePath();
    QString error;
    if (loadSpecFile(path, &error)) {
        Q_EMIT messageLogged(LogEntry::Info, tr("Loaded spec %1").arg(path));
    } else {
        Q_EMIT messageLogged(LogEntry::Error, error);
    }
}

void RunConfigPanel::saveSpecDialog() {
    QString suggested = m_spec.value(QStringLiteral("name")).toString();
    suggested.replace(QRegularExpression(QStringLiteral("[^A-Za-z0-9_.-]+")), QStringLiteral("-"));
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Save run spec"),
        QDir(m_lastDir.isEmpty() ? QDir::homePath() : m_lastDir)
            .filePath(suggested.isEmpty() ? QStringLiteral("spec.json") : suggested + ".json"),
        tr("Run specs (*.json)"));
    if (path.isEmpty()) {
        return;
    }
    m_lastDir = QFileInfo(path).absolutePath();
    QString error;
    if (saveSpecFile(path, &error)) {
        Q_EMIT messageLogged(LogEntry::Info, tr("Saved spec %1").arg(path));
    } else {
        Q_EMIT messageLogged(LogEntry::Error, error);
    }
}

}  // namespace qs::ui
