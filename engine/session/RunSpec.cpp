#include "engine/session/RunSpec.h"

#include "engine/data/TextDatasets.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <sstream>

namespace qs::session {

using nlohmann::json;

SpecError::SpecError(std::string field, const std::string& problem)
    : std::runtime_error(field.empty() ? problem : field + ": " + problem),
      m_field(std::move(field)) {}

namespace {

std::string join(const std::string& prefix, const std::string& key) {
    return prefix.empty() ? key : prefix + "." + key;
}

/// Reads one JSON object strictly: every key must be consumed, types are checked, and errors
/// name the dotted field path.
class ObjectReader {
public:
    ObjectReader(const json& j, std::string path) : m_j(j), m_path(std::move(path)) {
        if (!m_j.is_object()) {
            throw SpecError(m_path, "must be a JSON object");
        }
    }

    template <typename T>
    void read(const char* key, T& out) {
        m_seen.insert(key);
        auto it = m_j.find(key);
        if (it == m_j.end() || it->is_null()) {
            return;  // keep the default
        }
        convert(*it, join(m_path, key), out);
    }

    const json* child(const char* key) {
        m_seen.insert(key);
        auto it = m_j.find(key);
        return it == m_j.end() || it->is_null() ? nullptr : &*it;
    }

    std::string path(const char* key) const { return join(m_path, key); }

    /// Any key not read is a typo or a field from a newer version: refuse it.
    void finish() const {
        for (auto it = m_j.begin(); it != m_j.end(); ++it) {
            if (!m_seen.count(it.key())) {
                throw SpecError(join(m_path, it.key()), "unknown field");
            }
        }
    }

private:
    static void convert(const json& v, const std::string& path, std::string& out) {
        if (!v.is_string()) {
            throw SpecError(path, "must be a string");
        }
        out = v.get<std::string>();
    }
    static void convert(const json& v, const std::string& path, bool& out) {
        if (!v.is_boolean()) {
            throw SpecError(path, "must be true or false");
        }
        out = v.get<bool>();
    }
    static void convert(const json& v, const std::string& path, double& out) {
        if (!v.is_number()) {
            throw SpecError(path, "must be a number");
        }
        out = v.get<double>();
        if (!std::isfinite(out)) {
            throw SpecError(path, "must be finite");
        }
    }
    template <typename I>
    static std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>> convert(
        const json& v, const std::string& path, I& out) {
        if (!v.is_number_integer()) {
            throw SpecError(path, "must be an integer");
        }
        if constexpr (std::is_unsigned_v<I>) {
            if (v.is_number_unsigned()) {
                out = I(v.get<uint64_t>());
                return;
            }
            const int64_t x = v.get<int64_t>();
            if (x < 0) {
                throw SpecError(path, "must be >= 0");
            }
            out = I(x);
        } else {
            if (v.is_number_unsigned() &&
                v.get<uint64_t>() > uint64_t(std::numeric_limits<I>::max())) {
                throw SpecError(path, "is too large");
            }
            const int64_t x = v.get<int64_t>();
            if (x < int64_t(std::numeric_limits<I>::min()) ||
                x > int64_t(std::numeric_limits<I>::max())) {
                throw SpecError(path, "is out of range");
            }
            out = I(x);
        }
    }
    static void convert(const json& v, const std::string& path, std::vector<int>& out) {
        if (!v.is_array()) {
            throw SpecError(path, "must be an array of integers");
        }
        out.clear();
        for (std::size_t i = 0; i < v.size(); ++i) {
            int x = 0;
            convert(v[i], path + "[" + std::to_string(i) + "]", x);
            out.push_back(x);
        }
    }

    const json& m_j;
    std::string m_path;
    std::set<std::string> m_seen;
};

template <typename T>
std::string show(const T& v) {
    std::ostringstream os;
    os << v;
    return os.str();
}

void requireOneOf(const std::string& field, const std::string& value,
                  std::initializer_list<const char*> allowed) {
    for (const char* a : allowed) {
        if (value == a) {
            return;
        }
    }
    std::string list;
    for (const char* a : allowed) {
        list += list.empty() ? a : std::string(", ") + a;
    }
    throw SpecError(field, "must be one of " + list + " (got \"" + value + "\")");
}

template <typename T>
void requireRange(const std::string& field, T value, T lo, T hi) {
    if (value < lo || value > hi) {
        throw SpecError(
            field, "must be in [" + show(lo) + ", " + show(hi) + "] (got " + show(value) + ")");
    }
}

void requireBits(const std::string& field, int bits, bool allowFloat) {
    if (allowFloat && bits == 0) {
        return;
    }
    if (bits < 2 || bits > 8) {
        throw SpecError(field, std::string("must be ") + (allowFloat ? "0 (float) or " : "") +
                                   "2..8 bits (got " + std::to_string(bits) + ")");
    }
}

json toJsonTree(const RunSpec& s) {
    json layers = json::object();
    for (const auto& [name, b] : s.quant.layers) {
        json l = json::object();
        if (b.weightBits >= 0) {
            l["weight_bits"] = b.weightBits;
        }
        if (b.actBits >= 0) {
            l["act_bits"] = b.actBits;
        }
        layers[name] = l;
    }
    return json{
        {"version", s.version},
        {"name", s.name},
        {"model",
         {{"arch", s.model.arch},
          {"in_channels", s.model.inChannels},
          {"num_classes", s.model.numClasses},
          {"bert",
           {{"layers", s.model.bert.layers},
            {"hidden", s.model.bert.hidden},
            {"heads", s.model.bert.heads},
            {"intermediate", s.model.bert.intermediate},
            {"max_positions", s.model.bert.maxPositions},
            {"vocab_size", s.model.bert.vocabSize},
            {"dropout", s.model.bert.dropout},
            {"pretrained", s.model.bert.pretrained}}}}},
        {"data",
         {{"dataset", s.data.dataset},
          {"path", s.data.path},
          {"task", s.data.task},
          {"max_length", s.data.maxLength},
          {"lower_case", s.data.lowerCase},
          {"vocab_min_frequency", s.data.vocabMinFrequency},
          {"train_limit", s.data.trainLimit},
          {"test_limit", s.data.testLimit},
          {"augment", s.data.augment},
          {"crop_padding", s.data.cropPadding},
          {"flip", s.data.flip},
          {"batch_size", s.data.batchSize},
          {"eval_batch_size", s.data.evalBatchSize}}},
        {"method",
         {{"name", s.method.name},
          {"squat",
           {{"schedule", s.method.squat.schedule},
            {"k", s.method.squat.k},
            {"site", s.method.squat.site},
            {"rho", s.method.squat.rho},
            {"rho_warmup_epochs", s.method.squat.rhoWarmupEpochs},
            {"asam", s.method.squat.asam},
            {"joint", s.method.squat.joint}}},
          {"nt",
           {{"lambda0", s.method.nt.lambda0},
            {"tau", s.method.nt.tau},
            {"end_lambda", s.method.nt.endLambda},
            {"end_fraction", s.method.nt.endFraction},
            {"distribution", s.method.nt.distribution},
            {"amplitude", s.method.nt.amplitude},
            {"weights", s.method.nt.weights},
            {"activations", s.method.nt.activations},
            {"learn_grad_scale", s.method.nt.learnGradScale}}},
          {"ptq",
           {{"calibration", s.method.ptq.calibration},
            {"percentile", s.method.ptq.percentile},
            {"batches", s.method.ptq.batches}}},
          {"distill",
           {{"enabled", s.method.distill.enabled},
            {"teacher", s.method.distill.teacher},
            {"alpha", s.method.distill.alpha},
            {"temperature", s.method.distill.temperature},
            {"hidden_weight", s.method.distill.hiddenWeight},
            {"attention_weight", s.method.distill.attentionWeight}}}}},
        {"quant",
         {{"weight_bits", s.quant.weightBits},
          {"act_bits", s.quant.actBits},
          {"first_last", s.quant.firstLast},
          {"per_channel", s.quant.perChannel},
          {"group_rows", s.quant.groupRows},
          {"embedding_bits", s.quant.embeddingBits},
          {"attention_bits", s.quant.attentionBits},
          {"grad_scale", s.quant.gradScale},
          {"scale_weight_decay_by_bits", s.quant.scaleWeightDecayByBits},
          {"layers", layers}}},
        {"optim",
         {{"optimizer", s.optim.optimizer},
          {"lr", s.optim.lr},
          {"momentum", s.optim.momentum},
          {"nesterov", s.optim.nesterov},
          {"weight_decay", s.optim.weightDecay},
          {"beta1", s.optim.beta1},
          {"beta2", s.optim.beta2},
          {"schedule", s.optim.schedule},
          {"milestones", s.optim.milestones},
          {"gamma", s.optim.gamma},
          {"warmup_epochs", s.optim.warmupEpochs},
          {"epochs", s.optim.epochs}}},
        {"analysis",
         {{"landscape",
           {{"epochs", s.analysis.landscape.epochs},
            {"nx", s.analysis.landscape.nx},
            {"ny", s.analysis.landscape.ny},
            {"range", s.analysis.landscape.range},
            {"samples", s.analysis.landscape.samples},
            {"mode", s.analysis.landscape.mode},
            {"seed", s.analysis.landscape.seed}}}}},
        {"distributed",
         {{"processes", s.distributed.processes},
          {"timeout_s", s.distributed.timeoutS},
          {"bucket_mb", s.distributed.bucketMb}}},
        {"init_checkpoint", s.initCheckpoint},
        {"seed", s.seed},
        {"threads", s.threads},
        {"log_every", s.logEvery},
        {"state_every", s.stateEvery},
    };
}

RunSpec fromJsonTree(const json& root) {
    RunSpec s;
    ObjectReader r(root, "");
    r.read("version", s.version);
    if (s.version != kRunSpecVersion) {
        throw SpecError("version", "unsupported spec version " + std::to_string(s.version) +
                                       " (this build reads version " +
                                       std::to_string(kRunSpecVersion) + ")");
    }
    r.read("name", s.name);
    if (const json* m = r.child("model")) {
        ObjectReader o(*m, "model");
        o.read("arch", s.model.arch);
        o.read("in_channels", s.model.inChannels);
        o.read("num_classes", s.model.numClasses);
        if (const json* b = o.child("bert")) {
            ObjectReader c(*b, "model.bert");
            c.read("layers", s.model.bert.layers);
            c.read("hidden", s.model.bert.hidden);
            c.read("heads", s.model.bert.heads);
            c.read("intermediate", s.model.bert.intermediate);
            c.read("max_positions", s.model.bert.maxPositions);
            c.read("vocab_size", s.model.bert.vocabSize);
            c.read("dropout", s.model.bert.dropout);
            c.read("pretrained", s.model.bert.pretrained);
            c.finish();
        }
        o.finish();
    }
    if (const json* d = r.child("data")) {
        ObjectReader o(*d, "data");
        o.read("dataset", s.data.dataset);
        o.read("path", s.data.path);
        o.read("task", s.data.task);
        o.read("max_length", s.data.maxLength);
        o.read("lower_case", s.data.lowerCase);
        o.read("vocab_min_frequency", s.data.vocabMinFrequency);
        o.read("train_limit", s.data.trainLimit);
        o.read("test_limit", s.data.testLimit);
        o.read("augment", s.data.augment);
        o.read("crop_padding", s.data.cropPadding);
        o.read("flip", s.data.flip);
        o.read("batch_size", s.data.batchSize);
        o.read("eval_batch_size", s.data.evalBatchSize);
        o.finish();
    }
    if (const json* m = r.child("method")) {
        ObjectReader o(*m, "method");
        o.read("name", s.method.name);
        if (const json* q = o.child("squat")) {
            ObjectReader c(*q, "method.squat");
            c.read("schedule", s.method.squat.schedule);
            c.read("k", s.method.squat.k);
            c.read("site", s.method.squat.site);
            c.read("rho", s.method.squat.rho);
            c.read("rho_warmup_epochs", s.method.squat.rhoWarmupEpochs);
            c.read("asam", s.method.squat.asam);
            c.read("joint", s.method.squat.joint);
            c.finish();
        }
        if (const json* q = o.child("nt")) {
            ObjectReader c(*q, "method.nt");
            c.read("lambda0", s.method.nt.lambda0);
            c.read("tau", s.method.nt.tau);
            c.read("end_lambda", s.method.nt.endLambda);
            c.read("end_fraction", s.method.nt.endFraction);
            c.read("distribution", s.method.nt.distribution);
            c.read("amplitude", s.method.nt.amplitude);
            c.read("weights", s.method.nt.weights);
            c.read("activations", s.method.nt.activations);
            c.read("learn_grad_scale", s.method.nt.learnGradScale);
            c.finish();
        }
        if (const json* q = o.child("ptq")) {
            ObjectReader c(*q, "method.ptq");
            c.read("calibration", s.method.ptq.calibration);
            c.read("percentile", s.method.ptq.percentile);
            c.read("batches", s.method.ptq.batches);
            c.finish();
        }
        if (const json* q = o.child("distill")) {
            ObjectReader c(*q, "method.distill");
            c.read("enabled", s.method.distill.enabled);
            c.read("teacher", s.method.distill.teacher);
            c.read("alpha", s.method.distill.alpha);
            c.read("temperature", s.method.distill.temperature);
            c.read("hidden_weight", s.method.distill.hiddenWeight);
            c.read("attention_weight", s.method.distill.attentionWeight);
            c.finish();
        }
        o.finish();
    }
    if (const json* q = r.child("quant")) {
        ObjectReader o(*q, "quant");
        o.read("weight_bits", s.quant.weightBits);
        o.read("act_bits", s.quant.actBits);
        o.read("first_last", s.quant.firstLast);
        o.read("per_channel", s.quant.perChannel);
        o.read("group_rows", s.quant.groupRows);
        o.read("embedding_bits", s.quant.embeddingBits);
        o.read("attention_bits", s.quant.attentionBits);
        o.read("grad_scale", s.quant.gradScale);
        o.read("scale_weight_decay_by_bits", s.quant.scaleWeightDecayByBits);
        if (const json* layers = o.child("layers")) {
            if (!layers->is_object()) {
                throw SpecError("quant.layers", "must be an object keyed by layer path");
            }
            for (auto it = layers->begin(); it != layers->end(); ++it) {
                const std::string path = "quant.layers." + it.key();
                ObjectReader l(it.value(), path);
                LayerBits b;
                l.read("weight_bits", b.weightBits);
                l.read("act_bits", b.actBits);
                l.finish();
                s.quant.layers[it.key()] = b;
            }
        }
        o.finish();
    }
    if (const json* p = r.child("optim")) {
        ObjectReader o(*p, "optim");
        o.read("optimizer", s.optim.optimizer);
        o.read("lr", s.optim.lr);
        o.read("momentum", s.optim.momentum);
        o.read("nesterov", s.optim.nesterov);
        o.read("weight_decay", s.optim.weightDecay);
        o.read("beta1", s.optim.beta1);
        o.read("beta2", s.optim.beta2);
        o.read("schedule", s.optim.schedule);
        o.read("milestones", s.optim.milestones);
        o.read("gamma", s.optim.gamma);
        o.read("warmup_epochs", s.optim.warmupEpochs);
        o.read("epochs", s.optim.epochs);
        o.finish();
    }
    if (const json* a = r.child("analysis")) {
        ObjectReader o(*a, "analysis");
        if (const json* l = o.child("landscape")) {
            ObjectReader c(*l, "analysis.landscape");
            c.read("epochs", s.analysis.landscape.epochs);
            c.read("nx", s.analysis.landscape.nx);
            c.read("ny", s.analysis.landscape.ny);
            c.read("range", s.analysis.landscape.range);
            c.read("samples", s.analysis.landscape.samples);
            c.read("mode", s.analysis.landscape.mode);
            c.read("seed", s.analysis.landscape.seed);
            c.finish();
        }
        o.finish();
    }
    if (const json* d = r.child("distributed")) {
        ObjectReader c(*d, "distributed");
        c.read("processes", s.distributed.processes);
        c.read("timeout_s", s.distributed.timeoutS);
        c.read("bucket_mb", s.distributed.bucketMb);
        c.finish();
    }
    r.read("init_checkpoint", s.initCheckpoint);
    r.read("seed", s.seed);
    r.read("threads", s.threads);
    r.read("log_every", s.logEvery);
    r.read("state_every", s.stateEvery);
    r.finish();
    s.validate();
    return s;
}

/// Sets root[a][b][c] = value for "a.b.c", creating objects on the way. Layer paths contain
/// dots themselves, so "quant.layers.<layer path>.<field>" is split specially.
void setDotted(json& root, const std::string& dotted, const json& value) {
    std::vector<std::string> parts;
    const std::string layersPrefix = "quant.layers.";
    if (dotted.rfind(layersPrefix, 0) == 0) {
        const std::string rest = dotted.substr(layersPrefix.size());
        const auto lastDot = rest.rfind('.');
        if (lastDot == std::string::npos || lastDot == 0) {
            throw SpecError(dotted, "expected quant.layers.<layer>.weight_bits or .act_bits");
        }
        parts = {"quant", "layers", rest.substr(0, lastDot), rest.substr(lastDot + 1)};
    } else {
        std::size_t begin = 0;
        while (true) {
            const std::size_t dot = dotted.find('.', begin);
            const std::string part =
                dotted.substr(begin, dot == std::string::npos ? dot : dot - begin);
            if (part.empty()) {
                throw SpecError(dotted, "empty path component");
            }
            parts.push_back(part);
            if (dot == std::string::npos) {
                break;
            }
            begin = dot + 1;
        }
    }
    if (parts.empty()) {
        throw SpecError(dotted, "empty field path");
    }
    json* node = &root;
    std::string seen;
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
        seen = join(seen, parts[i]);
        json& next = (*node)[parts[i]];
        if (next.is_null()) {
            next = json::object();
        } else if (!next.is_object()) {
            throw SpecError(seen, "is not an object, cannot set " + dotted);
        }
        node = &next;
    }
    (*node)[parts.back()] = value;
}

}  // namespace

void RunSpec::validate() const {
    if (name.empty()) {
        throw SpecError("name", "must not be empty");
    }
    requireOneOf("model.arch", model.arch,
                 {"resnet20", "resnet32", "resnet44", "resnet56", "resnet18", "bert"});
    requireRange("model.in_channels", model.inChannels, 0, 64);
    requireRange("model.num_classes", model.numClasses, 0, 100000);
    requireOneOf("data.dataset", data.dataset,
                 {"fashion-mnist", "mnist", "cifar10", "cifar100", "spam-assassin", "glue"});
    if (isBert() != isTextDataset(data.dataset)) {
        throw SpecError("data.dataset",
                        isBert()
                            ? "BERT reads text: spam-assassin or glue (got " + data.dataset + ")"
                            : model.arch + " reads images, not the text of " + data.dataset);
    }
    if (data.dataset == "glue") {
        if (data.task.empty()) {
            throw SpecError("data.task",
                            "glue needs a task (CoLA, SST-2, MRPC, STS-B, QQP, "
                            "MNLI, QNLI, RTE or WNLI)");
        }
        if (data.path.empty()) {
            throw SpecError("data.path", "glue has no default location: name the GLUE folder");
        }
        try {
            data::glueTaskName(data.task);
        } catch (const std::invalid_argument& e) {
            throw SpecError("data.task", e.what());
        }
    } else if (!data.task.empty()) {
        throw SpecError("data.task", "only glue has tasks (got \"" + data.task + "\")");
    }
    const BertSpec& b = model.bert;
    requireRange("model.bert.layers", b.layers, 1, 48);
    requireRange("model.bert.hidden", b.hidden, 8, 8192);
    requireRange("model.bert.heads", b.heads, 1, 128);
    if (b.hidden % b.heads != 0) {
        throw SpecError("model.bert.heads", "hidden (" + std::to_string(b.hidden) +
                                                ") must be a multiple of heads (" +
                                                std::to_string(b.heads) + ")");
    }
    requireRange("model.bert.intermediate", b.intermediate, 8, 65536);
    requireRange("model.bert.max_positions", b.maxPositions, 8, 8192);
    requireRange("model.bert.vocab_size", b.vocabSize, 100, 1000000);
    requireRange("model.bert.dropout", b.dropout, 0.0, 0.9);
    requireRange("data.max_length", data.maxLength, 4, 8192);
    if (isBert() && b.pretrained.empty() && data.maxLength > b.maxPositions) {
        throw SpecError("data.max_length", "must be <= model.bert.max_positions (" +
                                               std::to_string(b.maxPositions) + ")");
    }
    requireRange("data.vocab_min_frequency", data.vocabMinFrequency, 1, 1000000);
    if (data.trainLimit < 0) {
        throw SpecError("data.train_limit", "must be >= 0 (0 = all)");
    }
    if (data.testLimit < 0) {
        throw SpecError("data.test_limit", "must be >= 0 (0 = all)");
    }
    requireRange("data.crop_padding", data.cropPadding, -1, 16);
    requireRange("data.batch_size", data.batchSize, 1, 65536);
    requireRange("data.eval_batch_size", data.evalBatchSize, 1, 65536);
    requireOneOf("method.name", method.name, {"fp", "lsq", "squat", "nt", "ptq"});
    requireOneOf("method.squat.schedule", method.squat.schedule, {"per-step", "alternate"});
    requireRange("method.squat.k", method.squat.k, 1, 1000);
    requireOneOf("method.squat.site", method.squat.site, {"latent", "quantized"});
    if (!(method.squat.rho > 0.0) || method.squat.rho > 10.0) {
        throw SpecError("method.squat.rho",
                        "must be in (0, 10] (got " + show(method.squat.rho) + ")");
    }
    requireRange("method.squat.rho_warmup_epochs", method.squat.rhoWarmupEpochs, 0.0,
                 double(optim.epochs));
    if (method.squat.joint && method.squat.schedule != "per-step") {
        throw SpecError("method.squat.joint",
                        "joint SAM over weights and step sizes has no alternate schedule");
    }
    if (method.squat.joint && method.squat.site != "latent") {
        throw SpecError("method.squat.joint", "joint SAM perturbs the latent weights only");
    }
    requireRange("method.nt.lambda0", method.nt.lambda0, 0.0, 100.0);
    requireRange("method.nt.tau", method.nt.tau, 0.0, 1e12);
    // tau = 0 derives tau from (end_lambda, end_fraction), which needs 0 < end_lambda < lambda0.
    if (method.nt.tau == 0.0 && method.nt.lambda0 > 0.0 &&
        !(method.nt.endLambda > 0.0 && method.nt.endLambda < method.nt.lambda0)) {
        throw SpecError("method.nt.end_lambda", "must be in (0, lambda0) when tau is 0 (got " +
                                                    show(method.nt.endLambda) + ")");
    }
    if (!(method.nt.endFraction > 0.0) || method.nt.endFraction > 1.0) {
        throw SpecError("method.nt.end_fraction",
                        "must be in (0, 1] (got " + show(method.nt.endFraction) + ")");
    }
    requireOneOf("method.nt.distribution", method.nt.distribution, {"uniform", "normal"});
    requireOneOf("method.nt.amplitude", method.nt.amplitude, {"error", "half-step"});
    requireOneOf("method.ptq.calibration", method.ptq.calibration, {"minmax", "percentile", "mse"});
    if (!(method.ptq.percentile > 50.0) || method.ptq.percentile > 100.0) {
        throw SpecError("method.ptq.percentile",
                        "must be in (50, 100] (got " + show(method.ptq.percentile) + ")");
    }
    requireRange("method.ptq.batches", method.ptq.batches, 1, 10000);
    if (method.name == "ptq" && initCheckpoint.empty()) {
        throw SpecError("init_checkpoint",
                        "ptq calibrates a trained model: name its float checkpoint");
    }
    requireRange("method.distill.alpha", method.distill.alpha, 0.0, 1.0);
    if (!(method.distill.temperature > 0.0) || method.distill.temperature > 100.0) {
        throw SpecError("method.distill.temperature",
                        "must be in (0, 100] (got " + show(method.distill.temperature) + ")");
    }
    requireRange("method.distill.hidden_weight", method.distill.hiddenWeight, 0.0, 1000.0);
    requireRange("method.distill.attention_weight", method.distill.attentionWeight, 0.0, 1000.0);
    if (!isBert() && (method.distill.hiddenWeight > 0.0 || method.distill.attentionWeight > 0.0)) {
        throw SpecError(method.distill.hiddenWeight > 0.0 ? "method.distill.hidden_weight"
                                                          : "method.distill.attention_weight",
                        "hidden-state and attention distillation are for BERT");
    }
    if (method.distill.enabled) {
        if (method.name == "fp" || method.name == "ptq") {
            throw SpecError(
                "method.distill.enabled",
                "distillation is for the QAT methods (lsq, squat, nt), not " + method.name);
        }
        if (method.distill.teacher.empty() && initCheckpoint.empty() &&
            (!isBert() || model.bert.pretrained.empty())) {
            throw SpecError("method.distill.teacher",
                            "distillation needs a float teacher: set method.distill.teacher or "
                            "init_checkpoint");
        }
    }
    requireBits("quant.weight_bits", quant.weightBits, false);
    requireBits("quant.act_bits", quant.actBits, false);
    requireOneOf("quant.first_last", quant.firstLast, {"auto", "8bit", "float", "same"});
    requireRange("quant.group_rows", quant.groupRows, 0, 1 << 20);
    if (quant.groupRows > 0 && !isBert()) {
        throw SpecError("quant.group_rows", "group-wise ranges are for BERT's linear layers");
    }
    if (quant.groupRows > 0 && quant.perChannel) {
        throw SpecError("quant.group_rows",
                        "group-wise and per_channel step sizes exclude each "
                        "other (per_channel is group_rows 1)");
    }
    if (quant.embeddingBits != -1) {
        requireBits("quant.embedding_bits", quant.embeddingBits, true);
    }
    if (quant.attentionBits != -1) {
        requireBits("quant.attention_bits", quant.attentionBits, true);
    }
    requireOneOf("quant.grad_scale", quant.gradScale, {"numel", "per-sample"});
    for (const auto& [layer, b] : quant.layers) {
        if (layer.empty()) {
            throw SpecError("quant.layers", "layer path must not be empty");
        }
        // -1 means "keep the uniform default" (the field was left out).
        if (b.weightBits != -1) {
            requireBits("quant.layers." + layer + ".weight_bits", b.weightBits, true);
        }
        if (b.actBits != -1) {
            requireBits("quant.layers." + layer + ".act_bits", b.actBits, true);
        }
    }
    requireOneOf("optim.optimizer", optim.optimizer, {"sgd", "adamw"});
    if (!(optim.lr > 0.0) || optim.lr > 10.0) {
        throw SpecError("optim.lr", "must be in (0, 10] (got " + show(optim.lr) + ")");
    }
    requireRange("optim.momentum", optim.momentum, 0.0, 0.999999);
    requireRange("optim.weight_decay", optim.weightDecay, 0.0, 1.0);
    requireRange("optim.beta1", optim.beta1, 0.0, 0.999999);
    requireRange("optim.beta2", optim.beta2, 0.0, 0.999999);
    requireOneOf("optim.schedule", optim.schedule, {"cosine", "linear", "step", "constant"});
    requireRange("optim.gamma", optim.gamma, 1e-6, 1.0);
    requireRange("optim.epochs", optim.epochs, 1, 10000);
    requireRange("optim.warmup_epochs", optim.warmupEpochs, 0.0, double(optim.epochs));
    for (std::size_t i = 0; i < optim.milestones.size(); ++i) {
        const std::string f = "optim.milestones[" + std::to_string(i) + "]";
        requireRange(f, optim.milestones[i], 1, optim.epochs);
        if (i > 0 && optim.milestones[i] <= optim.milestones[i - 1]) {
            throw SpecError(f, "milestones must be strictly increasing");
        }
    }
    if (optim.schedule == "step" && optim.milestones.empty()) {
        throw SpecError("optim.milestones", "the step schedule needs at least one milestone");
    }
    if (optim.nesterov && optim.optimizer == "sgd" && optim.momentum == 0.0) {
        throw SpecError("optim.nesterov", "Nesterov momentum needs optim.momentum > 0");
    }
    const LandscapeSnapshotSpec& land = analysis.landscape;
    for (std::size_t i = 0; i < land.epochs.size(); ++i) {
        const std::string f = "analysis.landscape.epochs[" + std::to_string(i) + "]";
        if (!trains()) {
            throw SpecError(f, method.name + " does not train: it has no epochs to snapshot");
        }
        requireRange(f, land.epochs[i], 1, optim.epochs);
        if (i > 0 && land.epochs[i] <= land.epochs[i - 1]) {
            throw SpecError(f, "epochs must be strictly increasing");
        }
    }
    requireRange("analysis.landscape.nx", land.nx, 1, 1001);
    requireRange("analysis.landscape.ny", land.ny, 1, 1001);
    if (!(land.range > 0.0) || land.range > 1000.0) {
        throw SpecError("analysis.landscape.range",
                        "must be in (0, 1000] (got " + show(land.range) + ")");
    }
    requireRange("analysis.landscape.samples", land.samples, int64_t(1), int64_t(10000000));
    if (!land.mode.empty()) {
        requireOneOf("analysis.landscape.mode", land.mode,
                     {"float", "dequantized", "quantize-after"});
    }
    requireRange("threads", threads, 0, 1024);
    requireRange("distributed.processes", distributed.processes, 1, 1024);
    if (!(distributed.timeoutS >= 1.0) || distributed.timeoutS > 86400.0) {
        throw SpecError("distributed.timeout_s",
                        "must be in [1, 86400] seconds (got " + show(distributed.timeoutS) + ")");
    }
    if (!(distributed.bucketMb > 0.0) || distributed.bucketMb > 4096.0) {
        throw SpecError("distributed.bucket_mb",
                        "must be in (0, 4096] (got " + show(distributed.bucketMb) + ")");
    }
    if (distributed.processes > 1 && data.batchSize < 2 * distributed.processes) {
        throw SpecError("data.batch_size",
                        "must be at least 2 per process with distributed.processes " +
                            std::to_string(distributed.processes) + " (got " +
                            std::to_string(data.batchSize) + ")");
    }
    requireRange("log_every", logEvery, 1, 1000000);
    requireRange("state_every", stateEvery, 1, 1000000);
}

RunSpec RunSpec::fromJson(const std::string& text) {
    json root;
    try {
        root = json::parse(text);
    } catch (const json::exception& e) {
        // parse_error, and out_of_range for numbers beyond double (1e400).
        throw SpecError("", std::string("not valid JSON: ") + e.what());
    }
    return fromJsonTree(root);
}

std::string RunSpec::toJson() const {
    return toJsonTree(*this).dump(2);
}

RunSpec applyOverrides(const RunSpec& spec, const std::vector<std::string>& assignments) {
    json root = toJsonTree(spec);
    for (const std::string& a : assignments) {
        const auto eq = a.find('=');
        if (eq == std::string::npos || eq == 0) {
            throw SpecError("", "override \"" + a + "\" must look like KEY=VALUE");
        }
        const std::string key = a.substr(0, eq);
        const std::string text = a.substr(eq + 1);
        // A spec is JSON, whose strings are UTF-8: a Latin-1 path or layer name from the shell
        // would otherwise make the spec unwritable (toJson() throws json type_error 316).
        try {
            (void)json(a).dump();
        } catch (const json::type_error&) {
            throw SpecError(key, "override \"" + a + "\" is not valid UTF-8");
        }
        json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
        if (value.is_discarded()) {
            value = text;  // a bare word: a string value
        }
        setDotted(root, key, value);
    }
    return fromJsonTree(root);
}

std::string RunSpec::firstLastRule() const {
    if (quant.firstLast != "auto") {
        return quant.firstLast;
    }
    return isBert() ? "float" : "8bit";
}

bool RunSpec::firstLastRuleCovers(std::size_t i, std::size_t n) const {
    return i + 1 == n || (i == 0 && !isBert());
}

bool isTextDataset(const std::string& dataset) {
    return dataset == "spam-assassin" || dataset == "glue";
}

std::string defaultDatasetPath(const std::string& dataset) {
    if (dataset == "fashion-mnist") {
        return "/usr/share/datasets/fashion-mnist";
    }
    if (dataset == "spam-assassin") {
        return data::defaultSpamAssassinFolder();
    }
    return {};
}

}  // namespace qs::session
