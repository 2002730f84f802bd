#include "engine/models/Bert.h"

#include "engine/io/TensorIO.h"

#include <torch/nn/functional/activation.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

namespace qs::models {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

BertLinear makeBertLinear(int64_t in, int64_t out) {
    return BertLinear(quant::QLinearOptions(in, out).input_signed(true));
}

torch::nn::LayerNorm makeLayerNorm(const BertConfig& config) {
    return torch::nn::LayerNorm(
        torch::nn::LayerNormOptions({config.hidden_size()}).eps(config.layer_norm_eps()));
}

std::string shapeString(const std::vector<int64_t>& shape) {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        s += (i ? ", " : "") + std::to_string(shape[i]);
    }
    return s + "]";
}

std::string problemTypeName(BertProblemType t) {
    return t == BertProblemType::Regression ? "regression" : "single_label_classification";
}

// ---- config.json ----------------------------------------------------------------------------

class ConfigReader {
public:
    ConfigReader(const json& j, std::string context) : m_j(j), m_context(std::move(context)) {}

    [[noreturn]] void fail(const std::string& field, const std::string& what) const {
        throw std::runtime_error(m_context + ": field '" + field + "': " + what);
    }
    bool has(const std::string& field) const {
        return m_j.contains(field) && !m_j.at(field).is_null();
    }
    int64_t positiveInt(const std::string& field, bool required, int64_t fallback) const {
        if (!has(field)) {
            if (required) {
                fail(field, "missing");
            }
            return fallback;
        }
        const json& v = m_j.at(field);
        if (!v.is_number_integer() || v.get<int64_t>() <= 0) {
            fail(field, "expected a positive integer, got " + v.dump());
        }
        return v.get<int64_t>();
    }
    int64_t nonNegativeInt(const std::string& field, int64_t fallback) const {
        if (!has(field)) {
            return fallback;
        }
        const json& v = m_j.at(field);
        if (!v.is_number_integer() || v.get<int64_t>() < 0) {
            fail(field, "expected a non-negative integer, got " + v.dump());
        }
        return v.get<int64_t>();
    }
    double probability(const std::string& field, double fallback) const {
        if (!has(field)) {
            return fallback;
        }
        const json& v = m_j.at(field);
        if (!v.is_number() || v.get<double>() < 0.0 || v.get<double>() >= 1.0) {
            fail(field, "expected a number in [0, 1), got " + v.dump());
        }
        return v.get<double>();
    }
    double positiveNumber(const std::string& field, double fallback) const {
        if (!has(field)) {
            return fallback;
        }
        const json& v = m_j.at(field);
        if (!v.is_number() || !(v.get<double>() > 0.0)) {
            fail(field, "expected a positive number, got " + v.dump());
        }
        return v.get<double>();
    }
    std::string string(const std::string& field, const std::string& fallback) const {
        if (!has(field)) {
            return fallback;
        }
        const json& v = m_j.at(field);
        if (!v.is_string()) {
            fail(field, "expected a string, got " + v.dump());
        }
        return v.get<std::string>();
    }
    const json& at(const std::string& field) const { return m_j.at(field); }

private:
    const json& m_j;
    std::string m_context;
};

}  // namespace

void BertConfig::validate() const {
    const auto positive = [](const char* name, int64_t v) {
        if (v <= 0) {
            throw std::invalid_argument(std::string(name) + " must be positive, got " +
                                        std::to_string(v));
        }
    };
    positive("vocab_size", vocab_size());
    positive("hidden_size", hidden_size());
    positive("num_hidden_layers", num_hidden_layers());
    positive("num_attention_heads", num_attention_heads());
    positive("intermediate_size", intermediate_size());
    positive("max_position_embeddings", max_position_embeddings());
    positive("type_vocab_size", type_vocab_size());
    positive("num_labels", num_labels());
    if (hidden_size() % num_attention_heads() != 0) {
        throw std::invalid_argument("hidden_size (" + std::to_string(hidden_size()) +
                                    ") is not a multiple of num_attention_heads (" +
                                    std::to_string(num_attention_heads()) + ")");
    }
    if (hidden_act() != "gelu") {
        throw std::invalid_argument("hidden_act \"" + hidden_act() +
                                    "\" is not supported (only \"gelu\")");
    }
    if (pad_token_id() < 0 || pad_token_id() >= vocab_size()) {
        throw std::invalid_argument("pad_token_id (" + std::to_string(pad_token_id()) +
                                    ") is outside the vocabulary");
    }
    if (problem_type() == BertProblemType::Regression && num_labels() != 1) {
        throw std::invalid_argument("regression needs num_labels 1, got " +
                                    std::to_string(num_labels()));
    }
    if (!(layer_norm_eps() > 0.0)) {
        throw std::invalid_argument("layer_norm_eps must be positive");
    }
}

BertConfig parseBertConfig(const std::string& jsonText, const std::string& context) {
    json j;
    try {
        j = json::parse(jsonText);
    } catch (const json::parse_error& e) {
        throw std::runtime_error(context + ": not valid JSON: " + e.what());
    }
    if (!j.is_object()) {
        throw std::runtime_error(context + ": expected a JSON object");
    }
    const ConfigReader r(j, context);
    const std::string modelType = r.string("model_type", "bert");
    if (modelType != "bert") {
        r.fail("model_type", "expected \"bert\", got \"" + modelType + "\"");
    }
    const std::string positions = r.string("position_embedding_type", "absolute");
    if (positions != "absolute") {
        r.fail("position_embedding_type",
               "only \"absolute\" is supported, got \"" + positions + "\"");
    }
    BertConfig c;
    c.vocab_size(r.positiveInt("vocab_size", true, 0));
    c.hidden_size(r.positiveInt("hidden_size", true, 0));
    c.num_hidden_layers(r.positiveInt("num_hidden_layers", true, 0));
    c.num_attention_heads(r.positiveInt("num_attention_heads", true, 0));
    c.intermediate_size(r.positiveInt("intermediate_size", true, 0));
    c.max_position_embeddings(r.positiveInt("max_position_embeddings", true, 0));
    c.type_vocab_size(r.positiveInt("type_vocab_size", true, 0));
    c.hidden_act(r.string("hidden_act", "gelu"));
    if (c.hidden_act() != "gelu") {
        r.fail("hidden_act",
               "only \"gelu\" (exact erf GELU) is supported, got \"" + c.hidden_act() + "\"");
    }
    c.hidden_dropout_prob(r.probability("hidden_dropout_prob", 0.1));
    c.attention_probs_dropout_prob(r.probability("attention_probs_dropout_prob", 0.1));
    c.classifier_dropout(r.probability("classifier_dropout", -1.0));
    c.layer_norm_eps(r.positiveNumber("layer_norm_eps", 1e-12));
    c.pad_token_id(r.nonNegativeInt("pad_token_id", 0));

    int64_t labels = 2;  // HF's default
    if (r.has("num_labels")) {
        labels = r.positiveInt("num_labels", true, 0);
    } else if (r.has("id2label")) {
        const json& m = r.at("id2label");
        if (!m.is_object() || m.empty()) {
            r.fail("id2label", "expected a non-empty object, got " + m.dump());
        }
        labels = int64_t(m.size());
    }
    c.num_labels(labels);
    const std::string problem = r.string("problem_type", "");
    if (problem.empty()) {
        c.problem_type(labels == 1 ? BertProblemType::Regression
                                   : BertProblemType::SingleLabelClassification);
    } else if (problem == "regression") {
        c.problem_type(BertProblemType::Regression);
    } else if (problem == "single_label_classification") {
        c.problem_type(BertProblemType::SingleLabelClassification);
    } else {
        r.fail(
            "problem_type",
            "expected \"single_label_classification\" or \"regression\", got \"" + problem + "\"");
    }
    try {
        c.validate();
    } catch (const std::invalid_argument& e) {
        throw std::runtime_error(context + ": " + e.what());
    }
    return c;
}

BertConfig readBertConfig(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw std::runtime_error(path + ": cannot open");
    }
    std::ostringstream text;
    text << in.rdbuf();
    return parseBertConfig(text.str(), path);
}

std::string bertConfigJson(const BertConfig& c) {
    json id2label = json::object();
    json label2id = json::object();
    for (int64_t i = 0; i < c.num_labels(); ++i) {
        const std::string name = "LABEL_" + std::to_string(i);
        id2label[std::to_string(i)] = name;
        label2id[name] = i;
    }
    json j = {
        {"architectures", {"BertForSequenceClassification"}},
        {"model_type", "bert"},
        {"vocab_size", c.vocab_size()},
        {"hidden_size", c.hidden_size()},
        {"num_hidden_layers", c.num_hidden_layers()},
        {"num_attention_heads", c.num_attention_heads()},
        {"intermediate_size", c.intermediate_size()},
        {"hidden_act", c.hidden_act()},
        {"hidden_dropout_prob", c.hidden_dropout_prob()},
        {"attention_probs_dropout_prob", c.attention_probs_dropout_prob()},
        {"max_position_embeddings", c.max_position_embeddings()},
        {"type_vocab_size", c.type_vocab_size()},
        {"initializer_range", 0.02},
        {"layer_norm_eps", c.layer_norm_eps()},
        {"pad_token_id", c.pad_token_id()},
        {"position_embedding_type", "absolute"},
        {"classifier_dropout", nullptr},
        {"id2label", id2label},
        {"label2id", label2id},
        {"problem_type", problemTypeName(c.problem_type())},
        {"torch_dtype", "float32"},
    };
    if (c.classifier_dropout() >= 0.0) {
        j["classifier_dropout"] = c.classifier_dropout();
    }
    return j.dump(2) + "\n";
}

// ---- modules --------------------------------------------------------------------------------

BertEmbeddingsImpl::BertEmbeddingsImpl(const BertConfig& config) {
    word_embeddings = register_module(
        "word_embeddings",
        quant::QEmbedding(config.vocab_size(), config.hidden_size(), config.pad_token_id()));
    position_embeddings = register_module(
        "position_embeddings",
        torch::nn::Embedding(config.max_position_embeddings(), config.hidden_size()));
    token_type_embeddings =
        register_module("token_type_embeddings",
                        torch::nn::Embedding(config.type_vocab_size(), config.hidden_size()));
    layerNorm = register_module("LayerNorm", makeLayerNorm(config));
    dropout = register_module("dropout", torch::nn::Dropout(config.hidden_dropout_prob()));
}

torch::Tensor BertEmbeddingsImpl::forward(const torch::Tensor& inputIds,
                                          const torch::Tensor& tokenTypeIds) {
    // HF's position_ids buffer is arange(max_positions)[:T]; it is not a parameter, so build it.
    const torch::Tensor positions =
        torch::arange(inputIds.size(1), inputIds.options().dtype(torch::kLong)).unsqueeze(0);
    torch::Tensor x = word_embeddings(inputIds) + token_type_embeddings(tokenTypeIds) +
                      position_embeddings(positions);
    return dropout(layerNorm(x));
}

BertSelfAttentionImpl::BertSelfAttentionImpl(const BertConfig& config)
    : m_heads(config.num_attention_heads()),
      m_headSize(config.hidden_size() / config.num_attention_heads()) {
    const int64_t h = config.hidden_size();
    query = register_module("query", makeBertLinear(h, h));
    key = register_module("key", makeBertLinear(h, h));
    value = register_module("value", makeBertLinear(h, h));
    dropout = register_module("dropout", torch::nn::Dropout(config.attention_probs_dropout_prob()));
}

torch::Tensor BertSelfAttentionImpl::forward(const torch::Tensor& hidden,
                                             const torch::Tensor& extendedMask) {
    const int64_t b = hidden.size(0);
    const int64_t t = hidden.size(1);
    const auto heads = [&](const torch::Tensor& x) {  // [B, T, H] -> [B, heads, T, d]
        return x.view({b, t, m_heads, m_headSize}).transpose(1, 2);
    };
    const torch::Tensor q = quantize(q_quantizer, heads(query(hidden)));
    const torch::Tensor k = quantize(k_quantizer, heads(key(hidden)));
    const torch::Tensor v = quantize(v_quantizer, heads(value(hidden)));
    torch::Tensor scores = torch::matmul(q, k.transpose(-1, -2)) / std::sqrt(double(m_headSize));
    if (extendedMask.defined()) {
        scores = scores + extendedMask;
    }
    if (m_captured) {
        m_captured->push_back(scores);
    }
    const torch::Tensor probs = quantize(probs_quantizer, dropout(torch::softmax(scores, -1)));
    return torch::matmul(probs, v).transpose(1, 2).contiguous().view({b, t, m_heads * m_headSize});
}

torch::Tensor BertSelfAttentionImpl::quantize(quant::Quantizer& q, const torch::Tensor& x) {
    return q && !m_bypass ? q->forward(x) : x;
}

void BertSelfAttentionImpl::configureMatmulQuantizers(int bits, quant::GradScaleMode gradScale,
                                                      bool learnGradScale) {
    for (auto* slot : {&q_quantizer, &k_quantizer, &probs_quantizer, &v_quantizer}) {
        *slot = nullptr;
    }
    for (const char* name : {"q_quantizer", "k_quantizer", "probs_quantizer", "v_quantizer"}) {
        if (named_children().contains(name)) {
            unregister_module(name);
        }
    }
    if (bits <= 0) {
        return;
    }
    const auto make = [&](const char* name, bool isSigned) {
        return register_module(name, quant::Quantizer(quant::QuantizerOptions(bits, isSigned)
                                                          .grad_scale(gradScale)
                                                          .learn_grad_scale(learnGradScale)));
    };
    q_quantizer = make("q_quantizer", true);
    k_quantizer = make("k_quantizer", true);
    probs_quantizer = make("probs_quantizer", false);
    v_quantizer = make("v_quantizer", true);
}

std::vector<std::pair<std::string, quant::Quantizer>> BertSelfAttentionImpl::matmulQuantizers()
    const {
    std::vector<std::pair<std::string, quant::Quantizer>> out;
    if (q_quantizer) {
        out = {{"q_quantizer", q_quantizer},
               {"k_quantizer", k_quantizer},
               {"probs_quantizer", probs_quantizer},
               {"v_quantizer", v_quantizer}};
    }
    return out;
}

BertResidualOutputImpl::BertResidualOutputImpl(int64_t in, const BertConfig& config) {
    dense = register_module("dense", makeBertLinear(in, config.hidden_size()));
    layerNorm = register_module("LayerNorm", makeLayerNorm(config));
    dropout = register_module("dropout", torch::nn::Dropout(config.hidden_dropout_prob()));
}

torch::Tensor BertResidualOutputImpl::forward(const torch::Tensor& x,
                                              const torch::Tensor& residual) {
    return layerNorm(dropout(dense(x)) + residual);
}

BertAttentionImpl::BertAttentionImpl(const BertConfig& config) {
    self = register_module("self", BertSelfAttention(config));
    output = register_module("output", BertResidualOutput(config.hidden_size(), config));
}

torch::Tensor BertAttentionImpl::forward(const torch::Tensor& hidden,
                                         const torch::Tensor& extendedMask) {
    return output(self(hidden, extendedMask), hidden);
}

BertIntermediateImpl::BertIntermediateImpl(const BertConfig& config) {
    dense =
        register_module("dense", makeBertLinear(config.hidden_size(), config.intermediate_size()));
}

torch::Tensor BertIntermediateImpl::forward(const torch::Tensor& x) {
    return torch::gelu(dense(x));  // exact erf GELU, HF's "gelu"
}

BertLayerImpl::BertLayerImpl(const BertConfig& config) {
    attention = register_module("attention", BertAttention(config));
    intermediate = register_module("intermediate", BertIntermediate(config));
    output = register_module("output", BertResidualOutput(config.intermediate_size(), config));
}

torch::Tensor BertLayerImpl::forward(const torch::Tensor& hidden,
                                     const torch::Tensor& extendedMask) {
    const torch::Tensor a = attention(hidden, extendedMask);
    return output(intermediate(a), a);
}

BertPoolerImpl::BertPoolerImpl(const BertConfig& config) {
    dense = register_module("dense", makeBertLinear(config.hidden_size(), config.hidden_size()));
}

torch::Tensor BertPoolerImpl::forward(const torch::Tensor& hidden) {
    return torch::tanh(dense(hidden.select(1, 0)));
}

BertModelImpl::BertModelImpl(const BertConfig& config)
    : m_maxPositions(config.max_position_embeddings()) {
    embeddings = register_module("embeddings", BertEmbeddings(config));
    // HF nests the layers as encoder.layer.N: an "encoder" holder module with a "layer" list.
    auto encoder = register_module("encoder", std::make_shared<torch::nn::Module>("BertEncoder"));
    layers = encoder->register_module("layer", torch::nn::ModuleList());
    for (int64_t i = 0; i < config.num_hidden_layers(); ++i) {
        layers->push_back(BertLayer(config));
    }
    pooler = register_module("pooler", BertPooler(config));
}

torch::Tensor BertModelImpl::forward(const torch::Tensor& inputIds,
                                     const torch::Tensor& tokenTypeIds,
                                     const torch::Tensor& attentionMask) {
    torch::Tensor hidden = embeddings(inputIds, tokenTypeIds);
    torch::Tensor mask = extendedAttentionMask(attentionMask);
    if (mask.defined()) {
        mask = mask.to(hidden.dtype());
    }
    for (const auto& layer : *layers) {
        hidden = layer->as<BertLayer>()->forward(hidden, mask);
        if (m_captured) {
            m_captured->hidden.push_back(hidden);
        }
    }
    return pooler(hidden);
}

void BertModelImpl::setCapture(NetworkImpl::Captured* captured) {
    m_captured = captured;
    for (const auto& layer : *layers) {
        layer->as<BertLayer>()->attention->self->setCapture(captured ? &captured->attention
                                                                     : nullptr);
    }
}

BertForSequenceClassificationImpl::BertForSequenceClassificationImpl(BertConfig config)
    : m_config(std::move(config)) {
    m_config.validate();
    bert = register_module("bert", BertModel(m_config));
    dropout = register_module("dropout", torch::nn::Dropout(m_config.classifier_dropout() >= 0.0
                                                                ? m_config.classifier_dropout()
                                                                : m_config.hidden_dropout_prob()));
    classifier = register_module("classifier",
                                 makeBertLinear(m_config.hidden_size(), m_config.num_labels()));
    // Hugging Face's _init_weights (initializer_range 0.02).
    torch::NoGradGuard noGrad;
    for (auto& item : named_parameters()) {
        const std::string& name = item.key();
        torch::Tensor& p = item.value();
        if (name.find("LayerNorm") != std::string::npos) {
            continue;  // already 1 (weight) and 0 (bias)
        }
        if (name.size() >= 5 && name.compare(name.size() - 5, 5, ".bias") == 0) {
            p.zero_();
        } else {
            p.normal_(0.0, 0.02);
        }
    }
    bert->embeddings->word_embeddings->weight[m_config.pad_token_id()].zero_();
}

torch::Tensor BertForSequenceClassificationImpl::forward(const torch::Tensor& packed) {
    if (packed.defined() && packed.dim() == 3 && packed.size(1) == 3) {
        return forward(packed.select(1, 0), packed.select(1, 1), packed.select(1, 2));
    }
    if (packed.defined() && packed.dim() == 2) {
        return forward(packed, {}, {});
    }
    throw std::invalid_argument(
        "BERT: expected token ids [batch, tokens] or packed ids, types and mask [batch, 3, "
        "tokens]");
}

std::vector<BertSelfAttentionImpl*> BertForSequenceClassificationImpl::selfAttentions() {
    std::vector<BertSelfAttentionImpl*> out;
    for (const auto& layer : *bert->layers) {
        out.push_back(layer->as<BertLayer>()->attention->self.get());
    }
    return out;
}

void BertForSequenceClassificationImpl::configureMatmulQuantizers(int bits,
                                                                  quant::GradScaleMode gradScale,
                                                                  bool learnGradScale) {
    for (BertSelfAttentionImpl* a : selfAttentions()) {
        a->configureMatmulQuantizers(bits, gradScale, learnGradScale);
    }
}

std::vector<std::pair<std::string, quant::Quantizer>>
BertForSequenceClassificationImpl::activationQuantizers() {
    std::vector<std::pair<std::string, quant::Quantizer>> out;
    const std::vector<BertSelfAttentionImpl*> attentions = selfAttentions();
    for (std::size_t i = 0; i < attentions.size(); ++i) {
        const std::string prefix = "bert.encoder.layer." + std::to_string(i) + ".attention.self.";
        for (auto& [name, q] : attentions[i]->matmulQuantizers()) {
            out.emplace_back(prefix + name, q);
        }
    }
    return out;
}

void BertForSequenceClassificationImpl::setActivationBypass(bool on) {
    for (BertSelfAttentionImpl* a : selfAttentions()) {
        a->setMatmulBypass(on);
    }
}

void BertForSequenceClassificationImpl::setCapture(bool on) {
    m_captured = {};
    bert->setCapture(on ? &m_captured : nullptr);
}

NetworkImpl::Captured BertForSequenceClassificationImpl::takeCaptured() {
    Captured out = std::move(m_captured);
    m_captured = {};
    return out;
}

torch::Tensor BertForSequenceClassificationImpl::forward(const torch::Tensor& inputIds,
                                                         const torch::Tensor& tokenTypeIds,
                                                         const torch::Tensor& attentionMask) {
    if (!inputIds.defined() || inputIds.dim() != 2 || inputIds.scalar_type() != torch::kLong) {
        throw std::invalid_argument("BERT: input_ids must be a [batch, tokens] int64 tensor");
    }
    const int64_t t = inputIds.size(1);
    if (t < 1 || t > m_config.max_position_embeddings()) {
        throw std::invalid_argument("BERT: " + std::to_string(t) + " tokens, but 1 to " +
                                    std::to_string(m_config.max_position_embeddings()) +
                                    " are allowed (max_position_embeddings)");
    }
    const auto checkShape = [&](const torch::Tensor& x, const char* name) {
        if (x.defined() && x.sizes() != inputIds.sizes()) {
            throw std::invalid_argument(std::string("BERT: ") + name + " has shape " +
                                        shapeString(x.sizes().vec()) + ", input_ids " +
                                        shapeString(inputIds.sizes().vec()));
        }
    };
    checkShape(tokenTypeIds, "token_type_ids");
    checkShape(attentionMask, "attention_mask");
    const torch::Tensor types =
        tokenTypeIds.defined() ? tokenTypeIds.to(torch::kLong) : torch::zeros_like(inputIds);
    const torch::Tensor pooled = bert(inputIds, types, attentionMask);
    return classifier(dropout(pooled));
}

torch::Tensor extendedAttentionMask(const torch::Tensor& attentionMask) {
    if (!attentionMask.defined()) {
        return {};
    }
    const torch::Tensor keep = attentionMask.to(torch::kFloat).unsqueeze(1).unsqueeze(2);
    return (1.0 - keep) * std::numeric_limits<float>::lowest();
}

// ---- checkpoint folder ----------------------------------------------------------------------

namespace {

bool startsWith(const std::string& s, const std::string& prefix) {
    return s.compare(0, prefix.size(), prefix) == 0;
}

bool endsWith(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A quantizer's parameter or buffer (<layer>.weight_quantizer.step_size, ...).
bool isQuantizerTensor(const std::string& name) {
    return name.find("_quantizer.") != std::string::npos;
}

// The model's name for a checkpoint tensor name, or "" when it cannot be one of ours.
std::string canonicalName(std::string name, bool bertPrefixMissing) {
    if (endsWith(name, "LayerNorm.gamma")) {
        name = name.substr(0, name.size() - 5) + "weight";
    } else if (endsWith(name, "LayerNorm.beta")) {
        name = name.substr(0, name.size() - 4) + "bias";
    }
    if (bertPrefixMissing && !startsWith(name, "classifier.")) {
        name = "bert." + name;
    }
    return name;
}

}  // namespace

BertCheckpoint loadBertFolder(const std::string& dir, const BertLoadOptions& options) {
    const fs::path root(dir);
    const std::string configPath = (root / "config.json").string();
    const std::string weightsPath = (root / "model.safetensors").string();
    const std::string vocabPath = (root / "vocab.txt").string();
    if (!fs::is_directory(root)) {
        throw std::runtime_error(dir + ": not a folder");
    }
    if (!fs::exists(configPath)) {
        throw std::runtime_error(configPath + ": not found");
    }
    if (!fs::exists(weightsPath)) {
        throw std::runtime_error(weightsPath +
                                 ": not found (only safetensors checkpoints are read)");
    }
    if (!fs::exists(vocabPath)) {
        throw std::runtime_error(vocabPath + ": not found");
    }

    BertCheckpoint ckpt;
    ckpt.config = readBertConfig(configPath);
    ckpt.vocabPath = vocabPath;
    ckpt.model = BertForSequenceClassification(ckpt.config);
    io::LoadedTensors loaded = io::loadTensors(weightsPath);

    // A BertModel checkpoint stores "embeddings.*" rather than "bert.embeddings.*".
    bool bertPrefixMissing = loaded.tensors.count("embeddings.word_embeddings.weight") > 0 &&
                             loaded.tensors.count("bert.embeddings.word_embeddings.weight") == 0;
    if (bertPrefixMissing) {
        ckpt.notes.push_back("tensor names have no \"bert.\" prefix (a BertModel checkpoint)");
    }
    std::map<std::string, torch::Tensor> byName;
    bool renamedLegacy = false;
    int quantizerTensors = 0;
    for (auto& [name, tensor] : loaded.tensors) {
        if (isQuantizerTensor(name)) {
            ++quantizerTensors;
            continue;
        }
        if (name == "bert.embeddings.position_ids" || name == "embeddings.position_ids" ||
            startsWith(name, "cls.")) {
            ckpt.notes.push_back("ignored tensor '" + name + "' " +
                                 (startsWith(name, "cls.") ? "(pretraining head)" : "(buffer)"));
            continue;
        }
        const std::string canonical = canonicalName(name, bertPrefixMissing);
        renamedLegacy =
            renamedLegacy || endsWith(name, "LayerNorm.gamma") || endsWith(name, "LayerNorm.beta");
        if (!byName.emplace(canonical, tensor).second) {
            throw std::runtime_error(weightsPath + ": tensor '" + name + "' duplicates '" +
                                     canonical + "'");
        }
    }
    if (renamedLegacy) {
        ckpt.notes.push_back("renamed legacy LayerNorm.gamma/beta to weight/bias");
    }
    if (quantizerTensors > 0) {
        ckpt.notes.push_back("ignored " + std::to_string(quantizerTensors) +
                             " quantizer tensor(s) (the model loads float)");
    }

    torch::NoGradGuard noGrad;
    std::set<std::string> used;
    for (auto& item : ckpt.model->named_parameters()) {
        const std::string& name = item.key();
        torch::Tensor& param = item.value();
        const auto it = byName.find(name);
        if (it == byName.end()) {
            if (options.allowMissingClassifier && startsWith(name, "classifier.")) {
                ckpt.notes.push_back("tensor '" + name + "' missing: left freshly initialised");
                continue;
            }
            throw std::runtime_error(weightsPath + ": tensor '" + name +
                                     "' missing (expected shape " +
                                     shapeString(param.sizes().vec()) + ")");
        }
        const torch::Tensor& src = it->second;
        if (src.sizes() != param.sizes()) {
            throw std::runtime_error(weightsPath + ": tensor '" + name + "' has shape " +
                                     shapeString(src.sizes().vec()) + ", expected " +
                                     shapeString(param.sizes().vec()));
        }
        if (!src.is_floating_point()) {
            throw std::runtime_error(weightsPath + ": tensor '" + name + "' has dtype " +
                                     std::string(c10::toString(src.scalar_type())) +
                                     ", expected a floating-point type");
        }
        param.copy_(src.to(param.dtype()));
        used.insert(name);
    }
    for (const auto& [name, tensor] : byName) {
        if (used.count(name) == 0) {
            throw std::runtime_error(weightsPath + ": unexpected tensor '" + name +
                                     "' (not part of BertForSequenceClassification)");
        }
    }
    return ckpt;
}

void saveBertFolder(BertForSequenceClassification& model, const BertConfig& config,
                    const std::string& dir, const std::string& vocabPath) {
    const fs::path root(dir);
    std::error_code ec;
    fs::create_directories(root, ec);
    if (ec) {
        throw std::runtime_error(dir + ": cannot create folder: " + ec.message());
    }
    const std::string configPath = (root / "config.json").string();
    {
        std::ofstream out(configPath, std::ios::binary | std::ios::trunc);
        out << bertConfigJson(config);
        if (!out.flush()) {
            throw std::runtime_error(configPath + ": cannot write");
        }
    }
    io::NamedTensors tensors;
    for (const auto& item : model->named_parameters()) {
        if (!isQuantizerTensor(item.key())) {  // HF's BERT has no place for step sizes
            tensors.emplace_back(item.key(), item.value().detach());
        }
    }
    // HF's safetensors loader rejects files without format metadata.
    io::saveTensors((root / "model.safetensors").string(), tensors, {{"format", "pt"}});
    if (!vocabPath.empty()) {
        const fs::path target = root / "vocab.txt";
        if (!fs::equivalent(vocabPath, target, ec)) {  // false (with ec) when target is absent
            fs::copy_file(vocabPath, target, fs::copy_options::overwrite_existing, ec);
            if (ec) {
                throw std::runtime_error(vocabPath + ": cannot copy to " + target.string() + ": " +
                                         ec.message());
            }
        }
    }
}

}  // namespace qs::models
