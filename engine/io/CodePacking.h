// Integer codes of quantized weights, packed for storage (the quantized safetensors export):
// 5 to 8 bits take a byte each; 3 and 4 bits two per byte (a nibble each); 2 bits four per byte.
// Element i of a packed stream sits in byte i / k at bit offset (i % k) * w, where k codes of w
// bits share a byte (low bits first), each code in two's complement over its w bits. Torch-free.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace qs::io {

/// Bits each code takes in storage: 8 for 5..8 bits, 4 for 3..4, 2 for 2. Throws
/// std::invalid_argument for bits outside 2..8.
int storageBits(int bits);

/// Bytes that n codes of `bits` bits take packed.
std::size_t packedSize(std::size_t n, int bits);

/// Packs signed codes, each in [-2^(bits-1), 2^(bits-1) - 1]. Throws std::invalid_argument for
/// a code outside that range (naming its index) or bad bits.
std::vector<uint8_t> packCodes(const int8_t* codes, std::size_t n, int bits);

/// Unpacks n signed codes. Throws std::invalid_argument when `size` is not packedSize(n, bits)
/// (a truncated or padded stream) or for bad bits.
std::vector<int8_t> unpackCodes(const uint8_t* bytes, std::size_t size, std::size_t n, int bits);

}  // namespace qs::io
