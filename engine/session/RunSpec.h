// RunSpec: everything that defines a run, as versioned JSON. Validated with errors that name the
// field and the problem. Torch-free: the GUI and the CLI build and edit specs directly.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace qs::session {

/// A spec that cannot be used. field() is the dotted path ("optim.lr"), or empty for the whole
/// document; what() reads "optim.lr: must be > 0 (got -1)".
class SpecError : public std::runtime_error {
public:
    SpecError(std::string field, const std::string& problem);
    const std::string& field() const { return m_field; }

private:
    std::string m_field;
};

/// BERT's shape when it is trained from scratch (ignored with `pretrained`, whose config.json
/// decides). The defaults are the small BERT of the SpamAssassin preset.
struct BertSpec {
    int layers = 4;
    int hidden = 256;
    int heads = 4;
    int intermediate = 1024;
    int maxPositions = 512;
    int vocabSize = 8000;  ///< rows of the word embedding; a vocabulary learnt from the training
                           ///< split has at most this many tokens
    double dropout = 0.1;  ///< hidden and attention dropout
    /// A Hugging Face checkpoint folder (config.json, model.safetensors, vocab.txt): weights,
    /// shape and vocabulary come from it. Empty: from scratch, with a vocabulary learnt from
    /// the training split.
    std::string pretrained;
};

struct ModelSpec {
    std::string arch = "resnet20";  ///< resnet20|resnet32|resnet44|resnet56|resnet18|bert
    int inChannels = 0;             ///< 0: taken from the dataset
    int numClasses = 0;             ///< 0: taken from the dataset
    BertSpec bert;
};

struct DataSpec {
    /// fashion-mnist|mnist|cifar10|cifar100 (images); spam-assassin|glue (text, for BERT)
    std::string dataset = "fashion-mnist";
    std::string path;       ///< folder; empty: the dataset's default location
    std::string task;       ///< glue: CoLA|SST-2|MRPC|STS-B|QQP|MNLI|QNLI|RTE|WNLI (any spelling)
    int maxLength = 128;    ///< text: tokens per example after truncation, [CLS]/[SEP] included
    bool lowerCase = true;  ///< text: the tokenizer lower-cases (and strips accents)
    int vocabMinFrequency = 2;  ///< text from scratch: least count of a word or merge
    int64_t trainLimit = 0;     ///< use only the first N (after a seeded shuffle); 0 = all
    int64_t testLimit = 0;
    bool augment = true;   ///< random crop (padding cropPadding) + flip
    int cropPadding = -1;  ///< -1: 4 for 32x32 inputs, 2 otherwise
    bool flip = true;
    int batchSize = 128;
    int evalBatchSize = 1000;
};

/// Per-layer bit override; 0 = float for that slot, -1 = keep the uniform default.
struct LayerBits {
    int weightBits = -1;
    int actBits = -1;
};

struct QuantSpec {
    int weightBits = 4;  ///< uniform default for quantized layers (2..8)
    int actBits = 4;
    /// First and last quantizable layer: 8bit|float|same, or auto: 8bit for ResNet (first conv,
    /// last fc) and float for BERT's classifier (BERT's first, the word embedding, follows
    /// embedding_bits).
    std::string firstLast = "auto";
    bool perChannel = false;  ///< per-output-channel (per-row) weight step sizes
    /// > 0: Q-BERT's group-wise weight ranges, one step size per group of this many consecutive
    /// output rows (rows must divide evenly); 0: per_channel decides.
    int groupRows = 0;
    int embeddingBits = -1;           ///< BERT's word embedding: -1 = weight_bits, 0 = float, 2..8
    int attentionBits = -1;           ///< BERT's attention matmul inputs: -1 = act_bits, 0 = float
    std::string gradScale = "numel";  ///< LSQ g = 1/sqrt(N*Qp), N: numel|per-sample
    bool scaleWeightDecayByBits = true;  ///< weight decay x min(1, 2^(b-4)) for quantized layers
    std::map<std::string, LayerBits> layers;  ///< keyed by parameter path, e.g. "layer1.0.conv1"
};

struct OptimSpec {
    std::string optimizer = "sgd";  ///< sgd|adamw
    double lr = 0.1;
    double momentum = 0.9;
    bool nesterov = true;
    double weightDecay = 5e-4;
    double beta1 = 0.9;
    double beta2 = 0.999;
    std::string schedule = "cosine";  ///< cosine|linear (decay to 0)|step|constant
    std::vector<int> milestones;      ///< step schedule: epochs at which lr *= gamma
    double gamma = 0.1;
    double warmupEpochs = 0.0;
    int epochs = 3;
};

/// SQuAT (ALGORITHMS.md section 3): SAM on the latent weights, LSQ on the step sizes.
struct SquatSpec {
    std::string schedule = "per-step";  ///< per-step | alternate (k SAM steps on w, 1 on s)
    int k = 1;                          ///< alternate schedule: SAM steps per step-size step
    std::string site = "latent";        ///< latent (Q(w + e)) | quantized (Q(w) + e)
    double rho = 0.05;                  ///< radius of the perturbation
    double rhoWarmupEpochs = 0.0;       ///< rho ramps linearly from 0 over these epochs
    bool asam = false;                  ///< adaptive SAM: e = rho T^2 g / ||T g||
    bool joint = false;                 ///< ablation: SAM over weights and step sizes jointly
};

/// Noise tempering (ALGORITHMS.md section 4).
struct NoiseSpec {
    double lambda0 = 1.0;
    double tau = 0.0;         ///< > 0: explicit; 0: from endLambda at endFraction of training
    double endLambda = 0.01;  ///< lambda_t reached at endFraction of the training steps
    double endFraction = 0.8;
    std::string distribution = "uniform";  ///< uniform (U(-1, 1)) | normal (N(0, 1))
    std::string amplitude = "error";       ///< error (|e|) | half-step (s / 2)
    bool weights = true;                   ///< noise at weight quantizers
    bool activations = true;               ///< noise at activation quantizers
    bool learnGradScale = false;           ///< learnable multiplier kappa on LSQ's g
};

/// Post-training quantization: calibration only, no training.
struct PtqSpec {
    std::string calibration = "mse";  ///< minmax | percentile | mse
    double percentile = 99.99;        ///< percentile calibration: of |v|, in (50, 100]
    int batches = 4;                  ///< training batches seen by activation calibration
};

/// Knowledge distillation from a float teacher (any QAT method).
struct DistillSpec {
    bool enabled = false;
    std::string teacher;  ///< float checkpoint; empty: init_checkpoint, else model.bert.pretrained
    double alpha = 0.5;   ///< loss = (1 - alpha) CE + alpha T^2 softCE(student, teacher)
    double temperature = 1.0;  ///< T
    /// BERT: + beta * mean over layers of MSE(student, teacher) hidden states
    double hiddenWeight = 0.0;
    /// BERT: + gamma * mean over layers of MSE(student, teacher) attention scores (pre-softmax)
    double attentionWeight = 0.0;
};

struct MethodSpec {
    std::string name = "fp";  ///< fp|lsq|squat|nt|ptq
    SquatSpec squat;
    NoiseSpec nt;
    PtqSpec ptq;
    DistillSpec distill;
};

/// Loss landscapes of the model at the end of chosen epochs (ALGORITHMS.md section 7), stored
/// with the run and its step. Every snapshot uses the same recipe (seed, grid, subset), so the
/// surfaces of one run are comparable over training.
struct LandscapeSnapshotSpec {
    std::vector<int> epochs;  ///< 1-based epochs after which one is computed; empty: none
    int nx = 21;              ///< grid points along x
    int ny = 21;              ///< grid points along y (1: a 1D curve)
    double range = 1.0;       ///< both axes run from -range to range
    int64_t samples = 500;    ///< fixed seeded subset of the training split
    std::string mode;         ///< float|dequantized|quantize-after; empty: the model's default
    uint64_t seed = 123;      ///< random directions and subset
};

/// Analyses the trainer runs during training.
struct AnalysisSpec {
    LandscapeSnapshotSpec landscape;
};

/// Data-parallel training over torch's c10d (ProcessGroupGloo): `processes` workers each take an
/// equal share of every batch; gradients are averaged. 1 = one process, no c10d.
struct DistributedSpec {
    int processes = 1;       ///< world size (local worker processes, or ranks across hosts)
    double timeoutS = 60.0;  ///< a peer silent this long (or never joining) ends the run
    double bucketMb = 25.0;  ///< gradient all-reduce bucket size, launched during backward
};

/// Version of the spec format this code writes and reads.
inline constexpr int kRunSpecVersion = 1;

struct RunSpec {
    int version = kRunSpecVersion;
    std::string name = "run";
    ModelSpec model;
    DataSpec data;
    MethodSpec method;
    QuantSpec quant;
    OptimSpec optim;
    AnalysisSpec analysis;
    DistributedSpec distributed;
    /// Warm start: a safetensors checkpoint, or "run:NAME" for the newest finished run of that
    /// name in the run store (resolved by Session::start).
    std::string initCheckpoint;
    uint64_t seed = 1;
    int threads = 0;       ///< 0: all cores
    int logEvery = 20;     ///< steps between streamed train metrics
    int stateEvery = 100;  ///< steps between per-layer quantizer states

    /// Parses and validates. Unknown keys are errors (a typo must not be silently ignored).
    static RunSpec fromJson(const std::string& json);
    /// Canonical JSON (every field written), pretty-printed.
    std::string toJson() const;
    /// Throws SpecError for the first problem found.
    void validate() const;
    bool isQuantized() const { return method.name != "fp"; }
    /// Whether the method trains (everything but ptq, which only calibrates).
    bool trains() const { return method.name != "ptq"; }
    bool isBert() const { return model.arch == "bert"; }
    /// quant.first_last with "auto" resolved: "8bit" for ResNet, "float" for BERT.
    std::string firstLastRule() const;
    /// Whether the first/last rule covers the i-th of n quantizable layers: ResNet's stem conv
    /// and classifier; BERT's classifier only (its first, the word embedding, has its own bits).
    bool firstLastRuleCovers(std::size_t i, std::size_t n) const;
};

/// Applies "dotted.path=value" overrides to a spec's JSON and re-validates, e.g.
/// applyOverrides(spec, {"optim.epochs=2", "quant.layers.conv1.weight_bits=8"}). The value is
/// parsed as JSON when it parses (numbers, true/false, arrays), else taken as a string.
RunSpec applyOverrides(const RunSpec& spec, const std::vector<std::string>& assignments);

/// Whether a dataset is text (spam-assassin, glue), read for BERT.
bool isTextDataset(const std::string& dataset);

/// Default folder of a dataset ("/usr/share/datasets/fashion-mnist" for Fashion-MNIST, the
/// set-up script's SpamAssassin folder); empty when the dataset has no default location.
std::string defaultDatasetPath(const std::string& dataset);

}  // namespace qs::session
