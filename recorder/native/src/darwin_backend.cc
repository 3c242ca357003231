// The macOS backend: the netprov system extension (sysex/macos), through its one accepted client.
// The extension serves only netprov-sysex-client signed by its own team (an XPC code-signing
// requirement), so this runs that tool and reads the session stream from its stdout, cut back
// into the pieces the Linux backend hands over (the signature, then whole frames). A piece is
// read only as fast as JavaScript takes it, so a slow recorder slows the tool's acknowledgements
// and the extension counts what it skips as losses (Outbox.swift) rather than blocking its
// filters. Plain POSIX: built into the addon on macOS (binding.gyp), and built and run on Linux
// by test/sysex/darwin-backend.test.ts against a stand-in for the client.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>
#include <string>
#include <time.h>

#include "backend.h"

extern char **environ;

namespace netprov {
namespace {

constexpr size_t kSignatureSize = 8;
constexpr size_t kFrameHeaderSize = 32;  // sysex/common/np_session.h NP_FRAME_HEADER_SIZE; payload length at 12, little-endian

// The client inside the activated app, unless told otherwise.
std::string clientPath() {
  const char *configured = getenv("NETPROV_SYSEX_CLIENT");
  return configured ? configured : "/Applications/Netprov.app/Contents/MacOS/netprov-sysex-client";
}

class DarwinBackend final : public Backend {
 public:
  ~DarwinBackend() override {
    if (child_ > 0) {
      kill(child_, SIGTERM);
      waitpid(child_, nullptr, 0);
    }
    if (out_ >= 0) close(out_);
    if (err_ >= 0) close(err_);
  }

  std::string open(const SensorOptions &options) override {
    if (!options.interfaces.empty()) return "the macOS packet filter sees every interface: -i is not supported here";
    duration_ = options.durationSeconds;
    std::string path = clientPath();
    if (access(path.c_str(), X_OK) != 0) return path + " not found: install Netprov.app (sysex/macos/README.md) or set NETPROV_SYSEX_CLIENT";
    int out[2], err[2];
    if (pipe(out) != 0 || pipe(err) != 0) return std::string("pipe: ") + strerror(errno);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    posix_spawn_file_actions_addclose(&actions, err[0]);
    std::string snaplen = std::to_string(options.snaplen > 0 ? options.snaplen : 262144);
    char *argv[] = {const_cast<char *>(path.c_str()), const_cast<char *>("--snaplen"), const_cast<char *>(snaplen.c_str()), nullptr};
    int spawned = posix_spawn(&child_, path.c_str(), &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    close(out[1]);
    close(err[1]);
    out_ = out[0];
    err_ = err[0];
    if (spawned != 0) {
      child_ = -1;
      return path + ": " + strerror(spawned);
    }
    fcntl(err_, F_SETFL, O_NONBLOCK);
    return "";
  }

  std::string run(const Deliver &deliver, const volatile int *stop) override {
    const double deadline = duration_ > 0 ? now() + duration_ : 1e300;
    bool stopRequested = false;
    std::vector<uint8_t> pending;
    bool signatureSeen = false;
    uint8_t buffer[1 << 16];
    for (;;) {
      if (!stopRequested && (*stop || now() >= deadline)) {
        stopRequested = true;
        kill(child_, SIGINT);  // the tool asks the extension to stop; the trailer follows
      }
      struct pollfd fds[2] = {{out_, POLLIN, 0}, {err_, POLLIN, 0}};
      if (poll(fds, 2, 50) < 0 && errno != EINTR) return std::string("poll: ") + strerror(errno);
      if (fds[1].revents) readErrors();
      if (!fds[0].revents) continue;
      ssize_t n = read(out_, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // the tool is done
      pending.insert(pending.end(), buffer, buffer + n);
      // Whole pieces only: the signature, then each frame with its payload.
      for (;;) {
        size_t size = signatureSeen ? pieceSize(pending) : (pending.size() >= kSignatureSize ? kSignatureSize : 0);
        if (size == 0 || pending.size() < size) break;
        std::vector<uint8_t> piece(pending.begin(), pending.begin() + size);
        pending.erase(pending.begin(), pending.begin() + size);
        signatureSeen = true;
        {
          std::lock_guard<std::mutex> lock(mutex_);
          counts_.bytes += piece.size();
        }
        if (!deliver(std::move(piece))) {
          kill(child_, SIGINT);
          return "the recorder stopped reading";
        }
      }
    }
    readErrors();
    int status = 0;
    waitpid(child_, &status, 0);
    child_ = -1;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return pending.empty() ? "" : "the session stream ended inside a frame";
    std::lock_guard<std::mutex> lock(mutex_);
    return failure_.empty() ? "netprov-sysex-client ended without a reason" : failure_;
  }

  SensorCounts counts() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return counts_;
  }

 private:
  static double now() {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
  }

  static size_t pieceSize(const std::vector<uint8_t> &bytes) {
    if (bytes.size() < kFrameHeaderSize) return 0;
    uint32_t payload = bytes[12] | bytes[13] << 8 | bytes[14] << 16 | (uint32_t)bytes[15] << 24;
    return kFrameHeaderSize + payload;
  }

  // The tool's stderr: "counts ..." lines, or the one line saying why it failed.
  void readErrors() {
    char chunk[4096];
    ssize_t n;
    while ((n = read(err_, chunk, sizeof chunk)) > 0) errors_.append(chunk, n);
    size_t end;
    while ((end = errors_.find('\n')) != std::string::npos) {
      std::string line = errors_.substr(0, end);
      errors_.erase(0, end + 1);
      std::lock_guard<std::mutex> lock(mutex_);
      if (line.rfind("counts ", 0) == 0) {
        std::istringstream numbers(line.substr(7));
        std::vector<uint64_t> values;
        uint64_t value;
        while (numbers >> value) values.push_back(value);
        if (values.empty()) continue;
        counts_.lost = values.back();
        for (size_t kind = 0; kind + 1 < values.size() && kind < 16; kind++) counts_.eventsByKind[kind] = values[kind];
      } else {
        failure_ = line.rfind("netprov-sysex-client: ", 0) == 0 ? line.substr(22) : line;
      }
    }
  }

  pid_t child_ = -1;
  int out_ = -1, err_ = -1;
  double duration_ = 0;
  std::string errors_;
  mutable std::mutex mutex_;
  SensorCounts counts_;
  std::string failure_;
};

}  // namespace

std::unique_ptr<Backend> makeBackend() { return std::make_unique<DarwinBackend>(); }

}  // namespace netprov
