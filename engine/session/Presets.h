// Built-in run presets (resources/presets/*.json, compiled in).
#pragma once

#include "engine/session/RunSpec.h"

#include <string>
#include <vector>

namespace qs::session {

struct PresetInfo {
    std::string name;
    std::string description;
};

/// Every built-in preset, in a stable order.
std::vector<PresetInfo> presets();

/// The preset's spec; throws SpecError (field "preset") for an unknown name.
RunSpec preset(const std::string& name);

}  // namespace qs::session
