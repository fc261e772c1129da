# CMake generated Testfile for 
# Source directory: /work/main/src/runtime/xgboost
# Build directory: /work/main/build/release/src/runtime/xgboost
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
