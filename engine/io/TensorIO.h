// Named tensors <-> safetensors files. Internal header (torch).
#pragma once

#include "engine/io/Safetensors.h"

#include <torch/types.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace qs::io {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

/// Writes CPU tensors (any supported dtype) in the given order with the metadata.
void saveTensors(const std::string& path, const NamedTensors& tensors,
                 const std::map<std::string, std::string>& metadata = {});

/// A loaded file: tensors (owning copies) by name, and the metadata.
struct LoadedTensors {
    std::map<std::string, torch::Tensor> tensors;
    std::map<std::string, std::string> metadata;
};

/// Reads and validates a safetensors file. Throws FormatError naming the file.
LoadedTensors loadTensors(const std::string& path);

}  // namespace qs::io
