# Debian package (CPack's DEB generator): `cpack -G DEB` in a build folder makes
# quantscape_<version>_<arch>.deb with the two programs, the desktop entry, the AppStream
# metadata, the icon and the man pages. packaging/check-deb.sh builds it and installs it with apt
# on a fresh Debian 12 root (debootstrap + chroot). Included from the top-level CMakeLists.txt.
#
# The project's own libraries (engine, store, report, bridge, widgets, visualization) are static
# and linked into the programs, so the package ships no library of its own; everything else comes
# from Debian packages, found by dpkg-shlibdeps from the programs' NEEDED entries.

include(GNUInstallDirs)

set(QS_APP_ID "io.github.quantscape.Quantscape")
set(QS_DEB_MAINTAINER "Quantscape maintainers <maintainers@quantscape.invalid>" CACHE STRING
    "Maintainer field of the Debian package (cpack -G DEB)")

# Desktop integration: freedesktop.org desktop entry, AppStream metainfo, scalable icon.
install(FILES ${PROJECT_SOURCE_DIR}/resources/${QS_APP_ID}.desktop
        DESTINATION ${CMAKE_INSTALL_DATADIR}/applications)
install(FILES ${PROJECT_SOURCE_DIR}/resources/${QS_APP_ID}.metainfo.xml
        DESTINATION ${CMAKE_INSTALL_DATADIR}/metainfo)
install(FILES ${PROJECT_SOURCE_DIR}/resources/icons/${QS_APP_ID}.svg
        DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/scalable/apps)

# Man pages: the version filled in and gzipped (as Debian installs them) at configure time, so
# packaging needs no extra build target. Editing a page re-runs the configure step.
find_program(QS_GZIP gzip REQUIRED)
foreach(_page quantscape.1 quantscape-cli.1)
  set(_src ${CMAKE_CURRENT_LIST_DIR}/man/${_page}.in)
  set(_out ${PROJECT_BINARY_DIR}/packaging/man/${_page})
  set_property(DIRECTORY ${PROJECT_SOURCE_DIR} APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_src})
  configure_file(${_src} ${_out} @ONLY)
  # -n: no name or time stamp in the header, so the same page gives the same bytes.
  execute_process(COMMAND ${QS_GZIP} -9 -n -f -k ${_out} RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "gzip ${_out} failed")
  endif()
  install(FILES ${_out}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endforeach()

# Debian's copyright file location (no licence file is in the repository yet, so this names the
# project and points at the source; replace with the licence once the project has one).
set(_copyright ${PROJECT_BINARY_DIR}/packaging/copyright)
file(WRITE ${_copyright}
  "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
  "Upstream-Name: quantscape\n"
  "Comment: Built from the Quantscape source tree with CPack (packaging/Packaging.cmake).\n")
install(FILES ${_copyright} DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/quantscape)

# A one-entry Debian changelog (native package), gzipped like the man pages. The date is the
# configure time, or SOURCE_DATE_EPOCH where that is set (reproducible builds).
string(TIMESTAMP _date "%a, %d %b %Y %H:%M:%S +0000" UTC)
set(_changelog ${PROJECT_BINARY_DIR}/packaging/changelog)
file(WRITE ${_changelog}
  "quantscape (${PROJECT_VERSION}) bookworm; urgency=medium\n\n"
  "  * Built from the Quantscape source tree with CPack.\n\n"
  " -- ${QS_DEB_MAINTAINER}  ${_date}\n")
execute_process(COMMAND ${QS_GZIP} -9 -n -f -k ${_changelog} RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "gzip ${_changelog} failed")
endif()
install(FILES ${_changelog}.gz DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/quantscape)

# ---- CPack ---------------------------------------------------------------------------------------
set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "quantscape")
set(CPACK_PACKAGE_VENDOR "Quantscape")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_CONTACT "${QS_DEB_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "workbench for neural-network quantization")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_STRIP_FILES ON)
# Only what is installed (no source package); quantscape_<version>_<arch>.deb.
set(CPACK_SOURCE_GENERATOR "")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)

set(CPACK_DEBIAN_PACKAGE_NAME "quantscape")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CPACK_PACKAGE_CONTACT}")
set(CPACK_DEBIAN_PACKAGE_SECTION "science")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
  "Quantscape trains and quantizes ResNets and BERT with LSQ (learned step-size
quantization), SQuAT (sharpness- and quantization-aware training), noise
tempering and post-training calibration, measures sharpness, computes loss
landscapes and Hessian sensitivities, and allocates mixed-precision bit-widths
under a size budget. Every run and analysis is recorded in a SQLite run store.
It exports quantized safetensors, encodings JSON and ONNX with QDQ pairs, and
writes HTML or PDF reports.

This package contains the desktop window (quantscape, Qt 6 and VTK) and the
headless command-line tool (quantscape-cli).")

# Library dependencies: dpkg-shlibdeps over the installed programs (LibTorch, Qt 6, QCustomPlot,
# VTK, SQLite, protobuf/ONNX, ...). Then what the programs need at run time that no NEEDED entry
# shows:
#  - libopenblas0-pthread: LibTorch's linear layers call the system BLAS (libblas.so.3); the
#    reference BLAS that would be chosen otherwise is far too slow (see packaging/setup.sh).
# (Qt's xcb platform plugin, which the window needs on X11, is part of libqt6gui6 on Debian 12;
# Wayland sessions use it through XWayland, or qt6-wayland's plugin when that is installed.)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libopenblas0-pthread")
# The default data set (Fashion-MNIST, /usr/share/datasets/fashion-mnist): the demo and smoke
# presets train on it. apt installs Recommends by default.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "dataset-fashion-mnist")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "qt6-wayland")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
