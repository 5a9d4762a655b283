// Conversation assignment: the app's mode (app setting "assignment",
// {"mode":"manual"|"round_robin"}) and the round robin that picks an operator
// for a conversation handed to the team.
//
// Round robin is per app and per process: each Chat keeps the last operator it
// picked and gives the next conversation to the next active operator of the
// app, in their creation order, that this process sees online (PresenceBook,
// fed by SetPresence). With none online the conversation stays unassigned.
#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/chat_impl.h"
#include "util/status_macros.h"

namespace libchat {

namespace {

using Json = nlohmann::json;

constexpr char kAssignmentSetting[] = "assignment";
constexpr std::size_t kMaxRoundRobinApps = 100000;

}  // namespace

Result<AssignmentSettings> Chat::GetAssignment(const Principal& principal, const AppId& app) {
  Impl& impl = *impl_;
  LIBCHAT_ASSIGN_OR_RETURN(bool team, impl.IsAppTeam(principal, app));
  if (!team) return NotFoundError("app not found");
  // Parsed (unreadable or unknown values as manual, which never loses a conversation) and cached with the
  // app's delivery configuration, which PickAssignee reads too.
  LIBCHAT_ASSIGN_OR_RETURN(std::shared_ptr<const AppDeliveryConfig> config, impl.DeliveryConfigOf(app));
  return config->assignment;
}

Result<AssignmentSettings> Chat::PutAssignment(const Principal& principal, const AppId& app,
                                               const AssignmentSettings& settings) {
  Impl& impl = *impl_;
  LIBCHAT_ASSIGN_OR_RETURN(bool team, impl.IsAppTeam(principal, app));
  if (!team) return NotFoundError("app not found");
  if (principal.type != PrincipalType::kAccount) {
    return PermissionDeniedError("only the app's owner changes how conversations are assigned");
  }
  if (settings.mode != AssignmentMode::kManual && settings.mode != AssignmentMode::kRoundRobin) {
    return InvalidArgumentError("unknown assignment mode");
  }
  Json stored = Json::object();
  stored["mode"] = AssignmentModeName(settings.mode);
  LIBCHAT_RETURN_IF_ERROR(impl.store->PutAppSetting(app, kAssignmentSetting, stored.dump()));
  impl.ForgetDeliveryConfig(app);  // PickAssignee reads the mode from the cached delivery configuration
  return settings;
}

Result<std::string> Chat::Impl::PickAssignee(const AppId& app) {
  LIBCHAT_ASSIGN_OR_RETURN(std::shared_ptr<const AppDeliveryConfig> config, DeliveryConfigOf(app));
  if (config->assignment.mode != AssignmentMode::kRoundRobin) return std::string();
  LIBCHAT_ASSIGN_OR_RETURN(std::shared_ptr<const std::vector<std::string>> ids, ActiveOperatorIds(app));
  const std::vector<std::string>& candidates = *ids;
  if (candidates.empty()) return std::string();
  std::lock_guard lock(round_robin_mutex);
  auto last = round_robin_last.find(app.str());
  // Start after the last pick's place in the (creation-ordered) list; from the top when
  // there was none or it is no longer an active operator of the app.
  std::size_t start = 0;
  if (last != round_robin_last.end()) {
    auto at = std::find(candidates.begin(), candidates.end(), last->second);
    if (at != candidates.end()) start = static_cast<std::size_t>(at - candidates.begin()) + 1;
  }
  for (std::size_t k = 0; k < candidates.size(); ++k) {
    const std::string& candidate = candidates[(start + k) % candidates.size()];
    if (!presence.Get(candidate).online) continue;
    if (last == round_robin_last.end() && round_robin_last.size() >= kMaxRoundRobinApps) {
      round_robin_last.clear();  // crude bound: only the fairness of the next pick is lost
    }
    round_robin_last[app.str()] = candidate;
    return candidate;
  }
  return std::string();
}

}  // namespace libchat
