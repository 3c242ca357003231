// Runs one backend (darwin_backend.cc on Linux, for test/sysex/darwin-backend.test.ts) as addon.cc
// would: open, run, then counts. Each delivered piece is written to stdout and its size to
// stderr as "piece N"; then "done: REASON|ok events=E lost=L bytes=B". STOP_AFTER=N sets the
// stop flag once N pieces have arrived, as SIGINT does in `netprov record`.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "../src/backend.h"

int main() {
  auto backend = netprov::makeBackend();
  std::string problem = backend->open(netprov::SensorOptions{});
  if (!problem.empty()) {
    fprintf(stderr, "open: %s\n", problem.c_str());
    return 1;
  }
  volatile int stop = 0;
  long stopAfter = getenv("STOP_AFTER") ? atol(getenv("STOP_AFTER")) : -1;
  long pieces = 0;
  std::string result = backend->run(
      [&](std::vector<uint8_t> &&piece) {
        fwrite(piece.data(), 1, piece.size(), stdout);
        fprintf(stderr, "piece %zu\n", piece.size());
        if (++pieces == stopAfter) stop = 1;
        return true;
      },
      &stop);
  netprov::SensorCounts counts = backend->counts();
  uint64_t events = 0;
  for (uint64_t n : counts.eventsByKind) events += n;
  fprintf(stderr, "done: %s events=%llu lost=%llu bytes=%llu\n", result.empty() ? "ok" : result.c_str(), (unsigned long long)events,
          (unsigned long long)counts.lost, (unsigned long long)counts.bytes);
  return result.empty() ? 0 : 1;
}
