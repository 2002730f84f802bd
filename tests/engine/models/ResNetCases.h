// Torch-side cases for test_resnet: builds the engine's ResNets and reports their structure as
// plain values, so the Qt Test file never sees a torch header.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qs::test::resnet {

struct Parameter {
    std::string path;
    std::vector<int64_t> shape;
};

struct Structure {
    std::vector<Parameter> parameters;                    ///< named_parameters(), in order
    std::vector<std::string> buffers;                     ///< named_buffers(), in order
    std::vector<std::string> quantLayers;                 ///< quantLayers() paths, in order
    std::vector<std::vector<int64_t>> quantWeightShapes;  ///< each quant layer's weight shape
    int64_t parameterCount = 0;                           ///< sum of numel over named_parameters()
    int64_t convModules = 0;                              ///< QConv2d modules among named_modules()
    int64_t linearModules = 0;                            ///< QLinear modules among named_modules()
};

/// Builds `arch` and describes it.
Structure describe(const std::string& arch, int64_t inChannels, int64_t numClasses);

/// Parameter paths after every quant layer got W4A4 quantizers.
std::vector<std::string> quantizedParameterPaths(const std::string& arch);

/// Output shape of a forward (eval mode, no grad) on a batch of zeros-mean random images.
std::vector<int64_t> forwardShape(const std::string& arch, int64_t inChannels, int64_t numClasses,
                                  int64_t batch, int64_t height, int64_t width);

/// The message of the exception a constructor throws; empty when it succeeds.
std::string constructionError(const std::string& arch);

/// isKnownArch.
bool knownArch(const std::string& arch);

}  // namespace qs::test::resnet
