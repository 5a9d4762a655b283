// The one place that knows which Catch2 is in use: Debian 12 ships v2
// (<catch2/catch.hpp>), Conan provides v3 (<catch2/catch_all.hpp>).
#pragma once

#if __has_include(<catch2/catch_all.hpp>)
#include <catch2/catch_all.hpp>
#else
#include <catch2/catch.hpp>
#endif
