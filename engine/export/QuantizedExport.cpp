#include "engine/export/QuantizedExport.h"

#include "engine/io/CodePacking.h"
#include "engine/io/Sha256.h"
#include "engine/io/TensorIO.h"
#include "engine/quant/LsqFunction.h"
#include "engine/session/Versions.h"
#include "engine/train/Methods.h"
#include "engine/train/Trainer.h"

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

namespace qs::exporting {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

/// A quantizer as the exports see it: where its tensors go and what it quantizes.
struct QuantSite {
    std::string name;  ///< tensor name in the export: "<layer>.weight", "<layer>.input", ...
    quant::Quantizer quantizer{nullptr};
    quant::QuantLayer* layer = nullptr;  ///< weights only
    bool weight = false;
};

/// "bert.encoder.layer.0.attention.self.q_quantizer" -> "bert.encoder.layer.0.attention.self.q".
std::string activationName(const std::string& quantizerPath) {
    const std::string suffix = "_quantizer";
    return quantizerPath.size() > suffix.size() &&
                   quantizerPath.compare(quantizerPath.size() - suffix.size(), suffix.size(),
                                         suffix) == 0
               ? quantizerPath.substr(0, quantizerPath.size() - suffix.size())
               : quantizerPath;
}

std::vector<QuantSite> quantSites(models::NetworkImpl& model) {
    std::vector<QuantSite> out;
    for (auto& [path, layer] : model.quantLayers()) {
        if (auto q = layer->weightQuantizer()) {
            out.push_back({path + ".weight", q, layer, true});
        }
        if (auto q = layer->inputQuantizer()) {
            out.push_back({path + ".input", q, layer, false});
        }
    }
    for (auto& [path, q] : model.activationQuantizers()) {
        out.push_back({activationName(path), q, nullptr, false});
    }
    return out;
}

std::string granularity(const QuantSite& site) {
    const int64_t steps = site.quantizer->step_size.numel();
    if (steps == 1) {
        return "tensor";
    }
    return steps == site.layer->outChannels() ? "channel" : "group";
}

/// The integer codes of a weight exactly as the model computes them: its quantizer's own output
/// divided by the step (code x s / s rounds back to the code), so export and app agree even
/// where v / s lies on a rounding boundary.
torch::Tensor weightCodes(const QuantSite& site) {
    const torch::Tensor view = site.layer->weightQuantizerView().detach();
    quant::Quantizer quantizer = site.quantizer;
    const torch::Tensor q = quantizer->forward(view).detach();
    torch::Tensor s = site.quantizer->step_size.detach();
    std::vector<int64_t> shape(std::size_t(view.dim()), 1);
    shape[0] = s.numel() == 1 ? 1 : s.numel();
    return (q / s.reshape(shape)).round().to(torch::kChar).contiguous().reshape({-1});
}

int64_t fileSize(const std::string& path) {
    std::error_code ec;
    const auto n = fs::file_size(path, ec);
    return ec ? 0 : int64_t(n);
}

int64_t floatBytesOf(models::NetworkImpl& model) {
    int64_t n = 0;
    for (const auto& item : model.named_parameters()) {
        if (!train::isQuantizerParameter(item.key())) {
            n += item.value().numel() * 4;
        }
    }
    return n;
}

quant::QuantRange rangeOf(const quant::Quantizer& q) {
    return quant::QuantRange::of(q->options().bits(), q->options().is_signed());
}

ExportSummary summarize(const std::string& path, const std::string& format,
                        models::NetworkImpl& model, int quantized) {
    ExportSummary s;
    s.path = path;
    s.format = format;
    s.bytes = fileSize(path);
    s.floatBytes = floatBytesOf(model);
    s.quantizedTensors = quantized;
    s.sha256 = io::sha256File(path);
    return s;
}

std::string metadataOf(const io::LoadedTensors& file, const std::string& key,
                       const std::string& path) {
    auto it = file.metadata.find(key);
    if (it == file.metadata.end()) {
        throw std::runtime_error(path + ": metadata '" + key + "' is missing");
    }
    return it->second;
}

/// Dimension `dim` of a tensor named in the export: a float tensor, or a quantized weight's
/// recorded shape.
int64_t exportedDim(const io::LoadedTensors& file, const json& quantization,
                    const std::string& name, std::size_t dim, const std::string& path) {
    auto it = file.tensors.find(name);
    if (it != file.tensors.end() && std::size_t(it->second.dim()) > dim) {
        return it->second.size(int64_t(dim));
    }
    if (quantization.contains(name) && quantization[name].contains("shape") &&
        quantization[name]["shape"].size() > dim) {
        return quantization[name]["shape"][dim].get<int64_t>();
    }
    throw std::runtime_error(path + ": tensor '" + name + "' is missing");
}

}  // namespace

ExportSummary exportQuantizedSafetensors(const std::string& checkpoint,
                                         const std::string& outPath) {
    ExportModel em = loadExportModel(checkpoint);
    models::NetworkImpl& model = *em.model;
    torch::NoGradGuard noGrad;
    io::NamedTensors tensors;
    json quantization = json::object();
    json table = json::array();
    std::set<std::string> replaced;
    int quantized = 0;
    for (const QuantSite& site : quantSites(model)) {
        const quant::Quantizer& q = site.quantizer;
        const int bits = q->options().bits();
        json entry{{"bits", bits}, {"signed", q->options().is_signed()}};
        tensors.emplace_back(site.name + ".scale",
                             q->step_size.detach().to(torch::kFloat).reshape({-1}).contiguous());
        tensors.emplace_back(site.name + ".zero_point",
                             torch::zeros({q->step_size.numel()}, torch::kChar));
        if (site.weight) {
            const torch::Tensor& w = site.layer->quantWeight();
            const torch::Tensor codes = weightCodes(site);
            if (io::storageBits(bits) == 8) {
                tensors.emplace_back(site.name + ".codes", codes.reshape(w.sizes()).contiguous());
            } else {
                const std::vector<uint8_t> packed =
                    io::packCodes(codes.data_ptr<int8_t>(), std::size_t(codes.numel()), bits);
                tensors.emplace_back(site.name + ".codes",
                                     torch::from_blob(const_cast<uint8_t*>(packed.data()),
                                                      {int64_t(packed.size())}, torch::kByte)
                                         .clone());
            }
            entry["shape"] = w.sizes().vec();
            entry["granularity"] = granularity(site);
            entry["storage_bits"] = io::storageBits(bits);
            const torch::Tensor error = (site.layer->quantizedWeight() - w).pow(2).mean();
            table.push_back({{"layer", site.name.substr(0, site.name.size() - 7)},
                             {"weight_bits", bits},
                             {"params", w.numel()},
                             {"granularity", granularity(site)},
                             {"weight_mse", error.item<double>()}});
            replaced.insert(site.name);
            ++quantized;
        }
        quantization[site.name] = entry;
    }
    for (const auto& item : model.named_parameters()) {
        if (!train::isQuantizerParameter(item.key()) && !replaced.count(item.key())) {
            tensors.emplace_back(item.key(), item.value().detach().contiguous());
        }
    }
    for (const auto& item : model.named_buffers()) {
        if (!train::isQuantizerParameter(item.key())) {
            tensors.emplace_back(item.key(), item.value().detach().contiguous());
        }
    }
    std::map<std::string, std::string> meta{
        {"format", kQuantizedFormat},
        {"spec", em.spec.toJson()},
        {"versions", json(session::engineVersions()).dump()},
        {"quantization", quantization.dump()},
        {"layers", table.dump()},
        {"source_checkpoint", checkpoint},
        {"step", std::to_string(em.step)},
    };
    if (!em.vocabulary.empty()) {
        meta["vocabulary"] = em.vocabulary;
    }
    try {
        io::saveTensors(outPath, tensors, meta);
    } catch (const io::FormatError& e) {
        throw std::runtime_error(std::string("cannot write the export: ") + e.what());
    }
    return summarize(outPath, "safetensors", model, quantized);
}

ExportSummary exportEncodings(const std::string& checkpoint, const std::string& outPath) {
    ExportModel em = loadExportModel(checkpoint);
    if (!em.spec.isQuantized()) {
        throw std::runtime_error(checkpoint + ": a float checkpoint has no encodings");
    }
    torch::NoGradGuard noGrad;
    json params = json::object(), activations = json::object();
    int count = 0;
    for (const QuantSite& site : quantSites(*em.model)) {
        const quant::QuantRange r = rangeOf(site.quantizer);
        const bool isSigned = site.quantizer->options().is_signed();
        torch::Tensor s = site.quantizer->step_size.detach().to(torch::kDouble).reshape({-1});
        if (site.weight && granularity(site) == "group") {
            // Toolchains know per-channel encodings: one per output row, each its group's.
            s = s.repeat_interleave(site.layer->outChannels() / s.numel());
        }
        json list = json::array();
        for (int64_t i = 0; i < s.numel(); ++i) {
            const double step = s[i].item<double>();
            list.push_back({{"bitwidth", site.quantizer->options().bits()},
                            {"dtype", "int"},
                            {"is_symmetric", isSigned ? "True" : "False"},
                            {"scale", step},
                            {"offset", -int64_t(r.qn)},
                            {"min", -double(r.qn) * step},
                            {"max", double(r.qp) * step}});
        }
        (site.weight ? params : activations)[site.name] = list;
        ++count;
    }
    json excluded = json::array();
    for (auto& [path, layer] : em.model->quantLayers()) {
        if (!layer->weightQuantizer()) {
            excluded.push_back(path);
        }
    }
    const json doc{
        {"version", "0.6.1"},
        {"activation_encodings", activations},
        {"param_encodings", params},
        {"excluded_layers", excluded},
        {"quantizer_args",
         {{"quant_scheme", "lsq"},
          {"param_bitwidth", em.spec.quant.weightBits},
          {"activation_bitwidth", em.spec.quant.actBits},
          {"per_channel_quantization", em.spec.quant.perChannel || em.spec.quant.groupRows > 0},
          {"dtype", "int"},
          {"is_symmetric", true}}},
        {"source_checkpoint", checkpoint},
    };
    const std::string tmp = outPath + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << doc.dump(2) << "\n";
        if (!out) {
            throw std::runtime_error(outPath + ": cannot write the encodings");
        }
    }
    std::error_code ec;
    fs::rename(tmp, outPath, ec);
    if (ec) {
        throw std::runtime_error(outPath + ": cannot write the encodings: " + ec.message());
    }
    return summarize(outPath, "encodings", *em.model, count);
}

int64_t floatParameterBytes(const std::string& checkpoint) {
    ExportModel em = loadExportModel(checkpoint);
    return floatBytesOf(*em.model);
}

ExportModel importQuantized(const std::string& path) {
    io::LoadedTensors file;
    try {
        file = io::loadTensors(path);
    } catch (const io::FormatError& e) {
        throw std::runtime_error(std::string("cannot read the quantized export: ") + e.what());
    }
    const std::string format = file.metadata.count("format") ? file.metadata.at("format") : "";
    if (format != kQuantizedFormat) {
        throw std::runtime_error(path + ": not a quantized export (format '" + format +
                                 "', expected '" + kQuantizedFormat + "')");
    }
    ExportModel out;
    out.checkpoint = path;
    try {
        out.spec = session::RunSpec::fromJson(metadataOf(file, "spec", path));
    } catch (const session::SpecError& e) {
        throw std::runtime_error(path + ": its run spec is not usable: " + e.what());
    }
    json quantization;
    try {
        quantization = json::parse(metadataOf(file, "quantization", path));
    } catch (const json::exception& e) {
        throw std::runtime_error(path + ": metadata 'quantization' is not valid JSON");
    }
    if (file.metadata.count("vocabulary")) {
        out.vocabulary = file.metadata.at("vocabulary");
    }
    const train::ModelShape shape =
        storedShape(out.spec, [&](const std::string& name, std::size_t dim) {
            return exportedDim(file, quantization, name, dim, path);
        });
    torch::manual_seed(0);
    out.model = train::buildModel(out.spec, shape);
    out.inChannels = shape.inChannels;
    out.numClasses = shape.numClasses;
    models::NetworkImpl& model = *out.model;

    torch::NoGradGuard noGrad;
    auto tensor = [&](const std::string& name) -> const torch::Tensor& {
        auto it = file.tensors.find(name);
        if (it == file.tensors.end()) {
            throw std::runtime_error(path + ": tensor '" + name + "' is missing");
        }
        return it->second;
    };
    auto checkShape = [&](const std::string& name, const torch::Tensor& got,
                          c10::IntArrayRef want) {
        if (got.sizes() != want) {
            std::ostringstream os;
            os << path << ": tensor '" << name << "' has shape " << got.sizes() << ", expected "
               << want;
            throw std::runtime_error(os.str());
        }
    };
    std::set<std::string> quantizedWeights;
    for (QuantSite& site : quantSites(model)) {
        if (!quantization.contains(site.name)) {
            throw std::runtime_error(path + ": no quantization entry for '" + site.name +
                                     "' (the spec quantizes it)");
        }
        const int bits = quantization[site.name].value("bits", 0);
        if (bits != site.quantizer->options().bits()) {
            throw std::runtime_error(path + ": '" + site.name + "' has " + std::to_string(bits) +
                                     " bits, the spec " +
                                     std::to_string(site.quantizer->options().bits()));
        }
        const torch::Tensor& scale = tensor(site.name + ".scale");
        torch::Tensor& step = site.quantizer->step_size;
        checkShape(site.name + ".scale", scale, {step.numel()});
        if (!(scale.gt(0).all().item<bool>())) {
            throw std::runtime_error(path + ": tensor '" + site.name +
                                     ".scale' holds a step size that is not positive");
        }
        step.copy_(scale.reshape(step.sizes()));
        site.quantizer->initialized.fill_(1);
        if (!site.weight) {
            continue;
        }
        torch::Tensor& w = const_cast<torch::Tensor&>(site.layer->quantWeight());
        const std::string codesName = site.name + ".codes";
        const torch::Tensor& stored = tensor(codesName);
        torch::Tensor codes;
        if (io::storageBits(bits) == 8) {
            checkShape(codesName, stored, w.sizes());
            codes = stored.to(torch::kChar);
        } else {
            const torch::Tensor bytes = stored.to(torch::kByte).contiguous();
            std::vector<int8_t> unpacked;
            try {
                unpacked = io::unpackCodes(bytes.data_ptr<uint8_t>(), std::size_t(bytes.numel()),
                                           std::size_t(w.numel()), bits);
            } catch (const std::invalid_argument& e) {
                throw std::runtime_error(path + ": tensor '" + codesName + "': " + e.what());
            }
            codes = torch::from_blob(unpacked.data(), {w.numel()}, torch::kChar).clone();
        }
        const quant::QuantRange r = rangeOf(site.quantizer);
        if (codes.lt(-r.qn).any().item<bool>() || codes.gt(r.qp).any().item<bool>()) {
            throw std::runtime_error(path + ": tensor '" + codesName + "' holds codes outside " +
                                     std::to_string(bits) + " bits");
        }
        // code x step in float32, the product the quantizer itself forms.
        const torch::Tensor view = site.layer->weightQuantizerView();
        std::vector<int64_t> bshape(std::size_t(view.dim()), 1);
        bshape[0] = step.numel() == 1 ? 1 : step.numel();
        w.copy_((codes.to(torch::kFloat).reshape(view.sizes()) * step.reshape(bshape))
                    .reshape(w.sizes()));
        quantizedWeights.insert(site.name);
    }
    for (const auto& item : model.named_parameters()) {
        if (train::isQuantizerParameter(item.key()) || quantizedWeights.count(item.key())) {
            continue;
        }
        const torch::Tensor& t = tensor(item.key());
        checkShape(item.key(), t, item.value().sizes());
        item.value().copy_(t);
    }
    for (const auto& item : model.named_buffers()) {
        if (train::isQuantizerParameter(item.key())) {
            continue;
        }
        const torch::Tensor& t = tensor(item.key());
        checkShape(item.key(), t, item.value().sizes());
        item.value().copy_(t);
    }
    model.eval();
    return out;
}

}  // namespace qs::exporting
