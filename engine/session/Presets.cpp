#include "engine/session/Presets.h"

#include "engine/session/PresetData.h"

namespace qs::session {

namespace {

struct Description {
    const char* name;
    const char* text;
};

// The order presets are listed in; each name has resources/presets/<name>.json.
constexpr Description kDescriptions[] = {
    {"smoke", "ResNet-20, LSQ W4A4 from scratch on 2k Fashion-MNIST images, 1 epoch (< 1 min)"},
    {"demo-float", "ResNet-20 float on Fashion-MNIST, 3 epochs: the demo's first stage"},
    {"demo-lsq-w4a4", "LSQ W4A4 fine-tuning of demo-float's checkpoint, 2 epochs"},
    {"lsq-w4a4", "ResNet-20 LSQ W4A4 on Fashion-MNIST, 1 epoch (set init_checkpoint)"},
    {"lsq-w3a3", "ResNet-20 LSQ W3A3 on Fashion-MNIST, 1 epoch (set init_checkpoint)"},
    {"lsq-w2a2", "ResNet-20 LSQ W2A2 on Fashion-MNIST, 1 epoch (set init_checkpoint)"},
};

}  // namespace

std::vector<PresetInfo> presets() {
    std::vector<PresetInfo> out;
    for (const Description& d : kDescriptions) {
        out.push_back({d.name, d.text});
    }
    return out;
}

RunSpec preset(const std::string& name) {
    for (const PresetData& p : kPresetData) {
        if (name == p.name) {
            return RunSpec::fromJson(p.json);
        }
    }
    std::string known;
    for (const Description& d : kDescriptions) {
        known += known.empty() ? d.name : std::string(", ") + d.name;
    }
    throw SpecError("preset", "unknown preset \"" + name + "\" (known: " + known + ")");
}

}  // namespace qs::session
