#include "engine/data/Datasets.h"

#include "engine/data/TextDatasets.h"
#include "engine/data/WordPiece.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <numeric>
#include <sstream>

namespace qs::data {

namespace {

std::string datasetFolder(const session::DataSpec& spec) {
    const std::string dir =
        spec.path.empty() ? session::defaultDatasetPath(spec.dataset) : spec.path;
    if (dir.empty()) {
        throw DataError("data.path: dataset \"" + spec.dataset +
                        "\" has no default location; set data.path to its folder");
    }
    return dir;
}

}  // namespace

ImageSet readSplit(const session::DataSpec& spec, bool train) {
    const std::string dir = datasetFolder(spec);
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
    out.inputs = ((pixels.to(torch::kFloat) / 255.f) - mean) / std;
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
    return {trimPadding(set.inputs.index_select(0, idx)), set.labels.index_select(0, idx)};
}

torch::Tensor trimPadding(const torch::Tensor& batch) {
    if (batch.scalar_type() != torch::kLong || batch.dim() != 3 || batch.size(0) == 0) {
        return batch;
    }
    const int64_t longest = batch.select(1, 2).sum(1).max().item<int64_t>();
    return batch.narrow(2, 0, std::max<int64_t>(1, longest));
}

torch::Tensor inputBatch(const TensorSet& set, int64_t begin, int64_t len) {
    return trimPadding(set.inputs.narrow(0, begin, len));
}

namespace {

TextDataset readTextSplit(const session::DataSpec& spec, bool train) {
    const std::string dir = datasetFolder(spec);
    if (spec.dataset == "spam-assassin") {
        return readSpamAssassin(dir, train ? "train" : "test");
    }
    // GLUE's test files carry no labels: held-out figures come from dev, as GLUE papers report.
    return readGlue(dir, spec.task, train ? "train" : "dev");
}

/// Indices of the examples a request keeps: all in file order, or the first `limit` of a seeded
/// shuffle (the same selection toTensors makes for images).
std::vector<int64_t> keptIndices(int64_t n, SplitRequest request) {
    if (request.limit <= 0 || request.limit >= n) {
        std::vector<int64_t> all(std::size_t(std::max<int64_t>(0, n)));
        std::iota(all.begin(), all.end(), 0);
        return all;
    }
    std::vector<int64_t> order = epochOrder(n, request.seed, -1);
    order.resize(std::size_t(request.limit));
    return order;
}

TensorSet encodeText(const TextDataset& ds, const std::vector<int64_t>& keep,
                     const WordPieceTokenizer& tokenizer, int maxLength) {
    const int64_t n = int64_t(keep.size());
    TensorSet out;
    out.numClasses = ds.regression ? 1 : ds.numLabels;
    out.inputs = torch::empty({n, 3, maxLength}, torch::kLong);
    out.labels = ds.regression ? torch::empty({n}, torch::kFloat) : torch::empty({n}, torch::kLong);
    int64_t* in = out.inputs.data_ptr<int64_t>();
    for (int64_t i = 0; i < n; ++i) {
        const TextExample& e = ds.examples[std::size_t(keep[std::size_t(i)])];
        const Encoding enc =
            tokenizer.encode(e.textA, ds.pairs ? std::optional<std::string>(e.textB) : std::nullopt,
                             maxLength, /*padToMax=*/true);
        int64_t* row = in + i * 3 * maxLength;
        std::copy(enc.inputIds.begin(), enc.inputIds.end(), row);
        std::copy(enc.tokenTypeIds.begin(), enc.tokenTypeIds.end(), row + maxLength);
        std::copy(enc.attentionMask.begin(), enc.attentionMask.end(), row + 2 * maxLength);
        if (ds.regression) {
            out.labels.data_ptr<float>()[i] = e.score;
        } else {
            if (e.label < 0) {
                throw DataError(ds.task + " " + ds.split + ": example " + e.id + " has no label");
            }
            out.labels.data_ptr<int64_t>()[i] = e.label;
        }
    }
    return out;
}

Vocab vocabularyFromText(const std::string& text, const std::string& source) {
    std::vector<std::string> tokens;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        tokens.push_back(line);
    }
    return Vocab(std::move(tokens), source);
}

RunData loadTextData(const session::RunSpec& spec, SplitRequest trainRequest,
                     SplitRequest testRequest, const std::string& vocabulary) {
    const TextDataset train = readTextSplit(spec.data, true);
    const TextDataset test = readTextSplit(spec.data, false);
    if (train.numLabels != test.numLabels) {
        throw DataError(train.task + ": train has " + std::to_string(train.numLabels) +
                        " labels but the held-out split " + std::to_string(test.numLabels));
    }
    const std::vector<int64_t> trainKeep =
        keptIndices(int64_t(train.examples.size()), trainRequest);
    const std::vector<int64_t> testKeep = keptIndices(int64_t(test.examples.size()), testRequest);

    RunData out;
    Vocab vocab;
    std::string vocabNote;
    if (!vocabulary.empty()) {
        vocab = vocabularyFromText(vocabulary, "the checkpoint's vocabulary");
    } else if (!spec.model.bert.pretrained.empty()) {
        const std::string path =
            (std::filesystem::path(spec.model.bert.pretrained) / "vocab.txt").string();
        vocab = Vocab::load(path);
        vocabNote = "vocabulary " + path;
    } else {
        std::vector<std::string> texts;
        texts.reserve(trainKeep.size() * 2);
        for (int64_t i : trainKeep) {
            const TextExample& e = train.examples[std::size_t(i)];
            texts.push_back(e.textA);
            if (train.pairs) {
                texts.push_back(e.textB);
            }
        }
        vocab = buildWordPieceVocab(texts, spec.model.bert.vocabSize, spec.data.vocabMinFrequency,
                                    spec.data.lowerCase);
        vocabNote = "vocabulary of " + std::to_string(vocab.size()) +
                    " WordPiece tokens learnt from the training split";
    }
    std::string text;
    for (const std::string& t : vocab.tokens()) {
        text += t;
        text += '\n';
    }
    out.vocabulary = std::move(text);
    const int64_t vocabSize = vocab.size();
    const WordPieceTokenizer tokenizer(std::move(vocab), spec.data.lowerCase);
    out.train = encodeText(train, trainKeep, tokenizer, spec.data.maxLength);
    out.test = encodeText(test, testKeep, tokenizer, spec.data.maxLength);
    out.train.vocabularySize = out.test.vocabularySize = vocabSize;
    out.summary = spec.data.dataset + (spec.data.task.empty() ? "" : " " + train.task) + " train " +
                  std::to_string(out.train.size()) + ", " + test.split + " " +
                  std::to_string(out.test.size()) + " texts of at most " +
                  std::to_string(spec.data.maxLength) + " tokens";
    if (!vocabNote.empty()) {
        out.notes.push_back(vocabNote);
    }
    if (train.skippedRows + test.skippedRows > 0) {
        out.notes.push_back("skipped " + std::to_string(train.skippedRows + test.skippedRows) +
                            " rows with missing fields");
    }
    return out;
}

}  // namespace

RunData loadRunData(const session::RunSpec& spec, SplitRequest train, SplitRequest test,
                    const std::string& vocabulary) {
    if (session::isTextDataset(spec.data.dataset)) {
        return loadTextData(spec, train, test, vocabulary);
    }
    const ImageSet trainRaw = readSplit(spec.data, true);
    const ImageSet testRaw = readSplit(spec.data, false);
    const Normalization norm = normalizationFor(spec.data.dataset, trainRaw);
    RunData out;
    out.train = toTensors(trainRaw, norm, train.limit, train.seed);
    out.test = toTensors(testRaw, norm, test.limit, test.seed);
    out.imageHeight = trainRaw.height;
    out.summary = spec.data.dataset + " train " + std::to_string(out.train.size()) + ", test " +
                  std::to_string(out.test.size()) + " images of " +
                  std::to_string(trainRaw.channels) + "x" + std::to_string(trainRaw.height) + "x" +
                  std::to_string(trainRaw.width);
    return out;
}

}  // namespace qs::data
