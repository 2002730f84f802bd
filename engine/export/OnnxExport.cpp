#include "engine/export/OnnxExport.h"

#include "engine/export/ExportModel.h"
#include "engine/models/Bert.h"
#include "engine/models/ResNet.h"

#include <onnx/onnx_pb.h>
#include <torch/torch.h>

#include <climits>
#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>
#include <vector>

#ifndef QS_VERSION
#define QS_VERSION "dev"
#endif

namespace qs::exporting {

namespace {

// Opset 17 has LayerNormalization (BERT's LayerNorms stay one node each) and Shape's start/end;
// IR version 8 is the one that opset belongs to (onnx 1.12, whose checker the tests run).
constexpr int kOpset = 17;
constexpr int64_t kIrVersion = 8;

using Attr = std::function<void(onnx::NodeProto&)>;

Attr ints(const char* name, std::vector<int64_t> values) {
    return [name, values](onnx::NodeProto& n) {
        onnx::AttributeProto* a = n.add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto::INTS);
        for (int64_t v : values) {
            a->add_ints(v);
        }
    };
}

Attr intAttr(const char* name, int64_t value) {
    return [name, value](onnx::NodeProto& n) {
        onnx::AttributeProto* a = n.add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto::INT);
        a->set_i(value);
    };
}

Attr floatAttr(const char* name, float value) {
    return [name, value](onnx::NodeProto& n) {
        onnx::AttributeProto* a = n.add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto::FLOAT);
        a->set_f(value);
    };
}

/// Builds one graph: initializers from tensors, nodes named after the value they produce (module
/// paths, so a viewer shows where each node comes from), and the QDQ pairs.
class GraphWriter {
public:
    explicit GraphWriter(onnx::GraphProto& graph) : m_graph(graph) {}

    /// Adds a node with one output named `output` (made unique) and returns that name.
    std::string node(const std::string& op, const std::vector<std::string>& inputs,
                     const std::string& output, const std::vector<Attr>& attrs = {}) {
        const std::string out = unique(output);
        onnx::NodeProto* n = m_graph.add_node();
        n->set_op_type(op);
        n->set_name(out);
        for (const std::string& in : inputs) {
            n->add_input(in);
        }
        n->add_output(out);
        for (const Attr& a : attrs) {
            a(*n);
        }
        return out;
    }

    /// A float initializer with the tensor's shape and values (a 0-d tensor stays a scalar).
    const std::string& floats(const std::string& name, const torch::Tensor& t) {
        const torch::Tensor c = t.detach().to(torch::kCPU, torch::kFloat).contiguous();
        onnx::TensorProto* p = addInitializer(name, onnx::TensorProto::FLOAT, c.sizes().vec());
        p->set_raw_data(c.data_ptr(), std::size_t(c.numel()) * sizeof(float));
        return p->name();
    }

    /// Constants shared by the whole graph (one initializer per distinct value).
    std::string scalar(float value) {
        const std::string name = "const.f" + std::to_string(m_constants.size());
        const auto [it, inserted] = m_constants.emplace(value, name);
        if (inserted) {
            floats(name, torch::tensor(value));
        }
        return it->second;
    }
    std::string int64s(const std::string& name, const std::vector<int64_t>& values,
                       bool scalar = false) {
        if (m_names.count(name) > 0) {
            return name;  // shared constants are written once
        }
        onnx::TensorProto* p = addInitializer(
            name, onnx::TensorProto::INT64,
            scalar ? std::vector<int64_t>{} : std::vector<int64_t>{int64_t(values.size())});
        p->set_raw_data(values.data(), values.size() * sizeof(int64_t));
        return name;
    }

    /// QuantizeLinear -> [Clip] -> DequantizeLinear for one quantizer, named <path>.*. `rows` > 0
    /// for a weight (its output rows): per-channel and group-wise steps quantize along axis 0.
    std::string qdq(const std::string& x, const quant::QuantizerImpl& q, const std::string& path,
                    int64_t rows) {
        const int bits = q.options().bits();
        const bool isSigned = q.options().is_signed();
        if (bits > 8) {
            // QuantizeLinear holds int8/uint8 codes until opset 21's int16.
            throw std::runtime_error("quantizer '" + path + "' has " + std::to_string(bits) +
                                     " bits; ONNX QuantizeLinear (opset " + std::to_string(kOpset) +
                                     ") holds at most 8");
        }
        torch::Tensor steps = q.step_size.detach().to(torch::kFloat).flatten();
        const int64_t n = steps.numel();
        bool perAxis = false;
        if (n > 1) {
            if (rows <= 0 || rows % n != 0) {
                throw std::runtime_error("quantizer '" + path + "' has " + std::to_string(n) +
                                         " step sizes, which do not divide its tensor's rows");
            }
            // Group-wise (Q-BERT): each group's step for every row of the group, so that one
            // per-axis scale covers it (a group is a block of consecutive rows).
            steps = steps.repeat_interleave(rows / n);
            perAxis = true;
        } else {
            steps = steps.reshape({});  // per tensor: QuantizeLinear wants a scalar scale
        }
        const std::string scale = floats(path + ".scale", steps);
        const auto codeType = isSigned ? onnx::TensorProto::INT8 : onnx::TensorProto::UINT8;
        const std::string zeroPoint = codes(path + ".zero_point", codeType, steps.sizes().vec(), 0);
        std::vector<Attr> axis;
        if (perAxis) {
            axis.push_back(intAttr("axis", 0));
        }
        std::string y = node("QuantizeLinear", {x, scale, zeroPoint}, path + ".codes", axis);
        if (bits < 8) {
            // The code type saturates at 8 bits; narrower ranges clamp the codes themselves.
            const int64_t qn = isSigned ? (int64_t(1) << (bits - 1)) : 0;
            const int64_t qp = isSigned ? (int64_t(1) << (bits - 1)) - 1 : (int64_t(1) << bits) - 1;
            y = node("Clip",
                     {y, codes(path + ".code_min", codeType, {}, -qn),
                      codes(path + ".code_max", codeType, {}, qp)},
                     path + ".clipped_codes");
        }
        ++m_qdqPairs;
        return node("DequantizeLinear", {y, scale, zeroPoint}, path + ".output", axis);
    }

    int64_t qdqPairs() const { return m_qdqPairs; }

private:
    std::string unique(const std::string& name) {
        std::string out = name;
        for (int i = 1; !m_names.insert(out).second; ++i) {
            out = name + "_" + std::to_string(i);
        }
        return out;
    }

    onnx::TensorProto* addInitializer(const std::string& name, int type,
                                      const std::vector<int64_t>& dims) {
        if (!m_names.insert(name).second) {
            throw std::runtime_error("two graph values named '" + name + "'");
        }
        onnx::TensorProto* p = m_graph.add_initializer();
        p->set_name(name);
        p->set_data_type(type);
        for (int64_t d : dims) {
            p->add_dims(d);
        }
        return p;
    }

    /// An int8/uint8 initializer of `dims` filled with `value`.
    std::string codes(const std::string& name, int type, const std::vector<int64_t>& dims,
                      int64_t value) {
        int64_t count = 1;
        for (int64_t d : dims) {
            count *= d;
        }
        onnx::TensorProto* p = addInitializer(name, type, dims);
        p->set_raw_data(std::string(std::size_t(count), char(int8_t(value))));
        return name;
    }

    onnx::GraphProto& m_graph;
    std::set<std::string> m_names;
    std::map<float, std::string> m_constants;
    int64_t m_qdqPairs = 0;
};

// ---- layers shared by both models -----------------------------------------------------------

/// The layer's input as the layer sees it: its ReLU (when it applies one) and input quantizer.
std::string layerInput(GraphWriter& w, const std::string& x, quant::QuantLayer& layer,
                       const std::string& path) {
    const quant::Quantizer iq = layer.inputQuantizer();
    if (iq && iq->options().relu_input()) {
        // The unsigned range is the ReLU (LSQ clamps at 0): uint8 codes saturate there too.
        return w.qdq(x, *iq, path + ".input_quantizer", 0);
    }
    std::string in = layer.inputRelu() ? w.node("Relu", {x}, path + ".input_relu") : x;
    return iq ? w.qdq(in, *iq, path + ".input_quantizer", 0) : in;
}

/// The weight initializer under its checkpoint name, through its QDQ pair when quantized.
std::string layerWeight(GraphWriter& w, quant::QuantLayer& layer, const std::string& path) {
    const std::string name = w.floats(path + ".weight", layer.quantWeight());
    const quant::Quantizer wq = layer.weightQuantizer();
    return wq ? w.qdq(name, *wq, path + ".weight_quantizer", layer.outChannels()) : name;
}

std::string conv(GraphWriter& w, const std::string& x, quant::QConv2dImpl& layer,
                 const std::string& path, int64_t stride) {
    const std::string in = layerInput(w, x, layer, path);
    const std::string weight = layerWeight(w, layer, path);
    const int64_t k = layer.weight.size(2);
    std::vector<std::string> inputs{in, weight};
    if (layer.bias.defined()) {
        inputs.push_back(w.floats(path + ".bias", layer.bias));
    }
    // Every conv of these ResNets pads by half its kernel ("same" for stride 1).
    return w.node("Conv", inputs, path + ".output",
                  {ints("kernel_shape", {k, k}), ints("strides", {stride, stride}),
                   ints("pads", {k / 2, k / 2, k / 2, k / 2})});
}

std::string batchNorm(GraphWriter& w, const std::string& x, torch::nn::BatchNorm2dImpl& bn,
                      const std::string& path) {
    return w.node("BatchNormalization",
                  {x, w.floats(path + ".weight", bn.weight), w.floats(path + ".bias", bn.bias),
                   w.floats(path + ".running_mean", bn.running_mean),
                   w.floats(path + ".running_var", bn.running_var)},
                  path + ".output", {floatAttr("epsilon", float(bn.options.eps()))});
}

/// y = Q(x) Q(W)^T + b. Gemm for [batch, features] inputs, MatMul for [batch, tokens, features].
std::string linear(GraphWriter& w, const std::string& x, quant::QLinearImpl& layer,
                   const std::string& path, bool rank2, const std::string& output = {}) {
    const std::string in = layerInput(w, x, layer, path);
    const std::string weight = layerWeight(w, layer, path);
    const std::string out = output.empty() ? path + ".output" : output;
    if (rank2) {
        std::vector<std::string> inputs{in, weight};
        if (layer.bias.defined()) {
            inputs.push_back(w.floats(path + ".bias", layer.bias));
        }
        return w.node("Gemm", inputs, out, {intAttr("transB", 1)});
    }
    const std::string t = w.node("Transpose", {weight}, path + ".weight_t", {ints("perm", {1, 0})});
    if (!layer.bias.defined()) {
        return w.node("MatMul", {in, t}, out);
    }
    const std::string mm = w.node("MatMul", {in, t}, path + ".matmul");
    return w.node("Add", {mm, w.floats(path + ".bias", layer.bias)}, out);
}

std::string layerNorm(GraphWriter& w, const std::string& x, torch::nn::LayerNormImpl& ln,
                      const std::string& path) {
    return w.node("LayerNormalization",
                  {x, w.floats(path + ".weight", ln.weight), w.floats(path + ".bias", ln.bias)},
                  path + ".output",
                  {intAttr("axis", -1), floatAttr("epsilon", float(ln.options.eps()))});
}

void setValueInfo(onnx::ValueInfoProto& v, const std::string& name, int elemType,
                  const std::vector<std::string>& dims) {
    v.set_name(name);
    onnx::TypeProto_Tensor* t = v.mutable_type()->mutable_tensor_type();
    t->set_elem_type(elemType);
    onnx::TensorShapeProto* shape = t->mutable_shape();
    for (const std::string& d : dims) {
        onnx::TensorShapeProto_Dimension* dim = shape->add_dim();
        // A number is a fixed size, a name a dynamic one.
        if (!d.empty() && d.find_first_not_of("0123456789") == std::string::npos) {
            dim->set_dim_value(std::stoll(d));
        } else {
            dim->set_dim_param(d);
        }
    }
}

// ---- ResNet ---------------------------------------------------------------------------------

void writeResNet(GraphWriter& w, onnx::GraphProto& g, models::ResNetImpl& net, int64_t inChannels,
                 int64_t numClasses) {
    setValueInfo(*g.add_input(), "input", onnx::TensorProto::FLOAT,
                 {"batch", std::to_string(inChannels), "height", "width"});
    // Strides mirror ResNetImpl's constructor (the layers do not expose them): a stride-2 stem
    // for ResNet-18, and stride 2 in the first block of every stage after the first.
    const bool imagenet = net.options().arch() == "resnet18";
    std::string x = conv(w, "input", *net.conv1, "conv1", imagenet ? 2 : 1);
    x = batchNorm(w, x, *net.bn1, "bn1");
    x = w.node("Relu", {x}, "relu");
    if (imagenet) {
        x = w.node(
            "MaxPool", {x}, "maxpool",
            {ints("kernel_shape", {3, 3}), ints("strides", {2, 2}), ints("pads", {1, 1, 1, 1})});
    }
    for (std::size_t s = 0; s < net.stages.size(); ++s) {
        const torch::nn::Sequential& stage = net.stages[s];
        for (std::size_t b = 0; b < stage->size(); ++b) {
            auto* block = stage->ptr(b)->as<models::BasicBlock>();
            const std::string path = "layer" + std::to_string(s + 1) + "." + std::to_string(b);
            const int64_t stride = (b == 0 && s > 0) ? 2 : 1;
            std::string out = conv(w, x, *block->conv1, path + ".conv1", stride);
            out = batchNorm(w, out, *block->bn1, path + ".bn1");
            // conv2 applies the ReLU after bn1 itself (input_relu): layerInput writes it.
            out = conv(w, out, *block->conv2, path + ".conv2", 1);
            out = batchNorm(w, out, *block->bn2, path + ".bn2");
            std::string shortcut = x;
            if (block->downsample) {
                auto* dconv = block->downsample->ptr(0)->as<quant::QConv2d>();
                auto* dbn = block->downsample->ptr(1)->as<torch::nn::BatchNorm2d>();
                shortcut = conv(w, x, *dconv, path + ".downsample.0", stride);
                shortcut = batchNorm(w, shortcut, *dbn, path + ".downsample.1");
            }
            out = w.node("Add", {out, shortcut}, path + ".add");
            x = w.node("Relu", {out}, path + ".relu");
        }
    }
    x = w.node("GlobalAveragePool", {x}, "avgpool");
    x = w.node("Flatten", {x}, "flatten", {intAttr("axis", 1)});
    linear(w, x, *net.fc, "fc", /*rank2=*/true, "logits");
    setValueInfo(*g.add_output(), "logits", onnx::TensorProto::FLOAT,
                 {"batch", std::to_string(numClasses)});
}

// ---- BERT -----------------------------------------------------------------------------------

void writeBert(GraphWriter& w, onnx::GraphProto& g, models::BertForSequenceClassificationImpl& net,
               int64_t numClasses) {
    for (const char* name : {"input_ids", "token_type_ids", "attention_mask"}) {
        setValueInfo(*g.add_input(), name, onnx::TensorProto::INT64, {"batch", "sequence"});
    }
    const models::BertConfig& config = net.config();
    const int64_t hidden = config.hidden_size();
    const int64_t heads = config.num_attention_heads();
    const int64_t headSize = hidden / heads;
    models::BertEmbeddingsImpl& emb = *net.bert->embeddings;

    // Embeddings: Q(word) rows + token-type rows + the first `sequence` position rows.
    const std::string word =
        layerWeight(w, *emb.word_embeddings, "bert.embeddings.word_embeddings");
    const std::string wordRows =
        w.node("Gather", {word, "input_ids"}, "bert.embeddings.word", {intAttr("axis", 0)});
    const std::string typeRows = w.node("Gather",
                                        {w.floats("bert.embeddings.token_type_embeddings.weight",
                                                  emb.token_type_embeddings->weight),
                                         "token_type_ids"},
                                        "bert.embeddings.token_type", {intAttr("axis", 0)});
    const std::string seqLen = w.node("Shape", {"input_ids"}, "bert.embeddings.sequence_length",
                                      {intAttr("start", 1), intAttr("end", 2)});
    const std::string zero = w.int64s("const.zero_1d", {0});
    const std::string positionRows = w.node(
        "Slice",
        {w.floats("bert.embeddings.position_embeddings.weight", emb.position_embeddings->weight),
         zero, seqLen, zero},
        "bert.embeddings.position");
    std::string h = w.node("Add", {wordRows, typeRows}, "bert.embeddings.sum");
    h = w.node("Add", {h, positionRows}, "bert.embeddings.sum");
    h = layerNorm(w, h, *emb.layerNorm, "bert.embeddings.LayerNorm");

    // HF's additive mask [batch, 1, 1, sequence]: 0 where kept, the lowest float where padded.
    std::string mask = w.node("Cast", {"attention_mask"}, "bert.mask.float",
                              {intAttr("to", onnx::TensorProto::FLOAT)});
    mask = w.node("Sub", {w.scalar(1.0f), mask}, "bert.mask.padded");
    mask =
        w.node("Mul", {mask, w.scalar(std::numeric_limits<float>::lowest())}, "bert.mask.lowest");
    mask = w.node("Unsqueeze", {mask, w.int64s("const.axes_1_2", {1, 2})}, "bert.extended_mask");

    const std::string headsShape = w.int64s("const.heads_shape", {0, 0, heads, headSize});
    const std::string mergedShape = w.int64s("const.merged_shape", {0, 0, hidden});
    const auto quantized = [&](const std::string& x, const quant::Quantizer& q,
                               const std::string& path) { return q ? w.qdq(x, *q, path, 0) : x; };
    for (std::size_t i = 0; i < net.bert->layers->size(); ++i) {
        auto* layer = net.bert->layers->ptr(i)->as<models::BertLayer>();
        const std::string p = "bert.encoder.layer." + std::to_string(i);
        models::BertSelfAttentionImpl& self = *layer->attention->self;
        const std::string sp = p + ".attention.self";
        // [batch, sequence, hidden] -> [batch, heads, sequence, head size]
        const auto split = [&](const std::string& x, const std::string& name) {
            const std::string r = w.node("Reshape", {x, headsShape}, sp + "." + name + "_heads");
            return w.node("Transpose", {r}, sp + "." + name + "_heads_t",
                          {ints("perm", {0, 2, 1, 3})});
        };
        const std::string q = quantized(split(linear(w, h, *self.query, sp + ".query", false), "q"),
                                        self.q_quantizer, sp + ".q_quantizer");
        const std::string k = quantized(split(linear(w, h, *self.key, sp + ".key", false), "k"),
                                        self.k_quantizer, sp + ".k_quantizer");
        const std::string v = quantized(split(linear(w, h, *self.value, sp + ".value", false), "v"),
                                        self.v_quantizer, sp + ".v_quantizer");
        const std::string kt = w.node("Transpose", {k}, sp + ".k_t", {ints("perm", {0, 1, 3, 2})});
        std::string scores = w.node("MatMul", {q, kt}, sp + ".scores");
        scores = w.node("Div", {scores, w.scalar(float(std::sqrt(double(headSize))))},
                        sp + ".scores_scaled");
        scores = w.node("Add", {scores, mask}, sp + ".scores_masked");
        std::string probs = w.node("Softmax", {scores}, sp + ".probs", {intAttr("axis", -1)});
        probs = quantized(probs, self.probs_quantizer, sp + ".probs_quantizer");
        std::string context = w.node("MatMul", {probs, v}, sp + ".context");
        context = w.node("Transpose", {context}, sp + ".context_t", {ints("perm", {0, 2, 1, 3})});
        context = w.node("Reshape", {context, mergedShape}, sp + ".context_merged");

        models::BertResidualOutputImpl& ao = *layer->attention->output;
        const std::string aop = p + ".attention.output";
        std::string a = linear(w, context, *ao.dense, aop + ".dense", false);
        a = w.node("Add", {a, h}, aop + ".residual");
        a = layerNorm(w, a, *ao.layerNorm, aop + ".LayerNorm");

        // Exact GELU, as torch computes it: x * 0.5 * (1 + erf(x / sqrt(2))).
        const std::string ip = p + ".intermediate";
        const std::string x = linear(w, a, *layer->intermediate->dense, ip + ".dense", false);
        const std::string half = w.node("Mul", {x, w.scalar(0.5f)}, ip + ".gelu_half");
        std::string e = w.node("Mul", {x, w.scalar(float(M_SQRT1_2))}, ip + ".gelu_scaled");
        e = w.node("Erf", {e}, ip + ".gelu_erf");
        e = w.node("Add", {e, w.scalar(1.0f)}, ip + ".gelu_erf_plus_1");
        const std::string gelu = w.node("Mul", {half, e}, ip + ".gelu");

        models::BertResidualOutputImpl& out = *layer->output;
        std::string o = linear(w, gelu, *out.dense, p + ".output.dense", false);
        o = w.node("Add", {o, a}, p + ".output.residual");
        h = layerNorm(w, o, *out.layerNorm, p + ".output.LayerNorm");
    }

    // Pooler: tanh(dense(h[:, 0])); dropout is the identity in evaluation.
    const std::string first = w.node("Gather", {h, w.int64s("const.zero", {0}, /*scalar=*/true)},
                                     "bert.pooler.first_token", {intAttr("axis", 1)});
    std::string pooled = linear(w, first, *net.bert->pooler->dense, "bert.pooler.dense", true);
    pooled = w.node("Tanh", {pooled}, "bert.pooler.tanh");
    linear(w, pooled, *net.classifier, "classifier", true, "logits");
    setValueInfo(*g.add_output(), "logits", onnx::TensorProto::FLOAT,
                 {"batch", std::to_string(numClasses)});
}

}  // namespace

OnnxExportSummary exportOnnx(const std::string& checkpoint, const std::string& outPath) {
    ExportModel em;
    try {
        em = loadExportModel(checkpoint);
    } catch (const std::exception& e) {
        const std::string what = e.what();
        throw std::runtime_error(
            what.find(checkpoint) == std::string::npos ? checkpoint + ": " + what : what);
    }
    torch::NoGradGuard noGrad;

    onnx::ModelProto model;
    model.set_ir_version(kIrVersion);
    model.set_producer_name("quantscape");
    model.set_producer_version(QS_VERSION);
    model.set_doc_string(
        em.spec.model.arch + " from " + checkpoint +
        ", quantized as evaluated (QuantizeLinear/DequantizeLinear per quantizer)");
    onnx::OperatorSetIdProto* opset = model.add_opset_import();
    opset->set_domain("");
    opset->set_version(kOpset);
    onnx::GraphProto& graph = *model.mutable_graph();
    graph.set_name(em.spec.model.arch);

    GraphWriter writer(graph);
    try {
        if (auto* resnet = dynamic_cast<models::ResNetImpl*>(em.model.get())) {
            writeResNet(writer, graph, *resnet, em.inChannels, em.numClasses);
        } else if (auto* bert =
                       dynamic_cast<models::BertForSequenceClassificationImpl*>(em.model.get())) {
            writeBert(writer, graph, *bert, em.numClasses);
        } else {
            throw std::runtime_error("no ONNX export for architecture '" + em.spec.model.arch +
                                     "'");
        }
    } catch (const std::exception& e) {
        throw std::runtime_error(outPath + ": " + e.what() + " (exporting " + checkpoint + ")");
    }
    // Every quantizer must have become exactly one pair, or the file would compute something
    // other than the app.
    const int64_t quantizers = int64_t(models::allQuantizers(*em.model).size());
    if (writer.qdqPairs() != quantizers) {
        throw std::runtime_error(outPath + ": wrote " + std::to_string(writer.qdqPairs()) +
                                 " QDQ pairs for the " + std::to_string(quantizers) +
                                 " quantizers of " + checkpoint);
    }
    if (model.ByteSizeLong() > std::size_t(INT_MAX)) {
        // Protobuf cannot serialize messages of 2 GiB or more (ONNX's external data would).
        throw std::runtime_error(outPath + ": the model exceeds protobuf's 2 GiB limit");
    }
    {
        std::ofstream out(outPath, std::ios::binary | std::ios::trunc);
        if (!out || !model.SerializeToOstream(&out) || !out.flush()) {
            throw std::runtime_error(outPath + ": cannot write");
        }
    }

    OnnxExportSummary summary;
    summary.path = outPath;
    summary.opset = kOpset;
    summary.nodes = graph.node_size();
    summary.qdqPairs = writer.qdqPairs();
    return summary;
}

}  // namespace qs::exporting
