// The whole product loop against the real server: an owner signs up and creates an app, a customer writes
// through the SDK, the owner sees the conversation, both sides talk live over WebSockets (replies over REST
// and over the socket), the customer drops off, misses messages and resumes with after_seq, and read
// receipts clear the unread counts.
#include <string>
#include <vector>

#include "catch.h"
#include "integration/integration_util.h"
#include "integration/server_process.h"

namespace libchat::testing_support {
namespace {

using namespace std::chrono_literals;

std::int64_t SeqOf(const Json& frame) {
  const Json& data = frame["data"];
  return data.is_object() && data["seq"].is_number_integer() ? data["seq"].get<std::int64_t>() : -1;
}

bool IsMessageCreated(const Json& frame, const std::string& conversation_id) {
  return IsType(frame, "message.created") && frame["data"].is_object() &&
         frame["data"].value("conversation_id", "") == conversation_id;
}

std::vector<std::int64_t> CreatedSeqs(const std::vector<Json>& frames, const std::string& conversation_id) {
  std::vector<std::int64_t> seqs;
  for (const Json& frame : frames) {
    if (IsMessageCreated(frame, conversation_id)) seqs.push_back(SeqOf(frame));
  }
  return seqs;
}

// The app's conversation list as the owner sees it.
Json ListConversations(HttpClient& http, const Tenant& tenant) {
  HttpResult listed = http.Request("GET", "/v1/apps/" + tenant.app_id + "/conversations", {}, Bearer(tenant.token));
  INFO(Describe(listed));
  REQUIRE(listed.status == 200);
  Json body = BodyJson(listed);
  REQUIRE(body.is_object());
  REQUIRE(body["data"].is_array());
  return body;
}

Json FindConversation(const Json& list, const std::string& id) {
  for (const Json& conversation : list["data"]) {
    if (conversation.value("id", "") == id) return conversation;
  }
  FAIL("conversation " << id << " is not in the list: " << list.dump());
  return {};
}

// The owner replies over REST; returns the created message.
Json OwnerReplies(HttpClient& http, const Tenant& tenant, const std::string& conversation_id,
                  const std::string& text, const std::string& client_msg_id) {
  const Json request = {{"text", text}, {"client_msg_id", client_msg_id}};
  const std::string path = "/v1/conversations/" + conversation_id + "/messages";
  HttpResult sent = http.Request("POST", path, request.dump(), Bearer(tenant.token));
  INFO(Describe(sent));
  REQUIRE(sent.status == 201);
  Json body = BodyJson(sent);
  REQUIRE(body.is_object());
  REQUIRE(body["message"].is_object());
  CHECK(body["message"].value("text", "") == text);
  CHECK(body["message"]["sender"].value("type", "") == "account");
  CHECK(body["message"]["sender"].value("id", "") == tenant.account_id);
  return body["message"];
}

void CheckHello(const std::optional<Json>& hello, const std::string& principal_type,
                const std::string& principal_id) {
  REQUIRE(hello.has_value());
  INFO("hello: " << hello->dump());
  REQUIRE(IsType(*hello, "hello"));
  const Json& data = (*hello)["data"];
  REQUIRE(data.is_object());
  CHECK(data["connection_id"].is_string());
  CHECK(!data.value("connection_id", "").empty());
  CHECK(data["heartbeat_ms"].is_number_integer());
  CHECK(data.value("heartbeat_ms", 0) > 0);
  REQUIRE(data["principal"].is_object());
  CHECK(data["principal"].value("type", "") == principal_type);
  if (!principal_id.empty()) CHECK(data["principal"].value("id", "") == principal_id);
}

TEST_CASE("loop: signup then SDK message then owner inbox then live replies then resume and read receipts",
          "[integration]") {
  ServerProcess server;
  INFO(server.error());
  REQUIRE(server.Start());
  HttpClient http(server.port());

  // 1. The owner signs up and creates an app.
  const Tenant tenant = CreateTenant(http, "owner@example.com");

  // 2. The customer's first message creates the conversation and returns a session token.
  const CustomerSession customer = StartConversation(http, tenant, "Hello, my order did not arrive");
  REQUIRE(!customer.customer_id.empty());

  // 3. The owner's inbox shows it, unread, with its last message.
  {
    const Json list = ListConversations(http, tenant);
    REQUIRE(list["data"].size() == 1);
    const Json conversation = FindConversation(list, customer.conversation_id);
    CHECK(conversation.value("app_id", "") == tenant.app_id);
    CHECK(conversation.value("type", "") == "support");
    CHECK(conversation.value("status", "") == "open");
    CHECK(conversation.value("last_seq", -1) == 1);
    CHECK(conversation.value("unread_count", -1) == 1);
    REQUIRE(conversation["last_message"].is_object());
    CHECK(conversation["last_message"].value("seq", -1) == 1);
    CHECK(conversation["last_message"].value("text", "") == "Hello, my order did not arrive");
    CHECK(conversation["last_message"]["sender"].value("type", "") == "customer");
  }

  // 4. Both sides connect: the owner with the Authorization header, the customer with ?token=.
  WsClient owner_ws;
  REQUIRE(owner_ws.Connect(server.port(), "/v1/ws", {{"Authorization", "Bearer " + tenant.token}}));
  CheckHello(ReceiveJson(owner_ws), "account", tenant.account_id);

  WsClient customer_ws;
  REQUIRE(customer_ws.Connect(server.port(), "/v1/ws?token=" + customer.session_token));
  CheckHello(ReceiveJson(customer_ws), "customer", customer.customer_id);

  // The owner's token also works as a query parameter.
  {
    WsClient query_ws;
    INFO(query_ws.handshake_body());
    REQUIRE(query_ws.Connect(server.port(), "/v1/ws?token=" + tenant.token));
    CheckHello(ReceiveJson(query_ws), "account", tenant.account_id);
    query_ws.Close();
  }

  std::vector<Json> owner_frames;  // everything the owner's socket delivered, in order

  // 5. The owner replies over REST: the customer receives it live.
  const Json rest_reply = OwnerReplies(http, tenant, customer.conversation_id, "Sorry! Let me check.", "rest-1");
  CHECK(rest_reply.value("seq", -1) == 2);
  {
    std::vector<Json> skipped;
    auto created = ReceiveUntil(
        customer_ws, [&](const Json& f) { return IsMessageCreated(f, customer.conversation_id); }, 5s, &skipped);
    REQUIRE(created.has_value());
    CHECK(SeqOf(*created) == 2);
    CHECK((*created)["data"].value("text", "") == "Sorry! Let me check.");
    CHECK((*created)["data"].value("id", "") == rest_reply.value("id", "?"));
    CHECK((*created)["data"]["sender"].value("type", "") == "account");
  }

  // 6. The owner replies over the WebSocket: exactly one `ok` with the frame's id, and the customer gets it.
  owner_ws.SendText(Json{{"type", "send"},
                         {"id", "send-1"},
                         {"data",
                          {{"conversation_id", customer.conversation_id},
                           {"text", "Found it: it ships tomorrow."},
                           {"client_msg_id", "ws-1"}}}}
                        .dump());
  std::int64_t ws_reply_seq = -1;
  {
    auto ok = ReceiveUntil(
        owner_ws, [](const Json& f) { return f.value("id", Json()) == "send-1"; }, 5s, &owner_frames);
    REQUIRE(ok.has_value());
    INFO("reply: " << ok->dump());
    REQUIRE(IsType(*ok, "ok"));
    REQUIRE((*ok)["data"]["message"].is_object());
    ws_reply_seq = (*ok)["data"]["message"].value("seq", -1);
    CHECK(ws_reply_seq == 3);
    CHECK((*ok)["data"]["message"].value("text", "") == "Found it: it ships tomorrow.");
    CHECK((*ok)["data"]["message"].value("client_msg_id", "") == "ws-1");
    owner_frames.push_back(*ok);
  }
  {
    auto created =
        ReceiveUntil(customer_ws, [&](const Json& f) { return IsMessageCreated(f, customer.conversation_id); });
    REQUIRE(created.has_value());
    CHECK(SeqOf(*created) == 3);
    CHECK((*created)["data"].value("text", "") == "Found it: it ships tomorrow.");
  }
  {
    // No second reply to the same id shows up later, and no error either.
    const std::vector<Json> later = DrainFor(owner_ws, 300ms);
    owner_frames.insert(owner_frames.end(), later.begin(), later.end());
    int replies = 0;
    for (const Json& frame : owner_frames) {
      if (frame.value("id", Json()) == "send-1") ++replies;
    }
    CHECK(replies == 1);
    // The owner's socket carries the feed of its app without subscribing: both replies, in order.
    CHECK(CreatedSeqs(owner_frames, customer.conversation_id) == std::vector<std::int64_t>{2, 3});
  }

  // 7. The customer drops off; the owner writes three more messages meanwhile.
  const std::int64_t last_seen = ws_reply_seq;
  customer_ws.Close();
  CHECK(customer_ws.closed());
  std::vector<std::string> missed_ids;
  for (int i = 1; i <= 3; ++i) {
    const Json reply = OwnerReplies(http, tenant, customer.conversation_id,
                                    "While you were away #" + std::to_string(i), "away-" + std::to_string(i));
    CHECK(reply.value("seq", -1) == last_seen + i);
    missed_ids.push_back(reply.value("id", ""));
  }

  // 8. It reconnects and resumes after the last seq it saw: exactly the missing ones, in order, then `ok`.
  WsClient resumed;
  REQUIRE(resumed.Connect(server.port(), "/v1/ws?token=" + customer.session_token));
  CheckHello(ReceiveJson(resumed), "customer", customer.customer_id);
  resumed.SendText(Json{{"type", "subscribe"},
                        {"id", "sub-1"},
                        {"data", {{"conversation_id", customer.conversation_id}, {"after_seq", last_seen}}}}
                       .dump());
  {
    std::vector<Json> replayed;
    auto ok = ReceiveUntil(resumed, [](const Json& f) { return f.value("id", Json()) == "sub-1"; }, 5s, &replayed);
    REQUIRE(ok.has_value());
    INFO("subscribe reply: " << ok->dump());
    REQUIRE(IsType(*ok, "ok"));
    CHECK((*ok)["data"].value("conversation_id", "") == customer.conversation_id);
    CHECK((*ok)["data"].value("last_seq", -1) == last_seen + 3);
    CHECK(CreatedSeqs(replayed, customer.conversation_id) ==
          std::vector<std::int64_t>{last_seen + 1, last_seen + 2, last_seen + 3});
    std::vector<std::string> replayed_ids;
    for (const Json& frame : replayed) {
      if (IsMessageCreated(frame, customer.conversation_id)) replayed_ids.push_back(frame["data"].value("id", ""));
    }
    CHECK(replayed_ids == missed_ids);
  }
  // ... and then live ones, without repeating the replay.
  const Json live = OwnerReplies(http, tenant, customer.conversation_id, "Anything else?", "live-1");
  CHECK(live.value("seq", -1) == last_seen + 4);
  {
    std::vector<Json> skipped;
    auto created = ReceiveUntil(
        resumed, [&](const Json& f) { return IsMessageCreated(f, customer.conversation_id); }, 5s, &skipped);
    REQUIRE(created.has_value());
    CHECK(SeqOf(*created) == last_seen + 4);
    CHECK((*created)["data"].value("text", "") == "Anything else?");
    const std::vector<Json> after = DrainFor(resumed, 300ms);
    CHECK(CreatedSeqs(after, customer.conversation_id).empty());
  }
  const std::int64_t last_seq = last_seen + 4;

  // 9. The customer answers through the SDK: the owner sees it live, and only customer messages are unread
  // for the owner (its own replies are not).
  {
    const Json body = {
        {"text", "No, thanks!"}, {"conversation_id", customer.conversation_id}, {"client_msg_id", "c-2"}};
    HttpResult sent = http.Request("POST", "/v1/sdk/messages", body.dump(),
                                   ApiKey(tenant.publishable_key, customer.session_token));
    INFO(Describe(sent));
    REQUIRE(sent.status == 201);
    CHECK(BodyJson(sent)["message"].value("seq", -1) == last_seq + 1);
    CHECK(!BodyJson(sent).contains("session_token"));
  }
  {
    auto created = ReceiveUntil(owner_ws, [&](const Json& f) {
      return IsMessageCreated(f, customer.conversation_id) && SeqOf(f) == last_seq + 1;
    });
    REQUIRE(created.has_value());
    CHECK((*created)["data"]["sender"].value("type", "") == "customer");
  }
  {
    const Json conversation = FindConversation(ListConversations(http, tenant), customer.conversation_id);
    CHECK(conversation.value("last_seq", -1) == last_seq + 1);
    CHECK(conversation.value("unread_count", -1) == 2);
    CHECK(conversation["last_message"].value("text", "") == "No, thanks!");
  }

  // 10. Read receipts: the owner reads up to the end, its unread count drops to 0.
  {
    HttpResult read = http.Request("POST", "/v1/conversations/" + customer.conversation_id + "/read",
                                   Json{{"seq", last_seq + 1}}.dump(), Bearer(tenant.token));
    INFO(Describe(read));
    REQUIRE(read.status == 200);
    CHECK(BodyJson(read)["receipt"].value("read_seq", -1) == last_seq + 1);
    const Json conversation = FindConversation(ListConversations(http, tenant), customer.conversation_id);
    CHECK(conversation.value("unread_count", -1) == 0);
    CHECK(conversation.value("read_seq", -1) == last_seq + 1);
  }
  // The customer's side: the owner's replies are unread for it until it reads them.
  {
    const std::string path = "/v1/sdk/conversations/" + customer.conversation_id;
    HttpResult before = http.Request("GET", path, {}, ApiKey(tenant.publishable_key, customer.session_token));
    INFO(Describe(before));
    REQUIRE(before.status == 200);
    CHECK(BodyJson(before).value("unread_count", -1) == last_seq - 1);  // seqs 2..last_seq are the owner's
    HttpResult read = http.Request("POST", path + "/read", Json{{"seq", last_seq + 1}}.dump(),
                                   ApiKey(tenant.publishable_key, customer.session_token));
    INFO(Describe(read));
    REQUIRE(read.status == 200);
    HttpResult after = http.Request("GET", path, {}, ApiKey(tenant.publishable_key, customer.session_token));
    REQUIRE(after.status == 200);
    CHECK(BodyJson(after).value("unread_count", -1) == 0);
  }
  // A receipt never moves backwards.
  {
    HttpResult back = http.Request("POST", "/v1/conversations/" + customer.conversation_id + "/read",
                                   Json{{"seq", 1}}.dump(), Bearer(tenant.token));
    INFO(Describe(back));
    CHECK(back.status == 200);
    const Json conversation = FindConversation(ListConversations(http, tenant), customer.conversation_id);
    CHECK(conversation.value("read_seq", -1) == last_seq + 1);
    CHECK(conversation.value("unread_count", -1) == 0);
  }

  // The full history, as stored: 1..last_seq+1, in order.
  {
    HttpResult history = http.Request(
        "GET", "/v1/conversations/" + customer.conversation_id + "/messages?after_seq=0", {}, Bearer(tenant.token));
    INFO(Describe(history));
    REQUIRE(history.status == 200);
    const Json data = BodyJson(history)["data"];
    REQUIRE(data.is_array());
    std::vector<std::int64_t> seqs;
    for (const Json& message : data) seqs.push_back(message.value("seq", -1));
    std::vector<std::int64_t> expected;
    for (std::int64_t s = 1; s <= last_seq + 1; ++s) expected.push_back(s);
    CHECK(seqs == expected);
  }

  owner_ws.Close();
  resumed.Close();
  CHECK(server.running());
}

TEST_CASE("loop: the inbox lists conversations by newest activity with per-viewer unread counts",
          "[integration]") {
  ServerProcess server;
  INFO(server.error());
  REQUIRE(server.Start());
  HttpClient http(server.port());
  const Tenant tenant = CreateTenant(http, "inbox@example.com");

  const CustomerSession first = StartConversation(http, tenant, "first customer");
  const CustomerSession second = StartConversation(http, tenant, "second customer");
  REQUIRE(first.conversation_id != second.conversation_id);
  CHECK(first.customer_id != second.customer_id);
  {
    const Json list = ListConversations(http, tenant);
    REQUIRE(list["data"].size() == 2);
    CHECK(list["data"][0].value("id", "") == second.conversation_id);
    CHECK(list["data"][1].value("id", "") == first.conversation_id);
  }

  // The first customer writes again: its conversation moves to the top with 2 unread.
  HttpResult sent =
      http.Request("POST", "/v1/sdk/messages",
                   Json{{"text", "hello again"}, {"conversation_id", first.conversation_id}}.dump(),
                   ApiKey(tenant.publishable_key, first.session_token));
  INFO(Describe(sent));
  REQUIRE(sent.status == 201);
  {
    const Json list = ListConversations(http, tenant);
    REQUIRE(list["data"].size() == 2);
    CHECK(list["data"][0].value("id", "") == first.conversation_id);
    CHECK(list["data"][0].value("unread_count", -1) == 2);
    CHECK(list["data"][0]["last_message"].value("text", "") == "hello again");
    CHECK(list["data"][1].value("id", "") == second.conversation_id);
    CHECK(list["data"][1].value("unread_count", -1) == 1);
  }

  // A customer only sees its own conversation.
  HttpResult own =
      http.Request("GET", "/v1/sdk/conversations", {}, ApiKey(tenant.publishable_key, second.session_token));
  INFO(Describe(own));
  REQUIRE(own.status == 200);
  const Json data = BodyJson(own)["data"];
  REQUIRE(data.is_array());
  REQUIRE(data.size() == 1);
  CHECK(data[0].value("id", "") == second.conversation_id);
}

}  // namespace
}  // namespace libchat::testing_support
