#include "engine/data/TextDatasets.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <unordered_set>

namespace fs = std::filesystem;

namespace qs::data {

namespace {

// ---------------------------------------------------------------------------------------------
// Shared helpers

std::string lower(std::string s) {
    for (char& c : s) {
        c = char(std::tolower(static_cast<unsigned char>(c)));
    }
    return s;
}

std::string trim(const std::string& s) {
    const char* ws = " \t\r\n";
    const auto b = s.find_first_not_of(ws);
    if (b == std::string::npos) {
        return {};
    }
    return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// Whole file as bytes in a string; DataError naming the file when it cannot be read.
std::string readText(const std::string& path) {
    if (std::error_code ec; fs::is_directory(path, ec)) {
        throw DataError(path + ": cannot open: is a directory");
    }
    if (std::error_code ec; !fs::exists(path, ec)) {
        throw DataError(path + ": cannot open: No such file or directory");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw DataError(path + ": cannot open: " + std::strerror(errno));
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) {
        throw DataError(path + ": read error");
    }
    return ss.str();
}

std::vector<std::string> splitTabs(const std::string& line) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (true) {
        const auto tab = line.find('\t', start);
        if (tab == std::string::npos) {
            out.push_back(line.substr(start));
            return out;
        }
        out.push_back(line.substr(start, tab - start));
        start = tab + 1;
    }
}

// ---------------------------------------------------------------------------------------------
// GLUE

constexpr int kLast = -2;  // the label is the row's last column
constexpr int kNone = -1;

struct GlueSpec {
    const char* name;
    bool header;  // train/dev files start with a header row
    int a, b, label;
    bool regression;
    std::vector<std::string> labels;
    bool testHeader;
    int testA, testB;
};

const std::vector<GlueSpec>& glueSpecs() {
    static const std::vector<GlueSpec> specs = {
        {"CoLA", false, 3, kNone, 1, false, {"0", "1"}, true, 1, kNone},
        {"SST-2", true, 0, kNone, 1, false, {"0", "1"}, true, 1, kNone},
        {"MRPC", true, 3, 4, 0, false, {"0", "1"}, true, 3, 4},
        {"STS-B", true, 7, 8, kLast, true, {}, true, 7, 8},
        {"QQP", true, 3, 4, 5, false, {"0", "1"}, true, 1, 2},
        {"MNLI", true, 8, 9, kLast, false, {"contradiction", "entailment", "neutral"}, true, 8, 9},
        {"QNLI", true, 1, 2, kLast, false, {"entailment", "not_entailment"}, true, 1, 2},
        {"RTE", true, 1, 2, kLast, false, {"entailment", "not_entailment"}, true, 1, 2},
        {"WNLI", true, 1, 2, kLast, false, {"0", "1"}, true, 1, 2},
    };
    return specs;
}

const GlueSpec& glueSpec(const std::string& task) {
    const std::string name = glueTaskName(task);
    for (const GlueSpec& s : glueSpecs()) {
        if (name == s.name) {
            return s;
        }
    }
    throw std::invalid_argument("unknown GLUE task '" + task + "'");  // unreachable
}

// The file name of a split, or std::invalid_argument naming the allowed splits.
std::string glueFile(const GlueSpec& spec, const std::string& split, bool& test) {
    const bool mnli = std::string(spec.name) == "MNLI";
    test = false;
    if (split == "train") {
        return "train.tsv";
    }
    if (split == "dev") {
        return mnli ? "dev_matched.tsv" : "dev.tsv";
    }
    if (mnli && (split == "dev_matched" || split == "dev_mismatched")) {
        return split + ".tsv";
    }
    test = true;
    if (split == "test") {
        return mnli ? "test_matched.tsv" : "test.tsv";
    }
    if (mnli && (split == "test_matched" || split == "test_mismatched")) {
        return split + ".tsv";
    }
    throw std::invalid_argument(
        "unknown split '" + split + "' for GLUE task " + spec.name +
        (mnli ? " (expected train, dev, dev_matched, dev_mismatched, test, test_matched or "
                "test_mismatched)"
              : " (expected train, dev or test)"));
}

float parseScore(const std::string& field, const std::string& where) {
    const std::string t = trim(field);
    char* end = nullptr;
    errno = 0;
    const double v = t.empty() ? NAN : std::strtod(t.c_str(), &end);
    if (t.empty() || end != t.c_str() + t.size() || errno == ERANGE || !std::isfinite(v) ||
        v < 0.0 || v > 5.0) {
        throw DataError(where + ": bad score '" + field + "' (expected a number in [0, 5])");
    }
    return float(v);
}

// ---------------------------------------------------------------------------------------------
// SpamAssassin

struct Group {
    const char* name;
    int label;
};
const Group kGroups[] = {
    {"spam-1", 1}, {"spam-2", 1}, {"easy-ham-1", 0}, {"easy-ham-2", 0}, {"hard-ham-1", 0},
};

uint64_t fnv1a(const std::string& s) {
    uint64_t h = 14695981039346656037ull;
    for (unsigned char c : s) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return h;
}

// splitmix64's finaliser: FNV's low bits are weakly mixed, and the split takes the value mod 10.
uint64_t mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

struct Header {
    std::string name;  // lower case
    std::string value;
};

// Splits "headers \n\n body" into unfolded headers and the body. A text with no blank line is
// all headers (a MIME part may also start with the blank line: no headers at all).
void parseEntity(const std::string& text, std::vector<Header>& headers, std::string& body) {
    headers.clear();
    body.clear();
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto eol = text.find('\n', pos);
        const bool last = eol == std::string::npos;
        const std::string line = text.substr(pos, last ? std::string::npos : eol - pos);
        pos = last ? text.size() : eol + 1;
        if (line.empty()) {
            body = text.substr(pos);
            return;
        }
        if ((line[0] == ' ' || line[0] == '\t')) {
            if (!headers.empty()) {
                headers.back().value += " " + trim(line);
            }
            continue;
        }
        const auto colon = line.find(':');
        if (colon == std::string::npos || colon == 0 || line.find(' ') < colon) {
            continue;  // the mbox "From sender date" line and other non-header lines
        }
        headers.push_back({lower(line.substr(0, colon)), trim(line.substr(colon + 1))});
    }
}

std::string headerValue(const std::vector<Header>& headers, const char* name) {
    for (const Header& h : headers) {
        if (h.name == name) {
            return h.value;
        }
    }
    return {};
}

// A Content-Type parameter such as boundary="xyz" (name matched case-insensitively).
std::string contentParam(const std::string& contentType, const std::string& param) {
    const std::string l = lower(contentType);
    std::size_t at = 0;
    while ((at = l.find(param, at)) != std::string::npos) {
        const bool startOk = at == 0 || l[at - 1] == ';' || l[at - 1] == ' ' || l[at - 1] == '\t';
        std::size_t eq = at + param.size();
        while (eq < l.size() && (l[eq] == ' ' || l[eq] == '\t')) {
            ++eq;
        }
        if (startOk && eq < l.size() && l[eq] == '=') {
            std::size_t v = eq + 1;
            while (v < l.size() && (l[v] == ' ' || l[v] == '\t')) {
                ++v;
            }
            if (v < l.size() && contentType[v] == '"') {
                const auto close = contentType.find('"', v + 1);
                return contentType.substr(
                    v + 1, close == std::string::npos ? std::string::npos : close - v - 1);
            }
            const auto end = contentType.find_first_of("; \t", v);
            return contentType.substr(v, end == std::string::npos ? std::string::npos : end - v);
        }
        at += param.size();
    }
    return {};
}

int hexDigit(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

std::string decodeQuotedPrintable(const std::string& s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '=') {
            out += s[i];
            continue;
        }
        if (i + 1 < s.size() && s[i + 1] == '\n') {  // soft line break
            ++i;
            continue;
        }
        if (i + 2 < s.size() && hexDigit(s[i + 1]) >= 0 && hexDigit(s[i + 2]) >= 0) {
            out += char(hexDigit(s[i + 1]) * 16 + hexDigit(s[i + 2]));
            i += 2;
            continue;
        }
        out += '=';
    }
    return out;
}

// Lenient base64: characters outside the alphabet (line breaks, stray spaces) are skipped and
// decoding stops at the first '='.
std::string decodeBase64(const std::string& s) {
    std::string out;
    out.reserve(s.size() * 3 / 4);
    uint32_t bits = 0;
    int count = 0;
    for (char c : s) {
        int v = -1;
        if (c >= 'A' && c <= 'Z') {
            v = c - 'A';
        } else if (c >= 'a' && c <= 'z') {
            v = c - 'a' + 26;
        } else if (c >= '0' && c <= '9') {
            v = c - '0' + 52;
        } else if (c == '+') {
            v = 62;
        } else if (c == '/') {
            v = 63;
        } else if (c == '=') {
            break;
        }
        if (v < 0) {
            continue;
        }
        bits = (bits << 6) | uint32_t(v);
        if (++count == 4) {
            out += char((bits >> 16) & 0xFF);
            out += char((bits >> 8) & 0xFF);
            out += char(bits & 0xFF);
            bits = 0;
            count = 0;
        }
    }
    if (count == 2) {
        out += char((bits >> 4) & 0xFF);
    } else if (count == 3) {
        out += char((bits >> 10) & 0xFF);
        out += char((bits >> 2) & 0xFF);
    }
    return out;
}

void appendText(std::string& out, const std::string& text) {
    if (!out.empty() && out.back() != '\n') {
        out += '\n';
    }
    out += text;
}

// Appends the readable text of one MIME entity to out (see spamAssassinText()).
void extractBody(const std::vector<Header>& headers, const std::string& body, std::string& out,
                 int depth, std::size_t maxBytes) {
    if (out.size() > maxBytes) {
        return;
    }
    const std::string contentType = headerValue(headers, "content-type");
    const std::string type = lower(trim(contentType.substr(0, contentType.find(';'))));
    const std::string encoding = lower(trim(headerValue(headers, "content-transfer-encoding")));
    if (type.rfind("multipart/", 0) == 0 && depth < 8) {
        const std::string boundary = contentParam(contentType, "boundary");
        if (!boundary.empty()) {
            const std::string delimiter = "--" + boundary;
            std::vector<std::string> parts;
            bool inPart = false;
            bool found = false;
            std::string current;
            std::size_t pos = 0;
            while (pos < body.size()) {
                auto eol = body.find('\n', pos);
                const std::size_t end = eol == std::string::npos ? body.size() : eol;
                const std::string line = body.substr(pos, end - pos);
                pos = end + 1;
                if (line.rfind(delimiter, 0) == 0) {
                    found = true;
                    if (inPart) {
                        parts.push_back(current);
                    }
                    current.clear();
                    const bool closing = line.compare(delimiter.size(), 2, "--") == 0;
                    inPart = !closing;
                    if (closing) {
                        break;
                    }
                    continue;
                }
                if (inPart) {
                    current += line;
                    current += '\n';
                }
            }
            if (inPart) {
                parts.push_back(current);  // a truncated message without its closing delimiter
            }
            if (found) {
                std::vector<Header> partHeaders;
                std::string partBody;
                for (const std::string& part : parts) {
                    parseEntity(part, partHeaders, partBody);
                    extractBody(partHeaders, partBody, out, depth + 1, maxBytes);
                }
                return;
            }
        }
        // No boundary or no delimiter found: keep the body as plain text below.
    } else if (type == "message/rfc822" && depth < 8) {
        std::vector<Header> innerHeaders;
        std::string innerBody;
        parseEntity(body, innerHeaders, innerBody);
        const std::string subject = headerValue(innerHeaders, "subject");
        if (!subject.empty()) {
            appendText(out, subject);
        }
        extractBody(innerHeaders, innerBody, out, depth + 1, maxBytes);
        return;
    } else if (!type.empty() && type.rfind("text/", 0) != 0 && type.rfind("multipart/", 0) != 0) {
        return;  // images, attachments, application/*: no words for the tokenizer
    }
    const std::string text = trim(encoding == "quoted-printable" ? decodeQuotedPrintable(body)
                                  : encoding == "base64"         ? decodeBase64(body)
                                                                 : body);
    if (!text.empty()) {
        appendText(out, text);
    }
}

std::string resolveSpamFolder(const std::string& folder) {
    std::error_code ec;
    if (!fs::is_directory(folder, ec)) {
        throw DataError(folder + ": SpamAssassin folder not found");
    }
    auto hasGroup = [](const fs::path& dir) {
        std::error_code e;
        for (const Group& g : kGroups) {
            if (fs::is_directory(dir / g.name, e)) {
                return true;
            }
        }
        return false;
    };
    if (!hasGroup(folder) && hasGroup(fs::path(folder) / "data")) {
        return (fs::path(folder) / "data").string();
    }
    return folder;
}

}  // namespace

// -------------------------------------------------------------------------------------------------
// GLUE

std::vector<std::string> glueTasks() {
    std::vector<std::string> names;
    for (const GlueSpec& s : glueSpecs()) {
        names.emplace_back(s.name);
    }
    return names;
}

std::string glueTaskName(const std::string& task) {
    std::string key;
    for (char c : task) {
        if (std::isalnum(static_cast<unsigned char>(c))) {
            key += char(std::tolower(static_cast<unsigned char>(c)));
        }
    }
    for (const GlueSpec& s : glueSpecs()) {
        std::string k;
        for (const char* p = s.name; *p; ++p) {
            if (std::isalnum(static_cast<unsigned char>(*p))) {
                k += char(std::tolower(static_cast<unsigned char>(*p)));
            }
        }
        if (k == key) {
            return s.name;
        }
    }
    throw std::invalid_argument("unknown GLUE task '" + task +
                                "' (expected CoLA, SST-2, MRPC, STS-B, QQP, MNLI, QNLI, RTE or "
                                "WNLI)");
}

TextDataset readGlue(const std::string& folder, const std::string& task, const std::string& split) {
    const GlueSpec& spec = glueSpec(task);
    bool test = false;
    const std::string file = glueFile(spec, split, test);
    fs::path path = fs::path(folder) / file;
    if (std::error_code ec;
        !fs::exists(path, ec) && fs::exists(fs::path(folder) / spec.name / file, ec)) {
        path = fs::path(folder) / spec.name / file;
    }
    const std::string pathName = path.string();
    if (std::error_code ec; !fs::exists(path, ec)) {
        throw DataError(pathName + ": cannot open: No such file or directory (" + spec.name +
                        "'s " + file + " belongs in the task folder, or in a " + spec.name +
                        " folder inside the one given)");
    }
    const std::string content = readText(pathName);

    TextDataset ds;
    ds.task = spec.name;
    ds.split = split;
    ds.labeled = !test;
    ds.regression = spec.regression;
    ds.numLabels = spec.regression ? 1 : int(spec.labels.size());
    ds.labelNames = spec.labels;
    ds.pairs = spec.b != kNone;

    const int a = test ? spec.testA : spec.a;
    const int b = test ? spec.testB : spec.b;
    const int label = test ? kNone : spec.label;
    int minColumns = std::max(a, b) + 1;
    if (label == kLast) {
        minColumns += 1;
    } else {
        minColumns = std::max(minColumns, label + 1);
    }
    const bool header = test ? spec.testHeader : spec.header;
    const bool qqp = std::string(spec.name) == "QQP";

    std::size_t pos = 0;
    int lineNo = 0;
    bool headerSeen = !header;
    if (content.compare(0, 3, "\xEF\xBB\xBF") == 0) {
        pos = 3;
    }
    while (pos < content.size()) {
        auto eol = content.find('\n', pos);
        const std::size_t end = eol == std::string::npos ? content.size() : eol;
        std::string line = content.substr(pos, end - pos);
        pos = end + 1;
        ++lineNo;
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        if (line.empty()) {
            continue;
        }
        if (!headerSeen) {
            headerSeen = true;
            continue;
        }
        const std::string where = pathName + ":" + std::to_string(lineNo);
        const std::vector<std::string> fields = splitTabs(line);
        if (int(fields.size()) < minColumns) {
            if (qqp) {
                ++ds.skippedRows;
                continue;
            }
            throw DataError(where + ": expected at least " + std::to_string(minColumns) +
                            " tab-separated columns, found " + std::to_string(fields.size()));
        }
        TextExample ex;
        ex.id = split + "-" + std::to_string(ds.examples.size() + std::size_t(ds.skippedRows));
        ex.textA = fields[std::size_t(a)];
        if (b != kNone) {
            ex.textB = fields[std::size_t(b)];
        }
        if (label != kNone) {
            const std::string& value = label == kLast ? fields.back() : fields[std::size_t(label)];
            if (spec.regression) {
                ex.score = parseScore(value, where);
            } else {
                const auto it = std::find(spec.labels.begin(), spec.labels.end(), value);
                if (it == spec.labels.end()) {
                    std::string expected;
                    for (const std::string& l : spec.labels) {
                        expected += (expected.empty() ? "" : ", ") + l;
                    }
                    throw DataError(where + ": unknown label '" + value + "' (expected " +
                                    expected + ")");
                }
                ex.label = int(it - spec.labels.begin());
            }
        }
        ds.examples.push_back(std::move(ex));
    }
    return ds;
}

// -------------------------------------------------------------------------------------------------
// SpamAssassin

std::string defaultSpamAssassinFolder() {
    fs::path base;
    if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) {
        base = xdg;
    } else if (const char* home = std::getenv("HOME"); home && *home) {
        base = fs::path(home) / ".local" / "share";
    } else {
        base = fs::path(".local") / "share";
    }
    return (base / "quantscape" / "datasets" / "spam-assassin" / "data").string();
}

std::string spamAssassinText(const std::string& rawMessage, std::size_t maxBytes) {
    std::string message;
    message.reserve(rawMessage.size());
    for (std::size_t i = 0; i < rawMessage.size(); ++i) {
        if (rawMessage[i] == '\r' && i + 1 < rawMessage.size() && rawMessage[i + 1] == '\n') {
            continue;
        }
        message += rawMessage[i];
    }
    std::vector<Header> headers;
    std::string body;
    parseEntity(message, headers, body);
    std::string out = headerValue(headers, "subject");
    out += '\n';
    std::string text;
    extractBody(headers, body, text, 0, maxBytes);
    out += text;
    if (out.size() > maxBytes) {
        std::size_t cut = maxBytes;
        while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) {
            --cut;
        }
        out.resize(cut);
    }
    return out;
}

TextDataset readSpamAssassin(const std::string& folder, const std::string& split) {
    if (split != "train" && split != "dev" && split != "test" && split != "all") {
        throw std::invalid_argument("unknown SpamAssassin split '" + split +
                                    "' (expected train, dev, test or all)");
    }
    const std::string dir = resolveSpamFolder(folder);
    TextDataset ds;
    ds.task = "SpamAssassin";
    ds.split = split;
    ds.numLabels = 2;
    ds.labelNames = {"ham", "spam"};

    std::unordered_set<uint64_t> seen;
    std::size_t messages = 0;
    for (const Group& group : kGroups) {
        const fs::path groupDir = fs::path(dir) / group.name;
        std::error_code ec;
        if (!fs::is_directory(groupDir, ec)) {
            continue;
        }
        // Stems with their files: .txt preferred, .json when a message has no .txt.
        std::vector<std::string> txt, json;
        for (const auto& entry : fs::directory_iterator(groupDir, ec)) {
            if (!entry.is_regular_file(ec)) {
                continue;
            }
            const fs::path p = entry.path();
            if (p.extension() == ".txt") {
                txt.push_back(p.stem().string());
            } else if (p.extension() == ".json") {
                json.push_back(p.stem().string());
            }
        }
        if (ec) {
            throw DataError(groupDir.string() + ": cannot list: " + ec.message());
        }
        std::sort(txt.begin(), txt.end());
        std::vector<std::pair<std::string, bool>> files;  // stem, isJson
        for (const std::string& s : txt) {
            files.emplace_back(s, false);
        }
        for (const std::string& s : json) {
            if (!std::binary_search(txt.begin(), txt.end(), s)) {
                files.emplace_back(s, true);
            }
        }
        std::sort(files.begin(), files.end());

        for (const auto& [stem, isJson] : files) {
            const fs::path path = groupDir / (stem + (isJson ? ".json" : ".txt"));
            std::string raw = readText(path.string());
            if (isJson) {
                try {
                    const auto j = nlohmann::json::parse(raw);
                    raw = j.at("text").get<std::string>();
                } catch (const nlohmann::json::exception& e) {
                    throw DataError(path.string() + ": not a SpamAssassin message (" + e.what() +
                                    ")");
                }
            }
            ++messages;
            const uint64_t hash = fnv1a(raw);
            if (!seen.insert(hash).second) {
                ++ds.duplicatesDropped;
                continue;
            }
            const uint64_t bucket = mix(hash) % 10;
            const char* const in = bucket < 8 ? "train" : bucket == 8 ? "dev" : "test";
            if (split != "all" && split != in) {
                continue;
            }
            TextExample ex;
            ex.textA = spamAssassinText(raw);
            ex.label = group.label;
            ex.id = std::string(group.name) + "/" + stem;
            ds.examples.push_back(std::move(ex));
        }
    }
    if (messages == 0) {
        throw DataError(dir +
                        ": no SpamAssassin messages (expected .txt or .json files in spam-1, "
                        "spam-2, easy-ham-1, easy-ham-2 or hard-ham-1)");
    }
    return ds;
}

TextDataset readSpamAssassin(const std::string& split) {
    return readSpamAssassin(defaultSpamAssassinFolder(), split);
}

}  // namespace qs::data
