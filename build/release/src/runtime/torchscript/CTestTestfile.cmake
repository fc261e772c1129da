# CMake generated Testfile for 
# Source directory: /work/main/src/runtime/torchscript
# Build directory: /work/main/build/release/src/runtime/torchscript
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
