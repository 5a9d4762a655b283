// Fifo, the queue of a WebSocket session's outgoing frames and pending commands: order, size, iteration,
// and that drained elements are released (a session must not keep frames alive after writing them).
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "catch.h"
#include "server/fifo.h"

using libchat::server::Fifo;

TEST_CASE("Fifo keeps first-in first-out order through interleaved pushes and pops", "[fifo]") {
  Fifo<int> fifo;
  std::deque<int> model;
  std::mt19937 random(42);
  int next = 0;
  // Bursts of different lengths cross the compaction threshold and the reset many times.
  for (int round = 0; round < 2000; ++round) {
    const int pushes = static_cast<int>(random() % 100);
    for (int i = 0; i < pushes; ++i) {
      fifo.push_back(next);
      model.push_back(next++);
    }
    const int pops = static_cast<int>(random() % 100);
    for (int i = 0; i < pops && !model.empty(); ++i) {
      REQUIRE(fifo.front() == model.front());
      fifo.pop_front();
      model.pop_front();
    }
    REQUIRE(fifo.size() == model.size());
    REQUIRE(fifo.empty() == model.empty());
    REQUIRE(std::vector<int>(fifo.begin(), fifo.end()) == std::vector<int>(model.begin(), model.end()));
  }
}

TEST_CASE("Fifo starts empty and clear drops everything", "[fifo]") {
  Fifo<std::string> fifo;
  CHECK(fifo.empty());
  CHECK(fifo.size() == 0);
  CHECK(fifo.begin() == fifo.end());
  fifo.push_back("a");
  fifo.push_back("b");
  CHECK(fifo.size() == 2);
  CHECK(fifo.front() == "a");
  fifo.clear();
  CHECK(fifo.empty());
  fifo.push_back("c");
  CHECK(fifo.front() == "c");
  CHECK(fifo.size() == 1);
}

TEST_CASE("Fifo releases elements once the queue has drained", "[fifo]") {
  auto frame = std::make_shared<const std::string>("frame");
  Fifo<std::shared_ptr<const std::string>> fifo;
  for (int i = 0; i < 100; ++i) fifo.push_back(frame);
  CHECK(frame.use_count() == 101);
  // The way WsSession consumes it: move the front out, then pop.
  while (!fifo.empty()) {
    std::shared_ptr<const std::string> taken = std::move(fifo.front());
    fifo.pop_front();
  }
  CHECK(frame.use_count() == 1);

  for (int i = 0; i < 3; ++i) fifo.push_back(frame);
  fifo.clear();
  CHECK(frame.use_count() == 1);
}
