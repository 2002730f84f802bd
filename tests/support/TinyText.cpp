#include "support/TinyText.h"

#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <vector>

namespace qs::test {

namespace {

const std::vector<std::string> kFiller = {
    "the",  "film", "story", "was",   "a",    "an",     "plot",  "actor", "scene",  "music",
    "long", "show", "very",  "quite", "this", "that",   "movie", "cast",  "ending", "script",
    "its",  "and",  "with",  "some",  "many", "really", "of",    "in",    "it",     "had"};
const std::vector<std::string> kPositive = {"great", "good", "lovely", "fine"};
const std::vector<std::string> kNegative = {"awful", "bad", "dull", "poor"};

std::string sentence(std::mt19937& rng, const std::string& keyWord, int keyCount) {
    const int fillers = 4 + int(rng() % 7);
    std::vector<std::string> words;
    for (int i = 0; i < fillers; ++i) {
        words.push_back(kFiller[rng() % kFiller.size()]);
    }
    for (int k = 0; k < keyCount; ++k) {
        words.insert(words.begin() + std::ptrdiff_t(rng() % (words.size() + 1)), keyWord);
    }
    std::string out;
    for (const std::string& w : words) {
        out += (out.empty() ? "" : " ") + w;
    }
    return out;
}

std::ofstream openFile(const std::filesystem::path& path) {
    std::ofstream out(path, std::ios::binary);
    if (!out) {
        throw std::runtime_error("cannot write " + path.string());
    }
    return out;
}

}  // namespace

void writeTinySst2(const std::string& dir, const TinyTextOptions& options) {
    const std::filesystem::path folder = std::filesystem::path(dir) / "SST-2";
    std::filesystem::create_directories(folder);
    std::mt19937 rng(options.seed);
    for (const auto& [name, count] :
         {std::pair{"train.tsv", options.trainCount}, std::pair{"dev.tsv", options.devCount}}) {
        std::ofstream out = openFile(folder / name);
        out << "sentence\tlabel\n";
        for (int i = 0; i < count; ++i) {
            const int label = i % 2;
            const auto& keys = label ? kPositive : kNegative;
            out << sentence(rng, keys[rng() % keys.size()], 1) << '\t' << label << '\n';
        }
    }
}

void writeTinyStsb(const std::string& dir, const TinyTextOptions& options) {
    const std::filesystem::path folder = std::filesystem::path(dir) / "STS-B";
    std::filesystem::create_directories(folder);
    std::mt19937 rng(options.seed);
    for (const auto& [name, count] :
         {std::pair{"train.tsv", options.trainCount}, std::pair{"dev.tsv", options.devCount}}) {
        std::ofstream out = openFile(folder / name);
        out << "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2"
               "\tscore\n";
        for (int i = 0; i < count; ++i) {
            const bool same = i % 2 == 0;
            out << i << "\tmain-captions\tMSRvid\t2012test\t" << i << "\tnone\tnone\t"
                << sentence(rng, "", 0) << '\t' << sentence(rng, "same", same ? 1 : 0) << '\t'
                << (same ? "5.000" : "0.000") << '\n';
        }
    }
}

}  // namespace qs::test
