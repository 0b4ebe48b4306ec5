# CMake toolchain file for bare-metal Cortex-M with the GNU Arm toolchain (arm-none-eabi-gcc + newlib).
#   cmake -S <app> -B <build> -DCMAKE_TOOLCHAIN_FILE=<this file>
# Core flags (-mcpu, -mfpu, -mfloat-abi) come from the board file and are added by the project; a
# prefix other than arm-none-eabi- can be chosen with -DARM_TOOLCHAIN_PREFIX=... (e.g. a full path).
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

if(NOT DEFINED ARM_TOOLCHAIN_PREFIX)
  set(ARM_TOOLCHAIN_PREFIX "arm-none-eabi-")
endif()

set(CMAKE_C_COMPILER "${ARM_TOOLCHAIN_PREFIX}gcc")
set(CMAKE_CXX_COMPILER "${ARM_TOOLCHAIN_PREFIX}g++")
set(CMAKE_ASM_COMPILER "${ARM_TOOLCHAIN_PREFIX}gcc")
set(CMAKE_OBJCOPY "${ARM_TOOLCHAIN_PREFIX}objcopy" CACHE FILEPATH "objcopy")
set(CMAKE_SIZE "${ARM_TOOLCHAIN_PREFIX}size" CACHE FILEPATH "size")

# Linking a test executable needs a linker script and startup code: only compile in try_compile.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

# Never pick up host libraries or headers.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
