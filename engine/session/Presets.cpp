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
    // The method comparison (README "Method comparison"): one float checkpoint, four methods,
    // three bit-widths. "run:demo-float" is the newest finished demo-float run in the store.
    {"ptq-w4a4", "W4A4 PTQ: MSE calibration on 4 batches, no training, from demo-float"},
    {"ptq-w3a3", "W3A3 PTQ: MSE calibration on 4 batches, no training, from demo-float"},
    {"ptq-w2a2", "W2A2 PTQ: MSE calibration on 4 batches, no training, from demo-float"},
    {"lsq-w4a4", "W4A4 LSQ, 1 epoch, from demo-float"},
    {"lsq-w3a3", "W3A3 LSQ, 1 epoch, from demo-float"},
    {"lsq-w2a2", "W2A2 LSQ, 1 epoch, from demo-float"},
    {"squat-w4a4", "W4A4 SQuAT (per-step, rho 0.05), 1 epoch, from demo-float"},
    {"squat-w3a3", "W3A3 SQuAT (per-step, rho 0.05), 1 epoch, from demo-float"},
    {"squat-w2a2", "W2A2 SQuAT (per-step, rho 0.05), 1 epoch, from demo-float"},
    {"nt-w4a4", "W4A4 noise tempering (lambda 1 to 0.01 at 80%), 1 epoch, from demo-float"},
    {"nt-w3a3", "W3A3 noise tempering (lambda 1 to 0.01 at 80%), 1 epoch, from demo-float"},
    {"nt-w2a2", "W2A2 noise tempering (lambda 1 to 0.01 at 80%), 1 epoch, from demo-float"},
    // BERT (README "BERT on SpamAssassin"): a small BERT from scratch, then quantized from it.
    {"bert-spam-float",
     "BERT 4 layers, hidden 256, from scratch on SpamAssassin with a learnt vocabulary, 4 epochs"},
    {"bert-spam-lsq-w4a8",
     "BERT W4A8 LSQ (embedding 4 bits, classifier float), 1 epoch, "
     "from bert-spam-float"},
    {"bert-spam-squat-w4a8", "BERT W4A8 SQuAT (rho 0.05), 1 epoch, from bert-spam-float"},
    {"bert-spam-nt-w4a8", "BERT W4A8 noise tempering, 1 epoch, from bert-spam-float"},
    {"bert-spam-lsq-w2a8", "BERT W2A8 LSQ, 1 epoch, from bert-spam-float"},
    {"bert-spam-squat-w2a8", "BERT W2A8 SQuAT (rho 0.05), 1 epoch, from bert-spam-float"},
    {"bert-spam-nt-w2a8", "BERT W2A8 noise tempering, 1 epoch, from bert-spam-float"},
    {"glue-squat-w4a8",
     "GLUE SST-2, W4A8 SQuAT with distillation from a fine-tuned Hugging Face BERT, 3 epochs; "
     "set data.path (GLUE folder) and model.bert.pretrained (checkpoint folder) first"},
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
