// The .vtp export read back with VTK's own XML reader: points (x, y, loss), quads of a surface or
// the polyline of a curve, and the "loss" and "accuracy" point arrays, value for value.
#include "engine/analysis/Landscape.h"

#include <QTemporaryDir>
#include <QTest>

#include <vtkCellArray.h>
#include <vtkDataArray.h>
#include <vtkIdList.h>
#include <vtkNew.h>
#include <vtkPointData.h>
#include <vtkPoints.h>
#include <vtkPolyData.h>
#include <vtkXMLPolyDataReader.h>

#include <cmath>

using qs::analysis::LandscapeSurface;

namespace {

LandscapeSurface surface(int nx, int ny) {
    LandscapeSurface s;
    s.id = 4;
    s.nx = nx;
    s.ny = ny;
    s.xMin = -1.0;
    s.xMax = 0.5;
    s.yMin = ny > 1 ? -0.25 : 0.0;
    s.yMax = ny > 1 ? 1.0 : 0.0;
    s.status = "finished";
    for (int iy = 0; iy < ny; ++iy) {
        for (int ix = 0; ix < nx; ++ix) {
            // Values that need all 17 digits to come back exactly.
            s.loss.push_back(1.0 / 3.0 + 0.1 * ix * ix + 0.07 * iy + 1e-13 * (ix + 1));
            s.accuracy.push_back(1.0 / (2.0 + ix + iy));
        }
    }
    return s;
}

}  // namespace

class TestLandscapeVtp : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void readsBackInVtk_data();
    void readsBackInVtk();
    void unwritablePathNamesTheFile();

private:
    QTemporaryDir m_dir;
};

void TestLandscapeVtp::readsBackInVtk_data() {
    QTest::addColumn<int>("nx");
    QTest::addColumn<int>("ny");
    QTest::newRow("surface 4x3") << 4 << 3;
    QTest::newRow("curve 7") << 7 << 1;
}

void TestLandscapeVtp::readsBackInVtk() {
    QFETCH(int, nx);
    QFETCH(int, ny);
    QVERIFY(m_dir.isValid());
    const LandscapeSurface s = surface(nx, ny);
    const std::string path =
        m_dir.filePath(QStringLiteral("s-%1x%2.vtp").arg(nx).arg(ny)).toStdString();
    qs::analysis::writeVtp(s, path);

    vtkNew<vtkXMLPolyDataReader> reader;
    reader->SetFileName(path.c_str());
    reader->Update();
    QCOMPARE(reader->GetErrorCode(), 0ul);
    vtkPolyData* data = reader->GetOutput();
    QVERIFY(data != nullptr);
    QCOMPARE(data->GetNumberOfPoints(), vtkIdType(nx * ny));
    vtkDataArray* loss = data->GetPointData()->GetArray("loss");
    vtkDataArray* accuracy = data->GetPointData()->GetArray("accuracy");
    QVERIFY(loss != nullptr && accuracy != nullptr);
    for (int iy = 0; iy < ny; ++iy) {
        for (int ix = 0; ix < nx; ++ix) {
            const vtkIdType i = iy * nx + ix;
            double p[3];
            data->GetPoint(i, p);
            QCOMPARE(p[0], qs::analysis::gridX(s, ix));
            QCOMPARE(p[1], qs::analysis::gridY(s, iy));
            QCOMPARE(p[2], s.loss[size_t(i)]);
            QCOMPARE(loss->GetTuple1(i), s.loss[size_t(i)]);
            QCOMPARE(accuracy->GetTuple1(i), s.accuracy[size_t(i)]);
        }
    }
    if (ny > 1) {
        QCOMPARE(data->GetNumberOfPolys(), vtkIdType((nx - 1) * (ny - 1)));
        QCOMPARE(data->GetNumberOfLines(), vtkIdType(0));
        vtkNew<vtkIdList> quad;
        data->GetPolys()->GetCellAtId(0, quad);
        QCOMPARE(quad->GetNumberOfIds(), vtkIdType(4));
        QCOMPARE(quad->GetId(0), vtkIdType(0));
        QCOMPARE(quad->GetId(1), vtkIdType(1));
        QCOMPARE(quad->GetId(2), vtkIdType(nx + 1));
        QCOMPARE(quad->GetId(3), vtkIdType(nx));
    } else {
        QCOMPARE(data->GetNumberOfLines(), vtkIdType(1));
        QCOMPARE(data->GetNumberOfPolys(), vtkIdType(0));
        vtkNew<vtkIdList> line;
        data->GetLines()->GetCellAtId(0, line);
        QCOMPARE(line->GetNumberOfIds(), vtkIdType(nx));
        QCOMPARE(line->GetId(nx - 1), vtkIdType(nx - 1));
    }
}

void TestLandscapeVtp::unwritablePathNamesTheFile() {
    const std::string path = m_dir.filePath(QStringLiteral("no/such/dir/s.vtp")).toStdString();
    try {
        qs::analysis::writeVtp(surface(2, 2), path);
        QFAIL("an unwritable path was accepted");
    } catch (const std::runtime_error& e) {
        QVERIFY2(std::string(e.what()).find(path) != std::string::npos, e.what());
    }
}

QTEST_GUILESS_MAIN(TestLandscapeVtp)
#include "TestLandscapeVtp.moc"
