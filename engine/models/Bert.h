// BERT encoder with a sequence classification/regression head (Devlin et al. 2019), module tree
// and parameter paths identical to Hugging Face's BertForSequenceClassification.state_dict():
// bert.embeddings.word_embeddings.weight, bert.encoder.layer.0.attention.self.query.weight, ...,
// bert.pooler.dense.weight, classifier.weight. Post-norm encoder layers, exact (erf) GELU,
// HF's additive attention mask. Plus the HF checkpoint folder (config.json, model.safetensors,
// vocab.txt) reader and writer. Internal header (torch).
#pragma once

#include "engine/models/Network.h"

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <string>
#include <utility>
#include <vector>

namespace qs::models {

/// The one linear layer type of the model, built by makeBertLinear(): a quant::QLinear with a
/// signed input range (LayerNorm, GELU, attention context and tanh outputs all go negative). Its
/// weight/bias paths are torch::nn::Linear's; with no quantizer configured (the default) it is
/// exactly a float Linear. A configured layer adds <layer>.weight_quantizer.step_size and
/// <layer>.input_quantizer.step_size parameters (and `initialized` buffers).
using BertLinear = quant::QLinear;
using BertLinearImpl = quant::QLinearImpl;

/// What the head predicts: HF's problem_type "single_label_classification" or "regression".
/// ("multi_label_classification" is rejected when reading a config.)
enum class BertProblemType { SingleLabelClassification, Regression };

/// Mirrors HF's BertConfig (fields and defaults of bert-base-uncased). Setters keep HF's names.
struct BertConfig {
    /// Throws std::invalid_argument naming the first bad field, e.g. "hidden_size (100) is not a
    /// multiple of num_attention_heads (12)".
    void validate() const;

    TORCH_ARG(int64_t, vocab_size) = 30522;
    TORCH_ARG(int64_t, hidden_size) = 768;
    TORCH_ARG(int64_t, num_hidden_layers) = 12;
    TORCH_ARG(int64_t, num_attention_heads) = 12;
    TORCH_ARG(int64_t, intermediate_size) = 3072;
    TORCH_ARG(std::string, hidden_act) = "gelu";  ///< only "gelu" (exact erf GELU)
    TORCH_ARG(double, hidden_dropout_prob) = 0.1;
    TORCH_ARG(double, attention_probs_dropout_prob) = 0.1;
    TORCH_ARG(int64_t, max_position_embeddings) = 512;
    TORCH_ARG(int64_t, type_vocab_size) = 2;
    TORCH_ARG(double, layer_norm_eps) = 1e-12;
    TORCH_ARG(int64_t, pad_token_id) = 0;
    /// Dropout before the classifier; negative means HF's null: use hidden_dropout_prob.
    TORCH_ARG(double, classifier_dropout) = -1.0;
    TORCH_ARG(int64_t, num_labels) = 2;
    TORCH_ARG(BertProblemType, problem_type) = BertProblemType::SingleLabelClassification;
};

/// Parses HF config.json text. `context` (the file path) prefixes every error, e.g.
/// "/m/config.json: field 'hidden_size': expected a positive integer, got \"768\"". Structural
/// fields (vocab_size, hidden_size, num_hidden_layers, num_attention_heads, intermediate_size,
/// max_position_embeddings, type_vocab_size) are required; the others take HF's defaults.
/// num_labels comes from "num_labels" or else the size of "id2label"; problem_type null means
/// regression for one label, classification otherwise (as HF infers it). Throws
/// std::runtime_error.
BertConfig parseBertConfig(const std::string& jsonText, const std::string& context);
/// Reads and parses a config.json file. Throws std::runtime_error naming the file.
BertConfig readBertConfig(const std::string& path);
/// HF-compatible config.json text (architectures, model_type, id2label/label2id, problem_type).
std::string bertConfigJson(const BertConfig& config);

class BertEmbeddingsImpl : public torch::nn::Module {
public:
    explicit BertEmbeddingsImpl(const BertConfig& config);
    /// ids, tokenTypes [B, T] int64 -> [B, T, hidden]
    torch::Tensor forward(const torch::Tensor& inputIds, const torch::Tensor& tokenTypeIds);

    /// The word embedding has a weight quantizer slot (quantized BERT); position and token-type
    /// embeddings stay float.
    quant::QEmbedding word_embeddings{nullptr};
    torch::nn::Embedding position_embeddings{nullptr}, token_type_embeddings{nullptr};
    torch::nn::LayerNorm layerNorm{nullptr};  ///< registered as "LayerNorm"
    torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(BertEmbeddings);

/// Self-attention. Its two matrix products can quantize their inputs: scores = Q(q) Q(k)^T and
/// context = Q(probs) Q(v), through q_quantizer, k_quantizer, probs_quantizer (unsigned: the
/// probabilities are in [0, 1]) and v_quantizer (signed).
class BertSelfAttentionImpl : public torch::nn::Module {
public:
    explicit BertSelfAttentionImpl(const BertConfig& config);
    /// hidden [B, T, H], additive mask broadcastable to [B, heads, T, T] (or undefined)
    torch::Tensor forward(const torch::Tensor& hidden, const torch::Tensor& extendedMask);

    /// Installs the four matmul quantizers at `bits` (0 removes them).
    void configureMatmulQuantizers(int bits, quant::GradScaleMode gradScale, bool learnGradScale);
    /// (path suffix, quantizer) of the installed matmul quantizers, e.g. ("q_quantizer", q).
    std::vector<std::pair<std::string, quant::Quantizer>> matmulQuantizers() const;
    /// A bypassed model computes the matmuls in float (the analyses' float mode).
    void setMatmulBypass(bool on) { m_bypass = on; }
    /// While on, each forward appends its pre-softmax scores (mask included) to `captured`.
    void setCapture(std::vector<torch::Tensor>* captured) { m_captured = captured; }

    BertLinear query{nullptr}, key{nullptr}, value{nullptr};
    torch::nn::Dropout dropout{nullptr};
    quant::Quantizer q_quantizer{nullptr}, k_quantizer{nullptr}, probs_quantizer{nullptr},
        v_quantizer{nullptr};

private:
    torch::Tensor quantize(quant::Quantizer& q, const torch::Tensor& x);

    int64_t m_heads;
    int64_t m_headSize;
    bool m_bypass = false;
    std::vector<torch::Tensor>* m_captured = nullptr;
};
TORCH_MODULE(BertSelfAttention);

/// dense + dropout + residual + LayerNorm: HF's BertSelfOutput and BertOutput.
class BertResidualOutputImpl : public torch::nn::Module {
public:
    BertResidualOutputImpl(int64_t in, const BertConfig& config);
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& residual);

    BertLinear dense{nullptr};
    torch::nn::LayerNorm layerNorm{nullptr};  ///< registered as "LayerNorm"
    torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(BertResidualOutput);

class BertAttentionImpl : public torch::nn::Module {
public:
    explicit BertAttentionImpl(const BertConfig& config);
    torch::Tensor forward(const torch::Tensor& hidden, const torch::Tensor& extendedMask);

    BertSelfAttention self{nullptr};
    BertResidualOutput output{nullptr};
};
TORCH_MODULE(BertAttention);

class BertIntermediateImpl : public torch::nn::Module {
public:
    explicit BertIntermediateImpl(const BertConfig& config);
    torch::Tensor forward(const torch::Tensor& x);  ///< gelu(dense(x))

    BertLinear dense{nullptr};
};
TORCH_MODULE(BertIntermediate);

/// One post-norm encoder layer: x = LN(x + attn(x)); x = LN(x + W2 gelu(W1 x)).
class BertLayerImpl : public torch::nn::Module {
public:
    explicit BertLayerImpl(const BertConfig& config);
    torch::Tensor forward(const torch::Tensor& hidden, const torch::Tensor& extendedMask);

    BertAttention attention{nullptr};
    BertIntermediate intermediate{nullptr};
    BertResidualOutput output{nullptr};
};
TORCH_MODULE(BertLayer);

class BertPoolerImpl : public torch::nn::Module {
public:
    explicit BertPoolerImpl(const BertConfig& config);
    torch::Tensor forward(const torch::Tensor& hidden);  ///< tanh(dense(hidden[:, 0]))

    BertLinear dense{nullptr};
};
TORCH_MODULE(BertPooler);

/// HF's BertModel: embeddings, encoder.layer.N, pooler.
class BertModelImpl : public torch::nn::Module {
public:
    explicit BertModelImpl(const BertConfig& config);
    /// Returns the pooled output [B, hidden].
    torch::Tensor forward(const torch::Tensor& inputIds, const torch::Tensor& tokenTypeIds,
                          const torch::Tensor& attentionMask);

    BertEmbeddings embeddings{nullptr};
    torch::nn::ModuleList layers{nullptr};  ///< registered as "encoder.layer"
    BertPooler pooler{nullptr};

    /// While set, each forward appends every encoder layer's output to `hidden` and its
    /// attention scores to `attention`.
    void setCapture(NetworkImpl::Captured* captured);

private:
    int64_t m_maxPositions;
    NetworkImpl::Captured* m_captured = nullptr;
};
TORCH_MODULE(BertModel);

/// HF's BertForSequenceClassification: bert + dropout + classifier.
///
/// Example:
///   auto ckpt = qs::models::loadBertFolder("/data/bert-sst2");
///   ckpt.model->eval();
///   torch::Tensor logits = ckpt.model->forward(ids, types, mask);  // [B, num_labels]
class BertForSequenceClassificationImpl : public NetworkImpl {
public:
    /// Weights start as Hugging Face initialises them: N(0, 0.02) for linear and embedding
    /// weights, zero biases and padding row, LayerNorm 1 and 0.
    explicit BertForSequenceClassificationImpl(BertConfig config);
    /// input_ids [B, T] int64; token_type_ids [B, T] int64 or undefined (all 0); attention_mask
    /// [B, T] (1 keep, 0 padding; any dtype) or undefined (all 1). Returns logits [B, num_labels].
    /// Throws std::invalid_argument for bad shapes or T > max_position_embeddings.
    torch::Tensor forward(const torch::Tensor& inputIds, const torch::Tensor& tokenTypeIds,
                          const torch::Tensor& attentionMask);
    /// The Network entry: [B, 3, T] int64 packed (ids, token types, mask), or [B, T] ids alone.
    torch::Tensor forward(const torch::Tensor& packed) override;
    const BertConfig& config() const { return m_config; }

    // quantLayers() (NetworkImpl's) lists, in forward order: bert.embeddings.word_embeddings
    // (a QEmbedding, first), per encoder layer query, key, value, attention.output.dense,
    // intermediate.dense, output.dense; then bert.pooler.dense and classifier (the last).
    // Position/type embeddings and LayerNorms are not listed. All start float.

    /// Installs the attention matmul quantizers of every encoder layer (0 bits removes them).
    void configureMatmulQuantizers(int bits, quant::GradScaleMode gradScale, bool learnGradScale);
    /// "bert.encoder.layer.N.attention.self.q_quantizer" etc., per layer in forward order.
    std::vector<std::pair<std::string, quant::Quantizer>> activationQuantizers() override;
    void setActivationBypass(bool on) override;
    void setCapture(bool on) override;
    Captured takeCaptured() override;

    BertModel bert{nullptr};
    torch::nn::Dropout dropout{nullptr};
    BertLinear classifier{nullptr};

private:
    std::vector<BertSelfAttentionImpl*> selfAttentions();

    BertConfig m_config;
    Captured m_captured;
};
TORCH_MODULE(BertForSequenceClassification);

/// HF's extended mask: [B, T] (1 keep, 0 pad) -> [B, 1, 1, T] float, 0 where kept and the lowest
/// float where padded, added to the attention scores.
torch::Tensor extendedAttentionMask(const torch::Tensor& attentionMask);

/// A loaded Hugging Face checkpoint folder.
struct BertCheckpoint {
    BertConfig config;
    BertForSequenceClassification model{nullptr};
    std::string vocabPath;           ///< <dir>/vocab.txt (checked to exist; read by the tokenizer)
    std::vector<std::string> notes;  ///< what was ignored or renamed, one line each
};

struct BertLoadOptions {
    /// A pretrained (not fine-tuned) checkpoint has no classifier.*: keep the fresh init and
    /// note it instead of failing (HF's from_pretrained warns likewise).
    bool allowMissingClassifier = false;
};

/// Reads <dir>/config.json, <dir>/model.safetensors, and checks <dir>/vocab.txt exists.
/// Every parameter of the model must be present with the configured shape; float16/bfloat16/
/// float64 tensors are converted to float32. Tensors it knows and ignores, each with a note:
/// bert.embeddings.position_ids (a buffer in HF) and cls.* (pretraining heads). Legacy names
/// (LayerNorm.gamma/beta) and a missing "bert." prefix (a BertModel checkpoint) are accepted with a
/// note. The model comes back float (no quantizers), so HF folders never need quantizer tensors;
/// quantizer tensors present in a folder ("_quantizer." in the name) are ignored with one note.
/// Any other extra tensor is an error, since it means a different architecture. Errors
/// (std::runtime_error, or io::FormatError for a corrupt safetensors file) name the file and
/// the tensor, e.g. "/m/model.safetensors: tensor 'classifier.weight' has shape [3, 32],
/// expected [2, 32]".
BertCheckpoint loadBertFolder(const std::string& dir, const BertLoadOptions& options = {});

/// Writes <dir>/config.json and <dir>/model.safetensors (state_dict order, metadata format=pt)
/// so that HF's from_pretrained loads them: quantizer parameters (any path containing
/// "_quantizer.") are not written, so a quantized model saves its latent float weights only, and
/// copies vocabPath to <dir>/vocab.txt when it is not empty. Creates dir. Throws std::runtime_error
/// naming the file on I/O errors.
void saveBertFolder(BertForSequenceClassification& model, const BertConfig& config,
                    const std::string& dir, const std::string& vocabPath = {});

}  // namespace qs::models
