// StoreWrapper: a Store that passes every call to another Store.
//
// A host that wants to add something to libchat's storage (an audit trail, metrics,
// a read-only switch, fault injection in its tests) derives from it and overrides
// only the calls it changes, instead of implementing every method of the Store
// interface (examples/custom_store). The wrapper adds no behaviour of its own: each
// call's contract is the wrapped store's, as documented in store.h. When a libchat
// release adds a Store method, StoreWrapper forwards it too, so derived classes keep
// compiling. Header-only.
//
//   class AuditingStore : public libchat::StoreWrapper {
//    public:
//     using StoreWrapper::StoreWrapper;
//     Result<AppendResult> AppendMessage(const AppendRequest& request, const CommitHook& on_commit) override {
//       auto result = inner().AppendMessage(request, on_commit);
//       if (result.ok()) audit_.Record(*result);
//       return result;
//     }
//   };
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "libchat/providers/store.h"

namespace libchat {

class StoreWrapper : public Store {
 public:
  explicit StoreWrapper(std::shared_ptr<Store> inner) : inner_(std::move(inner)) {}

  Result<std::optional<std::string>> GetSetting(std::string_view key) override { return inner_->GetSetting(key); }
  Result<std::string> PutSettingIfAbsent(std::string_view key, std::string_view value) override {
    return inner_->PutSettingIfAbsent(key, value);
  }
  Status CreateAccount(const StoredAccount& account) override { return inner_->CreateAccount(account); }
  Result<StoredAccount> GetAccount(const AccountId& id) override { return inner_->GetAccount(id); }
  Result<StoredAccount> FindAccountByEmail(std::string_view email) override {
    return inner_->FindAccountByEmail(email);
  }
  Status UpdateAccount(const StoredAccount& account) override { return inner_->UpdateAccount(account); }
  Status RevokeToken(std::string_view token_id, Timestamp expires_at) override {
    return inner_->RevokeToken(token_id, expires_at);
  }
  Result<bool> IsTokenRevoked(std::string_view token_id) override { return inner_->IsTokenRevoked(token_id); }
  Status CreateApp(const StoredApp& app) override { return inner_->CreateApp(app); }
  Result<StoredApp> GetApp(const AppId& id) override { return inner_->GetApp(id); }
  Result<Page<App>> ListApps(const AccountId& owner, std::string_view cursor, int limit) override {
    return inner_->ListApps(owner, cursor, limit);
  }
  Status UpdateApp(const StoredApp& app) override { return inner_->UpdateApp(app); }
  Status DeleteApp(const AppId& id) override { return inner_->DeleteApp(id); }
  Result<StoredApp> FindAppByPublishableKey(std::string_view key) override {
    return inner_->FindAppByPublishableKey(key);
  }
  Result<StoredApp> FindAppBySecretKeyHash(std::string_view hash) override {
    return inner_->FindAppBySecretKeyHash(hash);
  }
  Status CreateCustomer(const Customer& customer) override { return inner_->CreateCustomer(customer); }
  Result<Customer> GetCustomer(const CustomerId& id) override { return inner_->GetCustomer(id); }
  Result<Customer> FindCustomerByExternalId(const AppId& app, std::string_view external_id) override {
    return inner_->FindCustomerByExternalId(app, external_id);
  }
  Status UpdateCustomer(const Customer& customer) override { return inner_->UpdateCustomer(customer); }
  Status CreateConversation(const Conversation& conversation) override {
    return inner_->CreateConversation(conversation);
  }
  Result<Conversation> FindDirectConversation(const AppId& app, std::string_view member_a,
                                              std::string_view member_b) override {
    return inner_->FindDirectConversation(app, member_a, member_b);
  }
  Result<Conversation> GetConversation(const ConversationId& id, std::string_view viewer_id) override {
    return inner_->GetConversation(id, viewer_id);
  }
  Status UpdateConversation(const Conversation& conversation) override {
    return inner_->UpdateConversation(conversation);
  }
  Result<std::vector<Conversation>> ListDueSnoozed(Timestamp now, int limit) override {
    return inner_->ListDueSnoozed(now, limit);
  }
  Result<Page<Conversation>> ListConversations(const ConversationQuery& query) override {
    return inner_->ListConversations(query);
  }
  Result<bool> PutMember(const ConversationId& conversation, const Member& member) override {
    return inner_->PutMember(conversation, member);
  }
  Status RemoveMember(const ConversationId& conversation, std::string_view member_id) override {
    return inner_->RemoveMember(conversation, member_id);
  }
  Result<Member> GetMember(const ConversationId& conversation, std::string_view member_id) override {
    return inner_->GetMember(conversation, member_id);
  }
  Result<std::vector<Member>> ListMembers(const ConversationId& conversation) override {
    return inner_->ListMembers(conversation);
  }
  Result<std::vector<ConversationId>> ListMemberships(std::string_view member_id, int limit) override {
    return inner_->ListMemberships(member_id, limit);
  }
  Result<AppendResult> AppendMessage(const AppendRequest& request, const CommitHook& on_commit) override {
    return inner_->AppendMessage(request, on_commit);
  }
  Result<std::vector<Message>> ListMessages(const MessageQuery& query) override {
    return inner_->ListMessages(query);
  }
  Result<Message> GetMessage(const ConversationId& conversation, const MessageId& id) override {
    return inner_->GetMessage(conversation, id);
  }
  Result<Message> ReviseMessage(const MessageRevision& revision) override { return inner_->ReviseMessage(revision); }
  Result<Receipt> AdvanceReceipt(const ConversationId& conversation, std::string_view member_id,
                                 std::int64_t delivered_seq, std::int64_t read_seq, Timestamp now) override {
    return inner_->AdvanceReceipt(conversation, member_id, delivered_seq, read_seq, now);
  }
  Result<Receipt> GetReceipt(const ConversationId& conversation, std::string_view member_id) override {
    return inner_->GetReceipt(conversation, member_id);
  }
  Status CreateConversationAndEnqueue(const Conversation& conversation,
                                      const std::vector<Delivery>& outbox) override {
    return inner_->CreateConversationAndEnqueue(conversation, outbox);
  }
  Status UpdateConversationAndEnqueue(const Conversation& conversation,
                                      const std::vector<Delivery>& outbox) override {
    return inner_->UpdateConversationAndEnqueue(conversation, outbox);
  }
  Status CreateWebhook(const StoredWebhook& webhook) override { return inner_->CreateWebhook(webhook); }
  Result<StoredWebhook> GetWebhook(const WebhookId& id) override { return inner_->GetWebhook(id); }
  Result<std::vector<StoredWebhook>> ListWebhooks(const AppId& app) override { return inner_->ListWebhooks(app); }
  Status UpdateWebhook(const StoredWebhook& webhook) override { return inner_->UpdateWebhook(webhook); }
  Status DeleteWebhook(const WebhookId& id) override { return inner_->DeleteWebhook(id); }
  Result<std::optional<std::string>> GetAppSetting(const AppId& app, std::string_view key) override {
    return inner_->GetAppSetting(app, key);
  }
  Status PutAppSetting(const AppId& app, std::string_view key, std::string_view value) override {
    return inner_->PutAppSetting(app, key, value);
  }
  Status EnqueueDeliveries(const std::vector<Delivery>& deliveries) override {
    return inner_->EnqueueDeliveries(deliveries);
  }
  Result<std::vector<Delivery>> ClaimDueDeliveries(Timestamp now, Timestamp lease_until, int limit) override {
    return inner_->ClaimDueDeliveries(now, lease_until, limit);
  }
  Status UpdateDelivery(const DeliveryUpdate& update) override { return inner_->UpdateDelivery(update); }
  Result<Delivery> GetDelivery(const DeliveryId& id) override { return inner_->GetDelivery(id); }
  Result<Page<Delivery>> ListDeliveries(const DeliveryQuery& query) override {
    return inner_->ListDeliveries(query);
  }
  Result<int> WakeDeliveries(std::string_view recipient_id, DeliveryChannel channel, Timestamp now) override {
    return inner_->WakeDeliveries(recipient_id, channel, now);
  }
  Result<std::optional<Timestamp>> NextDeliveryDue() override { return inner_->NextDeliveryDue(); }
  Status CreateNotification(const Notification& notification, const std::vector<Delivery>& deliveries) override {
    return inner_->CreateNotification(notification, deliveries);
  }
  Result<Notification> GetNotification(const NotificationId& id) override { return inner_->GetNotification(id); }
  Status UpdateNotificationStatus(const NotificationId& id, NotificationStatus expected, NotificationStatus status,
                                  Timestamp at, const std::vector<Delivery>& enqueue) override {
    return inner_->UpdateNotificationStatus(id, expected, status, at, enqueue);
  }
  Status CancelNotification(const NotificationId& id, Timestamp at) override {
    return inner_->CancelNotification(id, at);
  }
  Status RetryNotification(const NotificationId& id, Timestamp at) override {
    return inner_->RetryNotification(id, at);
  }
  Status CreateOperators(const std::vector<Operator>& operators) override {
    return inner_->CreateOperators(operators);
  }
  Result<Operator> GetOperator(const OperatorId& id) override { return inner_->GetOperator(id); }
  Result<Page<Operator>> ListOperators(const OperatorQuery& query) override { return inner_->ListOperators(query); }
  Status UpdateOperator(const Operator& op) override { return inner_->UpdateOperator(op); }
  Result<std::vector<Operator>> ListActiveAppOperators(const AppId& app) override {
    return inner_->ListActiveAppOperators(app);
  }
  Status CreateKnowledgeEntry(const KnowledgeEntry& entry) override { return inner_->CreateKnowledgeEntry(entry); }
  Result<KnowledgeEntry> GetKnowledgeEntry(const KnowledgeId& id) override { return inner_->GetKnowledgeEntry(id); }
  Result<Page<KnowledgeEntry>> ListKnowledgeEntries(const AppId& app, std::string_view cursor, int limit) override {
    return inner_->ListKnowledgeEntries(app, cursor, limit);
  }
  Status UpdateKnowledgeEntry(const KnowledgeEntry& entry) override { return inner_->UpdateKnowledgeEntry(entry); }
  Status DeleteKnowledgeEntry(const KnowledgeId& id) override { return inner_->DeleteKnowledgeEntry(id); }
  Result<std::vector<KnowledgeMatch>> SearchKnowledge(const KnowledgeQuery& query) override {
    return inner_->SearchKnowledge(query);
  }
  Status CheckWritable() override { return inner_->CheckWritable(); }
  StoreMetrics Metrics() const override { return inner_->Metrics(); }

 protected:
  // The wrapped store, for overrides that add to a call and then pass it on.
  Store& inner() const { return *inner_; }

 private:
  std::shared_ptr<Store> inner_;
};

}  // namespace libchat
