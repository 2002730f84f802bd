#include "app/cli/CliSupport.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace qs::cli {

Args::Args(int argc, char** argv, int first) {
    for (int i = first; i < argc; ++i) {
        m_args.emplace_back(argv[i]);
    }
}

std::string Args::next() {
    if (done()) {
        throw UsageError("missing argument");
    }
    return m_args[m_pos++];
}

std::string Args::value(const std::string& option) {
    if (done()) {
        throw UsageError(option + " needs a value");
    }
    return m_args[m_pos++];
}

long long Args::integer(const std::string& option) {
    const std::string text = value(option);
    char* end = nullptr;
    const long long v = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0') {
        throw UsageError(option + " needs an integer (got \"" + text + "\")");
    }
    return v;
}

double Args::real(const std::string& option) {
    const std::string text = value(option);
    try {
        std::size_t used = 0;
        const double v = std::stod(text, &used);
        if (used == text.size()) {
            return v;
        }
    } catch (const std::logic_error&) {
    }
    throw UsageError(option + " needs a number (got \"" + text + "\")");
}

std::atomic<bool>& interrupted() {
    static std::atomic<bool> flag{false};
    return flag;
}

std::string dataHome() {
    if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) {
        return std::string(xdg) + "/quantscape";
    }
    const char* home = std::getenv("HOME");
    return std::string(home && *home ? home : ".") + "/.local/share/quantscape";
}

std::string defaultDbPath() {
    return dataHome() + "/runs.sqlite";
}

std::string defaultOutDir() {
    return dataHome() + "/checkpoints";
}

std::string formatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> width(header.size(), 0);
    for (std::size_t c = 0; c < header.size(); ++c) {
        width[c] = header[c].size();
        for (const auto& r : rows) {
            if (c < r.size()) {
                width[c] = std::max(width[c], r[c].size());
            }
        }
    }
    auto line = [&](const std::vector<std::string>& cells) {
        std::string out;
        for (std::size_t c = 0; c < header.size(); ++c) {
            std::string cell = c < cells.size() ? cells[c] : "";
            if (c + 1 < header.size()) {
                cell.resize(width[c] + 2, ' ');
            }
            out += cell;
        }
        while (!out.empty() && out.back() == ' ') {
            out.pop_back();
        }
        return out + "\n";
    };
    std::string out = line(header);
    std::vector<std::string> rule;
    for (std::size_t w : width) {
        rule.emplace_back(w, '-');
    }
    out += line(rule);
    for (const auto& r : rows) {
        out += line(r);
    }
    return out;
}

std::string formatPercent(double fraction) {
    return formatFixed(100.0 * fraction, 2) + "%";
}

std::string formatFixed(double value, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
    return buf;
}

}  // namespace qs::cli
