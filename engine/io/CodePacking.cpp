#include "engine/io/CodePacking.h"

#include <stdexcept>
#include <string>

namespace qs::io {

int storageBits(int bits) {
    if (bits < 2 || bits > 8) {
        throw std::invalid_argument("code packing: " + std::to_string(bits) +
                                    " bits (2..8 are stored)");
    }
    return bits >= 5 ? 8 : bits >= 3 ? 4 : 2;
}

std::size_t packedSize(std::size_t n, int bits) {
    const std::size_t perByte = std::size_t(8 / storageBits(bits));
    return (n + perByte - 1) / perByte;
}

std::vector<uint8_t> packCodes(const int8_t* codes, std::size_t n, int bits) {
    const int w = storageBits(bits);
    const int lo = -(1 << (bits - 1)), hi = (1 << (bits - 1)) - 1;
    const std::size_t perByte = std::size_t(8 / w);
    const unsigned mask = (1u << w) - 1u;
    std::vector<uint8_t> out(packedSize(n, bits), 0);
    for (std::size_t i = 0; i < n; ++i) {
        const int c = codes[i];
        if (c < lo || c > hi) {
            throw std::invalid_argument("code packing: code " + std::to_string(c) + " at " +
                                        std::to_string(i) + " is outside [" + std::to_string(lo) +
                                        ", " + std::to_string(hi) + "] for " +
                                        std::to_string(bits) + " bits");
        }
        out[i / perByte] |= uint8_t((unsigned(c) & mask) << ((i % perByte) * std::size_t(w)));
    }
    return out;
}

std::vector<int8_t> unpackCodes(const uint8_t* bytes, std::size_t size, std::size_t n, int bits) {
    const int w = storageBits(bits);
    if (size != packedSize(n, bits)) {
        throw std::invalid_argument("code packing: " + std::to_string(n) + " codes of " +
                                    std::to_string(bits) + " bits take " +
                                    std::to_string(packedSize(n, bits)) + " bytes, not " +
                                    std::to_string(size));
    }
    const std::size_t perByte = std::size_t(8 / w);
    const unsigned mask = (1u << w) - 1u;
    const unsigned sign = 1u << (w - 1);
    std::vector<int8_t> out(n);
    for (std::size_t i = 0; i < n; ++i) {
        const unsigned v =
            (unsigned(bytes[i / perByte]) >> ((i % perByte) * std::size_t(w))) & mask;
        // Sign-extend the w-bit two's complement value.
        out[i] = int8_t(int(v ^ sign) - int(sign));
    }
    return out;
}

}  // namespace qs::io
