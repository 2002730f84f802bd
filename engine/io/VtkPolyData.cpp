#include "engine/io/VtkPolyData.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace qs::io {

namespace {

std::string number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

void checkFinite(double v, const std::string& what) {
    if (!std::isfinite(v)) {
        throw std::invalid_argument("vtp: " + what + " is not finite (" + number(v) + ")");
    }
}

void checkCells(const std::vector<std::vector<int64_t>>& cells, std::size_t pointCount,
                const char* kind) {
    for (std::size_t c = 0; c < cells.size(); ++c) {
        if (cells[c].empty()) {
            throw std::invalid_argument(std::string("vtp: ") + kind + " " + std::to_string(c) +
                                        " has no points");
        }
        for (int64_t i : cells[c]) {
            if (i < 0 || std::size_t(i) >= pointCount) {
                throw std::invalid_argument(std::string("vtp: ") + kind + " " + std::to_string(c) +
                                            " refers to point " + std::to_string(i) + " of " +
                                            std::to_string(pointCount));
            }
        }
    }
}

/// <Verts>/<Lines>/<Polys>: the "connectivity" and "offsets" arrays VTK's XML format uses.
void writeCells(std::ostream& out, const char* tag,
                const std::vector<std::vector<int64_t>>& cells) {
    out << "      <" << tag << ">\n";
    out << "        <DataArray type=\"Int64\" Name=\"connectivity\" format=\"ascii\">\n";
    for (const auto& cell : cells) {
        out << "         ";
        for (int64_t i : cell) {
            out << ' ' << i;
        }
        out << '\n';
    }
    out << "        </DataArray>\n";
    out << "        <DataArray type=\"Int64\" Name=\"offsets\" format=\"ascii\">\n         ";
    int64_t offset = 0;
    for (const auto& cell : cells) {
        offset += int64_t(cell.size());
        out << ' ' << offset;
    }
    out << "\n        </DataArray>\n";
    out << "      </" << tag << ">\n";
}

}  // namespace

void writeVtkPolyData(const std::string& path, const PolyData& data) {
    const std::size_t n = data.points.size();
    for (std::size_t p = 0; p < n; ++p) {
        for (double v : data.points[p]) {
            checkFinite(v, "point " + std::to_string(p));
        }
    }
    checkCells(data.polys, n, "polygon");
    checkCells(data.lines, n, "line");
    for (const auto& [name, values] : data.pointData) {
        if (name.empty() || name.find_first_of("\"<>&") != std::string::npos) {
            throw std::invalid_argument("vtp: bad point-data array name '" + name + "'");
        }
        if (values.size() != n) {
            throw std::invalid_argument("vtp: point-data array '" + name + "' has " +
                                        std::to_string(values.size()) + " values for " +
                                        std::to_string(n) + " points");
        }
        for (std::size_t p = 0; p < n; ++p) {
            checkFinite(values[p], "'" + name + "' at point " + std::to_string(p));
        }
    }

    std::ostringstream out;
    out << "<?xml version=\"1.0\"?>\n"
        << "<VTKFile type=\"PolyData\" version=\"1.0\" byte_order=\"LittleEndian\" "
           "header_type=\"UInt64\">\n"
        << "  <PolyData>\n"
        << "    <Piece NumberOfPoints=\"" << n << "\" NumberOfVerts=\"0\" NumberOfLines=\""
        << data.lines.size() << "\" NumberOfStrips=\"0\" NumberOfPolys=\"" << data.polys.size()
        << "\">\n";
    out << "      <PointData";
    if (!data.pointData.empty()) {
        out << " Scalars=\"" << data.pointData.front().first << "\"";
    }
    out << ">\n";
    for (const auto& [name, values] : data.pointData) {
        out << "        <DataArray type=\"Float64\" Name=\"" << name << "\" format=\"ascii\">\n";
        for (double v : values) {
            out << "          " << number(v) << '\n';
        }
        out << "        </DataArray>\n";
    }
    out << "      </PointData>\n";
    out << "      <Points>\n"
        << "        <DataArray type=\"Float64\" NumberOfComponents=\"3\" format=\"ascii\">\n";
    for (const auto& p : data.points) {
        out << "          " << number(p[0]) << ' ' << number(p[1]) << ' ' << number(p[2]) << '\n';
    }
    out << "        </DataArray>\n"
        << "      </Points>\n";
    if (!data.lines.empty()) {
        writeCells(out, "Lines", data.lines);
    }
    if (!data.polys.empty()) {
        writeCells(out, "Polys", data.polys);
    }
    out << "    </Piece>\n"
        << "  </PolyData>\n"
        << "</VTKFile>\n";

    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    const std::string text = out.str();
    if (!file || !file.write(text.data(), std::streamsize(text.size())) || !file.flush()) {
        throw std::runtime_error(path + ": cannot write the .vtp file");
    }
}

}  // namespace qs::io
