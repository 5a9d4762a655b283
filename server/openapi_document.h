// The OpenAPI 3.1 description (docs/openapi.json), compiled into the server and
// served at GET /openapi.json.
#pragma once

#include <string_view>

namespace libchat::server {

std::string_view OpenApiDocument();

}  // namespace libchat::server
