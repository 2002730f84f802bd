#include "engine/data/Datasets.h"

#include <torch/torch.h>

#include <algorithm>
#include <numeric>

namespace qs::data {

ImageSet readSplit(const session::DataSpec& spec, bool train) {
    const std::string dir =
        spec.path.empty() ? session::defaultDatasetPath(spec.dataset) : spec.path;
    if (dir.empty()) {
        throw DataError("data.path: dataset \"" + spec.dataset +
                        "\" has no default location; set data.path to its folder");
    }
    if (spec.dataset == "fashion-mnist" || spec.dataset == "mnist") {
        return readIdxFolder(dir, train);
    }
    if (spec.dataset == "cifar10") {
        return readCifarFolder(dir, CifarKind::Cifar10, train);
    }
    if (spec.dataset == "cifar100") {
        return readCifarFolder(dir, CifarKind::Cifar100Fine, train);
    }
    throw DataError("unknown dataset \"" + spec.dataset + "\"");
}

Normalization normalizationFor(const std::string& dataset, const ImageSet& train) {
    if (dataset == "fashion-mnist") {
        return {{0.2860f}, {0.3530f}};
    }
    if (dataset == "mnist") {
        return {{0.1307f}, {0.3081f}};
    }
    if (dataset == "cifar10") {
        return {{0.4914f, 0.4822f, 0.4465f}, {0.2470f, 0.2435f, 0.2616f}};
    }
    if (dataset == "cifar100") {
        return {{0.5071f, 0.4865f, 0.4409f}, {0.2673f, 0.2564f, 0.2762f}};
    }
    // Unknown data: measure the training set itself.
    Normalization n;
    const int64_t plane = train.height * train.width;
    for (int64_t c = 0; c < train.channels; ++c) {
        double sum = 0.0, sq = 0.0;
        for (int64_t i = 0; i < train.count; ++i) {
            const uint8_t* p = train.pixels.data() + (i * train.channels + c) * plane;
            for (int64_t k = 0; k < plane; ++k) {
                const double v = p[k] / 255.0;
                sum += v;
                sq += v * v;
            }
        }
        const double count = std::max<double>(1.0, double(train.count * plane));
        const double mean = sum / count;
        n.mean.push_back(float(mean));
        n.std.push_back(float(std::max(1e-3, std::sqrt(std::max(0.0, sq / count - mean * mean)))));
    }
    return n;
}

TensorSet toTensors(const ImageSet& set, const Normalization& norm, int64_t limit, uint64_t seed) {
    TensorSet out;
    out.numClasses = set.numClasses;
    const auto shape = std::vector<int64_t>{set.count, set.channels, set.height, set.width};
    // from_blob does not own: clone into tensor-owned memory before the ImageSet goes away.
    torch::Tensor pixels =
        torch::from_blob(const_cast<uint8_t*>(set.pixels.data()), shape, torch::kUInt8).clone();
    torch::Tensor labels =
        torch::from_blob(const_cast<int64_t*>(set.labels.data()), {set.count}, torch::kLong)
            .clone();
    if (limit > 0 && limit < set.count) {
        const std::vector<int64_t> order = epochOrder(set.count, seed, -1);
        torch::Tensor keep =
            torch::tensor(std::vector<int64_t>(order.begin(), order.begin() + limit));
        pixels = pixels.index_select(0, keep);
        labels = labels.index_select(0, keep);
    }
    torch::Tensor mean = torch::tensor(norm.mean).view({1, -1, 1, 1});
    torch::Tensor std = torch::tensor(norm.std).view({1, -1, 1, 1});
    out.images = ((pixels.to(torch::kFloat) / 255.f) - mean) / std;
    out.labels = labels;
    return out;
}

std::vector<int64_t> epochOrder(int64_t n, uint64_t seed, int64_t epoch) {
    std::vector<int64_t> order(std::size_t(std::max<int64_t>(0, n)));
    std::iota(order.begin(), order.end(), 0);
    // SplitMix-style mixing so that nearby (seed, epoch) pairs give unrelated streams.
    uint64_t z = seed * 0x9E3779B97F4A7C15ull + uint64_t(epoch + 2) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 30)) * 0x94D049BB133111EBull;
    std::mt19937_64 rng(z ^ (z >> 31));
    // Fisher-Yates with our own draws: std::shuffle's use of the engine is unspecified.
    for (std::size_t i = order.size(); i > 1; --i) {
        const std::size_t j = std::size_t(rng() % i);
        std::swap(order[i - 1], order[j]);
    }
    return order;
}

torch::Tensor augmentBatch(const torch::Tensor& batch, int padding, bool flip,
                           std::mt19937_64& rng) {
    if (padding <= 0 && !flip) {
        return batch;
    }
    const int64_t n = batch.size(0), h = batch.size(2), w = batch.size(3);
    const int64_t p = std::max(0, padding);
    torch::Tensor padded = p > 0 ? torch::constant_pad_nd(batch, {p, p, p, p}, 0.0) : batch;
    torch::Tensor out = torch::empty_like(batch);
    for (int64_t i = 0; i < n; ++i) {
        const int64_t dy = p > 0 ? int64_t(rng() % uint64_t(2 * p + 1)) : 0;
        const int64_t dx = p > 0 ? int64_t(rng() % uint64_t(2 * p + 1)) : 0;
        torch::Tensor crop = padded[i].narrow(1, dy, h).narrow(2, dx, w);
        if (flip && (rng() & 1u)) {
            crop = crop.flip({2});
        }
        out[i].copy_(crop);
    }
    return out;
}

std::pair<torch::Tensor, torch::Tensor> gatherBatch(const TensorSet& set,
                                                    const std::vector<int64_t>& order,
                                                    int64_t begin, int64_t end) {
    torch::Tensor idx =
        torch::from_blob(const_cast<int64_t*>(order.data() + begin), {end - begin}, torch::kLong);
    return {set.images.index_select(0, idx), set.labels.index_select(0, idx)};
}

}  // namespace qs::data
