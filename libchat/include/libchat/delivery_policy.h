// The delivery policy chain: small steps that decide, before each attempt of a
// gated delivery (the message.offline webhook, the email fallback, a
// notification's fallback), whether it should still go out.
//
// Modeled on filter chains (Envoy's http filters): each step looks at the
// context and returns a decision; it never throws. Steps run in order; the
// first decision that is not kContinue wins. libchat's built-in steps come
// first; a host appends its own through Options::delivery.policy_steps (quiet
// hours, a per-customer opt-out, ...).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "libchat/delivery.h"
#include "libchat/export.h"
#include "libchat/types.h"

namespace libchat {

struct PolicyDecision {
  enum class Kind {
    kContinue,  // no objection: ask the next step (or send, after the last one)
    kSkip,      // do not send: the delivery ends as skipped, with `reason`
    kDefer,     // not yet: try again at `until` (no attempt is counted)
  };
  Kind kind = Kind::kContinue;
  std::string reason;
  Timestamp until;

  static PolicyDecision Continue() { return {}; }
  static PolicyDecision Skip(std::string reason) { return {Kind::kSkip, std::move(reason), {}}; }
  static PolicyDecision Defer(Timestamp until, std::string reason) {
    return {Kind::kDefer, std::move(reason), until};
  }
};

// What a step may look at. Read-only; filled by the core before the chain runs.
struct PolicyContext {
  const Delivery& delivery;
  const DeliveryPolicy& policy;  // the app's policy
  Timestamp now;
  // The recipient's presence as this process knows it (fed by Chat::SetPresence).
  bool recipient_online = false;
  std::optional<Timestamp> recipient_offline_since;  // unset: never seen online by this process
  // Messages: the message as it is now (absent if it was deleted) and the
  // recipient's read position in its conversation.
  std::optional<Message> message;
  std::int64_t recipient_read_seq = 0;
  // The address the email would go to ("" when the recipient has none).
  std::string recipient_email;
  // Notifications: true once another delivery of the same notification reached
  // this recipient (its primary channel, or its fallback).
  bool already_delivered = false;
};

// Thread-safety: Decide may be called concurrently from several delivery
// workers; it must not block on I/O and must not call into the Chat.
class LIBCHAT_API PolicyStep {
 public:
  virtual ~PolicyStep() = default;
  virtual std::string name() const = 0;
  virtual PolicyDecision Decide(const PolicyContext& context) const = 0;
};

// The built-in chain, in order:
//  1. "message-exists": skip a message delivery whose message was deleted.
//  2. "recipient-offline": message.offline only while the recipient is still
//     offline, deferred until it has been offline for offline_after.
//  3. "still-unread": the email fallback only while the recipient has not read the message.
//  4. "has-email": email only to a recipient with an address.
//  5. "not-yet-delivered": a notification delivery only while no other delivery
//     of it reached the recipient (the fallback after the primary, or the other way round).
LIBCHAT_API std::vector<std::shared_ptr<const PolicyStep>> BuiltInPolicySteps();

// Runs `steps` in order; the first non-continue decision wins.
LIBCHAT_API PolicyDecision RunPolicyChain(const std::vector<std::shared_ptr<const PolicyStep>>& steps,
                              const PolicyContext& context);

}  // namespace libchat
