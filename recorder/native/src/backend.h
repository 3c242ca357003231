// One sensor behind the addon: the Linux sensor in-process (linux_backend.cc), or the macOS
// system extension through its client tool (darwin_backend.cc). addon.cc knows only this interface, so both
// hand JavaScript the same session stream the same way.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace netprov {

struct SensorOptions {
  std::vector<std::string> interfaces;  // empty: every interface
  int snaplen = 0;                      // 0: the sensor's default
  double durationSeconds = 0;           // 0: until stopped
};

struct SensorCounts {
  uint64_t eventsByKind[16] = {};  // indexed by session event kind (events.ts)
  uint64_t lost = 0;               // events the sensor could not keep
  uint64_t bytes = 0;              // bytes of session stream handed over
};

// Receives the session stream in whole pieces (the signature, then whole frames). Returns false
// when the reader is gone; the backend then stops.
using Deliver = std::function<bool(std::vector<uint8_t>&& piece)>;

class Backend {
 public:
  virtual ~Backend() = default;
  // Opens the sensor (privileges, programs, rings; or the XPC connection), on the thread that then
  // runs it. "" or a one-line reason.
  virtual std::string open(const SensorOptions& options) = 0;
  // The stream, from the calling thread, until *stop is set, the duration passes or the source
  // ends; the trailer last. "" or a one-line reason.
  virtual std::string run(const Deliver& deliver, const volatile int* stop) = 0;
  // Safe from any thread, while running or after.
  virtual SensorCounts counts() const = 0;
};

std::unique_ptr<Backend> makeBackend();

}  // namespace netprov
