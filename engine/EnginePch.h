// Precompiled header of qs_engine: the torch headers every engine translation unit needs.
// Never include this from a public header.
#pragma once
#include <torch/autograd.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim.h>
#include <torch/types.h>
#include <nlohmann/json.hpp>
