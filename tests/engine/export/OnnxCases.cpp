#include "OnnxCases.h"

#include "engine/export/ExportModel.h"
#include "engine/io/TensorIO.h"
#include "engine/quant/Quantizer.h"

#include <onnx/onnx_pb.h>
#include <torch/torch.h>

#include <cstring>
#include <fstream>
#include <set>
#include <stdexcept>

namespace qs::test::onnx {

namespace {

const std::string kStepSuffix = ".step_size";

bool endsWith(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string typeName(int type) {
    switch (type) {
        case ::onnx::TensorProto::FLOAT:
            return "float";
        case ::onnx::TensorProto::INT64:
            return "int64";
        case ::onnx::TensorProto::INT8:
            return "int8";
        case ::onnx::TensorProto::UINT8:
            return "uint8";
        default:
            return "type" + std::to_string(type);
    }
}

std::string describeValue(const ::onnx::ValueInfoProto& v) {
    std::string s = v.name() + ":" + typeName(v.type().tensor_type().elem_type()) + "[";
    const auto& shape = v.type().tensor_type().shape();
    for (int i = 0; i < shape.dim_size(); ++i) {
        const auto& d = shape.dim(i);
        s += (i ? "," : "") + (d.has_dim_param() ? d.dim_param() : std::to_string(d.dim_value()));
    }
    return s + "]";
}

int64_t numel(const ::onnx::TensorProto& t) {
    int64_t n = 1;
    for (int64_t d : t.dims()) {
        n *= d;
    }
    return n;
}

/// Float values of an initializer written as raw_data or float_data.
std::vector<float> floatValues(const ::onnx::TensorProto& t) {
    std::vector<float> out(std::size_t(numel(t)));
    if (t.has_raw_data()) {
        if (t.raw_data().size() != out.size() * sizeof(float)) {
            throw std::runtime_error("initializer '" + t.name() + "' has a wrong byte size");
        }
        std::memcpy(out.data(), t.raw_data().data(), t.raw_data().size());
    } else {
        out.assign(t.float_data().begin(), t.float_data().end());
    }
    return out;
}

/// Integer values of an int8/uint8 initializer (raw_data or int32_data).
std::vector<int64_t> codeValues(const ::onnx::TensorProto& t) {
    std::vector<int64_t> out;
    if (t.has_raw_data()) {
        for (char c : t.raw_data()) {
            out.push_back(t.data_type() == ::onnx::TensorProto::INT8 ? int64_t(int8_t(c))
                                                                     : int64_t(uint8_t(c)));
        }
    } else {
        out.assign(t.int32_data().begin(), t.int32_data().end());
    }
    return out;
}

bool hasAxis0(const ::onnx::NodeProto& n) {
    for (const auto& a : n.attribute()) {
        if (a.name() == "axis") {
            return a.i() == 0;
        }
    }
    return false;
}

}  // namespace

GraphReport inspect(const std::string& onnxPath, const std::string& checkpoint) {
    ::onnx::ModelProto model;
    {
        std::ifstream in(onnxPath, std::ios::binary);
        if (!in || !model.ParseFromIstream(&in)) {
            throw std::runtime_error(onnxPath + ": cannot parse as an ONNX ModelProto");
        }
    }
    GraphReport r;
    r.irVersion = model.ir_version();
    for (const auto& o : model.opset_import()) {
        if (o.domain().empty()) {
            r.opset = o.version();
        }
    }
    const ::onnx::GraphProto& g = model.graph();
    r.nodes = g.node_size();
    for (const auto& v : g.input()) {
        r.inputs.push_back(describeValue(v));
    }
    for (const auto& v : g.output()) {
        r.outputs.push_back(describeValue(v));
    }
    std::map<std::string, const ::onnx::TensorProto*> inits;
    for (const auto& t : g.initializer()) {
        inits[t.name()] = &t;
    }
    std::map<std::string, const ::onnx::NodeProto*> producer;
    std::map<std::string, std::vector<const ::onnx::NodeProto*>> consumers;
    for (const auto& n : g.node()) {
        ++r.opCounts[n.op_type()];
        for (const auto& o : n.output()) {
            producer[o] = &n;
        }
        for (const auto& i : n.input()) {
            consumers[i].push_back(&n);
        }
    }
    r.quantizeNodes = r.opCounts["QuantizeLinear"];
    r.dequantizeNodes = r.opCounts["DequantizeLinear"];

    // What the checkpoint says: its step sizes and weights, and each quantizer's options from
    // the model rebuilt from it.
    const io::LoadedTensors file = io::loadTensors(checkpoint);
    exporting::ExportModel em = exporting::loadExportModel(checkpoint);
    r.modelQuantizers = int64_t(models::allQuantizers(*em.model).size());
    std::map<std::string, quant::QuantizerImpl*> modules;
    for (const auto& item : em.model->named_modules("", false)) {
        if (auto* q = item.value()->as<quant::QuantizerImpl>()) {
            modules[item.key()] = q;
        }
    }

    std::set<const ::onnx::NodeProto*> claimed;
    for (const auto& [name, steps] : file.tensors) {
        if (!endsWith(name, kStepSuffix)) {
            continue;
        }
        ++r.checkpointQuantizers;
        const std::string path = name.substr(0, name.size() - kStepSuffix.size());
        const auto problem = [&, path = path](const std::string& what) {
            r.problems.push_back(path + ": " + what);
        };
        const auto mit = modules.find(path);
        if (mit == modules.end()) {
            problem("no such quantizer in the rebuilt model");
            continue;
        }
        const quant::QuantizerOptions& options = mit->second->options();
        const std::string scaleName = path + ".scale";
        const std::string zpName = path + ".zero_point";
        const auto sit = inits.find(scaleName);
        const auto zit = inits.find(zpName);
        if (sit == inits.end() || zit == inits.end()) {
            problem("no " + scaleName + " or " + zpName + " initializer");
            continue;
        }
        Pair pair;
        // Scales: the step sizes, each group's repeated for the rows of its group.
        const std::vector<float> scale = floatValues(*sit->second);
        const torch::Tensor s = steps.to(torch::kFloat).flatten().contiguous();
        const int64_t n = s.numel();
        pair.scaleCount = int64_t(scale.size());
        if (n == 1 && sit->second->dims_size() != 0) {
            problem("a per-tensor scale that is not a scalar");
        }
        if (pair.scaleCount % n != 0) {
            problem(std::to_string(pair.scaleCount) + " scales for " + std::to_string(n) +
                    " step sizes");
        } else {
            const int64_t rowsPerStep = pair.scaleCount / n;
            for (int64_t i = 0; i < pair.scaleCount; ++i) {
                if (scale[std::size_t(i)] != s[i / rowsPerStep].item<float>()) {
                    problem("scale " + std::to_string(i) + " is " +
                            std::to_string(scale[std::size_t(i)]) + ", step size " +
                            std::to_string(s[i / rowsPerStep].item<float>()));
                    break;
                }
            }
        }
        // Zero point: 0 of int8 for signed ranges, uint8 for unsigned ones.
        const ::onnx::TensorProto& zp = *zit->second;
        pair.zeroPointType = typeName(zp.data_type());
        if (pair.zeroPointType != (options.is_signed() ? "int8" : "uint8")) {
            problem("zero point of type " + pair.zeroPointType + " for a " +
                    (options.is_signed() ? "signed" : "unsigned") + " range");
        }
        for (int64_t v : codeValues(zp)) {
            if (v != 0) {
                problem("a zero point of " + std::to_string(v));
                break;
            }
        }
        // Exactly one QuantizeLinear and one DequantizeLinear on this scale.
        const ::onnx::NodeProto* q = nullptr;
        const ::onnx::NodeProto* dq = nullptr;
        int qCount = 0, dqCount = 0;
        for (const ::onnx::NodeProto* c : consumers[scaleName]) {
            if (c->op_type() == "QuantizeLinear" && c->input_size() == 3 &&
                c->input(1) == scaleName && c->input(2) == zpName) {
                q = c;
                ++qCount;
            } else if (c->op_type() == "DequantizeLinear" && c->input_size() == 3 &&
                       c->input(1) == scaleName && c->input(2) == zpName) {
                dq = c;
                ++dqCount;
            }
        }
        if (qCount != 1 || dqCount != 1) {
            problem(std::to_string(qCount) + " QuantizeLinear and " + std::to_string(dqCount) +
                    " DequantizeLinear nodes on its scale");
            continue;
        }
        claimed.insert(q);
        claimed.insert(dq);
        pair.quantizeInput = q->input(0);
        pair.perAxis = hasAxis0(*q) && hasAxis0(*dq);
        if (pair.perAxis != (n > 1)) {
            problem(n > 1 ? "per-channel steps without axis 0" : "a scalar scale with an axis");
        }
        // The codes: straight from QuantizeLinear at 8 bits, through a Clip to [-Qn, Qp] below.
        const int bits = options.bits();
        const int64_t qn = options.is_signed() ? (int64_t(1) << (bits - 1)) : 0;
        const int64_t qp =
            options.is_signed() ? (int64_t(1) << (bits - 1)) - 1 : (int64_t(1) << bits) - 1;
        const auto pit = producer.find(dq->input(0));
        const ::onnx::NodeProto* between = pit == producer.end() ? nullptr : pit->second;
        if (between == q) {
            if (bits < 8) {
                problem(std::to_string(bits) + " bits but no Clip on the codes");
            }
        } else if (between != nullptr && between->op_type() == "Clip" &&
                   between->input_size() == 3 && between->input(0) == q->output(0) &&
                   inits.count(between->input(1)) && inits.count(between->input(2))) {
            pair.clipped = true;
            const std::vector<int64_t> lo = codeValues(*inits[between->input(1)]);
            const std::vector<int64_t> hi = codeValues(*inits[between->input(2)]);
            pair.codeMin = lo.size() == 1 ? lo[0] : -999;
            pair.codeMax = hi.size() == 1 ? hi[0] : -999;
            if (pair.codeMin != -qn || pair.codeMax != qp) {
                problem("Clip to [" + std::to_string(pair.codeMin) + ", " +
                        std::to_string(pair.codeMax) + "], expected [" + std::to_string(-qn) +
                        ", " + std::to_string(qp) + "]");
            }
        } else {
            problem("DequantizeLinear does not read its QuantizeLinear's codes");
        }
        // A weight quantizer quantizes the layer's weight initializer, holding the checkpoint's
        // latent weight bit for bit; an input quantizer quantizes a computed value.
        const std::string wq = ".weight_quantizer";
        if (endsWith(path, wq)) {
            const std::string weight = path.substr(0, path.size() - wq.size()) + ".weight";
            const auto wit = inits.find(weight);
            const auto cit = file.tensors.find(weight);
            if (pair.quantizeInput != weight || wit == inits.end() || cit == file.tensors.end()) {
                problem("QuantizeLinear reads '" + pair.quantizeInput + "', not " + weight);
            } else {
                const torch::Tensor c = cit->second.to(torch::kFloat).contiguous();
                const std::vector<float> v = floatValues(*wit->second);
                if (int64_t(v.size()) != c.numel() ||
                    std::memcmp(v.data(), c.data_ptr<float>(), v.size() * sizeof(float)) != 0) {
                    problem("initializer " + weight + " differs from the checkpoint");
                }
                if (wit->second->dims_size() < 1 ||
                    (pair.scaleCount > 1 && wit->second->dims(0) != pair.scaleCount)) {
                    problem("per-row scales do not match the weight's rows");
                }
            }
        } else if (inits.count(pair.quantizeInput) > 0) {
            problem("an activation quantizer reads an initializer");
        }
        r.pairs[path] = pair;
    }
    for (const auto& n : g.node()) {
        if ((n.op_type() == "QuantizeLinear" || n.op_type() == "DequantizeLinear") &&
            claimed.count(&n) == 0) {
            r.problems.push_back("node " + n.name() + ": " + n.op_type() +
                                 " that belongs to no quantizer of the checkpoint");
        }
    }
    // Weights read by a QuantizeLinear (quantized layers) or only by other nodes (float layers).
    for (const auto& [name, init] : inits) {
        if (!endsWith(name, ".weight")) {
            continue;
        }
        bool quantized = false;
        for (const ::onnx::NodeProto* c : consumers[name]) {
            quantized = quantized || c->op_type() == "QuantizeLinear";
        }
        (quantized ? r.quantizedWeights : r.floatWeights).push_back(name);
    }
    return r;
}

}  // namespace qs::test::onnx
