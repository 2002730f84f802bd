#include "engine/io/TensorIO.h"

#include <torch/torch.h>

#include <cstring>

namespace qs::io {

namespace {

DType toDType(torch::ScalarType t) {
    switch (t) {
        case torch::kDouble:
            return DType::F64;
        case torch::kFloat:
            return DType::F32;
        case torch::kHalf:
            return DType::F16;
        case torch::kBFloat16:
            return DType::BF16;
        case torch::kLong:
            return DType::I64;
        case torch::kInt:
            return DType::I32;
        case torch::kShort:
            return DType::I16;
        case torch::kChar:
            return DType::I8;
        case torch::kByte:
            return DType::U8;
        case torch::kBool:
            return DType::BOOL;
        default:
            throw FormatError(std::string("unsupported tensor dtype ") + c10::toString(t));
    }
}

torch::ScalarType toScalarType(DType t) {
    switch (t) {
        case DType::F64:
            return torch::kDouble;
        case DType::F32:
            return torch::kFloat;
        case DType::F16:
            return torch::kHalf;
        case DType::BF16:
            return torch::kBFloat16;
        case DType::I64:
            return torch::kLong;
        case DType::I32:
            return torch::kInt;
        case DType::I16:
            return torch::kShort;
        case DType::I8:
            return torch::kChar;
        case DType::U8:
            return torch::kByte;
        case DType::BOOL:
            return torch::kBool;
    }
    throw FormatError("unsupported dtype");
}

}  // namespace

void saveTensors(const std::string& path, const NamedTensors& tensors,
                 const std::map<std::string, std::string>& metadata) {
    std::vector<torch::Tensor> keep;  // contiguous copies must live until the write
    std::vector<TensorEntry> entries;
    keep.reserve(tensors.size());
    entries.reserve(tensors.size());
    for (const auto& [name, t] : tensors) {
        keep.push_back(t.detach().to(torch::kCPU).contiguous());
        const torch::Tensor& c = keep.back();
        entries.push_back(TensorEntry{name, toDType(c.scalar_type()), c.sizes().vec(), c.data_ptr(),
                                      std::size_t(c.nbytes())});
    }
    writeSafetensors(path, entries, metadata);
}

LoadedTensors loadTensors(const std::string& path) {
    const SafetensorsFile file = SafetensorsFile::load(path);
    LoadedTensors out;
    out.metadata = file.metadata();
    for (const TensorInfo& info : file.tensors()) {
        torch::Tensor t = torch::empty(info.shape, torch::TensorOptions(toScalarType(info.dtype)));
        if (info.byteSize() > 0) {
            std::memcpy(t.data_ptr(), file.data(info), info.byteSize());
        }
        out.tensors.emplace(info.name, std::move(t));
    }
    return out;
}

}  // namespace qs::io
