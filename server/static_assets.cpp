#include "server/static_assets.h"

#include <algorithm>

namespace libchat::server {

const StaticAsset* FindStaticAsset(std::string_view path) {
  // A handful of files: a linear search needs no ordering guarantee from the generator.
  const StaticAssetList assets = StaticAssets();
  const StaticAsset* it =
      std::find_if(assets.begin(), assets.end(), [path](const StaticAsset& asset) { return asset.path == path; });
  return it != assets.end() ? it : nullptr;
}

}  // namespace libchat::server
