// The knowledge base and the bot settings through the libchat::Chat facade, against both stores: entry
// CRUD and validation, tenant isolation, search (ranking, 0..1 scores, HTML snippets, stop words), and
// GetBotSettings / PutBotSettings. The bot itself is in bot_test.cpp.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "catch.h"
#include "chat_test_util.h"
#include "libchat/chat.h"
#include "store_test_util.h"

namespace {

using namespace libchat;        // NOLINT: test brevity
using namespace libchat::test;  // NOLINT

#define KNOWLEDGE_TEST(name, tags) \
  TEMPLATE_TEST_CASE("knowledge: " name, "[knowledge]" tags, MemoryBackend, SqliteBackend)

KnowledgeInput Qa(std::string question, std::string answer, std::string content = "") {
  KnowledgeInput input;
  input.type = KnowledgeType::kQa;
  input.question = std::move(question);
  input.answer = std::move(answer);
  input.content = std::move(content);
  return input;
}

KnowledgeInput Text(std::string content) {
  KnowledgeInput input;
  input.type = KnowledgeType::kText;
  input.content = std::move(content);
  return input;
}

std::vector<std::string> EntryIds(const std::vector<KnowledgeEntry>& entries) {
  std::vector<std::string> ids;
  for (const KnowledgeEntry& entry : entries) ids.push_back(entry.id.str());
  return ids;
}

std::vector<std::string> HitIds(const std::vector<KnowledgeHit>& hits) {
  std::vector<std::string> ids;
  for (const KnowledgeHit& hit : hits) ids.push_back(hit.entry.id.str());
  return ids;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// ---------------------------------------------------------------------------
// CRUD

KNOWLEDGE_TEST("entries are created, read, listed newest first, replaced and deleted", "[crud]") {
  ChatHarness<TestType> h;
  TestAccount owner = h.Register("owner@example.com");
  TestApp app = h.CreateApp(owner);
  const AppId& id = app.app.id;

  KnowledgeEntry qa = LIBCHAT_VALUE(h.chat().CreateKnowledgeEntry(
      owner.principal, id, Qa("How do I reset my password?", "Open Settings, then Security.", "Takes a minute.")));
  CHECK(KnowledgeId::IsWellFormed(qa.id.str()));
  CHECK(qa.app_id == id);
  CHECK(qa.type == KnowledgeType::kQa);
  CHECK(qa.question == "How do I reset my password?");
  CHECK(qa.answer == "Open Settings, then Security.");
  CHECK(qa.content == "Takes a minute.");
  CHECK(qa.created_at == h.clock().Now());
  CHECK(qa.updated_at == qa.created_at);

  h.clock().Advance(std::chrono::seconds(1));
  KnowledgeEntry text = LIBCHAT_VALUE(
      h.chat().CreateKnowledgeEntry(app.server, id, Text("Refunds are paid within 5 business days.")));
  CHECK(text.type == KnowledgeType::kText);
  CHECK(text.question.empty());
  CHECK(text.answer.empty());

  KnowledgeEntry got = LIBCHAT_VALUE(h.chat().GetKnowledgeEntry(owner.principal, id, qa.id));
  CHECK(got.id == qa.id);
  CHECK(got.question == qa.question);
  CHECK(got.answer == qa.answer);
  CHECK(got.content == qa.content);
  CHECK(got.created_at == qa.created_at);

  Page<KnowledgeEntry> page = LIBCHAT_VALUE(h.chat().ListKnowledge(owner.principal, id, "", 50));
  CHECK(EntryIds(page.data) == std::vector<std::string>{text.id.str(), qa.id.str()});
  CHECK(page.next_cursor.empty());

  // Pages of one: every entry once, then an empty cursor.
  Page<KnowledgeEntry> first = LIBCHAT_VALUE(h.chat().ListKnowledge(owner.principal, id, "", 1));
  REQUIRE(first.data.size() == 1);
  CHECK(first.data[0].id == text.id);
  REQUIRE_FALSE(first.next_cursor.empty());
  Page<KnowledgeEntry> second = LIBCHAT_VALUE(h.chat().ListKnowledge(owner.principal, id, first.next_cursor, 1));
  REQUIRE(second.data.size() == 1);
  CHECK(second.data[0].id == qa.id);

  // PUT replaces everything, the type included.
  h.clock().Advance(std::chrono::seconds(1));
  KnowledgeEntry replaced =
      LIBCHAT_VALUE(h.chat().UpdateKnowledgeEntry(owner.principal, id, qa.id, Text("Passwords: see Settings.")));
  CHECK(replaced.id == qa.id);
  CHECK(replaced.type == KnowledgeType::kText);
  CHECK(replaced.question.empty());
  CHECK(replaced.answer.empty());
  CHECK(replaced.content == "Passwords: see Settings.");
  CHECK(replaced.created_at == qa.created_at);
  CHECK(replaced.updated_at == h.clock().Now());
  got = LIBCHAT_VALUE(h.chat().GetKnowledgeEntry(owner.principal, id, qa.id));
  CHECK(got.type == KnowledgeType::kText);
  CHECK(got.content == "Passwords: see Settings.");
  CHECK(got.updated_at == replaced.updated_at);

  LIBCHAT_REQUIRE_OK(h.chat().DeleteKnowledgeEntry(owner.principal, id, qa.id));
  LIBCHAT_CHECK_CODE(h.chat().GetKnowledgeEntry(owner.principal, id, qa.id), StatusCode::kNotFound);
  LIBCHAT_CHECK_CODE(h.chat().DeleteKnowledgeEntry(owner.principal, id, qa.id), StatusCode::kNotFound);
  LIBCHAT_CHECK_CODE(h.chat().UpdateKnowledgeEntry(owner.principal, id, qa.id, Text("x")), StatusCode::kNotFound);
  page = LIBCHAT_VALUE(h.chat().ListKnowledge(owner.principal, id, "", 0));
  CHECK(EntryIds(page.data) == std::vector<std::string>{text.id.str()});
}

KNOWLEDGE_TEST("a deleted entry is no longer found by search", "[crud][search]") {
  ChatHarness<TestType> h;
  TestAccount owner = h.Register("owner@example.com");
  TestApp app = h.CreateApp(owner);
  KnowledgeEntry entry =
      LIBCHAT_VALUE(h.chat().CreateKnowledgeEntry(owner.principal, app.app.id, Text("Invoices are sent monthly.")));
  CHECK(HitIds(LIBCHAT_VALUE(h.chat().SearchKnowledge(owner.principal, app.app.id, "invoices"))) ==
        std::vector<std::string>{entry.id.str()});
  // An update re-indexes: the old words stop matching, the new ones match.
  LIBCHAT_REQUIRE_OK(
      h.chat().UpdateKnowledgeEntry(owner.principal, app.app.id, entry.id, Text("Receipts arrive by email.")));
  CHECK(LIBCHAT_VALUE(h.chat().SearchKnowledge(owner.principal, app.app.id, "invoices")).empty());
  CHECK(HitIds(LIBCHAT_VALUE(h.chat().SearchKnowledge(owner.principal, app.app.id, "receipts"))) ==
        std::vector<std::string>{entry.id.str()});
  LIBCHAT_REQUIRE_OK(h.chat().DeleteKnowledgeEntry(owner.principal, app.app.id, entry.id));
  CHECK(LIBCHAT_VALUE(h.chat().SearchKnowledge(owner.principal, app.app.id, "receipts")).empty());
}

// ---------------------------------------------------------------------------
// Validation

KNOWLEDGE_TEST("bad entries are refused with kInvalidArgument and nothing is stored", "[validation]") {
  ChatHarness<TestType> h;
  TestAccount owner = h.Register("owner@example.com");
  TestApp app = h.CreateApp(owner);
  const AppId& id = app.app.id;
  const std::string too_long_text(20001, 'x');
  const std::string too_long_question(1001, 'q');

  std::vector<KnowledgeInput> bad{
      Text(""),                                     // text needs content
      Text(too_long_text),                          // content over 20000 bytes
      Text("bad \xFF utf-8"),                       // not UTF-8
      Text(std::string("nul\0byte", 8)),            // NUL
      Qa("", "An answer."),                         // qa needs a question
      Qa("A question?", ""),                        // ... and an answer
      Qa(too_long_question, "An answer."),          // question over 1000 bytes
      Qa("A question?", too_long_text),             // answer over 20000 bytes
      Qa("A question?", "An answer.", too_long_text),  // content over 20000 bytes
      Qa("\xC0\xAF?", "An answer."),                // overlong encoding
  };
  KnowledgeInput text_with_question = Text("Some content.");
  text_with_question.question = "Why?";
  bad.push_back(text_with_question);
  KnowledgeInput text_with_answer = Text("Some content.");
  text_with_answer.answer = "Because.";
  bad.push_back(text_with_answer);

  for (std::size_t i = 0; i < bad.size(); ++i) {
    INFO("bad input #" << i);
    LIBCHAT_CHECK_CODE(h.chat().CreateKnowledgeEntry(owner.principal, id, bad[i]), StatusCode::kInvalidArgument);
  }
  CHECK(LIBCHAT_VALUE(h.chat().ListKnowledge(owner.principal, id, "", 50)).data.empty());

  // The limits themselves are accepted.
  LIBCHAT_CHECK_OK(h.chat().CreateKnowledgeEntry(owner.principal, id, Text(std::string(20000, 'x'))));
  LIBCHAT_CHECK_OK(h.chat().CreateKnowledgeEntry(owner.principal, id,
                                                 Qa(std::string(1000, 'q'), std::string(20000, 'a'))));

  // An update with a bad body changes nothing.
  KnowledgeEntry entry = LIBCHAT_VALUE(h.chat().CreateKnowledgeEntry(owner.principal, id, Text("Kept.")));
  for (std::size_t i = 0; i < bad.size(); ++i) {
    INFO("bad update #" << i);
    LIBCHAT_CHECK_CODE(h.chat().UpdateKnowledgeEntry(owner.principal, id, entry.id, bad[i]),
                       StatusCode::kInvalidArgument);
  }
  CHECK(LIBCHAT_VALUE(h.chat().GetKnowledgeEntry(owner.principal, id, entry.id)).content == "Kept.");
}

KNOWLEDGE_TEST("list and search limits are checked", "[validation]") {
  ChatHarness<TestType> h;
  TestAccount owner = h.Register("owner@example.com");
  TestApp app = h.CreateApp(owner);
  const AppId& id = app.app.id;
  LIBCHAT_REQUIRE_OK(h.chat().CreateKnowledgeEntry(owner.principal, id, Text("Shipping takes two days.")));
  LIBCHAT_CHECK_CODE(h.chat().ListKnowledge(owner.principal, id, "", 201), StatusCode::kInvalidArgument);
  LIBCHAT_CHECK_CODE(h.chat().ListKnowledge(owner.principal, id, "", -1), StatusCode::kInvalidArgument);
  LIBCHAT_CHECK_OK(h.chat().ListKnowledge(owner.principal, id, "", 200));
  LIBCHAT_CHECK_CODE(h.chat().SearchKnowledge(owner.principal, id, "shipping", 51), StatusCode::kInvalidArgument);
  LIBCHAT_CHECK_CODE(h.chat().SearchKnowledge(owner.principal, id, "shipping", -3), StatusCode::kInvalidArgument);
  CHECK(LIBCHAT_VALUE(h.chat().SearchKnowledge(owner.principal, id, "shipping", 50)).size() == 1);
  CHECK(LIBCHAT_VALUE(h.chat().SearchKnowledge(owner.principal, id, "shipping", 1)).size() == 1);
}

KNOWLEDGE_TEST("an empty query or one of stop words only is kInvalidArgument", "[validation][search]") {
  ChatHarness<TestType> h;
  TestAccount owner = h.Register("owner@example.com");
  TestApp app = h.CreateApp(owner);
  const AppId& id = app.app.id;
  LIBCHAT_REQUIRE_OK(h.chat().CreateKnowledgeEntry(owner.principal, id, Text("How do I do this? You can.")));
  for (const std::string query : {"", "   ", "?!.,", "how do I do this", "Can you?", "bad \xFF utf-8"}) {
    INFO("query: " << query);
    LIBCHAT_CHECK_CODE(h.chat().SearchKnowledge(owner.principal, id, query), StatusCode::kInvalidArgument);
  }
  LIBCHAT_CHECK_CODE(h.chat().SearchKnowledge(owner.principal, id, std::string(2001, 'a')),
                     StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------
// Isolation

KNOWLEDGE_TEST("another tenant's entries are indistinguishable from missing ones", "[isolation]") {
  ChatHarness<TestType> h;
  TestAccount alice = h.Register("alice@example.com");
  TestAccount mallory = h.Register("mallory@example.com");
  TestApp alice_app = h.CreateApp(alice, "Alice");
  TestApp alice_other = h.CreateApp(alice, "Alice 2");
  TestApp mallory_app = h.CreateApp(mallory, "Mallory");
  const AppId& id = alice_app.app.id;
  KnowledgeEntry entry = LIBCHAT_VALUE(
      h.chat().CreateKnowledgeEntry(alice.principal, id, Qa("Where is my parcel?", "Track it in your account.")));
  TestCustomer customer = h.StartCustomer(alice_app);

  // Principals that are not the app's team or staff: another account, another app's server, the app's own
  // customers and its publishable key.
  const std::vector<Principal> outsiders{mallory.principal, mallory_app.server, alice_other.server,
                                         customer.principal, alice_app.publishable};
  for (std::size_t i = 0; i < outsiders.size(); ++i) {
    INFO("outsider #" << i);
    const Principal& p = outsiders[i];
    LIBCHAT_CHECK_CODE(h.chat().CreateKnowledgeEntry(p, id, Text("planted")), StatusCode::kNotFound);
    LIBCHAT_CHECK_CODE(h.chat().ListKnowledge(p, id, "", 50), StatusCode::kNotFound);
    LIBCHAT_CHECK_CODE(h.chat().GetKnowledgeEntry(p, id, entry.id), StatusCode::kNotFound);
    LIBCHAT_CHECK_CODE(h.chat().UpdateKnowledgeEntry(p, id, entry.id, Text("changed")), StatusCode::kNotFound);
    LIBCHAT_CHECK_CODE(h.chat().DeleteKnowledgeEntry(p, id, entry.id), StatusCode::kNotFound);
    LIBCHAT_CHECK_CODE(h.chat().SearchKnowledge(p, id, "parcel"), StatusCode::kNotFound);
    LIBCHAT_CHECK_CODE(h.chat().GetBotSettings(p, id), StatusCode::kNotFound);
    LIBCHAT_CHECK_CODE(h.chat().PutBotSettings(p, id, BotSettings{}), StatusCode::kNotFound);
  }

  // The entry named under another app (even one of the same owner) does not exist there.
  LIBCHAT_CHECK_CODE(h.chat().GetKnowledgeEntry(alice.principal, alice_other.app.id, entry.id),
                     StatusCode::kNotFound);
  LIBCHAT_CHECK_CODE(h.chat().UpdateKnowledgeEntry(alice.principal, alice_other.app.id, entry.id, Text("x")),
                     StatusCode::kNotFound);
  LIBCHAT_CHECK_CODE(h.chat().DeleteKnowledgeEntry(alice.principal, alice_other.app.id, entry.id),
                     StatusCode::kNotFound);
  LIBCHAT_CHECK_CODE(h.chat().GetKnowledgeEntry(mallory.principal, mallory_app.app.id, entry.id),
                     StatusCode::kNotFound);
  // Unknown and malformed ids, and unknown apps.
  for (const std::string bad : {"kb_doesnotexist", "kb_", "", "conv_123", "kb_../x", "kb_a b"}) {
    INFO("id: " << bad);
    LIBCHAT_CHECK_CODE(h.chat().GetKnowledgeEntry(alice.principal, id, KnowledgeId(bad)), StatusCode::kNotFound);
    LIBCHAT_CHECK_CODE(h.chat().DeleteKnowledgeEntry(alice.principal, id, KnowledgeId(bad)), StatusCode::kNotFound);
  }
  LIBCHAT_CHECK_CODE(h.chat().ListKnowledge(alice.principal, AppId("app_nope"), "", 50), StatusCode::kNotFound);
  LIBCHAT_CHECK_CODE(h.chat().SearchKnowledge(alice.principal, AppId("app_nope"), "parcel"), StatusCode::kNotFound);

  // Nothing changed, and another app's search does not see alice's entries.
  KnowledgeEntry unchanged = LIBCHAT_VALUE(h.chat().GetKnowledgeEntry(alice.principal, id, entry.id));
  CHECK(unchanged.answer == "Track it in your account.");
  CHECK(LIBCHAT_VALUE(h.chat().ListKnowledge(alice.principal, id, "", 50)).data.size() == 1);
  LIBCHAT_REQUIRE_OK(h.chat().CreateKnowledgeEntry(mallory.principal, mallory_app.app.id, Text("Parcel lockers.")));
  std::vector<KnowledgeHit> hits = LIBCHAT_VALUE(h.chat().SearchKnowledge(alice.principal, id, "parcel"));
  CHECK(HitIds(hits) == std::vector<std::string>{entry.id.str()});
  CHECK(LIBCHAT_VALUE(h.chat().SearchKnowledge(alice.principal, alice_other.app.id, "parcel")).empty());
}

KNOWLEDGE_TEST("the app's server is team: it writes, reads and searches", "[isolation]") {
  ChatHarness<TestType> h;
  TestAccount owner = h.Register("owner@example.com");
  TestApp app = h.CreateApp(owner);
  KnowledgeEntry entry =
      LIBCHAT_VALUE(h.chat().CreateKnowledgeEntry(app.server, app.app.id, Text("Gift cards never expire.")));
  LIBCHAT_CHECK_OK(h.chat().GetKnowledgeEntry(app.server, app.app.id, entry.id));
  LIBCHAT_CHECK_OK(h.chat().UpdateKnowledgeEntry(app.server, app.app.id, entry.id, Text("Gift cards last 5 years.")));
  CHECK(LIBCHAT_VALUE(h.chat().SearchKnowledge(app.server, app.app.id, "gift cards")).size() == 1);
  LIBCHAT_CHECK_OK(h.chat().PutBotSettings(app.server, app.app.id, BotSettings{}));
  LIBCHAT_CHECK_OK(h.chat().DeleteKnowledgeEntry(app.server, app.app.id, entry.id));
}

KNOWLEDGE_TEST("an operator reads and searches its apps' knowledge but does not change it", "[isolation][operators]") {
  ChatHarness<TestType> h;
  TestAccount owner = h.Register("owner@example.com");
  TestApp mine = h.CreateApp(owner, "Mine");
  TestApp other = h.CreateApp(owner, "Other");
  KnowledgeEntry entry = LIBCHAT_VALUE(
      h.chat().CreateKnowledgeEntry(owner.principal, mine.app.id, Text("Passwords are reset from Settings.")));
  KnowledgeEntry foreign = LIBCHAT_VALUE(
      h.chat().CreateKnowledgeEntry(owner.principal, other.app.id, Text("Passwords of the other app.")));
  OperatorCreate create;
  create.name = "Olive";
  create.app_ids = {mine.app.id};
  std::vector<Operator> created = LIBCHAT_VALUE(h.chat().CreateOperators(owner.principal, {create}));
  REQUIRE(created.size() == 1);
  OperatorToken token = LIBCHAT_VALUE(
      h.chat().CreateOperatorToken(owner.principal, created[0].id, h.clock().Now() + std::chrono::hours(1)));
  const Principal op = h.Authenticate(BearerCredentials(token.token));

  // Its app: read and search.
  CHECK(LIBCHAT_VALUE(h.chat().ListKnowledge(op, mine.app.id, "", 50)).data.size() == 1);
  CHECK(LIBCHAT_VALUE(h.chat().GetKnowledgeEntry(op, mine.app.id, entry.id)).content == entry.content);
  CHECK(HitIds(LIBCHAT_VALUE(h.chat().SearchKnowledge(op, mine.app.id, "password"))) ==
        std::vector<std::string>{entry.id.str()});
  // ... but writes and the bot's settings stay with the team.
  LIBCHAT_CHECK_CODE(h.chat().CreateKnowledgeEntry(op, mine.app.id, Text("planted")), StatusCode::kNotFound);
  LIBCHAT_CHECK_CODE(h.chat().UpdateKnowledgeEntry(op, mine.app.id, entry.id, Text("changed")),
                     StatusCode::kNotFound);
  LIBCHAT_CHECK_CODE(h.chat().DeleteKnowledgeEntry(op, mine.app.id, entry.id), StatusCode::kNotFound);
  LIBCHAT_CHECK_CODE(h.chat().PutBotSettings(op, mine.app.id, BotSettings{}), StatusCode::kNotFound);
  CHECK(LIBCHAT_VALUE(h.chat().GetKnowledgeEntry(owner.principal, mine.app.id, entry.id)).content == entry.content);
  CHECK(LIBCHAT_VALUE(h.chat().ListKnowledge(owner.principal, mine.app.id, "", 50)).data.size() == 1);

  // An app it is not assigned to (of the same account) does not exist for it.
  LIBCHAT_CHECK_CODE(h.chat().ListKnowledge(op, other.app.id, "", 50), StatusCode::kNotFound);
  LIBCHAT_CHECK_CODE(h.chat().GetKnowledgeEntry(op, other.app.id, foreign.id), StatusCode::kNotFound);
  LIBCHAT_CHECK_CODE(h.chat().SearchKnowledge(op, other.app.id, "password"), StatusCode::kNotFound);
  LIBCHAT_CHECK_CODE(h.chat().GetKnowledgeEntry(op, mine.app.id, foreign.id), StatusCode::kNotFound);

  // Made inactive, it reads nothing any more.
  OperatorUpdate deactivate;
  deactivate.status = OperatorStatus::kInactive;
  LIBCHAT_REQUIRE_OK(h.chat().UpdateOperator(owner.principal, created[0].id, deactivate));
  LIBCHAT_CHECK_CODE(h.chat().ListKnowledge(op, mine.app.id, "", 50), StatusCode::kNotFound);
  LIBCHAT_CHECK_CODE(h.chat().SearchKnowledge(op, mine.app.id, "password"), StatusCode::kNotFound);
}

// ---------------------------------------------------------------------------
// Search

KNOWLEDGE_TEST("search ranks the best entry first with a 0..1 score", "[search]") {
  ChatHarness<TestType> h;
  TestAccount owner = h.Register("owner@example.com");
  TestApp app = h.CreateApp(owner);
  const AppId& id = app.app.id;
  KnowledgeEntry password = LIBCHAT_VALUE(h.chat().CreateKnowledgeEntry(
      owner.principal, id, Qa("How do I reset my password?", "Open Settings > Security and choose Reset password.")));
  KnowledgeEntry refunds = LIBCHAT_VALUE(h.chat().CreateKnowledgeEntry(
      owner.principal, id, Text("Refunds are paid to the original payment method within 5 business days.")));
  KnowledgeEntry shipping = LIBCHAT_VALUE(h.chat().CreateKnowledgeEntry(
      owner.principal, id, Qa("Do you ship abroad?", "We ship to 30 countries; shipping is free over $50.")));

  std::vector<KnowledgeHit> hits =
      LIBCHAT_VALUE(h.chat().SearchKnowledge(owner.principal, id, "How can I reset my password?"));
  REQUIRE_FALSE(hits.empty());
  CHECK(hits.front().entry.id == password.id);
  CHECK(hits.front().score == Approx(1.0));
  CHECK(hits.front().rank > 0);
  CHECK(hits.front().entry.answer == "Open Settings > Security and choose Reset password.");
  for (const KnowledgeHit& hit : hits) {
    CHECK(hit.entry.id != refunds.id);  // shares no word with the question
    CHECK(hit.score >= 0);
    CHECK(hit.score <= 1);
  }

  // Plural forms fold: "refund" finds "Refunds" with a full score.
  hits = LIBCHAT_VALUE(h.chat().SearchKnowledge(owner.principal, id, "refund"));
  REQUIRE(HitIds(hits) == std::vector<std::string>{refunds.id.str()});
  CHECK(hits.front().score == Approx(1.0));

  // Half the words match: half the score; each entry that matches a word is a hit, best first.
  hits = LIBCHAT_VALUE(h.chat().SearchKnowledge(owner.principal, id, "password shipping"));
  REQUIRE(hits.size() == 2);
  for (const KnowledgeHit& hit : hits) CHECK(hit.score == Approx(0.5));
  CHECK(hits[0].rank >= hits[1].rank);

  hits = LIBCHAT_VALUE(h.chat().SearchKnowledge(owner.principal, id, "reset password shipping refunds"));
  REQUIRE(hits.size() == 3);
  for (std::size_t i = 1; i < hits.size(); ++i) CHECK(hits[i - 1].rank >= hits[i].rank);
  CHECK(hits.front().entry.id == password.id);  // two of the four words, and twice each
  CHECK(hits.front().score == Approx(0.5));

  // The limit caps the hits, best kept.
  hits = LIBCHAT_VALUE(h.chat().SearchKnowledge(owner.principal, id, "reset password shipping refunds", 1));
  REQUIRE(hits.size() == 1);
  CHECK(hits.front().entry.id == password.id);

  // Case and accents do not matter.
  KnowledgeEntry cafe =
      LIBCHAT_VALUE(h.chat().CreateKnowledgeEntry(owner.principal, id, Text("Our Café opens at nine.")));
  hits = LIBCHAT_VALUE(h.chat().SearchKnowledge(owner.principal, id, "CAFE"));
  REQUIRE(HitIds(hits) == std::vector<std::string>{cafe.id.str()});
  CHECK(hits.front().score == Approx(1.0));

  CHECK(LIBCHAT_VALUE(h.chat().SearchKnowledge(owner.principal, id, "warranty")).empty());
}

KNOWLEDGE_TEST("search snippets are escaped HTML with the matches marked", "[search]") {
  ChatHarness<TestType> h;
  TestAccount owner = h.Register("owner@example.com");
  TestApp app = h.CreateApp(owner);
  const AppId& id = app.app.id;
  LIBCHAT_REQUIRE_OK(h.chat().CreateKnowledgeEntry(
      owner.principal, id, Text("<script>alert(1)</script> Returns & exchanges: \"free\" within 30 days.")));
  std::vector<KnowledgeHit> hits = LIBCHAT_VALUE(h.chat().SearchKnowledge(owner.principal, id, "exchanges"));
  REQUIRE(hits.size() == 1);
  const std::string& snippet = hits.front().snippet;
  INFO("snippet: " << snippet);
  CHECK(Contains(snippet, "<mark>exchanges</mark>"));
  CHECK_FALSE(Contains(snippet, "<script>"));
  CHECK_FALSE(Contains(snippet, "\x02"));
  CHECK_FALSE(Contains(snippet, "\x03"));
  CHECK_FALSE(Contains(snippet, " & "));
  // Outside the marks there is no markup at all.
  std::string rest = snippet;
  for (const std::string tag : {"<mark>", "</mark>"}) {
    for (auto at = rest.find(tag); at != std::string::npos; at = rest.find(tag)) rest.erase(at, tag.size());
  }
  CHECK_FALSE(Contains(rest, "<"));
  CHECK_FALSE(Contains(rest, ">"));
  CHECK_FALSE(Contains(rest, "\""));
}

KNOWLEDGE_TEST("stop words in a query neither match nor lower the score", "[search]") {
  ChatHarness<TestType> h;
  TestAccount owner = h.Register("owner@example.com");
  TestApp app = h.CreateApp(owner);
  const AppId& id = app.app.id;
  KnowledgeEntry entry = LIBCHAT_VALUE(
      h.chat().CreateKnowledgeEntry(owner.principal, id, Text("Invoices: download them from Billing.")));
  // An entry made of stop words only is never a hit for them.
  LIBCHAT_REQUIRE_OK(h.chat().CreateKnowledgeEntry(owner.principal, id, Text("How can I do it? What is this?")));
  std::vector<KnowledgeHit> hits =
      LIBCHAT_VALUE(h.chat().SearchKnowledge(owner.principal, id, "Where can I find my invoices, please?"));
  REQUIRE(HitIds(hits) == std::vector<std::string>{entry.id.str()});
  CHECK(hits.front().score == Approx(0.5));  // "find" and "invoices"; the rest are stop words
}

// ---------------------------------------------------------------------------
// Bot settings

KNOWLEDGE_TEST("bot settings default to disabled and are replaced by PutBotSettings", "[bot_settings]") {
  ChatHarness<TestType> h;
  TestAccount owner = h.Register("owner@example.com");
  TestApp app = h.CreateApp(owner);
  const AppId& id = app.app.id;
  BotSettings defaults = LIBCHAT_VALUE(h.chat().GetBotSettings(owner.principal, id));
  CHECK_FALSE(defaults.enabled);
  CHECK(defaults.min_score == Approx(0.6));
  CHECK(defaults.name == "Bot");

  BotSettings wanted;
  wanted.enabled = true;
  wanted.min_score = 0.75;
  wanted.name = "Ada";
  BotSettings put = LIBCHAT_VALUE(h.chat().PutBotSettings(owner.principal, id, wanted));
  CHECK(put.enabled);
  CHECK(put.min_score == Approx(0.75));
  CHECK(put.name == "Ada");
  BotSettings got = LIBCHAT_VALUE(h.chat().GetBotSettings(owner.principal, id));
  CHECK(got.enabled);
  CHECK(got.min_score == Approx(0.75));
  CHECK(got.name == "Ada");

  // Another Chat over the same store (a restart) reads the same settings.
  std::unique_ptr<Chat> reopened = h.Open();
  got = LIBCHAT_VALUE(reopened->GetBotSettings(owner.principal, id));
  CHECK(got.enabled);
  CHECK(got.min_score == Approx(0.75));
  CHECK(got.name == "Ada");

  // The bounds are accepted.
  wanted.min_score = 0;
  wanted.name = std::string(60, 'n');
  CHECK(LIBCHAT_VALUE(h.chat().PutBotSettings(owner.principal, id, wanted)).min_score == 0);
  wanted.min_score = 1;
  wanted.enabled = false;
  LIBCHAT_CHECK_OK(h.chat().PutBotSettings(owner.principal, id, wanted));
  got = LIBCHAT_VALUE(h.chat().GetBotSettings(owner.principal, id));
  CHECK_FALSE(got.enabled);
  CHECK(got.min_score == 1);
}

KNOWLEDGE_TEST("bad bot settings are refused and change nothing", "[bot_settings][validation]") {
  ChatHarness<TestType> h;
  TestAccount owner = h.Register("owner@example.com");
  TestApp app = h.CreateApp(owner);
  const AppId& id = app.app.id;
  BotSettings good;
  good.enabled = true;
  good.min_score = 0.5;
  good.name = "Helper";
  LIBCHAT_REQUIRE_OK(h.chat().PutBotSettings(owner.principal, id, good));

  std::vector<BotSettings> bad;
  for (double score : {-0.01, 1.01, std::numeric_limits<double>::quiet_NaN(),
                       std::numeric_limits<double>::infinity()}) {
    BotSettings s = good;
    s.min_score = score;
    bad.push_back(s);
  }
  for (const std::string& name : {std::string(), std::string(61, 'n'), std::string("bad \xFF")}) {
    BotSettings s = good;
    s.name = name;
    bad.push_back(s);
  }
  for (std::size_t i = 0; i < bad.size(); ++i) {
    INFO("bad settings #" << i);
    LIBCHAT_CHECK_CODE(h.chat().PutBotSettings(owner.principal, id, bad[i]), StatusCode::kInvalidArgument);
  }
  BotSettings got = LIBCHAT_VALUE(h.chat().GetBotSettings(owner.principal, id));
  CHECK(got.enabled);
  CHECK(got.min_score == Approx(0.5));
  CHECK(got.name == "Helper");
}

KNOWLEDGE_TEST("the bot channel is internal: no delivery policy or notification may name it", "[bot_settings]") {
  ChatHarness<TestType> h;
  TestAccount owner = h.Register("owner@example.com");
  TestApp app = h.CreateApp(owner);
  TestCustomer customer = h.StartCustomer(app);
  CHECK(std::string(DeliveryChannelName(DeliveryChannel::kBot)) == "bot");
  CHECK(ParseDeliveryChannel("bot") == DeliveryChannel::kBot);

  DeliveryPolicy policy;
  policy.channels = {DeliveryChannel::kWebSocket, DeliveryChannel::kBot};
  LIBCHAT_CHECK_CODE(h.chat().PutDeliveryPolicy(owner.principal, app.app.id, policy), StatusCode::kInvalidArgument);
  CHECK(LIBCHAT_VALUE(h.chat().GetDeliveryPolicy(owner.principal, app.app.id)).channels ==
        std::vector<DeliveryChannel>{DeliveryChannel::kWebSocket});

  NotificationRequest request;
  request.customer_ids = {customer.id};
  request.body = "Hello";
  request.channels = {DeliveryChannel::kBot};
  LIBCHAT_CHECK_CODE(h.chat().CreateNotification(owner.principal, app.app.id, request),
                     StatusCode::kInvalidArgument);
  request.channels = {DeliveryChannel::kWebSocket};
  request.fallback = NotificationFallback{};
  request.fallback->channel = DeliveryChannel::kBot;
  LIBCHAT_CHECK_CODE(h.chat().CreateNotification(owner.principal, app.app.id, request),
                     StatusCode::kInvalidArgument);
}

}  // namespace
