// Small helpers of quantscape-cli: argument reading, default paths, text tables.
#pragma once

#include <atomic>
#include <stdexcept>
#include <string>
#include <vector>

namespace qs::cli {

/// A command-line mistake: printed with the usage hint, exit code 2.
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Walks argv after the command name.
class Args {
public:
    Args(int argc, char** argv, int first);
    bool done() const { return m_pos >= m_args.size(); }
    const std::string& peek() const { return m_args[m_pos]; }
    std::string next();
    /// The value after an option, e.g. value("--db") after "--db" was read.
    std::string value(const std::string& option);
    long long integer(const std::string& option);
    double real(const std::string& option);

private:
    std::vector<std::string> m_args;
    std::size_t m_pos = 0;
};

/// Set by the SIGINT/SIGTERM handler; long jobs poll it and cancel.
std::atomic<bool>& interrupted();

/// $XDG_DATA_HOME/quantscape (default ~/.local/share/quantscape).
std::string dataHome();
std::string defaultDbPath();
std::string defaultOutDir();

/// Left-aligned text table with a header row and a rule under it.
std::string formatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows);

std::string formatPercent(double fraction);
std::string formatFixed(double value, int decimals);

}  // namespace qs::cli
