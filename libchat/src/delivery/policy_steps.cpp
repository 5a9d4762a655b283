// The built-in delivery policy steps and the chain runner (delivery_policy.h).
#include <algorithm>

#include "libchat/delivery_policy.h"

namespace libchat {

namespace {

bool IsMessageDelivery(const Delivery& delivery) { return !delivery.message_id.empty(); }
bool IsNotificationDelivery(const Delivery& delivery) { return !delivery.notification_id.empty(); }

class MessageExists final : public PolicyStep {
 public:
  std::string name() const override { return "message-exists"; }
  PolicyDecision Decide(const PolicyContext& context) const override {
    if (IsMessageDelivery(context.delivery) && !context.message) {
      return PolicyDecision::Skip("the message was deleted");
    }
    return PolicyDecision::Continue();
  }
};

class RecipientOffline final : public PolicyStep {
 public:
  std::string name() const override { return "recipient-offline"; }
  PolicyDecision Decide(const PolicyContext& context) const override {
    if (context.delivery.kind != "message.offline") return PolicyDecision::Continue();
    if (context.recipient_online) return PolicyDecision::Skip("the recipient is online");
    if (context.recipient_offline_since) {
      const Timestamp due = *context.recipient_offline_since + context.policy.offline_after;
      if (due > context.now) return PolicyDecision::Defer(due, "the recipient went offline recently");
    }
    return PolicyDecision::Continue();
  }
};

class StillUnread final : public PolicyStep {
 public:
  std::string name() const override { return "still-unread"; }
  PolicyDecision Decide(const PolicyContext& context) const override {
    if (context.delivery.kind != "email.fallback") return PolicyDecision::Continue();
    if (context.recipient_read_seq >= context.delivery.message_seq) {
      return PolicyDecision::Skip("the recipient read the message in time");
    }
    return PolicyDecision::Continue();
  }
};

class HasEmail final : public PolicyStep {
 public:
  std::string name() const override { return "has-email"; }
  PolicyDecision Decide(const PolicyContext& context) const override {
    if (context.delivery.channel == DeliveryChannel::kEmail && context.recipient_email.empty()) {
      return PolicyDecision::Skip("the recipient has no email address");
    }
    return PolicyDecision::Continue();
  }
};

class NotYetDelivered final : public PolicyStep {
 public:
  std::string name() const override { return "not-yet-delivered"; }
  PolicyDecision Decide(const PolicyContext& context) const override {
    if (IsNotificationDelivery(context.delivery) && context.already_delivered) {
      return PolicyDecision::Skip("the notification already reached the recipient");
    }
    return PolicyDecision::Continue();
  }
};

}  // namespace

std::vector<std::shared_ptr<const PolicyStep>> BuiltInPolicySteps() {
  return {std::make_shared<MessageExists>(), std::make_shared<RecipientOffline>(), std::make_shared<StillUnread>(),
          std::make_shared<HasEmail>(), std::make_shared<NotYetDelivered>()};
}

PolicyDecision RunPolicyChain(const std::vector<std::shared_ptr<const PolicyStep>>& steps,
                              const PolicyContext& context) {
  for (const auto& step : steps) {
    PolicyDecision decision = step->Decide(context);
    if (decision.kind != PolicyDecision::Kind::kContinue) {
      if (decision.reason.empty()) decision.reason = step->name();
      return decision;
    }
  }
  return PolicyDecision::Continue();
}

}  // namespace libchat
