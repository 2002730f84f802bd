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

struct ModelSpec {
    std::string arch = "resnet20";  ///< resnet20|resnet32|resnet44|resnet56|resnet18
    int inChannels = 0;             ///< 0: taken from the dataset
    int numClasses = 0;             ///< 0: taken from the dataset
};

struct DataSpec {
    std::string dataset = "fashion-mnist";  ///< fashion-mnist|mnist|cifar10|cifar100
    std::string path;                       ///< folder; empty: the dataset's default location
    int64_t trainLimit = 0;  ///< use only the first N (after a seeded shuffle); 0 = all
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
    std::string firstLast = "8bit";      ///< first conv and last fc: 8bit|float|same
    bool perChannel = false;             ///< per-output-channel weight step sizes
    std::string gradScale = "numel";     ///< LSQ g = 1/sqrt(N*Qp), N: numel|per-sample
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
    std::string schedule = "cosine";  ///< cosine|step|constant
    std::vector<int> milestones;      ///< step schedule: epochs at which lr *= gamma
    double gamma = 0.1;
    double warmupEpochs = 0.0;
    int epochs = 3;
};

struct MethodSpec {
    std::string name = "fp";  ///< fp|lsq
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
    std::string initCheckpoint;  ///< warm start: float (or any) safetensors checkpoint
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
};

/// Applies "dotted.path=value" overrides to a spec's JSON and re-validates, e.g.
/// applyOverrides(spec, {"optim.epochs=2", "quant.layers.conv1.weight_bits=8"}). The value is
/// parsed as JSON when it parses (numbers, true/false, arrays), else taken as a string.
RunSpec applyOverrides(const RunSpec& spec, const std::vector<std::string>& assignments);

/// Default folder of a dataset ("/usr/share/datasets/fashion-mnist" for Fashion-MNIST); empty
/// when the dataset has no default location.
std::string defaultDatasetPath(const std::string& dataset);

}  // namespace qs::session
