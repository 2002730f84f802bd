// Datasets as tensors for training: one entry point over every reader (images, and text for
// BERT through the WordPiece tokenizer), seeded shuffling, normalisation and random-crop/flip
// augmentation. Internal header (torch).
#pragma once

#include "engine/data/ImageSet.h"
#include "engine/session/RunSpec.h"

#include <torch/types.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace qs::data {

/// A split as tensors. inputs: images float32 [N, C, H, W], normalised; or text int64
/// [N, 3, T]: token ids, token types and attention mask (1 real, 0 padding) packed, padded to T.
/// labels: int64 [N] class indices, or float32 [N] for regression (numClasses 1).
struct TensorSet {
    torch::Tensor inputs;
    torch::Tensor labels;
    int numClasses = 0;
    int64_t vocabularySize = 0;  ///< text: tokens of the vocabulary the ids index
    int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
    bool isText() const { return inputs.defined() && inputs.scalar_type() == torch::kLong; }
};

/// Inputs [begin, begin + len) of a split as a batch; text batches are cut to their longest
/// example (padding beyond it changes nothing but costs time).
torch::Tensor inputBatch(const TensorSet& set, int64_t begin, int64_t len);

/// Text: cuts a packed [B, 3, T] batch to its longest example; images pass unchanged.
torch::Tensor trimPadding(const torch::Tensor& batch);

/// Which part of a split to load: the first `limit` examples after a seeded shuffle (0: all).
struct SplitRequest {
    int64_t limit = 0;
    uint64_t seed = 0;
};

/// Both splits of a run's data, ready for a model, and what describes them.
struct RunData {
    TensorSet train;
    TensorSet test;  ///< images: the test split; text: SpamAssassin "test", GLUE "dev"
    /// Text: the tokenizer's vocabulary, one token per line (checkpoints store it, so analyses
    /// tokenize as training did). Empty for images.
    std::string vocabulary;
    std::string summary;  ///< e.g. "fashion-mnist train 60000, test 10000 images of 1x28x28"
    int imageHeight = 0;  ///< images only
    std::vector<std::string> notes;  ///< what a user should know (vocabulary learnt, rows skipped)
};

/// Reads, converts and, for text, tokenizes both splits of spec.data. `vocabulary` (text only):
/// the tokens to use, one per line; empty: the pretrained folder's vocab.txt
/// (model.bert.pretrained), else a WordPiece vocabulary learnt from the training split
/// (model.bert.vocab_size tokens at most, data.vocab_min_frequency). Throws DataError naming the
/// file for unreadable data.
RunData loadRunData(const session::RunSpec& spec, SplitRequest train, SplitRequest test,
                    const std::string& vocabulary = {});

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

/// Gathers a batch: inputs (text cut to its longest example) and labels at order[begin, end).
std::pair<torch::Tensor, torch::Tensor> gatherBatch(const TensorSet& set,
                                                    const std::vector<int64_t>& order,
                                                    int64_t begin, int64_t end);

}  // namespace qs::data
