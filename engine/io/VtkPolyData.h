// VTK XML PolyData (.vtp) writer, ASCII, for ParaView and VTK's own readers: points, polygons,
// polylines and per-point scalar arrays. Torch-free and Qt-free.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace qs::io {

/// The geometry and point data of one PolyData piece. Cells list point indices.
struct PolyData {
    std::vector<std::array<double, 3>> points;
    std::vector<std::vector<int64_t>> polys;  ///< polygons, e.g. quads of a surface
    std::vector<std::vector<int64_t>> lines;  ///< polylines
    /// Named scalar arrays, one value per point (written as Float64).
    std::vector<std::pair<std::string, std::vector<double>>> pointData;
};

/// Writes `data` as an ASCII .vtp file (values with 17 significant digits, so they read back
/// exactly). Throws std::invalid_argument for a cell index outside the points, a point-data
/// array of the wrong length, a non-finite value or a bad array name; std::runtime_error
/// naming the file when it cannot be written.
void writeVtkPolyData(const std::string& path, const PolyData& data);

}  // namespace qs::io
