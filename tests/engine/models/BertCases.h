// Torch-side cases for test_bert: builds the engine's BERT and reports plain values, so the Qt
// Test file never sees a torch header.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qs::test::bert {

struct Parameter {
    std::string path;
    std::vector<int64_t> shape;
};

/// The small config the cases use: vocab 50, hidden 32, 2 layers, 4 heads, intermediate 64,
/// 16 positions, 2 token types, `labels` labels (1: regression).
struct Structure {
    std::vector<Parameter> parameters;     ///< named_parameters(), in order
    std::vector<std::string> buffers;      ///< named_buffers(), in order
    std::vector<std::string> quantLayers;  ///< quantLayers() paths, in order
    std::vector<int64_t> logitsShape;      ///< forward on a [3, 7] batch with padding
};
Structure describe(int64_t labels);

/// Max |BertLayer - torch::nn::TransformerEncoderLayer| on random input given the same weights,
/// in eval mode; with `padding`, the last tokens of some sequences are masked.
double encoderLayerMaxDiff(bool padding);

/// Max |logits difference| between a random model and the same model saved to `dir` and loaded
/// back, on a padded batch; also checks notes are empty. Throws on any failure.
double roundTripMaxDiff(const std::string& dir, int64_t labels);

/// How a saved folder is damaged before loading it back.
enum class Damage {
    None,
    TruncatedWeights,       ///< model.safetensors cut short
    WrongShape,             ///< classifier.weight saved as [3, 32] instead of [2, 32]
    MissingTensor,          ///< bert.encoder.layer.1.output.dense.bias left out
    UnknownTensor,          ///< an extra "bert.encoder.layer.2.output.dense.bias"
    BadConfigJson,          ///< config.json is not JSON
    BadConfigField,         ///< config.json has "hidden_size": "32"
    MissingConfigField,     ///< config.json lacks num_hidden_layers
    UnsupportedActivation,  ///< "hidden_act": "gelu_new"
    HeadsMismatch,          ///< "num_attention_heads": 5
    MultiLabel,             ///< "problem_type": "multi_label_classification"
    MissingVocab,           ///< no vocab.txt
};

/// Saves a model to `dir`, damages it, loads it: the error message, or "" when it loads.
std::string loadError(const std::string& dir, Damage damage);

/// Saves a model to `dir` with HF-only extras (position_ids buffer, cls.* head, legacy
/// LayerNorm.gamma/beta names) and loads it: the notes; throws when the logits differ.
std::vector<std::string> loadNotesWithExtras(const std::string& dir);

struct ConfigSummary {
    std::string error;  ///< parseBertConfig's message, "" when it parses
    int64_t layers = 0;
    int64_t hidden = 0;
    int64_t labels = 0;
    bool regression = false;
    double layerNormEps = 0.0;
    double classifierDropout = 0.0;  ///< the dropout probability the model applies
};
/// parseBertConfig on config.json text, summarised.
ConfigSummary parseConfig(const std::string& jsonText);

/// Max |logits difference| after changing the token ids and types at padded positions: the
/// attention mask must hide them completely.
double paddingInvarianceMaxDiff();

/// Two forwards of one batch: whether they differ in training mode and in eval mode
/// (hidden_dropout_prob 0.1, attention_probs_dropout_prob 0.1).
struct DropoutBehaviour {
    bool trainingDiffers = false;
    bool evalDiffers = true;
};
DropoutBehaviour dropoutBehaviour();

/// The error forward() throws for `tokens` tokens (max_position_embeddings is 16); "" if none.
std::string forwardError(int64_t tokens);

/// Every linear layer quantized (weights and inputs, per-tensor LSQ initialised from the first
/// batch) on a random model, against the same model float.
struct QuantizedRun {
    double relativeDiff = 0.0;     ///< ||logits_q - logits_f|| / ||logits_f||, eval mode
    int quantLayers = 0;           ///< quantLayers().size()
    int stepSizes = 0;             ///< parameters named *_quantizer.step_size
    int stepSizesWithGrad = 0;     ///< of those, how many have a nonzero gradient after backward
    bool floatAfterReset = false;  ///< configuring 0 bits again gives the float logits exactly
};
QuantizedRun quantizedRun(int bits);

/// Saves a float model (an HF folder: no quantizer tensors), loads it, quantizes every layer at
/// 8 bits and saves it again to `dir`/requant: returns that the second folder holds no quantizer
/// tensor and loads back (without notes) to the same float weights. Throws on any failure.
bool quantizedSaveLoad(const std::string& dir);

/// A folder with an extra "<layer>.weight_quantizer.step_size" tensor: the load notes.
std::vector<std::string> loadNotesWithQuantizerTensor(const std::string& dir);

}  // namespace qs::test::bert
