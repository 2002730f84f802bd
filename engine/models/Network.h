// What the trainer and the analyses need of a model, whatever it is: one packed input tensor in,
// logits out, and its quantizers. ResNet takes images [B, C, H, W]; BERT takes token ids packed
// as [B, 3, T] (ids, token types, attention mask; see data::packEncodings). Internal header
// (torch).
#pragma once

#include "engine/quant/QuantLayers.h"

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <string>
#include <utility>
#include <vector>

namespace qs::models {

class NetworkImpl : public torch::nn::Module {
public:
    using torch::nn::Module::Module;

    /// Logits [B, classes] (regression: [B, 1]) for one packed input batch.
    virtual torch::Tensor forward(const torch::Tensor& x) = 0;

    /// Every layer with a weight quantizer slot, with its module path, in forward order. The
    /// first entry is the input layer (stem conv, word embedding) and the last the classifier.
    /// The default walks named_modules, whose registration order is the forward order of both
    /// models.
    virtual std::vector<std::pair<std::string, quant::QuantLayer*>> quantLayers();

    /// Activation quantizers that belong to no QuantLayer (BERT's attention matmul inputs), with
    /// their module paths; empty when not configured.
    virtual std::vector<std::pair<std::string, quant::Quantizer>> activationQuantizers() {
        return {};
    }

    /// Computes those activation quantizers' inputs in float while on (analyses' float mode).
    virtual void setActivationBypass(bool on) { (void)on; }

    /// Intermediate tensors for distillation: while capturing, each forward records per layer
    /// what distillation compares (BERT: hidden states and attention scores). Default: none.
    virtual void setCapture(bool on) { (void)on; }
    struct Captured {
        std::vector<torch::Tensor> hidden;     ///< [B, T, H] per encoder layer output
        std::vector<torch::Tensor> attention;  ///< [B, heads, T, T] pre-softmax scores
    };
    virtual Captured takeCaptured() { return {}; }
};
TORCH_MODULE(Network);

/// Every quantizer of a network: weight and input slots of its layers, then the activation
/// quantizers outside layers. Empty slots are skipped.
std::vector<quant::Quantizer> allQuantizers(NetworkImpl& network);

/// Task loss for a batch: cross-entropy for int64 labels, mean squared error between the single
/// output and float labels (regression, STS-B). `reduction` as torch's.
torch::Tensor taskLoss(const torch::Tensor& logits, const torch::Tensor& labels,
                       at::Reduction::Reduction reduction = at::Reduction::Mean);

/// Number of correct predictions (argmax) for int64 labels; 0 for regression.
int64_t correctCount(const torch::Tensor& logits, const torch::Tensor& labels);

}  // namespace qs::models
