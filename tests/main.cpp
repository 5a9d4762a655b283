#if __has_include(<catch2/catch_all.hpp>)
#include <catch2/catch_all.hpp>  // v3 ships its own main in Catch2::Catch2WithMain
#else
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
#endif
