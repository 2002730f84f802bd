// Versions of the engine and the libraries it is built on, for About dialogs and run records.
#pragma once

#include <map>
#include <string>

namespace qs::session {

/// {"quantscape": "0.1.0", "libtorch": "1.13.1", "sqlite": "3.40.1"}
std::map<std::string, std::string> engineVersions();

}  // namespace qs::session
