// The run spec of a tiny BERT on the tiny SST-2 folder of TinyText.h: what the engine tests that
// train BERT start from (each then sets its method, bits and schedule). Header-only, torch-free.
#pragma once

#include "engine/session/RunSpec.h"

#include <string>

namespace qs::test {

/// 2 layers, hidden 32, 2 heads, intermediate 64, 64 positions, 200 embedding rows, no dropout,
/// from scratch (vocabulary learnt from the training split, words seen once kept), 24 tokens,
/// batch 16; float, AdamW lr 3e-3 with half an epoch of warm-up and linear decay over 4 epochs;
/// seed 7, one thread. `glueFolder` holds SST-2/ (writeTinySst2).
inline session::RunSpec tinyBertSpec(const std::string& glueFolder, const std::string& name) {
    session::RunSpec s;
    s.name = name;
    s.model.arch = "bert";
    s.model.bert.layers = 2;
    s.model.bert.hidden = 32;
    s.model.bert.heads = 2;
    s.model.bert.intermediate = 64;
    s.model.bert.maxPositions = 64;
    s.model.bert.vocabSize = 200;
    s.model.bert.dropout = 0.0;
    s.data.dataset = "glue";
    s.data.task = "SST-2";
    s.data.path = glueFolder;
    s.data.maxLength = 24;
    s.data.vocabMinFrequency = 1;
    s.data.batchSize = 16;
    s.data.evalBatchSize = 64;
    s.method.name = "fp";
    s.optim.optimizer = "adamw";
    s.optim.lr = 3e-3;
    s.optim.weightDecay = 0.01;
    s.optim.schedule = "linear";
    s.optim.warmupEpochs = 0.5;
    s.optim.epochs = 4;
    s.seed = 7;
    s.threads = 1;
    return s;
}

}  // namespace qs::test
