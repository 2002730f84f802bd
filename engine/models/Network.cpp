#include "engine/models/Network.h"

#include <torch/nn/functional/loss.h>

namespace qs::models {

std::vector<std::pair<std::string, quant::QuantLayer*>> NetworkImpl::quantLayers() {
    std::vector<std::pair<std::string, quant::QuantLayer*>> out;
    for (const auto& item : named_modules("", /*include_self=*/false)) {
        if (auto* layer = dynamic_cast<quant::QuantLayer*>(item.value().get())) {
            out.emplace_back(item.key(), layer);
        }
    }
    return out;
}

std::vector<quant::Quantizer> allQuantizers(NetworkImpl& network) {
    std::vector<quant::Quantizer> out;
    for (auto& [path, layer] : network.quantLayers()) {
        if (auto q = layer->weightQuantizer()) {
            out.push_back(q);
        }
        if (auto q = layer->inputQuantizer()) {
            out.push_back(q);
        }
    }
    for (auto& [path, q] : network.activationQuantizers()) {
        out.push_back(q);
    }
    return out;
}

torch::Tensor taskLoss(const torch::Tensor& logits, const torch::Tensor& labels,
                       at::Reduction::Reduction reduction) {
    if (labels.is_floating_point()) {
        return torch::mse_loss(logits.reshape({-1}), labels.to(logits.scalar_type()), reduction);
    }
    return torch::cross_entropy_loss(logits, labels, {}, reduction);
}

int64_t correctCount(const torch::Tensor& logits, const torch::Tensor& labels) {
    if (labels.is_floating_point()) {
        return 0;
    }
    return logits.argmax(1).eq(labels).sum().item<int64_t>();
}

}  // namespace qs::models
