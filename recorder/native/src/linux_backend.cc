// The Linux sensor (sysex/linux/np_sensor.h) running on the addon's sensor thread.
#include <pthread.h>

#include <mutex>

#include "backend.h"

extern "C" {
#include "np_sensor.h"
}

namespace netprov {
namespace {

class LinuxBackend final : public Backend {
 public:
  ~LinuxBackend() override { np_sensor_close(sensor_); }

  std::string open(const SensorOptions& options) override {
    // Named here, before the thread reports ready, so the name is there once `recording` is printed.
    pthread_setname_np(pthread_self(), "netprov-sensor");  // what ps -L and top -H show
    std::vector<const char*> names;
    for (const auto& name : options.interfaces) names.push_back(name.c_str());
    struct np_sensor_options raw{names.data(), static_cast<int>(names.size()), options.snaplen, options.durationSeconds};
    char error[256] = "";
    np_sensor* sensor = np_sensor_open(&raw, error, sizeof error);
    std::lock_guard<std::mutex> lock(mutex_);
    sensor_ = sensor;
    return sensor ? "" : error;
  }

  std::string run(const Deliver& deliver, const volatile int* stop) override {
    int failed = np_sensor_run(sensor_, &LinuxBackend::piece, const_cast<Deliver*>(&deliver), stop);
    return failed ? "the recorder stopped reading the sensor's stream" : "";
  }

  SensorCounts counts() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    SensorCounts out;
    if (!sensor_) return out;
    np_stream_counts raw;
    np_sensor_counts(sensor_, &raw);
    for (size_t kind = 0; kind < 16; kind++) out.eventsByKind[kind] = raw.events[kind];
    out.lost = raw.lost;
    out.bytes = raw.bytes;
    return out;
  }

 private:
  static int piece(void* context, const uint8_t* head, size_t head_len, const uint8_t* body, size_t body_len) {
    std::vector<uint8_t> bytes;
    bytes.reserve(head_len + body_len);
    bytes.insert(bytes.end(), head, head + head_len);
    if (body_len) bytes.insert(bytes.end(), body, body + body_len);
    return (*static_cast<Deliver*>(context))(std::move(bytes)) ? 0 : -1;
  }

  mutable std::mutex mutex_;
  np_sensor* sensor_ = nullptr;
};

}  // namespace

std::unique_ptr<Backend> makeBackend() { return std::make_unique<LinuxBackend>(); }

}  // namespace netprov
