// Image datasets as tensors for training: one entry point over every reader, seeded shuffling,
// normalisation and random-crop/flip augmentation. Internal header (torch).
#pragma once

#include "engine/data/ImageSet.h"
#include "engine/session/RunSpec.h"

#include <torch/types.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace qs::data {

/// A split as tensors: images float32 N x C x H x W, normalised; labels int64 N.
struct TensorSet {
    torch::Tensor images;
    torch::Tensor labels;
    int numClasses = 0;
    int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
};

/// Per-channel normalisation constants.
struct Normalization {
    std::vector<float> mean;
    std::vector<float> std;
};

/// Reads a split through the reader for `spec.dataset` (IDX for fashion-mnist/mnist, CIFAR
/// binary for cifar10/cifar100). Throws DataError naming the file.
ImageSet readSplit(const session::DataSpec& spec, bool train);

/// Mean/std of the dataset's training set (published values for the known datasets).
Normalization normalizationFor(const std::string& dataset, const ImageSet& train);

/// Converts to normalised tensors; keeps a seeded random subset of `limit` images when limit > 0.
TensorSet toTensors(const ImageSet& set, const Normalization& norm, int64_t limit, uint64_t seed);

/// The order of a training epoch: a permutation of [0, n) that depends only on (seed, epoch),
/// so a resumed run sees the same batches as an uninterrupted one.
std::vector<int64_t> epochOrder(int64_t n, uint64_t seed, int64_t epoch);

/// Random crop after zero padding plus horizontal flip, per sample, drawn from `rng`.
/// `padding` <= 0 and !flip returns the batch unchanged.
torch::Tensor augmentBatch(const torch::Tensor& batch, int padding, bool flip,
                           std::mt19937_64& rng);

/// Gathers a batch: images and labels at indices order[begin, end).
std::pair<torch::Tensor, torch::Tensor> gatherBatch(const TensorSet& set,
                                                    const std::vector<int64_t>& order,
                                                    int64_t begin, int64_t end);

}  // namespace qs::data
