// Torch side of test_bert (no Qt here).
#include "BertCases.h"

#include "engine/io/TensorIO.h"
#include "engine/models/Bert.h"
#include "engine/quant/QuantLayers.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace qs::test::bert {

namespace fs = std::filesystem;

namespace {

models::BertConfig smallConfig(int64_t labels) {
    return models::BertConfig()
        .vocab_size(50)
        .hidden_size(32)
        .num_hidden_layers(2)
        .num_attention_heads(4)
        .intermediate_size(64)
        .max_position_embeddings(16)
        .type_vocab_size(2)
        .num_labels(labels)
        .problem_type(labels == 1 ? models::BertProblemType::Regression
                                  : models::BertProblemType::SingleLabelClassification);
}

// LayerNorm starts at ones/zeros; randomise everything so a swapped tensor shows.
void randomize(torch::nn::Module& m) {
    torch::NoGradGuard noGrad;
    for (auto& p : m.parameters()) {
        p.copy_(torch::randn_like(p) * 0.5);
    }
}

struct Batch {
    torch::Tensor ids, types, mask;
};

Batch paddedBatch() {
    Batch b;
    b.ids = torch::randint(1, 50, {3, 7}, torch::kLong);
    b.types =
        torch::cat({torch::zeros({3, 4}, torch::kLong), torch::ones({3, 3}, torch::kLong)}, 1);
    b.mask = torch::ones({3, 7}, torch::kLong);
    b.mask.index_put_({1, torch::indexing::Slice(5, torch::indexing::None)}, 0);
    b.mask.index_put_({2, torch::indexing::Slice(2, torch::indexing::None)}, 0);
    b.ids.masked_fill_(b.mask == 0, 0);
    return b;
}

torch::Tensor logits(models::BertForSequenceClassification& model, const Batch& b) {
    model->eval();
    torch::NoGradGuard noGrad;
    return model->forward(b.ids, b.types, b.mask);
}

io::NamedTensors namedParameters(models::BertForSequenceClassification& model) {
    io::NamedTensors out;
    for (const auto& item : model->named_parameters()) {
        out.emplace_back(item.key(), item.value().detach().clone());
    }
    return out;
}

std::string readText(const fs::path& p) {
    std::ifstream in(p);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void writeText(const fs::path& p, const std::string& text) {
    std::ofstream(p, std::ios::trunc) << text;
}

void replaceOnce(std::string& text, const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    if (at == std::string::npos) {
        throw std::runtime_error("test setup: \"" + from + "\" not in config.json");
    }
    text.replace(at, from.size(), to);
}

// Saves a fresh random model (2 labels) with a vocab file into dir.
models::BertForSequenceClassification saveRandom(const std::string& dir, int64_t labels) {
    torch::manual_seed(11);
    const models::BertConfig config = smallConfig(labels);
    models::BertForSequenceClassification model(config);
    randomize(*model);
    const fs::path vocab =
        fs::path(dir).parent_path() / (fs::path(dir).filename().string() + "-vocab.txt");
    fs::create_directories(vocab.parent_path());
    writeText(vocab, "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n");
    models::saveBertFolder(model, config, dir, vocab.string());
    return model;
}

}  // namespace

Structure describe(int64_t labels) {
    torch::manual_seed(1);
    models::BertForSequenceClassification model(smallConfig(labels));
    Structure s;
    for (const auto& item : model->named_parameters()) {
        s.parameters.push_back({item.key(), item.value().sizes().vec()});
    }
    for (const auto& item : model->named_buffers()) {
        s.buffers.push_back(item.key());
    }
    for (const auto& [path, layer] : model->quantLayers()) {
        s.quantLayers.push_back(path);
    }
    s.logitsShape = logits(model, paddedBatch()).sizes().vec();
    return s;
}

double encoderLayerMaxDiff(bool padding) {
    torch::manual_seed(5);
    const models::BertConfig config = smallConfig(2);
    models::BertLayer layer(config);
    randomize(*layer);
    torch::nn::TransformerEncoderLayer ref(torch::nn::TransformerEncoderLayerOptions(32, 4)
                                               .dim_feedforward(64)
                                               .dropout(0.0)
                                               .activation(torch::kGELU));
    // torch 1.13's C++ options have no layer_norm_eps: set it on the norms (default 1e-5).
    ref->norm1->options.eps(config.layer_norm_eps());
    ref->norm2->options.eps(config.layer_norm_eps());
    {
        torch::NoGradGuard noGrad;
        auto& self = *layer->attention->self;
        ref->self_attn->in_proj_weight.copy_(
            torch::cat({self.query->weight, self.key->weight, self.value->weight}));
        ref->self_attn->in_proj_bias.copy_(
            torch::cat({self.query->bias, self.key->bias, self.value->bias}));
        ref->self_attn->out_proj->weight.copy_(layer->attention->output->dense->weight);
        ref->self_attn->out_proj->bias.copy_(layer->attention->output->dense->bias);
        ref->linear1->weight.copy_(layer->intermediate->dense->weight);
        ref->linear1->bias.copy_(layer->intermediate->dense->bias);
        ref->linear2->weight.copy_(layer->output->dense->weight);
        ref->linear2->bias.copy_(layer->output->dense->bias);
        ref->norm1->weight.copy_(layer->attention->output->layerNorm->weight);
        ref->norm1->bias.copy_(layer->attention->output->layerNorm->bias);
        ref->norm2->weight.copy_(layer->output->layerNorm->weight);
        ref->norm2->bias.copy_(layer->output->layerNorm->bias);
    }
    layer->eval();
    ref->eval();
    torch::NoGradGuard noGrad;
    const torch::Tensor x = torch::randn({3, 7, 32});
    torch::Tensor mask = torch::ones({3, 7}, torch::kLong);
    if (padding) {
        mask.index_put_({1, torch::indexing::Slice(5, torch::indexing::None)}, 0);
        mask.index_put_({2, torch::indexing::Slice(2, torch::indexing::None)}, 0);
    }
    const torch::Tensor ours = layer->forward(x, models::extendedAttentionMask(mask));
    // TransformerEncoderLayer is sequence-first; its key padding mask is true where padded.
    const torch::Tensor theirs =
        ref->forward(x.transpose(0, 1), {}, padding ? (mask == 0) : torch::Tensor())
            .transpose(0, 1);
    return (ours - theirs).abs().max().item<double>();
}

double roundTripMaxDiff(const std::string& dir, int64_t labels) {
    models::BertForSequenceClassification model = saveRandom(dir, labels);
    const Batch batch = paddedBatch();
    const torch::Tensor before = logits(model, batch);
    models::BertCheckpoint ckpt = models::loadBertFolder(dir);
    if (!ckpt.notes.empty()) {
        throw std::runtime_error("unexpected note: " + ckpt.notes.front());
    }
    if (ckpt.vocabPath != (fs::path(dir) / "vocab.txt").string() ||
        readText(ckpt.vocabPath) != "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n") {
        throw std::runtime_error("vocab.txt not copied: " + ckpt.vocabPath);
    }
    if (ckpt.config.num_labels() != labels ||
        ckpt.config.problem_type() != model->config().problem_type()) {
        throw std::runtime_error("config not round-tripped");
    }
    const torch::Tensor after = logits(ckpt.model, batch);
    if (after.sizes() != before.sizes()) {
        throw std::runtime_error("logit shapes differ");
    }
    return (after - before).abs().max().item<double>();
}

std::string loadError(const std::string& dir, Damage damage) {
    models::BertForSequenceClassification model = saveRandom(dir, 2);
    const fs::path root(dir);
    const std::string weights = (root / "model.safetensors").string();
    io::NamedTensors tensors = namedParameters(model);
    const auto rewrite = [&] { io::saveTensors(weights, tensors, {{"format", "pt"}}); };
    std::string config = readText(root / "config.json");
    switch (damage) {
        case Damage::None:
            break;
        case Damage::TruncatedWeights:
            fs::resize_file(weights, fs::file_size(weights) - 100);
            break;
        case Damage::WrongShape:
            for (auto& [name, t] : tensors) {
                if (name == "classifier.weight") {
                    t = torch::zeros({3, 32});
                }
            }
            rewrite();
            break;
        case Damage::MissingTensor:
            tensors.erase(std::remove_if(tensors.begin(), tensors.end(),
                                         [](const auto& nt) {
                                             return nt.first ==
                                                    "bert.encoder.layer.1.output.dense.bias";
                                         }),
                          tensors.end());
            rewrite();
            break;
        case Damage::UnknownTensor:
            tensors.emplace_back("bert.encoder.layer.2.output.dense.bias", torch::zeros({32}));
            rewrite();
            break;
        case Damage::BadConfigJson:
            writeText(root / "config.json", config.substr(0, config.size() / 2));
            break;
        case Damage::BadConfigField:
            replaceOnce(config, "\"hidden_size\": 32", "\"hidden_size\": \"32\"");
            writeText(root / "config.json", config);
            break;
        case Damage::MissingConfigField:
            replaceOnce(config, "\"num_hidden_layers\": 2,", "");
            writeText(root / "config.json", config);
            break;
        case Damage::UnsupportedActivation:
            replaceOnce(config, "\"hidden_act\": \"gelu\"", "\"hidden_act\": \"gelu_new\"");
            writeText(root / "config.json", config);
            break;
        case Damage::HeadsMismatch:
            replaceOnce(config, "\"num_attention_heads\": 4", "\"num_attention_heads\": 5");
            writeText(root / "config.json", config);
            break;
        case Damage::MultiLabel:
            replaceOnce(config, "\"single_label_classification\"",
                        "\"multi_label_classification\"");
            writeText(root / "config.json", config);
            break;
        case Damage::MissingVocab:
            fs::remove(root / "vocab.txt");
            break;
    }
    try {
        models::loadBertFolder(dir);
    } catch (const std::exception& e) {
        return e.what();
    }
    return {};
}

std::vector<std::string> loadNotesWithExtras(const std::string& dir) {
    models::BertForSequenceClassification model = saveRandom(dir, 2);
    io::NamedTensors tensors;
    for (auto& [name, t] : namedParameters(model)) {
        std::string n = name;
        if (n == "bert.embeddings.LayerNorm.weight") {
            n = "bert.embeddings.LayerNorm.gamma";
        } else if (n == "bert.embeddings.LayerNorm.bias") {
            n = "bert.embeddings.LayerNorm.beta";
        }
        tensors.emplace_back(n, t);
    }
    tensors.emplace_back("bert.embeddings.position_ids",
                         torch::arange(16, torch::kLong).unsqueeze(0));
    tensors.emplace_back("cls.predictions.bias", torch::zeros({50}));
    io::saveTensors((fs::path(dir) / "model.safetensors").string(), tensors, {{"format", "pt"}});
    const Batch batch = paddedBatch();
    models::BertCheckpoint ckpt = models::loadBertFolder(dir);
    const double diff =
        (logits(ckpt.model, batch) - logits(model, batch)).abs().max().item<double>();
    if (diff != 0.0) {
        throw std::runtime_error("logits differ by " + std::to_string(diff));
    }
    return ckpt.notes;
}

double paddingInvarianceMaxDiff() {
    torch::manual_seed(21);
    models::BertForSequenceClassification model(smallConfig(2));
    randomize(*model);
    const Batch batch = paddedBatch();
    Batch changed = batch;
    changed.ids = batch.ids.masked_fill(batch.mask == 0, 17);
    changed.types = batch.types.masked_fill(batch.mask == 0, 0);
    return (logits(model, batch) - logits(model, changed)).abs().max().item<double>();
}

DropoutBehaviour dropoutBehaviour() {
    torch::manual_seed(22);
    models::BertForSequenceClassification model(smallConfig(2));
    const Batch batch = paddedBatch();
    torch::NoGradGuard noGrad;
    DropoutBehaviour d;
    model->train();
    d.trainingDiffers = !torch::equal(model->forward(batch.ids, batch.types, batch.mask),
                                      model->forward(batch.ids, batch.types, batch.mask));
    model->eval();
    d.evalDiffers = !torch::equal(model->forward(batch.ids, batch.types, batch.mask),
                                  model->forward(batch.ids, batch.types, batch.mask));
    return d;
}

ConfigSummary parseConfig(const std::string& jsonText) {
    ConfigSummary s;
    try {
        const models::BertConfig c = models::parseBertConfig(jsonText, "config.json");
        s.layers = c.num_hidden_layers();
        s.hidden = c.hidden_size();
        s.labels = c.num_labels();
        s.regression = c.problem_type() == models::BertProblemType::Regression;
        s.layerNormEps = c.layer_norm_eps();
        models::BertForSequenceClassification model(c);
        s.classifierDropout = model->dropout->options.p();
    } catch (const std::exception& e) {
        s.error = e.what();
    }
    return s;
}

std::string forwardError(int64_t tokens) {
    models::BertForSequenceClassification model(smallConfig(2));
    model->eval();
    torch::NoGradGuard noGrad;
    try {
        model->forward(torch::ones({2, tokens}, torch::kLong));
    } catch (const std::exception& e) {
        return e.what();
    }
    return {};
}

namespace {

void configureAll(models::BertForSequenceClassification& model, int bits) {
    quant::LayerQuantConfig cfg;
    cfg.weightBits = bits;
    cfg.actBits = bits;
    for (auto& [path, layer] : model->quantLayers()) {
        layer->configureQuantizers(cfg);
    }
}

bool isStepSize(const std::string& name) {
    const std::string suffix = "_quantizer.step_size";
    return name.size() >= suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

QuantizedRun quantizedRun(int bits) {
    torch::manual_seed(21);
    models::BertForSequenceClassification model(smallConfig(2));
    // Pretrained-like scales: randomize()'s 0.5 std would saturate every tanh/softmax.
    {
        torch::NoGradGuard noGrad;
        for (auto& item : model->named_parameters()) {
            torch::Tensor& p = item.value();
            if (item.key().find("LayerNorm.weight") != std::string::npos) {
                p.fill_(1.0);
            } else {
                p.copy_(torch::randn_like(p) * 0.1);
            }
        }
    }
    const Batch batch = paddedBatch();
    const torch::Tensor floatLogits = logits(model, batch);

    QuantizedRun run;
    configureAll(model, bits);
    run.quantLayers = int(model->quantLayers().size());
    const torch::Tensor quantLogits = logits(model, batch);  // first batch: LSQ init
    run.relativeDiff = ((quantLogits - floatLogits).norm() / floatLogits.norm()).item<double>();

    model->train();
    model->zero_grad();
    torch::nn::functional::cross_entropy(model->forward(batch.ids, batch.types, batch.mask),
                                         torch::tensor({0, 1, 1}, torch::kLong))
        .backward();
    for (const auto& item : model->named_parameters()) {
        if (isStepSize(item.key())) {
            ++run.stepSizes;
            const torch::Tensor& g = item.value().grad();
            if (g.defined() && g.abs().sum().item<double>() > 0.0) {
                ++run.stepSizesWithGrad;
            }
        }
    }

    configureAll(model, 0);
    run.floatAfterReset = torch::equal(logits(model, batch), floatLogits);
    return run;
}

bool quantizedSaveLoad(const std::string& dir) {
    saveRandom(dir, 2);
    models::BertCheckpoint ckpt = models::loadBertFolder(dir);
    if (!ckpt.notes.empty()) {
        throw std::runtime_error("unexpected note: " + ckpt.notes.front());
    }
    configureAll(ckpt.model, 8);
    const Batch batch = paddedBatch();
    logits(ckpt.model, batch);  // initialises the input quantizers
    int stepSizes = 0;
    for (const auto& item : ckpt.model->named_parameters()) {
        stepSizes += isStepSize(item.key()) ? 1 : 0;
    }
    // The word embedding (a lookup) has a weight quantizer only.
    if (stepSizes != 2 * int(ckpt.model->quantLayers().size()) - 1) {
        throw std::runtime_error("expected a weight and an input step size per layer, got " +
                                 std::to_string(stepSizes));
    }
    const std::string again = (fs::path(dir) / "requant").string();
    models::saveBertFolder(ckpt.model, ckpt.config, again, ckpt.vocabPath);
    for (const auto& [name, tensor] : io::loadTensors(again + "/model.safetensors").tensors) {
        if (name.find("_quantizer.") != std::string::npos) {
            throw std::runtime_error("quantizer tensor saved: " + name);
        }
    }
    models::BertCheckpoint back = models::loadBertFolder(again);
    if (!back.notes.empty()) {
        throw std::runtime_error("unexpected note: " + back.notes.front());
    }
    const auto saved = back.model->named_parameters();
    for (const auto& item : ckpt.model->named_parameters()) {
        if (isStepSize(item.key())) {
            continue;
        }
        const torch::Tensor* other = saved.find(item.key());
        if (other == nullptr || !torch::equal(*other, item.value())) {
            throw std::runtime_error("weight changed in the round trip: " + item.key());
        }
    }
    return true;
}

std::vector<std::string> loadNotesWithQuantizerTensor(const std::string& dir) {
    models::BertForSequenceClassification model = saveRandom(dir, 2);
    io::NamedTensors tensors = namedParameters(model);
    tensors.emplace_back("bert.encoder.layer.0.attention.self.query.weight_quantizer.step_size",
                         torch::ones({1}));
    io::saveTensors((fs::path(dir) / "model.safetensors").string(), tensors, {{"format", "pt"}});
    return models::loadBertFolder(dir).notes;
}

}  // namespace qs::test::bert
